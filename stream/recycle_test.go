package stream_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/session"
	"github.com/streamcat/streamcat/stream"
)

// Batches of 7 rows, so the producer reuses blocks many times over; values
// kept by the reader must not change when their block is refilled.
var small = session.StreamOptions{Options: stream.Options{FixedBatch: 7, Buffer: 1}}

const texts = "select g, 'row ' || g as name from generate_series(1, 500) g"

func TestRecycle_KeptValuesStayIntact(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	s := session.NewMaker(pool).New()

	st, err := s.Stream(ctx, texts, small)
	require.NoError(t, err)
	type rec struct {
		G    int32
		Name string
	}
	var kept []rec
	for r, err := range buffered.Structs[rec](st).Rows() {
		require.NoError(t, err)
		kept = append(kept, r)
	}
	require.Len(t, kept, 500)
	for i, r := range kept {
		assert.Equal(t, fmt.Sprintf("row %d", i+1), r.Name)
	}

	st, err = s.Stream(ctx, texts, small)
	require.NoError(t, err)
	rows := st.All()
	require.Len(t, rows, 500)
	assert.Equal(t, "row 1", rows[0].At(1))
	assert.Equal(t, "row 500", rows[499].At(1))
}

func TestRecycle_RawFetchManyReturnsCopies(t *testing.T) {
	pool := newPool(t)
	st, err := session.NewMaker(pool).New().Stream(context.Background(), texts, small)
	require.NoError(t, err)
	defer st.Close()
	raw := buffered.Raw(st)
	first := raw.FetchMany(100) // spans 15 blocks, most refilled since
	require.NoError(t, raw.Err())
	_ = raw.FetchMany(100)
	for i, vals := range first {
		assert.Equal(t, fmt.Sprintf("row %d", i+1), string(vals[1]))
	}
}

func TestRecycle_FreezeKeepsItsBlocks(t *testing.T) {
	pool := newPool(t)
	st, err := session.NewMaker(pool).New().Stream(context.Background(), texts, small)
	require.NoError(t, err)
	_ = st.FetchMany(10)
	f, err := st.Freeze()
	require.NoError(t, err)
	for range 2 {
		names := buffered.ScalarsOf[string](f.Result().Columns("name")).All()
		require.Len(t, names, 490)
		assert.Equal(t, "row 11", names[0])
		assert.Equal(t, "row 500", names[489])
	}
}

// FetchRawBatch hands out each batch of the stream in turn, in both ways of
// reading (inline and through the producer goroutine); the rows come in
// order, whole, while the blocks are recycled under them.
func TestRecycle_FetchRawBatchReadsEveryBatch(t *testing.T) {
	pool := newPool(t)
	for _, prefetch := range []stream.Prefetch{stream.PrefetchNever, stream.PrefetchAlways} {
		opts := small
		opts.Prefetch = prefetch
		st, err := session.NewMaker(pool).New().Stream(context.Background(),
			"select g::text, 'row ' || g as name from generate_series(1, 500) g", opts)
		require.NoError(t, err)
		raw := buffered.Raw(st)
		var vals [][]byte
		n, batches := 0, 0
		for {
			b, ok := raw.FetchRawBatch()
			if !ok {
				break
			}
			batches++
			assert.LessOrEqual(t, b.Len(), 7, "at most a batch")
			for i := range b.Len() {
				n++
				vals = b.Row(i, vals)
				assert.Equal(t, fmt.Sprint(n), string(vals[0]))
				assert.Equal(t, fmt.Sprintf("row %d", n), string(vals[1]))
			}
		}
		require.NoError(t, raw.Err())
		assert.Equal(t, 500, n, "prefetch %d", prefetch)
		assert.GreaterOrEqual(t, batches, 500/7, "prefetch %d", prefetch)
	}
}
