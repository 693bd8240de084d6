package session_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/session"
)

// txTable creates table name (columns given by cols) on pool and drops it when
// the test ends. Register it before the sessions that use it, so that their
// cleanup (which ends their transactions and releases their locks) runs
// first.
func txTable(t *testing.T, pool *pgxpool.Pool, name, cols string) {
	t.Helper()
	ctx := context.Background()
	_, err := pool.Exec(ctx, "drop table if exists "+name)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, "create table "+name+" ("+cols+")")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), "drop table if exists "+name)
		assert.NoError(t, err)
	})
}

// txSession returns a new session of m, closed when the test ends.
func txSession(t *testing.T, m *session.Maker, opts ...session.Option) *session.Session {
	t.Helper()
	s := m.New(opts...)
	t.Cleanup(func() {
		assert.NoError(t, s.Close(context.Background()))
	})
	return s
}

// txIDs returns the sorted ids of table, read on a connection of its own
// (outside any session): what is committed.
func txIDs(t *testing.T, pool *pgxpool.Pool, table string) []int {
	t.Helper()
	rows, err := pool.Query(context.Background(), "select id from "+table+" order by id")
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int])
	require.NoError(t, err)
	if ids == nil {
		ids = []int{}
	}
	return ids
}

// txSessionIDs returns the sorted ids of table as the session sees them
// (inside its transaction, if one is open).
func txSessionIDs(t *testing.T, s *session.Session, table string) []int {
	t.Helper()
	res, err := s.Execute(context.Background(), "select id from "+table+" order by id")
	require.NoError(t, err)
	ids := []int{}
	for _, v := range res.Scalars().All() {
		ids = append(ids, int(v.(int32)))
	}
	return ids
}

func txInsert(t *testing.T, s *session.Session, table string, id int) {
	t.Helper()
	_, err := s.Execute(context.Background(), "insert into "+table+" (id) values ($1)", id)
	require.NoError(t, err)
}

// TestTx_EndingTheOutermostTransaction ends one by each of the four ways:
// the session's Commit/Rollback and the Tx's own (which, for the outermost
// transaction, are the same thing, as in the reference).
func TestTx_EndingTheOutermostTransaction(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		end     func(*session.Session, *session.Tx) error
		commits bool
	}{
		{"Session.Commit", func(s *session.Session, _ *session.Tx) error { return s.Commit(ctx) }, true},
		{"Tx.Commit", func(_ *session.Session, tx *session.Tx) error { return tx.Commit(ctx) }, true},
		{"Session.Rollback", func(s *session.Session, _ *session.Tx) error { return s.Rollback(ctx) }, false},
		{"Tx.Rollback", func(_ *session.Session, tx *session.Tx) error { return tx.Rollback(ctx) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool := testdb.Pool(t)
			table := "tx_end_" + strings.ReplaceAll(strings.ToLower(tc.name), ".", "_")
			txTable(t, pool, table, "id int primary key")
			s := txSession(t, session.NewMaker(pool))

			tx, err := s.Begin(ctx)
			require.NoError(t, err)
			require.NotNil(t, tx)
			assert.False(t, tx.IsNested())
			assert.True(t, s.InTransaction())
			assert.Equal(t, int32(1), pool.Stat().AcquiredConns(), "the transaction pins one connection")

			txInsert(t, s, table, 1)
			txInsert(t, s, table, 2)
			assert.Equal(t, []int{1, 2}, txSessionIDs(t, s, table), "the session sees its own work")
			assert.Equal(t, []int{}, txIDs(t, pool, table), "nobody else sees it before the commit")

			require.NoError(t, tc.end(s, tx))
			assert.False(t, s.InTransaction())
			assert.Equal(t, int32(0), pool.Stat().AcquiredConns(), "the connection goes back at the end")
			want := []int{}
			if tc.commits {
				want = []int{1, 2}
			}
			assert.Equal(t, want, txIDs(t, pool, table))
			assert.Equal(t, want, txSessionIDs(t, s, table), "the session sees the same after the end")

			// the session begins again after either end
			tx, err = s.Begin(ctx)
			require.NoError(t, err)
			txInsert(t, s, table, 8)
			require.NoError(t, tx.Rollback(ctx))
			assert.Equal(t, want, txIDs(t, pool, table))
		})
	}
}

