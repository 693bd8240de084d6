package session

import (
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestPtrTable_AgreesWithAMap runs random puts, deletes and lookups on a
// ptrTable and on a Go map side by side: the table's backward-shift
// deletion and its growth must lose nothing and find nothing extra.
func TestPtrTable_AgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	objs := make([]int64, 5000) // the addresses: consecutive, as objects often are
	recs := make([]tracked, len(objs))
	var pt ptrTable
	model := map[unsafe.Pointer]*tracked{}
	for step := range 200_000 {
		i := rng.IntN(len(objs))
		p := unsafe.Pointer(&objs[i])
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
		if step%20_000 == 0 {
			for j := range objs {
				q := unsafe.Pointer(&objs[j])
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
	require.Nil(t, pt.get(unsafe.Pointer(&objs[0])))
}
