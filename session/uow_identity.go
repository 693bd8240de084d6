package session

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
	"weak"

	"github.com/streamcat/streamcat/internal/mapping"
)

// Identity is what identifies an object in a session's identity map: its
// type and its primary-key values, in key order (SQLAlchemy's identity_key).
type Identity struct {
	Type reflect.Type
	Key  []any
}

func (id Identity) String() string {
	parts := make([]string, len(id.Key))
	for i, k := range id.Key {
		parts[i] = fmt.Sprint(k)
	}
	return fmt.Sprintf("%s(%s)", id.Type, strings.Join(parts, ", "))
}

// identity is Identity as a map key.
type identity struct {
	t reflect.Type
	k any // the key value; [2]any..[4]any for composite keys, a wideKey beyond
}

func (id identity) export() Identity {
	out := Identity{Type: id.t}
	switch k := id.k.(type) {
	case [2]any:
		out.Key = k[:]
	case [3]any:
		out.Key = k[:]
	case [4]any:
		out.Key = k[:]
	case wideKey:
		out.Key = k.v[:k.n]
	default:
		out.Key = []any{k}
	}
	return out
}

// maxKeyColumns is PostgreSQL's limit on the columns of an index
// (INDEX_MAX_KEYS), so of a primary key.
const maxKeyColumns = 32

// wideKey is a key of more than four columns, comparable as a map key (a
// slice would not be).
type wideKey struct {
	n int
	v [maxKeyColumns]any
}

// keyValue makes one key column's value comparable: a []byte key (bytea)
// becomes a string, a non-nil pointer the value it points to.
func keyValue(v any) any {
	switch v.(type) {
	case int64, int32, string:
		return v
	}
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		return keyValue(rv.Elem().Interface()) // a nullable foreign key (*int64) matches the key it holds
	}
	return v
}

// makeIdentity builds the map key from key values in key order.
func makeIdentity(t reflect.Type, vals []any) identity {
	for i := range vals {
		vals[i] = keyValue(vals[i])
	}
	switch len(vals) {
	case 1:
		return identity{t, vals[0]}
	case 2:
		return identity{t, [2]any{vals[0], vals[1]}}
	case 3:
		return identity{t, [3]any{vals[0], vals[1], vals[2]}}
	case 4:
		return identity{t, [4]any{vals[0], vals[1], vals[2], vals[3]}}
	}
	k := wideKey{n: len(vals)}
	copy(k.v[:], vals) // a key beyond maxKeyColumns cannot exist in PostgreSQL
	return identity{t, k}
}

// fieldPtr is the address of field f of the struct at base.
func fieldPtr(base unsafe.Pointer, f *mapping.Field) unsafe.Pointer {
	return unsafe.Add(base, f.Offset)
}

// fieldValue reads field f of the struct at base as an any.
//
// The common column types are read directly: through reflect, a value
// costs several times as much, and a flush reads every column of every
// row it inserts. Named types go through reflect, so that they reach pgx
// as their own type (a driver.Valuer, say).
func fieldValue(base unsafe.Pointer, f *mapping.Field) any {
	p := fieldPtr(base, f)
	switch f.Type {
	case typeInt64:
		return *(*int64)(p)
	case typeInt32:
		return *(*int32)(p)
	case typeString:
		return *(*string)(p)
	case typeTime:
		return *(*time.Time)(p)
	case typeBool:
		return *(*bool)(p)
	case typeFloat64:
		return *(*float64)(p)
	case typeInt16:
		return *(*int16)(p)
	}
	return reflect.NewAt(f.Type, p).Elem().Interface()
}

var (
	typeInt64   = reflect.TypeFor[int64]()
	typeInt32   = reflect.TypeFor[int32]()
	typeInt16   = reflect.TypeFor[int16]()
	typeString  = reflect.TypeFor[string]()
	typeTime    = reflect.TypeFor[time.Time]()
	typeBool    = reflect.TypeFor[bool]()
	typeFloat64 = reflect.TypeFor[float64]()
)

// fieldIsZero reports whether field f of the struct at base is its type's
// zero value.
func fieldIsZero(base unsafe.Pointer, f *mapping.Field) bool {
	p := fieldPtr(base, f)
	switch f.Type {
	case typeInt64:
		return *(*int64)(p) == 0
	case typeInt32:
		return *(*int32)(p) == 0
	case typeString:
		return *(*string)(p) == ""
	}
	return reflect.NewAt(f.Type, p).Elem().IsZero()
}

// keyOf reads the identity of the struct at base; ok is false when a key
// field is still zero (a key the server has yet to assign).
func keyOf(m *mapping.Type, base unsafe.Pointer) (id identity, ok bool) {
	if len(m.Keys) == 1 {
		f := &m.Fields[m.Keys[0]]
		return identity{m.Go, keyValue(fieldValue(base, f))}, !(f.Default && fieldIsZero(base, f))
	}
	vals := make([]any, len(m.Keys))
	ok = true
	for i, k := range m.Keys {
		f := &m.Fields[k]
		if fieldIsZero(base, f) && f.Default {
			ok = false
		}
		vals[i] = fieldValue(base, f)
	}
	return makeIdentity(m.Go, vals), ok
}

