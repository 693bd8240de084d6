// Package ladder is streamcat's one "start small, grow" sequence: where a
// size must be chosen before the data says how much there is (rows per
// batch of a stream, rows per FETCH of a server-side cursor, rows per slice
// of a pipeline stage), it starts at Start and multiplies by Factor up to a
// cap: 1, 5, 25, 125, 625, then the cap.
//
// Starting at one row means the first row reaches the reader as soon as the
// server sends it (a LIMIT 1 or an interactive reader does not wait for a
// batch to fill). Growing geometrically means a large result reaches full
// batches after a handful of steps, so the per-batch cost (a channel send,
// a round trip, a goroutine hand-off) is paid a few times, not per row.
package ladder

// Start is the first size: one row, so the first row is not held back.
const Start = 1

// Factor is the growth per step. 5 is SQLAlchemy's buffered cursor's growth
// factor: the full batch is reached within five steps, while the early
// batches stay small enough that a reader who stops after a few rows made
// the server send few rows it did not need.
const Factor = 5

// Ladder yields growing sizes. The zero value is not usable: make one with
// New or Fixed.
type Ladder struct {
	next, max int
}

// New returns a ladder that grows from Start up to maxSize (at least 1).
func New(maxSize int) Ladder {
	limit := max(maxSize, 1)
	return Ladder{next: min(Start, limit), max: limit}
}

// Fixed returns a ladder that yields n every time (at least 1): for a
// caller who knows the size it wants.
func Fixed(n int) Ladder {
	n = max(n, 1)
	return Ladder{next: n, max: n}
}

// Next returns the next size and moves up a step.
func (l *Ladder) Next() int {
	n := l.next
	l.next = min(l.next*Factor, l.max)
	return n
}
