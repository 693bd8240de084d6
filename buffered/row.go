package buffered

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/streamcat/streamcat/internal/ladder"
)

// Row is one decoded row: values in column order, as pgx's Rows.Values
// decodes them (int4 -> int32, text -> string, numeric -> pgtype.Numeric,
// jsonb -> any, arrays -> []any, NULL -> nil, ...). A Row owns its values: it
// stays valid after the result moves on or closes.
type Row struct {
	keys []string
	vals []any
}

// Values returns the row's values in column order. The slice belongs to the
// row: do not modify it.
func (r Row) Values() []any { return r.vals }

// Keys returns the column names, in order. The slice is shared by every row
// of the result (and of other results of the same statement): do not
// modify it.
func (r Row) Keys() []string { return r.keys }

// Len returns the number of columns.
func (r Row) Len() int { return len(r.vals) }

// At returns the value of column i; it panics when i is out of range, like a
// slice index.
func (r Row) At(i int) any { return r.vals[i] }

// Get returns the value of the column called name, and whether there is
// exactly one: it is false both when no column has the name and when more
// than one has (select 1 as x, 2 as x), because a guess between two columns
// is not an answer. Lookup says which; At reads a column by position.
func (r Row) Get(name string) (any, bool) {
	v, err := r.Lookup(name)
	return v, err == nil
}

// Lookup returns the value of the column called name. No such column:
// ErrNoColumn; more than one: ErrAmbiguousColumn, naming their positions.
func (r Row) Lookup(name string) (any, error) {
	at := -1
	for i, k := range r.keys {
		if k != name {
			continue
		}
		if at >= 0 {
			return nil, r.ambiguous(name)
		}
		at = i
	}
	if at < 0 {
		return nil, fmt.Errorf("buffered: Row.Lookup: %w %q; the row has: %s", ErrNoColumn, name, quoteAll(r.keys))
	}
	return r.vals[at], nil
}

func (r Row) ambiguous(name string) error {
	var at []int
	for i, k := range r.keys {
		if k == name {
			at = append(at, i)
		}
	}
	return fmt.Errorf("buffered: Row.Lookup: %w: column %q is at positions %s; read it with At or alias the columns in the SQL",
		ErrAmbiguousColumn, name, listPositions(at))
}

// Mapping returns the row as a map from column name to value. A name that
// more than one column has is left out (it would have to pick one): use
// Keys and At for such rows, or alias the columns.
func (r Row) Mapping() Mapping {
	m := make(Mapping, len(r.keys))
	var dup map[string]bool
	for i, k := range r.keys {
		if _, seen := m[k]; seen {
			if dup == nil {
				dup = map[string]bool{}
			}
			dup[k] = true
		}
		m[k] = r.vals[i]
	}
	for k := range dup {
		delete(m, k)
	}
	return m
}

// Mapping is a row as column name -> value, the element of Mappings views.
type Mapping = map[string]any

// decode turns the raw value of column j into a Go value, as pgx's
// Rows.Values does.
func (c *columns) decode(j int, src []byte) (any, error) {
	if src == nil {
		return nil, nil
	}
	f := &c.fields[j]
	if dt := c.types[j]; dt != nil {
		return dt.Codec.DecodeValue(c.m, f.DataTypeOID, f.Format, src)
	}
	if f.Format == pgx.TextFormatCode {
		return string(src), nil
	}
	return bytes.Clone(src), nil
}

// rowMaker decodes rows for one view, carving value slices out of a shared
// slab so a row costs one allocation per slab, not one per row.
type rowMaker struct {
	cols  *columns
	proj  projection
	keys  []string
	slab  []any
	slabs ladder.Ladder // rows per slab
	begun bool          // slabs is set
}

// Slabs climb the module's ladder up to maxSlabRows rows, so a small result
// stays small and a large one costs an allocation per 256 rows.
const maxSlabRows = 256

func (m *rowMaker) row(r rawRow) (Row, error) {
	n := len(m.proj)
	if len(m.slab) < n {
		if !m.begun {
			m.slabs, m.begun = ladder.New(maxSlabRows), true
		}
		m.slab = make([]any, n*m.slabs.Next())
	}
	vals := m.slab[:n:n]
	m.slab = m.slab[n:]
	for i, j := range m.proj {
		v, err := m.cols.decode(j, r.value(j))
		if err != nil {
			return Row{}, decodeError(m.cols, j, err)
		}
		vals[i] = v
	}
	return Row{keys: m.keys, vals: vals}, nil
}

func (m *rowMaker) mapping(r rawRow) (Mapping, error) {
	out := make(Mapping, len(m.proj))
	for i, j := range m.proj { // the names are distinct: mappingView checked
		v, err := m.cols.decode(j, r.value(j))
		if err != nil {
			return nil, decodeError(m.cols, j, err)
		}
		out[m.keys[i]] = v
	}
	return out, nil
}

// quoteAll quotes names and joins them with commas.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
