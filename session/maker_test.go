package session_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/session"
)

// mkShow runs SHOW name in a new transaction of s and ends it.
func mkShow(t *testing.T, s *session.Session, name string) string {
	t.Helper()
	ctx := context.Background()
	_, err := s.Begin(ctx)
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Rollback(ctx)) }()
	v, err := s.Scalar(ctx, "show "+name)
	require.NoError(t, err)
	return v.(string)
}

func mkPgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func TestMaker_WithIsolation(t *testing.T) {
	pool := testdb.Pool(t)
	for level, want := range map[pgx.TxIsoLevel]string{
		pgx.Serializable:    "serializable",
		pgx.RepeatableRead:  "repeatable read",
		pgx.ReadCommitted:   "read committed",
		pgx.ReadUncommitted: "read uncommitted",
	} {
		m := session.NewMaker(pool, session.WithIsolation(level))
		s := txSession(t, m)
		assert.Equal(t, want, mkShow(t, s, "transaction_isolation"), "Begin with %s", level)

		err := m.Begin(context.Background(), func(ctx context.Context, s *session.Session) error {
			v, err := s.Scalar(ctx, "show transaction_isolation")
			assert.Equal(t, want, v, "Maker.Begin with %s", level)
			return err
		})
		require.NoError(t, err)
	}
	// no option: the server's default
	assert.Equal(t, "read committed", mkShow(t, txSession(t, session.NewMaker(pool)), "transaction_isolation"))
}

func TestMaker_WithReadOnly(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "mk_readonly", "id int primary key")
	ctx := context.Background()
	m := session.NewMaker(pool, session.WithReadOnly())
	s := txSession(t, m)

	assert.Equal(t, "on", mkShow(t, s, "transaction_read_only"))

	_, err := s.Begin(ctx)
	require.NoError(t, err)
	_, err = s.Execute(ctx, "insert into mk_readonly (id) values (1)")
	assert.Equal(t, "25006", mkPgCode(err), "a write in a READ ONLY transaction: %v", err)
	require.NoError(t, s.Rollback(ctx))

	err = m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		_, err := s.Execute(ctx, "insert into mk_readonly (id) values (2)")
		return err
	})
	assert.Equal(t, "25006", mkPgCode(err))
	assert.Equal(t, []int{}, txIDs(t, pool, "mk_readonly"))

	assert.Equal(t, "off", mkShow(t, txSession(t, session.NewMaker(pool)), "transaction_read_only"))
}

func TestMaker_WithDeferrable(t *testing.T) {
	pool := testdb.Pool(t)
	m := session.NewMaker(pool, session.WithIsolation(pgx.Serializable), session.WithReadOnly(), session.WithDeferrable())
	s := txSession(t, m)
	assert.Equal(t, "on", mkShow(t, s, "transaction_deferrable"))
	assert.Equal(t, "on", mkShow(t, s, "transaction_read_only"))
	assert.Equal(t, "serializable", mkShow(t, s, "transaction_isolation"))

	assert.Equal(t, "off", mkShow(t, txSession(t, session.NewMaker(pool)), "transaction_deferrable"))
}

func TestMaker_Configure_AffectsLaterSessionsOnly(t *testing.T) {
	pool := testdb.Pool(t)
	m := session.NewMaker(pool)
	before := txSession(t, m)
	m.Configure(session.WithIsolation(pgx.Serializable), session.WithReadOnly())
	after := txSession(t, m)

	assert.Equal(t, "read committed", mkShow(t, before, "transaction_isolation"))
	assert.Equal(t, "off", mkShow(t, before, "transaction_read_only"))
	assert.Equal(t, "serializable", mkShow(t, after, "transaction_isolation"))
	assert.Equal(t, "on", mkShow(t, after, "transaction_read_only"))

	// options accumulate
	m.Configure(session.WithIsolation(pgx.RepeatableRead))
	later := txSession(t, m)
	assert.Equal(t, "repeatable read", mkShow(t, later, "transaction_isolation"))
	assert.Equal(t, "on", mkShow(t, later, "transaction_read_only"))
	assert.Equal(t, "serializable", mkShow(t, after, "transaction_isolation"), "made before: unchanged")
}

