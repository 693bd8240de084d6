package session

import "math/bits"

// flatTable maps keys to records: an open-addressing table with linear
// probing, in one flat slice. The session uses two: objects by address
// (uintptr; the record's ptr keeps the object alive, and Go's heap does
// not move) and objects by a one-column integer key (int64).
//
// Not Go maps, because a session's hot paths look a key up and then file
// it: Add (by address), a load of rows (by key). In a map of 100,000 or a
// million fresh keys a lookup that misses costs a cache miss or two in the
// control words and the slots (300 ns an Add, and over half of a million-
// row Select's bookkeeping, on this machine), and the insert that follows
// probes again. Here the lookup stops at the first empty slot, which the
// insert then reuses while it is still in the cache.
type flatTable[K ~int64 | ~uintptr] struct {
	slots []flatSlot[K] // any length: a power of two would waste up to half of it
	n     int
}

type flatSlot[K ~int64 | ~uintptr] struct {
	k K
	t *tracked // nil: the slot is empty (0 is a valid key)
}

// home is k's first slot: Fibonacci hashing, which spreads aligned
// addresses and consecutive integers alike, then the hash's high bits
// scaled to the table's length (Lemire's fastrange, no division).
func (ft *flatTable[K]) home(k K) int {
	hi, _ := bits.Mul64(uint64(k)*0x9E3779B97F4A7C15, uint64(len(ft.slots)))
	return int(hi)
}

// next is the slot after i, wrapping.
func (ft *flatTable[K]) next(i int) int {
	if i++; i == len(ft.slots) {
		return 0
	}
	return i
}

func (ft *flatTable[K]) len() int { return ft.n }

// get returns k's record, or nil.
func (ft *flatTable[K]) get(k K) *tracked {
	if ft.n == 0 {
		return nil
	}
	for i := ft.home(k); ; i = ft.next(i) {
		s := &ft.slots[i]
		if s.t == nil {
			return nil
		}
		if s.k == k {
			return s.t
		}
	}
}

// peek reads k's home slot and returns a word of it, for a caller that
// wants the slot in the cache before it looks k up.
func (ft *flatTable[K]) peek(k K) uintptr {
	if len(ft.slots) == 0 {
		return 0
	}
	return uintptr(ft.slots[ft.home(k)].k)
}

// put files t under k (replacing what was there).
func (ft *flatTable[K]) put(k K, t *tracked) {
	if (ft.n+1)*4 > len(ft.slots)*3 { // at most three quarters full
		ft.resize(max(16, 2*len(ft.slots)))
	}
	for i := ft.home(k); ; i = ft.next(i) {
		s := &ft.slots[i]
		if s.t == nil {
			s.k, s.t = k, t
			ft.n++
			return
		}
		if s.k == k {
			s.t = t
			return
		}
	}
}

// del removes k, shifting back the entries that follow it in its run, so
// that no lookup stops early at the hole (no tombstones).
func (ft *flatTable[K]) del(k K) {
	if ft.n == 0 {
		return
	}
	i := ft.home(k)
	for ; ft.slots[i].t == nil || ft.slots[i].k != k; i = ft.next(i) {
		if ft.slots[i].t == nil {
			return
		}
	}
	for j := i; ; {
		j = ft.next(j)
		s := ft.slots[j]
		if s.t == nil {
			break
		}
		// the entry at j may move to the hole at i unless its home lies
		// cyclically in (i, j]
		if h := ft.home(s.k); (i < j && i < h && h <= j) || (i > j && (h > i || h <= j)) {
			continue
		}
		ft.slots[i] = s
		i = j
	}
	ft.slots[i] = flatSlot[K]{}
	ft.n--
}

// reserve makes room for n more entries at once, so that a big load does
// not grow the table step by step.
func (ft *flatTable[K]) reserve(n int) {
	if need := (ft.n + n) * 4 / 3; need > len(ft.slots) {
		ft.resize(max(16, need+1))
	}
}

// grow makes room for n more entries the way puts one by one would: by
// doubling, so that filing batch after batch stays linear.
func (ft *flatTable[K]) grow(n int) {
	if (ft.n+n)*4 > len(ft.slots)*3 {
		ft.resize(max(16, 2*len(ft.slots), (ft.n+n)*4/3+1))
	}
}

// resize rehashes into size slots.
func (ft *flatTable[K]) resize(size int) {
	old := ft.slots
	ft.slots = make([]flatSlot[K], size)
	ft.n = 0
	for _, s := range old {
		if s.t != nil {
			ft.put(s.k, s.t)
		}
	}
}

// all iterates over the records. Deleting while iterating is not allowed
// (a shifted-back entry could be skipped): collect first.
func (ft *flatTable[K]) all(yield func(*tracked) bool) {
	for i := range ft.slots {
		if s := &ft.slots[i]; s.t != nil && !yield(s.t) {
			return
		}
	}
}

func (ft *flatTable[K]) clear() { *ft = flatTable[K]{} }
