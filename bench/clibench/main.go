// Command clibench measures the streamcat CLI against psql on a throwaway
// PostgreSQL: wall clock, throughput and peak RSS of whole processes, each
// writing a real file, side by side in one run.
//
//	go run ./bench/clibench [-wide-rows N] [-narrow-rows N] [-runs N] [-out DIR] [-order-by COLUMNS] [-baseline REV]
//
// It starts a cluster with localpg, builds ./cmd/streamcat, creates the
// unlogged tables narrow and wide, then for each table runs every tool -runs
// times in rotating order. Each process writes its stdout straight into a
// file under -out (the child owns the file descriptor: no pipe, no copying
// goroutine in this program); after the process has exited, and outside the
// timing, the file is hashed, counted and removed. streamcat's csv must be
// byte-identical to psql's COPY ... (FORMAT csv), its tsv to COPY's text
// format, and its jsonl must hold one valid JSON object per row, one line
// per row; any difference fails the run with the sizes and hashes.
// -baseline REV adds streamcat csv built from git revision REV, so a
// change is measured before and after in the same run.
//
// The markdown table goes to stdout, progress to stderr. See RESULTS.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/internal/procstat"
	"github.com/streamcat/streamcat/internal/testsupport"
	"github.com/streamcat/streamcat/localpg"
)

// timeBin is GNU time, which measures each tool's peak RSS (see measure).
const timeBin = "/usr/bin/time"

// tables are the datasets: wide and narrow are bench/'s (package
// testsupport); {N} is the row count.
var tables = []struct{ name, gen string }{
	{"wide", testsupport.WideSQL},
	{"narrow", testsupport.NarrowSQL},
	// huge is one row holding one text value of -huge-mb MiB ({MB}), with a
	// double quote every 16 bytes so csv quotes it and jsonl escapes it:
	// peak RSS for a single huge value. Measured only when -tables names it.
	{"huge", `select 1::int8 as id, repeat('0123456789abcde"', {MB} * 65536) as v`},
}

// tool is one command measured on a table.
type tool struct {
	name  string
	kind  string // what its output must match: see verify
	argv  func(t string) []string
	env   []string // extra environment
	isCat bool     // a streamcat run (the RSS target applies)
}

// variant is an extra streamcat csv run with more flags or environment
// (-variant), measured and verified like streamcat csv.
type variant struct {
	label string
	env   []string
	args  []string
}

// variants is the repeatable -variant flag: "LABEL:[NAME=VALUE ...] [FLAG ...]".
type variants []variant

func (v *variants) String() string { return fmt.Sprint(*v) }

func (v *variants) Set(s string) error {
	label, spec, ok := strings.Cut(s, ":")
	if !ok || label == "" {
		return errors.New(`want LABEL:[NAME=VALUE ...] [FLAG ...], e.g. "batch10k:--batch 10000" or "gogc400:GOGC=400"`)
	}
	va := variant{label: label}
	for _, f := range strings.Fields(spec) {
		if len(va.args) == 0 && !strings.HasPrefix(f, "-") && strings.Contains(f, "=") {
			va.env = append(va.env, f)
		} else {
			va.args = append(va.args, f)
		}
	}
	*v = append(*v, va)
	return nil
}

// Tool names, also the row labels of the table.
const (
	copyCSV  = "psql COPY csv"
	psqlCSV  = "psql --csv"
	catCSV   = "streamcat csv"
	copyText = "psql COPY text"
	catTSV   = "streamcat tsv"
	catJSONL = "streamcat jsonl"
)

