package stream

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

// The decision to read ahead: only with Prefetch at its default, only after
// enough rows to judge, only when the reader spent longer on the rows than
// reading them took, and never on one core.
func TestProducer_HandOverDue(t *testing.T) {
	p := &producer{opts: Options{}.withDefaults()}
	p.rowsRead, p.readTime, p.useTime = handOverAfter, time.Second, 2*time.Second
	assert.Equal(t, runtime.GOMAXPROCS(0) > 1, p.handOverDue(), "slower reader")
	p.useTime = time.Second / 2
	assert.False(t, p.handOverDue(), "faster reader: reading stays inline")
	p.useTime, p.rowsRead = 2*time.Second, handOverAfter-1
	assert.False(t, p.handOverDue(), "too few rows to judge")
	p.rowsRead = handOverAfter
	p.opts.Prefetch = PrefetchNever
	assert.False(t, p.handOverDue(), "PrefetchNever")
}

// A reader slower than the wire hands reading to the goroutine midway; the
// rows after the hand-over follow the rows before it, none lost or
// repeated, and the connection goes back at the end.
func TestStream_HandOverMidwayKeepsEveryRow(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one core: a stream never hands over (TestProducer_HandOverDue covers the rule)")
	}
	var handed atomic.Int32
	onHandOver = func() { handed.Add(1) }
	defer func() { onHandOver = nil }()
	pool := testdb.Pool(t)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	const n = 6000
	res, err := Open(ctx, func(ctx context.Context) (pgx.Rows, error) {
		return conn.Query(ctx, "select g from generate_series(1, $1::int4) g", n)
	}, Options{}, func(error, bool) { conn.Release() })
	require.NoError(t, err)
	defer res.Close()
	want := int32(1)
	for v, err := range buffered.ScalarsOf[int32](res).Rows() {
		require.NoError(t, err)
		require.Equal(t, want, v)
		want++
		if handed.Load() == 0 {
			time.Sleep(20 * time.Microsecond) // slower than the wire until it hands over
		}
	}
	assert.Equal(t, int32(n+1), want)
	if handed.Load() == 0 {
		t.Log("this run never handed over (the machine was slower than the reader); the rows were checked inline")
	} else {
		assert.Equal(t, int32(1), handed.Load(), "handed over once")
	}
	testdb.AssertNoAcquired(t, pool)
}
