package session_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/session"
	"github.com/streamcat/streamcat/stream"
)

func TestStream_InTransaction_OtherCallsGetErrBusy(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	s := session.NewMaker(pool).New()
	_, err := s.Begin(ctx)
	require.NoError(t, err)
	st, err := s.Stream(ctx, "select g from generate_series(1, 100000) g")
	require.NoError(t, err)
	_ = st.FetchMany(10)

	_, err = s.Execute(ctx, "select 1")
	require.ErrorIs(t, err, session.ErrBusy)
	assert.Contains(t, err.Error(), "not for concurrent use")

	st.Close()
	v, err := s.Scalar(ctx, "select 2")
	require.NoError(t, err, "the session is free once the stream ends")
	assert.Equal(t, int32(2), v)
	require.NoError(t, s.Close(ctx))
}

func TestStream_CursorMode_InterleavesStatements(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	s := session.NewMaker(pool).New()
	_, err := s.Begin(ctx)
	require.NoError(t, err)
	_, err = s.Execute(ctx, "create temp table seen(g int) on commit drop")
	require.NoError(t, err)

	st, err := s.Stream(ctx, "select g from generate_series(1, $1::int) g",
		session.StreamOptions{ServerCursor: true, Options: stream.Options{MaxBatch: 100}}, 1000)
	require.NoError(t, err)
	n := 0
	for v, err := range buffered.ScalarsOf[int32](st).Rows() {
		require.NoError(t, err)
		n++
		if v%250 == 0 {
			// another statement on the same session, between batches
			_, err := s.Execute(ctx, "insert into seen values ($1)", v)
			require.NoError(t, err)
		}
	}
	assert.Equal(t, 1000, n)
	count, err := s.Scalar(ctx, "select count(*) from seen")
	require.NoError(t, err)
	assert.Equal(t, int64(4), count)
	open, err := s.Scalar(ctx, "select count(*) from pg_cursors where name like 'streamcat_cursor_%'")
	require.NoError(t, err)
	assert.Equal(t, int64(0), open, "the cursor is closed when the stream ends")
	require.NoError(t, s.Commit(ctx))
	assert.Zero(t, pool.Stat().AcquiredConns())
}

func TestStream_CursorMode_BreakClosesCursor(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	s := session.NewMaker(pool).New()
	_, err := s.Begin(ctx)
	require.NoError(t, err)
	st, err := s.Stream(ctx, "select generate_series(1, 10000000)", session.StreamOptions{ServerCursor: true})
	require.NoError(t, err)
	for range st.Rows() {
		break
	}
	open, err := s.Scalar(ctx, "select count(*) from pg_cursors where name like 'streamcat_cursor_%'")
	require.NoError(t, err)
	assert.Equal(t, int64(0), open)
	require.NoError(t, s.Close(ctx))
}

func TestStream_CursorMode_NeedsTransaction(t *testing.T) {
	pool := testdb.Pool(t)
	s := session.NewMaker(pool).New()
	_, err := s.Stream(context.Background(), "select 1", session.StreamOptions{ServerCursor: true})
	require.ErrorIs(t, err, session.ErrNoTransaction)
}

func TestStream_OutsideTransaction_SessionStaysFree(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	s := session.NewMaker(pool).New()
	st, err := s.Stream(ctx, "select generate_series(1, 100000)")
	require.NoError(t, err)
	defer st.Close()
	_ = st.FetchMany(5)
	v, err := s.Scalar(ctx, "select 7")
	require.NoError(t, err, "outside a transaction a stream has its own connection")
	assert.Equal(t, int32(7), v)
}

func TestStreamScalars(t *testing.T) {
	pool := testdb.Pool(t)
	v, err := session.NewMaker(pool).New().StreamScalars(context.Background(), "select generate_series(1, 3)")
	require.NoError(t, err)
	assert.Equal(t, []any{int32(1), int32(2), int32(3)}, v.All())
	require.NoError(t, v.Err())
}

func TestClose_EndsAStreamHoldingTheTransaction(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	s := session.NewMaker(pool).New()
	_, err := s.Begin(ctx)
	require.NoError(t, err)
	_, err = s.Execute(ctx, "create temp table closed_with_stream(x int)")
	require.NoError(t, err)
	st, err := s.Stream(ctx, "select generate_series(1, 10000000)")
	require.NoError(t, err)
	_ = st.FetchMany(3)
	require.NoError(t, s.Close(ctx), "Close closes the stream, then rolls back")
	assert.True(t, st.Closed())
	assert.False(t, s.InTransaction())
	v, err := s.Scalar(ctx, "select count(*) from pg_class where relname = 'closed_with_stream'")
	require.NoError(t, err)
	assert.Equal(t, int64(0), v, "the transaction was rolled back")
}

// A stream in a transaction tidies up with statements of its own (CLOSE of
// its cursor, RELEASE or ROLLBACK TO its savepoint) after the caller may
// have moved on: on a backend that stopped answering (SIGSTOP: a dead
// server a healthy one cannot play on demand) they are bounded, not
// waited for forever.
func TestStream_CursorCloseOnAStoppedBackendIsBounded(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	s := session.NewMaker(pool).New()
	_, err := s.Begin(ctx)
	require.NoError(t, err)
	conn, err := s.Connection(ctx)
	require.NoError(t, err)
	var pid int32
	require.NoError(t, conn.QueryRow(ctx, "select pg_backend_pid()").Scan(&pid))

	st, err := s.Stream(ctx, "select generate_series(1, 1000000)",
		session.StreamOptions{ServerCursor: true, Options: stream.Options{FixedBatch: 10, ExitTimeout: 500 * time.Millisecond}})
	require.NoError(t, err)
	require.Len(t, st.FetchMany(5), 5)

	require.NoError(t, syscall.Kill(int(pid), syscall.SIGSTOP))
	t.Cleanup(func() { _ = syscall.Kill(int(pid), syscall.SIGCONT) })
	done := make(chan struct{})
	go func() { st.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Close waited on a stopped backend for more than 15 s")
	}
	require.NoError(t, syscall.Kill(int(pid), syscall.SIGCONT))
	_ = s.Close(ctx) // the connection may be gone: the server rolls back with it
	testdb.AssertNoAcquired(t, pool)
}
