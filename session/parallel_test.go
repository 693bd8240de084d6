package session_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sourcegraph/conc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/pipe"
	"github.com/streamcat/streamcat/session"
	"github.com/streamcat/streamcat/split"
	"github.com/streamcat/streamcat/stream"
)

// parallelTable makes table name with ids 1..rows, a text key k and a
// payload wide enough for about 40 rows a block; autovacuum is off, so
// dead tuples stay where a test leaves them.
func parallelTable(t *testing.T, pool *pgxpool.Pool, name string, rows int) {
	t.Helper()
	ctx := context.Background()
	id := pgx.Identifier{name}.Sanitize()
	_, err := pool.Exec(ctx, fmt.Sprintf(`drop table if exists %[1]s;
		create table %[1]s (id int8 primary key, k text, n int4, pad text) with (autovacuum_enabled = off);
		insert into %[1]s select g, md5(g::text), g %% 7, repeat('x', 150) from generate_series(1, %[2]d) g`, id, rows))
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "drop table "+id) })
}

// parallelPool is a session pool with room for workers connections.
func parallelPool(t *testing.T, conns int32) *pgxpool.Pool {
	return sessionPool(t, testdb.DSN(), func(cfg *pgxpool.Config) { cfg.MaxConns = conns })
}

// snapshotTx begins a transaction that exports its snapshot, for the test
// to run the serial query at the snapshot its slices read (given as
// ParallelOptions.Snapshot); it stays open until the test ends.
func snapshotTx(t *testing.T, pool *pgxpool.Pool) (pgx.Tx, string) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	var snap string
	require.NoError(t, tx.QueryRow(ctx, "select pg_export_snapshot()").Scan(&snap))
	return tx, snap
}

// serial runs sql on tx and returns its rows as text lines.
func serial(t *testing.T, tx pgx.Tx, sql string, args ...any) []string {
	t.Helper()
	rows, err := tx.Query(context.Background(), sql, append([]any{pgx.QueryResultFormats{pgx.TextFormatCode}}, args...)...)
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		out = append(out, rowText(rows.RawValues()))
	}
	require.NoError(t, rows.Err())
	return out
}

func rowText(vals [][]byte) string {
	var b strings.Builder
	for _, v := range vals {
		b.WriteString(string(v))
		b.WriteByte('|')
	}
	return b.String()
}

// readSlices reads the streams one after the other (ordered) or fanned in
// (pipe.FanIn), as text lines; it closes p.
func readSlices(ctx context.Context, p *session.Parallel, ordered bool) ([]string, error) {
	defer p.Close()
	var out []string
	if ordered {
		for _, st := range p.Streams {
			raw := buffered.Raw(st)
			for vals, ok := raw.FetchOne(); ok; vals, ok = raw.FetchOne() {
				out = append(out, rowText(vals))
			}
			if err := raw.Err(); err != nil {
				return out, err
			}
		}
		return out, nil
	}
	var views []*buffered.View[[][]byte]
	for _, st := range p.Streams {
		views = append(views, buffered.Raw(st))
	}
	for vals, err := range pipe.FanIn(ctx, views...).Rows() {
		if err != nil {
			return out, err
		}
		out = append(out, rowText(vals))
	}
	return out, nil
}

// churn inserts, updates and deletes rows of table until stop is closed,
// and counts its commits.
func churn(ctx context.Context, pool *pgxpool.Pool, table string, stop <-chan struct{}, commits *atomic.Int64) error {
	id := pgx.Identifier{table}.Sanitize()
	for i := int64(0); ; i++ {
		select {
		case <-stop:
			return nil
		default:
		}
		b := &pgx.Batch{}
		b.Queue("insert into "+id+" select 1000000 + $1::int8, md5('new' || $1::text), 1, 'p'", i)
		b.Queue("update "+id+" set n = n + 1, pad = pad || 'y' where id = 1 + ($1::int8 * 37) % 5000", i)
		b.Queue("delete from "+id+" where id = 2 + ($1::int8 * 53) % 5000", i)
		if err := pool.SendBatch(ctx, b).Close(); err != nil { // one implicit transaction
			return err
		}
		commits.Add(1)
	}
}