func TestTx_Begin_Twice_Fails_AndKeepsTheFirst(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "tx_twice", "id int primary key")
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	tx, err := s.Begin(ctx)
	require.NoError(t, err)
	txInsert(t, s, "tx_twice", 1)

	tx2, err := s.Begin(ctx)
	require.Error(t, err)
	assert.Nil(t, tx2)
	assert.NotErrorIs(t, err, session.ErrBusy)
	assert.Contains(t, err.Error(), "already begun")
	assert.Equal(t, int32(1), pool.Stat().AcquiredConns(), "no second connection was taken")

	assert.Same(t, tx, s.Transaction(), "the first transaction goes on")
	txInsert(t, s, "tx_twice", 2)
	require.NoError(t, s.Commit(ctx))
	assert.Equal(t, []int{1, 2}, txIDs(t, pool, "tx_twice"))
}

func TestTx_CommitRollback_WithoutTransaction_ErrNoTransaction(t *testing.T) {
	pool := testdb.Pool(t)
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	err := s.Commit(ctx)
	require.ErrorIs(t, err, session.ErrNoTransaction)
	assert.Contains(t, err.Error(), "Commit")
	err = s.Rollback(ctx)
	require.ErrorIs(t, err, session.ErrNoTransaction)
	assert.Contains(t, err.Error(), "Rollback")

	// and again once a transaction has ended
	_, err = s.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Commit(ctx))
	require.ErrorIs(t, s.Commit(ctx), session.ErrNoTransaction)
	require.ErrorIs(t, s.Rollback(ctx), session.ErrNoTransaction)
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
}

func TestTx_StateAccessors(t *testing.T) {
	pool := testdb.Pool(t)
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	assert.False(t, s.InTransaction())
	assert.False(t, s.InNestedTransaction())
	assert.Nil(t, s.Transaction())
	assert.Nil(t, s.NestedTransaction())

	tx, err := s.Begin(ctx)
	require.NoError(t, err)
	assert.True(t, s.InTransaction())
	assert.False(t, s.InNestedTransaction())
	assert.Same(t, tx, s.Transaction())
	assert.Nil(t, s.NestedTransaction())
	assert.False(t, tx.IsNested())

	sp1, err := s.BeginNested(ctx)
	require.NoError(t, err)
	assert.True(t, sp1.IsNested())
	assert.True(t, s.InTransaction())
	assert.True(t, s.InNestedTransaction())
	assert.Same(t, tx, s.Transaction(), "Transaction is the outermost one")
	assert.Same(t, sp1, s.NestedTransaction())

	sp2, err := s.BeginNested(ctx)
	require.NoError(t, err)
	assert.Same(t, tx, s.Transaction())
	assert.Same(t, sp2, s.NestedTransaction(), "NestedTransaction is the innermost savepoint")

	require.NoError(t, sp2.Rollback(ctx))
	assert.Same(t, sp1, s.NestedTransaction())
	assert.True(t, s.InNestedTransaction())

	require.NoError(t, sp1.Commit(ctx))
	assert.Nil(t, s.NestedTransaction())
	assert.False(t, s.InNestedTransaction())
	assert.True(t, s.InTransaction())
	assert.Same(t, tx, s.Transaction())

	require.NoError(t, s.Commit(ctx))
	assert.False(t, s.InTransaction())
	assert.False(t, s.InNestedTransaction())
	assert.Nil(t, s.Transaction())
	assert.Nil(t, s.NestedTransaction())
}

