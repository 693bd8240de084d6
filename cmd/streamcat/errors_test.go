package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamcat/streamcat/internal/testdb"
)

// TestServerErrorDetail: the position (LINE n and a caret, as psql),
// DETAIL, HINT and CONTEXT reach stderr.
func TestServerErrorDetail(t *testing.T) {
	r := sc(t, "select 1,\n  2 from no_such_table_x")
	wantFail(t, r, 1, `relation "no_such_table_x" does not exist`)
	want := "LINE 2:   2 from no_such_table_x\n" +
		"                 ^\n"
	if !strings.HasSuffix(r.stderr, want) {
		t.Errorf("stderr %q does not end with %q", r.stderr, want)
	}

	pool := testdb.Pool(t)
	_, err := pool.Exec(context.Background(), `create function detail_fn() returns int language plpgsql as $$
		begin raise exception 'custom failure' using detail = 'the detail', hint = 'the hint'; end $$`)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), `drop function detail_fn()`) })
	r = sc(t, "select detail_fn()")
	wantFail(t, r, 1, "custom failure")
	for _, w := range []string{"\nDETAIL:  the detail\n", "\nHINT:  the hint\n", "\nCONTEXT:  PL/pgSQL function detail_fn()"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q lacks %q", r.stderr, w)
		}
	}
}

func TestPositionLines(t *testing.T) {
	for _, tc := range []struct {
		query string
		pos   int
		want  []string
	}{
		{"selec 1", 1, []string{"LINE 1: selec 1", "        ^"}},
		{"select 1 +", 11, []string{"LINE 1: select 1 +", "                  ^"}},
		{"select\n\tx", 9, []string{"LINE 2:  x", "         ^"}},
		{"select 'ü', zz", 13, []string{"LINE 1: select 'ü', zz", "                    ^"}},
	} {
		got := positionLines(tc.query, tc.pos)
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%q at %d:\n got %q\nwant %q", tc.query, tc.pos, got, tc.want)
		}
	}
	// A long line is cut around the position; the caret stays under it.
	got := positionLines("select "+strings.Repeat("a, ", 40)+"zz", 128)
	if len(got) != 2 || !strings.HasPrefix(got[0], "LINE 1: ...") || len(got[0]) > len("LINE 1: ...")+maxLineShown ||
		got[0][len(got[1])-1] != 'z' || !strings.HasSuffix(got[1], " ^") {
		t.Errorf("long line: %q", got)
	}
}

// TestConnectionErrors: the most specific attempt is reported, not
// sslmode=prefer's refused TLS attempt; a missing password is called that.
func TestConnectionErrors(t *testing.T) {
	dsn := strings.Replace(testdb.DSN(), "sslmode=disable", "sslmode=prefer", 1)
	dsn = strings.Replace(dsn, "postgres@", "no_such_role_x@", 1)
	r := runBin(t, nil, "--dsn", dsn, "select 1")
	wantFail(t, r, 2, `role "no_such_role_x" does not exist`)
	if strings.Contains(r.stderr, "tls") || strings.Contains(r.stderr, "TLS") {
		t.Errorf("leads with the TLS attempt: %q", r.stderr)
	}

	// A role that must give a password over TCP: a line of its own at the
	// top of this cluster's pg_hba.conf.
	pool := testdb.Pool(t)
	ctx := context.Background()
	var hba string
	if err := pool.QueryRow(ctx, `show hba_file`).Scan(&hba); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	line := "host all pw_user_x 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(hba, append([]byte(line), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = os.WriteFile(hba, old, 0o600)
		_, _ = pool.Exec(context.Background(), `select pg_reload_conf()`)
		_, _ = pool.Exec(context.Background(), `drop role if exists pw_user_x`)
	})
	if _, err := pool.Exec(ctx, `create role pw_user_x login password 'right-pw'`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `select pg_reload_conf()`); err != nil {
		t.Fatal(err)
	}
	nopw := strings.Replace(testdb.DSN(), "postgres@", "pw_user_x@", 1)
	r = runBinEnv(t, []string{"PGPASSWORD=", "PGPASSFILE=/nonexistent"}, "--dsn", nopw, "select 1")
	wantFail(t, r, 2, `no password supplied`)
	wrong := strings.Replace(testdb.DSN(), "postgres@", "pw_user_x:wrong-pw@", 1)
	r = runBin(t, nil, "--dsn", wrong, "select 1")
	wantFail(t, r, 2, `password authentication failed`)
	if strings.Contains(r.stderr, "wrong-pw") {
		t.Errorf("stderr shows the password: %q", r.stderr)
	}
	right := strings.Replace(testdb.DSN(), "postgres@", "pw_user_x:right-pw@", 1)
	wantOK(t, runBin(t, nil, "--dsn", right, "select 1"))
}

// TestTimeoutKeepsServerError: the --timeout error unwraps to the
// deadline and to the server's error.
func TestTimeoutKeepsServerError(t *testing.T) {
	pgErr := &pgconn.PgError{Code: "57014", Message: "canceling statement due to statement timeout"}
	err := error(&timeoutError{after: 1, err: pgErr})
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Error("server error not reachable with errors.As")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("not errors.Is(err, context.DeadlineExceeded)")
	}
}

// TestConnectTimeoutDefault: without connect_timeout a default applies;
// with one it is kept.
func TestConnectTimeoutDefault(t *testing.T) {
	t.Setenv("PGCONNECT_TIMEOUT", "")
	cfg, err := connConfig("host=127.0.0.1 user=u")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ConnectTimeout != defaultConnectTimeout {
		t.Errorf("ConnectTimeout %v, want %v", cfg.ConnectTimeout, defaultConnectTimeout)
	}
	cfg, err = connConfig("host=127.0.0.1 user=u connect_timeout=3")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ConnectTimeout.Seconds() != 3 {
		t.Errorf("ConnectTimeout %v, want 3s", cfg.ConnectTimeout)
	}
}
