package pipe_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/pipe"
	"github.com/streamcat/streamcat/session"
	"github.com/streamcat/streamcat/stream"
)

// plChunk is the pipe's largest chunk (pipe.maxChunk).
const plChunk = 256

// plBig is 10M rows streamed from the first one (an SRF in the select list
// is not materialized); %s is a marker to find the query in pg_stat_activity.
const plBig = "select /* %s */ g from (select generate_series(1, 10000000)::int8 as g) s"

var errBoom = errors.New("boom")

// plSetup returns a pool for one test. Cleanups run last-in first-out: the
// pool's (all connections back, then closed) runs before the goroutine
// check registered here, which ignores the goroutines that existed before.
func plSetup(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return plSetupConns(t, 2)
}

// plSetupConns is plSetup with a pool of n connections.
func plSetupConns(t *testing.T, n int32) *pgxpool.Pool {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	cfg, err := session.PoolConfig(testdb.DSN())
	require.NoError(t, err)
	cfg.MaxConns = n
	return testdb.PoolWithConfig(t, cfg)
}

func plStream(t *testing.T, pool *pgxpool.Pool, ctx context.Context, sql string) *stream.Result {
	t.Helper()
	res, err := session.NewMaker(pool).New().Stream(ctx, sql)
	require.NoError(t, err)
	return res
}

// plInts is a pipe over the first column of sql, as int64.
func plInts(t *testing.T, pool *pgxpool.Pool, ctx context.Context, sql string) *pipe.Pipe[int64] {
	t.Helper()
	return pipe.From(ctx, buffered.ScalarsOf[int64](plStream(t, pool, ctx, sql)))
}

// plGone waits until no active query carries marker, asked on a connection
// of its own. It polls: the server notices a cancel request a moment later.
func plGone(t *testing.T, marker string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testdb.DSN())
	require.NoError(t, err)
	defer conn.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		require.NoError(t, conn.QueryRow(ctx,
			"select count(*) from pg_stat_activity where state = 'active' and query like '%'||$1||'%' and pid <> pg_backend_pid()",
			marker).Scan(&n))
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the query marked %q is still running", marker)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// plUsable checks that the pool serves a query after the pipe.
func plUsable(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	var one int
	require.NoError(t, pool.QueryRow(context.Background(), "select 1").Scan(&one))
	testdb.AssertNoAcquired(t, pool)
}

// plCollect reads p's rows until the first error.
func plCollect[T any](p *pipe.Pipe[T]) ([]T, error) {
	var out []T
	for x, err := range p.Rows() {
		if err != nil {
			return out, err
		}
		out = append(out, x)
	}
	return out, nil
}

// jitter makes some calls slow so that workers finish out of order.
func jitter(g int64) {
	if g%997 == 0 {
		time.Sleep(300 * time.Microsecond)
	}
}

func TestPipe_MatchesSequential(t *testing.T) {
	pool := plSetup(t)
	ctx := context.Background()
	const n = 100000
	const sql = "select g::int8 from generate_series(1, 100000) g"

	keep := func(g int64) (bool, error) { return g%3 != 0, nil }
	double := func(g int64) (int64, error) { return 2 * g, nil }
	square := func(_ context.Context, g int64) (string, error) {
		jitter(g)
		return strconv.FormatInt(g*g, 10), nil
	}
	var want []string
	for g := int64(1); g <= n; g++ {
		if ok, _ := keep(g); ok {
			d, _ := double(g)
			s, _ := square(ctx, d)
			want = append(want, s+"!")
		}
	}
	exclaim := func(s string) (string, error) { return s + "!", nil }

	t.Run("Map and Filter", func(t *testing.T) {
		p := plInts(t, pool, ctx, sql)
		got, err := plCollect(pipe.Map(pipe.Map(pipe.Filter(p, keep), func(g int64) (string, error) {
			d, _ := double(g)
			return square(ctx, d)
		}), exclaim))
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.NoError(t, p.Err())
		testdb.AssertNoAcquired(t, pool)
	})
	for _, workers := range []int{1, 2, 8} {
		t.Run(fmt.Sprintf("ParallelMap workers=%d", workers), func(t *testing.T) {
			p := pipe.Map(pipe.Filter(plInts(t, pool, ctx, sql), keep), double)
			sq := pipe.ParallelMap(p, workers, square)
			got, err := plCollect(pipe.Map(sq, exclaim))
			require.NoError(t, err)
			require.Equal(t, want, got, "same rows in the same order")
			testdb.AssertNoAcquired(t, pool)
		})
	}
	t.Run("two ParallelMaps and All", func(t *testing.T) {
		p := pipe.Map(pipe.Filter(plInts(t, pool, ctx, sql), keep), double)
		sq := pipe.ParallelMap(p, 3, square)
		ex := pipe.ParallelMap(sq, 5, func(_ context.Context, s string) (string, error) { return exclaim(s) })
		got, err := ex.All()
		require.NoError(t, err)
		require.Equal(t, want, got)
		again, err := ex.All()
		require.NoError(t, err)
		require.Empty(t, again, "an exhausted pipe yields nothing more")
	})
	t.Run("Chunks", func(t *testing.T) {
		p := pipe.ParallelMap(plInts(t, pool, ctx, sql), 4, func(_ context.Context, g int64) (int64, error) { return g, nil })
		next := int64(1)
		for b, err := range p.Chunks() {
			require.NoError(t, err)
			require.NotEmpty(t, b)
			require.LessOrEqual(t, len(b), plChunk)
			for _, g := range b {
				require.Equal(t, next, g)
				next++
			}
		}
		require.Equal(t, int64(n+1), next)
	})
	t.Run("buffered source", func(t *testing.T) {
		res, err := session.NewMaker(pool).New().Execute(ctx, sql)
		require.NoError(t, err)
		p := pipe.From(ctx, res.Scalars())
		got, err := pipe.ParallelMap(p, 4, func(_ context.Context, v any) (int64, error) { return v.(int64), nil }).All()
		require.NoError(t, err)
		require.Len(t, got, n)
		require.Equal(t, int64(n), got[n-1])
		require.True(t, res.Closed(), "the pipe closes its source")
	})
}

