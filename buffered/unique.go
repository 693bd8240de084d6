package buffered

import (
	"encoding/binary"
	"fmt"
	"reflect"
)

// uniqueFilter remembers the rows a Unique view has returned.
type uniqueFilter[T any] struct {
	// by raw wire bytes of the projected columns
	rawKeys map[string]struct{}
	proj    projection
	// by a caller's key function
	keys map[any]struct{}
	by   func(T) any
}

// seen records the row and reports whether an equal one came before.
func (u *uniqueFilter[T]) seen(r rawRow, x T) (dup bool, err error) {
	if u.by == nil {
		k := rawKey(r, u.proj)
		if _, dup := u.rawKeys[k]; dup {
			return true, nil
		}
		u.rawKeys[k] = struct{}{}
		return false, nil
	}
	k := u.by(x)
	if t := reflect.TypeOf(k); t != nil && !t.Comparable() {
		return false, fmt.Errorf("UniqueBy: the key function returned a %s, which is not comparable; return a string, number or struct of those", t)
	}
	defer func() {
		// a comparable type can still hold an incomparable value (an any field holding a slice)
		if p := recover(); p != nil {
			err = fmt.Errorf("UniqueBy: key %v cannot be compared: %v", k, p)
		}
	}()
	if _, dup := u.keys[k]; dup {
		return true, nil
	}
	u.keys[k] = struct{}{}
	return false, nil
}

// rawKey encodes the projected values of r, length-prefixed, NULL distinct
// from empty.
func rawKey(r rawRow, p projection) string {
	n := 0
	for _, j := range p {
		n += 4 + len(r.value(j))
	}
	buf := make([]byte, 0, n)
	for _, j := range p {
		v := r.value(j)
		if v == nil {
			buf = binary.BigEndian.AppendUint32(buf, ^uint32(0))
			continue
		}
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)))
		buf = append(buf, v...)
	}
	return string(buf)
}
