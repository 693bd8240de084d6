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

// Every way out, taken on the first row after an inline stream handed
// reading over to its goroutine (the goroutine has just started, or is
// starting): the goroutine ends, the rows are not drained (a million are
// asked for), and the connection goes back; goleak checks the goroutines
// when the package's tests end.
func TestStream_ExitRightAfterHandOver(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one core: a stream never hands over (TestProducer_HandOverDue covers the rule)")
	}
	for _, exit := range []string{"break", "Close", "context", "Interrupt"} {
		t.Run(exit, func(t *testing.T) {
			var handed atomic.Int32
			onHandOver = func() { handed.Add(1) }
			defer func() { onHandOver = nil }()
			pool := testdb.Pool(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			conn, err := pool.Acquire(ctx)
			require.NoError(t, err)
			var released atomic.Int32
			res, err := Open(ctx, func(ctx context.Context) (pgx.Rows, error) {
				return conn.Query(ctx, "select g from generate_series(1, 1000000) g")
			}, Options{}, func(error, bool) { released.Add(1); conn.Release() })
			require.NoError(t, err)
			defer res.Close()
			n, stopped := 0, false
			for _, err := range buffered.ScalarsOf[int32](res).Rows() {
				if err != nil {
					require.True(t, stopped, "an error only after the exit: %v", err)
					if exit == "context" {
						assert.ErrorIs(t, err, context.Canceled)
					} else {
						assert.ErrorIs(t, err, ErrInterrupted)
					}
					break
				}
				n++
				if stopped {
					continue // rows already sent may still come
				}
				if handed.Load() == 0 {
					require.Less(t, n, 100_000, "never handed over")
					// slower than the wire until it hands over (a spin: a
					// Sleep this short takes a millisecond)
					for start := time.Now(); time.Since(start) < 20*time.Microsecond; {
					}
					continue
				}
				stopped = true
				switch exit {
				case "Close":
					res.Close()
				case "context":
					cancel()
				case "Interrupt":
					res.Interrupt()
				}
				if exit == "break" || exit == "Close" {
					break
				}
			}
			res.Close()
			assert.Less(t, n, 1_000_000, "not drained")
			assert.Equal(t, int32(1), released.Load(), "the connection went back once")
			testdb.AssertNoAcquired(t, pool)
		})
	}
}