func TestTx_BeginNested_WithoutBegin_BeginsTheOuterTransaction(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "tx_autonest", "id int primary key")
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	sp, err := s.BeginNested(ctx)
	require.NoError(t, err)
	assert.True(t, sp.IsNested())
	assert.True(t, s.InTransaction())
	assert.True(t, s.InNestedTransaction())
	outer := s.Transaction()
	require.NotNil(t, outer)
	assert.NotSame(t, sp, outer)
	assert.False(t, outer.IsNested())
	assert.Same(t, sp, s.NestedTransaction())

	txInsert(t, s, "tx_autonest", 1)
	require.NoError(t, sp.Commit(ctx), "releasing the savepoint")
	assert.True(t, s.InTransaction(), "releasing the savepoint leaves the outer transaction open")
	assert.False(t, s.InNestedTransaction())
	assert.Equal(t, []int{}, txIDs(t, pool, "tx_autonest"), "nothing is committed by releasing a savepoint")

	require.NoError(t, s.Commit(ctx))
	assert.Equal(t, []int{1}, txIDs(t, pool, "tx_autonest"))
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
}

func TestTx_Nested_Depth3_RollbackOfTheMiddleKeepsTheOuter(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "tx_depth3", "id int primary key")
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	_, err := s.Begin(ctx)
	require.NoError(t, err)
	txInsert(t, s, "tx_depth3", 1)
	middle, err := s.BeginNested(ctx)
	require.NoError(t, err)
	txInsert(t, s, "tx_depth3", 2)
	inner, err := s.BeginNested(ctx)
	require.NoError(t, err)
	txInsert(t, s, "tx_depth3", 3)
	assert.Equal(t, []int{1, 2, 3}, txSessionIDs(t, s, "tx_depth3"))

	require.NoError(t, middle.Rollback(ctx))
	assert.Equal(t, []int{1}, txSessionIDs(t, s, "tx_depth3"), "the middle savepoint and the inner one are undone")
	assert.True(t, s.InTransaction())
	assert.False(t, s.InNestedTransaction())
	assert.Nil(t, s.NestedTransaction())
	require.ErrorIs(t, inner.Commit(ctx), session.ErrTxDone, "the inner savepoint ended with the middle one")
	require.ErrorIs(t, middle.Rollback(ctx), session.ErrTxDone)

	// the outer transaction goes on and commits its own work
	txInsert(t, s, "tx_depth3", 4)
	require.NoError(t, s.Commit(ctx))
	assert.Equal(t, []int{1, 4}, txIDs(t, pool, "tx_depth3"))
}

func TestTx_Nested_Depth4_RollbackOfAMiddleSavepoint(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "tx_depth4", "id int primary key")
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	_, err := s.Begin(ctx)
	require.NoError(t, err)
	txInsert(t, s, "tx_depth4", 1)
	sp1, err := s.BeginNested(ctx)
	require.NoError(t, err)
	txInsert(t, s, "tx_depth4", 2)
	sp2, err := s.BeginNested(ctx)
	require.NoError(t, err)
	txInsert(t, s, "tx_depth4", 3)
	sp3, err := s.BeginNested(ctx)
	require.NoError(t, err)
	txInsert(t, s, "tx_depth4", 4)

	require.NoError(t, sp2.Rollback(ctx))
	assert.Equal(t, []int{1, 2}, txSessionIDs(t, s, "tx_depth4"))
	assert.Same(t, sp1, s.NestedTransaction(), "the savepoint around the rolled-back one is current again")
	require.ErrorIs(t, sp3.Rollback(ctx), session.ErrTxDone)

	// statements now run in sp1: rolling it back undoes them
	txInsert(t, s, "tx_depth4", 5)
	sp4, err := s.BeginNested(ctx)
	require.NoError(t, err)
	txInsert(t, s, "tx_depth4", 6)
	require.NoError(t, sp4.Commit(ctx))
	assert.Equal(t, []int{1, 2, 5, 6}, txSessionIDs(t, s, "tx_depth4"))
	require.NoError(t, sp1.Rollback(ctx))
	assert.Equal(t, []int{1}, txSessionIDs(t, s, "tx_depth4"), "released savepoints belong to the one around them")

	require.NoError(t, s.Commit(ctx))
	assert.Equal(t, []int{1}, txIDs(t, pool, "tx_depth4"))
}

