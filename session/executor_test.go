package session_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/faultproxy"
	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/session"
	"github.com/streamcat/streamcat/stream"
)

// cancellingPool is a pool whose cancelled contexts send cancel requests,
// as session.NewPool makes them.
func cancellingPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	cfg, err := session.PoolConfig(testdb.DSN())
	require.NoError(t, err)
	return testdb.PoolWithConfig(t, cfg)
}

func TestExecutor_DeadlineKeepsTheContextError(t *testing.T) {
	pool := cancellingPool(t)
	m := session.NewMaker(pool)
	s := uowSessionOf(t, m)

	assertDeadline := func(t *testing.T, err error) {
		t.Helper()
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			assert.Equal(t, "57014", pgErr.Code, "the server's error stays reachable")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := s.Execute(ctx, "select pg_sleep(10)")
	assertDeadline(t, err)

	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = s.Scalar(ctx, "select pg_sleep(10)")
	assertDeadline(t, err)

	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		_, err := s.Execute(ctx, "select pg_sleep(10)")
		return err
	})
	assertDeadline(t, err)
}

func TestExecutor_BeginTwiceHasASentinel(t *testing.T) {
	s := uowSessionOf(t, session.NewMaker(testdb.Pool(t)))
	_, err := s.Begin(context.Background())
	require.NoError(t, err)
	_, err = s.Begin(context.Background())
	assert.ErrorIs(t, err, session.ErrInTransaction)
}

func TestExecutor_StreamOptionsGoFirst(t *testing.T) {
	s := uowSessionOf(t, session.NewMaker(testdb.Pool(t)))
	ctx := context.Background()
	_, err := s.Stream(ctx, "select $1::int", 1, session.StreamOptions{})
	require.ErrorIs(t, err, session.ErrOptionsPlacement, "never sent as a bind parameter")

	st, err := s.Stream(ctx, "select g from generate_series(1, $1::int) g",
		stream.Options{MaxBatch: 2}, session.StreamOptions{Options: stream.Options{MaxBatch: 3}}, 7)
	require.NoError(t, err, "several leading options: the later wins")
	n := 0
	for _, err := range st.Rows() {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 7, n)
}

func TestExecutor_AStreamLeftOpenInATransactionIsNamed(t *testing.T) {
	s := uowSessionOf(t, session.NewMaker(testdb.Pool(t)))
	ctx := context.Background()
	_, err := s.Begin(ctx)
	require.NoError(t, err)
	st, err := s.Stream(ctx, "select generate_series(1, 100000)")
	require.NoError(t, err)
	err = s.Commit(ctx)
	require.ErrorIs(t, err, session.ErrStreamOpen)
	assert.ErrorIs(t, err, session.ErrBusy)
	assert.Contains(t, err.Error(), "a stream is still open")
	st.Close()
	require.NoError(t, s.Commit(ctx))
}

func TestExecutor_ASessionStarvingItselfGetsAnError(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(testdb.DSN())
	require.NoError(t, err)
	cfg.MaxConns = 1
	pool := testdb.PoolWithConfig(t, cfg)
	s := uowSessionOf(t, session.NewMaker(pool))
	ctx := context.Background()
	st, err := s.Stream(ctx, "select generate_series(1, 1000000)")
	require.NoError(t, err)
	defer st.Close()
	_, err = s.Execute(ctx, "select 1") // the only connection is the stream's
	require.ErrorIs(t, err, session.ErrPoolExhausted)
	assert.Contains(t, err.Error(), "holds 1")
	st.Close()
	_, err = s.Execute(ctx, "select 1")
	require.NoError(t, err, "once the stream is closed the session works")
}

func TestExecutor_LostCommitReplyIsUnknownNotSafeToRetry(t *testing.T) {
	// a COMMIT whose reply never arrives cannot be made by a healthy server:
	// the fault proxy swallows the reply and cuts the link
	pool, proxy := proxiedPool(t)
	direct := testdb.Pool(t)
	ctx := context.Background()
	_, err := direct.Exec(ctx, "drop table if exists commit_unknown; create table commit_unknown (id int)")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = direct.Exec(context.Background(), "drop table commit_unknown") })

	s := uowSessionOf(t, session.NewMaker(pool))
	_, err = s.Begin(ctx)
	require.NoError(t, err)
	_, err = s.Execute(ctx, "insert into commit_unknown values (1)")
	require.NoError(t, err)
	proxy.DropReplyTo(func(q string) bool { return strings.EqualFold(strings.TrimSpace(q), "commit") })
	err = s.Commit(ctx)
	require.ErrorIs(t, err, session.ErrCommitUnknown)
	var unknown *session.CommitUnknownError
	require.ErrorAs(t, err, &unknown)
	assert.False(t, pgconn.SafeToRetry(err), "never safe to retry: the server may have committed")
	assert.Contains(t, err.Error(), "may or may not have committed")
	var n int
	require.NoError(t, direct.QueryRow(ctx, "select count(*) from commit_unknown").Scan(&n))
	assert.Equal(t, 1, n, "and here it had")

	// Maker.Begin reports the same
	proxy.DropReplyTo(func(q string) bool { return strings.EqualFold(strings.TrimSpace(q), "commit") })
	err = session.NewMaker(pool, session.WithRetry(session.DefaultRetry)).Begin(ctx, func(ctx context.Context, s *session.Session) error {
		_, err := s.Execute(ctx, "insert into commit_unknown values (2)")
		return err
	})
	require.ErrorIs(t, err, session.ErrCommitUnknown)
	assert.NotContains(t, err.Error(), "rollback failed", "the loss is reported once")
}

