package session

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

// wireLog counts what pgx sends on the pool's connections: each query, each
// batch (once) and each COPY.
type wireLog struct {
	mu   sync.Mutex
	sent []string
}

func (l *wireLog) add(s string) { l.mu.Lock(); l.sent = append(l.sent, s); l.mu.Unlock() }
func (l *wireLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	l.add(d.SQL)
	return ctx
}
func (l *wireLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (l *wireLog) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	l.add("batch")
	return ctx
}
func (l *wireLog) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (l *wireLog) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (l *wireLog) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	l.add("copy")
	return ctx
}
func (l *wireLog) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

type execItem struct {
	_    struct{} `table:"exec_items"`
	ID   int64    `db:"id,pk"`
	Note string   `db:"note"`
}

// TestExecutor_SeesEveryStatement runs every kind of statement a session
// sends and checks that each one pgx put on the wire went through the
// executor's send first: the one place for hooks.
func TestExecutor_SeesEveryStatement(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(testdb.DSN())
	require.NoError(t, err)
	wire := &wireLog{}
	cfg.ConnConfig.Tracer = wire
	pool := testdb.PoolWithConfig(t, cfg)
	ctx := context.Background()
	_, err = pool.Exec(ctx, "drop table if exists exec_items; create table exec_items (id int8 primary key, note text not null)")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "drop table exec_items") })

	s := NewMaker(pool).New()
	defer s.Close(ctx)
	var mu sync.Mutex
	var seen []string
	s.exec.observe = func(kind, _ string) { mu.Lock(); seen = append(seen, kind); mu.Unlock() }
	wire.mu.Lock()
	wire.sent = nil
	wire.mu.Unlock()

	_, err = s.Execute(ctx, "select 1")
	require.NoError(t, err)
	st, err := s.Stream(ctx, "select generate_series(1, 10)") // autocommit stream
	require.NoError(t, err)
	require.Len(t, buffered.ScalarsOf[int32](st).All(), 10)

	_, err = s.Begin(ctx)
	require.NoError(t, err)
	st, err = s.Stream(ctx, "select generate_series(1, 10)") // in a transaction: SAVEPOINT + RELEASE
	require.NoError(t, err)
	for range buffered.ScalarsOf[int32](st).Rows() {
		break // early end: ROLLBACK TO + RELEASE
	}
	st, err = s.Stream(ctx, "select generate_series(1, 10)", StreamOptions{ServerCursor: true}) // DECLARE/FETCH/CLOSE
	require.NoError(t, err)
	require.Len(t, buffered.ScalarsOf[int32](st).All(), 10)
	st.Close()
	sp, err := s.BeginNested(ctx)
	require.NoError(t, err)
	items := make([]any, 100)
	for i := range items {
		items[i] = &execItem{ID: int64(i), Note: "n"}
	}
	require.NoError(t, s.AddAll(items...))
	require.NoError(t, s.Flush(ctx)) // SAVEPOINT, catalog query, COPY, RELEASE
	items[0].(*execItem).Note = "changed"
	require.NoError(t, s.Flush(ctx)) // SAVEPOINT, batch, RELEASE
	require.NoError(t, sp.Rollback(ctx))
	_, err = Get[execItem](ctx, s, 1)
	require.NoError(t, err)
	require.NoError(t, s.Commit(ctx))

	wire.mu.Lock()
	sent := wire.sent
	wire.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, len(sent), len(seen), "each statement on the wire went through send\nwire: %q\nsend: %q", sent, seen)
	for _, kind := range []string{kindQuery, kindExec, kindBatch, kindCopy, kindBegin, kindCommit, kindSave, kindRelease, kindRollTo, kindFetch} {
		assert.Contains(t, seen, kind)
	}
}