func TestMaker_New_OptionsOverrideForOneSession(t *testing.T) {
	pool := testdb.Pool(t)
	m := session.NewMaker(pool, session.WithIsolation(pgx.RepeatableRead))
	special := txSession(t, m, session.WithIsolation(pgx.Serializable), session.WithReadOnly())
	normal := txSession(t, m)

	assert.Equal(t, "serializable", mkShow(t, special, "transaction_isolation"))
	assert.Equal(t, "on", mkShow(t, special, "transaction_read_only"))
	assert.Equal(t, "repeatable read", mkShow(t, normal, "transaction_isolation"))
	assert.Equal(t, "off", mkShow(t, normal, "transaction_read_only"))

	// Maker.Begin takes the same per-call options
	ctx := context.Background()
	var got string
	require.NoError(t, m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		v, err := s.Scalar(ctx, "show transaction_isolation")
		got, _ = v.(string)
		return err
	}, session.WithIsolation(pgx.Serializable)))
	assert.Equal(t, "serializable", got)
	require.NoError(t, m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		v, err := s.Scalar(ctx, "show transaction_isolation")
		got, _ = v.(string)
		return err
	}))
	assert.Equal(t, "repeatable read", got)
}

func TestMaker_Begin_CommitsOnNil(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "mk_commit", "id int primary key")
	m := session.NewMaker(pool)
	ctx := context.Background()

	var inner *session.Session
	err := m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		inner = s
		assert.True(t, s.InTransaction())
		txInsert(t, s, "mk_commit", 1)
		sp, err := s.BeginNested(ctx)
		require.NoError(t, err)
		txInsert(t, s, "mk_commit", 2)
		require.NoError(t, sp.Rollback(ctx))
		assert.Equal(t, []int{}, txIDs(t, pool, "mk_commit"), "not committed while fn runs")
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []int{1}, txIDs(t, pool, "mk_commit"))
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
	assert.False(t, inner.InTransaction(), "the session is closed afterwards")
}

func TestMaker_Begin_FnMayEndTheTransactionItself(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "mk_fnends", "id int primary key")
	m := session.NewMaker(pool)
	ctx := context.Background()

	require.NoError(t, m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		txInsert(t, s, "mk_fnends", 1)
		return s.Commit(ctx)
	}))
	require.NoError(t, m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		txInsert(t, s, "mk_fnends", 2)
		return s.Rollback(ctx)
	}))
	assert.Equal(t, []int{1}, txIDs(t, pool, "mk_fnends"))
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
}

var errMkSentinel = errors.New("mk: the caller's own error")

func TestMaker_Begin_RollsBackOnError_AndReturnsItAsIs(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "mk_error", "id int primary key")
	m := session.NewMaker(pool)
	ctx := context.Background()

	wrapped := fmt.Errorf("while doing things: %w", errMkSentinel)
	err := m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		txInsert(t, s, "mk_error", 1)
		return wrapped
	})
	assert.True(t, err == wrapped, "the error comes back as is, got %v", err) //nolint:errorlint // identity is the point
	assert.ErrorIs(t, err, errMkSentinel)
	assert.Equal(t, []int{}, txIDs(t, pool, "mk_error"))
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())

	// a server error from fn, too
	err = m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		txInsert(t, s, "mk_error", 2)
		_, err := s.Execute(ctx, "select 1/0")
		return err
	})
	assert.Equal(t, "22012", mkPgCode(err))
	assert.Equal(t, []int{}, txIDs(t, pool, "mk_error"))

	// a failed statement whose error fn swallows: the commit fails
	err = m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		txInsert(t, s, "mk_error", 3)
		_, _ = s.Execute(ctx, "select 1/0")
		return nil
	})
	require.ErrorIs(t, err, pgx.ErrTxCommitRollback)
	assert.Equal(t, []int{}, txIDs(t, pool, "mk_error"))
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
}

