package bench

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// uowOp is one op of a unit-of-work path: run is the timed work; check
// verifies what it wrote or read (untimed), with held what run returned;
// close releases the op's session (untimed, last).
type uowOp struct {
	run   func(ctx context.Context) (held any, err error)
	check func(ctx context.Context, held any) error
	close func()
}

// uowPath is one way of doing a benchmark's work. prepare builds one op
// outside the timer: the objects to write, a table emptied, the rows loaded
// through a session, whatever the timed part must not include.
type uowPath struct {
	name    string
	prepare func(ctx context.Context) (*uowOp, error)
	// resultPerRow is what the path's result holds per row besides the
	// structs and any tracking, for the load benchmark's split of the
	// held memory (session.Select's []*T: 8 bytes a row)
	resultPerRow float64
}

// opStats is what one timed op cost.
type opStats struct {
	wall, cpu     time.Duration
	server        time.Duration // the benchmark cluster's CPU during run (-1: unknown)
	mallocs, allc uint64        // heap objects and bytes allocated during run
	held          int64         // live heap after run (after a GC) minus before it
	phases        phases        // the parts of run, for paths that time them
	close         time.Duration
}

// phases are the wall times of the parts of a timed op (Add, Flush), which
// a path's run returns as its result.
type phases []phase

type phase struct {
	name string
	d    time.Duration
}

// doOp prepares, runs (timed) and checks one op of p. With b it stops the
// benchmark timer around everything but run. It collects the heap before
// run, so none of prepare's garbage is charged to run, and, when held is
// asked for, after it too, with run's result alive. It times the op's close
// (outside the benchmark timer) as st.close.
func doOp(ctx context.Context, b *testing.B, p uowPath, rows int, held bool) (st opStats, err error) {
	stop, start := func() {}, func() {}
	if b != nil {
		stop, start = b.StopTimer, b.StartTimer
	}
	stop()
	defer start()
	op, err := p.prepare(ctx)
	if err != nil {
		return st, fmt.Errorf("%s: prepare: %w", p.name, err)
	}
	defer func() {
		t0 := time.Now()
		op.close()
		st.close = time.Since(t0)
	}()
	// the server's CPU is a scan of /proc: read outside the timed part and
	// the allocation counts
	var m0, m1 runtime.MemStats
	srv0 := serverCPU()
	collected(&m0)
	start()
	t0, cpu0 := time.Now(), cpuTime()
	out, err := op.run(ctx)
	st.wall, st.cpu = time.Since(t0), cpuTime()-cpu0
	stop()
	runtime.ReadMemStats(&m1)
	st.server = since(srv0, serverCPU())
	st.mallocs, st.allc = m1.Mallocs-m0.Mallocs, m1.TotalAlloc-m0.TotalAlloc
	st.phases, _ = out.(phases)
	if err != nil {
		return st, fmt.Errorf("%s: %w", p.name, err)
	}
	if held {
		st.held = liveHeap() - int64(m0.HeapAlloc)
	}
	if err := op.check(ctx, out); err != nil {
		return st, fmt.Errorf("%s: wrong result: %w", p.name, err)
	}
	runtime.KeepAlive(out)
	return st, nil
}