func TestTx_SavepointCommit_ReleasesIntoTheEnclosingTransaction(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "tx_release", "id int primary key")
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	// released work commits with the outer transaction
	_, err := s.Begin(ctx)
	require.NoError(t, err)
	sp, err := s.BeginNested(ctx)
	require.NoError(t, err)
	txInsert(t, s, "tx_release", 1)
	require.NoError(t, sp.Commit(ctx))
	require.ErrorIs(t, sp.Commit(ctx), session.ErrTxDone)
	require.ErrorIs(t, sp.Rollback(ctx), session.ErrTxDone)
	assert.True(t, s.InTransaction())
	assert.Equal(t, []int{}, txIDs(t, pool, "tx_release"), "releasing commits nothing")
	require.NoError(t, s.Commit(ctx))
	assert.Equal(t, []int{1}, txIDs(t, pool, "tx_release"))

	// and rolls back with it
	_, err = s.Begin(ctx)
	require.NoError(t, err)
	sp, err = s.BeginNested(ctx)
	require.NoError(t, err)
	txInsert(t, s, "tx_release", 2)
	require.NoError(t, sp.Commit(ctx))
	assert.Equal(t, []int{1, 2}, txSessionIDs(t, s, "tx_release"))
	require.NoError(t, s.Rollback(ctx))
	assert.Equal(t, []int{1}, txIDs(t, pool, "tx_release"))
}

func TestTx_SavepointRollback_RecoversAnAbortedTransaction(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "tx_recover", "id int primary key")
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	_, err := s.Begin(ctx)
	require.NoError(t, err)
	txInsert(t, s, "tx_recover", 1)
	sp, err := s.BeginNested(ctx)
	require.NoError(t, err)
	_, err = s.Execute(ctx, "insert into tx_recover (id) values (1)")
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "23505", pgErr.Code)
	_, err = s.Execute(ctx, "select 1")
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "25P02", pgErr.Code, "the transaction is aborted until the savepoint is rolled back")

	require.NoError(t, sp.Rollback(ctx))
	txInsert(t, s, "tx_recover", 2)
	require.NoError(t, s.Commit(ctx))
	assert.Equal(t, []int{1, 2}, txIDs(t, pool, "tx_recover"))
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
}

func TestTx_Commit_OfAnAbortedTransaction_FailsAndRollsBack(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "tx_aborted", "id int primary key")
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	_, err := s.Begin(ctx)
	require.NoError(t, err)
	txInsert(t, s, "tx_aborted", 1)
	_, err = s.Execute(ctx, "select 1/0")
	require.Error(t, err)
	err = s.Commit(ctx)
	require.ErrorIs(t, err, pgx.ErrTxCommitRollback, "a commit that the server turned into a rollback is not a success")
	assert.False(t, s.InTransaction())
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
	assert.Equal(t, []int{}, txIDs(t, pool, "tx_aborted"))

	// the session and its pool go on
	txInsert(t, s, "tx_aborted", 2)
	assert.Equal(t, []int{2}, txIDs(t, pool, "tx_aborted"))
}

func TestTx_ErrTxDone_AfterItsOwnEnd(t *testing.T) {
	pool := testdb.Pool(t)
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	for _, tc := range []struct {
		name   string
		nested bool
		end    func(*session.Tx) error
	}{
		{"Commit", false, func(tx *session.Tx) error { return tx.Commit(ctx) }},
		{"Rollback", false, func(tx *session.Tx) error { return tx.Rollback(ctx) }},
		{"savepoint Commit", true, func(tx *session.Tx) error { return tx.Commit(ctx) }},
		{"savepoint Rollback", true, func(tx *session.Tx) error { return tx.Rollback(ctx) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := s.Begin(ctx)
			require.NoError(t, err)
			if tc.nested {
				tx, err = s.BeginNested(ctx)
				require.NoError(t, err)
			}
			require.NoError(t, tc.end(tx))
			err = tx.Commit(ctx)
			require.ErrorIs(t, err, session.ErrTxDone)
			assert.Contains(t, err.Error(), "Commit")
			err = tx.Rollback(ctx)
			require.ErrorIs(t, err, session.ErrTxDone)
			assert.Contains(t, err.Error(), "Rollback")
			if tc.nested {
				assert.True(t, s.InTransaction(), "a done savepoint does not touch the outer transaction")
				require.NoError(t, s.Rollback(ctx))
			}
			assert.False(t, s.InTransaction())
		})
	}
}

