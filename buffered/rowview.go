package buffered

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// RowView reads a result's rows as Row values and makes the other views:
// it is the reference's Result. A Result is a RowView over rows in memory; a
// stream.Result is one over rows still arriving. See View for the fetch
// methods it has. All views of one result share one read position.
type RowView struct {
	*View[Row]
}

// ViewOptions tunes NewRowView.
type ViewOptions struct {
	// CloseOnBreak closes the result when a Rows or Partitions loop ends
	// early (break, return, panic), as a stream must to release its
	// connection. Without it the read position stays where the loop left it.
	CloseOnBreak bool
	// FetchSize is the rows FetchMany(0) returns and Partitions(0) puts in
	// a chunk: the reference's yield_per. A stream passes the batch size
	// it was asked for. Zero means DefaultFetchSize.
	FetchSize int
}

// NewRowView returns a view that reads blocks of rows described by fields
// from src. Types registered on connMap, the type map of the connection the
// rows come from (may be nil), are carried over to the view's own map, so
// call NewRowView while that connection is held. Package stream uses it to
// read a channel of blocks; FromRows makes an in-memory Result.
func NewRowView(fields []pgconn.FieldDescription, connMap *pgtype.Map, src Source, opts ViewOptions) *RowView {
	v := newRowView(newColumns(fields, connMap), src)
	v.rs.breakCloses = opts.CloseOnBreak
	v.rs.fetchSize = opts.FetchSize
	return v
}

// newRowView is the first view of a result: all its columns.
func newRowView(cols *columns, src Source) *RowView {
	return rowViewOver(&readState{cols: cols, src: src}, cols.allProjection())
}

// rowViewOver is the first view of a read state, over columns p.
func rowViewOver(rs *readState, p projection) *RowView {
	return rowView(&View[Row]{rs: rs}, p, nil)
}

// AsRowView returns v itself, so a RowView (and a Result or stream.Result
// that embeds one) is a RowViewer for ScalarsOf, Structs and Raw.
func (v *RowView) AsRowView() *RowView { return v }

// Keys returns the names of the columns the view yields.
func (v *RowView) Keys() []string { return v.rs.cols.keys(v.proj) }

// ColumnTypes describes the columns the view yields.
func (v *RowView) ColumnTypes() []Column {
	out := make([]Column, len(v.proj))
	for i, j := range v.proj {
		out[i] = v.rs.cols.list[j]
	}
	return out
}

// Columns returns a view of the same result that yields only the given
// columns, in the order given: each a name (string) or a position (int,
// 0-based in this view's columns), mixed as needed, as the reference's
// columns("name", 2). An unknown name or position makes every read of the
// view fail with ErrNoColumn, naming it and listing the real ones; a name
// that more than one column has fails with ErrAmbiguousColumn, naming their
// positions (select them by position, or alias them in the SQL).
func (v *RowView) Columns(cols ...any) *RowView {
	p, err := v.rs.cols.resolve(v.proj, cols)
	return rowView(v.View, p, wrapOp("Columns", err))
}

// ColumnsAt is Columns by position only (0-based, in this view's columns).
func (v *RowView) ColumnsAt(idx ...int) *RowView {
	p, err := v.rs.cols.byIndex(v.proj, idx)
	return rowView(v.View, p, wrapOp("ColumnsAt", err))
}

// rowView is the RowView over columns p of from's result.
func rowView[F any](from *View[F], p projection, err error) *RowView {
	v := derive[Row](from, p, err)
	if v.bad == nil {
		// conv is made from fork at the first read (View.next): a result
		// read only through Structs, ScalarsOf or Raw never makes one
		v.fork = rowForkFor(v.rs.cols, p)
	}
	return &RowView{v}
}

// rowForkFor is the fork of a Row view over columns p of cols: made once
// for all columns of a shared description, else here.
func rowForkFor(cols *columns, p projection) func(*columns) func(rawRow, *Row) error {
	if cols.shared && cols.isAll(p) {
		return cols.rowFork
	}
	return rowFork(p, cols.keys(p))
}

// rowFork makes Row decoders over columns p called keys.
func rowFork(p projection, keys []string) func(*columns) func(rawRow, *Row) error {
	return func(cols *columns) func(rawRow, *Row) error {
		m := &rowMaker{cols: cols, proj: p, keys: keys}
		return valueConv(m.row)
	}
}

// Unique makes the view skip rows equal to one it already returned, in
// place, and returns it; see View.Unique.
func (v *RowView) Unique() *RowView {
	v.View.Unique()
	return v
}

// UniqueBy is Unique with a caller-chosen key over each row, in place; see
// View.UniqueBy. Derived views keep the key: it then sees each row as a Row
// of the derived view's columns.
func (v *RowView) UniqueBy(key func(Row) any) *RowView {
	v.View.UniqueBy(key)
	return v
}