// keyKnown reports whether the struct at base has its key: no key field is
// a server-generated one still zero. It allocates nothing.
func keyKnown(m *mapping.Type, base unsafe.Pointer) bool {
	for _, k := range m.Keys {
		if f := &m.Fields[k]; f.Default && fieldIsZero(base, f) {
			return false
		}
	}
	return true
}

// IdentityKey returns the identity of obj, a pointer to a mapped struct:
// its type and current primary-key values (SQLAlchemy's identity_key). It
// needs no session.
func IdentityKey(obj any) (Identity, error) {
	o, err := inspect("IdentityKey", obj)
	if err != nil {
		return Identity{}, err
	}
	id, _ := keyOf(o.m, o.ptr)
	return id.export(), nil
}

// object is a checked argument of the unit-of-work API.
type object struct {
	ref any            // the caller's *T
	ptr unsafe.Pointer // the struct
	m   *mapping.Type
}

// inspect checks that obj is a non-nil pointer to a struct that maps to a
// table with a primary key.
func inspect(op string, obj any) (object, error) {
	if obj == nil {
		return object{}, fmt.Errorf("session: %s: nil: %w", op, ErrNotMapped)
	}
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Type().Elem().Kind() != reflect.Struct {
		return object{}, fmt.Errorf("session: %s: %T is not a pointer to a struct (pass &x): %w", op, obj, ErrNotMapped)
	}
	if v.IsNil() {
		return object{}, fmt.Errorf("session: %s: a nil %T: %w", op, obj, ErrNotMapped)
	}
	m := mapping.For(v.Type().Elem())
	if err := m.Usable(); err != nil {
		return object{}, fmt.Errorf("session: %s: %w: %w", op, ErrNotMapped, err)
	}
	return object{ref: obj, ptr: v.UnsafePointer(), m: m}, nil
}

// units is every live unit of work, by weak pointer, so that a session can
// tell whether another one holds an object (Add refuses it) and
// ObjectSession can find the holder, without an entry per object: those
// cost memory per object and, with a map keyed by address, lookups that
// slow down as objects come and go. A lookup asks each live session
// instead, under that session's read lock: its cost grows with the number
// of sessions alive at once (a few map lookups each), not with the objects
// they hold. A unit of work leaves the set when it is collected.
var units struct {
	mu sync.Mutex
	m  map[weak.Pointer[unitOfWork]]struct{}
}

// register arranges for u to leave units when it is collected (a session
// dropped without Close). u joins units when it first holds an object and
// leaves when Close or ExpungeAll empties it, so sessions that hold nothing
// cost nothing to the others.
func register(u *unitOfWork) {
	runtime.AddCleanup(u, func(w weak.Pointer[unitOfWork]) {
		units.mu.Lock()
		delete(units.m, w)
		units.mu.Unlock()
	}, u.self)
}

// listLocked puts u in units (units.mu is held).
func (u *unitOfWork) listLocked() {
	if u.listed {
		return
	}
	if units.m == nil {
		units.m = map[weak.Pointer[unitOfWork]]struct{}{}
	}
	units.m[u.self] = struct{}{}
	u.listed = true
}

// unlist takes u out of units.
func (u *unitOfWork) unlist() {
	if !u.listed {
		return
	}
	units.mu.Lock()
	delete(units.m, u.self)
	u.listed = false
	units.mu.Unlock()
}

// ownerOf returns the live unit of work, other than except, that holds the
// object at ptr, or nil.
func ownerOf(ptr unsafe.Pointer, except *unitOfWork) *unitOfWork {
	units.mu.Lock()
	defer units.mu.Unlock()
	return ownerOfLocked(ptr, except)
}

// ownerOfLocked is ownerOf with units.mu held.
func ownerOfLocked(ptr unsafe.Pointer, except *unitOfWork) *unitOfWork {
	if len(units.m) == 0 || len(units.m) == 1 && except != nil && except.listed {
		return nil // no other session holds objects: the common case, and every Add asks
	}
	for w := range units.m {
		u := w.Value()
		if u == nil || u == except {
			continue
		}
		held := u.holds.getShared(ptr) != nil
		if held {
			return u
		}
	}
	return nil
}

// ObjectSession returns the session that holds obj (a pointer to a mapped
// struct), or nil when none does (SQLAlchemy's object_session). The lookup
// keeps neither the object nor the session alive, and is safe from any
// goroutine (the session it returns is not: use it from its own).
func ObjectSession(obj any) *Session {
	o, err := inspect("ObjectSession", obj)
	if err != nil {
		return nil
	}
	if u := ownerOf(o.ptr, nil); u != nil {
		return u.s
	}
	return nil
}
