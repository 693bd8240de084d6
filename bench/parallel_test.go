package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/pipe"
)

// hashRounds is the CPU-bound stage's work per row: sha256 over the row's
// 8 bytes, then 19 more times over the previous digest (a few µs per row,
// far more than reading the row).
const hashRounds = 20

// parallelMaxRows caps the rows the ParallelMap benchmark reads, so that a
// full-size narrow table does not make it take minutes.
const parallelMaxRows = 500_000

func hashRow(_ context.Context, r narrowRow) (uint64, error) {
	var buf [8]byte
	binary.LittleEndian.PutUint32(buf[:4], uint32(r.A))
	binary.LittleEndian.PutUint32(buf[4:], uint32(r.B))
	h := sha256.Sum256(buf[:])
	for range hashRounds - 1 {
		h = sha256.Sum256(h[:])
	}
	return binary.LittleEndian.Uint64(h[:8]), nil
}

// BenchmarkParallelMap_2_vs_1_workers: session.Stream -> pipe.From(Structs)
// -> pipe.ParallelMap(hashRow) at 1 and 2 workers over the same statement
// (the first min(rows, 500k) rows of narrow), and, for reference, the same
// stage run inline in a raw pgx Scan loop. paired reports
// speedup:workers=2, the median over rounds of time(1 worker)/time(2
// workers), and ceiling:goroutines=2, the same ratio for the stage's work
// alone with no database (the no-db paths): what the machine allowed in
// those rounds. Target >= 1.7x. The stream's producer goroutine, the pipe's
// feeder and the server need CPU too, on the same 2 cores.
func BenchmarkParallelMap_2_vs_1_workers(b *testing.B) {
	if benchPool == nil {
		b.Skip("no benchmark cluster (TestMain starts one only with -bench)")
	}
	n := min(narrow.rows, parallelMaxRows)
	sql := narrow.query(narrow.name) + " limit " + strconv.Itoa(n)
	// The baseline (workers=1) last, as pairedSQL wants.
	paths := []path{
		{"pgx.Scan_loop+hash(serial,ref)", serialHash},
		{"no-db/goroutines=1", cpuOnlyHash(n, 1)},
		{"no-db/goroutines=2", cpuOnlyHash(n, 2)},
		{"ParallelMap/workers=2", parallelHash(2)},
		{"ParallelMap/workers=1", parallelHash(1)},
	}
	b.Run("narrow", func(b *testing.B) {
		for _, p := range paths {
			b.Run(p.name, func(b *testing.B) { measureSQL(b, sql, n, p) })
		}
		b.Run("paired", func(b *testing.B) {
			b.ReportAllocs()
			times := pairedSQL(b, sql, n, paths)
			b.ReportMetric(medianRatio(times[4], times[3]), "speedup:workers=2")
			b.ReportMetric(medianRatio(times[1], times[2]), "ceiling:goroutines=2")
		})
	})
}

// cpuOnlyHash is the control: the stage's work for n rows, without the
// database, split over g goroutines. Its speedup at 2 goroutines, measured
// in the same rounds, is what the machine allowed at the time (on a shared
// 2-core machine, other processes take their share).
func cpuOnlyHash(n, g int) func(context.Context, *pgxpool.Pool, string) (any, int, error) {
	return func(ctx context.Context, _ *pgxpool.Pool, _ string) (any, int, error) {
		sums := make([]uint64, g)
		var wg sync.WaitGroup
		for w := range g {
			wg.Go(func() {
				var x uint64 // local: no false sharing between the goroutines
				for i := w; i < n; i += g {
					h, _ := hashRow(ctx, narrowRow{A: int32(i + 1), B: int32(2 * (i + 1))})
					x ^= h
				}
				sums[w] = x
			})
		}
		wg.Wait()
		var x uint64
		for _, s := range sums {
			x ^= s
		}
		return x, n, nil
	}
}

func parallelHash(workers int) func(context.Context, *pgxpool.Pool, string) (any, int, error) {
	return func(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
		s, st, err := openStream(ctx, pool, sql)
		if err != nil {
			return nil, 0, err
		}
		defer s.Close(ctx)
		defer st.Close()
		p := pipe.ParallelMap(pipe.From(ctx, buffered.Structs[narrowRow](st)), workers, hashRow)
		var d digest
		for h, err := range p.Rows() {
			if err != nil {
				return nil, d.n, err
			}
			d.add(int64(h))
		}
		return d, d.n, nil
	}
}

func serialHash(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
	rows, err := pool.Query(ctx, sql)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var d digest
	for rows.Next() {
		var r narrowRow
		if err := rows.Scan(&r.A, &r.B); err != nil {
			return nil, d.n, err
		}
		h, _ := hashRow(ctx, r)
		d.add(int64(h))
	}
	return d, d.n, rows.Err()
}

// TestParallelHash_Agree: 1 worker, 2 workers and the serial loop yield the
// same values in the same order.
func TestParallelHash_Agree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	pool := testPool(t)
	sql := narrow.query(shapeTable(t, pool, narrow))
	agree(t, context.Background(), pool, sql, []path{
		{"serial", serialHash}, {"workers=1", parallelHash(1)}, {"workers=2", parallelHash(2)},
	})
}