// stages builds, over a pipe of 1..N, a pipe that fails (by fail) at row
// at, with each kind of stage.
func stages(fail func(g int64) error) map[string]func(*pipe.Pipe[int64]) *pipe.Pipe[int64] {
	return map[string]func(*pipe.Pipe[int64]) *pipe.Pipe[int64]{
		"Map": func(p *pipe.Pipe[int64]) *pipe.Pipe[int64] {
			return pipe.Map(p, func(g int64) (int64, error) { return g, fail(g) })
		},
		"Filter": func(p *pipe.Pipe[int64]) *pipe.Pipe[int64] {
			return pipe.Filter(p, func(g int64) (bool, error) { return true, fail(g) })
		},
		"ParallelMap": func(p *pipe.Pipe[int64]) *pipe.Pipe[int64] {
			return pipe.ParallelMap(p, 4, func(_ context.Context, g int64) (int64, error) {
				jitter(g)
				return g, fail(g)
			})
		},
		"ParallelMap then Map": func(p *pipe.Pipe[int64]) *pipe.Pipe[int64] {
			q := pipe.ParallelMap(p, 4, func(_ context.Context, g int64) (int64, error) { return g, nil })
			return pipe.Map(q, func(g int64) (int64, error) { return g, fail(g) })
		},
		"Map then ParallelMap": func(p *pipe.Pipe[int64]) *pipe.Pipe[int64] {
			q := pipe.Map(p, func(g int64) (int64, error) { return g, fail(g) })
			return pipe.ParallelMap(q, 4, func(_ context.Context, g int64) (int64, error) { return g, nil })
		},
	}
}

// checkFailure reads p and expects rows 1..at-1, in order, then an error
// matched by check; then that the query is gone and the pool is whole.
func checkFailure(t *testing.T, pool *pgxpool.Pool, p *pipe.Pipe[int64], at int64, marker string, check func(error)) {
	t.Helper()
	got, err := plCollect(p)
	require.Error(t, err)
	check(err)
	require.Len(t, got, int(at-1), "every row before the failing one arrives")
	for i, g := range got {
		require.Equal(t, int64(i+1), g)
	}
	require.Equal(t, err, p.Err())
	plGone(t, marker)
	plUsable(t, pool)
	again, err2 := plCollect(p)
	require.Empty(t, again)
	require.Equal(t, err, err2, "a failed pipe fails again")
}

func TestPipe_StageError(t *testing.T) {
	pool := plSetup(t)
	const at = 50001
	fail := func(g int64) error {
		if g == at {
			return fmt.Errorf("row %d: %w", g, errBoom)
		}
		return nil
	}
	for name, build := range stages(fail) {
		t.Run(name, func(t *testing.T) {
			marker := "pl-error-" + name
			p := build(plInts(t, pool, context.Background(), fmt.Sprintf(plBig, marker)))
			checkFailure(t, pool, p, at, marker, func(err error) {
				require.ErrorIs(t, err, errBoom)
			})
		})
	}
}

