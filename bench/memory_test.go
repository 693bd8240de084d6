package bench

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/session"
)

// memSample is one reading of the process's memory, in bytes.
type memSample struct {
	rss       uint64 // VmRSS from /proc/self/status (0 where there is none)
	heapInuse uint64 // MemStats.HeapInuse
	sys       uint64 // MemStats.Sys - HeapReleased: what the runtime holds from the OS
}

func (m *memSample) max(o memSample) {
	m.rss = max(m.rss, o.rss)
	m.heapInuse = max(m.heapInuse, o.heapInuse)
	m.sys = max(m.sys, o.sys)
}

func readMem() memSample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{rss: vmRSS(), heapInuse: ms.HeapInuse, sys: ms.Sys - ms.HeapReleased}
}

// vmRSS is the process's resident set now. (VmHWM, the peak, cannot be reset
// between benchmarks, so the sampler reads VmRSS instead.)
func vmRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	_, rest, ok := bytes.Cut(b, []byte("VmRSS:"))
	if !ok {
		return 0
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	kb, err := strconv.ParseUint(string(bytes.TrimSuffix(bytes.TrimSpace(line), []byte(" kB"))), 10, 64)
	if err != nil {
		return 0
	}
	return kb << 10
}

// peakDuring runs fn while a sampler goroutine reads the process's memory
// every 10 ms, and returns the peak of each figure. It first returns freed
// memory to the OS, so an earlier benchmark's garbage does not count, and
// returns that starting point as base. The sampler is stopped and waited for
// before peakDuring returns.
func peakDuring(fn func() error) (peak, base memSample, err error) {
	debug.FreeOSMemory()
	base = readMem()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sampled memSample
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			sampled.max(readMem())
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	err = fn()
	close(stop)
	wg.Wait()
	peak = sampled
	peak.max(readMem())
	return peak, base, err
}

// BenchmarkMemory_Stream_vs_Execute reads a whole table (and a tenth of it:
// memory must not depend on the row count) through stream Structs, through
// session.Execute + Structs (which holds every row's wire bytes) and through
// a raw pgx Scan loop (the floor), keeping no row, and reports the peak
// resident set (peak-RSS-MB, the target: <= 32 MB for 2M wide and 10M narrow
// rows), the peak heap in use, the peak memory the runtime holds from the
// OS, and the RSS at the start (base-RSS-MB, after returning freed memory).
// Peaks are the maximum over ops.
func BenchmarkMemory_Stream_vs_Execute(b *testing.B) {
	if benchPool == nil {
		b.Skip("no benchmark cluster (TestMain starts one only with -bench)")
	}
	for _, ds := range datasets {
		var paths []path
		switch ds {
		case narrow:
			paths = memoryPaths(narrowKey, scanNarrowOne)
		case wide:
			paths = memoryPaths(wideKey, scanWideOne)
		}
		for _, n := range []int{max(ds.rows/10, 1), ds.rows} {
			sql := ds.query(ds.name) + " limit " + strconv.Itoa(n)
			for _, p := range paths {
				b.Run(ds.name+"/rows="+strconv.Itoa(n)+"/"+p.name, func(b *testing.B) {
					b.ReportAllocs()
					var peak, base memSample
					for b.Loop() {
						var got int
						pk, bs, err := peakDuring(func() (err error) {
							_, got, err = p.run(context.Background(), benchPool, sql)
							return err
						})
						if err != nil {
							b.Fatal(err)
						}
						if got != n {
							b.Fatalf("read %d rows, want %d", got, n)
						}
						peak.max(pk)
						base.max(bs)
					}
					const mb = 1 << 20
					b.ReportMetric(float64(peak.rss)/mb, "peak-RSS-MB")
					b.ReportMetric(float64(peak.heapInuse)/mb, "peak-heap-inuse-MB")
					b.ReportMetric(float64(peak.sys)/mb, "peak-sys-MB")
					b.ReportMetric(float64(base.rss)/mb, "base-RSS-MB")
				})
			}
		}
	}
}

// memoryPaths: the stream and the raw loop are the ones of
// BenchmarkStream_vs_RawScan; Execute reads the same struct view from memory.
func memoryPaths[T any](key func(*T) int64, scan func(pgx.Rows, *T) error) []path {
	ps := streamStructPaths(key, scan)
	return []path{ps[1], ps[0], {"session.Execute+Structs.Rows", func(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
		s := session.NewMaker(pool).New()
		defer s.Close(ctx)
		res, err := s.Execute(ctx, sql)
		if err != nil {
			return nil, 0, err
		}
		var d digest
		for r, err := range buffered.Structs[T](res).Rows() {
			if err != nil {
				return nil, d.n, err
			}
			d.add(key(&r))
		}
		return d, d.n, nil
	}}}
}
