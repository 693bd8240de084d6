package session_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/session"
)

const (
	busyGoroutines = 16
	busyCalls      = 25
)

// busyTally counts the outcomes of concurrent calls and records anything
// that is neither a success nor ErrBusy.
type busyTally struct {
	ok, busy atomic.Int32
	mu       sync.Mutex
	other    []error
}

func (b *busyTally) add(err error, allowed ...error) {
	switch {
	case err == nil:
		b.ok.Add(1)
	case errors.Is(err, session.ErrBusy):
		b.busy.Add(1)
		if !strings.Contains(err.Error(), "not for concurrent use") {
			b.record(err)
		}
	default:
		for _, a := range allowed {
			if errors.Is(err, a) {
				return
			}
		}
		b.record(err)
	}
}

func (b *busyTally) record(err error) {
	b.mu.Lock()
	b.other = append(b.other, err)
	b.mu.Unlock()
}

func (b *busyTally) check(t *testing.T) {
	t.Helper()
	assert.Empty(t, b.other, "calls failed with something other than ErrBusy")
	assert.Positive(t, b.ok.Load(), "no call succeeded")
	assert.Positive(t, b.busy.Load(), "no call collided: the test did not exercise concurrency")
	t.Logf("%d succeeded, %d refused with ErrBusy", b.ok.Load(), b.busy.Load())
}

// busyRun starts n goroutines at once, each calling fn(g, i) calls times.
func busyRun(n, calls int, fn func(g, i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range n {
		wg.Go(func() {
			<-start
			for i := range calls {
				fn(g, i)
			}
		})
	}
	close(start)
	wg.Wait()
}

// busyHealthy checks that every idle connection of pool answers and is
// outside a transaction.
func busyHealthy(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	testdb.AssertNoAcquired(t, pool)
	conns := pool.AcquireAllIdle(ctx)
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for _, c := range conns {
		assert.Equal(t, byte('I'), c.Conn().PgConn().TxStatus())
		var v int
		require.NoError(t, c.QueryRow(ctx, "select 41 + 1").Scan(&v))
		assert.Equal(t, 42, v)
	}
}

func TestBusy_ConcurrentExecute_SucceedsOrErrBusy(t *testing.T) {
	pool := testdb.Pool(t)
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	var tally busyTally
	busyRun(busyGoroutines, busyCalls, func(g, i int) {
		want := g*1000 + i
		res, err := s.Execute(ctx, "select $1::int as v", want)
		tally.add(err)
		if err != nil {
			assert.Nil(t, res)
			return
		}
		v, err := res.Scalar()
		if assert.NoError(t, err) {
			assert.Equal(t, int32(want), v, "a call got another call's answer")
		}
	})
	tally.check(t)

	// the session still works, and the pool's connections are healthy
	for i := range 3 {
		v, err := s.Scalar(ctx, "select $1::int", i)
		require.NoError(t, err)
		assert.Equal(t, int32(i), v)
	}
	busyHealthy(t, pool)
}

func TestBusy_ConcurrentScalarAndStream_SucceedOrErrBusy(t *testing.T) {
	pool := testdb.Pool(t)
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	var tally busyTally
	busyRun(busyGoroutines, busyCalls, func(g, i int) {
		switch i % 3 {
		case 0:
			v, err := s.Scalar(ctx, "select $1::int", i)
			tally.add(err)
			if err == nil {
				assert.Equal(t, int32(i), v)
			}
		case 1:
			view, err := s.Scalars(ctx, "select generate_series(1, $1::int)", i)
			tally.add(err)
			if err == nil {
				assert.Len(t, view.All(), i)
			}
		default:
			// outside a transaction a stream has a connection of its own
			st, err := s.Stream(ctx, "select generate_series(1, $1::int)", i)
			tally.add(err)
			if err == nil {
				assert.Len(t, st.All(), i)
				assert.NoError(t, st.Err())
			}
		}
	})
	tally.check(t)
	v, err := s.Scalar(ctx, "select 'after'")
	require.NoError(t, err)
	assert.Equal(t, "after", v)
	busyHealthy(t, pool)
}

func TestBusy_ConcurrentExecuteInTransaction_TxStaysConsistent(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "busy_tx", "id int primary key")
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	_, err := s.Begin(ctx)
	require.NoError(t, err)
	pid, err := s.Scalar(ctx, "select pg_backend_pid()")
	require.NoError(t, err)

	var (
		tally busyTally
		mu    sync.Mutex
		ids   []int
	)
	busyRun(busyGoroutines, busyCalls, func(g, i int) {
		id := g*1000 + i
		res, err := s.Execute(ctx, "insert into busy_tx (id) values ($1) returning id, pg_backend_pid() as pid", id)
		tally.add(err)
		if err != nil {
			return
		}
		row, err := res.One()
		if !assert.NoError(t, err) {
			return
		}
		got, _ := row.Get("id")
		gotPid, _ := row.Get("pid")
		assert.Equal(t, int32(id), got)
		assert.Equal(t, pid, gotPid, "every statement ran on the transaction's connection")
		mu.Lock()
		ids = append(ids, id)
		mu.Unlock()
	})
	tally.check(t)
	slices.Sort(ids)

	assert.True(t, s.InTransaction())
	conn, err := s.Connection(ctx)
	require.NoError(t, err)
	assert.Equal(t, byte('T'), conn.PgConn().TxStatus(), "the transaction is not aborted")
	assert.Equal(t, ids, txSessionIDs(t, s, "busy_tx"), "exactly the successful inserts are in the transaction")
	assert.Equal(t, []int{}, txIDs(t, pool, "busy_tx"), "and none is committed yet")
	assert.Equal(t, int32(1), pool.Stat().AcquiredConns())

	require.NoError(t, s.Commit(ctx))
	assert.Equal(t, ids, txIDs(t, pool, "busy_tx"))
	busyHealthy(t, pool)
}

