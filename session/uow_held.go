package session

import (
	"cmp"
	"slices"
	"sync"
	"unsafe"
)

// heldSet is every object a session holds, found by its address.
//
// Objects filed one at a time (Add, Get, a flush's inserts) are in a
// flatTable.
// The new objects of a Select are not: they lie side by side in the one
// slice the result decoded them into, and their records side by side in
// another, so the record of such an object is found by arithmetic on its
// address within a registered range. A Select of a million rows then
// costs no map entry per row (about 20 bytes, and a hash insert that was
// a fifth of the load's time).
//
// Add files its objects in batches (see addRecentLocked): the last objects
// added wait in recent until a batch is full or the session looks
// something up.
//
// The session's goroutine reads the set without the lock and changes it
// under mu; other goroutines (another session's Add, ObjectSession) read
// it under mu, through getShared. A record's held flag is written under
// mu for the same reason: they read it for ranged records.
type heldSet struct {
	mu     sync.RWMutex
	m      flatTable[uintptr]
	recent []*tracked  // added, not in m yet; may repeat an object (see settle)
	ranges []heldRange // sorted by base address, not overlapping
	ranged int         // objects held through ranges
}

// heldRange is a Select's slice of objects and the matching slice of
// records: the object at base+i*size has record slots[i], which holds it
// when its held flag is set (rows that found an object the session already
// held leave their slot unused).
type heldRange struct {
	base  unsafe.Pointer // keeps the objects' slice alive, as the map's keys do
	size  uintptr
	slots []tracked
}

// len is how many objects the set holds (session's goroutine).
func (h *heldSet) len() int {
	h.settleNow()
	return h.m.len() + h.ranged
}

// get returns the record of the object at p, or nil (session's
// goroutine).
func (h *heldSet) get(p unsafe.Pointer) *tracked {
	h.settleNow()
	return h.find(p)
}

// getShared is get for other goroutines, which hold units.mu: it takes
// the read lock, and looks through recent rather than filing it.
func (h *heldSet) getShared(p unsafe.Pointer) *tracked {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if t := h.find(p); t != nil {
		return t
	}
	for _, t := range h.recent {
		if t.ptr == p && t.held {
			return t
		}
	}
	return nil
}

// find looks p up in the table and the ranges (not in recent).
func (h *heldSet) find(p unsafe.Pointer) *tracked {
	if t := h.m.get(uintptr(p)); t != nil {
		return t
	}
	if len(h.ranges) == 0 {
		return nil
	}
	a := uintptr(p)
	// the last range that starts at or before a
	i, found := slices.BinarySearchFunc(h.ranges, a, func(r heldRange, a uintptr) int {
		return cmp.Compare(uintptr(r.base), a)
	})
	if !found {
		i--
	}
	if i < 0 {
		return nil
	}
	r := &h.ranges[i]
	off := a - uintptr(r.base)
	if off%r.size != 0 || off/r.size >= uintptr(len(r.slots)) {
		return nil
	}
	if t := &r.slots[off/r.size]; t.held && t.ptr == p {
		return t
	}
	return nil
}

// recentMax is the most objects Add leaves unfiled.
const recentMax = 256

// addRecentLocked holds t, an object Add has not looked up: whether the session
// already holds it is settled with the rest of its batch.
//
// Why: looking a fresh address up in a table of 100,000 others is a cache
// miss, the largest part of an Add; in a short loop over a batch, whose
// iterations do not depend on each other, the processor can wait for
// several of those misses at once. Add
// returns the same either way (an object added again is simply still
// held), so nothing it answers depends on when the lookup is made, and
// everything that reads the set on the session's goroutine settles the
// batch first.
//
// The caller holds units.mu, as every reader on another goroutine does
// (getShared is only called under it): that lock, not mu, keeps them
// apart, and an Add takes one lock instead of two.
func (h *heldSet) addRecentLocked(t *tracked) {
	t.held = true
	h.recent = append(h.recent, t)
	if len(h.recent) >= recentMax {
		h.settle()
	}
}

// settleNow files recent, if anything is waiting (session's goroutine).
func (h *heldSet) settleNow() {
	if len(h.recent) > 0 {
		h.mu.Lock()
		h.settle()
		h.mu.Unlock()
	}
}

// settle files the objects in recent (with mu held). An object the set
// already holds (added again, or loaded before) keeps its first record,
// which Add's repeat leaves as it was, except that an object marked for
// deletion is kept after all; the repeat's record is let go.
func (h *heldSet) settle() {
	if len(h.recent) == 0 {
		return
	}
	h.m.grow(len(h.recent))
	for i, t := range h.recent {
		if old := h.find(t.ptr); old != nil {
			if old.st == deleting {
				old.st = persistent
			}
			t.held, t.st = false, 0
		} else {
			h.m.put(uintptr(t.ptr), t)
		}
		h.recent[i] = nil
	}
	h.recent = h.recent[:0]
}

// put holds t (with mu held).
func (h *heldSet) put(t *tracked) {
	h.settle()
	if t.has(fRanged) {
		if !t.held {
			h.ranged++
		}
	} else {
		h.m.put(uintptr(t.ptr), t)
	}
	t.held = true
}

// del lets t go (with mu held).
func (h *heldSet) del(t *tracked) {
	h.settle()
	if t.has(fRanged) {
		if t.held {
			h.ranged--
		}
	} else if h.m.get(uintptr(t.ptr)) == t {
		h.m.del(uintptr(t.ptr))
	}
	t.held = false
}

// addRange registers the objects of one Select (with mu held); their
// records are already marked ranged, and held of them are marked held.
func (h *heldSet) addRange(base unsafe.Pointer, size uintptr, slots []tracked, held int) {
	if len(slots) == 0 || size == 0 {
		return
	}
	h.ranged += held
	r := heldRange{base: base, size: size, slots: slots}
	i, _ := slices.BinarySearchFunc(h.ranges, uintptr(base), func(r heldRange, a uintptr) int {
		return cmp.Compare(uintptr(r.base), a)
	})
	h.ranges = slices.Insert(h.ranges, i, r)
}

// all iterates over every held record. Letting records go while iterating
// is allowed: the table's records are collected first, since a deletion
// there shifts entries back.
func (h *heldSet) all(yield func(*tracked) bool) {
	h.settleNow()
	if h.m.len() > 0 {
		ts := make([]*tracked, 0, h.m.len())
		for t := range h.m.all {
			ts = append(ts, t)
		}
		for _, t := range ts {
			if !yield(t) {
				return
			}
		}
	}
	for i := range h.ranges {
		slots := h.ranges[i].slots
		for j := range slots {
			if t := &slots[j]; t.held && !yield(t) {
				return
			}
		}
	}
}

// clear lets everything go (with mu held).
func (h *heldSet) clear() {
	for _, t := range h.recent {
		t.held = false
	}
	h.recent = h.recent[:0]
	h.m.clear()
	h.ranges, h.ranged = nil, 0
}