// TestStreamParallel_EqualsSerialAtTheSnapshotWhileRowsChange reads a
// table split four ways (by blocks, unordered; by a text key with its
// histogram, ordered; by an integer key without statistics) while another
// session keeps inserting, updating and deleting, and compares every read
// with the serial query run at the same exported snapshot.
func TestStreamParallel_EqualsSerialAtTheSnapshotWhileRowsChange(t *testing.T) {
	pool := parallelPool(t, 6)
	parallelTable(t, pool, "par_items", 5000)
	ctx := context.Background()
	_, err := pool.Exec(ctx, "analyze par_items (k)")
	require.NoError(t, err)
	m := session.NewMaker(pool)

	stop := make(chan struct{})
	var commits atomic.Int64
	var wg conc.WaitGroup
	var churnErr error
	churned := make(chan struct{})
	wg.Go(func() {
		defer close(churned)
		churnErr = churn(ctx, pool, "par_items", stop, &commits)
	})
	defer func() {
		close(stop)
		wg.Wait()
		require.NoError(t, churnErr)
		testdb.AssertNoAcquired(t, pool)
	}()
	waitFor := func(n int64) {
		for commits.Load() < n {
			select {
			case <-churned:
				require.NoError(t, churnErr)
				require.Fail(t, "the writer stopped")
			case <-time.After(time.Millisecond):
			}
		}
	}

	const where = "select id, k, n, pad from par_items where n <> $1"
	for _, c := range []struct {
		name    string
		opts    session.ParallelOptions
		serial  string
		ordered bool
	}{
		{"blocks", session.ParallelOptions{Workers: 4}, where, false},
		{"text key, histogram", session.ParallelOptions{Workers: 3, SplitBy: "k", Ordered: true}, where + " order by k", true},
		{"integer key, min and max", session.ParallelOptions{Workers: 4, SplitBy: "id", Ordered: true}, where + " order by id", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			waitFor(commits.Load() + 3) // the table changes between the runs too
			tx, snap := snapshotTx(t, pool)
			want := serial(t, tx, c.serial, "3")
			before := commits.Load()
			waitFor(before + 2) // the table changed since the snapshot
			c.opts.QueryOptions = []any{pgx.QueryResultFormats{pgx.TextFormatCode}}
			c.opts.Snapshot = snap
			p, err := m.StreamParallel(ctx, where, c.opts, "3")
			require.NoError(t, err)
			assert.Len(t, p.Streams, c.opts.Workers, "%v", p.Slices)
			got, err := readSlices(ctx, p, c.ordered)
			require.NoError(t, err)
			require.NotEmpty(t, want)
			if !c.ordered {
				slices.Sort(got)
				slices.Sort(want)
			}
			require.Equal(t, len(want), len(got))
			assert.True(t, slices.Equal(want, got), "the slices differ from the serial query at their snapshot")
			require.NoError(t, tx.Rollback(ctx))
			now := serial(t, mustBegin(t, pool), c.serial, "3")
			assert.False(t, slices.Equal(want, now), "the table did change meanwhile")
		})
	}
}

func mustBegin(t *testing.T, pool *pgxpool.Pool) pgx.Tx {
	tx, err := pool.Begin(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

func TestStreamParallel_EmptyOneBlockAndDeadTuples(t *testing.T) {
	pool := parallelPool(t, 5)
	ctx := context.Background()
	m := session.NewMaker(pool)
	parallelTable(t, pool, "par_empty", 0)
	parallelTable(t, pool, "par_one", 10)
	parallelTable(t, pool, "par_dead", 4000)
	// dead tuples in every block, none vacuumed (autovacuum is off)
	_, err := pool.Exec(ctx, "delete from par_dead where id % 3 <> 0; update par_dead set n = -1 where id % 2 = 0")
	require.NoError(t, err)
	text := []any{pgx.QueryResultFormats{pgx.TextFormatCode}}
	for _, c := range []struct {
		table      string
		wantSlices int
		wantRows   int
	}{
		{"par_empty", 1, 0},
		{"par_one", 1, 10},
		{"par_dead", 4, 1333},
	} {
		tx, snap := snapshotTx(t, pool)
		want := serial(t, tx, "table "+c.table)
		p, err := m.StreamParallel(ctx, "table "+c.table, session.ParallelOptions{Workers: 4, QueryOptions: text, Snapshot: snap})
		require.NoError(t, err, c.table)
		assert.Len(t, p.Slices, c.wantSlices, c.table)
		got, err := readSlices(ctx, p, false)
		require.NoError(t, err)
		slices.Sort(got)
		slices.Sort(want)
		assert.Len(t, got, c.wantRows, c.table)
		assert.Equal(t, want, got, c.table)
		// the same by key, with no statistics and no rows or a single one
		p, err = m.StreamParallel(ctx, "table "+c.table, session.ParallelOptions{Workers: 4, SplitBy: "id", Ordered: true, QueryOptions: text})
		require.NoError(t, err, c.table)
		got, err = readSlices(ctx, p, true)
		require.NoError(t, err)
		assert.Len(t, got, c.wantRows, c.table)
		assert.True(t, slices.IsSortedFunc(got, func(a, b string) int {
			return strings.Compare(fmt.Sprintf("%020s", a[:strings.IndexByte(a, '|')]), fmt.Sprintf("%020s", b[:strings.IndexByte(b, '|')]))
		}), "ordered by id")
		require.NoError(t, tx.Rollback(ctx))
	}
	testdb.AssertNoAcquired(t, pool)
}

func TestStreamParallel_RefusesWhatItCannotSplit(t *testing.T) {
	pool := parallelPool(t, 4)
	ctx := context.Background()
	m := session.NewMaker(pool)
	parallelTable(t, pool, "par_shape", 100)
	_, err := pool.Exec(ctx, "create or replace view par_shape_v as select * from par_shape")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "drop view par_shape_v") })
	for _, c := range []struct{ sql, why string }{
		{"select count(*) from par_shape", "Aggregate"},
		{"select id, generate_series(1, 2) from par_shape", "ProjectSet"},
		{"select id, row_number() over () from par_shape", "WindowAgg"},
		{"select * from par_shape where id > (select random() * 10)", "InitPlan"},
		{"select * from par_shape_v", "not the table the server reads"},
		{"select * from par_shape order by id", "ORDER BY"},
	} {
		_, err := m.StreamParallel(ctx, c.sql, session.ParallelOptions{Workers: 2})
		require.Error(t, err, c.sql)
		assert.ErrorIs(t, err, split.ErrShape, c.sql)
		assert.Contains(t, err.Error(), c.why, c.sql)
	}
	_, err = m.StreamParallel(ctx, "table par_shape", session.ParallelOptions{Workers: 2, SplitBy: "nope"})
	assert.ErrorContains(t, err, `no column "nope"`)
	_, err = m.StreamParallel(ctx, "table par_shape", session.ParallelOptions{Workers: 2, SplitBy: "pad"})
	assert.ErrorContains(t, err, "run ANALYZE")
	_, err = m.StreamParallel(ctx, "table par_shape", session.ParallelOptions{Workers: 5})
	assert.ErrorContains(t, err, "MaxConns 4")
	testdb.AssertNoAcquired(t, pool)
}

