package buffered

// Source supplies a RowView with blocks of rows. Package buffered's own source
// is the blocks in memory; package stream's is a bounded channel fed by a
// producer goroutine.
type Source interface {
	// Next returns the next non-empty block, or (nil, nil) when there are no
	// more rows. An error ends the cursor: it reaches the reader after the
	// rows before it.
	Next() (*Block, error)
	// Close releases what the source holds. The cursor calls it exactly once:
	// when the rows run out, when Next fails, or when the cursor is closed.
	Close()
}

// Recycler is a Source that takes blocks back for reuse. The cursor hands a
// block back once it has moved past it (and never when Freeze kept it), so
// a stream reuses a few blocks instead of allocating one per batch. Values
// a reader kept are copies (Row, Mapping, typed scans, Raw's All), except
// Raw's values read one at a time, which are valid until the next read.
type Recycler interface {
	Recycle(*Block)
}

// Interrupter is a Source whose pending Next can be ended from another
// goroutine (a stream stops its producer and cancels its query). Next then
// returns an error saying the rows were cut short (a stream's
// ErrInterrupted), so an interrupted read never looks complete; a Close
// without Interrupt ends the source without one.
type Interrupter interface {
	Interrupt()
}

// blocks is the in-memory Source.
type blocks struct {
	list []*Block
}

func (s *blocks) Next() (*Block, error) {
	for len(s.list) > 0 {
		b := s.list[0]
		// let go of the block: once read, only the reader holds it, so a
		// result read front to back (All decoding into structs) frees its
		// raw rows as it goes instead of holding them to the end
		s.list[0] = nil
		s.list = s.list[1:]
		if b.nrow > 0 {
			return b, nil
		}
	}
	return nil, nil
}

func (s *blocks) Close() { s.list = nil }

// remaining counts the rows not yet handed out.
func (s *blocks) remaining() int {
	n := 0
	for _, b := range s.list {
		n += b.nrow
	}
	return n
}
