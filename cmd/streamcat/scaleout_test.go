package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/internal/testdb"
)

// parTable makes a table of rows rows with a column of each kind the wide
// benchmark table has, NULLs, and text that needs quoting; name is unique.
func parTable(t *testing.T, pool *pgxpool.Pool, name string, rows int) {
	t.Helper()
	_, err := pool.Exec(context.Background(), fmt.Sprintf(`drop table if exists %[1]s;
		create table %[1]s as select g::int8 as id, case when g %% 5 = 0 then null else 'n,"' || g end as name,
			(g / 4.0)::numeric(12,2) as amount, timestamptz '2020-01-01Z' + g * interval '1 hour' as at,
			array['a', 'b'] as tags, jsonb_build_object('g', g) as attrs, md5(g::text)::uuid as ref,
			repeat('x', 100) as pad
		from generate_series(1, %[2]d) g;
		alter table %[1]s add primary key (id); analyze %[1]s`, name, rows))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "drop table "+name) })
}

// lines splits text output into sorted lines, for a comparison as
// multisets.
func sortedLines(s string) []string {
	l := strings.SplitAfter(s, "\n")
	slices.Sort(l)
	return l
}

func TestParallelEqualsSerialInEveryFormat(t *testing.T) {
	pool := testdb.Pool(t)
	parTable(t, pool, "sc_par", 3000)
	dir := t.TempDir()
	const q = "select id, name, amount, at, tags, attrs, ref from sc_par where id % 7 <> $1::int"
	for _, format := range []string{"csv", "tsv", "jsonl", "json", "parquet", "arrow"} {
		t.Run(format, func(t *testing.T) {
			file := func(name string, args ...string) []byte {
				out := filepath.Join(dir, format+"-"+name)
				wantOK(t, sc(t, append([]string{"--format", format, "-o", out, "-v", "3"}, args...)...))
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			// --split-by: byte-identical to the serial query ordered by the key
			ordered := file("serial-ordered", q+" order by id")
			byKey := file("split-by", "--parallel", "3", "--split-by", "id", q)
			if !slices.Equal(ordered, byKey) {
				t.Errorf("--parallel 3 --split-by id differs from the serial query with ORDER BY id (%d and %d bytes)", len(ordered), len(byKey))
			}
			// block ranges: the same rows, in some order
			serial := file("serial", q)
			blocks := file("blocks", "--parallel", "4", q)
			switch format {
			case "parquet", "arrow":
				want, got := colRows(t, format, serial), colRows(t, format, blocks)
				cmpRow := func(a, b []string) int { return slices.Compare(a, b) }
				slices.SortFunc(want, cmpRow)
				slices.SortFunc(got, cmpRow)
				assertEqualRows(t, format, want, got)
			case "json":
				// "[", then one object a line, each but the last with ","
				norm := func(b []byte) []string {
					return sortedLines(strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(string(b), "["), "\n]\n")+",\n", "},\n", "}\n"))
				}
				if !slices.Equal(norm(serial), norm(blocks)) {
					t.Errorf("--parallel 4 returns other rows than the serial query")
				}
			default:
				if !slices.Equal(sortedLines(string(serial)), sortedLines(string(blocks))) {
					t.Errorf("--parallel 4 returns other rows than the serial query")
				}
			}
		})
	}
}

