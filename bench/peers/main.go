// Command peers reads the same rows into the same struct with streamcat and
// with the Go libraries people pick for the job: pgx (a hand-written Scan
// loop and CollectRows(RowToStructByName)), scany, sqlx, GORM and bun. It
// checks that every library's output is identical, by a hash over the full
// content of every row, and reports wall time, rows/s, client CPU, peak RSS
// and live heap, each also as a ratio to the pgx Scan loop measured in the
// same round.
//
//	cd bench/peers && go run . [-rows N] [-rounds N] [-modes held,stream] [-dsn DSN]
//
// It starts a throwaway PostgreSQL with localpg (or uses -dsn, or
// STREAMCAT_TEST_DSN), creates the unlogged table peers_wide from the same
// generator as bench/'s `wide`, and then, per round, runs every library once
// per mode, in an order that rotates from round to round. Each run is a
// fresh child process (this binary re-executed), so peak RSS is that one
// library's alone and no run inherits another's heap. Modes:
//
//   - held: the library returns every row as []Item (streamcat:
//     session.Execute + buffered.Structs.All). Live heap is HeapAlloc after a
//     GC with the rows alive minus HeapAlloc after a GC before the read.
//   - stream: the library decodes one Item per row and folds it into the
//     hash as it arrives, keeping none (streamcat: session.Stream +
//     buffered.Structs.Rows; the others: their row-at-a-time scan calls).
//
// This module is nested, with its own go.mod, so the peer libraries never
// enter streamcat's own go.mod. The table goes to stdout, progress to stderr.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/internal/testsupport"
	"github.com/streamcat/streamcat/localpg"
)

const (
	table   = "peers_wide"
	columns = "id, name, amount, created_at, active, tags, attrs, ref"
)

