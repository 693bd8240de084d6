package buffered

import (
	"fmt"
	"reflect"
	"strings"
	"unsafe"

	"github.com/streamcat/streamcat/internal/mapping"
)

// RowViewer is what ScalarsOf and Structs read from: a *RowView, a *Result,
// a *stream.Result, or a projection of one of them.
type RowViewer interface {
	AsRowView() *RowView
}

// ScalarsOf returns a view of c that scans the first column of each row
// straight from the wire bytes into a T, with pgx's scan rules (a NULL needs
// a pointer or pgtype target, int4 scans into int64, ...). The scan plan is
// made once for the view; no generic value is decoded on the way.
func ScalarsOf[T any](from RowViewer) *View[T] {
	rv := from.AsRowView()
	var p projection
	var err error
	if len(rv.proj) == 0 {
		err = fmt.Errorf("ScalarsOf: %w: the result has no columns", ErrNoColumn)
	} else {
		p = rv.proj[:1:1]
	}
	v := derive[T](rv.View, p, err)
	if v.bad != nil {
		return v
	}
	j := p[0]
	target := reflect.TypeFor[T]().String()
	v.fork = func(cols *columns) func(rawRow, *T) error {
		s := &scanner{cols: cols, col: j, target: target}
		return func(r rawRow, dst *T) error { return s.scan(r.value(j), dst) }
	}
	v.conv = v.fork(rv.rs.cols)
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
func Structs[T any](from RowViewer) *View[T] {
	rv := from.AsRowView()
	v := derive[T](rv.View, rv.proj, nil)
	if v.bad != nil {
		return v
	}
	if cols := rv.rs.cols; cols.shared && cols.isAll(rv.proj) {
		sp := sharedStructPlan[T](cols)
		v.conv, v.fork, v.bad = sp.conv, sp.fork, sp.err
		return v
	}
	plan, err := planStruct[T](rv.rs.cols, rv.proj)
	if err != nil {
		v.bad = fmt.Errorf("Structs: %w", err)
		return v
	}
	v.conv = structConv[T](plan, rv.proj)
	v.fork = func(cols *columns) func(rawRow, *T) error {
		plan, _ := planStruct[T](cols, rv.proj) // same names as the plan above: cannot fail
		return structConv[T](plan, rv.proj)
	}
	return v
}

// sharedPlan is Structs[T] over every column of a shared description, made
// once: its scan plans are made up front, so its scanners are read-only and
// serve every result with that description, on any goroutine.
type sharedPlan[T any] struct {
	conv func(rawRow, *T) error
	fork func(*columns) func(rawRow, *T) error
	err  error
}

func sharedStructPlan[T any](c *columns) *sharedPlan[T] {
	t := reflect.TypeFor[T]()
	if sp, ok := c.plans.Load(t); ok {
		return sp.(*sharedPlan[T])
	}
	sp := &sharedPlan[T]{}
	plan, err := planStruct[T](c, c.all)
	if err != nil {
		sp.err = fmt.Errorf("Structs: %w", err)
	} else {
		for i := range plan {
			plan[i].s.prepare(plan[i].ptr)
		}
		conv := structConv[T](plan, c.all)
		sp.conv = conv
		// parallel All's workers get the shared description itself (clone),
		// and read-only scanners need no copy
		sp.fork = func(*columns) func(rawRow, *T) error { return conv }
	}
	actual, _ := c.plans.LoadOrStore(t, sp)
	return actual.(*sharedPlan[T])
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

// planStruct matches the view's columns to T's fields through the shared
// mapping core (internal/mapping), so Structs, session.Get and the unit of
// work read a struct the same way.
func planStruct[T any](cols *columns, p projection) ([]fieldPlan, error) {
	t := reflect.TypeFor[T]()
	m := mapping.For(t)
	if m.Err != nil {
		return nil, m.Err
	}
	plan := make([]fieldPlan, len(p))
	found := make([]int, len(p)) // the field index + 1 that reads each column
	var missing []string
	for fi, f := range m.Fields {
		i, err := columnForField(cols, p, f.Column, !f.Tagged)
		if err != nil {
			return nil, fmt.Errorf("%s field %s: %w", t, f.Name, err)
		}
		if i < 0 {
			missing = append(missing, f.Name)
			continue
		}
		if found[i] != 0 {
			return nil, fmt.Errorf("%s fields %s and %s both match column %q: tag one of them `db:\"-\"` or alias the column",
				t, m.Fields[found[i]-1].Name, f.Name, cols.names[p[i]])
		}
		found[i] = fi + 1
		plan[i] = fieldPlan{
			offset: f.Offset,
			ptr:    reflect.New(f.Type).Interface(),
			s:      &scanner{cols: cols, col: p[i], target: t.String() + "." + f.Name + " (" + f.Type.String() + ")"},
		}
	}
	for i, fi := range found {
		if fi == 0 {
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

// columnForField finds the view column for a field, as pgx's
// fieldPosByName: a tag matches exactly first, then case-insensitively; an
// untagged field matches case-insensitively with underscores removed on both
// sides. A name that matches two columns of the view (select 1 as x, 2 as x)
// is an error naming both positions: which one was meant cannot be known.
func columnForField(cols *columns, p projection, name string, normalize bool) (int, error) {
	match := func(eq func(col string) bool) (int, error) {
		at := -1
		for i, j := range p {
			if eq(cols.names[j]) {
				if at >= 0 {
					return -1, fmt.Errorf("%w: column %q matches positions %d and %d of the result; alias one of them in the SQL, or tag the field `db:\"-\"`", ErrAmbiguousColumn, name, at, i)
				}
				at = i
			}
		}
		return at, nil
	}
	if !normalize {
		if i, err := match(func(col string) bool { return col == name }); i >= 0 || err != nil {
			return i, err
		}
		return match(func(col string) bool { return strings.EqualFold(col, name) })
	}
	name = strings.ReplaceAll(name, "_", "")
	return match(func(col string) bool { return strings.EqualFold(strings.ReplaceAll(col, "_", ""), name) })
}
