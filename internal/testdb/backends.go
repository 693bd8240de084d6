package testdb

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ActiveCount is how many backends other than the asking one are running a
// statement whose text contains marker.
func ActiveCount(t testing.TB, pool *pgxpool.Pool, marker string) int {
	t.Helper()
	var n int
	err := pool.QueryRow(context.Background(),
		`select count(*) from pg_stat_activity
		 where state = 'active' and pid <> pg_backend_pid() and strpos(query, $1) > 0`, marker).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// WaitActive polls for up to 10 s until a statement containing marker runs.
func WaitActive(t testing.TB, marker string) {
	t.Helper()
	pool := Pool(t)
	deadline := time.Now().Add(10 * time.Second)
	for ActiveCount(t, pool, marker) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("query %s never showed up in pg_stat_activity", marker)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitGone polls for up to 2 s until no statement containing marker runs.
func WaitGone(t testing.TB, marker string) {
	t.Helper()
	pool := Pool(t)
	deadline := time.Now().Add(2 * time.Second)
	for ActiveCount(t, pool, marker) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("query %s still running server-side 2 s after its client ended", marker)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StopBackend SIGSTOPs the backend running a statement containing marker
// (the tests run as root, the server as postgres): a server that stops
// answering, on demand. The backend is continued and terminated when the
// test ends.
func StopBackend(t testing.TB, marker string) {
	t.Helper()
	var pid int
	err := Pool(t).QueryRow(context.Background(),
		`select pid from pg_stat_activity where pid <> pg_backend_pid() and strpos(query, $1) > 0`, marker).Scan(&pid)
	if err != nil {
		t.Fatalf("backend of %s: %v", marker, err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP %d: %v", pid, err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGCONT)
		Terminate(t, marker)
	})
}

// Terminate ends the backends running a statement containing marker.
func Terminate(t testing.TB, marker string) {
	t.Helper()
	_, err := Pool(t).Exec(context.Background(),
		`select pg_terminate_backend(pid) from pg_stat_activity where pid <> pg_backend_pid() and strpos(query, $1) > 0`, marker)
	if err != nil {
		t.Fatal(err)
	}
}