func tools(psql, streamcat, dsn string, vs []variant, columnar bool, keep, orderBy string, base baseline) []tool {
	plain := func(t string) string { return "select * from " + t }
	q := plain
	if orderBy != "" {
		q = func(t string) string { return "select * from " + t + " order by " + orderBy }
	}
	catOf := func(bin, format string, extra ...string) func(string) []string {
		return func(t string) []string {
			argv := []string{bin, "--dsn", dsn, "--format", format, "--progress", "never"}
			argv = append(argv, extra...)
			if slices.Contains(extra, "--split-by") {
				return append(argv, plain(t)) // it orders by its column itself
			}
			return append(argv, q(t))
		}
	}
	cat := func(format string, extra ...string) func(string) []string { return catOf(streamcat, format, extra...) }
	ts := []tool{
		{name: copyCSV, kind: "copy-csv", argv: func(t string) []string {
			return []string{psql, "-X", "-q", "-d", dsn, "-c", "COPY (" + q(t) + ") TO STDOUT WITH (FORMAT csv)"}
		}},
		{name: psqlCSV, kind: "psql-csv", argv: func(t string) []string {
			return []string{psql, "-X", "-q", "-d", dsn, "--csv", "-c", q(t)}
		}},
		{name: catCSV, kind: "cat-csv", argv: cat("csv"), isCat: true},
		{name: copyText, kind: "copy-text", argv: func(t string) []string {
			return []string{psql, "-X", "-q", "-d", dsn, "-c", "COPY (" + q(t) + ") TO STDOUT"}
		}},
		{name: catTSV, kind: "cat-tsv", argv: cat("tsv"), isCat: true},
		{name: catJSONL, kind: "cat-jsonl", argv: cat("jsonl"), isCat: true},
	}
	for _, v := range vs {
		kind := "cat-csv"
		if slices.Contains(v.args, "--parallel") && !slices.Contains(v.args, "--split-by") {
			kind = "cat-csv-unordered" // slices written as they come: the same lines in another order
		}
		ts = append(ts, tool{name: catCSV + " [" + v.label + "]", kind: kind, argv: cat("csv", v.args...), env: v.env, isCat: true})
	}
	if base.bin != "" {
		ts = append(ts, tool{name: base.name(), kind: "cat-csv", argv: catOf(base.bin, "csv"), isCat: true})
	}
	if columnar {
		ts = append(ts, columnarTools(cat)...)
	}
	if keep != "" {
		names := strings.Split(keep, ",")
		ts = slices.DeleteFunc(ts, func(t tool) bool {
			return t.name != copyCSV && !slices.Contains(names, t.name) && t.name != base.name() &&
				!slices.ContainsFunc(vs, func(v variant) bool { return t.name == catCSV+" ["+v.label+"]" })
		})
	}
	return ts
}

// baseline is -baseline: streamcat built from another git revision,
// measured as one more csv tool beside the working tree's, so a change is
// measured before and after in the same run.
type baseline struct {
	rev string
	bin string // "" without -baseline
}

func (b baseline) name() string { return catCSV + " @" + b.rev }

// buildBaseline exports git revision rev of the module at root into dir
// (git archive, so the repository is left as it is) and builds its
// ./cmd/streamcat there.
func buildBaseline(ctx context.Context, root, rev, dir string) (string, error) {
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	export := exec.CommandContext(ctx, "sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, rev, src)
	if b, err := export.CombinedOutput(); err != nil {
		return "", fmt.Errorf("-baseline %s: git archive: %v\n%s", rev, err, b)
	}
	bin := filepath.Join(dir, "streamcat-base")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/streamcat")
	build.Dir = src
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("-baseline %s: go build ./cmd/streamcat: %v\n%s", rev, err, b)
	}
	return bin, nil
}

// measurement is one process run.
type measurement struct {
	wall      time.Duration
	maxRSSKiB int64
	cpu       time.Duration // user + system of the client process
	serverCPU time.Duration // user + system of the backends it used (-1: unknown)
	otherCPU  time.Duration // CPU busy time of everything else on the machine meanwhile
	bytes     int64
	lines     int64
	sha       string
	lineSum   uint64 // the sum of the lines' FNV-1a hashes: the same for the same lines in any order
}

