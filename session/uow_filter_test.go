package session

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The filter never forgets an address it was given, and says "maybe" for
// few that it was not: Add looks those up exactly, and a flush scans the
// queue for them, so the rate is what the deferred filing costs.
func TestAddrFilterFalsePositives(t *testing.T) {
	var f addrFilter
	const n = 100_000
	base := uintptr(0xc000100000)
	f.reset(0)
	for i := range n {
		if f.full() {
			f.reset(i) // as heldSet.remember does, here without re-adding: only the last part counts
			for j := range i {
				f.add(base + uintptr(j)*80)
			}
		}
		f.add(base + uintptr(i)*80) // 80-byte objects side by side, as Go's heap lays them out
	}
	for i := range n {
		require.True(t, f.mayHold(base+uintptr(i)*80), "address %d was added", i)
	}
	fp := 0
	for i := range n {
		if f.mayHold(base + uintptr(i)*80 + 40) { // between the added ones
			fp++
		}
		if f.mayHold(base + 1<<32 + uintptr(i)*48) { // elsewhere
			fp++
		}
	}
	rate := float64(fp) / (2 * n)
	t.Logf("false positives: %.2f%%", 100*rate)
	assert.Less(t, rate, 0.04)

	f.clear()
	assert.False(t, f.mayHold(base), "an empty filter holds nothing")
}

// The queue keeps Add's records as runs of neighbouring records, one run a
// chunk, and lists only those still marked queued, in order.
func TestRecordQueueRuns(t *testing.T) {
	a, b := make([]tracked, 8), make([]tracked, 8)
	var q recordQueue
	push := func(c []tracked, i int) {
		c[i].set(fQueued, true)
		c[i].seq = uint64(len(q.runs)*100 + i)
		q.push(c, i)
	}
	push(a, 0)
	push(a, 1)
	push(a, 3) // a[2] was an Add's repeat: inside the run, not queued
	push(b, 0)
	push(b, 1)
	push(a, 5) // back to a: a run of its own
	assert.Len(t, q.runs, 3)
	assert.Equal(t, 6, q.len())

	var got []*tracked
	for r := range q.all {
		got = append(got, r)
	}
	want := []*tracked{&a[0], &a[1], &a[3], &b[0], &b[1], &a[5]}
	require.Len(t, got, len(want))
	for i := range want {
		assert.Same(t, want[i], got[i], "record %d", i)
	}

	b[0].set(fQueued, false) // filed since
	n := 0
	for r := range q.all {
		assert.NotEqual(t, unsafe.Pointer(&b[0]), unsafe.Pointer(r))
		n++
	}
	assert.Equal(t, 5, n)
	q.reset()
	assert.Zero(t, q.len())
	for range q.all {
		t.Fatal("a reset queue lists nothing")
	}
}