// TestStreamParallel_ATerminatedWorkerCancelsTheOthers terminates one
// slice's backend (pg_terminate_backend) mid-export: the reader gets an
// error, Failed names that slice, and every other slice's statement is
// cancelled server-side. Fanned in, the last slice is terminated; read in
// order, the first one, whose reader is waiting on it while the others
// wait for the reader.
func TestStreamParallel_ATerminatedWorkerCancelsTheOthers(t *testing.T) {
	pool := parallelPool(t, 3)
	ctx := context.Background()
	m := session.NewMaker(pool)
	parallelTable(t, pool, "par_slow", 0)
	admin := testdb.Pool(t)
	// 20 MB: the slices' streams and sockets hold far less, so every
	// slice's backend is still sending (waiting for its reader) when one
	// is terminated
	_, err := pool.Exec(ctx, "insert into par_slow select g, 'k', 1, repeat(md5(g::text), 30) from generate_series(1, 20000) g")
	require.NoError(t, err)
	const q = "select id, pad, 'slow' from par_slow where n >= 0"
	for _, c := range []struct {
		ordered bool
		which   string // the terminated slice's statement has this, the others not
		not     string
		slice   string
	}{
		{false, "ctid >= ", "ctid < ", "slice 3 of 3"},
		{true, "ctid < ", "ctid >= ", "slice 1 of 3"},
	} {
		p, err := m.StreamParallel(ctx, q, session.ParallelOptions{Workers: 3, Stream: stream.Options{MaxBatch: 10}})
		require.NoError(t, err)
		defer p.Close()
		var pid int32
		require.Eventually(t, func() bool { // the statement has reached the server
			err := admin.QueryRow(ctx, `select pid from pg_stat_activity where state = 'active'
				and query like '%''slow''%' and query like '%'||$1||'%' and query not like '%'||$2||'%' and pid <> pg_backend_pid()`,
				c.which, c.not).Scan(&pid)
			return err == nil
		}, 5*time.Second, 5*time.Millisecond)
		var done bool
		require.NoError(t, admin.QueryRow(ctx, "select pg_terminate_backend($1)", pid).Scan(&done))
		require.True(t, done)

		got, err := readSlices(ctx, p, c.ordered)
		require.Error(t, err, "the read stops: a slice failed (read %d rows, pid %d, failed %v)", len(got), pid, p.Failed())
		// the server's FATAL 57P01, or, when the backend could not send it
		// (its socket full of rows nobody read yet), the connection's end
		require.Error(t, p.Failed())
		var pgErr *pgconn.PgError
		if errors.As(p.Failed(), &pgErr) {
			assert.Equal(t, "57P01", pgErr.Code)
		} else {
			assert.ErrorIs(t, p.Failed(), io.ErrUnexpectedEOF)
		}
		assert.Contains(t, p.Failed().Error(), c.slice)
		var running int
		require.Eventually(t, func() bool {
			require.NoError(t, admin.QueryRow(ctx, `select count(*) from pg_stat_activity
				where query like '%''slow''%' and state = 'active' and pid <> pg_backend_pid()`).Scan(&running))
			return running == 0
		}, 5*time.Second, 10*time.Millisecond, "no slice's statement is left running")
		testdb.AssertNoAcquired(t, pool)
	}
}