func TestTx_ErrTxDone_AfterAnEnclosingEnd(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "tx_enclosing", "id int primary key")
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	ends := map[string]func(*session.Tx) error{
		"Session.Commit":   func(*session.Tx) error { return s.Commit(ctx) },
		"Session.Rollback": func(*session.Tx) error { return s.Rollback(ctx) },
		"Tx.Commit":        func(outer *session.Tx) error { return outer.Commit(ctx) },
		"Tx.Rollback":      func(outer *session.Tx) error { return outer.Rollback(ctx) },
		"Close":            func(*session.Tx) error { return s.Close(ctx) },
		"Reset":            func(*session.Tx) error { return s.Reset(ctx) },
		"Invalidate":       func(*session.Tx) error { return s.Invalidate(ctx) },
	}
	for name, end := range ends {
		t.Run(name, func(t *testing.T) {
			outer, err := s.Begin(ctx)
			require.NoError(t, err)
			sp1, err := s.BeginNested(ctx)
			require.NoError(t, err)
			sp2, err := s.BeginNested(ctx)
			require.NoError(t, err)
			require.NoError(t, end(outer))
			assert.False(t, s.InTransaction())
			for _, tx := range []*session.Tx{outer, sp1, sp2} {
				require.ErrorIs(t, tx.Commit(ctx), session.ErrTxDone)
				require.ErrorIs(t, tx.Rollback(ctx), session.ErrTxDone)
			}
			// a discarded connection leaves the pool's count from a goroutine of puddle's
			testdb.AssertNoAcquired(t, pool)
		})
	}

	// a Tx from an ended transaction cannot end the next one
	old, err := s.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Commit(ctx))
	cur, err := s.Begin(ctx)
	require.NoError(t, err)
	txInsert(t, s, "tx_enclosing", 1)
	require.ErrorIs(t, old.Rollback(ctx), session.ErrTxDone)
	require.ErrorIs(t, old.Commit(ctx), session.ErrTxDone)
	assert.True(t, s.InTransaction())
	assert.Same(t, cur, s.Transaction())
	require.NoError(t, cur.Commit(ctx))
	assert.Equal(t, []int{1}, txIDs(t, pool, "tx_enclosing"))
}

func TestTx_Close_RollsBackReturnsTheConnectionAndStartsAfresh(t *testing.T) {
	for _, method := range []string{"Close", "Reset"} {
		t.Run(method, func(t *testing.T) {
			pool := testdb.Pool(t)
			table := "tx_close_" + method
			txTable(t, pool, table, "id int primary key")
			s := txSession(t, session.NewMaker(pool))
			ctx := context.Background()
			end := s.Close
			if method == "Reset" {
				end = s.Reset
			}

			tx, err := s.Begin(ctx)
			require.NoError(t, err)
			txInsert(t, s, table, 1)
			sp, err := s.BeginNested(ctx)
			require.NoError(t, err)
			txInsert(t, s, table, 2)

			require.NoError(t, end(ctx))
			assert.False(t, s.InTransaction())
			assert.False(t, s.InNestedTransaction())
			assert.Nil(t, s.Transaction())
			assert.Equal(t, int32(0), pool.Stat().AcquiredConns(), "the connection is back")
			assert.Equal(t, []int{}, txIDs(t, pool, table), "everything open was rolled back")
			require.ErrorIs(t, tx.Commit(ctx), session.ErrTxDone)
			require.ErrorIs(t, sp.Commit(ctx), session.ErrTxDone)

			// ending an ended session is harmless
			require.NoError(t, end(ctx))
			require.ErrorIs(t, s.Commit(ctx), session.ErrNoTransaction)

			// the session is usable again, from scratch
			txInsert(t, s, table, 3) // autocommit
			assert.Equal(t, []int{3}, txIDs(t, pool, table))
			_, err = s.Begin(ctx)
			require.NoError(t, err, "Begin works again after %s", method)
			txInsert(t, s, table, 4)
			require.NoError(t, s.Commit(ctx))
			assert.Equal(t, []int{3, 4}, txIDs(t, pool, table))
			assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
		})
	}
}

