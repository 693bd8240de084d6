package buffered

// Block holds rows as the raw wire values the server sent, copied into one
// byte slice. It is the unit a Source hands to a RowView: package buffered
// keeps every block of a result, package stream passes blocks through a
// bounded channel.
//
// A Block costs the bytes of its values plus 4 bytes per value: values lie
// back to back in data, row by row, so a value is found from where it ends
// and where the one before it ends. A borrowed block (BorrowRow) holds one
// row whose values are not copies.
type Block struct {
	ncol int
	nrow int
	data []byte
	// ends holds, per value, the offset in data just past it, with nullBit
	// set for SQL NULL (which takes no bytes)
	ends []uint32
	// start is where the block's first value begins in data: 0, except in
	// a block that from made to start midway
	start uint32
	// borrowed holds a BorrowRow block's values (nil for NULL) instead of
	// data and ends; nbytes is their total length.
	borrowed [][]byte
	nbytes   int
}

// nullBit marks a NULL in Block.ends. Offsets use the other 31 bits, so a
// block holds at most maxBlockData bytes of values.
const nullBit = 1 << 31

// maxBlockData is the most value bytes a block can hold. A row is at most
// one protocol message (under 2 GiB), and blocks are cut at far less
// (blockBytes, MaxBatchBytes), so only a row that would not fit beside the
// rows already in a block needs a new block (see Fits).
const maxBlockData = nullBit - 1

// NewBlock returns an empty block for rows of ncol columns, with room for
// rows rows and dataBytes bytes of values before it grows.
func NewBlock(ncol, rows, dataBytes int) *Block {
	return &Block{ncol: ncol, data: make([]byte, 0, dataBytes), ends: make([]uint32, 0, rows*ncol)}
}

// Fits reports whether a row of values can be appended: the block's value
// bytes stay within what its 31-bit offsets address. A block that is empty
// takes any row a server can send.
func (b *Block) Fits(values [][]byte) bool {
	return b.nrow == 0 || fitsIn(len(b.data), rowBytes(values))
}

// fitsIn reports whether add more value bytes can follow have.
func fitsIn(have, add int) bool { return have+add <= maxBlockData }

// AppendRow copies one row of raw values (pgx's Rows.RawValues: nil is NULL)
// into the block. values must have the block's column count, and the block
// must not be a borrowed one; when the block is not empty the row must fit
// (Fits).
func (b *Block) AppendRow(values [][]byte) {
	for _, v := range values {
		if v == nil {
			b.ends = append(b.ends, uint32(len(b.data))|nullBit)
			continue
		}
		b.data = append(b.data, v...)
		b.ends = append(b.ends, uint32(len(b.data)))
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
	i := row*b.ncol + col
	end := b.ends[i]
	if end&nullBit != 0 {
		return nil
	}
	from := b.start
	if i > 0 {
		from = b.ends[i-1] &^ nullBit
	}
	return b.data[from:end:end]
}

// Reset empties the block for reuse, keeping its memory (a borrowed block
// lets go of the values it borrowed).
func (b *Block) Reset() {
	b.borrowed, b.nbytes = nil, 0
	b.nrow = 0
	b.start = 0
	b.data = b.data[:0]
	b.ends = b.ends[:0]
}

// Trim gives back the room the block has beyond its values (its last
// allocation grew by half or doubled), copying them into memory of their
// exact size: for blocks kept for long, as a buffered result's are. It
// costs a copy of the block, so it is worth it only when the slack is
// large.
func (b *Block) Trim() {
	if b.borrowed != nil {
		return
	}
	if cap(b.data)-len(b.data) > len(b.data)/trimSlack {
		b.data = append(make([]byte, 0, len(b.data)), b.data...)
	}
	if cap(b.ends)-len(b.ends) > len(b.ends)/trimSlack {
		b.ends = append(make([]uint32, 0, len(b.ends)), b.ends...)
	}
}

// trimSlack: Trim copies a slice whose unused room is more than 1/trimSlack
// of what it uses.
const trimSlack = 16

// from returns a block that shares b's memory and starts at row.
func (b *Block) from(row int) *Block {
	if b.borrowed != nil {
		return &Block{ncol: b.ncol, nrow: b.nrow - row, borrowed: b.borrowed[row*b.ncol:], nbytes: b.nbytes}
	}
	start := b.start
	if i := row * b.ncol; i > 0 {
		start = b.ends[i-1] &^ nullBit
	}
	return &Block{ncol: b.ncol, nrow: b.nrow - row, data: b.data, ends: b.ends[row*b.ncol:], start: start}
}

// rawRow is one row of a block.
type rawRow struct {
	b *Block
	i int
}

func (r rawRow) value(col int) []byte { return r.b.Value(r.i, col) }
