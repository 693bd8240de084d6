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
	return rowView(&View[Row]{c: c}, p, nil)
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

// Columns returns a view of the same cursor that yields only the given
// columns, in the order given: each a name (string) or a position (int,
// 0-based in this view's columns), mixed as needed, as the reference's
// columns("name", 2). An unknown name or position makes every read of the
// view fail with ErrNoColumn, naming it and listing the real ones; a name
// that more than one column has fails with ErrAmbiguousColumn, naming their
// positions (select them by position, or alias them in the SQL).
func (c *Cursor) Columns(cols ...any) *Cursor {
	p, err := c.c.cols.resolve(c.proj, cols)
	return rowView(c.View, p, wrapOp("Columns", err))
}

// ColumnsAt is Columns by position only (0-based, in this view's columns).
func (c *Cursor) ColumnsAt(idx ...int) *Cursor {
	p, err := c.c.cols.byIndex(c.proj, idx)
	return rowView(c.View, p, wrapOp("ColumnsAt", err))
}

// rowView is the Cursor over columns p of from's cursor.
func rowView[F any](from *View[F], p projection, err error) *Cursor {
	v := derive[Row](from, p, err)
	if v.bad == nil {
		keys := v.c.cols.keys(p)
		v.fork = func(cols *columns) func(rawRow, *Row) error {
			m := &rowMaker{cols: cols, proj: p, keys: keys}
			return valueConv(m.row)
		}
		v.conv = v.fork(v.c.cols)
	}
	return &Cursor{v}
}

// Unique makes the cursor skip rows equal to one it already returned, in
// place, and returns it; see View.Unique.
func (c *Cursor) Unique() *Cursor {
	c.View.Unique()
	return c
}

// UniqueBy is Unique with a caller-chosen key over each row, in place; see
// View.UniqueBy. Derived views keep the key: it then sees each row as a Row
// of the derived view's columns.
func (c *Cursor) UniqueBy(key func(Row) any) *Cursor {
	c.View.UniqueBy(key)
	return c
}

// Scalars returns a view that yields one column of each row, decoded as in
// Row: the first, or the one given by name (string) or position (int), as
// the reference's scalars(index). Use ScalarsOf for a typed value.
func (c *Cursor) Scalars(col ...any) *View[any] {
	var p projection
	var err error
	switch {
	case len(col) > 1:
		err = fmt.Errorf("takes at most one column, got %d", len(col))
	case len(col) == 1:
		p, err = c.c.cols.resolve(c.proj, col)
	case len(c.proj) == 0:
		err = fmt.Errorf("%w: the result has no columns", ErrNoColumn)
	default:
		p = c.proj[:1:1]
	}
	v := derive[any](c.View, p, wrapOp("Scalars", err))
	if v.bad == nil {
		v.conv = decodeConv(v.c.cols, p[0])
	}
	return v
}

// decodeConv decodes column j, as Row does, into a view's value.
func decodeConv(cols *columns, j int) func(rawRow, *any) error {
	return func(r rawRow, dst *any) error {
		x, err := cols.decode(j, r.value(j))
		if err != nil {
			return decodeError(cols, j, err)
		}
		*dst = x
		return nil
	}
}

// Mappings returns a view that yields each row as a Mapping (column name ->
// value). It costs a map per row; prefer Row.Get or Structs on hot paths.
// Two columns with one name cannot share a map: every read then fails with
// ErrAmbiguousColumn, naming their positions.
func (c *Cursor) Mappings() *MappingView { return mappingView(c.View, c.proj, nil) }

// Scalar returns the first column of the first row and closes the cursor,
// without checking for more rows (the reference's scalar()). No row:
// ErrNoRows; a NULL value is (nil, nil).
func (c *Cursor) Scalar() (any, error) {
	return c.firstColumn().first("Scalar")
}

// ScalarOne returns the first column of the only row and closes the cursor.
// No row: ErrNoRows; more than one: ErrMultipleRows. With Unique, rows (not
// first-column values) are compared, as in the reference: use
// Scalars().Unique() to de-duplicate values.
func (c *Cursor) ScalarOne() (any, error) {
	return c.firstColumn().one("ScalarOne")
}

// ScalarOneOrNone returns the first column of the only row and true, or
// false when there is no row, and closes the cursor. More than one row:
// ErrMultipleRows. Unique compares rows, as in ScalarOne.
func (c *Cursor) ScalarOneOrNone() (any, bool, error) {
	return c.firstColumn().oneOrNone("ScalarOneOrNone")
}

// firstColumn is a view over all of c's columns (so that a Unique filter
// compares whole rows) that yields the first.
func (c *Cursor) firstColumn() *View[any] {
	var err error
	if len(c.proj) == 0 {
		err = fmt.Errorf("%w: the result has no columns", ErrNoColumn)
	}
	v := derive[any](c.View, c.proj, err)
	if v.bad == nil {
		v.conv = decodeConv(v.c.cols, c.proj[0])
	}
	return v
}

// Freeze reads the remaining rows into a snapshot that can be read again and
// again, and leaves this cursor exhausted. The snapshot is what this view
// yields, as in the reference: its columns only (Keys of its results are
// this view's), and with Unique, only the distinct rows.
//
// Cost: without Unique the snapshot keeps the blocks the rows arrived in
// (no copy); with Unique it copies the distinct rows.
func (c *Cursor) Freeze() (*Frozen, error) {
	if c.bad != nil {
		return nil, opError("Freeze", c.bad)
	}
	if err := c.c.readable("Freeze"); err != nil {
		return nil, err
	}
	f := &Frozen{cols: c.c.cols, proj: c.proj}
	if c.uniq != nil {
		return f, c.freezeDistinct(f)
	}
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

// freezeDistinct copies the rows the unique filter lets through into f.
func (c *Cursor) freezeDistinct(f *Frozen) error {
	ncol := len(c.c.cols.list)
	vals := make([][]byte, ncol)
	var b *Block
	for {
		r, ok, err := c.c.next("Freeze")
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		dup, err := c.uniq.seen(r, nil)
		if err != nil {
			c.c.fail(opError("Freeze", err))
			return c.c.failure
		}
		if dup {
			continue
		}
		if b == nil || b.nrow >= blockRows || len(b.data) >= blockBytes {
			if b != nil {
				f.add(b)
			}
			b = NewBlock(ncol, firstBlockRows, firstBlockBytes)
		}
		for j := range vals {
			vals[j] = r.value(j)
		}
		b.AppendRow(vals)
	}
	if b != nil {
		f.add(b)
	}
	return nil
}