func TestTx_Close_PooledConnectionIsClean(t *testing.T) {
	// one connection in the pool: the next user gets the very connection the
	// closed session had, and it must not be inside a transaction
	cfg, err := pgxpool.ParseConfig(testdb.DSN())
	require.NoError(t, err)
	cfg.MaxConns = 1
	pool := testdb.PoolWithConfig(t, cfg)
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	_, err = s.Begin(ctx)
	require.NoError(t, err)
	pid, err := s.Scalar(ctx, "select pg_backend_pid()")
	require.NoError(t, err)
	_, err = s.BeginNested(ctx)
	require.NoError(t, err)
	_, err = s.Execute(ctx, "set local statement_timeout = 1")
	require.NoError(t, err)
	require.NoError(t, s.Close(ctx))

	c, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer c.Release()
	assert.Equal(t, byte('I'), c.Conn().PgConn().TxStatus())
	var pid2 int32
	var timeout string
	require.NoError(t, c.QueryRow(ctx, "select pg_backend_pid(), current_setting('statement_timeout')").Scan(&pid2, &timeout))
	assert.Equal(t, pid, pid2, "the same connection went back to the pool")
	assert.Equal(t, "0", timeout, "SET LOCAL ended with the transaction")
}

func TestTx_Invalidate_DiscardsTheConnection(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "tx_invalidate", "id int primary key")
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	require.NoError(t, s.Invalidate(ctx), "Invalidate without a transaction does nothing")

	tx, err := s.Begin(ctx)
	require.NoError(t, err)
	v, err := s.Scalar(ctx, "select pg_backend_pid()")
	require.NoError(t, err)
	pid := v.(int32)
	txInsert(t, s, "tx_invalidate", 1)
	total := pool.Stat().TotalConns()
	require.GreaterOrEqual(t, total, int32(1))

	require.NoError(t, s.Invalidate(ctx))
	assert.False(t, s.InTransaction())
	require.ErrorIs(t, tx.Commit(ctx), session.ErrTxDone)
	// puddle destroys a released, closed connection from a goroutine of its own
	assert.Eventually(t, func() bool {
		st := pool.Stat()
		return st.AcquiredConns() == 0 && st.TotalConns() == total-1
	}, 2*time.Second, 5*time.Millisecond, "the connection is destroyed, not pooled")

	// the backend is gone and the server rolled its transaction back
	assert.Eventually(t, func() bool {
		var n int
		err := pool.QueryRow(ctx, "select count(*) from pg_stat_activity where pid = $1", pid).Scan(&n)
		return err == nil && n == 0
	}, 5*time.Second, 10*time.Millisecond, "backend %d is still there", pid)
	assert.Equal(t, []int{}, txIDs(t, pool, "tx_invalidate"))

	// the session is usable again, on another connection
	_, err = s.Begin(ctx)
	require.NoError(t, err)
	v, err = s.Scalar(ctx, "select pg_backend_pid()")
	require.NoError(t, err)
	assert.NotEqual(t, pid, v.(int32))
	txInsert(t, s, "tx_invalidate", 2)
	require.NoError(t, s.Commit(ctx))
	assert.Equal(t, []int{2}, txIDs(t, pool, "tx_invalidate"))
}