func TestParallelRefusesAndCleansUp(t *testing.T) {
	pool := testdb.Pool(t)
	parTable(t, pool, "sc_par_fail", 3000)
	// 20 MB: every slice is still sending when the limit is reached or a
	// backend is terminated
	_, err := pool.Exec(context.Background(), `create table sc_par_big as
		select g as id, repeat(md5(g::text), 20) as pad from generate_series(1, 30000) g`)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "drop table sc_par_big") })
	t.Run("not a plain scan", func(t *testing.T) {
		wantFail(t, sc(t, "--parallel", "2", "select count(*) from sc_par_fail"), 2, "Aggregate")
		wantFail(t, sc(t, "--parallel", "2", "select * from sc_par_fail order by id"), 2, "ORDER BY")
		wantFail(t, sc(t, "--split-by", "id", "table sc_par_fail"), 2, "--split-by needs --parallel")
		wantFail(t, sc(t, "--parallel", "2", "--split-by", "nope", "table sc_par_fail"), 1, `no column "nope"`)
	})
	t.Run("a failing slice", func(t *testing.T) {
		// division by zero in one slice only: the others are cancelled
		out := filepath.Join(t.TempDir(), "out.csv")
		r := sc(t, "--parallel", "3", "-o", out, "select id, 1 / (id - 2900) as sc_par_fail_marker from sc_par_fail")
		if r.code != 1 || !strings.Contains(r.stderr, "division by zero") || !strings.Contains(r.stderr, "slice 3 of 3") {
			t.Errorf("exit %d, stderr %q; want 1 and the failing slice's error", r.code, r.stderr)
		}
		testdb.WaitGone(t, "sc_par_fail_marker")
		assertDirEmpty(t, filepath.Dir(out))
	})
	t.Run("--limit", func(t *testing.T) {
		const marker = "sc_par_limit_marker"
		r := sc(t, "--parallel", "3", "--limit", "10", "select id, pad as "+marker+" from sc_par_big")
		wantOK(t, r)
		if n := strings.Count(r.stdout, "\n"); n != 10 {
			t.Errorf("%d rows, want 10", n)
		}
		testdb.WaitGone(t, marker)
	})
	t.Run("a terminated backend", func(t *testing.T) {
		// stdout is a pipe read only after the first slice's backend was
		// terminated: every slice is still sending then
		const marker = "sc_par_term_marker"
		cmd := command(t, "--dsn", testdb.DSN(), "--parallel", "3", "select id, pad as "+marker+" from sc_par_big")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// the first slice's own statement (no lower bound), not just any
		// slice's: terminated before it starts, nothing would fail
		first := marker + " from sc_par_big WHERE ctid < '("
		testdb.WaitActive(t, first)
		testdb.Terminate(t, first)
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(errb.String(), "slice 1 of 3") {
			t.Errorf("exit %d, stderr %q; want 1 and the terminated slice named", code, errb.String())
		}
		testdb.WaitGone(t, marker)
	})
	t.Run("SIGINT", func(t *testing.T) {
		// stdout is a pipe nobody reads: the slices wait for the writer
		out := filepath.Join(t.TempDir(), "out.csv")
		const marker = "sc_par_sigint_marker"
		cmd := command(t, "--dsn", testdb.DSN(), "--parallel", "3", "-o", out,
			"select id, pg_sleep(0.05) as "+marker+" from sc_par_fail")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		testdb.WaitActive(t, marker)
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 130 {
			t.Errorf("exit %d, want 130", code)
		}
		testdb.WaitGone(t, marker)
		assertDirEmpty(t, filepath.Dir(out))
	})
}

// twoMoreServers starts two clusters beside the test server, each with
// table name holding a third of ids 1..3000 (by id % 3), and returns the
// three DSNs.
func twoMoreServers(t *testing.T, name string) []string {
	t.Helper()
	ctx := context.Background()
	dsns := append([]string{testdb.DSN()}, testdb.MoreServers(t, 2)...)
	for i, dsn := range dsns {
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		_, err = pool.Exec(ctx, fmt.Sprintf(`drop table if exists %[1]s;
			create table %[1]s (id int8 primary key, k text, amount numeric, at timestamptz);
			insert into %[1]s select g, 'k' || g, g / 3.0, timestamptz '2020-01-01Z' + g * interval '1 minute'
				from generate_series(1, 3000) g where g %% 3 = %[2]d`, name, i))
		pool.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		pool, err := pgxpool.New(context.Background(), testdb.DSN())
		if err == nil {
			_, _ = pool.Exec(context.Background(), "drop table "+name)
			pool.Close()
		}
	})
	return dsns
}