func TestPipe_StagePanic(t *testing.T) {
	pool := plSetup(t)
	const at = 30000
	fail := func(g int64) error {
		if g == at {
			panic(fmt.Sprintf("bad row %d", g))
		}
		return nil
	}
	for name, build := range stages(fail) {
		t.Run(name, func(t *testing.T) {
			marker := "pl-panic-" + name
			p := build(plInts(t, pool, context.Background(), fmt.Sprintf(plBig, marker)))
			checkFailure(t, pool, p, at, marker, func(err error) {
				var pe *pipe.PanicError
				require.ErrorAs(t, err, &pe)
				require.Equal(t, "bad row 30000", pe.Value)
				require.Contains(t, string(pe.Stack), "pipe_test.go", "the stack of the panic")
			})
		})
	}
}

func TestPipe_PanicWithError(t *testing.T) {
	pool := plSetup(t)
	p := pipe.ParallelMap(plInts(t, pool, context.Background(), "select 1::int8"), 2,
		func(context.Context, int64) (int64, error) { panic(errBoom) })
	_, err := p.All()
	require.ErrorIs(t, err, errBoom, "PanicError unwraps an error value")
}

func TestPipe_SourceError(t *testing.T) {
	pool := plSetup(t)
	const sql = "select case when g = 50000 then g / (g - g) else g end::int8 from generate_series(1, 100000) g"
	for name, build := range stages(func(int64) error { return nil }) {
		t.Run(name, func(t *testing.T) {
			p := build(plInts(t, pool, context.Background(), sql))
			checkFailure(t, pool, p, 50000, "pl-none", func(err error) {
				var pg *pgconn.PgError
				require.ErrorAs(t, err, &pg)
				require.Equal(t, "22012", pg.Code, "division by zero")
			})
		})
	}
}

func TestPipe_BreakDoesNotDrain(t *testing.T) {
	pool := plSetup(t)
	for name, build := range stages(func(int64) error { return nil }) {
		t.Run(name, func(t *testing.T) {
			marker := "pl-break-" + name
			p := build(plInts(t, pool, context.Background(), fmt.Sprintf(plBig, marker)))
			n := 0
			for g, err := range p.Rows() {
				require.NoError(t, err)
				n++
				require.Equal(t, int64(n), g)
				if n == 10 {
					break
				}
			}
			require.NoError(t, p.Err(), "a break is not an error")
			plGone(t, marker)
			plUsable(t, pool)
			_, err := p.All()
			require.ErrorIs(t, err, buffered.ErrClosed, "a pipe left early is closed")
		})
	}
}

func TestPipe_ConsumerPanic(t *testing.T) {
	pool := plSetup(t)
	for name, build := range stages(func(int64) error { return nil }) {
		t.Run(name, func(t *testing.T) {
			marker := "pl-consumer-panic-" + name
			p := build(plInts(t, pool, context.Background(), fmt.Sprintf(plBig, marker)))
			recovered := func() (r any) {
				defer func() { r = recover() }()
				for g, err := range p.Rows() {
					require.NoError(t, err)
					if g == 10 {
						panic("consumer")
					}
				}
				return nil
			}()
			require.Equal(t, "consumer", recovered, "the consumer's panic goes on, after the cleanup")
			plGone(t, marker)
			plUsable(t, pool)
		})
	}
}

func TestPipe_ContextCancelled(t *testing.T) {
	pool := plSetup(t)
	for name, build := range stages(func(int64) error { return nil }) {
		for _, shared := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/stream ctx cancelled too=%v", name, shared), func(t *testing.T) {
				marker := fmt.Sprintf("pl-cancel-%s-%v", name, shared)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				streamCtx := context.Background()
				if shared {
					streamCtx = ctx
				}
				res := plStream(t, pool, streamCtx, fmt.Sprintf(plBig, marker))
				p := build(pipe.From(ctx, buffered.ScalarsOf[int64](res)))
				n := 0
				var got error
				for g, err := range p.Rows() {
					if err != nil {
						got = err
						break
					}
					n++
					require.Equal(t, int64(n), g)
					if n == 5000 {
						cancel()
					}
				}
				require.ErrorIs(t, got, context.Canceled)
				require.ErrorIs(t, p.Err(), context.Canceled)
				require.GreaterOrEqual(t, n, 5000)
				require.Less(t, n, 10000000)
				plGone(t, marker)
				plUsable(t, pool)
			})
		}
	}
}

