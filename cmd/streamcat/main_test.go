package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamcat/streamcat/internal/testdb"
)

// streamcatExe is the streamcat executable the tests run as a subprocess.
var streamcatExe string

func TestMain(m *testing.M) {
	// Build next to the test streamcatExe when that lives in go test's work
	// directory (which go test removes), else in a temporary directory.
	dir := ""
	if exe, err := os.Executable(); err == nil && strings.Contains(exe, "go-build") {
		dir = filepath.Dir(exe)
	} else if dir, err = os.MkdirTemp("", "streamcat-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	streamcatExe = filepath.Join(dir, "streamcat")
	if out, err := exec.Command("go", "build", "-o", streamcatExe, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build streamcat: %v\n%s", err, out)
		os.Exit(2)
	}
	testdb.Main(m)
}

type result struct {
	code           int
	stdout, stderr string
}

// command returns an exec.Cmd for the streamcatExe, killed after a minute.
func command(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, streamcatExe, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL=")
	return cmd
}

// runBin runs the binary with stdin (nil: /dev/null) and returns its result.
func runBin(t *testing.T, stdin *string, args ...string) result {
	t.Helper()
	cmd := command(t, args...)
	if stdin != nil {
		cmd.Stdin = strings.NewReader(*stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run streamcat: %v", err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}
}

// sc runs the binary against the test server.
func sc(t *testing.T, args ...string) result {
	t.Helper()
	return runBin(t, nil, append([]string{"--dsn", testdb.DSN()}, args...)...)
}

func wantOK(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d, want 0; stderr: %s", r.code, r.stderr)
	}
}

// wantFail checks the exit code, a "streamcat: ..." message containing
// want (one line, or followed by a server error's detail lines), and an
// empty stdout.
func wantFail(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d; stderr: %s", r.code, code, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "streamcat: ") || !strings.HasSuffix(r.stderr, "\n") || strings.Count(r.stderr, "streamcat: ") != 1 {
		t.Errorf("stderr is not one \"streamcat: ...\" message: %q", r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q does not mention %q", r.stderr, want)
	}
	if r.stdout != "" {
		t.Errorf("stdout not empty: %q", r.stdout)
	}
}

func TestHelp(t *testing.T) {
	r := runBin(t, nil, "--help")
	wantOK(t, r)
	for _, s := range []string{"--format", "--param", "Exit codes:", "130", "143", "Examples:"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("usage text lacks %q", s)
		}
	}
}

func TestBadInputs(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"--bogus", "select 1"}, 2, "-bogus"},
		{"unknown format", []string{"--format", "xml", "select 1"}, 2, "xml"},
		{"jsonl header", []string{"--format", "jsonl", "--header", "select 1"}, 2, "jsonl"},
		{"bad delimiter", []string{"--delimiter", "ab", "select 1"}, 2, "delimiter"},
		{"bad progress", []string{"--progress", "sometimes", "select 1"}, 2, "progress"},
		{"two queries", []string{"select 1", "select 2"}, 2, "too many arguments"},
		{"no query", nil, 2, "no QUERY"},
		{"init without embedded", []string{"--init", "x.sql", "select 1"}, 2, "--embedded"},
		{"malformed dsn", []string{"--dsn", "postgres://u:secret@127.0.0.1:notaport/db", "select 1"}, 2, "invalid connection string"},
		{"unreachable host", []string{"--dsn", "postgres://u:secret@127.0.0.1:1/db", "select 1"}, 2, "host=127.0.0.1 port=1 user=u database=db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBin(t, nil, tc.args...)
			wantFail(t, r, tc.code, tc.want)
			if strings.Contains(r.stderr, "secret") {
				t.Errorf("stderr shows the password: %q", r.stderr)
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query string
		code  int
		want  string
	}{
		{"syntax error", "selec 1", 1, "syntax error"},
		{"two statements", "select 1; select 2", 2, "QUERY must be exactly one statement"},
		{"unknown table", "select * from no_such_table", 1, "no_such_table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantFail(t, sc(t, tc.query), tc.code, tc.want)
		})
	}
	t.Run("error mid-stream", func(t *testing.T) {
		r := sc(t, "select 1/(g-3) from generate_series(1,5) g")
		if r.code != 1 || !strings.Contains(r.stderr, "division by zero") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("exit %d, stderr %q; want 1 and one line about division by zero", r.code, r.stderr)
		}
	})
}