func TestTx_Connection_IsTheTransactionsConnection(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "tx_rawconn", "id int primary key")
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	conn, err := s.Connection(ctx)
	require.ErrorIs(t, err, session.ErrNoTransaction)
	assert.Nil(t, conn)
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns(), "Connection outside a transaction takes nothing")

	_, err = s.Begin(ctx)
	require.NoError(t, err)
	conn, err = s.Connection(ctx)
	require.NoError(t, err)
	require.NotNil(t, conn)
	assert.Equal(t, byte('T'), conn.PgConn().TxStatus(), "inside the transaction")

	var rawPid int32
	require.NoError(t, conn.QueryRow(ctx, "select pg_backend_pid()").Scan(&rawPid))
	sessPid, err := s.Scalar(ctx, "select pg_backend_pid()")
	require.NoError(t, err)
	assert.Equal(t, sessPid, rawPid, "the same connection as the session's statements")

	_, err = conn.Exec(ctx, "insert into tx_rawconn (id) values (1)")
	require.NoError(t, err)
	assert.Equal(t, []int{1}, txSessionIDs(t, s, "tx_rawconn"), "the session sees the raw statement's work")
	assert.Equal(t, []int{}, txIDs(t, pool, "tx_rawconn"), "the raw statement is part of the transaction")

	// inside a savepoint too
	sp, err := s.BeginNested(ctx)
	require.NoError(t, err)
	conn2, err := s.Connection(ctx)
	require.NoError(t, err)
	assert.Same(t, conn, conn2)
	_, err = conn2.Exec(ctx, "insert into tx_rawconn (id) values (2)")
	require.NoError(t, err)
	require.NoError(t, sp.Rollback(ctx))
	assert.Equal(t, []int{1}, txSessionIDs(t, s, "tx_rawconn"), "rolled back with the savepoint")

	require.NoError(t, s.Rollback(ctx))
	assert.Equal(t, []int{}, txIDs(t, pool, "tx_rawconn"), "rolled back with the transaction")
	_, err = s.Connection(ctx)
	require.ErrorIs(t, err, session.ErrNoTransaction)
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
}

func TestTx_Connection_CommitsWithTheTransaction(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "tx_rawcommit", "id int primary key")
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	_, err := s.Begin(ctx)
	require.NoError(t, err)
	conn, err := s.Connection(ctx)
	require.NoError(t, err)
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"tx_rawcommit"}, []string{"id"},
		pgx.CopyFromRows([][]any{{1}, {2}, {3}}))
	require.NoError(t, err)
	txInsert(t, s, "tx_rawcommit", 4)
	require.NoError(t, s.Commit(ctx))
	assert.Equal(t, []int{1, 2, 3, 4}, txIDs(t, pool, "tx_rawcommit"))
}

func TestSession_Info_PerSessionMergedWithTheMakers(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()

	plain := txSession(t, session.NewMaker(pool))
	info := plain.Info()
	require.NotNil(t, info)
	assert.Empty(t, info)
	info["k"] = "v"
	assert.Equal(t, "v", plain.Info()["k"], "Info returns the same map each time")

	base := map[string]any{"app": "streamcat", "shared": "maker"}
	m := session.NewMaker(pool, session.WithInfo(base))
	base["app"] = "changed after NewMaker"
	s1 := txSession(t, m, session.WithInfo(map[string]any{"user": "alice", "shared": "session"}))
	s2 := txSession(t, m)

	assert.Equal(t, map[string]any{"app": "streamcat", "shared": "session", "user": "alice"}, s1.Info(),
		"the session's own entries are merged over the Maker's")
	assert.Equal(t, map[string]any{"app": "streamcat", "shared": "maker"}, s2.Info())

	s1.Info()["request"] = 42
	delete(s1.Info(), "app")
	assert.Equal(t, map[string]any{"app": "streamcat", "shared": "maker"}, s2.Info(), "sessions do not share their maps")
	assert.Equal(t, map[string]any{"app": "streamcat", "shared": "maker"}, txSession(t, m).Info(),
		"the Maker's entries are not changed through a session")

	// Configure merges into the Maker's entries, for later sessions only
	m.Configure(session.WithInfo(map[string]any{"tenant": 7}))
	assert.Equal(t, map[string]any{"app": "streamcat", "shared": "maker", "tenant": 7}, txSession(t, m).Info())
	assert.Equal(t, map[string]any{"app": "streamcat", "shared": "maker"}, s2.Info())

	// Info lives across transactions and Close
	_, err := s1.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, s1.Close(ctx))
	assert.Equal(t, 42, s1.Info()["request"])
}

