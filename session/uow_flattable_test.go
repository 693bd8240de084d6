package session

import (
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestFlatTable_AgreesWithAMap runs random puts, deletes and lookups on a
// flatTable and on a Go map side by side: the table's backward-shift
// deletion and its growth must lose nothing and find nothing extra.
func TestFlatTable_AgreesWithAMap(t *testing.T) {
	t.Run("addresses", func(t *testing.T) {
		objs := make([]int64, 5000) // consecutive addresses, as objects often have
		agree(t, func(i int) uintptr { return uintptr(unsafe.Pointer(&objs[i])) }, len(objs))
	})
	t.Run("integer keys", func(t *testing.T) {
		agree(t, func(i int) int64 { return int64(i) - 100 }, 5000) // 0 and negatives too
	})
	t.Run("strided integer keys", func(t *testing.T) {
		agree(t, func(i int) int64 { return int64(i)*16 + 3 }, 5000) // one key per run
	})
	t.Run("random integer keys", func(t *testing.T) {
		keys := make([]int64, 5000)
		rng := rand.New(rand.NewPCG(3, 4))
		for i := range keys {
			keys[i] = int64(rng.Uint64())
		}
		agree(t, func(i int) int64 { return keys[i] }, len(keys))
	})
}

func agree[K ~int64 | ~uintptr](t *testing.T, key func(int) K, n int) {
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]tracked, n)
	var pt flatTable[K]
	model := map[K]*tracked{}
	for step := range 40_000 {
		i := rng.IntN(n)
		p := key(i)
		switch rng.IntN(3) {
		case 0:
			pt.put(p, &recs[i])
			model[p] = &recs[i]
		case 1:
			pt.del(p)
			delete(model, p)
		}
		require.Equal(t, model[p], pt.get(p), "step %d", step)
		require.Equal(t, len(model), pt.len(), "step %d", step)
		if step%10_000 == 0 {
			for j := range n {
				q := key(j)
				require.Equal(t, model[q], pt.get(q), "step %d, object %d", step, j)
			}
			n := 0
			for range pt.all {
				n++
			}
			require.Equal(t, len(model), n)
		}
	}
	pt.clear()
	require.Zero(t, pt.len())
	require.Nil(t, pt.get(key(0)))
	pt.reserve(10_000)
	pt.put(key(1), &recs[1])
	require.Same(t, &recs[1], pt.get(key(1)))
	require.Nil(t, pt.get(key(2)))
}
