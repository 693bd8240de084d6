package faultproxy_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/faultproxy"
	"github.com/streamcat/streamcat/internal/testdb"
)

// hangDeadline bounds every wait in these tests: it only keeps a broken
// proxy from hanging the run.
const hangDeadline = 10 * time.Second

// connect opens one connection through a new proxy, with pgx's default
// context watcher (a cancelled context closes the socket), so a stalled call
// can always be ended.
func connect(t *testing.T) (*faultproxy.Proxy, *pgx.Conn) {
	t.Helper()
	p, cfg := newProxy(t)
	return p, dial(t, cfg)
}

func newProxy(t *testing.T) (*faultproxy.Proxy, *pgx.ConnConfig) {
	t.Helper()
	cfg, err := pgx.ParseConfig(testdb.DSN())
	require.NoError(t, err)
	p, err := faultproxy.ForConfig(&cfg.Config)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	p.Redirect(&cfg.Config)
	return p, cfg
}

func dial(t *testing.T, cfg *pgx.ConnConfig) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangDeadline)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func direct(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), testdb.DSN())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestProxy_Forwards(t *testing.T) {
	p, conn := connect(t)
	var n int64
	// simple and extended protocol, and a result bigger than one pump read
	require.NoError(t, conn.QueryRow(context.Background(), "select count(*) from (select repeat('x', 1000) from generate_series(1, 1000)) s").Scan(&n))
	assert.Equal(t, int64(1000), n)
	var s string
	require.NoError(t, conn.QueryRow(context.Background(), "select $1::text", "hello").Scan(&s))
	assert.Equal(t, "hello", s)
	assert.Equal(t, 1, p.Links())
	assert.Equal(t, 1, p.Accepted())
}

func TestProxy_CutAfterEndsTheLinkMidResult(t *testing.T) {
	p, conn := connect(t)
	p.CutAfter(faultproxy.ToClient, 100_000)
	ctx, cancel := context.WithTimeout(context.Background(), hangDeadline)
	defer cancel()
	rows, err := conn.Query(ctx, "select repeat('x', 100) from generate_series(1, 100000)")
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		n++
	}
	require.Error(t, rows.Err(), "the cut reaches the client as an error")
	assert.Less(t, n, 1000, "the link was cut after about 100 kB")
	assert.Greater(t, n, 10, "the bytes before the cut went through")
	assert.True(t, conn.IsClosed())
	eventually(t, func() bool { return p.Links() == 0 }, "the cut link is forgotten")
}

func TestProxy_CutClosesEveryLink(t *testing.T) {
	p, conn := connect(t)
	p.Cut()
	ctx, cancel := context.WithTimeout(context.Background(), hangDeadline)
	defer cancel()
	_, err := conn.Exec(ctx, "select 1")
	require.Error(t, err)
	assert.False(t, errors.Is(err, context.DeadlineExceeded), "the client notices the cut at once: %v", err)
}

func TestProxy_StallHoldsBytesAndResumeDeliversThem(t *testing.T) {
	for _, dir := range []faultproxy.Direction{faultproxy.ToServer, faultproxy.ToClient, faultproxy.Both} {
		t.Run(dir.String(), func(t *testing.T) {
			p, conn := connect(t)
			p.Stall(dir)
			got := make(chan error, 1)
			var v int32
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), hangDeadline)
				defer cancel()
				got <- conn.QueryRow(ctx, "select 42").Scan(&v)
			}()
			select {
			case err := <-got:
				t.Fatalf("the query returned through a stalled link: %v", err)
			case <-time.After(200 * time.Millisecond):
			}
			assert.Equal(t, 1, p.Links(), "a stall closes nothing")
			p.Resume()
			select {
			case err := <-got:
				require.NoError(t, err)
				assert.Equal(t, int32(42), v)
			case <-time.After(hangDeadline):
				t.Fatal("Resume did not deliver the held bytes")
			}
		})
	}
}

