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
	// runs: integer keys that differ only in their low bits share a run of
	// 1<<runBits slots (see home); set on the first resize, from K
	runs  bool
	tuned bool
}

// runBits is the log2 of how many consecutive integer keys share a run of
// slots: 16 keys, four cache lines.
const runBits = 4

type flatSlot[K ~int64 | ~uintptr] struct {
	k K
	t *tracked // nil: the slot is empty (0 is a valid key)
}

// home is k's first slot: Fibonacci hashing, which spreads aligned
// addresses and consecutive integers alike, then the hash's high bits
// scaled to the table's length (Lemire's fastrange, no division).
//
// Integer keys hash their block of 16 (k>>4) and keep their place in it:
// the keys a session files one after another mostly count up (identity
// and serial columns), and hashed one by one each put of 100,000 fresh
// keys is a cache miss (and a TLB miss) of its own, 150 ns in a COPY
// flush's profile; with runs, 16 consecutive keys share four cache lines.
// A block holds at most 16 distinct keys, so a run never overflows on its
// own; keys far apart (random, strided) still land in random places.
// Addresses are hashed one by one: a heap block of small objects could put
// more objects in a block than it has slots.
func (ft *flatTable[K]) home(k K) int {
	if !ft.runs {
		hi, _ := bits.Mul64(uint64(k)*0x9E3779B97F4A7C15, uint64(len(ft.slots)))
		return int(hi)
	}
	hi, _ := bits.Mul64((uint64(k)>>runBits)*0x9E3779B97F4A7C15, uint64(len(ft.slots)))
	i := int(hi) + int(uint64(k)&(1<<runBits-1))
	if i >= len(ft.slots) { // len >= 16 (see resize): one wrap at most
		i -= len(ft.slots)
	}
	return i
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

// putNew files t under k unless k is there already, in which case it
// returns the record filed under k and changes nothing: one probe where a
// get and a put would make two (the get's miss is the insert's slot).
func (ft *flatTable[K]) putNew(k K, t *tracked) *tracked {
	s, found := ft.slot(k)
	if found {
		return s.t
	}
	s.t = t
	return nil
}

// put files t under k (replacing what was there).
func (ft *flatTable[K]) put(k K, t *tracked) {
	s, _ := ft.slot(k)
	s.t = t
}

// slot returns k's slot and whether k was there; a new slot has k set and
// counts, and the caller must set its record.
func (ft *flatTable[K]) slot(k K) (_ *flatSlot[K], found bool) {
	if (ft.n+1)*4 > len(ft.slots)*3 { // at most three quarters full
		ft.resize(max(16, 2*len(ft.slots)))
	}
	for i := ft.home(k); ; i = ft.next(i) {
		s := &ft.slots[i]
		if s.t == nil {
			s.k = k
			ft.n++
			return s, false
		}
		if s.k == k {
			return s, true
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
	if !ft.tuned {
		_, addr := any(*new(K)).(uintptr)
		ft.runs, ft.tuned = !addr, true
	}
	old := ft.slots
	ft.slots = make([]flatSlot[K], max(size, 1<<runBits))
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

func (ft *flatTable[K]) clear() { *ft = flatTable[K]{runs: ft.runs, tuned: ft.tuned} }
