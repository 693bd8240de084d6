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
// Add does not file its objects in the table (see addLocked): they wait
// in queue, and a Bloom filter over every filed and queued address tells
// Add, without a table lookup, that an object is new. The queue is filed
// when the session looks something up, or, in a flush that sends the
// objects by COPY, by the connection's sending goroutine while the server
// inserts the rows (fileQueued).
//
// The session's goroutine reads the set without the lock and changes it
// under mu; other goroutines (another session's Add, ObjectSession) read
// it under mu, through getShared. A record's held flag is written under
// mu for the same reason: they read it for ranged records. Add changes
// queue and filter under units.mu instead, which every reader on another
// goroutine holds (getShared is only called under it).
type heldSet struct {
	mu     sync.RWMutex
	m      flatTable[uintptr]
	filter addrFilter // every address in m and queue (and some let go since)
	// queue: added, not in m yet, in Add order; a record's fQueued says
	// it still waits (a COPY's sending goroutine may have filed it)
	queue    recordQueue
	suspects int         // queued records the filter let in with a "maybe" (fSuspect)
	ranges   []heldRange // sorted by base address, not overlapping
	ranged   int         // objects held through ranges
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

// empty reports whether the set holds nothing, without filing the queue.
func (h *heldSet) empty() bool { return h.m.len() == 0 && h.ranged == 0 && h.queue.len() == 0 }

// get returns the record of the object at p, or nil (session's
// goroutine). An address the filter has not seen is not looked for in
// the table, and does not make the queue be filed.
func (h *heldSet) get(p unsafe.Pointer) *tracked {
	if t := h.findRanged(p); t != nil {
		return t
	}
	if !h.filter.mayHold(uintptr(p)) {
		return nil
	}
	h.settleNow()
	return h.m.get(uintptr(p))
}

// getShared is get for other goroutines, which hold units.mu: it takes
// the read lock, and looks through the queue rather than filing it.
func (h *heldSet) getShared(p unsafe.Pointer) *tracked {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if t := h.find(p); t != nil {
		return t
	}
	if h.queue.len() == 0 || !h.filter.mayHold(uintptr(p)) {
		return nil
	}
	// Every record of the runs, not only those marked queued: the flags
	// byte is the session's to change without the lock (a COPY's sending
	// goroutine marks its rows as it sends them), ptr and held are not. A
	// record of the runs that is held and not queued is filed in m, where
	// find looked already.
	for _, r := range h.queue.runs {
		for i := range r {
			if t := &r[i]; t.ptr == p && t.held {
				return t
			}
		}
	}
	return nil
}

// find looks p up in the table and the ranges (not in the queue).
func (h *heldSet) find(p unsafe.Pointer) *tracked {
	if t := h.m.get(uintptr(p)); t != nil {
		return t
	}
	return h.findRanged(p)
}

// findRanged looks p up in the ranges.
func (h *heldSet) findRanged(p unsafe.Pointer) *tracked {
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

// addLocked holds t, a new record for an object Add was given (session's
// goroutine, under units.mu).
//
// Why not file it now: looking a fresh address up in a table of 100,000
// others is a cache miss or two, the largest part of an Add. The filter
// answers for most objects that the session does not hold them, and such
// an object only waits in the queue. One the filter is not sure of is
// looked up in the table; if it is not there, it may still be queued (an
// object added twice, or the filter's false positive), so it is queued as
// a suspect, settled exactly before anything uses the queue as a list of
// distinct objects (resolveSuspects, settle).
//
// Add returns the same either way (an object added again is simply still
// held), so nothing it answers depends on when the filing is done.
func (h *heldSet) addLocked(c []tracked, i int) {
	t := &c[i]
	p := t.ptr
	t.held = true
	if old := h.findRanged(p); old != nil {
		repeat(old, t)
		return
	}
	if h.filter.mayHold(uintptr(p)) {
		if old := h.m.get(uintptr(p)); old != nil {
			repeat(old, t)
			return
		}
		t.set(fSuspect, true)
		h.suspects++
	}
	h.remember(p)
	t.set(fQueued, true)
	h.queue.push(c, i)
}

// repeat settles an Add of an object the set holds already: it keeps its
// first record, which the repeat leaves as it was, except that an object
// marked for deletion is kept after all; the repeat's record is let go.
func repeat(old, t *tracked) {
	if old.st == deleting {
		old.st = persistent
	}
	t.held, t.st = false, 0
	t.set(fQueued|fSuspect, false)
}

// remember adds p to the filter, rebuilding it first when it is full.
func (h *heldSet) remember(p unsafe.Pointer) {
	if h.filter.full() {
		h.filter.reset(h.m.len() + h.queue.len())
		for t := range h.m.all {
			h.filter.add(uintptr(t.ptr))
		}
		for t := range h.queue.all {
			h.filter.add(uintptr(t.ptr))
		}
	}
	h.filter.add(uintptr(p))
}

// unseen marks a suspect's address in resolveSuspects before its first
// record is met.
var unseen tracked

// resolveSuspects finds the queued records that repeat an earlier queued
// record of the same object and lets them go (repeat), so that the queue
// lists distinct objects without being filed (session's goroutine, with
// mu held or no other goroutine reading). One pass over the queue with a
// small table of the suspects' addresses: the suspects are the only
// records that can repeat an earlier one (an earlier record put the
// object's bits in the filter), and the table lookups they made in
// addLocked already ruled out the filed objects.
func (h *heldSet) resolveSuspects() {
	if h.suspects == 0 {
		return
	}
	// a suspect's address: its first queued record (unseen: none yet);
	// a filter of their own in front, which fits in the first-level cache,
	// so that most records cost a bit test, not a table lookup
	var seen flatTable[uintptr]
	var maybe addrFilter
	maybe.reset(h.suspects)
	for _, r := range h.queue.runs {
		for i := range r {
			if t := &r[i]; t.has(fSuspect) && t.has(fQueued) {
				seen.put(uintptr(t.ptr), &unseen)
				maybe.add(uintptr(t.ptr))
			}
		}
	}
	for _, r := range h.queue.runs {
		for i := range r {
			t := &r[i]
			if !t.has(fQueued) || !maybe.mayHold(uintptr(t.ptr)) {
				continue
			}
			switch first := seen.get(uintptr(t.ptr)); first {
			case nil: // not a suspect's address
			case &unseen:
				seen.put(uintptr(t.ptr), t)
			default:
				repeat(first, t)
				h.queue.n--
			}
			t.set(fSuspect, false)
		}
	}
	h.suspects = 0
}

// settleNow files the queue, if anything is waiting (session's goroutine).
func (h *heldSet) settleNow() {
	if !h.queue.empty() {
		h.mu.Lock()
		h.settle()
		h.mu.Unlock()
	}
}

// settle files the queued records (with mu held). A suspect that repeats
// an object filed before it is let go (repeat).
func (h *heldSet) settle() {
	if h.queue.empty() {
		return
	}
	h.m.grow(h.queue.len())
	for t := range h.queue.all {
		t.set(fQueued|fSuspect, false)
		if old := h.m.putNew(uintptr(t.ptr), t); old != nil && old != t {
			repeat(old, t)
		}
	}
	h.queue.reset()
	h.suspects = 0
}

// fileQueued files those of ts that wait in the queue (with mu held), for
// a flush whose sending goroutine does it while the server inserts: ts
// are distinct (resolveSuspects ran before the flush collected them), so
// no lookup is needed. The queue keeps listing them until the next
// settle, which skips them.
func (h *heldSet) fileQueued(ts []*tracked) {
	for _, t := range ts {
		if t.has(fQueued) && t.held {
			t.set(fQueued, false)
			h.m.put(uintptr(t.ptr), t)
			h.queue.n--
		}
	}
}

// put holds t (with mu held).
func (h *heldSet) put(t *tracked) {
	h.settle()
	if t.has(fRanged) {
		if !t.held {
			h.ranged++
		}
	} else {
		h.remember(t.ptr)
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
	for t := range h.queue.all {
		t.held = false
		t.set(fQueued|fSuspect, false)
	}
	h.queue.reset()
	h.suspects = 0
	h.filter.clear()
	h.m.clear()
	h.ranges, h.ranged = nil, 0
}
