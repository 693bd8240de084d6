package session_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/localpg"
	"github.com/streamcat/streamcat/session"
)

// startPrimaryReplica starts a primary of its own and a streaming hot
// standby of it, both stopped when the test ends.
func startPrimaryReplica(t *testing.T) (primary, replica *localpg.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary, err := localpg.Start(ctx, localpg.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, primary.Stop()) })
	replica, err = primary.StartReplica(ctx, localpg.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, replica.Stop()) })
	return primary, replica
}

// sessionPool is a session pool on dsn (closed, with every connection
// checked back, when the test ends); configure may change its config.
func sessionPool(t *testing.T, dsn string, configure func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	cfg, err := session.PoolConfig(dsn)
	require.NoError(t, err)
	if configure != nil {
		configure(cfg)
	}
	return testdb.PoolWithConfig(t, cfg)
}

func inRecovery(t *testing.T, ctx context.Context, s *session.Session, sql string, args ...any) bool {
	t.Helper()
	v, err := s.Scalar(ctx, sql, args...)
	require.NoError(t, err, sql)
	b, ok := v.(bool)
	require.True(t, ok, "%s: %T %v", sql, v, v)
	return b
}

func requireReadOnlyError(t *testing.T, err error) {
	t.Helper()
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "want a read-only transaction error, got %v", err)
	assert.Equal(t, "25006", pgErr.Code, "%v", err)
}

