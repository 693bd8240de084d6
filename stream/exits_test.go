package stream_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/internal/testsupport"
	"github.com/streamcat/streamcat/session"
	"github.com/streamcat/streamcat/stream"
)

// newPool returns a pool with the cancel-request context watcher and at most
// one connection, so "the next query" runs on the connection the stream used.
func newPool(t *testing.T) *pgxpool.Pool {
	cfg, err := session.PoolConfig(testdb.DSN())
	require.NoError(t, err)
	cfg.MaxConns = 1
	return testdb.PoolWithConfig(t, cfg)
}

// queryRunning reports whether a query containing marker is still active.
func queryRunning(t *testing.T, marker string) bool {
	ctx := context.Background()
	conn, err := pgxpool.New(ctx, testdb.DSN())
	require.NoError(t, err)
	defer conn.Close()
	var n int
	require.NoError(t, conn.QueryRow(ctx,
		"select count(*) from pg_stat_activity where state = 'active' and query like '%'||$1||'%' and pid <> pg_backend_pid()",
		marker).Scan(&n))
	return n > 0
}

// eventually polls cond for up to 5 s: the server notices a cancel shortly
// after the client sends it.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// big streams from the first row: an SRF in the select list is not materialized
// (one in FROM would be, before the first row is sent).
const big = "select g, repeat('x', 20) as pad from (select generate_series(1, 10000000) as g) s"

func open(t *testing.T, pool *pgxpool.Pool, ctx context.Context, sql string, args ...any) *stream.Result {
	t.Helper()
	st, err := session.NewMaker(pool).New().Stream(ctx, sql, withPrefetch(args)...)
	require.NoError(t, err)
	return st
}

func TestStream_Drained(t *testing.T) {
	pool := newPool(t)
	st := open(t, pool, context.Background(), "select g from generate_series(1, 100000) g")
	n := 0
	for row, err := range st.Rows() {
		require.NoError(t, err)
		n++
		require.Equal(t, int32(n), row.At(0))
	}
	assert.Equal(t, 100000, n)
	require.NoError(t, st.Err())
	assert.Empty(t, st.All(), "exhausted: later reads return nothing")
	require.NoError(t, st.Err())
	testdb.AssertNoAcquired(t, pool) // pgxpool may finish returning a cancelled connection a moment after Close
}

func TestStream_BreakDoesNotDrainAndKeepsConnection(t *testing.T) {
	pool := newPool(t)
	pid := testsupport.BackendPID(t, pool)
	st := open(t, pool, context.Background(), big+" -- break-marker")
	n := 0
	for _, err := range st.Rows() {
		require.NoError(t, err)
		if n++; n == 10 {
			break
		}
	}
	assert.True(t, st.Closed(), "break closes the stream")
	testdb.AssertNoAcquired(t, pool) // pgxpool may finish returning a cancelled connection a moment after Close
	assert.False(t, queryRunning(t, "break-marker"), "the server-side query was cancelled")
	assert.Equal(t, pid, testsupport.BackendPID(t, pool), "the same backend serves the next query")
	_, ok := st.FetchOne()
	assert.False(t, ok)
	require.ErrorIs(t, st.Err(), buffered.ErrClosed)
}

func TestStream_CloseMidway(t *testing.T) {
	pool := newPool(t)
	pid := testsupport.BackendPID(t, pool)
	st := open(t, pool, context.Background(), big+" -- close-marker")
	rows := st.FetchMany(1000)
	require.Len(t, rows, 1000)
	st.Close()
	st.Close() // idempotent
	require.NoError(t, st.Err(), "Close is not an error")
	testdb.AssertNoAcquired(t, pool) // pgxpool may finish returning a cancelled connection a moment after Close
	assert.False(t, queryRunning(t, "close-marker"))
	assert.Equal(t, pid, testsupport.BackendPID(t, pool))
}