func TestQuerySources(t *testing.T) {
	q := "select 'from stdin'"
	r := runBin(t, &q, "--dsn", testdb.DSN())
	wantOK(t, r)
	if r.stdout != "from stdin\n" {
		t.Errorf("stdin query: got %q", r.stdout)
	}
	f := filepath.Join(t.TempDir(), "q.sql")
	if err := os.WriteFile(f, []byte("select 'from file', 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = sc(t, "-f", f)
	wantOK(t, r)
	if r.stdout != "from file,2\n" {
		t.Errorf("-f query: got %q", r.stdout)
	}
	// flags after QUERY
	r = sc(t, "select 1 as a, null as b", "--header", "--null", "NULL", "--delimiter", ";")
	wantOK(t, r)
	if r.stdout != "a;b\n1;NULL\n" {
		t.Errorf("flags after QUERY: got %q", r.stdout)
	}
}

func TestParams(t *testing.T) {
	r := sc(t, "-v", "41", "select $1::int + 1")
	wantOK(t, r)
	if r.stdout != "42\n" {
		t.Errorf("got %q, want 42", r.stdout)
	}
	evil := "'; drop table x; --"
	r = sc(t, "--format", "tsv", "--param", evil, "-v", "b", "select $1, $2")
	wantOK(t, r)
	if r.stdout != evil+"\tb\n" {
		t.Errorf("got %q, want the value verbatim", r.stdout)
	}
	wantFail(t, sc(t, "-v", "1", "select $1::int, $2::int"), 2, "QUERY expects 2 parameter(s), got 1")
	wantFail(t, sc(t, "--param", "1", "select 1"), 2, "QUERY expects 0 parameter(s), got 1")
}

func TestStatsAndProgress(t *testing.T) {
	r := sc(t, "--stats", "--progress", "always", "select generate_series(1, 3)")
	wantOK(t, r)
	if r.stdout != "1\n2\n3\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "streamcat: 3 rows, 6 bytes") || !strings.Contains(r.stderr, "rows/s") {
		t.Errorf("stats/progress missing from stderr: %q", r.stderr)
	}
	// the count is published every 256 rows, and exactly at the end
	r = sc(t, "--stats", "--limit", "700", "select generate_series(1, 1000)")
	wantOK(t, r)
	if n := strings.Count(r.stdout, "\n"); n != 700 || !strings.Contains(r.stderr, "streamcat: 700 rows,") {
		t.Errorf("--limit 700: %d lines, stderr %q", n, r.stderr)
	}
	r = sc(t, "--batch", "2", "select generate_series(1, 7)")
	wantOK(t, r)
	if r.stdout != "1\n2\n3\n4\n5\n6\n7\n" {
		t.Errorf("--batch 2: stdout %q", r.stdout)
	}
	r = sc(t, "select 1") // auto: stderr is not a terminal here
	if r.stderr != "" {
		t.Errorf("unexpected stderr %q", r.stderr)
	}
}

func TestLimitCancelsQuery(t *testing.T) {
	marker := "limit_marker_7151"
	r := sc(t, "--limit", "5", "select generate_series(1,10000000) as "+marker)
	wantOK(t, r)
	if r.stdout != "1\n2\n3\n4\n5\n" {
		t.Errorf("got %q, want 5 lines", r.stdout)
	}
	testdb.WaitGone(t, marker)
}

func TestClosedStdout(t *testing.T) {
	marker := "head_marker_2713"
	cmd := command(t, "--dsn", testdb.DSN(), "select generate_series(1,10000000) as "+marker)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = pw, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	br := bufio.NewReader(pr)
	for i := 1; i <= 5; i++ {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("%d\n", i) {
			t.Fatalf("line %d: %q, %v", i, line, err)
		}
	}
	pr.Close()
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); err != nil || code != 0 {
		t.Errorf("exit %d (%v), want 0 after the reader went away; stderr: %s", code, err, errb.String())
	}
	if errb.Len() != 0 {
		t.Errorf("stderr not silent: %q", errb.String())
	}
	testdb.WaitGone(t, marker)
}

func TestSignals(t *testing.T) {
	t.Parallel() // slow, and independent of the other tests
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			marker := fmt.Sprintf("sig_marker_%d", tc.sig)
			out := filepath.Join(t.TempDir(), "out.csv")
			cmd := command(t, "--dsn", testdb.DSN(), "-o", out, "select pg_sleep(30) as "+marker)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			testdb.WaitActive(t, marker)
			start := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, errb.String())
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %v to stop", el)
			}
			testdb.WaitGone(t, marker)
			assertDirEmpty(t, filepath.Dir(out))
		})
	}
}

func TestTimeout(t *testing.T) {
	marker := "timeout_marker_9931"
	r := sc(t, "--timeout", "200ms", "select pg_sleep(30) as "+marker)
	wantFail(t, r, 1, "timed out after 200ms")
	testdb.WaitGone(t, marker)
}

func assertDirEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind: %s", e.Name())
	}
}

func TestOutputFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.csv")
	r := sc(t, "-o", out, "--header", "select g from generate_series(1,3) g")
	wantOK(t, r)
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing with -o", r.stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil || string(b) != "g\n1\n2\n3\n" {
		t.Errorf("file %q, %v", b, err)
	}

	// A failing query leaves the existing file alone and no temporary file.
	r = sc(t, "-o", out, "select 1/(g-3) from generate_series(1,5) g")
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	if b, _ := os.ReadFile(out); string(b) != "g\n1\n2\n3\n" {
		t.Errorf("existing file changed to %q", b)
	}
	os.Remove(out)
	assertDirEmpty(t, dir)

	r = sc(t, "-o", out, "select 1/(g-3) from generate_series(1,5) g")
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	assertDirEmpty(t, dir)
}

func TestEmbedded(t *testing.T) {
	t.Parallel() // slow, and independent of the other tests
	if testing.Short() {
		t.Skip("starts a second cluster")
	}
	script := filepath.Join(t.TempDir(), "init.sql")
	err := os.WriteFile(script, []byte(`
create table items (id int primary key, name text, note text);
insert into items values (1, 'a, b', null), (2, 'say "hi"', '');
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	r := runBin(t, nil, "--embedded", "--init", script, "--header", "select * from items order by id")
	wantOK(t, r)
	if want := "id,name,note\n1,\"a, b\",\n2,\"say \"\"hi\"\"\",\"\"\n"; r.stdout != want {
		t.Errorf("got %q, want %q", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "embedded PostgreSQL") {
		t.Errorf("no notice on stderr: %q", r.stderr)
	}
}

// runBinEnv is runBin without stdin, with extra environment variables.
func runBinEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := command(t, args...)
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run streamcat: %v", err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}
}
