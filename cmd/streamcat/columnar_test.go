package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"golang.org/x/sys/unix"

	"github.com/streamcat/streamcat/internal/coltest"
	"github.com/streamcat/streamcat/internal/testdb"
)

// colQuery has a column of each kind the wide benchmark table has.
const colQuery = `select g::int8 as id, case when g % 2 = 0 then null else 'n' || g end as name,
  (g / 4.0)::numeric(12,2) as amount, timestamptz '2020-01-01Z' + g * interval '1 hour' as at,
  array['a', 'b'] as tags, jsonb_build_object('g', g) as attrs, md5(g::text)::uuid as ref,
  g / 7.0 as ratio
from generate_series(1, 5) g`

// colRows reads every value of a Parquet file or Arrow stream in canonical form.
func colRows(t *testing.T, format string, data []byte) [][]string {
	t.Helper()
	var out [][]string
	add := func(rec arrow.RecordBatch) {
		for i := range int(rec.NumRows()) {
			row := make([]string, rec.NumCols())
			for c := range row {
				row[c] = coltest.FromArrow(rec.Column(c), i)
			}
			out = append(out, row)
		}
	}
	if format == "arrow" {
		r, err := ipc.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Release()
		for r.Next() {
			add(r.RecordBatch())
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 1<<20)
	defer tr.Release()
	for tr.Next() {
		add(tr.RecordBatch())
	}
	return out
}

// wantColRows is colQuery as pgx decodes it, in canonical form.
func wantColRows(t *testing.T) [][]string {
	t.Helper()
	pool := testdb.Pool(t)
	c, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	want, err := coltest.Expected(context.Background(), c.Conn(), colQuery, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range want {
		row[7] = `"` + strings.TrimPrefix(row[7], "num:") + `"` // ratio: an exact string, compared below as a number
	}
	return want
}

// TestColumnarFormats: --format parquet to -o FILE and to a pipe, and
// --format arrow to a pipe, read back to the values pgx decodes.
func TestColumnarFormats(t *testing.T) {
	want := wantColRows(t)
	norm := func(rows [][]string) [][]string {
		for _, row := range rows {
			row[5] = coltest.JSONBytes(row[5])
			if s := row[7]; strings.HasPrefix(s, `"`) && !strings.Contains(s, "/") {
				row[7] = `"` + strings.TrimPrefix(coltest.NumericText(strings.Trim(s, `"`)), "num:") + `"`
			}
		}
		return rows
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out.parquet")
	r := sc(t, "--format", "parquet", "-o", out, "--stats", colQuery)
	wantOK(t, r)
	if !strings.Contains(r.stderr, "5 rows") {
		t.Errorf("--stats: %q", r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	assertEqualRows(t, "parquet -o", norm(want), norm(colRows(t, "parquet", b)))

	for _, f := range []string{"parquet", "arrow"} {
		for _, comp := range []string{"zstd", "none"} {
			r := sc(t, "--format", f, "--compression", comp, "--row-group", "2", colQuery)
			wantOK(t, r)
			assertEqualRows(t, f+" "+comp, norm(want), norm(colRows(t, f, []byte(r.stdout))))
		}
	}
}

func assertEqualRows(t *testing.T, what string, want, got [][]string) {
	t.Helper()
	if fmt.Sprint(want) != fmt.Sprint(got) {
		t.Errorf("%s:\n got: %v\nwant: %v", what, got, want)
	}
}

// TestColumnarAllOrNothing: a query that fails, or a run interrupted,
// after row groups were written leaves no file behind with -o.
func TestColumnarAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.parquet")
	r := sc(t, "--format", "parquet", "--row-group", "100", "-o", out, "select g, 1/(g-3000) from generate_series(1, 5000) g")
	wantFail(t, r, 1, "division by zero")
	assertDirEmpty(t, dir)

	marker := "col_sig_marker"
	cmd := command(t, "--dsn", testdb.DSN(), "--format", "parquet", "--row-group", "100", "-o", out,
		"select g as "+marker+", repeat(md5(g::text), 4), pg_sleep(case when g = 3000 then 30 else 0 end) from generate_series(1, 5000) g")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testdb.WaitActive(t, marker)
	// The rows before the sleep reach the writer within moments; wait for
	// the temporary file to hold row groups (past parquet-go's 32 KiB write
	// buffer: 29 row groups of 100 rows of 128 characters), so the
	// interrupt is halfway.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && tempSize(dir) == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	if tempSize(dir) == 0 {
		t.Error("no row group reached the temporary file before the interrupt")
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130; stderr: %s", code, errb.String())
	}
	testdb.WaitGone(t, marker)
	assertDirEmpty(t, dir)
}

// tempSize is the size of the temporary output file in dir, 0 if none.
func tempSize(dir string) int64 {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), ".tmp") {
			return fi.Size()
		}
	}
	return 0
}

func TestColumnarUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "arrow", "--compression", "snappy"}, "--compression"},
		{[]string{"--format", "parquet", "--compression", "lzma"}, "--compression"},
		{[]string{"--row-group", "10"}, "--row-group applies to --format parquet and arrow only"},
		{[]string{"--format", "parquet", "--numeric", "int"}, "--numeric must be exact or float64"},
		{[]string{"--format", "parquet", "--header"}, "apply to csv and tsv only"},
		{[]string{"--format", "parquet", "--row-group", "-1"}, "--row-group must not be negative"},
	} {
		r := sc(t, append(tc.args, "select 1")...)
		wantFail(t, r, 2, tc.want)
	}
}

// TestColumnarTerminal: binary output is refused on a terminal (a pseudo
// terminal here) before anything runs, and written to /dev/null, which is
// a character device too but no terminal.
func TestColumnarTerminal(t *testing.T) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open a pseudo terminal: %v", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	for _, f := range []string{"parquet", "arrow"} {
		cmd := command(t, "--dsn", testdb.DSN(), "--format", f, "select 1")
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = tty, &errb
		_ = cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(errb.String(), "is binary: give -o FILE") {
			t.Errorf("%s to a terminal: exit %d, stderr %q; want exit 2 and a hint", f, code, errb.String())
		}

		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		cmd = command(t, "--dsn", testdb.DSN(), "--format", f, "select 1")
		cmd.Stdout, cmd.Stderr = null, &errb
		errb.Reset()
		_ = cmd.Run()
		null.Close()
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("%s to /dev/null: exit %d, stderr %q", f, code, errb.String())
		}
	}
}