func TestProxy_DropReplyToCommitLosesTheReplyNotTheCommit(t *testing.T) {
	p, conn := connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), hangDeadline)
	defer cancel()
	other := direct(t)
	_, err := other.Exec(ctx, "create table if not exists faultproxy_commit (id int)")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = other.Exec(context.Background(), "drop table faultproxy_commit") })

	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "insert into faultproxy_commit values ($1)", 7)
	require.NoError(t, err)
	p.DropReplyTo(faultproxy.Query("commit"))
	err = tx.Commit(ctx)
	require.Error(t, err, "the client never hears COMMIT's answer")
	assert.False(t, errors.Is(err, context.DeadlineExceeded), "the link is cut, not left hanging: %v", err)
	var n int
	require.NoError(t, other.QueryRow(ctx, "select count(*) from faultproxy_commit where id = 7").Scan(&n))
	assert.Equal(t, 1, n, "the server committed")
	eventually(t, func() bool { return p.Links() == 0 }, "the link is cut")
}

func TestProxy_DropReplyToExtendedProtocol(t *testing.T) {
	p, conn := connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), hangDeadline)
	defer cancel()
	var v int32
	// the statement is parsed and cached by the first call, so the second
	// sends only Bind/Execute/Sync naming it
	require.NoError(t, conn.QueryRow(ctx, "select $1::int4 + 0", 1).Scan(&v))
	p.DropReplyTo(func(q string) bool { return q == "select $1::int4 + 0" })
	require.NoError(t, conn.QueryRow(ctx, "select $1::int4 + 1", 1).Scan(&v), "a statement that does not match passes")
	assert.Equal(t, int32(2), v)
	err := conn.QueryRow(ctx, "select $1::int4 + 0", 2).Scan(&v)
	require.Error(t, err)
	assert.True(t, conn.IsClosed())
	var pgErr *pgconn.PgError
	assert.False(t, errors.As(err, &pgErr), "no server answer reached the client: %v", err)
}

func TestProxy_DropReplyToFiresOnce(t *testing.T) {
	p, cfg := newProxy(t)
	conn := dial(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), hangDeadline)
	defer cancel()
	p.DropReplyTo(faultproxy.Query("select 1"))
	_, err := conn.Exec(ctx, "select 1")
	require.Error(t, err)
	_, err = dial(t, cfg).Exec(ctx, "select 1")
	require.NoError(t, err, "the next matching statement is answered")
}

// An SSLRequest is answered by one unframed byte; the parser must step over
// it (sslmode=prefer asks for TLS first, then falls back to a plain link).
func TestProxy_SSLRequestRefused(t *testing.T) {
	cfg, err := pgx.ParseConfig(testdb.DSN())
	require.NoError(t, err)
	p, err := faultproxy.ForConfig(&cfg.Config)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	cfg, err = pgx.ParseConfig(strings.Replace(testdb.DSN(), "sslmode=disable", "sslmode=prefer", 1) + "&host=" + p.Host() + "&port=" + strconv.Itoa(p.Port()))
	require.NoError(t, err)
	var ssl bool
	conn := dial(t, cfg)
	require.NoError(t, conn.QueryRow(context.Background(), "select ssl from pg_stat_ssl where pid = pg_backend_pid()").Scan(&ssl))
	if ssl {
		t.Fatal("the test server took TLS: this test needs a server without it (localpg has none)")
	}
	p.DropReplyTo(faultproxy.Query("select 1"))
	_, err = conn.Exec(context.Background(), "select 1")
	require.Error(t, err, "the parser found the reply behind the one-byte answer")
}

func TestProxy_CloseEndsStalledLinks(t *testing.T) {
	cfg, err := pgx.ParseConfig(testdb.DSN())
	require.NoError(t, err)
	p, err := faultproxy.ForConfig(&cfg.Config)
	require.NoError(t, err)
	p.Redirect(&cfg.Config)
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	p.Stall(faultproxy.Both)
	got := make(chan error, 1)
	go func() { _, err := conn.Exec(context.Background(), "select 1"); got <- err }()
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(hangDeadline):
		t.Fatal("Close hung on a stalled link")
	}
	select {
	case err := <-got:
		require.Error(t, err, "the client sees the link closed")
	case <-time.After(hangDeadline):
		t.Fatal("the client still waits after Close")
	}
	require.NoError(t, p.Close(), "Close is idempotent")
}

func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(hangDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
