package session

import (
	"cmp"
	"slices"
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
// The session's goroutine reads the set freely and changes it under its
// unit of work's mu; other goroutines (another session's Add,
// ObjectSession) read it under mu. A record's held flag is written under
// mu for the same reason: they read it for ranged records.
type heldSet struct {
	m      flatTable[uintptr]
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

func (h *heldSet) len() int { return h.m.len() + h.ranged }

// get returns the record of the object at p, or nil.
func (h *heldSet) get(p unsafe.Pointer) *tracked {
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

// put holds t (with mu held).
func (h *heldSet) put(t *tracked) {
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
	h.m.clear()
	h.ranges, h.ranged = nil, 0
}
