package buffered

// Block holds rows as the raw wire values the server sent, copied into one
// byte slice. It is the unit a Source hands to a RowView: package buffered
// keeps every block of a result, package stream passes blocks through a
// bounded channel.
//
// A Block costs the bytes of its values plus 8 bytes per value.
type Block struct {
	ncol  int
	nrow  int
	data  []byte
	spans []span
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
// into the block. values must have the block's column count.
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

// Len returns the number of rows in the block.
func (b *Block) Len() int { return b.nrow }

// Bytes returns the number of value bytes the block holds.
func (b *Block) Bytes() int { return len(b.data) }

// Value returns the raw value of column col in row row, nil for NULL. The
// slice aliases the block: copy it to keep it beyond the block's life.
func (b *Block) Value(row, col int) []byte {
	s := b.spans[row*b.ncol+col]
	if s.n < 0 {
		return nil
	}
	return b.data[s.off : s.off+uint32(s.n) : s.off+uint32(s.n)]
}

// Reset empties the block for reuse, keeping its memory.
func (b *Block) Reset() {
	b.nrow = 0
	b.data = b.data[:0]
	b.spans = b.spans[:0]
}

// from returns a block that shares b's memory and starts at row.
func (b *Block) from(row int) *Block {
	return &Block{ncol: b.ncol, nrow: b.nrow - row, data: b.data, spans: b.spans[row*b.ncol:]}
}

// rawRow is one row of a block.
type rawRow struct {
	b *Block
	i int
}

func (r rawRow) value(col int) []byte { return r.b.Value(r.i, col) }
