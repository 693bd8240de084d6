package session

import (
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// The held set against a plain map, over thousands of random operations:
// adds (new objects, objects added again while queued or filed, objects
// loaded one by one), lets go, lookups from the session's goroutine and
// from others, flush-like passes that settle the suspects and file part of
// the queue as a COPY's sending goroutine does, and settles. Enough
// objects come and go for the filter to be rebuilt several times, and the
// filter's "maybe" answers (about 2%) make suspects throughout.
func TestHeldSetAgainstAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 12))
	objs := make([]*[3]int64, 3000) // distinct live addresses
	for i := range objs {
		objs[i] = new([3]int64)
	}
	var chunk []tracked
	next := 0
	newRecord := func(p unsafe.Pointer) ([]tracked, int) {
		if chunk == nil || next == len(chunk) {
			chunk, next = make([]tracked, trackedChunk), 0
		}
		c, i := chunk, next
		next++
		c[i] = tracked{ptr: p, st: pending}
		return c, i
	}
	var h heldSet
	model := map[unsafe.Pointer]bool{}
	check := func(p unsafe.Pointer, step int) {
		got := h.getShared(p)
		require.Equal(t, model[p], got != nil, "step %d: getShared", step)
		if got != nil {
			require.Equal(t, p, got.ptr, "step %d", step)
		}
	}
	rebuilds := 0
	for step := range 40_000 {
		p := unsafe.Pointer(objs[rng.IntN(len(objs))])
		switch op := rng.IntN(100); {
		case op < 45: // Add
			words := len(h.filter.words)
			h.addLocked(newRecord(p))
			if len(h.filter.words) != words || h.filter.n == 1 {
				rebuilds++
			}
			model[p] = true
		case op < 55: // a load files one object at once
			if !model[p] && h.findRanged(p) == nil {
				r := &tracked{ptr: p, st: persistent}
				h.put(r)
				model[p] = true
			}
		case op < 70: // let go
			if r := h.get(p); r != nil {
				h.del(r)
			}
			delete(model, p)
		case op < 80: // lookups: foreign first (no settle), then the session's
			check(p, step)
			r := h.get(p)
			require.Equal(t, model[p], r != nil, "step %d: get", step)
		case op < 90: // a flush: suspects settled, the queue lists distinct held objects
			h.resolveSuspects()
			seen := map[unsafe.Pointer]bool{}
			var queued []*tracked
			for r := range h.queue.all {
				if !r.held {
					continue
				}
				require.False(t, seen[r.ptr], "step %d: an object queued twice after resolveSuspects", step)
				require.True(t, model[r.ptr], "step %d: a queued object the session does not hold", step)
				seen[r.ptr] = true
				queued = append(queued, r)
			}
			h.fileQueued(queued[:rng.IntN(len(queued)+1)]) // part of it: the COPY may fail midway
		case op < 95:
			h.settleNow()
		default:
			require.Equal(t, len(model), count(&h), "step %d: count", step)
		}
	}
	require.Equal(t, len(model), count(&h))
	for _, o := range objs {
		p := unsafe.Pointer(o)
		check(p, -1)
		require.Equal(t, model[p], h.get(p) != nil)
	}
	t.Logf("held at the end: %d; filter rebuilds or resets: %d", len(model), rebuilds)
	require.Positive(t, rebuilds)
}

// count is how many objects h holds.
func count(h *heldSet) int {
	n := 0
	for range h.all {
		n++
	}
	return n
}
