package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/streamcat/streamcat/internal/testdb"
)

// TestStatsAfterClosedStdout: --stats is printed when the reader went
// away, with the rows that fully reached it.
func TestStatsAfterClosedStdout(t *testing.T) {
	t.Parallel() // slow, and independent of the other tests
	for _, format := range []string{"csv", "tsv", "jsonl", "json"} {
		t.Run(format, func(t *testing.T) {
			// csv: a quoted line break in every row must not count as a row
			cmd := command(t, "--dsn", testdb.DSN(), "--stats", "--format", format,
				"select g, E'two\\nlines' from generate_series(1, 300000) g")
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
			var got bytes.Buffer
			br := bufio.NewReader(pr)
			for got.Len() < 200000 {
				b := make([]byte, 4096)
				n, err := br.Read(b)
				if err != nil {
					t.Fatal(err)
				}
				got.Write(b[:n])
			}
			pr.Close()
			_ = cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 0 {
				t.Fatalf("exit %d; stderr %q", code, errb.String())
			}
			m := regexp.MustCompile(`streamcat: (\d+) rows, (\d+) bytes .*\(stdout closed early\)`).FindStringSubmatch(errb.String())
			if m == nil {
				t.Fatalf("no stats line in %q", errb.String())
			}
			rows, _ := strconv.Atoi(m[1])
			written, _ := strconv.Atoi(m[2])
			if written < got.Len() {
				t.Errorf("stats say %d bytes, the reader got %d", written, got.Len())
			}
			// The rows the reader received whole are at most the rows the
			// stats count (more may have reached the pipe after it stopped
			// reading), and the count is of rows, not lines.
			whole := wholeRows(format, got.String())
			if rows < whole || rows == 0 || rows > written/10 {
				t.Errorf("stats say %d rows; the reader got %d whole rows in %d bytes of %d written", rows, whole, got.Len(), written)
			}
		})
	}
}

// wholeRows counts the complete rows in a prefix of the output of the
// query in TestStatsAfterClosedStdout (each row holds one line break in
// its text, escaped except in csv).
func wholeRows(format, s string) int {
	switch format {
	case "csv":
		return strings.Count(s, "\n") / 2
	case "json":
		return max(0, strings.Count(s, "\n")-1)
	}
	return strings.Count(s, "\n")
}

// TestProgressOffTerminal: forced progress on a pipe prints plain lines,
// one every few seconds, never carriage returns.
func TestProgressOffTerminal(t *testing.T) {
	t.Parallel() // slow, and independent of the other tests
	r := sc(t, "--progress", "always", fmt.Sprintf("select 1 from pg_sleep(%v)", logRefresh.Seconds()+0.5))
	wantOK(t, r)
	if strings.ContainsAny(r.stderr, "\r\x1b") {
		t.Errorf("carriage returns or escapes off a terminal: %q", r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("want a periodic line and a final one, got %q", r.stderr)
	}
	re := regexp.MustCompile(`^streamcat: \d+ rows?, \d+ rows/s, [\d.]+ [KMG]?i?B written, \d+s elapsed$`)
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("progress line %q is not plain words", l)
		}
	}
	if !strings.HasPrefix(lines[len(lines)-1], "streamcat: 1 row,") {
		t.Errorf("final line %q", lines[len(lines)-1])
	}
}

// TestUsageExitCodes: a missing file or an unknown format is exit 2
// everywhere, and --init's file is checked before a server is started.
func TestUsageExitCodes(t *testing.T) {
	wantFail(t, sc(t, "-f", "/nonexistent/q.sql"), 2, "/nonexistent/q.sql")
	wantFail(t, sc(t, "--format", "xml", "select 1"), 2, "--format")
	r := runBin(t, nil, "--embedded", "--init", "/nonexistent/init.sql", "select 1")
	wantFail(t, r, 2, "--init")
	if strings.Contains(r.stderr, "embedded PostgreSQL") {
		t.Errorf("started a server first: %q", r.stderr)
	}
}
