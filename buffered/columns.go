package buffered

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Column describes one result column.
type Column struct {
	Name     string // as the server named it
	TypeOID  uint32 // the column's PostgreSQL type OID
	TypeName string // the type's name as pgx knows it ("int4", "text", ...); empty when unknown
	Format   int16  // wire format: pgx.TextFormatCode (0) or pgx.BinaryFormatCode (1)
	TypeMod  int32  // the type modifier, e.g. numeric's precision and scale or varchar's length; -1 when none
}

// columns is the shared metadata of one result: names, wire description and
// the type map rows are decoded with.
type columns struct {
	list   []Column
	names  []string
	fields []pgconn.FieldDescription
	m      *pgtype.Map
	types  []*pgtype.Type // per column; nil when pgx has no codec for the OID

	// shared is set on a description from sharedColumns: every result with
	// this row description uses it, from any goroutine, so nothing in it
	// changes after it is made (m is sharedMap, which is read-only), and
	// the plans below are made once, ready to use.
	shared  bool
	all     projection                              // every column, in order
	allKeys []string                                // the names of all
	plans   sync.Map                                // reflect.Type of T -> *sharedPlan[T]: Structs[T] over all
	rowFork func(*columns) func(rawRow, *Row) error // the Row decoder over all
	// firstBlock is the rows<<32 | bytes the last single-block result
	// with this description needed (see firstBlockSize); 0: none yet
	firstBlock atomic.Uint64
}

// newColumns describes fields. connMap is the type map of the connection the
// rows came from (may be nil): types registered on it (enums, composites)
// are carried over, because the result is decoded later, on a map of its
// own, when the connection may already be serving someone else.
//
// Results whose columns are all of pgx's built-in types share one
// description (see sharedColumns); the others get one of their own.
func newColumns(fields []pgconn.FieldDescription, connMap *pgtype.Map) *columns {
	if c := sharedColumns(fields); c != nil {
		return c
	}
	return describe(fields, pgtype.NewMap(), connMap)
}

// describe describes fields on type map m, registering on it the types
// only connMap knows.
func describe(fields []pgconn.FieldDescription, m *pgtype.Map, connMap *pgtype.Map) *columns {
	c := &columns{
		list:   make([]Column, len(fields)),
		names:  make([]string, len(fields)),
		fields: append([]pgconn.FieldDescription(nil), fields...),
		m:      m,
		types:  make([]*pgtype.Type, len(fields)),
	}
	for i, f := range fields {
		dt, ok := m.TypeForOID(f.DataTypeOID)
		if !ok && connMap != nil {
			if dt, ok = connMap.TypeForOID(f.DataTypeOID); ok {
				m.RegisterType(dt)
			}
		}
		name := ""
		if ok {
			c.types[i] = dt
			name = dt.Name
		}
		c.list[i] = Column{Name: f.Name, TypeOID: f.DataTypeOID, TypeName: name, Format: f.Format, TypeMod: f.TypeModifier}
		c.names[i] = f.Name
	}
	return c
}

// indexIn returns the position within p of the column called name: an
// ErrNoColumn error when there is none, an ErrAmbiguousColumn one when there
// is more than one.
func (c *columns) indexIn(p projection, name string) (int, error) {
	at := -1
	for i, j := range p {
		if c.names[j] != name {
			continue
		}
		if at >= 0 {
			return -1, c.ambiguous(p, name)
		}
		at = i
	}
	if at < 0 {
		return -1, fmt.Errorf("%w %q; the result has: %s", ErrNoColumn, name, c.describeProjection(p))
	}
	return at, nil
}

// projection maps a view's column positions to the result's.
type projection []int

// all is the identity projection over n columns.
func allColumns(n int) projection {
	p := make(projection, n)
	for i := range p {
		p[i] = i
	}
	return p
}

// resolve returns the projection of base that cols pick: each a name
// (string) or a position in base (int).
func (c *columns) resolve(base projection, cols []any) (projection, error) {
	p := make(projection, len(cols))
	for i, col := range cols {
		switch col := col.(type) {
		case string:
			j, err := c.indexIn(base, col)
			if err != nil {
				return nil, err
			}
			p[i] = base[j]
		case int:
			q, err := c.byIndex(base, []int{col})
			if err != nil {
				return nil, err
			}
			p[i] = q[0]
		default:
			return nil, fmt.Errorf("column %v is a %T: give a name (string) or a position (int)", col, col)
		}
	}
	return p, nil
}

func (c *columns) byIndex(base projection, idx []int) (projection, error) {
	p := make(projection, len(idx))
	for i, j := range idx {
		if j < 0 || j >= len(base) {
			return nil, fmt.Errorf("%w at index %d: the view has %d column(s): %s", ErrNoColumn, j, len(base), c.describeProjection(base))
		}
		p[i] = base[j]
	}
	return p, nil
}

func (c *columns) describeProjection(p projection) string {
	if len(p) == 0 {
		return "no columns"
	}
	names := make([]string, len(p))
	for i, j := range p {
		names[i] = strconv.Quote(c.names[j])
	}
	return strings.Join(names, ", ")
}

// keys returns the names of the projected columns.
func (c *columns) keys(p projection) []string {
	out := make([]string, len(p))
	for i, j := range p {
		out[i] = c.names[j]
	}
	return out
}

// clone returns the same description on a type map of its own, for a reader
// in another goroutine. It reads only the immutable types slice.
func (c *columns) clone() *columns {
	if c.shared {
		return c // read-only: any goroutine may use it
	}
	n := newColumns(c.fields, nil)
	for i, dt := range c.types {
		if dt != nil && n.types[i] == nil {
			n.m.RegisterType(dt)
			n.types[i] = dt
			n.list[i].TypeName = dt.Name
		}
	}
	return n
}
