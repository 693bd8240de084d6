package stream

import (
	"bytes"
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// Issue 14 item 10: a row larger than pgx's largest pooled buffer reaches
// the reader in pgx's own memory, not in a copy; and that memory stays the
// block's after the producer reads on (pgx does not reuse it).
func TestProducer_HugeRowIsNotCopied(t *testing.T) {
	t.Run("inline", func(t *testing.T) { hugeRowIsNotCopied(t, false) })
	t.Run("goroutine", func(t *testing.T) { hugeRowIsNotCopied(t, true) })
}

func hugeRowIsNotCopied(t *testing.T, goroutine bool) {
	const size = 33 << 20 // just past borrowRowBytes
	pool := testdb.Pool(t)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	rows, err := conn.Query(ctx, "select repeat(chr(96 + g), $1) from generate_series(1, 2) g union all select 'tail'", size)
	require.NoError(t, err)
	p := newProducer(ctx, rows, Options{}.withDefaults(), func(error, bool) { conn.Release() })
	var wg sync.WaitGroup
	before := totalAlloc()
	if goroutine {
		p.async = true // the test runs the producer goroutine itself
		wg.Go(p.run)
	}
	defer wg.Wait()
	defer p.Close()

	first, err := p.Next()
	require.NoError(t, err)
	require.Equal(t, 1, first.Len())
	second, err := p.Next() // the producer has read past the first row
	require.NoError(t, err)
	require.Equal(t, 1, second.Len())
	tail, err := p.Next()
	require.NoError(t, err)
	allocated := totalAlloc() - before
	t.Logf("allocated while streaming: %d MiB", allocated>>20)
	// pgx reads each huge row into a buffer of its own: 2 x 33 MiB; a copy
	// would double it
	assert.Less(t, allocated, uint64(2*size)*3/2, "the rows were read once (pgx's buffers), not copied: %d MiB allocated", allocated>>20)
	assert.True(t, bytes.Equal(first.Value(0, 0), bytes.Repeat([]byte{'a'}, size)), "the first row's memory was not reused")
	assert.True(t, bytes.Equal(second.Value(0, 0), bytes.Repeat([]byte{'b'}, size)))
	assert.Equal(t, []byte("tail"), tail.Value(0, 0))
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC() // a second cycle empties sync.Pool's victim cache (pgx's buffers)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// Issue 14 item 10: after a row larger than a batch, neither the stream
// (which reuses its blocks) nor the connection keeps the row's memory.
func TestStream_HugeRowMemoryIsNotKept(t *testing.T) {
	const size = 24 << 20 // larger than a batch (4 MiB), copied
	pool := testdb.Pool(t)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	base := heapInUse()
	res, err := Open(ctx, func(ctx context.Context) (pgx.Rows, error) {
		return conn.Query(ctx, "select repeat('x', $1) union all select 'y'", size)
	}, Options{}, func(error, bool) { conn.Release() })
	require.NoError(t, err)
	defer res.Close()
	n := 0
	for _, err := range buffered.Raw(res).Rows() { // raw: no decoded copy in the test's hands
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 2, n)
	kept := heapInUse() - base
	assert.Less(t, kept, int64(size/2), "%d MiB still in use after the huge row, with the Result still referenced", kept>>20)
	runtime.KeepAlive(res)
}