// Scalars returns a view that yields one column of each row, decoded as in
// Row: the first, or the one given by name (string) or position (int), as
// the reference's scalars(index). Use ScalarsOf for a typed value.
func (v *RowView) Scalars(col ...any) *View[any] {
	var p projection
	var err error
	switch {
	case len(col) > 1:
		err = fmt.Errorf("takes at most one column, got %d", len(col))
	case len(col) == 1:
		p, err = v.rs.cols.resolve(v.proj, col)
	case len(v.proj) == 0:
		err = fmt.Errorf("%w: the result has no columns", ErrNoColumn)
	default:
		p = v.proj[:1:1]
	}
	out := derive[any](v.View, p, wrapOp("Scalars", err))
	if out.bad == nil {
		out.conv = decodeConv(out.rs.cols, p[0])
	}
	return out
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
func (v *RowView) Mappings() *MappingView { return mappingView(v.View, v.proj, nil) }

// Scalar returns the first column of the first row and closes the result,
// without checking for more rows (the reference's scalar()). No row:
// ErrNoRows; a NULL value is (nil, nil).
func (v *RowView) Scalar() (any, error) {
	return v.firstColumn().first("Scalar")
}

// ScalarOne returns the first column of the only row and closes the result.
// No row: ErrNoRows; more than one: ErrMultipleRows. With Unique, rows (not
// first-column values) are compared, as in the reference: use
// Scalars().Unique() to de-duplicate values.
func (v *RowView) ScalarOne() (any, error) {
	return v.firstColumn().one("ScalarOne")
}

// ScalarOneOrNone returns the first column of the only row and true, or
// false when there is no row, and closes the result. More than one row:
// ErrMultipleRows. Unique compares rows, as in ScalarOne.
func (v *RowView) ScalarOneOrNone() (any, bool, error) {
	return v.firstColumn().oneOrNone("ScalarOneOrNone")
}

// firstColumn is a view over all of v's columns (so that a Unique filter
// compares whole rows) that yields the first.
func (v *RowView) firstColumn() *View[any] {
	var err error
	if len(v.proj) == 0 {
		err = fmt.Errorf("%w: the result has no columns", ErrNoColumn)
	}
	out := derive[any](v.View, v.proj, err)
	if out.bad == nil {
		out.conv = decodeConv(out.rs.cols, v.proj[0])
	}
	return out
}

// Freeze reads the remaining rows into a snapshot that can be read again and
// again, and leaves this result exhausted. The snapshot is what this view
// yields, as in the reference: its columns only (Keys of its results are
// this view's), and with Unique, only the distinct rows.
//
// Cost: without Unique the snapshot keeps the blocks the rows arrived in
// (no copy); with Unique it copies the distinct rows.
func (v *RowView) Freeze() (*Frozen, error) {
	if v.bad != nil {
		return nil, opError("Freeze", v.bad)
	}
	if err := v.rs.readable("Freeze"); err != nil {
		return nil, err
	}
	f := &Frozen{cols: v.rs.cols, proj: v.proj}
	if v.uniq != nil {
		return f, v.freezeDistinct(f)
	}
	v.rs.keep = true // the snapshot holds the blocks
	if v.rs.blk != nil && v.rs.pos < v.rs.blk.nrow {
		f.add(v.rs.blk.from(v.rs.pos))
		v.rs.blk = nil
	}
	for v.rs.st != exhausted {
		b, err := v.rs.src.Next()
		if err != nil {
			v.rs.fail(err)
			return nil, v.rs.failure
		}
		if b == nil {
			v.rs.st = exhausted
			v.rs.release()
			break
		}
		f.add(b)
	}
	return f, nil
}

// freezeDistinct copies the rows the unique filter lets through into f.
func (v *RowView) freezeDistinct(f *Frozen) error {
	ncol := len(v.rs.cols.list)
	vals := make([][]byte, ncol)
	var b *Block
	for {
		r, ok, err := v.rs.next("Freeze")
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		dup, err := v.uniq.seen(r, nil)
		if err != nil {
			v.rs.fail(opError("Freeze", err))
			return v.rs.failure
		}
		if dup {
			continue
		}
		for j := range vals {
			vals[j] = r.value(j)
		}
		if b == nil || b.nrow >= blockRows || len(b.data) >= blockBytes || !b.Fits(vals) {
			if b != nil {
				f.add(b)
			}
			b = NewBlock(ncol, firstBlockRows, firstBlockBytes)
		}
		b.AppendRow(vals)
	}
	if b != nil {
		f.add(b)
	}
	return nil
}