func TestMaker_Begin_RollsBackAndRepanicsOnPanic(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "mk_panic", "id int primary key")
	m := session.NewMaker(pool, session.WithRetry(session.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond}))
	ctx := context.Background()

	for _, value := range []any{"boom", &pgconn.PgError{Code: "40001"}} {
		var runs atomic.Int32
		recovered := func() (r any) {
			defer func() { r = recover() }()
			_ = m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
				runs.Add(1)
				txInsert(t, s, "mk_panic", 1)
				_, err := s.BeginNested(ctx)
				require.NoError(t, err)
				txInsert(t, s, "mk_panic", 2)
				panic(value)
			})
			return nil
		}()
		assert.Equal(t, value, recovered, "the panic goes on with its own value")
		assert.Equal(t, int32(1), runs.Load(), "a panic is never retried")
		assert.Equal(t, []int{}, txIDs(t, pool, "mk_panic"), "rolled back")
		testdb.AssertNoAcquired(t, pool)
	}
}

func TestMaker_Begin_BeginFailure(t *testing.T) {
	pool := testdb.Pool(t)
	m := session.NewMaker(pool)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ran bool
	err := m.Begin(ctx, func(context.Context, *session.Session) error { ran = true; return nil })
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, ran, "fn does not run without a transaction")
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
}

func TestMaker_CloseAll_RollsBackEverySessionsTransaction(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "mk_closeall", "id int primary key")
	m := session.NewMaker(pool)
	other := session.NewMaker(pool)
	ctx := context.Background()

	s1 := txSession(t, m)
	s2 := txSession(t, m)
	s3 := txSession(t, m)
	idle := txSession(t, m)
	done := txSession(t, m)
	foreign := txSession(t, other)

	_, err := s1.Begin(ctx)
	require.NoError(t, err)
	txInsert(t, s1, "mk_closeall", 1)
	_, err = s2.BeginNested(ctx)
	require.NoError(t, err)
	txInsert(t, s2, "mk_closeall", 2)
	_, err = s3.Begin(ctx)
	require.NoError(t, err)
	_, err = s3.BeginNested(ctx)
	require.NoError(t, err)
	txInsert(t, s3, "mk_closeall", 3)
	txInsert(t, idle, "mk_closeall", 4) // autocommit
	_, err = done.Begin(ctx)
	require.NoError(t, err)
	txInsert(t, done, "mk_closeall", 5)
	require.NoError(t, done.Commit(ctx))
	_, err = foreign.Begin(ctx)
	require.NoError(t, err)
	txInsert(t, foreign, "mk_closeall", 6)
	require.Equal(t, int32(4), pool.Stat().AcquiredConns())

	require.NoError(t, m.CloseAll(ctx))
	for i, s := range []*session.Session{s1, s2, s3, idle, done} {
		assert.False(t, s.InTransaction(), "session %d", i+1)
	}
	assert.True(t, foreign.InTransaction(), "another Maker's session is not touched")
	assert.Equal(t, int32(1), pool.Stat().AcquiredConns())
	assert.Equal(t, []int{4, 5}, txIDs(t, pool, "mk_closeall"))

	// nothing is left to close; the sessions start afresh
	require.NoError(t, m.CloseAll(ctx))
	_, err = s1.Begin(ctx)
	require.NoError(t, err)
	txInsert(t, s1, "mk_closeall", 7)
	require.NoError(t, s1.Commit(ctx))
	require.NoError(t, foreign.Commit(ctx))
	assert.Equal(t, []int{4, 5, 6, 7}, txIDs(t, pool, "mk_closeall"))
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
}

