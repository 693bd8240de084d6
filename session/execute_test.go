package session_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/session"
)

func newSession(t *testing.T, pool *pgxpool.Pool) *session.Session {
	t.Helper()
	s := session.NewMaker(pool).New()
	t.Cleanup(func() {
		require.NoError(t, s.Close(context.Background()))
	})
	return s
}

func TestSession_Execute_ReturnsEveryRowInMemoryAndReleasesTheConnection(t *testing.T) {
	pool := testdb.Pool(t)
	s := newSession(t, pool)
	res, err := s.Execute(context.Background(), "select g as id, 'n' || g as name from generate_series(1, 3) g")
	require.NoError(t, err)
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns(), "the connection is back before the rows are read")
	assert.Equal(t, 3, res.Len())
	assert.Equal(t, []string{"id", "name"}, res.Keys())
	rows := res.All()
	require.NoError(t, res.Err())
	require.Len(t, rows, 3)
	assert.Equal(t, []any{int32(2), "n2"}, rows[1].Values())
	assert.Equal(t, "SELECT 3", res.CommandTag().String())
}

func TestSession_Execute_BindsParameters(t *testing.T) {
	pool := testdb.Pool(t)
	s := newSession(t, pool)
	ctx := context.Background()
	_, err := s.Execute(ctx, "create table bind_victim (id int)")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), "drop table if exists bind_victim")
		require.NoError(t, err)
	})

	const nasty = "'; drop table bind_victim; --"
	res, err := s.Execute(ctx, "select $1::text as v, $2::int8 as n, $3::text is null as isnull", nasty, int64(42), nil)
	require.NoError(t, err)
	row, err := res.One()
	require.NoError(t, err)
	assert.Equal(t, []any{nasty, int64(42), true}, row.Values(), "values come back verbatim")

	v, err := s.Scalar(ctx, "select $1::text", nasty)
	require.NoError(t, err)
	assert.Equal(t, nasty, v)

	exists, err := s.Scalar(ctx, "select to_regclass('bind_victim') is not null")
	require.NoError(t, err)
	assert.Equal(t, true, exists, "the value was bound, not spliced into the SQL")
}

func TestSession_Execute_DMLCommandTag(t *testing.T) {
	pool := testdb.Pool(t)
	s := newSession(t, pool)
	ctx := context.Background()
	_, err := s.Execute(ctx, "create table exec_dml (id int)")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), "drop table if exists exec_dml")
		require.NoError(t, err)
	})
	res, err := s.Execute(ctx, "insert into exec_dml select generate_series(1, $1::int)", 4)
	require.NoError(t, err)
	assert.Equal(t, int64(4), res.RowsAffected())
	assert.False(t, res.ReturnsRows())
	assert.Nil(t, res.All())
	assert.ErrorIs(t, res.Err(), buffered.ErrNotReturningRows)
}

func TestSession_Execute_ServerErrorIsPgErrorWithNoResult(t *testing.T) {
	pool := testdb.Pool(t)
	s := newSession(t, pool)
	res, err := s.Execute(context.Background(), "select 1/(g-3) from generate_series(1, 5) g")
	assert.Nil(t, res, "no partial Result")
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "got %T: %v", err, err)
	assert.Equal(t, "22012", pgErr.Code)
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns(), "the connection went back")

	// the session and its pool are still usable
	v, err := s.Scalar(context.Background(), "select 5")
	require.NoError(t, err)
	assert.Equal(t, int32(5), v)
}

func TestSession_Execute_SyntaxErrorIsPgError(t *testing.T) {
	pool := testdb.Pool(t)
	s := newSession(t, pool)
	_, err := s.Execute(context.Background(), "selec 1")
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "42601", pgErr.Code)
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
}

func TestSession_Scalar_FirstColumnOfFirstRow(t *testing.T) {
	pool := testdb.Pool(t)
	s := newSession(t, pool)
	ctx := context.Background()
	v, err := s.Scalar(ctx, "select g, 'ignored' from generate_series(7, 9) g")
	require.NoError(t, err)
	assert.Equal(t, int32(7), v, "no check for more rows")

	v, err = s.Scalar(ctx, "select null::text")
	require.NoError(t, err)
	assert.Nil(t, v)

	_, err = s.Scalar(ctx, "select 1 where false")
	assert.ErrorIs(t, err, buffered.ErrNoRows)

	_, err = s.Scalar(ctx, "select 1/0")
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "22012", pgErr.Code)
}

