package session

// recordQueue lists the records Add has queued (heldSet.addLocked), in
// Add order, as runs of neighbouring records in Add's chunks
// (unitOfWork.newTracked): Add takes its records one after another from a
// chunk, so a queue of 100,000 records is some 400 slices. A slice of
// 100,000 pointers, growing by copies that the garbage collector's write
// barriers slow down, was more than half of an Add's time.
//
// A run may take in records that are not queued (an Add's repeat, or a
// record filed since): the fQueued flag says which are.
type recordQueue struct {
	runs [][]tracked // each a part of one chunk
	// n is at most how many records are still queued: pushes, less
	// those filed by fileQueued or let go by resolveSuspects
	n int
}

// push queues c[i], where c is the whole chunk that holds it.
func (q *recordQueue) push(c []tracked, i int) {
	if k := len(q.runs); k > 0 {
		r := q.runs[k-1]
		// r is part of c when both end where c ends
		if &r[:cap(r)][cap(r)-1] == &c[len(c)-1] {
			if s := cap(c) - cap(r); i >= s+len(r) {
				q.runs[k-1] = r[:i-s+1]
				q.n++
				return
			}
		}
	}
	q.runs = append(q.runs, c[i:i+1:len(c)])
	q.n++
}

// all iterates over the queued records, in order.
func (q *recordQueue) all(yield func(*tracked) bool) {
	for _, r := range q.runs {
		for i := range r {
			if t := &r[i]; t.has(fQueued) && !yield(t) {
				return
			}
		}
	}
}

// len is at most how many records are queued (an Add's repeat let go
// later still counts).
func (q *recordQueue) len() int { return q.n }

// empty reports whether the queue lists no run (filed records included).
func (q *recordQueue) empty() bool { return len(q.runs) == 0 }

// reset empties the queue; a big one's list of runs goes with it.
func (q *recordQueue) reset() {
	clear(q.runs)
	q.runs, q.n = q.runs[:0], 0
	if cap(q.runs) > 64 {
		q.runs = nil
	}
}