func TestMaker_CloseAll_SessionInACallIsErrBusy(t *testing.T) {
	pool := testdb.Pool(t)
	m := session.NewMaker(pool)
	ctx := context.Background()
	s := txSession(t, m)
	_, err := s.Begin(ctx)
	require.NoError(t, err)
	st, err := s.Stream(ctx, "select g from generate_series(1, 100000) g")
	require.NoError(t, err)
	_ = st.FetchMany(10) // the stream holds the session

	err = m.CloseAll(ctx)
	require.ErrorIs(t, err, session.ErrBusy)
	assert.True(t, s.InTransaction(), "a busy session is not interrupted")

	assert.Len(t, st.FetchMany(10), 10, "nor is its stream")

	st.Close()
	require.NoError(t, m.CloseAll(ctx))
	assert.False(t, s.InTransaction())
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())

	// a session in a running statement
	_, err = s.Begin(ctx)
	require.NoError(t, err)
	started, finished := make(chan struct{}), make(chan error, 1)
	go func() {
		close(started)
		_, err := s.Execute(ctx, "select pg_sleep(0.3)")
		finished <- err
	}()
	<-started
	require.Eventually(t, func() bool {
		var n int
		err := pool.QueryRow(ctx, `select count(*) from pg_stat_activity
			where state = 'active' and query = 'select pg_sleep(0.3)'`).Scan(&n)
		return err == nil && n == 1
	}, 5*time.Second, 5*time.Millisecond)
	require.ErrorIs(t, m.CloseAll(ctx), session.ErrBusy)
	require.NoError(t, <-finished, "the running statement is not interrupted")
	require.NoError(t, m.CloseAll(ctx))
	assert.False(t, s.InTransaction())
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
}

func TestMaker_CloseAll_FromAnotherGoroutineLeavesAStreamToItsReader(t *testing.T) {
	// CloseAll runs on its caller's goroutine (a shutdown, say): it must not
	// close a stream under the goroutine reading it
	pool := testdb.Pool(t)
	m := session.NewMaker(pool)
	s := txSession(t, m)
	ctx := context.Background()
	_, err := s.Begin(ctx)
	require.NoError(t, err)
	st, err := s.Stream(ctx, "select g from generate_series(1, 200000) g")
	require.NoError(t, err)

	stop := make(chan struct{})
	var busy atomic.Int32
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			err := m.CloseAll(ctx)
			if errors.Is(err, session.ErrBusy) {
				busy.Add(1)
			} else {
				assert.NoError(t, err)
			}
			time.Sleep(100 * time.Microsecond)
		}
	})
	n := 0
	for {
		rows := st.FetchMany(1000)
		if len(rows) == 0 {
			break
		}
		n += len(rows)
	}
	close(stop)
	wg.Wait()
	require.NoError(t, st.Err())
	assert.Equal(t, 200000, n, "the reader got every row")
	assert.Positive(t, busy.Load(), "CloseAll met the stream")
	require.NoError(t, m.CloseAll(ctx))
	assert.False(t, s.InTransaction())
	testdb.AssertNoAcquired(t, pool)
}

// mkWriteSkew runs the classic serialization anomaly on table mk_ssi (class,
// value): each of two transactions sums one class and inserts that sum into
// the other class. Both read before either writes (on their first attempt;
// a retry runs alone). It returns each Maker.Begin's error and how many
// times fn ran in all.
func mkWriteSkew(t *testing.T, m *session.Maker) (errs [2]error, runs int32) {
	t.Helper()
	var (
		total atomic.Int32
		read  = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		wg    sync.WaitGroup
	)
	for i := range 2 {
		mine, theirs := i+1, 2-i // classes 1 and 2
		wg.Go(func() {
			attempt := 0
			errs[i] = m.Begin(context.Background(), func(ctx context.Context, s *session.Session) error {
				total.Add(1)
				attempt++
				sum, err := s.Scalar(ctx, "select coalesce(sum(value), 0)::int from mk_ssi where class = $1", mine)
				if err != nil {
					return err
				}
				if attempt == 1 {
					close(read[i])
					select {
					case <-read[1-i]:
					case <-time.After(10 * time.Second):
						return errors.New("the other transaction never read")
					}
				}
				_, err = s.Execute(ctx, "insert into mk_ssi (class, value) values ($1, $2)", theirs, sum)
				return err
			})
		})
	}
	wg.Wait()
	return errs, total.Load()
}

