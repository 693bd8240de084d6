package session

import "math/bits"

// addrFilter is a Bloom filter over the addresses of the objects a session
// files by address (heldSet.m and heldSet.queue): it answers "surely not
// held" for most addresses a session does not hold, from a bit array of
// about two bytes an address, which stays in the processor's cache where
// the table of 16-byte slots does not.
//
// That is what lets Add leave the filing of a new object for later (see
// heldSet.addLocked): an address the filter has never seen is not held, so
// Add need not look it up in the table, and a flush can file its objects
// while the server inserts their rows.
//
// Blocked: both bits of an address lie in one 64-bit word, one cache line
// a lookup. With 16 bits an address 2-3% of the addresses not held
// answer "maybe" (measured in TestAddrFilterFalsePositives); those are
// checked exactly. Addresses are never taken out (a session lets objects
// go); the filter is rebuilt from the held set when it has taken twice as
// many addresses as it was sized for, which drops the ones let go.
type addrFilter struct {
	words []uint64
	shift uint8 // 64 - log2(len(words))
	n     int   // addresses added since the last rebuild
}

// filterBitsPer is the filter's size in bits an address.
const filterBitsPer = 16

func (f *addrFilter) hash(p uintptr) (word int, mask uint64) {
	h := uint64(p) * 0x9E3779B97F4A7C15
	word = int(h >> f.shift)
	mask = 1<<(h&63) | 1<<((h>>6)&63)
	return word, mask
}

// mayHold reports whether p may have been added: false means it surely
// was not.
func (f *addrFilter) mayHold(p uintptr) bool {
	if f.n == 0 {
		return false
	}
	w, m := f.hash(p)
	return f.words[w]&m == m
}

// full reports whether the filter needs a rebuild before one more add.
func (f *addrFilter) full() bool { return f.n >= len(f.words)*64/filterBitsPer }

// add records p; the caller rebuilds first when full says so.
func (f *addrFilter) add(p uintptr) {
	w, m := f.hash(p)
	f.words[w] |= m
	f.n++
}

// reset sizes the filter for n addresses and empties it.
func (f *addrFilter) reset(n int) {
	want := max(n, 512) * 2 * filterBitsPer / 64 // room to double before the next rebuild
	size := 1 << bits.Len(uint(want-1))
	if len(f.words) == size {
		clear(f.words)
	} else {
		f.words = make([]uint64, size)
	}
	f.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	f.n = 0
}

// clear forgets every address and the memory.
func (f *addrFilter) clear() { *f = addrFilter{} }