func TestPrimaryReplica_RoutesReadsToReplicasAndTheRestToThePrimary(t *testing.T) {
	ctx := context.Background()
	primary, replica := startPrimaryReplica(t)
	pp := sessionPool(t, primary.DSN(), nil)
	rp := sessionPool(t, replica.DSN(), nil)

	_, err := pp.Exec(ctx, `create table rr_items (id serial primary key, v text not null);
		create sequence rr_seq; create table rr_one as select 1 as x`)
	require.NoError(t, err)
	require.NoError(t, replica.WaitReplayed(ctx))

	router := session.NewPrimaryReplica(pp, rp)
	maker := session.NewMaker(pp, session.WithRouter(router))
	s := maker.New()
	t.Cleanup(func() { assert.NoError(t, s.Close(ctx)) })

	t.Run("a read outside a transaction runs on the replica", func(t *testing.T) {
		assert.True(t, inRecovery(t, ctx, s, "select pg_is_in_recovery()"))
		assert.True(t, inRecovery(t, ctx, s, "/* leading */ -- comments\n  SELECT pg_is_in_recovery() WHERE $1::text <> 'for update'", "x"))
		assert.True(t, inRecovery(t, ctx, s, "with x as (select pg_is_in_recovery() r) select r from x"))
		assert.True(t, inRecovery(t, ctx, s, "select pg_is_in_recovery() from rr_one where 'delete' <> $$insert$$"))
		v, err := s.Scalar(ctx, "show transaction_read_only")
		require.NoError(t, err)
		assert.Equal(t, "on", v, "SHOW answered by the replica")
		res, err := s.Execute(ctx, "explain insert into rr_items (v) values ('x')")
		require.NoError(t, err, "EXPLAIN without ANALYZE only plans: fine on a replica")
		assert.Positive(t, res.Len())
	})

	t.Run("writes, locking reads and writer functions run on the primary", func(t *testing.T) {
		// each would fail with 25006 on the replica, and answers which server ran it
		_, err := s.Execute(ctx, "insert into rr_items (v) values ('plain insert')")
		require.NoError(t, err)
		assert.False(t, inRecovery(t, ctx, s,
			"insert into rr_items (v) values ('returning') returning pg_is_in_recovery()"))
		assert.False(t, inRecovery(t, ctx, s, "select pg_is_in_recovery() from rr_one for update"))
		assert.False(t, inRecovery(t, ctx, s, "SELECT pg_is_in_recovery() FROM rr_one FOR KEY SHARE"))
		assert.False(t, inRecovery(t, ctx, s,
			"with x as (delete from rr_items where false returning id) select pg_is_in_recovery()"))
		assert.False(t, inRecovery(t, ctx, s,
			"with x as (insert into rr_items (v) values ('cte') returning id) select pg_is_in_recovery() from x"))
		res, err := s.Execute(ctx, "select nextval('rr_seq'), pg_is_in_recovery()")
		require.NoError(t, err)
		row, err := res.One()
		require.NoError(t, err)
		assert.Equal(t, []any{int64(1), false}, row.Values())
		assert.False(t, inRecovery(t, ctx, s, "select pg_is_in_recovery() from (select set_config('application_name', 'x', false)) s"))
		_, err = s.Execute(ctx, "explain analyze select * from rr_one for update")
		require.NoError(t, err, "EXPLAIN ANALYZE runs its locking read: primary")
		_, err = s.Execute(ctx, "select * into rr_copy from rr_one")
		require.NoError(t, err, "SELECT INTO creates a table: primary")

		// the same statements forced onto the replica fail there: the routing matters
		for _, sql := range []string{
			"insert into rr_items (v) values ('plain insert')",
			"select pg_is_in_recovery() from rr_one for update",
			"with x as (delete from rr_items where false returning id) select pg_is_in_recovery()",
			"select nextval('rr_seq'), pg_is_in_recovery()",
			"explain analyze select * from rr_one for update",
		} {
			_, err := s.Execute(session.OnReplica(ctx), sql)
			requireReadOnlyError(t, err)
		}
	})

	t.Run("everything in a transaction runs on the primary", func(t *testing.T) {
		_, err := s.Begin(ctx)
		require.NoError(t, err)
		assert.False(t, inRecovery(t, ctx, s, "select pg_is_in_recovery()"))
		assert.False(t, inRecovery(t, session.OnReplica(ctx), s, "select pg_is_in_recovery()"), "OnReplica does not move a transaction")
		_, err = s.Execute(ctx, "insert into rr_items (v) values ('in tx')")
		require.NoError(t, err)
		_, err = s.BeginNested(ctx)
		require.NoError(t, err)
		assert.False(t, inRecovery(t, ctx, s, "select pg_is_in_recovery()"))
		st, err := s.Stream(ctx, "select pg_is_in_recovery() from generate_series(1, 3)")
		require.NoError(t, err)
		for row, err := range st.Rows() {
			require.NoError(t, err)
			assert.Equal(t, false, row.At(0))
		}
		require.NoError(t, s.Commit(ctx))

		require.NoError(t, maker.Begin(ctx, func(ctx context.Context, s *session.Session) error {
			assert.False(t, inRecovery(t, ctx, s, "select pg_is_in_recovery()"))
			_, err := s.Execute(ctx, "insert into rr_items (v) values ('maker.Begin')")
			return err
		}))
	})

	t.Run("OnPrimary and OnReplica override the classification", func(t *testing.T) {
		assert.False(t, inRecovery(t, session.OnPrimary(ctx), s, "select pg_is_in_recovery()"))
		assert.True(t, inRecovery(t, session.OnReplica(ctx), s, "select pg_is_in_recovery()"))
		_, err := s.Execute(session.OnReplica(ctx), "insert into rr_items (v) values ('forced')")
		requireReadOnlyError(t, err)
		_, err = s.Execute(session.OnPrimary(ctx), "select * from rr_one")
		require.NoError(t, err)
	})

	t.Run("a stream of a read runs on the replica", func(t *testing.T) {
		st, err := s.Stream(ctx, "select pg_is_in_recovery() from generate_series(1, 1000)")
		require.NoError(t, err)
		n := 0
		for row, err := range st.Rows() {
			require.NoError(t, err)
			require.Equal(t, true, row.At(0))
			n++
		}
		assert.Equal(t, 1000, n)
		view, err := s.StreamScalars(session.OnPrimary(ctx), "select pg_is_in_recovery()")
		require.NoError(t, err)
		assert.Equal(t, []any{false}, view.All())
		st, err = s.Stream(ctx, "select pg_is_in_recovery() from rr_one for update")
		require.NoError(t, err)
		for row, err := range st.Rows() {
			require.NoError(t, err)
			assert.Equal(t, false, row.At(0))
		}
	})

	t.Run("nothing written is lost", func(t *testing.T) {
		// through sessions, outside and inside transactions, from several goroutines
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				s := maker.New()
				defer s.Close(ctx)
				for i := range 25 {
					if i%5 == 0 {
						err := maker.Begin(ctx, func(ctx context.Context, s *session.Session) error {
							_, err := s.Execute(ctx, "insert into rr_items (v) values ($1)", fmt.Sprintf("g%d-%d", g, i))
							return err
						})
						assert.NoError(t, err)
						continue
					}
					_, err := s.Execute(ctx, "insert into rr_items (v) values ($1)", fmt.Sprintf("g%d-%d", g, i))
					assert.NoError(t, err)
					// reads in between go to the replica and disturb nothing
					v, err := s.Scalar(ctx, "select pg_is_in_recovery()")
					assert.NoError(t, err)
					assert.Equal(t, true, v)
				}
			})
		}
		wg.Wait()
		// the goroutines' rows and the 5 earlier ones ('plain insert',
		// 'returning', 'cte', 'in tx', 'maker.Begin'), each v different
		const want = 8*25 + 5
		var onPrimary int64
		require.NoError(t, pp.QueryRow(ctx, "select count(*) from rr_items").Scan(&onPrimary))
		assert.Equal(t, int64(want), onPrimary)
		v, err := s.Scalar(session.OnPrimary(ctx), "select count(*) from rr_items where v like 'g%'")
		require.NoError(t, err)
		assert.Equal(t, int64(8*25), v)

		require.NoError(t, replica.WaitReplayed(ctx))
		res, err := s.Execute(ctx, "select count(*), count(distinct v), pg_is_in_recovery() from rr_items")
		require.NoError(t, err)
		row, err := res.One()
		require.NoError(t, err)
		assert.Equal(t, []any{int64(want), int64(want), true}, row.Values(),
			"every row, read back on the replica after WaitReplayed")
	})

	t.Run("replicas in turn", func(t *testing.T) {
		named := func(name string) *pgxpool.Pool {
			return sessionPool(t, replica.DSN(), func(c *pgxpool.Config) { c.ConnConfig.RuntimeParams["application_name"] = name })
		}
		two := session.NewPrimaryReplica(pp, named("first"), named("second"))
		s := session.NewMaker(pp, session.WithRouter(two)).New()
		defer s.Close(ctx)
		var got []any
		for range 6 {
			v, err := s.Scalar(ctx, "select current_setting('application_name') where pg_is_in_recovery()")
			require.NoError(t, err)
			got = append(got, v)
		}
		assert.Equal(t, []any{"first", "second", "first", "second", "first", "second"}, got)
	})
}

