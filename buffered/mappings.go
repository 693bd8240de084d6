package buffered

import "fmt"

// MappingView reads rows as Mapping values (column name -> value); Mappings
// makes it. Like every view it shares the read position of the result it came from.
type MappingView struct {
	*View[Mapping]
}

// mappingView is the MappingView over columns p of from's result. Names must
// be unique among p: a map cannot hold two columns called x.
func mappingView[F any](from *View[F], p projection, err error) *MappingView {
	if err == nil && from.bad == nil {
		err = from.rs.cols.distinctNames(p)
	}
	v := derive[Mapping](from, p, wrapOp("Mappings", err))
	if v.bad == nil {
		keys := v.rs.cols.keys(p)
		v.fork = func(cols *columns) func(rawRow, *Mapping) error {
			m := &rowMaker{cols: cols, proj: p, keys: keys}
			return valueConv(m.mapping)
		}
		v.conv = v.fork(v.rs.cols)
	}
	return &MappingView{v}
}

// Keys returns the names of the columns the view yields, in order.
func (m *MappingView) Keys() []string { return m.rs.cols.keys(m.proj) }

// Columns returns a mapping view of the same result with only the given
// columns, each a name or a position in this view; see RowView.Columns.
func (m *MappingView) Columns(cols ...any) *MappingView {
	p, err := m.rs.cols.resolve(m.proj, cols)
	return mappingView(m.View, p, wrapOp("Columns", err))
}

// Unique makes the view skip rows equal to one it already returned, in
// place, and returns it; see View.Unique.
func (m *MappingView) Unique() *MappingView {
	m.View.Unique()
	return m
}

// UniqueBy is Unique with a caller-chosen key over each mapping, in place;
// see View.UniqueBy. Columns views of this one keep the key.
func (m *MappingView) UniqueBy(key func(Mapping) any) *MappingView {
	m.View.UniqueBy(key)
	return m
}

// distinctNames fails with ErrAmbiguousColumn when two columns of p share a
// name.
func (c *columns) distinctNames(p projection) error {
	for i, j := range p {
		for _, k := range p[i+1:] {
			if c.names[k] == c.names[j] {
				return c.ambiguous(p, c.names[j])
			}
		}
	}
	return nil
}

// ambiguous is the error for a name more than one column of p has.
func (c *columns) ambiguous(p projection, name string) error {
	var at []int
	for i, j := range p {
		if c.names[j] == name {
			at = append(at, i)
		}
	}
	return fmt.Errorf("%w: column %q is at positions %s; select one by position or alias them in the SQL",
		ErrAmbiguousColumn, name, listPositions(at))
}

// listPositions writes 0 and 1, or 0, 1 and 3.
func listPositions(at []int) string {
	s := ""
	for i, n := range at {
		switch {
		case i == 0:
		case i == len(at)-1:
			s += " and "
		default:
			s += ", "
		}
		s += fmt.Sprint(n)
	}
	return s
}