func TestBusy_ConcurrentSavepointsAndStatements_NeverCorrupt(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "busy_sp", "id int primary key")
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	outer, err := s.Begin(ctx)
	require.NoError(t, err)

	var tally busyTally
	busyRun(busyGoroutines, busyCalls, func(g, i int) {
		switch i % 4 {
		case 0:
			sp, err := s.BeginNested(ctx)
			tally.add(err)
			if err != nil {
				return
			}
			_, err = s.Execute(ctx, "insert into busy_sp (id) values ($1)", g*1000+i)
			tally.add(err)
			// another goroutine may have ended it (with one around it): ErrTxDone
			if g%2 == 0 {
				tally.add(sp.Commit(ctx), session.ErrTxDone)
			} else {
				tally.add(sp.Rollback(ctx), session.ErrTxDone)
			}
		case 1:
			_ = s.InNestedTransaction()
			_, err := s.Scalar(ctx, "select count(*) from busy_sp")
			tally.add(err)
		default:
			_, err := s.Execute(ctx, "insert into busy_sp (id) values ($1)", g*1000+i)
			tally.add(err)
		}
	})
	assert.Empty(t, tally.other, "calls failed with something other than ErrBusy or ErrTxDone")
	assert.Positive(t, tally.busy.Load())

	// whatever savepoints are left, the outer transaction is intact
	assert.Same(t, outer, s.Transaction())
	conn, err := s.Connection(ctx)
	require.NoError(t, err)
	assert.Equal(t, byte('T'), conn.PgConn().TxStatus())
	inTx := txSessionIDs(t, s, "busy_sp")
	require.NoError(t, s.Commit(ctx))
	assert.Equal(t, inTx, txIDs(t, pool, "busy_sp"), "what the transaction saw is what committed")
	assert.False(t, s.InTransaction())
	busyHealthy(t, pool)
}

func TestBusy_ConcurrentCloseAndExecute(t *testing.T) {
	pool := testdb.Pool(t)
	txTable(t, pool, "busy_close", "id int primary key")
	s := txSession(t, session.NewMaker(pool))
	ctx := context.Background()

	for round := range 5 {
		_, err := s.Begin(ctx)
		require.NoError(t, err)
		var tally busyTally
		busyRun(8, 10, func(g, i int) {
			if g == 0 && i == 5 {
				for {
					err := s.Close(ctx)
					if !errors.Is(err, session.ErrBusy) {
						tally.add(err)
						return
					}
				}
			}
			_, err := s.Execute(ctx, "insert into busy_close (id) values ($1)", round*100000+g*1000+i)
			tally.add(err)
		})
		assert.Empty(t, tally.other)
		assert.False(t, s.InTransaction(), "Close ran")
		testdb.AssertNoAcquired(t, pool)
	}
	busyHealthy(t, pool)
}

func TestBusy_StateAccessorsAreSafeFromAnyGoroutine(t *testing.T) {
	// Maker.CloseAll ends sessions from its caller's goroutine while their
	// owners may be asking whether a transaction is open: no data race
	pool := testdb.Pool(t)
	m := session.NewMaker(pool)
	s := txSession(t, m)
	ctx := context.Background()

	var tally busyTally
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // the owner
		defer close(stop)
		for range 50 {
			_, err := s.Begin(ctx)
			if err == nil || !strings.Contains(err.Error(), "already begun") {
				// the last Rollback may have met CloseAll's Close (ErrBusy), leaving one open
				tally.add(err)
			}
			_, err = s.BeginNested(ctx)
			tally.add(err)
			_, err = s.Scalar(ctx, "select 1")
			tally.add(err)
			tally.add(s.Rollback(ctx), session.ErrNoTransaction)
		}
	})
	wg.Go(func() { // the observer
		for {
			select {
			case <-stop:
				return
			default:
			}
			in, nested := s.InTransaction(), s.InNestedTransaction()
			outer, inner := s.Transaction(), s.NestedTransaction()
			_ = in && nested
			if outer != nil {
				assert.False(t, outer.IsNested())
			}
			if inner != nil {
				assert.True(t, inner.IsNested())
			}
		}
	})
	wg.Go(func() { // the shutdown
		for {
			select {
			case <-stop:
				return
			default:
			}
			err := m.CloseAll(ctx)
			if err != nil && !errors.Is(err, session.ErrBusy) {
				tally.record(err)
			}
		}
	})
	wg.Wait()
	assert.Empty(t, tally.other, "calls failed with something other than ErrBusy or ErrNoTransaction")
	assert.Positive(t, tally.ok.Load())
	require.NoError(t, m.CloseAll(ctx))
	assert.False(t, s.InTransaction())
	busyHealthy(t, pool)
}
