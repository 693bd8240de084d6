package buffered

// state is where a result is in its life.
type state uint8

const (
	open      state = iota
	exhausted       // the rows ran out: reads return nothing, without error
	closed          // Close or a one-answer method: reads fail with ErrClosed
)

// readState is the read position shared by a result and all its views.
type readState struct {
	cols     *columns
	src      Source
	noRows   bool // the statement returns no rows at all
	st       state
	released bool  // src.Close has been called
	failure  error // from the source or a conversion: ends the result, sticky
	lastErr  error // why the last read without an error result returned nothing

	blk *Block
	pos int
	// keep stops handing blocks back to a Recycler: Freeze holds them
	keep bool

	// breakCloses makes leaving a Rows/Partitions loop early close the
	// result: streams set it so a break releases the connection at once.
	breakCloses bool

	// fetchSize is what FetchMany(0) and Partitions(0) read; 0: the default
	fetchSize int
}

// next returns the next raw row. ok is false when there is none, and err
// says why when that is not plain exhaustion.
func (s *readState) next(op string) (r rawRow, ok bool, err error) {
	if err := s.readable(op); err != nil {
		return rawRow{}, false, err
	}
	for s.blk == nil || s.pos >= s.blk.nrow {
		if s.blk != nil {
			s.recycle(s.blk)
			s.blk = nil
		}
		if s.st == exhausted {
			return rawRow{}, false, nil
		}
		b, err := s.src.Next()
		if err != nil {
			s.fail(err)
			return rawRow{}, false, s.failure
		}
		if b == nil {
			s.st = exhausted
			s.blk = nil
			s.release()
			return rawRow{}, false, nil
		}
		s.blk, s.pos = b, 0
	}
	r = rawRow{s.blk, s.pos}
	s.pos++
	return r, true, nil
}

// recycle hands a block the reader has moved past back to its source.
func (s *readState) recycle(b *Block) {
	if r, ok := s.src.(Recycler); ok && !s.keep {
		r.Recycle(b)
	}
}

// readable says whether a read may proceed.
func (s *readState) readable(op string) error {
	switch {
	case s.failure != nil:
		return s.failure
	case s.st == closed:
		return opError(op, ErrClosed)
	case s.noRows:
		return opError(op, ErrNotReturningRows)
	}
	return nil
}

// fail ends the result with err; later reads return err again.
func (s *readState) fail(err error) {
	if s.failure == nil {
		s.failure = err
	}
	s.blk = nil
	s.release()
}

// close is the hard close: later reads fail with ErrClosed.
func (s *readState) close() {
	s.st = closed
	s.blk = nil
	s.release()
}

func (s *readState) release() {
	if !s.released {
		s.released = true
		s.src.Close()
	}
}

// err is what Err reports: the failure that ended the result, else why the
// last read returned nothing.
func (s *readState) err() error {
	if s.failure != nil {
		return s.failure
	}
	return s.lastErr
}

// sizeHint is the capacity to give a slice for up to n rows (n < 0: all):
// the rows left when the source knows them (a buffered result), else a
// modest guess, so a stream's FetchMany(1e6) does not allocate a million
// slots before a row has arrived.
func (s *readState) sizeHint(n int) int {
	left := -1
	if src, ok := s.src.(interface{ remaining() int }); ok && s.st == open {
		left = src.remaining()
		if s.blk != nil {
			left += s.blk.nrow - s.pos
		}
	}
	switch {
	case left >= 0 && (n < 0 || left < n):
		return left
	case n >= 0:
		return min(n, guessMaxRows)
	}
	return guessAllRows
}

// Capacities sizeHint guesses when the source cannot say how many rows are
// left: at most a block's worth for n rows, a few dozen for "all".
const (
	guessMaxRows = blockRows
	guessAllRows = 64
)
