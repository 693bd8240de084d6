package buffered

// state is where a cursor is in its life.
type state uint8

const (
	open      state = iota
	exhausted       // the rows ran out: reads return nothing, without error
	closed          // Close or a one-answer method: reads fail with ErrClosed
)

// cursor is the read position shared by a result and all its views.
type cursor struct {
	cols     *columns
	src      Source
	noRows   bool // the statement returns no rows at all
	st       state
	released bool  // src.Close has been called
	failure  error // from the source or a conversion: ends the cursor, sticky
	lastErr  error // why the last read without an error result returned nothing

	blk *Block
	pos int
	// keep stops handing blocks back to a Recycler: Freeze holds them
	keep bool

	// breakCloses makes leaving a Rows/Partitions loop early close the
	// cursor: streams set it so a break releases the connection at once.
	breakCloses bool
}

// next returns the next raw row. ok is false when there is none, and err
// says why when that is not plain exhaustion.
func (c *cursor) next(op string) (r rawRow, ok bool, err error) {
	if err := c.readable(op); err != nil {
		return rawRow{}, false, err
	}
	for c.blk == nil || c.pos >= c.blk.nrow {
		if c.blk != nil {
			c.recycle(c.blk)
			c.blk = nil
		}
		if c.st == exhausted {
			return rawRow{}, false, nil
		}
		b, err := c.src.Next()
		if err != nil {
			c.fail(err)
			return rawRow{}, false, c.failure
		}
		if b == nil {
			c.st = exhausted
			c.blk = nil
			c.release()
			return rawRow{}, false, nil
		}
		c.blk, c.pos = b, 0
	}
	r = rawRow{c.blk, c.pos}
	c.pos++
	return r, true, nil
}

// recycle hands a block the cursor has moved past back to its source.
func (c *cursor) recycle(b *Block) {
	if r, ok := c.src.(Recycler); ok && !c.keep {
		r.Recycle(b)
	}
}

// readable says whether a read may proceed.
func (c *cursor) readable(op string) error {
	switch {
	case c.failure != nil:
		return c.failure
	case c.st == closed:
		return opError(op, ErrClosed)
	case c.noRows:
		return opError(op, ErrNotReturningRows)
	}
	return nil
}

// fail ends the cursor with err; later reads return err again.
func (c *cursor) fail(err error) {
	if c.failure == nil {
		c.failure = err
	}
	c.blk = nil
	c.release()
}

// close is the hard close: later reads fail with ErrClosed.
func (c *cursor) close() {
	c.st = closed
	c.blk = nil
	c.release()
}

func (c *cursor) release() {
	if !c.released {
		c.released = true
		c.src.Close()
	}
}

// err is what Err reports: the failure that ended the cursor, else why the
// last read returned nothing.
func (c *cursor) err() error {
	if c.failure != nil {
		return c.failure
	}
	return c.lastErr
}

// sizeHint is the capacity to give a slice for up to n rows (n < 0: all):
// the rows left when the source knows them (a buffered result), else a
// modest guess.
func (c *cursor) sizeHint(n int) int {
	left := -1
	if s, ok := c.src.(interface{ remaining() int }); ok && c.st == open {
		left = s.remaining()
		if c.blk != nil {
			left += c.blk.nrow - c.pos
		}
	}
	switch {
	case left >= 0 && (n < 0 || left < n):
		return left
	case n >= 0:
		return min(n, 1024)
	}
	return 64
}
