package session

import "unsafe"

// ptrTable maps objects' addresses to their records: an open-addressing
// table with linear probing, in one flat slice.
//
// It replaces a Go map because a session's Add looks an address up (to
// refuse nothing twice) and then files it, and in a map of 100,000 fresh
// addresses each of those costs a cache miss or two in the control words
// and again in the slots: about 300 ns an Add on this machine. Here the
// lookup stops at the first empty slot, which the filing then reuses while
// it is still in the cache: about a third of that.
type ptrTable struct {
	slots []ptrSlot // a power of two long, or empty
	n     int
	shift uint8 // 64 - log2(len(slots))
}

type ptrSlot struct {
	p unsafe.Pointer // nil: empty
	t *tracked
}

// home is p's first slot: Fibonacci hashing, which spreads the aligned,
// often consecutive addresses of objects allocated one after another.
func (pt *ptrTable) home(p unsafe.Pointer) int {
	return int((uint64(uintptr(p)) * 0x9E3779B97F4A7C15) >> pt.shift)
}

func (pt *ptrTable) len() int { return pt.n }

// get returns p's record, or nil.
func (pt *ptrTable) get(p unsafe.Pointer) *tracked {
	if pt.n == 0 {
		return nil
	}
	mask := len(pt.slots) - 1
	for i := pt.home(p); ; i = (i + 1) & mask {
		s := &pt.slots[i]
		if s.p == p {
			return s.t
		}
		if s.p == nil {
			return nil
		}
	}
}

// put files t under p (replacing what was there).
func (pt *ptrTable) put(p unsafe.Pointer, t *tracked) {
	if (pt.n+1)*4 > len(pt.slots)*3 { // at most three quarters full
		pt.resize(max(16, 2*len(pt.slots)))
	}
	mask := len(pt.slots) - 1
	for i := pt.home(p); ; i = (i + 1) & mask {
		s := &pt.slots[i]
		if s.p == p {
			s.t = t
			return
		}
		if s.p == nil {
			s.p, s.t = p, t
			pt.n++
			return
		}
	}
}

// del removes p, shifting back the entries that follow it in its run, so
// that no lookup stops early at the hole (no tombstones).
func (pt *ptrTable) del(p unsafe.Pointer) {
	if pt.n == 0 {
		return
	}
	mask := len(pt.slots) - 1
	i := pt.home(p)
	for ; pt.slots[i].p != p; i = (i + 1) & mask {
		if pt.slots[i].p == nil {
			return
		}
	}
	for j := i; ; {
		j = (j + 1) & mask
		q := pt.slots[j].p
		if q == nil {
			break
		}
		// the entry at j may move to the hole at i unless its home lies
		// cyclically in (i, j]
		if k := pt.home(q); (i < j && i < k && k <= j) || (i > j && (k > i || k <= j)) {
			continue
		}
		pt.slots[i] = pt.slots[j]
		i = j
	}
	pt.slots[i] = ptrSlot{}
	pt.n--
}

// resize rehashes into size slots.
func (pt *ptrTable) resize(size int) {
	old := pt.slots
	pt.slots = make([]ptrSlot, size)
	bits := 0
	for 1<<bits < size {
		bits++
	}
	pt.shift = uint8(64 - bits)
	pt.n = 0
	for _, s := range old {
		if s.p != nil {
			pt.put(s.p, s.t)
		}
	}
}

// all iterates over the records. Deleting while iterating is not allowed
// (a shifted-back entry could be skipped): collect first.
func (pt *ptrTable) all(yield func(*tracked) bool) {
	for i := range pt.slots {
		if s := pt.slots[i]; s.p != nil && !yield(s.t) {
			return
		}
	}
}

func (pt *ptrTable) clear() { *pt = ptrTable{} }
