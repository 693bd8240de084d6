package buffered

// Block holds rows as the raw wire values the server sent, copied into one
// byte slice. It is the unit a Source hands to a RowView: package buffered
// keeps every block of a result, package stream passes blocks through a
// bounded channel.
//
// A Block costs the bytes of its values plus 8 bytes per value. A borrowed
// block (BorrowRow) holds one row whose values are not copies.
type Block struct {
	ncol  int
	nrow  int
	data  []byte
	spans []span
	// borrowed holds a BorrowRow block's values (nil for NULL) instead of
	// data and spans; nbytes is their total length.
	borrowed [][]byte
	nbytes   int
}

// span locates one value in Block.data; n < 0 is SQL NULL.
type span struct {
	off uint32
	n   int32
}

// NewBlock returns an empty block for rows of ncol columns, with room for
// rows rows and dataBytes bytes of values before it grows.
func NewBlock(ncol, rows, dataBytes int) *Block {
	return &Block{ncol: ncol, data: make([]byte, 0, dataBytes), spans: make([]span, 0, rows*ncol)}
}

// AppendRow copies one row of raw values (pgx's Rows.RawValues: nil is NULL)
// into the block. values must have the block's column count, and the block
// must not be a borrowed one.
func (b *Block) AppendRow(values [][]byte) {
	for _, v := range values {
		if v == nil {
			b.spans = append(b.spans, span{n: -1})
			continue
		}
		b.spans = append(b.spans, span{off: uint32(len(b.data)), n: int32(len(v))})
		b.data = append(b.data, v...)
	}
	b.nrow++
}

// BorrowRow returns a block of one row whose values are values themselves,
// not copies: for a row too large to copy cheaply. Only the slice headers
// are copied (24 bytes a column). The caller must not change the values'
// memory while the block lives: package stream uses it for a row larger
// than pgx's largest pooled read buffer, which pgx reads into memory of its
// own and then drops, so the block becomes its only owner.
func BorrowRow(values [][]byte) *Block {
	b := &Block{ncol: len(values), nrow: 1, borrowed: make([][]byte, len(values))}
	for i, v := range values {
		if v != nil {
			v = v[:len(v):len(v)]
		}
		b.borrowed[i] = v
		b.nbytes += len(v)
	}
	return b
}

// Len returns the number of rows in the block.
func (b *Block) Len() int { return b.nrow }

// Bytes returns the number of value bytes the block holds.
func (b *Block) Bytes() int {
	if b.borrowed != nil {
		return b.nbytes
	}
	return len(b.data)
}

// Cap returns the value bytes the block can hold before it must grow: the
// memory it keeps when reused.
func (b *Block) Cap() int { return cap(b.data) }

// Value returns the raw value of column col in row row, nil for NULL. The
// slice aliases the block: copy it to keep it beyond the block's life.
func (b *Block) Value(row, col int) []byte {
	if b.borrowed != nil {
		return b.borrowed[row*b.ncol+col]
	}
	s := b.spans[row*b.ncol+col]
	if s.n < 0 {
		return nil
	}
	return b.data[s.off : s.off+uint32(s.n) : s.off+uint32(s.n)]
}

// Reset empties the block for reuse, keeping its memory (a borrowed block
// lets go of the values it borrowed).
func (b *Block) Reset() {
	b.borrowed, b.nbytes = nil, 0
	b.nrow = 0
	b.data = b.data[:0]
	b.spans = b.spans[:0]
}

// from returns a block that shares b's memory and starts at row.
func (b *Block) from(row int) *Block {
	if b.borrowed != nil {
		return &Block{ncol: b.ncol, nrow: b.nrow - row, borrowed: b.borrowed[row*b.ncol:], nbytes: b.nbytes}
	}
	return &Block{ncol: b.ncol, nrow: b.nrow - row, data: b.data, spans: b.spans[row*b.ncol:]}
}

// rawRow is one row of a block.
type rawRow struct {
	b *Block
	i int
}

func (r rawRow) value(col int) []byte { return r.b.Value(r.i, col) }