func main() {
	child := flag.String("child", "", "internal: run one library in this process and print its figures as JSON")
	mode := flag.String("mode", "held", "internal: the child's mode, held or stream")
	rows := flag.Int("rows", 200_000, "rows in the table")
	rounds := flag.Int("rounds", 5, "paired rounds")
	modes := flag.String("modes", "held,stream", "modes to run, comma-separated")
	dsn := flag.String("dsn", "", "use this server instead of starting one (the table is created and dropped there)")
	flag.Parse()
	ctx := context.Background()
	if *child != "" {
		if err := runChild(ctx, *child, *mode, *dsn); err != nil {
			fmt.Fprintln(os.Stderr, "peers child:", err)
			os.Exit(1)
		}
		return
	}
	if err := runParent(ctx, *rows, *rounds, strings.Split(*modes, ","), *dsn); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

// childReport is what a child prints: its figures for one read.
type childReport struct {
	Rows   int    `json:"rows"`
	WallNS int64  `json:"wall_ns"`
	CPUNS  int64  `json:"cpu_ns"`
	Heap   int64  `json:"heap"`
	Digest uint64 `json:"digest"`
}

func runChild(ctx context.Context, name, mode, dsn string) error {
	l, err := findLib(name)
	if err != nil {
		return err
	}
	c, err := connect(ctx, l, dsn)
	if err != nil {
		return err
	}
	defer c.close()
	q := "select " + columns + " from " + table
	// Warm up on a few rows: the connection, its prepared statement cache,
	// pgx's type maps and the ORMs' schema caches, none of which a
	// long-running program pays for per query.
	if _, err := l.held(ctx, c, q+" limit 100"); err != nil {
		return err
	}
	if l.stream != nil {
		if _, _, err := l.stream(ctx, c, q+" limit 100"); err != nil {
			return err
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start, cpu0 := time.Now(), cpuTime()
	var rep childReport
	switch mode {
	case "held":
		kept, decode, err := holdRows(ctx, l, c, q)
		if err != nil {
			return err
		}
		rep.WallNS, rep.CPUNS = int64(time.Since(start)), int64(cpuTime()-cpu0)
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(kept)
		d, n, err := decode()
		if err != nil {
			return err
		}
		rep.Rows, rep.Digest = n, uint64(d)
	case "stream":
		d, n, err := l.stream(ctx, c, q)
		if err != nil {
			return err
		}
		rep.WallNS, rep.CPUNS = int64(time.Since(start)), int64(cpuTime()-cpu0)
		runtime.GC()
		runtime.ReadMemStats(&after)
		rep.Rows, rep.Digest = n, uint64(d)
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	rep.Heap = int64(after.HeapAlloc) - int64(before.HeapAlloc)
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// holdRows runs l's held read and returns what the caller keeps, and how
// to hash it.
func holdRows(ctx context.Context, l lib, c *conns, q string) (any, func() (digest, int, error), error) {
	if l.keep != nil {
		return l.keep(ctx, c, q)
	}
	items, err := l.held(ctx, c, q)
	return items, func() (digest, int, error) { return digestAll(items), len(items), nil }, err
}

// cpuTime is the process's user + system CPU time, all threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sample is one child's run as the parent saw it.
type sample struct {
	childReport
	RSSKB int64
}

func runParent(ctx context.Context, rows, rounds int, modes []string, dsn string) error {
	if dsn == "" {
		start, cancel := context.WithTimeout(ctx, 2*time.Minute)
		pg, err := localpg.ForTests(start, localpg.Options{Settings: testsupport.ServerSettings()})
		cancel()
		if err != nil {
			return err
		}
		defer pg.Stop()
		dsn = pg.DSN()
	}
	fmt.Fprintf(os.Stderr, "peers: creating %s with %d rows\n", table, rows)
	if err := createTable(ctx, dsn, rows); err != nil {
		return err
	}
	defer dropTable(ctx, dsn)

	self, err := os.Executable()
	if err != nil {
		return err
	}
	load0 := loadavg()
	began := time.Now().UTC()
	results := map[string]map[string][]sample{} // mode -> lib -> rounds
	for _, mode := range modes {
		results[mode] = map[string][]sample{}
		// One untimed run first, so the first measured child does not pay
		// for a cold page cache of this binary or the table.
		if _, err := runOne(ctx, self, baseline, mode, dsn); err != nil {
			return err
		}
	}
	var want *uint64
	for r := range rounds {
		for _, mode := range modes {
			for k := range libs {
				l := libs[(k+r)%len(libs)]
				if mode == "stream" && l.stream == nil {
					continue
				}
				s, err := runOne(ctx, self, l.name, mode, dsn)
				if err != nil {
					return fmt.Errorf("%s %s: %w", mode, l.name, err)
				}
				if s.Rows != rows {
					return fmt.Errorf("%s %s: read %d rows, want %d", mode, l.name, s.Rows, rows)
				}
				if want == nil {
					want = &s.Digest
				} else if s.Digest != *want {
					return fmt.Errorf("%w: %s (%s) hashed the rows as %016x, %s as %016x",
						errHash, l.name, mode, s.Digest, baseline, *want)
				}
				results[mode][l.name] = append(results[mode][l.name], s)
				fmt.Fprintf(os.Stderr, "round %d %-6s %-22s %7.0f ms  RSS %6.1f MB  heap %7.1f MB\n",
					r+1, mode, l.name, float64(s.WallNS)/1e6, float64(s.RSSKB)/1024, float64(s.Heap)/(1<<20))
			}
		}
	}
	report(os.Stdout, results, modes, rows, rounds, began, load0, loadavg())
	return nil
}

// runOne runs one library in a child process and returns its figures and
// peak RSS (the kernel's high-water mark for that process alone).
func runOne(ctx context.Context, self, name, mode, dsn string) (sample, error) {
	cmd := exec.CommandContext(ctx, self, "-child", name, "-mode", mode, "-dsn", dsn)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%w: %s", err, strings.TrimSpace(errb.String()))
	}
	// The report is the last line: a library may have logged before it.
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	var s sample
	if err := json.Unmarshal(lines[len(lines)-1], &s.childReport); err != nil {
		return sample{}, fmt.Errorf("child output %q: %w", out.String(), err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return sample{}, errors.New("no rusage for the child")
	}
	s.RSSKB = ru.Maxrss
	return s, nil
}

func createTable(ctx context.Context, dsn string, rows int) error {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	for _, q := range []string{
		"drop table if exists " + table,
		"create unlogged table " + table + " as " + testsupport.Generate(testsupport.WideSQL, rows),
		"vacuum (analyze) " + table,
		"select count(*) from " + table,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func dropTable(ctx context.Context, dsn string) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return
	}
	defer pool.Close()
	_, _ = pool.Exec(ctx, "drop table if exists "+table)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