func mkSSITable(t *testing.T) *session.Maker {
	t.Helper()
	pool := testdb.Pool(t)
	txTable(t, pool, "mk_ssi", "class int not null, value int not null")
	_, err := pool.Exec(context.Background(), "insert into mk_ssi values (1, 10), (1, 20), (2, 100), (2, 200)")
	require.NoError(t, err)
	return session.NewMaker(pool, session.WithIsolation(pgx.Serializable))
}

func TestMaker_Begin_Retry_SerializationFailure(t *testing.T) {
	m := mkSSITable(t)
	m.Configure(session.WithRetry(session.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond}))

	errs, runs := mkWriteSkew(t, m)
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	assert.Greater(t, runs, int32(2), "the transaction that lost the conflict ran again")

	// the outcome is that of one serial order or the other
	rows, err := m.Pool().Query(context.Background(), "select class, value from mk_ssi where value not in (10, 20, 100, 200) order by class")
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Class, Value int }])
	require.NoError(t, err)
	require.Len(t, got, 2)
	newValues := [2]int{got[0].Value, got[1].Value}
	assert.Contains(t, [][2]int{{330, 30}, {300, 330}}, newValues, "not serializable: %v", got)
}

func TestMaker_Begin_NoRetry_SerializationFailureIs40001(t *testing.T) {
	m := mkSSITable(t)

	errs, runs := mkWriteSkew(t, m)
	assert.Equal(t, int32(2), runs, "no retry")
	failed := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		failed++
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr)
		assert.Equal(t, "40001", pgErr.Code)
		assert.NotContains(t, err.Error(), "attempts")
	}
	assert.Equal(t, 1, failed, "exactly one transaction loses the conflict: %v", errs)
	var n int
	require.NoError(t, m.Pool().QueryRow(context.Background(), "select count(*) from mk_ssi").Scan(&n))
	assert.Equal(t, 5, n, "only the winner's row is there")
}

func TestMaker_Begin_Retry_Deadlock(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "mk_deadlock", "id int primary key, n int not null")
	ctx := context.Background()
	_, err := pool.Exec(ctx, "insert into mk_deadlock values (1, 0), (2, 0)")
	require.NoError(t, err)
	m := session.NewMaker(pool, session.WithRetry(session.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond}))

	var (
		total  atomic.Int32
		locked = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		errs   [2]error
		wg     sync.WaitGroup
	)
	for i := range 2 {
		first, second := i+1, 2-i // opposite orders
		wg.Go(func() {
			attempt := 0
			errs[i] = m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
				total.Add(1)
				attempt++
				if _, err := s.Execute(ctx, "update mk_deadlock set n = n + 1 where id = $1", first); err != nil {
					return err
				}
				if attempt == 1 {
					close(locked[i])
					select {
					case <-locked[1-i]:
					case <-time.After(10 * time.Second):
						return errors.New("the other transaction never locked its row")
					}
				}
				_, err := s.Execute(ctx, "update mk_deadlock set n = n + 1 where id = $1", second)
				return err
			})
		})
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	assert.GreaterOrEqual(t, total.Load(), int32(3), "the deadlock victim ran again")
	var n1, n2 int
	require.NoError(t, pool.QueryRow(ctx, "select (select n from mk_deadlock where id = 1), (select n from mk_deadlock where id = 2)").Scan(&n1, &n2))
	assert.Equal(t, [2]int{2, 2}, [2]int{n1, n2}, "both transactions' updates, once each")
}

