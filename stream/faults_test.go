package stream_test

import (
	"context"
	"errors"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/faultproxy"
	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/internal/testsupport"
	"github.com/streamcat/streamcat/session"
	"github.com/streamcat/streamcat/stream"
)

// hangDeadline bounds the waits below: a deadline against hanging forever,
// not a performance claim.
const hangDeadline = 10 * time.Second

// shortExit makes a dead link's early end quick, so the tests stay fast.
var shortExit = session.StreamOptions{Options: stream.Options{ExitTimeout: 300 * time.Millisecond}}

// proxiedPool returns a one-connection session pool whose connections go
// through a fault proxy.
func proxiedPool(t *testing.T) (*pgxpool.Pool, *faultproxy.Proxy) {
	cfg, err := session.PoolConfig(testdb.DSN())
	require.NoError(t, err)
	cfg.MaxConns = 1
	p, err := faultproxy.ForConfig(cfg.ConnConfig.Config.Copy())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	p.Redirect(&cfg.ConnConfig.Config)
	return testdb.PoolWithConfig(t, cfg), p
}

// within runs fn and fails the test if it has not returned by hangDeadline.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(hangDeadline):
		t.Fatalf("%s did not return within %v", what, hangDeadline)
	}
}

// earlyEnds are the ways a reader ends a stream before its last row.
var earlyEnds = map[string]func(st *stream.Result){
	"Close": func(st *stream.Result) { st.Close() },
	"break": func(st *stream.Result) {
		for range st.Rows() {
			break
		}
	},
	"First": func(st *stream.Result) { _, _ = st.First() },
	"Interrupt": func(st *stream.Result) {
		st.Interrupt()
		st.Close()
	},
}

// Issue 14 item 1: on a link that stopped forwarding, an early end used to
// wait on the socket forever, holding the connection.
func TestStream_EarlyEndOnStalledLinkIsBounded(t *testing.T) {
	for name, end := range earlyEnds {
		t.Run(name, func(t *testing.T) {
			pool, p := proxiedPool(t)
			st := open(t, pool, context.Background(), big, shortExit)
			_, ok := st.FetchOne()
			require.True(t, ok)
			p.Stall(faultproxy.Both) // a dead network: nothing closes, nothing arrives
			within(t, name, func() { end(st) })
			// pgx closes a dead connection in the background, first sending
			// its own cancel request, which a dead network holds up to 15 s:
			// let the network come back, then the pool must be whole
			accepted := p.Accepted()
			p.Resume()
			testdb.AssertNoAcquired(t, pool)
			_, err := session.NewMaker(pool).New().Execute(context.Background(), "select 1")
			require.NoError(t, err, "the pool is healthy")
			assert.Greater(t, p.Accepted(), accepted, "the dead connection was replaced")
		})
	}
}

// Issue 14 item 1, with the backend stopped instead of the network.
func TestStream_EarlyEndOnStoppedBackendIsBounded(t *testing.T) {
	pool := newPool(t)
	pid := testsupport.BackendPID(t, pool)
	st := open(t, pool, context.Background(), big, shortExit)
	_, ok := st.FetchOne()
	require.True(t, ok)
	require.NoError(t, syscall.Kill(int(pid), syscall.SIGSTOP))
	t.Cleanup(func() { _ = syscall.Kill(int(pid), syscall.SIGCONT) })
	within(t, "Close", st.Close)
	require.NoError(t, st.Err(), "the reader asked to stop: no error")
	testdb.AssertNoAcquired(t, pool)
	assert.NotEqual(t, pid, testsupport.BackendPID(t, pool), "the pool replaced the connection to the stopped backend")
}

// Issue 14 item 2: rows the client holds reach the reader while the server
// thinks about the next one, instead of waiting for a batch to fill.
func TestStream_RowsArriveWhileTheServerIsSlow(t *testing.T) {
	pool := newPool(t)
	// Rows 1-3 are made at once, then the server sleeps 30 s before row 4.
	// The server flushes its 8 kB send buffer whenever it fills, so with
	// 10 kB rows rows 1 and 2 reach the client whole (before PostgreSQL 17
	// row 3's tail stays in the server's buffer until row 4). Row 1 is a
	// batch of its own; row 2 used to wait in a 5-row batch for 30 s.
	st := open(t, pool, context.Background(),
		"select g, repeat('x', 10000) as pad, pg_sleep(case when g > 3 then 30 else 0 end) as s "+
			"from (select generate_series(1, 10) as g) q")
	within(t, "reading the 2 rows the client holds", func() {
		for i := 1; i <= 2; i++ {
			row, ok := st.FetchOne()
			if !assert.True(t, ok) {
				return
			}
			assert.Equal(t, int32(i), row.At(0))
		}
	})
	st.Close()
	testdb.AssertNoAcquired(t, pool)
}

// Issue 14 item 7: a Result dropped without Close used to hold its
// connection for good.
func TestStream_DroppedWithoutCloseGivesTheConnectionBack(t *testing.T) {
	pool := newPool(t)
	reported := make(chan error, 1)
	func() {
		st := open(t, pool, context.Background(), big, session.StreamOptions{Options: stream.Options{
			OnDropped: func(err error) { reported <- err },
		}})
		_, ok := st.FetchOne()
		require.True(t, ok)
		// st goes out of reach here, unclosed
	}()
	deadline := time.After(hangDeadline)
	for {
		runtime.GC()
		select {
		case err := <-reported:
			require.ErrorIs(t, err, stream.ErrDropped)
			testdb.AssertNoAcquired(t, pool)
			_, err = session.NewMaker(pool).New().Execute(context.Background(), "select 1")
			require.NoError(t, err)
			return
		case <-deadline:
			t.Fatal("a dropped stream was never cleaned up")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// A view keeps the stream alive: the safety net must not fire while a view
// of the Result is still read.
func TestStream_ViewKeepsTheStreamAlive(t *testing.T) {
	pool := newPool(t)
	reported := make(chan error, 1)
	view := func() *stream.Result {
		return open(t, pool, context.Background(), "select g from generate_series(1, 20000) g",
			session.StreamOptions{Options: stream.Options{OnDropped: func(err error) { reported <- err }}})
	}().Scalars()
	n := 0
	for _, err := range view.Rows() {
		require.NoError(t, err)
		if n++; n%1000 == 0 {
			runtime.GC()
		}
	}
	assert.Equal(t, 20000, n)
	select {
	case err := <-reported:
		t.Fatalf("a stream still read was reported dropped: %v", err)
	default:
	}
}

// Issue 14 item 8: Interrupt is an error for the reader; ending early by
// itself is not.
func TestStream_InterruptIsAnErrorCloseIsNot(t *testing.T) {
	pool := newPool(t)
	st := open(t, pool, context.Background(), big)
	require.Len(t, st.FetchMany(10), 10)
	st.Interrupt()
	n := 0
	var got error
	for _, err := range st.Rows() {
		if err != nil {
			got = err
			break
		}
		n++
	}
	require.ErrorIs(t, got, stream.ErrInterrupted, "after %d more rows", n)
	require.ErrorIs(t, st.Err(), stream.ErrInterrupted)
	st.Close()
	testdb.AssertNoAcquired(t, pool)

	st = open(t, pool, context.Background(), big)
	require.Len(t, st.FetchMany(10), 10)
	st.Close()
	require.NoError(t, st.Err())
	assert.False(t, errors.Is(st.Err(), stream.ErrInterrupted))
}
