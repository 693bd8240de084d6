package buffered

import (
	"fmt"
	"reflect"
	"strings"
	"unsafe"
)

// RowCursor is what ScalarsOf and Structs read from: a *Cursor, a *Result,
// a *stream.Result, or a projection of one of them.
type RowCursor interface {
	AsCursor() *Cursor
}

// ScalarsOf returns a view of c that scans the first column of each row
// straight from the wire bytes into a T, with pgx's scan rules (a NULL needs
// a pointer or pgtype target, int4 scans into int64, ...). The scan plan is
// made once for the view; no generic value is decoded on the way.
func ScalarsOf[T any](from RowCursor) *View[T] {
	c := from.AsCursor()
	v := &View[T]{c: c.c, bad: c.bad}
	if v.bad == nil && len(c.proj) == 0 {
		v.bad = fmt.Errorf("ScalarsOf: %w: the result has no columns", ErrNoColumn)
	}
	if v.bad != nil {
		return v
	}
	j := c.proj[0]
	target := reflect.TypeFor[T]().String()
	v.proj = projection{j}
	v.fork = func(cols *columns) func(rawRow, *T) error {
		s := &scanner{cols: cols, col: j, target: target}
		return func(r rawRow, dst *T) error { return s.scan(r.value(j), dst) }
	}
	v.conv = v.fork(c.c.cols)
	if c.uniq != nil {
		v = v.Unique()
	}
	return v
}

// Structs returns a view of c that scans each row into a struct T, matching
// columns to fields by pgx's RowToStructByName rules: a `db:"name"` tag names
// the column (`db:"-"` skips the field), an untagged exported field matches a
// column case-insensitively with underscores ignored, and embedded structs
// are flattened. Every column needs a field and every field a column;
// otherwise every read fails with an error naming the mismatch.
//
// The mapping and scan plans are made once for the view; each row then costs
// the scans of its values into the fields, as a hand-written rows.Scan loop.
func Structs[T any](from RowCursor) *View[T] {
	c := from.AsCursor()
	v := &View[T]{c: c.c, proj: c.proj, bad: c.bad}
	if v.bad != nil {
		return v
	}
	plan, err := planStruct[T](c.c.cols, c.proj)
	if err != nil {
		v.bad = fmt.Errorf("Structs: %w", err)
		return v
	}
	v.conv = structConv[T](plan, c.proj)
	v.fork = func(cols *columns) func(rawRow, *T) error {
		plan, _ := planStruct[T](cols, c.proj) // same names as the plan above: cannot fail
		return structConv[T](plan, c.proj)
	}
	if c.uniq != nil {
		v = v.Unique()
	}
	return v
}

// structConv scans rows into a T with plan.
func structConv[T any](plan []fieldPlan, proj projection) func(rawRow, *T) error {
	return func(r rawRow, dst *T) error {
		base := unsafe.Pointer(dst)
		for i, f := range plan {
			if err := f.s.scan(r.value(proj[i]), f.target(base)); err != nil {
				return err
			}
		}
		return nil
	}
}

// fieldPlan scans one column into one struct field.
type fieldPlan struct {
	offset uintptr
	ptr    any // a *F for the field's type F: its type word makes targets
	s      *scanner
}

// eface is the layout of an interface value (runtime.eface).
type eface struct {
	typ, data unsafe.Pointer
}

// target returns the field in the struct at base as an any holding a *F.
// It is reflect.NewAt(F, p).Interface() without the per-call type lookup:
// a pointer is stored directly in an interface's data word, so the type
// word of a prepared *F and the field's address make the interface.
func (f *fieldPlan) target(base unsafe.Pointer) any {
	e := *(*eface)(unsafe.Pointer(&f.ptr))
	e.data = unsafe.Add(base, f.offset)
	return *(*any)(unsafe.Pointer(&e))
}

func planStruct[T any](cols *columns, p projection) ([]fieldPlan, error) {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("type %s is not a struct", t)
	}
	plan := make([]fieldPlan, len(p))
	found := make([]bool, len(p))
	var missing []string
	var walk func(t reflect.Type, base uintptr, prefix string)
	walk = func(t reflect.Type, base uintptr, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if sf.PkgPath != "" && !sf.Anonymous {
				continue // unexported
			}
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				walk(sf.Type, base+sf.Offset, prefix+sf.Name+".")
				continue
			}
			tag, tagged := sf.Tag.Lookup("db")
			if tagged {
				tag, _, _ = strings.Cut(tag, ",")
			}
			if tag == "-" {
				continue
			}
			name := tag
			if !tagged {
				name = sf.Name
			}
			i := columnForField(cols, p, name, !tagged)
			if i < 0 {
				missing = append(missing, prefix+sf.Name)
				continue
			}
			found[i] = true // when two fields match one column, the later wins, as in pgx
			plan[i] = fieldPlan{
				offset: base + sf.Offset,
				ptr:    reflect.New(sf.Type).Interface(),
				s:      &scanner{cols: cols, col: p[i], target: t.String() + "." + prefix + sf.Name + " (" + sf.Type.String() + ")"},
			}
		}
	}
	walk(t, 0, "")
	for i, ok := range found {
		if !ok {
			return nil, fmt.Errorf("%s has no field for column %q (add a field or a `db:\"%s\"` tag, or leave the column out of the query)",
				t, cols.names[p[i]], cols.names[p[i]])
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s field %s has no column in the result (the result has: %s; tag it `db:\"-\"` to skip it)",
			t, missing[0], cols.describeProjection(p))
	}
	return plan, nil
}

// columnForField finds the view column for a field, as pgx's fieldPosByName:
// a tag matches exactly first, then case-insensitively; an untagged field
// name matches case-insensitively with underscores removed on both sides.
func columnForField(cols *columns, p projection, name string, normalize bool) int {
	if normalize {
		name = strings.ReplaceAll(name, "_", "")
	} else {
		for i, j := range p {
			if cols.names[j] == name {
				return i
			}
		}
	}
	for i, j := range p {
		col := cols.names[j]
		if normalize {
			col = strings.ReplaceAll(col, "_", "")
		}
		if strings.EqualFold(col, name) {
			return i
		}
	}
	return -1
}