// openPrefetch is the Options.Prefetch that open asks for:
// TestStream_ExitsOnTheProducerGoroutine runs the exit tests again with
// PrefetchAlways, so both ways of reading are held to every way out.
var openPrefetch = stream.PrefetchAuto

// withPrefetch sets openPrefetch in the stream options of args (adding
// them when there are none).
func withPrefetch(args []any) []any {
	if openPrefetch == stream.PrefetchAuto {
		return args
	}
	out := append([]any(nil), args...)
	for i, a := range out {
		switch o := a.(type) {
		case session.StreamOptions:
			o.Prefetch = openPrefetch
			out[i] = o
			return out
		case stream.Options:
			o.Prefetch = openPrefetch
			out[i] = o
			return out
		}
	}
	return append([]any{stream.Options{Prefetch: openPrefetch}}, out...)
}

func TestStream_ExitsOnTheProducerGoroutine(t *testing.T) {
	openPrefetch = stream.PrefetchAlways
	defer func() { openPrefetch = stream.PrefetchAuto }()
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"Drained", TestStream_Drained},
		{"Break", TestStream_BreakDoesNotDrainAndKeepsConnection},
		{"CloseMidway", TestStream_CloseMidway},
		{"ContextCancelled", TestStream_ContextCancelled},
		{"ContextCancelledWhileServerIsSilent", TestStream_ContextCancelledWhileServerIsSilent},
		{"ConsumerPanic", TestStream_ConsumerPanic},
		{"ServerErrorMidStream", TestStream_ServerErrorMidStream},
		{"DecodeError", TestStream_DecodeError},
		{"BackendTerminated", TestStream_BackendTerminated},
		{"StatementTimeout", TestStream_StatementTimeout},
		{"OneAnswerMethodsClose", TestStream_OneAnswerMethodsClose},
		{"CloseWhileServerIsSilent", TestStream_CloseWhileServerIsSilent},
		{"InterruptFromAnotherGoroutine", TestStream_InterruptFromAnotherGoroutine},
		{"EarlyEndOnStalledLinkIsBounded", TestStream_EarlyEndOnStalledLinkIsBounded},
		{"DroppedWithoutClose", TestStream_DroppedWithoutCloseGivesTheConnectionBack},
		{"InterruptIsAnErrorCloseIsNot", TestStream_InterruptIsAnErrorCloseIsNot},
		{"KeptValuesStayIntact", TestRecycle_KeptValuesStayIntact},
	} {
		t.Run(tc.name, tc.f)
	}
}

func TestStream_ContextCancelled(t *testing.T) {
	pool := newPool(t)
	pid := testsupport.BackendPID(t, pool)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := open(t, pool, ctx, big+" -- cancel-marker")
	n := 0
	var got error
	for _, err := range st.Rows() {
		if err != nil {
			got = err
			break
		}
		if n++; n == 5000 {
			cancel()
		}
	}
	require.ErrorIs(t, got, context.Canceled)
	require.ErrorIs(t, st.Err(), context.Canceled)
	assert.GreaterOrEqual(t, n, 5000, "rows before the cancel arrived")
	testdb.AssertNoAcquired(t, pool) // pgxpool may finish returning a cancelled connection a moment after Close
	assert.False(t, queryRunning(t, "cancel-marker"))
	assert.Equal(t, pid, testsupport.BackendPID(t, pool), "the cancel-request watcher keeps the connection")
}

func TestStream_ContextCancelledWhileServerIsSilent(t *testing.T) {
	pool := newPool(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	st := open(t, pool, ctx, "select pg_sleep(30) -- silent-marker")
	_, ok := st.FetchOne()
	assert.False(t, ok)
	require.ErrorIs(t, st.Err(), context.DeadlineExceeded)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, st.Err(), &pgErr, "the server's answer to the cancel is kept")
	assert.Equal(t, "57014", pgErr.Code)
	testdb.AssertNoAcquired(t, pool) // pgxpool may finish returning a cancelled connection a moment after Close
	assert.False(t, queryRunning(t, "silent-marker"))
}

