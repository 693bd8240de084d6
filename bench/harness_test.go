package bench

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// path is one way of reading a whole result into memory. run returns what the
// caller would keep (the collected rows) and how many rows it read.
type path struct {
	name string
	run  func(ctx context.Context, pool *pgxpool.Pool, sql string) (held any, n int, err error)
}

// compare runs every path over every dataset as sub-benchmarks
// <dataset>/<path>, so one run prints all of them side by side, and then
// <dataset>/paired, which runs all the paths in turn per op and reports each
// one's time as a ratio to the last path, the baseline. The baseline must
// be the last path.
func compare(b *testing.B, paths func(*dataset) []path) {
	if benchPool == nil {
		b.Skip("no benchmark cluster (TestMain starts one only with -bench)")
	}
	for _, ds := range datasets {
		b.Run(ds.name, func(b *testing.B) {
			for _, p := range paths(ds) {
				b.Run(p.name, func(b *testing.B) { measure(b, ds, p) })
			}
			b.Run("paired", func(b *testing.B) { paired(b, ds, paths(ds)) })
		})
	}
}

// paired runs one round of every path per op, in an order that rotates from
// round to round, with a GC before each so none inherits another's garbage.
// For each path but the last it reports the median over rounds of
// time(path)/time(last) as "x:<path>", and the same ratio of the process's
// CPU time as "cpu-x:<path>" (wall time includes waiting for the server;
// CPU time is the client's work only). On a noisy machine this is the
// figure to quote: both sides of each ratio ran moments apart, so load that
// comes and goes cancels, where separate sub-benchmarks can land in quiet and
// busy spells. Use -benchtime Nx for N rounds.
func paired(b *testing.B, ds *dataset, paths []path) {
	pairedSQL(b, ds.query(ds.name), ds.rows, paths)
}

// rounds are the figures of a paired run, per path and round: wall time,
// the client's CPU time, the server's CPU time and the machine's idle CPU
// time (both -1 where not measured; see serverCPU and machineIdle).
type rounds struct {
	wall, cpu, server, idle [][]time.Duration
}

// pairedSQL is paired over any statement whose paths each read want rows.
// It returns the figures per path and round, for callers that report more
// than the ratios to the last path.
func pairedSQL(b *testing.B, sql string, want int, paths []path) rounds {
	ctx := context.Background()
	times := make([][]time.Duration, len(paths))
	cpus := make([][]time.Duration, len(paths))
	servers := make([][]time.Duration, len(paths))
	idles := make([][]time.Duration, len(paths))
	round := 0
	for b.Loop() {
		for k := range paths {
			i := (k + round) % len(paths)
			b.StopTimer()
			runtime.GC()
			srv0, idle0 := serverCPU(), machineIdle()
			b.StartTimer()
			start, cpu0 := time.Now(), cpuTime()
			_, n, err := paths[i].run(ctx, benchPool, sql)
			times[i] = append(times[i], time.Since(start))
			cpus[i] = append(cpus[i], cpuTime()-cpu0)
			servers[i] = append(servers[i], since(srv0, serverCPU()))
			idles[i] = append(idles[i], since(idle0, machineIdle()))
			if err != nil {
				b.Fatalf("%s: %v", paths[i].name, err)
			}
			if n != want {
				b.Fatalf("%s: read %d rows, want %d", paths[i].name, n, want)
			}
		}
		round++
	}
	last := len(paths) - 1
	for i, p := range paths[:last] {
		b.ReportMetric(medianRatio(times[i], times[last]), "x:"+p.name)
		b.ReportMetric(medianRatio(cpus[i], cpus[last]), "cpu-x:"+p.name)
	}
	return rounds{wall: times, cpu: cpus, server: servers, idle: idles}
}

// since is b-a for two readings of a counter that returns -1 when it cannot
// be read, or -1.
func since(a, b time.Duration) time.Duration {
	if a < 0 || b < 0 {
		return -1
	}
	return b - a
}

// medianPerRow is the median over rounds of d/n in nanoseconds, or -1 when
// a round was not measured.
func medianPerRow(d []time.Duration, n int) float64 {
	xs := make([]float64, len(d))
	for r, v := range d {
		if v < 0 {
			return -1
		}
		xs[r] = float64(v.Nanoseconds()) / float64(n)
	}
	return median(xs)
}

// medianRatio is the median over rounds of a[r]/b[r].
func medianRatio(a, b []time.Duration) float64 {
	ratios := make([]float64, len(a))
	for r := range ratios {
		ratios[r] = float64(a[r]) / float64(b[r])
	}
	return median(ratios)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// measure times p reading the whole of ds per op, and reports rows/s, the
// client's CPU time per row (all threads, GC included; the server's is not)
// and the heap held per row by what p collects.
func measure(b *testing.B, ds *dataset, p path) {
	sql := ds.query(ds.name)
	measureSQL(b, sql, ds.rows, p)
	b.ReportMetric(heldPerRow(b, ds, p, sql), "B/row-held")
}

// measureSQL times p reading the want rows of sql per op and reports rows/s,
// the client's CPU time per row and, where it can be read (a local cluster
// on Linux), the server's (server-cpu-ns/row: the backend's work for the
// statement) and how many of the machine's cores stood idle on average
// (idle-cores: near 0, the cores were the bound).
func measureSQL(b *testing.B, sql string, want int, p path) {
	ctx := context.Background()
	b.ReportAllocs()
	srv0, idle0 := serverCPU(), machineIdle()
	cpu0 := cpuTime()
	for b.Loop() {
		_, n, err := p.run(ctx, benchPool, sql)
		if err != nil {
			b.Fatal(err)
		}
		if n != want {
			b.Fatalf("read %d rows, want %d", n, want)
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(want*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(want*b.N), "cpu-ns/row")
	if srv := since(srv0, serverCPU()); srv >= 0 {
		b.ReportMetric(float64(srv.Nanoseconds())/float64(want*b.N), "server-cpu-ns/row")
	}
	if idle := since(idle0, machineIdle()); idle >= 0 {
		b.ReportMetric(idle.Seconds()/b.Elapsed().Seconds(), "idle-cores")
	}
}

// heldPerRow runs p once more, outside the timer, and returns the live heap
// that its collected rows keep, per row: HeapAlloc after a GC with the rows
// alive, minus HeapAlloc after a GC before the read.
func heldPerRow(b *testing.B, ds *dataset, p path, sql string) float64 {
	before := liveHeap()
	held, n, err := p.run(context.Background(), benchPool, sql)
	if err != nil {
		b.Fatal(err)
	}
	after := liveHeap()
	runtime.KeepAlive(held)
	return float64(after-before) / float64(n)
}

// collected reads ms after collecting twice: what sync.Pools hold (pgx's
// read buffers) survives one collection as their victim cache and goes
// with the second, so the heap is what is really live.
func collected(ms *runtime.MemStats) {
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(ms)
}

// liveHeap is HeapAlloc once collected.
func liveHeap() int64 {
	var ms runtime.MemStats
	collected(&ms)
	return int64(ms.HeapAlloc)
}
