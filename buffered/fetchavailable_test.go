package buffered_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/testdb"
)

func TestFetchAvailable_StopsAtTheRowsAtHand(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select generate_series(1, 3000)")
	first, err := res.FetchAvailable(5000)
	require.NoError(t, err)
	assert.Len(t, first, 1024, "the first block, not a wait for more")
	small, err := res.FetchAvailable(10)
	require.NoError(t, err)
	assert.Len(t, small, 10)
	assert.Equal(t, int32(1034), small[9].At(0))
	rest := res.All()
	assert.Len(t, rest, 3000-1034)
	end, err := res.FetchAvailable(10)
	require.NoError(t, err)
	assert.Empty(t, end, "exhausted")
	_, err = res.FetchAvailable(0)
	require.Error(t, err)
}