func TestPrimaryReplica_StoppedReplicaFallsBackToThePrimary(t *testing.T) {
	ctx := context.Background()
	primary, replica := startPrimaryReplica(t)
	pp := sessionPool(t, primary.DSN(), nil)
	// pinging every connection it hands out, the pool notices a dead server
	// before a statement is sent (the recommendation in PrimaryReplica's doc)
	pinged := sessionPool(t, replica.DSN(), func(c *pgxpool.Config) {
		c.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return true }
	})
	// the default pool pings connections idle for more than a second
	plain := sessionPool(t, replica.DSN(), nil)

	var downs atomic.Int32
	newSession := func(rp *pgxpool.Pool) *session.Session {
		r := session.NewPrimaryReplica(pp, rp)
		r.OnReplicaDown = func(p *pgxpool.Pool, err error) {
			assert.Same(t, rp, p)
			assert.Error(t, err)
			downs.Add(1)
		}
		s := session.NewMaker(pp, session.WithRouter(r)).New()
		t.Cleanup(func() { assert.NoError(t, s.Close(ctx)) })
		return s
	}
	sp, sd := newSession(pinged), newSession(plain)
	for _, s := range []*session.Session{sp, sd} {
		for range 3 { // leaves idle connections to the replica in the pools
			assert.True(t, inRecovery(t, ctx, s, "select pg_is_in_recovery()"))
		}
	}

	require.NoError(t, replica.Stop())
	for i := range 5 {
		assert.False(t, inRecovery(t, ctx, sp, "select pg_is_in_recovery()"), "read %d after the replica stopped", i)
	}
	st, err := sp.Stream(ctx, "select pg_is_in_recovery() from generate_series(1, 3)")
	require.NoError(t, err)
	for row, err := range st.Rows() {
		require.NoError(t, err)
		assert.Equal(t, false, row.At(0))
	}
	assert.Equal(t, int32(1), downs.Load(), "marked down once, then skipped during the cooldown")

	time.Sleep(1100 * time.Millisecond) // past the default pool's ping threshold
	for range 3 {
		assert.False(t, inRecovery(t, ctx, sd, "select pg_is_in_recovery()"))
	}
	assert.Equal(t, int32(2), downs.Load())

	// writes were never affected
	_, err = sp.Execute(ctx, "create table after_stop as select 1 as x")
	require.NoError(t, err)
}