func TestMaker_Begin_NonRetryableErrorIsNotRetried(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "mk_unique", "id int primary key")
	ctx := context.Background()
	_, err := pool.Exec(ctx, "insert into mk_unique values (1)")
	require.NoError(t, err)
	m := session.NewMaker(pool, session.WithRetry(session.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond}))

	var runs atomic.Int32
	err = m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		runs.Add(1)
		txInsert(t, s, "mk_unique", 2)
		_, err := s.Execute(ctx, "insert into mk_unique values (1)")
		return err
	})
	assert.Equal(t, "23505", mkPgCode(err))
	assert.NotContains(t, err.Error(), "attempts")
	assert.Equal(t, int32(1), runs.Load())

	runs.Store(0)
	err = m.Begin(ctx, func(context.Context, *session.Session) error {
		runs.Add(1)
		return errMkSentinel
	})
	assert.True(t, err == errMkSentinel, "got %v", err) //nolint:errorlint // identity is the point
	assert.Equal(t, int32(1), runs.Load())
	assert.Equal(t, []int{1}, txIDs(t, pool, "mk_unique"))
}

func TestMaker_Begin_Retry_RunsEachAttemptInANewTransaction(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "mk_attempts", "id int primary key")
	ctx := context.Background()
	m := session.NewMaker(pool, session.WithRetry(session.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond}))

	// a retryable error (as the server would send it) on the first two runs
	var runs atomic.Int32
	err := m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		n := int(runs.Add(1))
		assert.True(t, s.InTransaction())
		assert.Equal(t, []int{}, txSessionIDs(t, s, "mk_attempts"), "an earlier attempt's work is gone")
		txInsert(t, s, "mk_attempts", n)
		if n <= 2 {
			return fmt.Errorf("attempt %d: %w", n, &pgconn.PgError{Code: "40P01", Message: "deadlock detected"})
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, int32(3), runs.Load())
	assert.Equal(t, []int{3}, txIDs(t, pool, "mk_attempts"))
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())

	// out of attempts: the last error, saying how many runs it took
	runs.Store(0)
	err = m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		runs.Add(1)
		return &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
	})
	assert.Equal(t, int32(4), runs.Load())
	assert.Equal(t, "40001", mkPgCode(err))
	assert.Contains(t, err.Error(), "after 4 attempts")

	// no policy: no retry
	runs.Store(0)
	err = session.NewMaker(pool).Begin(ctx, func(ctx context.Context, s *session.Session) error {
		runs.Add(1)
		return &pgconn.PgError{Code: "40001"}
	})
	assert.Equal(t, int32(1), runs.Load())
	assert.Equal(t, "40001", mkPgCode(err))

	// MaxAttempts 1: no retry either
	runs.Store(0)
	err = m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		runs.Add(1)
		return &pgconn.PgError{Code: "40001"}
	}, session.WithRetry(session.RetryPolicy{MaxAttempts: 1}))
	assert.Equal(t, int32(1), runs.Load())
	assert.Equal(t, "40001", mkPgCode(err))
}

func TestMaker_Begin_Retry_ContextEndsDuringBackoff(t *testing.T) {
	pool := testdb.Pool(t)
	m := session.NewMaker(pool, session.WithRetry(session.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}))
	// the deadline must outlast the first BEGIN (a new connection, slow under
	// -race on a busy machine) and end during the hour-long backoff
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	var runs atomic.Int32
	start := time.Now()
	err := m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		runs.Add(1)
		return &pgconn.PgError{Code: "40001"}
	})
	assert.Less(t, time.Since(start), 10*time.Second, "the backoff stops with the context")
	assert.Equal(t, int32(1), runs.Load())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "40001", mkPgCode(err), "the transaction's own error is kept")
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
}

func TestMaker_Begin_ConcurrentCallsEachHaveTheirSession(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "mk_concurrent", "id int primary key")
	m := session.NewMaker(pool)
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			errs[i] = m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
				_, err := s.Execute(ctx, "insert into mk_concurrent (id) values ($1)", i)
				if err != nil || i%2 == 0 {
					return err
				}
				return errMkSentinel // odd ones roll back
			})
		})
	}
	wg.Wait()
	want := []int{}
	for i, err := range errs {
		if i%2 == 0 {
			assert.NoError(t, err)
			want = append(want, i)
		} else {
			assert.ErrorIs(t, err, errMkSentinel)
		}
	}
	assert.Equal(t, want, txIDs(t, pool, "mk_concurrent"))
	require.NoError(t, m.CloseAll(ctx))
}
