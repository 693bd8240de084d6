package buffered

import "fmt"

// RawBatch is rows of a result as raw wire values, as Raw gives them (nil
// is SQL NULL, the bytes in the format the column was sent in), read
// straight from the block the result holds. FetchRawBatch returns one.
//
// It aliases the result's memory: it is valid until the next read of the
// result (through any of its views) or Close. Copy what you keep.
type RawBatch struct {
	b    *Block
	from int // the block's row that is the batch's first
	n    int
	proj projection
	all  bool // proj is every column in order, and the block owns its bytes: rows are read in one pass
}

// Len returns the number of rows in the batch.
func (b *RawBatch) Len() int { return b.n }

// Row writes the values of row i (0 <= i < Len) into dst and returns it,
// resliced to the view's column count (a dst too short is replaced by a
// new slice). It allocates nothing once dst has that length: a value costs
// a comparison and a slice header. Like indexing a slice, an i out of
// range panics.
func (b *RawBatch) Row(i int, dst [][]byte) [][]byte {
	if i < 0 || i >= b.n {
		panic(fmt.Sprintf("buffered: RawBatch.Row(%d) of a batch of %d rows", i, b.n))
	}
	if cap(dst) < len(b.proj) {
		dst = make([][]byte, len(b.proj))
	}
	dst = dst[:len(b.proj)]
	row := b.from + i
	if b.all {
		b.b.rowInto(row, dst)
		return dst
	}
	for c, j := range b.proj {
		dst[c] = b.b.Value(row, j)
	}
	return dst
}

// FetchRawBatch returns the rows the result holds at hand as raw values of
// the view's columns, and consumes them: the rest of the block being read,
// or, when that is used up, the next block of the source (a stream waits
// for its next batch, a buffered result hands over its next block). ok is
// false when no row is left; Err then says why when that is not the end.
//
// It is the fast path for encoders (package encode): what a read costs in
// a view (checks, conversion) is paid once per batch, and RawBatch.Row
// reads each row straight from the block. The batch is valid until the
// next read; a batch is at most a block (a stream's batch: by default up to
// 1000 rows or 4 MiB). A Unique view refuses it with an error (it would
// have to compare every row): read that one with FetchOne or Rows.
func (v *View[T]) FetchRawBatch() (RawBatch, bool) {
	const op = "FetchRawBatch"
	if v.bad != nil {
		v.note(opError(op, v.bad))
		return RawBatch{}, false
	}
	if v.uniq != nil {
		v.note(opErrorf(op, "a Unique view returns one row at a time: read it with FetchOne or Rows"))
		return RawBatch{}, false
	}
	r, ok, err := v.rs.next(op)
	v.note(err)
	if !ok {
		return RawBatch{}, false
	}
	v.rs.pos = r.b.nrow // the whole rest of the block is the caller's now
	all := v.rs.cols.isAll(v.proj) && r.b.borrowed == nil
	return RawBatch{b: r.b, from: r.i, n: r.b.nrow - r.i, proj: v.proj, all: all}, true
}

// rowInto writes the values of row into dst (len ncol) in one pass over
// the row's end offsets: a value starts where the one before it ends, and
// a NULL takes no bytes. Not for a borrowed block.
func (b *Block) rowInto(row int, dst [][]byte) {
	i := row * b.ncol
	from := b.start
	if i > 0 {
		from = b.ends[i-1] &^ nullBit
	}
	data := b.data
	for c, e := range b.ends[i : i+len(dst)] {
		if e&nullBit != 0 {
			dst[c] = nil
			continue
		}
		dst[c] = data[from:e:e]
		from = e
	}
}
