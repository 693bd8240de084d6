// Package grow is the one "start small, then grow" ladder of the module:
// the sizes of a stream's batches, of a pipe's chunks and of a result's
// value slabs all start small, so the first row costs little and arrives at
// once, and multiply up to a cap, so a long result moves in large units.
// Only the numbers differ; each user says why its numbers are what they are.
package grow

// Ladder yields sizes first, first*factor, first*factor², ... up to a
// limit, then the limit for ever. The zero value yields 0; make one with New.
type Ladder struct {
	next, factor, max int
}

// New returns a ladder from first to limit by factor. first is raised to 1
// and limit to first; a factor below 2 makes the ladder stay at first.
func New(first, factor, limit int) Ladder {
	first = max(first, 1)
	return Ladder{next: first, factor: factor, max: max(limit, first)}
}

// Fixed returns a ladder that yields n every time.
func Fixed(n int) Ladder { return New(n, 1, n) }

// Next returns the next size and climbs one rung.
func (l *Ladder) Next() int {
	n := l.next
	if l.factor > 1 {
		l.next = min(l.next*l.factor, l.max)
	}
	return n
}