func TestSession_Scalars_FirstColumnOfEveryRow(t *testing.T) {
	pool := testdb.Pool(t)
	s := newSession(t, pool)
	ctx := context.Background()
	view, err := s.Scalars(ctx, "select 'v' || g, g from generate_series(1, 3) g")
	require.NoError(t, err)
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
	assert.Equal(t, []any{"v1", "v2", "v3"}, view.All())
	require.NoError(t, view.Err())
	assert.Empty(t, view.All(), "exhausted")

	view, err = s.Scalars(ctx, "select v from (values (1), (1), (2)) t(v)")
	require.NoError(t, err)
	assert.Equal(t, []any{int32(1), int32(2)}, view.Unique().All())

	view, err = s.Scalars(ctx, "select 1 where false")
	require.NoError(t, err)
	assert.Empty(t, view.All())

	view, err = s.Scalars(ctx, "select 1/0")
	assert.Nil(t, view)
	var pgErr *pgconn.PgError
	assert.ErrorAs(t, err, &pgErr)
}

func TestSession_Execute_ConcurrentCallIsErrBusy(t *testing.T) {
	pool := testdb.Pool(t)
	s := newSession(t, pool)
	ctx := context.Background()

	var (
		wg       sync.WaitGroup
		slowRes  *buffered.Result
		slowErr  error
		busyErr  error
		busyRes  *buffered.Result
		running  = make(chan struct{})
		detected bool
	)
	wg.Go(func() {
		slowRes, slowErr = s.Execute(ctx, "select 'slow' as who, pg_sleep(0.2)")
	})
	// wait until the slow statement is running on the server
	go func() {
		defer close(running)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			var n int
			err := pool.QueryRow(ctx, `select count(*) from pg_stat_activity
				where state = 'active' and query like '%pg_sleep(0.2)%' and pid <> pg_backend_pid()`).Scan(&n)
			if err == nil && n > 0 {
				detected = true
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	<-running
	require.True(t, detected, "the slow statement never showed up in pg_stat_activity")
	wg.Go(func() {
		busyRes, busyErr = s.Execute(ctx, "select 'second'")
	})
	wg.Wait()

	require.ErrorIs(t, busyErr, session.ErrBusy)
	assert.Nil(t, busyRes)
	assert.Contains(t, busyErr.Error(), "Execute")

	require.NoError(t, slowErr, "the first call is not disturbed")
	row, err := slowRes.One()
	require.NoError(t, err)
	v, _ := row.Get("who")
	assert.Equal(t, "slow", v)

	// and the session is free again
	v, err = s.Scalar(ctx, "select 'after'")
	require.NoError(t, err)
	assert.Equal(t, "after", v)
}

func TestSession_ScalarAndScalars_ConcurrentCallIsErrBusy(t *testing.T) {
	pool := testdb.Pool(t)
	s := newSession(t, pool)
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, err := s.Scalar(ctx, "select pg_sleep(0.2)")
		done <- err
	}()
	// poll until the session is busy: a call that is not refused ran a query, so
	// only count a refusal
	var errScalar, errScalars error
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		err := pool.QueryRow(ctx, `select count(*) from pg_stat_activity
			where state = 'active' and query = 'select pg_sleep(0.2)' and pid <> pg_backend_pid()`).Scan(&n)
		if err == nil && n > 0 {
			_, errScalar = s.Scalar(ctx, "select 1")
			_, errScalars = s.Scalars(ctx, "select 1")
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	assert.ErrorIs(t, errScalar, session.ErrBusy)
	assert.ErrorIs(t, errScalars, session.ErrBusy)
	require.NoError(t, <-done)
}

func TestSession_Execute_ResultOutlivesTheSessionAndConnection(t *testing.T) {
	pool := testdb.Pool(t)
	s := session.NewMaker(pool).New()
	ctx := context.Background()
	res, err := s.Execute(ctx, "select g, repeat('x', g) from generate_series(1, 50) g")
	require.NoError(t, err)
	require.NoError(t, s.Close(ctx))
	for i := range 10 {
		_, err := pool.Exec(ctx, "select repeat('y', 10000), $1::int", i)
		require.NoError(t, err)
	}
	rows := res.All()
	require.NoError(t, res.Err())
	require.Len(t, rows, 50)
	assert.Equal(t, []any{int32(50), strings.Repeat("x", 50)}, rows[49].Values())
}

func TestSession_Execute_CancelledContextFailsAndReleases(t *testing.T) {
	pool := testdb.Pool(t)
	s := newSession(t, pool)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := s.Execute(ctx, "select 1")
	assert.Nil(t, res)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
	v, err := s.Scalar(context.Background(), "select 1")
	require.NoError(t, err, "the session is not left busy")
	assert.Equal(t, int32(1), v)
}
