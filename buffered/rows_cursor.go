package buffered

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Cursor reads a result's rows as Row values and makes the other views.
// A Result is a Cursor over rows in memory; a stream.Result is one over rows
// still arriving. See View for the fetch methods it has.
type Cursor struct {
	*View[Row]
}

// CursorOptions tunes NewCursor.
type CursorOptions struct {
	// CloseOnBreak closes the cursor when a Rows or Partitions loop ends
	// early (break, return, panic), as a stream must to release its
	// connection. Without it the cursor stays where the loop left it.
	CloseOnBreak bool
}

// NewCursor returns a cursor that reads blocks of rows described by fields
// from src. Types registered on connMap, the type map of the connection the
// rows come from (may be nil), are carried over to the cursor's own map, so
// call NewCursor while that connection is held. Package stream uses it to
// read a channel of blocks; FromRows makes an in-memory Result.
func NewCursor(fields []pgconn.FieldDescription, connMap *pgtype.Map, src Source, opts CursorOptions) *Cursor {
	c := newCursor(newColumns(fields, connMap), src)
	c.c.breakCloses = opts.CloseOnBreak
	return c
}

func newCursor(cols *columns, src Source) *Cursor {
	c := &cursor{cols: cols, src: src}
	return cursorOver(c, allColumns(len(cols.list)))
}

func cursorOver(c *cursor, p projection) *Cursor {
	keys := c.cols.keys(p)
	fork := func(cols *columns) func(rawRow, *Row) error {
		m := &rowMaker{cols: cols, proj: p, keys: keys}
		return valueConv(m.row)
	}
	return &Cursor{&View[Row]{c: c, proj: p, conv: fork(c.cols), fork: fork}}
}

// AsCursor returns c itself, so a Cursor (and a Result or stream.Result that
// embeds one) is a RowCursor for ScalarsOf and Structs.
func (c *Cursor) AsCursor() *Cursor { return c }

// Keys returns the names of the columns the cursor yields.
func (c *Cursor) Keys() []string { return c.c.cols.keys(c.proj) }

// ColumnTypes describes the columns the cursor yields.
func (c *Cursor) ColumnTypes() []Column {
	out := make([]Column, len(c.proj))
	for i, j := range c.proj {
		out[i] = c.c.cols.list[j]
	}
	return out
}

// Columns returns a view of the same cursor that yields only the named
// columns, in the order given. An unknown name makes every read of the view
// fail with ErrNoColumn, naming it and listing the real ones.
func (c *Cursor) Columns(names ...string) *Cursor {
	if c.bad != nil {
		return c
	}
	p, err := c.c.cols.byName(c.proj, names)
	return c.derive(p, err)
}

// ColumnsAt is Columns by position (0-based, in this view's columns).
func (c *Cursor) ColumnsAt(idx ...int) *Cursor {
	if c.bad != nil {
		return c
	}
	p, err := c.c.cols.byIndex(c.proj, idx)
	return c.derive(p, err)
}

func (c *Cursor) derive(p projection, err error) *Cursor {
	d := cursorOver(c.c, p)
	if err != nil {
		d.bad = fmt.Errorf("Columns: %w", err)
	}
	if c.uniq != nil {
		d.View = d.View.Unique()
	}
	return d
}

// Unique returns a view of the same cursor without duplicate rows; see
// View.Unique.
func (c *Cursor) Unique() *Cursor { return &Cursor{c.View.Unique()} }

// UniqueBy is Unique with a caller-chosen key; see View.UniqueBy.
func (c *Cursor) UniqueBy(key func(Row) any) *Cursor { return &Cursor{c.View.UniqueBy(key)} }

// Scalars returns a view that yields the first column of each row, decoded
// as in Row. Use ScalarsOf for a typed value, or ColumnsAt(i).Scalars()
// for another column.
func (c *Cursor) Scalars() *View[any] {
	v := &View[any]{c: c.c, bad: c.bad}
	if v.bad == nil && len(c.proj) == 0 {
		v.bad = fmt.Errorf("Scalars: %w: the result has no columns", ErrNoColumn)
	}
	if v.bad != nil {
		return v
	}
	j := c.proj[0]
	v.proj = projection{j}
	v.conv = func(r rawRow, dst *any) error {
		x, err := c.c.cols.decode(j, r.value(j))
		if err != nil {
			return decodeError(c.c.cols, j, err)
		}
		*dst = x
		return nil
	}
	if c.uniq != nil {
		v = v.Unique()
	}
	return v
}

// Mappings returns a view that yields each row as a Mapping (column name ->
// value). It costs a map per row; prefer Row.Get or Structs on hot paths.
func (c *Cursor) Mappings() *View[Mapping] {
	m := &rowMaker{cols: c.c.cols, proj: c.proj, keys: c.Keys()}
	v := &View[Mapping]{c: c.c, proj: c.proj, conv: valueConv(m.mapping), bad: c.bad}
	if c.uniq != nil {
		v = v.Unique()
	}
	return v
}

// Scalar returns the first column of the first row and closes the cursor,
// without checking for more rows (the reference's scalar()). No row:
// ErrNoRows; a NULL value is (nil, nil).
func (c *Cursor) Scalar() (any, error) {
	return c.Scalars().first("Scalar")
}

// ScalarOne returns the first column of the only row and closes the cursor.
// No row: ErrNoRows; more than one: ErrMultipleRows.
func (c *Cursor) ScalarOne() (any, error) {
	return c.Scalars().one("ScalarOne")
}

// ScalarOneOrNone returns the first column of the only row and true, or
// false when there is no row, and closes the cursor. More than one row:
// ErrMultipleRows.
func (c *Cursor) ScalarOneOrNone() (any, bool, error) {
	return c.Scalars().oneOrNone("ScalarOneOrNone")
}

// Freeze reads the remaining rows into a snapshot that can be read again and
// again, and leaves this cursor exhausted. Projection and Unique filters of
// this view are not applied to the snapshot: it holds the remaining rows of
// the underlying result.
func (c *Cursor) Freeze() (*Frozen, error) {
	if c.bad != nil {
		return nil, fmt.Errorf("Freeze: %w", c.bad)
	}
	if err := c.c.readable("Freeze"); err != nil {
		return nil, err
	}
	f := &Frozen{cols: c.c.cols}
	c.c.keep = true // the snapshot holds the blocks
	if c.c.blk != nil && c.c.pos < c.c.blk.nrow {
		f.add(c.c.blk.from(c.c.pos))
		c.c.blk = nil
	}
	for c.c.st != exhausted {
		b, err := c.c.src.Next()
		if err != nil {
			c.c.fail(err)
			return nil, c.c.failure
		}
		if b == nil {
			c.c.st = exhausted
			c.c.release()
			break
		}
		f.add(b)
	}
	return f, nil
}
