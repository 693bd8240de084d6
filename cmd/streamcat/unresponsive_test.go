package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamcat/streamcat/internal/testdb"
)

// exitBound is how long streamcat may take to exit once asked to, against
// a server that does not answer: cancelGrace for the cancel request, the
// socket deadline, and slack for a loaded machine. Without the bound the
// runs below hang until the test kills them after a minute.
const exitBound = 8 * time.Second

// TestUnresponsiveServer: a signal or --timeout ends the run within a
// bound although the backend is stopped, with the documented code, a
// message that says the cancel got no answer, and no temporary file left.
func TestUnresponsiveServer(t *testing.T) {
	t.Parallel() // slow, and independent of the other tests
	for _, tc := range []struct {
		name    string
		sig     syscall.Signal // 0: --timeout
		code    int
		message string
	}{
		{"SIGINT", syscall.SIGINT, 130, "interrupted (cancel sent, no answer from server"},
		{"SIGTERM", syscall.SIGTERM, 143, "terminated (cancel sent, no answer from server"},
		{"timeout", 0, 1, "timed out after 1.5s (cancel sent, no answer from server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			marker := "stopped_marker_" + tc.name
			out := filepath.Join(t.TempDir(), "out.csv")
			args := []string{"--dsn", testdb.DSN(), "-o", out}
			if tc.sig == 0 {
				args = append(args, "--timeout", "1.5s")
			}
			cmd := command(t, append(args, "select pg_sleep(60) as "+marker)...)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			testdb.WaitActive(t, marker)
			testdb.StopBackend(t, marker)
			start := time.Now()
			if tc.sig != 0 {
				if err := cmd.Process.Signal(tc.sig); err != nil {
					t.Fatal(err)
				}
			}
			_ = cmd.Wait()
			if el := time.Since(start); el > exitBound {
				t.Errorf("took %v to exit", el)
			}
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if !strings.Contains(errb.String(), tc.message) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.message)
			}
			assertDirEmpty(t, filepath.Dir(out))
		})
	}
}

// TestSecondSIGINTExitsAtOnce: the second Ctrl-C does not wait for the
// server.
func TestSecondSIGINTExitsAtOnce(t *testing.T) {
	t.Parallel() // slow, and independent of the other tests
	marker := "second_sigint_marker"
	out := filepath.Join(t.TempDir(), "out.csv")
	cmd := command(t, "--dsn", testdb.DSN(), "-o", out, "select pg_sleep(60) as "+marker)
	var errb lockedBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testdb.WaitActive(t, marker)
	testdb.StopBackend(t, marker)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the first one is being handled
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	if !strings.Contains(errb.String(), "interrupted again: exiting at once") {
		t.Errorf("stderr %q", errb.String())
	}
	assertDirEmpty(t, filepath.Dir(out))
}

// TestEarlyEndUnresponsive: stdout closing (| head) while the backend is
// stopped still ends the run: the cancel request gets no answer, the
// connection is dropped, exit 0.
func TestEarlyEndUnresponsive(t *testing.T) {
	t.Parallel() // slow, and independent of the other tests
	marker := "early_end_marker"
	cmd := command(t, "--dsn", testdb.DSN(), "select g as "+marker+", repeat('x', 500) from generate_series(1, 1000000) g")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb lockedBuffer
	cmd.Stdout, cmd.Stderr = pw, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	// Nobody reads: the pipe, streamcat's buffers and the socket fill up
	// until the backend waits to write. Then it is stopped and the reader
	// goes away, so streamcat's next write fails with EPIPE and it ends the
	// stream early against a server that cannot answer.
	t0 := time.Now()
	waitClientWrite(t, marker)
	t.Logf("filled in %v", time.Since(t0))
	testdb.StopBackend(t, marker)
	pr.Close()
	start := time.Now()
	_ = cmd.Wait()
	if el := time.Since(start); el > exitBound {
		t.Errorf("took %v to exit", el)
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit %d, want 0; stderr %q", code, errb.String())
	}
	t.Logf("exited in %v", time.Since(start))
}

// waitClientWrite polls until the backend running marker waits for the
// client to read.
func waitClientWrite(t *testing.T, marker string) {
	t.Helper()
	pool := testdb.Pool(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		err := pool.QueryRow(context.Background(), `select count(*) from pg_stat_activity
			where pid <> pg_backend_pid() and strpos(query, $1) > 0 and wait_event = 'ClientWrite'`, marker).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the backend of %s never waited for the client", marker)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTimeoutCoversConnecting: a host that accepts TCP and never answers
// is bounded by --timeout.
func TestTimeoutCoversConnecting(t *testing.T) {
	t.Parallel() // slow, and independent of the other tests
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // accepts, never answers
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	start := time.Now()
	r := runBin(t, nil, "-h", "127.0.0.1", "-p", itoa(port), "-U", "u", "-d", "db", "--timeout", "1s", "select 1")
	if el := time.Since(start); el > exitBound {
		t.Errorf("took %v", el)
	}
	wantFail(t, r, 1, "timed out after 1s while connecting to host=127.0.0.1")
}

func itoa(n int) string { return strconv.Itoa(n) }

// lockedBuffer is a bytes.Buffer safe for the exec package's copying
// goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSignalWhileOutputBlocked: a signal ends the run within a bound even
// when streamcat is stuck writing to a pipe nobody reads, which no
// deadline on the connection can break.
func TestSignalWhileOutputBlocked(t *testing.T) {
	t.Parallel() // slow, and independent of the other tests
	marker := "blocked_output_marker"
	cmd := command(t, "--dsn", testdb.DSN(), "select g as "+marker+", repeat('x', 500) from generate_series(1, 1000000) g")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close() // open and never read
	var errb lockedBuffer
	cmd.Stdout, cmd.Stderr = pw, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	waitClientWrite(t, marker) // everything in between is full
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if el := time.Since(start); el > exitBound {
		t.Errorf("took %v to exit", el)
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130; stderr %q", code, errb.String())
	}
	if !strings.Contains(errb.String(), "exiting without waiting") {
		t.Errorf("stderr %q", errb.String())
	}
	testdb.WaitGone(t, marker)
}
