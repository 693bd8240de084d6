package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamcat/streamcat/internal/testdb"
)

// TestRefusesStatementsWithoutRows: statements that return no rows are
// refused before they run: nothing changes, nothing hangs, exit 2.
func TestRefusesStatementsWithoutRows(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `create table refuse_t (a int); insert into refuse_t values (1)`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), `drop table refuse_t`) })
	for _, q := range []string{
		"create table refuse_new (a int)",
		"insert into refuse_t values (2)",
		"update refuse_t set a = 3",
		"delete from refuse_t",
		"drop table refuse_t",
		"copy refuse_t to stdout",
		"copy (select 1) to stdout with (format csv)",
		"copy refuse_t from stdin", // hung forever before
		"set work_mem = '1MB'",
		"begin",
		"/* a comment */ truncate refuse_t",
		"select", // rows, but no columns to write
	} {
		r := sc(t, "--header", "--stats", q)
		wantFail(t, r, 2, "QUERY must return rows")
		if strings.HasPrefix(q, "copy") && !strings.Contains(r.stderr, "give its query instead") {
			t.Errorf("%s: no COPY hint in %q", q, r.stderr)
		}
	}
	var n, sum int
	if err := pool.QueryRow(ctx, `select count(*), sum(a) from refuse_t`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 1 || sum != 1 {
		t.Errorf("refuse_t changed: %d rows, sum %d", n, sum)
	}
	if err := pool.QueryRow(ctx, `select count(*) from pg_class where relname = 'refuse_new'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("refuse_new was created (%d, %v)", n, err)
	}
	// A statement that returns rows runs, RETURNING included: what it
	// changes is on the screen.
	r := sc(t, "insert into refuse_t values (5) returning a")
	wantOK(t, r)
	if r.stdout != "5\n" {
		t.Errorf("returning: %q", r.stdout)
	}
}

// TestMultiStatementBySQLSTATE: the "several statements" error is told
// apart from a syntax error without reading the message, which is
// translated under a non-English lc_messages (no such locale is installed
// on the test machine, so the server's error is built by hand).
func TestMultiStatementBySQLSTATE(t *testing.T) {
	multi := &pgconn.PgError{Code: "42601", Message: "mehrere Befehle können nicht in eine vorbereitete Anweisung eingefügt werden", Routine: "exec_parse_message"}
	syntax := &pgconn.PgError{Code: "42601", Message: "Syntaxfehler bei »selec«", Position: 1, Routine: "scanner_yyerror"}
	if !isMultiStatement(multi) {
		t.Error("German multi-statement error not recognized")
	}
	if isMultiStatement(syntax) {
		t.Error("syntax error taken for several statements")
	}
}