func TestFanInAcrossThreeServers(t *testing.T) {
	t.Parallel() // starts two clusters; independent of the other tests
	dsns := twoMoreServers(t, "sc_shard")
	all := func(args ...string) result {
		return runBin(t, nil, append([]string{"--dsn", dsns[0], "--dsn", dsns[1], "--dsn", dsns[2]}, args...)...)
	}
	// the whole table, as one server would give it
	var want strings.Builder
	for g := 1; g <= 3000; g++ {
		fmt.Fprintf(&want, "%d,k%d\n", g, g)
	}
	r := all("select id, k from sc_shard")
	wantOK(t, r)
	if !slices.Equal(sortedLines(r.stdout), sortedLines(want.String())) {
		t.Errorf("fan-in: not the union of the three servers' rows")
	}
	r = all("--merge-by", "id", "select id, k from sc_shard order by id")
	wantOK(t, r)
	if r.stdout != want.String() {
		t.Errorf("--merge-by id: not the rows in id order")
	}
	for _, key := range []string{"amount", "at"} { // numeric and timestamptz
		r = all("--merge-by", key, "--format", "tsv", "select id, "+key+" from sc_shard order by "+key)
		wantOK(t, r)
		var ids []string
		for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
			ids = append(ids, strings.Split(l, "\t")[0])
		}
		if len(ids) != 3000 || ids[0] != "1" || ids[1] != "2" || ids[2999] != "3000" || !slices.IsSortedFunc(ids, func(a, b string) int { return len(a)*10000 - len(b)*10000 + strings.Compare(a, b) }) {
			t.Errorf("--merge-by %s: not in order", key)
		}
	}
	r = all("--merge-by", "id desc", "--limit", "2", "select id, k from sc_shard order by id desc")
	wantOK(t, r)
	if r.stdout != "3000,k3000\n2999,k2999\n" {
		t.Errorf("--merge-by 'id desc' --limit 2: %q", r.stdout)
	}
	// a shards file, and text keys merged byte by byte
	shards := filepath.Join(t.TempDir(), "shards")
	if err := os.WriteFile(shards, []byte("# three servers\n"+strings.Join(dsns, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runBin(t, nil, "--shards", shards, "--merge-by", "k", `select k from sc_shard order by k collate "C"`)
	wantOK(t, r)
	ks := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(ks) != 3000 || !slices.IsSorted(ks) {
		t.Errorf("--merge-by k: %d rows, sorted %v", len(ks), slices.IsSorted(ks))
	}
	// a server whose rows are not in the merge order: an error, not wrong output
	out := filepath.Join(t.TempDir(), "out.csv")
	r = all("-o", out, "--merge-by", "id", "select id, k from sc_shard order by k")
	if r.code != 1 || !strings.Contains(r.stderr, "order") {
		t.Errorf("merge of unordered inputs: exit %d, stderr %q", r.code, r.stderr)
	}
	assertDirEmpty(t, filepath.Dir(out))
	// usage errors
	wantFail(t, all("--merge-by", "nope", "select id from sc_shard order by id"), 2, "no such column")
	wantFail(t, all("--parallel", "2", "select id from sc_shard"), 2, "--parallel reads one server")
	wantFail(t, runBin(t, nil, "--dsn", dsns[0], "--merge-by", "id", "select 1 as id"), 2, "--merge-by needs several servers")
	wantFail(t, runBin(t, nil, "--shards", filepath.Join(t.TempDir(), "none"), "select 1"), 2, "--shards")
	r = runBin(t, nil, "--dsn", dsns[0], "--dsn", "postgres://u:secret@127.0.0.1:1/db", "select id from sc_shard")
	wantFail(t, r, 2, "127.0.0.1")
	if strings.Contains(r.stderr, "secret") {
		t.Errorf("the password shows: %q", r.stderr)
	}
}