func main() {
	wideRows := flag.Int("wide-rows", 2_000_000, "rows in the wide table")
	narrowRows := flag.Int("narrow-rows", 10_000_000, "rows in the narrow table")
	runs := flag.Int("runs", 3, "measured runs of every tool per table")
	out := flag.String("out", os.TempDir(), "directory for the output files (each is removed after it is checked)")
	only := flag.String("tables", "wide,narrow", "comma-separated tables to measure: wide, narrow, huge")
	hugeMB := flag.Int("huge-mb", 60, "size in MiB of the one value of the huge table")
	var vs variants
	col := flag.Bool("columnar", false, "also measure streamcat --format parquet and --format arrow")
	orderBy := flag.String("order-by", "", "measure `select * from TABLE order by COLUMNS` instead of select * (e.g. id, for --parallel N --split-by id, whose output equals it)")
	keep := flag.String("tools", "", "comma-separated tools to measure (psql COPY csv, the baseline, always runs); default all")
	baseRev := flag.String("baseline", "", "also measure streamcat csv built from this git `revision` (e.g. main~3), verified like streamcat csv: before and after in one run")
	flag.Var(&vs, "variant", "also measure streamcat csv with more environment and flags: `LABEL:[NAME=VALUE ...] [FLAG ...]` (repeatable)")
	flag.Parse()
	if *runs < 1 || *wideRows < 1 || *narrowRows < 1 || *hugeMB < 1 {
		fmt.Fprintln(os.Stderr, "clibench: -runs, -wide-rows, -narrow-rows and -huge-mb must be positive")
		os.Exit(2)
	}
	// A closed stdout or stderr (| head) must not kill the program before
	// it has stopped the cluster: with SIGPIPE notified, writes fail with
	// EPIPE instead (and children still get the default disposition).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, config{
		rows:     map[string]int{"wide": *wideRows, "narrow": *narrowRows, "huge": 1},
		hugeMB:   *hugeMB,
		runs:     *runs,
		out:      *out,
		names:    strings.Split(*only, ","),
		variants: vs,
		columnar: *col,
		tools:    *keep,
		orderBy:  *orderBy,
		baseRev:  *baseRev,
	})
	interrupted := ctx.Err() != nil
	stop()
	if interrupted {
		fmt.Fprintln(os.Stderr, "clibench: interrupted; cluster stopped and removed")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clibench: FAIL:", err)
		os.Exit(1)
	}
}