func TestPipe_Backpressure(t *testing.T) {
	pool := plSetup(t)
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			marker := fmt.Sprintf("pl-backpressure-%d", workers)
			var pulled, mapped atomic.Int64
			p := pipe.Map(plInts(t, pool, context.Background(), fmt.Sprintf(plBig, marker)),
				func(g int64) (int64, error) { pulled.Add(1); return g, nil })
			q := pipe.ParallelMap(p, workers, func(_ context.Context, g int64) (int64, error) {
				mapped.Add(1)
				return g, nil
			})
			// ParallelMap's documented bound: workers+2 chunks read (and
			// mapped or being mapped) ahead of the consumer, plus the one
			// being read; a chunk is pulled by the worker that maps it.
			mappedBound := int64(workers+3) * plChunk
			pulledBound := mappedBound
			var consumed, maxAhead int64
			for g, err := range q.Rows() {
				require.NoError(t, err)
				consumed++
				require.Equal(t, consumed, g)
				ahead := mapped.Load() - (consumed - 1)
				maxAhead = max(maxAhead, ahead)
				require.LessOrEqual(t, ahead, mappedBound, "mapped ahead of the consumer at row %d", consumed)
				require.LessOrEqual(t, pulled.Load()-(consumed-1), pulledBound, "pulled from the source ahead of the consumer at row %d", consumed)
				if consumed%64 == 0 {
					time.Sleep(2 * time.Millisecond) // a slow consumer
				}
				if consumed == 20*plChunk {
					break
				}
			}
			t.Logf("at most %d rows mapped ahead (bound %d)", maxAhead, mappedBound)
			require.Greater(t, maxAhead, int64(plChunk), "the workers did run ahead of the consumer")
			plGone(t, marker)
			plUsable(t, pool)
		})
	}
}

func TestPipe_WorkersBelowOne(t *testing.T) {
	pool := plSetup(t)
	marker := "pl-workers"
	p := pipe.ParallelMap(plInts(t, pool, context.Background(), fmt.Sprintf(plBig, marker)), 0,
		func(_ context.Context, g int64) (int64, error) { return g, nil })
	got, err := plCollect(p)
	require.Empty(t, got)
	require.ErrorContains(t, err, "workers must be at least 1")
	plGone(t, marker)
	plUsable(t, pool)
}

func TestPipe_Close(t *testing.T) {
	pool := plSetup(t)
	ctx := context.Background()
	id := func(_ context.Context, g int64) (int64, error) { return g, nil }

	t.Run("before reading", func(t *testing.T) {
		marker := "pl-close-before"
		p := pipe.ParallelMap(plInts(t, pool, ctx, fmt.Sprintf(plBig, marker)), 4, id)
		p.Close()
		p.Close() // idempotent
		require.NoError(t, p.Err(), "Close is not an error")
		plGone(t, marker)
		plUsable(t, pool)
		_, err := p.All()
		require.ErrorIs(t, err, buffered.ErrClosed)
	})
	t.Run("inside the loop", func(t *testing.T) {
		marker := "pl-close-inside"
		p := pipe.ParallelMap(plInts(t, pool, ctx, fmt.Sprintf(plBig, marker)), 4, id)
		n := 0
		var got error
		for _, err := range p.Rows() {
			if err != nil {
				got = err
				break
			}
			if n++; n == 3 { // inside a chunk
				p.Close()
			}
		}
		require.Equal(t, 3, n, "no row after Close")
		require.ErrorIs(t, got, buffered.ErrClosed)
		plGone(t, marker)
		plUsable(t, pool)
	})
	t.Run("an upstream pipe", func(t *testing.T) {
		marker := "pl-close-upstream"
		p := plInts(t, pool, ctx, fmt.Sprintf(plBig, marker))
		q := pipe.ParallelMap(p, 2, id)
		for range q.Rows() {
			break
		}
		p.Close() // any pipe of the chain; already closed by the break
		q.Close()
		plGone(t, marker)
		plUsable(t, pool)
	})
	t.Run("misuse", func(t *testing.T) {
		p := plInts(t, pool, ctx, "select g::int8 from generate_series(1, 10) g")
		q := pipe.Map(p, func(g int64) (int64, error) { return g, nil })
		_, err := p.All()
		require.ErrorContains(t, err, "feeds a Map stage", "a pipe with a later stage cannot be read")
		r := pipe.Filter(p, func(int64) (bool, error) { return true, nil })
		_, err = r.All()
		require.ErrorContains(t, err, "already feeds a Map stage")
		q.Close()
		plUsable(t, pool)
	})
}