func TestStream_ConsumerPanic(t *testing.T) {
	pool := newPool(t)
	st := open(t, pool, context.Background(), big+" -- panic-marker")
	func() {
		defer func() { assert.Equal(t, "boom", recover()) }()
		n := 0
		for range st.Rows() {
			if n++; n == 3 {
				panic("boom")
			}
		}
	}()
	assert.True(t, st.Closed())
	testdb.AssertNoAcquired(t, pool) // pgxpool may finish returning a cancelled connection a moment after Close
	assert.False(t, queryRunning(t, "panic-marker"))
}

func TestStream_ServerErrorMidStream(t *testing.T) {
	pool := newPool(t)
	st := open(t, pool, context.Background(), "select 1/(g-5000) as x from generate_series(1, 10000) g")
	n := 0
	var got error
	for _, err := range st.Rows() {
		if err != nil {
			got = err
			break
		}
		n++
	}
	var pgErr *pgconn.PgError
	require.ErrorAs(t, got, &pgErr)
	assert.Equal(t, "22012", pgErr.Code)
	assert.Equal(t, 4999, n, "every row before the error reached the consumer")
	require.ErrorAs(t, st.Err(), &pgErr, "Err keeps the error")
	testdb.AssertNoAcquired(t, pool) // pgxpool may finish returning a cancelled connection a moment after Close
	_, err := session.NewMaker(pool).New().Execute(context.Background(), "select 1")
	require.NoError(t, err, "the connection is usable after the error")
}

func TestStream_DecodeError(t *testing.T) {
	pool := newPool(t)
	st := open(t, pool, context.Background(), "select case when g = 3 then null else g end as x from generate_series(1, 1000000) g -- decode-marker")
	var got []int32
	var last error
	for v, err := range buffered.ScalarsOf[int32](st).Rows() {
		if err != nil {
			last = err
			break
		}
		got = append(got, v)
	}
	var de *buffered.DecodeError
	require.ErrorAs(t, last, &de)
	assert.Equal(t, "x", de.Column)
	assert.Equal(t, []int32{1, 2}, got)
	testdb.AssertNoAcquired(t, pool) // pgxpool may finish returning a cancelled connection a moment after Close
	assert.False(t, queryRunning(t, "decode-marker"))
}

func TestStream_BackendTerminated(t *testing.T) {
	pool := newPool(t)
	pid := testsupport.BackendPID(t, pool)
	st := open(t, pool, context.Background(), big)
	_ = st.FetchMany(10)
	other, err := pgxpool.New(context.Background(), testdb.DSN())
	require.NoError(t, err)
	_, err = other.Exec(context.Background(), "select pg_terminate_backend($1)", pid)
	other.Close()
	require.NoError(t, err)
	for _, err = range st.Rows() {
		if err != nil {
			break
		}
	}
	require.Error(t, err, "a terminated backend ends the stream with an error")
	require.Error(t, st.Err())
	testdb.AssertNoAcquired(t, pool)
	assert.NotEqual(t, pid, testsupport.BackendPID(t, pool), "the pool replaced the dead connection")
}

func TestStream_StatementTimeout(t *testing.T) {
	pool := newPool(t)
	s := session.NewMaker(pool).New()
	ctx := context.Background()
	_, err := s.Begin(ctx)
	require.NoError(t, err)
	_, err = s.Execute(ctx, "set local statement_timeout = '100ms'")
	require.NoError(t, err)
	st, err := s.Stream(ctx, "select pg_sleep(5)")
	require.NoError(t, err)
	_, err = st.First()
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "57014", pgErr.Code)
	require.NoError(t, s.Close(ctx))
	testdb.AssertNoAcquired(t, pool) // pgxpool may finish returning a cancelled connection a moment after Close
}

