package buffered_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/streamcat/streamcat/internal/testdb"
)

func TestReady_TrueWithinABlockFalseAtItsEnd(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select generate_series(1, 3000)")
	assert.False(t, res.Ready(), "nothing read yet: no block at hand")
	_, ok := res.FetchOne()
	assert.True(t, ok)
	assert.True(t, res.Ready(), "the rest of the first block is at hand")
	first, err := res.FetchAvailable(5000) // the rest of the first block
	assert.NoError(t, err)
	assert.Len(t, first, 1023)
	assert.False(t, res.Ready(), "the next row is in the next block")
	res.All()
	assert.False(t, res.Ready(), "exhausted")
}