// closedPort returns a TCP port on 127.0.0.1 that nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

func TestPrimaryReplica_DownReplicaIsRetriedAfterTheCooldown(t *testing.T) {
	ctx := context.Background()
	pp := testdb.Pool(t) // not in recovery: a primary
	var attempts atomic.Int32
	dead := sessionPool(t, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", closedPort(t)),
		func(c *pgxpool.Config) {
			c.BeforeConnect = func(context.Context, *pgx.ConnConfig) error {
				attempts.Add(1)
				return nil
			}
		})
	r := session.NewPrimaryReplica(pp, dead)
	r.Cooldown = 300 * time.Millisecond
	var downs atomic.Int32
	r.OnReplicaDown = func(*pgxpool.Pool, error) { downs.Add(1) }
	s := session.NewMaker(pp, session.WithRouter(r)).New()
	defer s.Close(ctx)

	read := func() {
		t.Helper()
		assert.False(t, inRecovery(t, ctx, s, "select pg_is_in_recovery()"), "answered by the primary, without an error")
	}
	read()
	assert.Equal(t, int32(1), attempts.Load(), "the replica was tried")
	assert.Equal(t, int32(1), downs.Load(), "and marked down")
	start := time.Now()
	for range 5 {
		read()
	}
	if time.Since(start) < r.Cooldown {
		assert.Equal(t, int32(1), attempts.Load(), "skipped during the cooldown")
	}

	time.Sleep(r.Cooldown + 50*time.Millisecond)
	read()
	assert.Equal(t, int32(2), attempts.Load(), "tried again after the cooldown")
	assert.Equal(t, int32(2), downs.Load())

	// a cancelled context is the caller's error, not the replica's: no
	// fallback, no cooldown
	time.Sleep(r.Cooldown + 50*time.Millisecond)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := s.Scalar(cancelled, "select pg_is_in_recovery()")
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int32(2), downs.Load(), "not marked down by a cancelled context")
	read()
	assert.Equal(t, int32(3), attempts.Load(), "the next statement tries the replica at once")

	// concurrent reads while it is down: all answered by the primary
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			s := session.NewMaker(pp, session.WithRouter(r)).New()
			defer s.Close(ctx)
			for range 20 {
				v, err := s.Scalar(ctx, "select pg_is_in_recovery()")
				assert.NoError(t, err)
				assert.Equal(t, false, v)
			}
		})
	}
	wg.Wait()

	// writes never touch the replica
	before := attempts.Load()
	_, err = s.Execute(session.OnPrimary(ctx), "select pg_is_in_recovery()")
	require.NoError(t, err)
	_, err = s.Execute(ctx, "select nextval('nonexistent_seq')")
	require.Error(t, err) // the primary's error: no such sequence
	assert.Equal(t, before, attempts.Load())
}

func TestPrimaryReplica_WithoutReplicasEverythingGoesToThePrimary(t *testing.T) {
	ctx := context.Background()
	pp := testdb.Pool(t)
	s := session.NewMaker(pp, session.WithRouter(session.NewPrimaryReplica(pp))).New()
	defer s.Close(ctx)
	assert.False(t, inRecovery(t, ctx, s, "select pg_is_in_recovery()"))
	assert.False(t, inRecovery(t, session.OnReplica(ctx), s, "select pg_is_in_recovery()"))
}

func TestPrimaryReplica_ZeroValueFailsWithAnErrorNotAPanic(t *testing.T) {
	ctx := context.Background()
	var zero session.PrimaryReplica
	for _, target := range []session.Target{session.TargetAuto, session.TargetPrimary, session.TargetReplica} {
		c, err := zero.Acquire(ctx, session.Statement{SQL: "select 1", Target: target})
		assert.Nil(t, c)
		assert.ErrorIs(t, err, session.ErrNoPrimary, "target %v", target)
	}
	// through a session, as a user would meet it
	pool := testdb.Pool(t)
	s := session.NewMaker(pool, session.WithRouter(&zero)).New()
	defer s.Close(ctx)
	_, err := s.Execute(ctx, "select 1")
	require.ErrorIs(t, err, session.ErrNoPrimary)
	assert.Contains(t, err.Error(), "NewPrimaryReplica")
}
