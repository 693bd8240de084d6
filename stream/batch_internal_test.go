package stream

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/testdb"
)

// batches opens a stream on its own connection and returns the sizes of the
// batches the producer sent.
func batches(t *testing.T, sql string, opts Options) []int {
	pool := testdb.Pool(t)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	res, err := Open(ctx, func(ctx context.Context) (pgx.Rows, error) { return conn.Query(ctx, sql) },
		opts, func(error, bool) { conn.Release() })
	require.NoError(t, err)
	defer res.Close()
	var sizes []int
	for {
		// FetchAvailable takes the rest of the block at hand: one batch
		b, err := res.FetchAvailable(1 << 30)
		require.NoError(t, err)
		if len(b) == 0 {
			return sizes
		}
		sizes = append(sizes, len(b))
	}
}

func TestProducer_BatchesGrowThenCap(t *testing.T) {
	sizes := batches(t, "select generate_series(1, 3000)", Options{})
	assert.Equal(t, []int{1, 5, 25, 125, 625, 1000, 1000, 219}, sizes)
}

func TestProducer_MaxBatchBytesCutsWideBatches(t *testing.T) {
	// 1000-byte rows, batches cut once they hold 10,000 bytes
	sizes := batches(t, "select repeat('x', 1000) from generate_series(1, 100)", Options{FixedBatch: 50, MaxBatchBytes: 10000})
	assert.Equal(t, []int{10, 10, 10, 10, 10, 10, 10, 10, 10, 10}, sizes)
}