// compareUoW runs each path as a sub-benchmark <path> (rows/s, cpu-ns/row,
// B/op and allocs/op of the timed part only) and then "paired": per op, one
// round of every path in an order that rotates from round to round, each
// from a collected heap, reporting for every path but the last (the pgx
// baseline) the median over rounds of time(path)/time(baseline) as
// x:<path> (wall) and cpu-x:<path> (the process's CPU time). Every op checks
// its result. Paired also reports per path the median ms, allocs/row and
// B/row of the timed part, ms-server (the benchmark cluster's CPU during
// it, where /proc shows it), ms-<phase> for paths whose run returns phases,
// and ms-close-untimed for ops whose close (a session's) takes more than
// 1 ms. With held, the paths also report the live heap their result
// keeps, per row (B/row-held), and paired reports its median ratio to the
// baseline's as mem-x:<path>, and what the path holds beyond the
// baseline's structs and its own result slice (the identity map and the
// snapshots) as B/row-tracking:<path> and track-x:<path> (that against the
// structs' B/row-held).
func compareUoW(b *testing.B, rows int, paths []uowPath, held bool) {
	ctx := context.Background()
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			var wall, cpu time.Duration
			var heldSum int64
			ops := 0
			for b.Loop() {
				st, err := doOp(ctx, b, p, rows, held)
				if err != nil {
					b.Fatal(err)
				}
				wall, cpu, heldSum, ops = wall+st.wall, cpu+st.cpu, heldSum+st.held, ops+1
			}
			b.ReportMetric(float64(rows*ops)/wall.Seconds(), "rows/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(rows*ops), "cpu-ns/row")
			if held {
				b.ReportMetric(float64(heldSum)/float64(rows*ops), "B/row-held")
			}
		})
	}
	b.Run("paired", func(b *testing.B) {
		stats := make([][]opStats, len(paths))
		round := 0
		for b.Loop() {
			for k := range paths {
				i := (k + round) % len(paths)
				st, err := doOp(ctx, b, paths[i], rows, held)
				if err != nil {
					b.Fatal(err)
				}
				stats[i] = append(stats[i], st)
			}
			round++
		}
		last := len(paths) - 1
		ratio := func(i int, f func(opStats) float64) float64 {
			r := make([]float64, len(stats[i]))
			for k := range r {
				r[k] = f(stats[i][k]) / f(stats[last][k])
			}
			return median(r)
		}
		for i, p := range paths {
			if i < last {
				b.ReportMetric(ratio(i, func(s opStats) float64 { return float64(s.wall) }), "x:"+p.name)
				b.ReportMetric(ratio(i, func(s opStats) float64 { return float64(s.cpu) }), "cpu-x:"+p.name)
				if held {
					b.ReportMetric(ratio(i, func(s opStats) float64 { return float64(s.held) }), "mem-x:"+p.name)
					// what the tracking alone holds (the held heap less the
					// baseline's structs and the result's own slice), per
					// row and against the structs: the issue's "bytes per
					// object held by the map and snapshot"
					track := make([]float64, len(stats[i]))
					for k := range track {
						base := float64(stats[last][k].held) / float64(rows)
						track[k] = float64(stats[i][k].held)/float64(rows) - base - p.resultPerRow
					}
					perRow := median(track)
					b.ReportMetric(perRow, "B/row-tracking:"+p.name)
					b.ReportMetric(perRow/medianOf(stats[last], func(s opStats) float64 { return float64(s.held) / float64(rows) }), "track-x:"+p.name)
				}
			}
			b.ReportMetric(medianOf(stats[i], func(s opStats) float64 { return float64(s.wall) / 1e6 }), "ms:"+p.name)
			if stats[i][0].server >= 0 {
				b.ReportMetric(medianOf(stats[i], func(s opStats) float64 { return float64(s.server) / 1e6 }), "ms-server:"+p.name)
			}
			b.ReportMetric(medianOf(stats[i], func(s opStats) float64 { return float64(s.mallocs) / float64(rows) }), "allocs/row:"+p.name)
			b.ReportMetric(medianOf(stats[i], func(s opStats) float64 { return float64(s.allc) / float64(rows) }), "B/row:"+p.name)
			if held {
				b.ReportMetric(medianOf(stats[i], func(s opStats) float64 { return float64(s.held) / float64(rows) }), "B/row-held:"+p.name)
			}
			for k, ph := range stats[i][0].phases {
				b.ReportMetric(medianOf(stats[i], func(s opStats) float64 { return float64(s.phases[k].d) / 1e6 }), "ms-"+ph.name+":"+p.name)
			}
			if medianOf(stats[i], func(s opStats) float64 { return float64(s.close) }) > float64(time.Millisecond) {
				b.ReportMetric(medianOf(stats[i], func(s opStats) float64 { return float64(s.close) / 1e6 }), "ms-close-untimed:"+p.name)
			}
		}
	})
}

func medianOf(sts []opStats, f func(opStats) float64) float64 {
	xs := make([]float64, len(sts))
	for i, s := range sts {
		xs[i] = f(s)
	}
	return median(xs)
}