func TestStream_OneAnswerMethodsClose(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	st := open(t, pool, ctx, big+" -- first-marker")
	row, err := st.First()
	require.NoError(t, err)
	assert.Equal(t, int32(1), row.At(0))
	testdb.AssertNoAcquired(t, pool) // pgxpool may finish returning a cancelled connection a moment after Close
	assert.False(t, queryRunning(t, "first-marker"))

	_, err = open(t, pool, ctx, big).One()
	require.ErrorIs(t, err, buffered.ErrMultipleRows)
	v, err := open(t, pool, ctx, "select 42").ScalarOne()
	require.NoError(t, err)
	assert.Equal(t, int32(42), v)
	_, err = open(t, pool, ctx, "select 1 where false").Scalar()
	require.ErrorIs(t, err, buffered.ErrNoRows)
	testdb.AssertNoAcquired(t, pool) // pgxpool may finish returning a cancelled connection a moment after Close
}

func TestStream_CloseWhileServerIsSilent(t *testing.T) {
	pool := newPool(t)
	pid := testsupport.BackendPID(t, pool)
	// 10 kB rows are flushed one by one; from row 4 on each takes 30 s
	st := open(t, pool, context.Background(),
		"select g, repeat('x', 10000) as pad, pg_sleep(case when g > 3 then 30 else 0 end) as s "+
			"from (select generate_series(1, 10) as g) q -- silent-close-marker")
	_, ok := st.FetchOne()
	require.True(t, ok)
	st.Close() // the producer waits on the server for row 4: Close must interrupt it
	require.NoError(t, st.Err())
	testdb.AssertNoAcquired(t, pool) // pgxpool may finish returning a cancelled connection a moment after Close
	assert.False(t, queryRunning(t, "silent-close-marker"))
	assert.Equal(t, pid, testsupport.BackendPID(t, pool))
}

func TestStream_InterruptFromAnotherGoroutine(t *testing.T) {
	pool := newPool(t)
	st := open(t, pool, context.Background(),
		"select g, repeat('x', 10000) as pad, pg_sleep(case when g > 3 then 30 else 0 end) as s "+
			"from (select generate_series(1, 10) as g) q -- interrupt-marker")
	_, ok := st.FetchOne()
	require.True(t, ok)
	eventually(t, func() bool { return queryRunning(t, "interrupt-marker") }, "the query runs")
	done := make(chan struct{})
	go func() { // the reader waits on the server for row 4
		defer close(done)
		for range st.Rows() {
		}
	}()
	st.Interrupt()
	<-done
	require.ErrorIs(t, st.Err(), stream.ErrInterrupted, "a cut-short result does not read as a complete one")
	st.Close()
	testdb.AssertNoAcquired(t, pool)
	assert.False(t, queryRunning(t, "interrupt-marker"))
}

// FetchMany(0) and Partitions(0) read the batch size the stream was asked
// for (the reference's yield_per), in both stream kinds.
func TestStream_FetchSizeIsTheFixedBatch(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	st := open(t, pool, ctx, "select g from generate_series(1, 100) g", stream.Options{FixedBatch: 7})
	assert.Len(t, st.FetchMany(0), 7)
	for part, err := range st.Partitions(0) {
		require.NoError(t, err)
		require.LessOrEqual(t, len(part), 7)
		if len(part) < 7 {
			assert.Equal(t, 93%7, len(part), "only the last partition is short")
		}
	}
	require.NoError(t, st.Err())

	s := session.NewMaker(pool).New()
	defer s.Close(ctx)
	_, err := s.Begin(ctx)
	require.NoError(t, err)
	cur, err := s.Stream(ctx, "select g from generate_series(1, 100) g",
		session.StreamOptions{ServerCursor: true, Options: stream.Options{FixedBatch: 9}})
	require.NoError(t, err)
	assert.Len(t, cur.FetchMany(0), 9)
	cur.Close()
}
