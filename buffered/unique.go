package buffered

import (
	"encoding/binary"
	"fmt"
	"reflect"
)

// uniqueness is how a Unique view tells rows apart. It is the part of the
// filter that derived views inherit (Columns, Mappings, Scalars, Raw,
// ScalarsOf, Structs, Freeze of a Unique view de-duplicate the same way, as
// SQLAlchemy's views copy the result's unique strategy); each view gets a
// filter of its own from it, over its own columns.
type uniqueness struct {
	// keyer makes the key function for a view over columns p; nil keys rows
	// by the raw wire bytes of p.
	keyer func(cols *columns, p projection) func(r rawRow, x any) (any, error)
}

// filter returns a fresh filter of this strategy for a view over p.
func (u *uniqueness) filter(cols *columns, p projection) *uniqueFilter {
	f := &uniqueFilter{how: u, proj: p}
	if u.keyer == nil {
		f.raw = map[string]struct{}{}
	} else {
		f.key = u.keyer(cols, p)
		f.keys = map[any]struct{}{}
	}
	return f
}

// byRowKey is the strategy of RowView.UniqueBy: key sees each row as a Row of
// the view's columns (a Columns view's key sees only those columns, a
// Scalars view's a one-column Row), as in the reference.
func byRowKey(key func(Row) any) *uniqueness {
	return &uniqueness{keyer: func(cols *columns, p projection) func(rawRow, any) (any, error) {
		m := &rowMaker{cols: cols, proj: p, keys: cols.keys(p)}
		return func(r rawRow, x any) (any, error) {
			if row, ok := x.(*Row); ok && len(row.vals) == len(p) {
				return key(*row), nil // the view made this very Row: no second decode
			}
			row, err := m.row(r)
			if err != nil {
				return nil, err
			}
			return key(row), nil
		}
	}}
}

// byMappingKey is the strategy of MappingView.UniqueBy.
func byMappingKey(key func(Mapping) any) *uniqueness {
	return &uniqueness{keyer: func(cols *columns, p projection) func(rawRow, any) (any, error) {
		m := &rowMaker{cols: cols, proj: p, keys: cols.keys(p)}
		return func(r rawRow, x any) (any, error) {
			if mp, ok := x.(*Mapping); ok && len(*mp) == len(p) {
				return key(*mp), nil
			}
			mp, err := m.mapping(r)
			if err != nil {
				return nil, err
			}
			return key(mp), nil
		}
	}}
}

// byValueKey is the strategy of View[T].UniqueBy on a typed view: the key
// sees the view's own values. Typed views derive no further views, so the
// strategy never meets a value of another type.
func byValueKey[T any](key func(T) any) *uniqueness {
	return &uniqueness{keyer: func(*columns, projection) func(rawRow, any) (any, error) {
		return func(_ rawRow, x any) (any, error) {
			t, ok := x.(*T)
			if !ok { // not reached: typed views derive no views
				return nil, fmt.Errorf("UniqueBy: a key over %s cannot judge a %T", reflect.TypeFor[T](), x)
			}
			return key(*t), nil
		}
	}}
}

// uniqueFilter remembers the rows a Unique view has returned.
type uniqueFilter struct {
	how  *uniqueness
	proj projection
	raw  map[string]struct{}                // keyed by raw wire bytes of proj
	keys map[any]struct{}                   // keyed by the caller's key
	key  func(r rawRow, x any) (any, error) // nil: raw
}

// seen records the row (raw r, converted *x) and reports whether an equal
// one came before.
func (u *uniqueFilter) seen(r rawRow, x any) (dup bool, err error) {
	if u.key == nil {
		k := rawKey(r, u.proj)
		if _, dup := u.raw[k]; dup {
			return true, nil
		}
		u.raw[k] = struct{}{}
		return false, nil
	}
	k, err := u.callKey(r, x)
	if err != nil {
		return false, err
	}
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

// callKey runs the caller's key function, turning a panic into an error: a
// key written for a whole row can index past the columns of a derived view
// (Scalars, Columns), which passes it a Row of its own columns.
func (u *uniqueFilter) callKey(r rawRow, x any) (k any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("UniqueBy: the key function panicked: %v (a view derived from a unique one passes the key a Row of its own %d column(s))", p, len(u.proj))
		}
	}()
	return u.key(r, x)
}
