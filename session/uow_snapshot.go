package session

import (
	"reflect"
	"sync"
	"time"
	"unsafe"

	"github.com/streamcat/streamcat/internal/mapping"
)

// How a field is compared with its snapshot. A snapshot is a shallow copy of
// the struct as loaded or last flushed; fields whose values live behind
// pointers the program can change in place (slices, maps, pointers,
// interfaces) also get a deep copy, so an in-place change is seen too.
type compareKind uint8

const (
	cmpBits   compareKind = iota // no pointers (ints, floats, bools, arrays, time.Time): the bytes
	cmpString                    // strings are immutable: their contents
	cmpDeep                      // anything reachable through a pointer: a deep copy and reflect.DeepEqual
)

// trackPlan is how the unit of work copies and compares one struct type.
type trackPlan struct {
	m    *mapping.Type
	kind []compareKind // per field
	deep []int         // the fields compared deeply, in field order
}

var trackPlans sync.Map // *mapping.Type -> *trackPlan

func planTracking(m *mapping.Type) *trackPlan {
	if p, ok := trackPlans.Load(m); ok {
		return p.(*trackPlan)
	}
	p := &trackPlan{m: m, kind: make([]compareKind, len(m.Fields))}
	for i, f := range m.Fields {
		switch {
		case f.Type.Kind() == reflect.String:
			p.kind[i] = cmpString
		case f.Type == reflect.TypeFor[time.Time]() || !hasPointers(f.Type):
			// a time.Time's *Location is immutable: its bits are its value
			p.kind[i] = cmpBits
		default:
			p.kind[i] = cmpDeep
			p.deep = append(p.deep, i)
		}
	}
	actual, _ := trackPlans.LoadOrStore(m, p)
	return actual.(*trackPlan)
}

func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	default:
		return true
	}
}

// snapshot is an object's column values as the database has them (as far
// as the session knows): loaded, or last flushed.
//
// shallow points to a copy of the struct in which the fields compared
// deeply hold deep copies of the object's values, so the snapshot shares
// nothing the program can change in place.
type snapshot struct {
	shallow unsafe.Pointer
}

// take copies the struct at base into s (reusing s's memory).
func (p *trackPlan) take(s *snapshot, base unsafe.Pointer) {
	t := p.m.Go
	if s.shallow == nil {
		s.shallow = reflect.New(t).UnsafePointer()
	}
	reflect.NewAt(t, s.shallow).Elem().Set(reflect.NewAt(t, base).Elem())
	p.takeDeep(s, base)
}

// takeDeep replaces, in s (already a shallow copy of the struct at base),
// the fields compared deeply with deep copies of base's.
func (p *trackPlan) takeDeep(s *snapshot, base unsafe.Pointer) {
	for _, i := range p.deep {
		f := &p.m.Fields[i]
		reflect.NewAt(f.Type, fieldPtr(s.shallow, f)).Elem().Set(deepCopy(reflect.NewAt(f.Type, fieldPtr(base, f)).Elem()))
	}
}

// changed reports whether field i of the struct at base differs from s.
func (p *trackPlan) changed(s *snapshot, base unsafe.Pointer, i int) bool {
	f := &p.m.Fields[i]
	cur, old := fieldPtr(base, f), fieldPtr(s.shallow, f)
	switch p.kind[i] {
	case cmpString:
		return *(*string)(cur) != *(*string)(old)
	case cmpBits:
		n := f.Type.Size()
		return string(unsafe.Slice((*byte)(cur), n)) != string(unsafe.Slice((*byte)(old), n))
	}
	return !reflect.DeepEqual(reflect.NewAt(f.Type, cur).Elem().Interface(), reflect.NewAt(f.Type, old).Elem().Interface())
}

// changes returns the indexes of the fields that differ from s, skipping
// read-only ones (they are never written).
func (p *trackPlan) changes(s *snapshot, base unsafe.Pointer) []int {
	var out []int
	for i := range p.m.Fields {
		if !p.m.Fields[i].ReadOnly && p.changed(s, base, i) {
			out = append(out, i)
		}
	}
	return out
}

// restore writes s back into the struct at base: the program's unflushed
// changes are undone.
func (p *trackPlan) restore(s *snapshot, base unsafe.Pointer) {
	t := p.m.Go
	reflect.NewAt(t, base).Elem().Set(reflect.NewAt(t, s.shallow).Elem())
	for _, i := range p.deep { // the object must not share the snapshot's values
		f := &p.m.Fields[i]
		reflect.NewAt(f.Type, fieldPtr(base, f)).Elem().Set(deepCopy(reflect.NewAt(f.Type, fieldPtr(s.shallow, f)).Elem()))
	}
}

// deepCopy returns a copy of v that shares nothing mutable with it.
func deepCopy(v reflect.Value) reflect.Value {
	t := v.Type()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return reflect.Zero(t)
		}
		n := reflect.New(t.Elem())
		n.Elem().Set(deepCopy(v.Elem()))
		return n
	case reflect.Slice:
		if v.IsNil() {
			return reflect.Zero(t)
		}
		n := reflect.MakeSlice(t, v.Len(), v.Len())
		if !hasPointers(t.Elem()) {
			reflect.Copy(n, v)
			return n
		}
		for i := 0; i < v.Len(); i++ {
			n.Index(i).Set(deepCopy(v.Index(i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return reflect.Zero(t)
		}
		n := reflect.MakeMapWithSize(t, v.Len())
		it := v.MapRange()
		for it.Next() {
			n.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return n
	case reflect.Interface:
		if v.IsNil() {
			return reflect.Zero(t)
		}
		n := reflect.New(t).Elem()
		n.Set(deepCopy(v.Elem()))
		return n
	case reflect.Array:
		n := reflect.New(t).Elem()
		for i := 0; i < v.Len(); i++ {
			n.Index(i).Set(deepCopy(v.Index(i)))
		}
		return n
	case reflect.Struct:
		n := reflect.New(t).Elem()
		n.Set(v) // unexported fields too; then the exported ones deeply
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() && hasPointers(t.Field(i).Type) {
				n.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return n
	default:
		return v
	}
}