func TestTx_StatementsInsideATransactionRunOnItsConnection(t *testing.T) {
	// the session never takes a second connection while a transaction is open
	cfg, err := pgxpool.ParseConfig(testdb.DSN())
	require.NoError(t, err)
	cfg.MaxConns = 1
	pool := testdb.PoolWithConfig(t, cfg)
	s := txSession(t, session.NewMaker(pool))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	_, err = s.Begin(ctx)
	require.NoError(t, err)
	for i := range 5 {
		v, err := s.Scalar(ctx, "select $1::int", i)
		require.NoError(t, err, "a statement waited for a second connection")
		assert.Equal(t, int32(i), v)
	}
	st, err := s.Stream(ctx, "select g from generate_series(1, 10) g")
	require.NoError(t, err)
	rows := st.All()
	require.NoError(t, st.Err())
	assert.Len(t, rows, 10)
	_, err = s.BeginNested(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Commit(ctx))
	require.NoError(t, ctx.Err(), "nothing waited for a second connection")
}

func TestTx_Close_AfterTheServerKilledTheConnection(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "tx_killed", "id int primary key")
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	tx, err := s.Begin(ctx)
	require.NoError(t, err)
	pid, err := s.Scalar(ctx, "select pg_backend_pid()")
	require.NoError(t, err)
	txInsert(t, s, "tx_killed", 1)
	_, err = pool.Exec(ctx, "select pg_terminate_backend($1)", pid)
	require.NoError(t, err)

	assert.Eventually(t, func() bool {
		_, err := s.Execute(ctx, "select 1")
		return err != nil
	}, 5*time.Second, 10*time.Millisecond, "statements fail on the dead connection")
	assert.True(t, s.InTransaction(), "the session does not end the transaction behind the caller's back")

	// Close may report the dead connection, but it resets the session and
	// the connection does not go back to the pool
	if err := s.Close(ctx); err != nil {
		t.Logf("Close: %v", err)
	}
	assert.False(t, s.InTransaction())
	require.ErrorIs(t, tx.Rollback(ctx), session.ErrTxDone)
	testdb.AssertNoAcquired(t, pool)

	_, err = s.Begin(ctx)
	require.NoError(t, err)
	txInsert(t, s, "tx_killed", 2)
	require.NoError(t, s.Commit(ctx))
	assert.Equal(t, []int{2}, txIDs(t, pool, "tx_killed"))
	for range 5 {
		require.NoError(t, pool.Ping(ctx), "no dead connection was pooled")
	}
}

func TestTx_Begin_Failure_LeavesNothingOpen(t *testing.T) {
	pool := testdb.Pool(t)
	s := txSession(t, session.NewMaker(pool))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	tx, err := s.Begin(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, tx)
	sp, err := s.BeginNested(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, sp)
	assert.False(t, s.InTransaction())
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())

	// a failed savepoint leaves the transaction as it was
	ctx = context.Background()
	_, err = s.Begin(ctx)
	require.NoError(t, err)
	_, err = s.Execute(ctx, "select 1/0")
	require.Error(t, err)
	sp, err = s.BeginNested(ctx)
	require.Error(t, err, "no savepoint in an aborted transaction")
	assert.Nil(t, sp)
	assert.True(t, s.InTransaction())
	assert.False(t, s.InNestedTransaction())
	require.NoError(t, s.Rollback(ctx))
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns())
}