// uowSessionOf is a session of m closed when the test ends.
func uowSessionOf(t *testing.T, m *session.Maker) *session.Session {
	t.Helper()
	s := m.New()
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// A restart leaves every pooled connection dead while it sits idle; ending
// their backends with pg_terminate_backend while they are idle is the same
// for the client (a 57P01 waiting in each socket), without restarting the
// shared test server.
func TestExecutor_StaleConnectionsAreRetriedOnce(t *testing.T) {
	cfg, err := session.PoolConfig(testdb.DSN())
	require.NoError(t, err)
	cfg.MaxConns, cfg.MinConns = 4, 4
	cfg.ConnConfig.RuntimeParams["application_name"] = "stale_retry_test"
	pool := testdb.PoolWithConfig(t, cfg)
	admin := testdb.Pool(t)
	ctx := context.Background()
	m := session.NewMaker(pool)

	killIdle := func() {
		t.Helper()
		// touch all four, so that each is a live backend, then end them
		conns := make([]*pgxpool.Conn, 4)
		for i := range conns {
			conns[i], err = pool.Acquire(ctx)
			require.NoError(t, err)
		}
		for _, c := range conns {
			c.Release()
		}
		var n int
		require.NoError(t, admin.QueryRow(ctx, `select count(pg_terminate_backend(pid)) from pg_stat_activity
			where application_name = 'stale_retry_test' and state = 'idle'`).Scan(&n))
		require.Equal(t, 4, n)
		time.Sleep(100 * time.Millisecond) // the FATAL messages reach the sockets
	}

	killIdle()
	s := uowSessionOf(t, m)
	for i := range 4 {
		_, err := s.Execute(ctx, "select 1")
		require.NoError(t, err, "call %d after the backends ended", i)
	}

	killIdle()
	for i := range 4 {
		require.NoError(t, m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
			_, err := s.Execute(ctx, "select 1")
			return err
		}), "transaction %d after the backends ended", i)
	}

	// a statement terminated while it runs (here after a second, well past
	// staleWindow) is not run again
	s2 := uowSessionOf(t, m)
	done := make(chan error, 1)
	go func() {
		_, err := s2.Execute(ctx, "select pg_sleep(30) /* stale_retry_victim */")
		done <- err
	}()
	require.Eventually(t, func() bool {
		var n int
		_ = admin.QueryRow(ctx, `select count(pg_terminate_backend(pid)) from pg_stat_activity
			where query like '%stale_retry_victim%' and pid <> pg_backend_pid() and state = 'active'
			and now() - query_start > interval '1 s'`).Scan(&n)
		return n == 1
	}, 10*time.Second, 20*time.Millisecond)
	err = <-done
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "57P01", pgErr.Code)
}

func TestExecutor_ALostConnectionIsReportedOnce(t *testing.T) {
	// a connection cut in the middle of a transaction: the fault proxy
	pool, proxy := proxiedPool(t)
	ctx := context.Background()

	err := session.NewMaker(pool).Begin(ctx, func(ctx context.Context, s *session.Session) error {
		proxy.Cut()
		_, err := s.Execute(ctx, "select 1")
		return err
	})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "rollback failed", "the loss is reported once: %v", err)
	assert.NotContains(t, err.Error(), "deallocate")

	s := session.NewMaker(pool).New()
	_, err = s.Begin(ctx)
	require.NoError(t, err)
	proxy.Cut()
	_, err = s.Execute(ctx, "select 1")
	require.Error(t, err)
	assert.NoError(t, s.Close(ctx), "Close does not repeat the loss")
}

// proxiedPool is a test pool whose connections go through a fault proxy,
// for faults a healthy server does not produce on demand.
func proxiedPool(t *testing.T) (*pgxpool.Pool, *faultproxy.Proxy) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testdb.DSN())
	require.NoError(t, err)
	proxy, err := faultproxy.ForConfig(&cfg.ConnConfig.Config)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, proxy.Close()) })
	proxy.Redirect(&cfg.ConnConfig.Config)
	return testdb.PoolWithConfig(t, cfg), proxy
}