type config struct {
	rows     map[string]int
	hugeMB   int
	runs     int
	out      string
	names    []string
	variants []variant
	columnar bool   // -columnar
	tools    string // -tools
	orderBy  string // -order-by
	baseRev  string // -baseline
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s clibench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// run does everything; the cluster is stopped on every path out of it
// (errors, a signal cancelling ctx, a panic).
func run(ctx context.Context, cfg config) (err error) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		return err
	}
	if _, err := os.Stat(timeBin); err != nil {
		return fmt.Errorf("need GNU time at %s to measure peak RSS (apt-get install time): %w", timeBin, err)
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp(cfg.out, "clibench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	logf("building ./cmd/streamcat")
	streamcat := filepath.Join(work, "streamcat")
	build := exec.CommandContext(ctx, "go", "build", "-o", streamcat, "./cmd/streamcat")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/streamcat: %v\n%s", err, b)
	}

	var base baseline
	if cfg.baseRev != "" {
		logf("building ./cmd/streamcat at %s", cfg.baseRev)
		bin, err := buildBaseline(ctx, root, cfg.baseRev, filepath.Join(work, "baseline"))
		if err != nil {
			return err
		}
		base = baseline{rev: cfg.baseRev, bin: bin}
	}

	logf("starting PostgreSQL")
	pg, err := localpg.Start(ctx, localpg.Options{Settings: testsupport.ServerSettings()})
	if err != nil {
		return err
	}
	defer func() {
		if serr := pg.Stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	dsn := pg.DSN()
	began, load0 := time.Now(), procstat.Loadavg()
	var version string
	postmaster := procstat.PostmasterPID(pg.Dir())

	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pool.QueryRow(ctx, "select version()").Scan(&version); err != nil {
		return err
	}

	type tableResult struct {
		name  string
		rows  int
		tools []tool
		ms    map[string][]measurement
	}
	var results []tableResult
	for _, t := range tables {
		if !slices.Contains(cfg.names, t.name) {
			continue
		}
		n := cfg.rows[t.name]
		logf("creating %s (%d rows)", t.name, n)
		start := time.Now()
		for _, sql := range []string{
			"drop table if exists " + t.name,
			"create unlogged table " + t.name + " as " + strings.NewReplacer("{N}", strconv.Itoa(n), "{MB}", strconv.Itoa(cfg.hugeMB)).Replace(t.gen),
			"vacuum (analyze) " + t.name,
			"select count(*) from " + t.name, // into shared buffers
		} {
			if _, err := pool.Exec(ctx, sql); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
		logf("created %s in %.1fs", t.name, time.Since(start).Seconds())

		ts := tools(psql, streamcat, dsn, cfg.variants, cfg.columnar, cfg.tools, cfg.orderBy, base)
		ms := map[string][]measurement{}
		// One unmeasured warm-up of the baseline.
		if _, err := measure(ctx, ts[0], t.name, work, postmaster); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		for r := 0; r < cfg.runs; r++ {
			// Rotate the order, so no tool always runs first or after the
			// same neighbour.
			off := r * len(ts) / cfg.runs
			order := append(slices.Clone(ts[off:]), ts[:off]...)
			for _, tl := range order {
				m, err := measure(ctx, tl, t.name, work, postmaster)
				if err != nil {
					return fmt.Errorf("%s on %s, run %d: %w", tl.name, t.name, r+1, err)
				}
				logf("%-6s run %d  %-15s %6.2fs %8.1f MiB  %7.1f MB  cpu client %.2fs server %.2fs other %.2fs", t.name, r+1, tl.name,
					m.wall.Seconds(), float64(m.maxRSSKiB)/1024, float64(m.bytes)/1e6,
					m.cpu.Seconds(), m.serverCPU.Seconds(), m.otherCPU.Seconds())
				ms[tl.name] = append(ms[tl.name], m)
			}
			unordered := map[string]bool{}
			for _, tl := range ts {
				unordered[tl.name] = tl.kind == "cat-csv-unordered"
			}
			if err := verify(t.name, n, ms, r, unordered); err != nil {
				return err
			}
		}
		results = append(results, tableResult{t.name, n, ts, ms})
	}

	// The report.
	fmt.Printf("clibench: %s, %d CPUs, GOMAXPROCS %d, %s\n", runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0), version)
	fmt.Printf("started %s, took %s; load average (1/5/15 min) at start %s, at end %s\n",
		began.Format(time.RFC3339), time.Since(began).Round(time.Second), load0, procstat.Loadavg())
	fmt.Printf("%d measured runs per tool, rotating order; medians; ratio = median over runs of (tool wall / psql COPY csv wall in the same run), [min-max]\n\n", cfg.runs)
	fmt.Println("| table | rows | tool | wall s | MB/s | rows/s | peak RSS MiB | client CPU s | server CPU s | other CPU s | output MB | wall / COPY csv |")
	fmt.Println("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, res := range results {
		base := res.ms[copyCSV]
		for _, tl := range res.tools {
			m := res.ms[tl.name]
			wall := median(m, func(x measurement) float64 { return x.wall.Seconds() })
			ratios := make([]float64, len(m))
			for i := range m {
				ratios[i] = m[i].wall.Seconds() / base[i].wall.Seconds()
			}
			srv, other := "n/a", "n/a"
			if m[0].serverCPU >= 0 {
				srv = fmt.Sprintf("%.2f", median(m, func(x measurement) float64 { return x.serverCPU.Seconds() }))
			}
			if m[0].otherCPU >= 0 {
				other = fmt.Sprintf("%.2f", median(m, func(x measurement) float64 { return x.otherCPU.Seconds() }))
			}
			fmt.Printf("| %s | %d | %s | %.2f | %.0f | %.0f | %.1f | %.2f | %s | %s | %.0f | %s |\n",
				res.name, res.rows, tl.name, wall,
				float64(m[0].bytes)/1e6/wall, float64(res.rows)/wall,
				median(m, func(x measurement) float64 { return float64(x.maxRSSKiB) / 1024 }),
				median(m, func(x measurement) float64 { return x.cpu.Seconds() }),
				srv, other, float64(m[0].bytes)/1e6, ratioText(ratios))
		}
	}

	// CPU per row: what a row costs the machine, however the work is
	// spread over processes and cores (a parallel export adds backends).
	fmt.Println()
	fmt.Println("CPU per row (medians; client = the tool's process, server = its backends):")
	for _, res := range results {
		for _, tl := range res.tools {
			m := res.ms[tl.name]
			if m[0].serverCPU < 0 {
				continue
			}
			cl := median(m, func(x measurement) float64 { return x.cpu.Seconds() }) / float64(res.rows) * 1e6
			sv := median(m, func(x measurement) float64 { return x.serverCPU.Seconds() }) / float64(res.rows) * 1e6
			fmt.Printf("- %s, %s: %.2f µs (client %.2f + server %.2f)\n", res.name, tl.name, cl+sv, cl, sv)
		}
	}

	// The targets.
	fmt.Println()
	fmt.Println("Targets (ratios are medians of per-run ratios; RSS is the largest over all runs):")
	for _, res := range results {
		// per-run ratios of one figure of tool name to baseName's
		ratioBy := func(name, baseName string, fig func(measurement) time.Duration) []float64 {
			m, b := res.ms[name], res.ms[baseName]
			r := make([]float64, len(m))
			for i := range m {
				r[i] = fig(m[i]).Seconds() / fig(b[i]).Seconds()
			}
			return r
		}
		ratioOf := func(name, baseName string) []float64 {
			return ratioBy(name, baseName, func(x measurement) time.Duration { return x.wall })
		}
		if res.name == "huge" {
			hugeTargets(res.tools, res.ms, cfg.hugeMB)
			continue
		}
		limit := 1.0
		if res.name == "wide" {
			limit = 0.9
		}
		columnarTargets(res.name, res.ms, ratioOf)
		if _, ok := res.ms[catCSV]; ok {
			target(fmt.Sprintf("%s: streamcat csv wall <= %.1fx psql COPY csv", res.name, limit), medianF(ratioOf(catCSV, copyCSV)), limit, "x")
		}
		if m, ok := res.ms[catCSV]; ok && m[0].serverCPU >= 0 {
			// issue 11: what the export costs the machine, client and server
			r := ratioBy(catCSV, copyCSV, func(x measurement) time.Duration { return x.cpu + x.serverCPU })
			target(fmt.Sprintf("%s: streamcat csv client + server CPU <= 0.9x psql COPY csv's (per run: %s)", res.name, ratioText(r)), medianF(r), 0.9, "x")
		}
		if _, ok := res.ms[catJSONL]; ok {
			target(fmt.Sprintf("%s: streamcat jsonl wall <= 1.3x psql COPY csv", res.name), medianF(ratioOf(catJSONL, copyCSV)), 1.3, "x")
		}
		if _, ok := res.ms[catTSV]; ok && len(res.ms[copyText]) > 0 {
			fmt.Printf("- %s: (no target) streamcat tsv / psql COPY text = %s\n", res.name, ratioText(ratioOf(catTSV, copyText)))
		}
		for _, tl := range res.tools {
			if !tl.isCat {
				continue
			}
			peak := slices.MaxFunc(res.ms[tl.name], func(a, b measurement) int { return int(a.maxRSSKiB - b.maxRSSKiB) })
			if tl.kind == "cat-parquet" || tl.kind == "cat-arrow" {
				continue // their target is 64 MB, above
			}
			target(fmt.Sprintf("%s: %s peak RSS <= 32 MB", res.name, tl.name), float64(peak.maxRSSKiB)*1024/1e6, 32, " MB")
		}
		if _, ok := res.ms[psqlCSV]; ok {
			peak := slices.MaxFunc(res.ms[psqlCSV], func(a, b measurement) int { return int(a.maxRSSKiB - b.maxRSSKiB) })
			fmt.Printf("- %s: (reference) psql --csv peak RSS %.0f MB\n", res.name, float64(peak.maxRSSKiB)*1024/1e6)
		}
	}
	return nil
}

// hugeBaseline is streamcat's peak RSS without a huge value (the wide and
// narrow tables stay under 21 MB): the huge value's target is 2x its size
// on top of it.
const hugeBaseline = 21.0

// hugeTargets prints the peak RSS targets for the huge table: at most two
// copies of the value (the connection's read buffer and one more) plus
// the baseline, with psql COPY csv as the reference.
func hugeTargets(tools []tool, ms map[string][]measurement, mb int) {
	size := float64(mb) * (1 << 20) / 1e6
	for _, tl := range tools {
		if !tl.isCat {
			continue
		}
		peak := slices.MaxFunc(ms[tl.name], func(a, b measurement) int { return int(a.maxRSSKiB - b.maxRSSKiB) })
		target(fmt.Sprintf("huge (one %d MiB value): %s peak RSS <= 2 x %.0f MB + %.0f MB", mb, tl.name, size, hugeBaseline),
			float64(peak.maxRSSKiB)*1024/1e6, 2*size+hugeBaseline, " MB")
	}
	peak := slices.MaxFunc(ms[copyCSV], func(a, b measurement) int { return int(a.maxRSSKiB - b.maxRSSKiB) })
	fmt.Printf("- huge: (reference) psql COPY csv peak RSS %.0f MB\n", float64(peak.maxRSSKiB)*1024/1e6)
}

// target prints one target line: met or missed, and by how much.
func target(what string, got, limit float64, unit string) {
	verdict := "MET"
	if got > limit {
		verdict = "MISSED"
	}
	fmt.Printf("- %s: %s (%.2f%s; %+.1f%% vs the limit)\n", what, verdict, got, unit, (got/limit-1)*100)
}

func ratioText(r []float64) string {
	return fmt.Sprintf("%.2f [%.2f-%.2f]", medianF(r), slices.Min(r), slices.Max(r))
}

func median(ms []measurement, f func(measurement) float64) float64 {
	v := make([]float64, len(ms))
	for i, m := range ms {
		v[i] = f(m)
	}
	return medianF(v)
}

func medianF(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// verify checks run r of every tool on a table against the others.
func verify(table string, rows int, ms map[string][]measurement, r int, unordered map[string]bool) error {
	get := func(name string) measurement { return ms[name][r] }
	has := func(name string) bool { _, ok := ms[name]; return ok }
	var errs []error
	if !has(catCSV) {
	} else if a, b := get(catCSV), get(copyCSV); a.sha != b.sha {
		errs = append(errs, fmt.Errorf("streamcat csv (%d bytes, sha256 %s) differs from COPY csv (%d bytes, sha256 %s)", a.bytes, a.sha, b.bytes, b.sha))
	}
	for name, m := range ms {
		a, b := m[r], get(copyCSV)
		switch {
		case name == catCSV || !strings.HasPrefix(name, catCSV+" ["):
		case unordered[name] && (a.lineSum != b.lineSum || a.lines != b.lines || a.bytes != b.bytes):
			errs = append(errs, fmt.Errorf("%s (%d bytes, %d lines) has other lines than COPY csv (%d bytes, %d lines)", name, a.bytes, a.lines, b.bytes, b.lines))
		case !unordered[name] && a.sha != b.sha:
			errs = append(errs, fmt.Errorf("%s (%d bytes, sha256 %s) differs from COPY csv (%d bytes, sha256 %s)", name, a.bytes, a.sha, b.bytes, b.sha))
		}
	}
	if !has(catTSV) || !has(copyText) {
	} else if a, b := get(catTSV), get(copyText); a.sha != b.sha {
		errs = append(errs, fmt.Errorf("streamcat tsv (%d bytes, sha256 %s) differs from COPY text (%d bytes, sha256 %s)", a.bytes, a.sha, b.bytes, b.sha))
	}
	for _, name := range []string{catParquet, catArrow} {
		if m, ok := ms[name]; ok && m[r].lines != int64(rows) {
			errs = append(errs, fmt.Errorf("%s has %d rows, want %d", name, m[r].lines, rows))
		}
	}
	if !has(catJSONL) {
	} else if m := get(catJSONL); m.lines != int64(rows) {
		errs = append(errs, fmt.Errorf("streamcat jsonl has %d lines, want %d", m.lines, rows))
	}
	// No value of these tables holds a line break: one line per row.
	if m := get(copyCSV); m.lines != int64(rows) {
		errs = append(errs, fmt.Errorf("COPY csv has %d lines, want %d", m.lines, rows))
	}
	if !has(psqlCSV) {
	} else if m := get(psqlCSV); m.lines != int64(rows)+1 {
		errs = append(errs, fmt.Errorf("psql --csv has %d lines, want %d (header + rows)", m.lines, rows+1))
	}
	// Every run of a tool writes the same bytes (the same lines, for a
	// parallel export in no particular order).
	for name, m := range ms {
		if unordered[name] && m[r].lineSum != m[0].lineSum || !unordered[name] && m[r].sha != m[0].sha {
			errs = append(errs, fmt.Errorf("%s: run %d wrote different bytes than run 1", name, r+1))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s, run %d: outputs do not match:\n  %w", table, r+1, errors.Join(errs...))
	}
	return nil
}

// measure runs argv with stdout into a new file under dir, times it, then
// hashes and counts the file (outside the timing) and removes it. jsonLines
// checks that every line is a JSON object.
func measure(ctx context.Context, tl tool, table, dir string, postmaster int) (measurement, error) {
	var m measurement
	argv, jsonLines := tl.argv(table), tl.kind == "cat-jsonl"
	f, err := os.CreateTemp(dir, "out-")
	if err != nil {
		return m, err
	}
	path := f.Name()
	defer os.Remove(path)
	// Peak RSS comes from GNU time's %M, not from this process's wait4: Go
	// starts children with vfork, and Linux carries the parent's RSS high
	// water mark over the exec into the child's ru_maxrss, so Maxrss of a
	// direct child is never below this program's own RSS (a /bin/true
	// started by a Go process holding 200 MB reports 200 MB). time forks
	// from a ~1 MB process, so its child's %M is the tool's own peak.
	rssFile := path + ".rss"
	defer os.Remove(rssFile)
	var stderr bytes.Buffer
	full := append([]string{timeBin, "-f", "%M", "-o", rssFile}, argv...)
	cmd := exec.CommandContext(ctx, full[0], full[1:]...)
	cmd.Stdout = f // the child writes the file itself
	cmd.Stderr = &stderr
	cmd.Env = append(childEnv(), tl.env...)

	srv0 := procstat.ExitedChildrenCPU(postmaster)
	busy0 := procstat.MachineBusy()
	start := time.Now()
	err = cmd.Run()
	m.wall = time.Since(start)
	busy := procstat.MachineBusy() - busy0
	f.Close()
	if err != nil {
		return m, fmt.Errorf("%s: %v\n%s", argv[0], err, stderr.String())
	}
	if stderr.Len() > 0 {
		return m, fmt.Errorf("%s wrote to stderr:\n%s", argv[0], stderr.String())
	}
	// time + the tool: time's own CPU is negligible.
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if m.maxRSSKiB, err = readRSS(rssFile); err != nil {
		return m, err
	}
	m.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	m.serverCPU, m.otherCPU = -1, -1
	if srv0 >= 0 {
		// The backends' CPU reaches the postmaster's cutime/cstime when it
		// reaps them, just after the client has gone.
		time.Sleep(300 * time.Millisecond)
		if srv1 := procstat.ExitedChildrenCPU(postmaster); srv1 >= 0 {
			m.serverCPU = srv1 - srv0
			if busy >= 0 {
				m.otherCPU = max(0, busy-m.cpu-m.serverCPU)
			}
		}
	}

	m.bytes, m.lines, m.sha, m.lineSum, err = digest(path, jsonLines)
	if err == nil && (tl.kind == "cat-parquet" || tl.kind == "cat-arrow") {
		m.lines, err = columnarRows(path, tl.kind)
	}
	return m, err
}

// readRSS reads the peak RSS in KiB that `time -f %M -o FILE` wrote.
func readRSS(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	kib, err := strconv.ParseInt(strings.TrimSpace(lines[len(lines)-1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("peak RSS: cannot parse %q from %s", b, timeBin)
	}
	return kib, nil
}

// digest returns the size, line count and sha256 of the file at path.
func digest(path string, jsonLines bool) (size, lines int64, sum string, lineSum uint64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	if !jsonLines {
		buf := make([]byte, 1<<20)
		line := fnv.New64a()
		for {
			n, rerr := f.Read(buf)
			h.Write(buf[:n])
			size += int64(n)
			for b := buf[:n]; len(b) > 0; {
				i := bytes.IndexByte(b, '\n')
				if i < 0 {
					line.Write(b)
					break
				}
				line.Write(b[:i+1])
				lineSum += line.Sum64()
				line.Reset()
				lines++
				b = b[i+1:]
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				return 0, 0, "", 0, rerr
			}
		}
		return size, lines, hex.EncodeToString(h.Sum(nil)), lineSum, nil
	}
	br := bufio.NewReaderSize(f, 1<<20)
	for {
		line, rerr := br.ReadSlice('\n')
		if rerr == bufio.ErrBufferFull {
			// a huge value's line (the huge table): read it whole
			line = slices.Clone(line) // ReadBytes reuses the buffer line points into
			rest, err := br.ReadBytes('\n')
			line, rerr = append(line, rest...), err
		}
		if len(line) > 0 {
			h.Write(line)
			size += int64(len(line))
			lines++
			body := bytes.TrimSuffix(line, []byte{'\n'})
			if len(body) == 0 || body[0] != '{' || !json.Valid(body) {
				return 0, 0, "", 0, fmt.Errorf("jsonl line %d is not a JSON object: %.200q", lines, body)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, 0, "", 0, rerr
		}
	}
	return size, lines, hex.EncodeToString(h.Sum(nil)), 0, nil
}

// childEnv is this process's environment without PG* variables and
// DATABASE_URL, so only the command line says where to connect.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "DATABASE_URL=") || strings.HasPrefix(kv, "PSQLRC=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// moduleRoot is the directory of go.mod for the current directory.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run clibench inside the streamcat module (go run ./bench/clibench)")
	}
	return filepath.Dir(gomod), nil
}
