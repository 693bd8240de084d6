package bench

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/session"
)

// Small statements take ~0.1 ms, so every op of the session benchmarks is a
// batch of sessionBatch statements (with -benchtime 5x too): ns/op is per
// batch, us/query per statement.
const sessionBatch = 200

// idName is the row of the small queries.
type idName struct {
	ID   int64   `db:"id"`
	Name *string `db:"name"`
}

// smallQuery is a statement of the session suites and how many rows it returns.
type smallQuery struct {
	name string
	sql  string
	rows int
	arg  func(i int) int64
}

func smallQueries() []smallQuery {
	span := int64(max(wide.rows-smallRows, 1))
	arg := func(i int) int64 { return 1 + int64(i)*7919%span }
	return []smallQuery{
		{"by-id", "select id, name from wide where id = $1", 1, arg},
		{"10-rows", "select id, name from wide where id > $1 order by id limit 10", min(smallRows, wide.rows-1), arg},
	}
}

const smallRows = 10

// qpath runs statement number i of a batch.
type qpath struct {
	name string
	run  func(ctx context.Context, i int) error
}

// withWideIndex gives wide an index on id for the duration of the benchmark
// (the datasets have none: the other suites read whole tables).
func withWideIndex(b *testing.B) {
	if benchPool == nil {
		b.Skip("no benchmark cluster (TestMain starts one only with -bench)")
	}
	ctx := context.Background()
	for _, sql := range []string{"create index if not exists bench_wide_id on wide (id)", "analyze wide"} {
		if _, err := benchPool.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() { _, _ = benchPool.Exec(context.Background(), "drop index if exists bench_wide_id") })
}

func checkLen(n, want int) error {
	if n != want {
		return fmt.Errorf("got %d rows, want %d", n, want)
	}
	return nil
}

// BenchmarkSession_Execute_vs_CollectRows: a small query through a new
// session's Execute (+ All, or + Structs.All) against pool.Query +
// pgx.CollectRows (RowToMap, RowToStructByName). Target <= 1.10x.
func BenchmarkSession_Execute_vs_CollectRows(b *testing.B) {
	withWideIndex(b)
	maker := session.NewMaker(benchPool)
	pool := benchPool
	for _, q := range smallQueries() {
		paths := []qpath{
			{"session.Execute+All", func(ctx context.Context, i int) error {
				s := maker.New()
				defer s.Close(ctx)
				res, err := s.Execute(ctx, q.sql, q.arg(i))
				if err != nil {
					return err
				}
				rows := res.All()
				if err := res.Err(); err != nil {
					return err
				}
				return checkLen(len(rows), q.rows)
			}},
			{"session.Execute+Structs.All", func(ctx context.Context, i int) error {
				s := maker.New()
				defer s.Close(ctx)
				res, err := s.Execute(ctx, q.sql, q.arg(i))
				if err != nil {
					return err
				}
				v := buffered.Structs[idName](res)
				rows := v.All()
				if err := v.Err(); err != nil {
					return err
				}
				return checkLen(len(rows), q.rows)
			}},
			{"pgx.CollectRows+RowToMap", func(ctx context.Context, i int) error {
				rows, _ := pool.Query(ctx, q.sql, q.arg(i))
				out, err := pgx.CollectRows(rows, pgx.RowToMap)
				if err != nil {
					return err
				}
				return checkLen(len(out), q.rows)
			}},
			{"pgx.CollectRows+RowToStructByName", func(ctx context.Context, i int) error {
				rows, _ := pool.Query(ctx, q.sql, q.arg(i))
				out, err := pgx.CollectRows(rows, pgx.RowToStructByName[idName])
				if err != nil {
					return err
				}
				return checkLen(len(out), q.rows)
			}},
		}
		compareBatches(b, q.name, paths, [][2]int{{0, 2}, {0, 3}, {1, 3}})
	}
}

// BenchmarkSession_MakerBegin_vs_BeginFunc: a transaction with one small
// statement (begin, the by-id query read whole, commit) through
// Maker.Begin + Execute + All against pgx.BeginFunc on the pool + Query +
// CollectRows(RowToMap). Target <= 1.10x.
func BenchmarkSession_MakerBegin_vs_BeginFunc(b *testing.B) {
	withWideIndex(b)
	maker := session.NewMaker(benchPool)
	q := smallQueries()[0]
	paths := []qpath{
		{"session.Maker.Begin+Execute+All", func(ctx context.Context, i int) error {
			return maker.Begin(ctx, func(ctx context.Context, s *session.Session) error {
				res, err := s.Execute(ctx, q.sql, q.arg(i))
				if err != nil {
					return err
				}
				rows := res.All()
				if err := res.Err(); err != nil {
					return err
				}
				return checkLen(len(rows), q.rows)
			})
		}},
		{"pgx.BeginFunc+CollectRows+RowToMap", func(ctx context.Context, i int) error {
			return pgx.BeginFunc(ctx, benchPool, func(tx pgx.Tx) error {
				rows, _ := tx.Query(ctx, q.sql, q.arg(i))
				out, err := pgx.CollectRows(rows, pgx.RowToMap)
				if err != nil {
					return err
				}
				return checkLen(len(out), q.rows)
			})
		}},
	}
	compareBatches(b, q.name, paths, [][2]int{{0, 1}})
}

// compareBatches runs each path as a sub-benchmark <name>/<path> (us/query,
// cpu-us/query), then <name>/paired: per op, a batch of every path in a
// rotating order, reporting for each pair {i, j} the median over ops of
// time(i)/time(j) as x:<i>/<j> and the same for CPU time as cpu-x:<i>/<j>.
func compareBatches(b *testing.B, name string, paths []qpath, pairs [][2]int) {
	ctx := context.Background()
	batch := func(p qpath, round int) error {
		for i := range sessionBatch {
			if err := p.run(ctx, round*sessionBatch+i); err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
		}
		return nil
	}
	b.Run(name, func(b *testing.B) {
		for _, p := range paths {
			b.Run(p.name, func(b *testing.B) {
				b.ReportAllocs()
				cpu0, round := cpuTime(), 0
				for b.Loop() {
					if err := batch(p, round); err != nil {
						b.Fatal(err)
					}
					round++
				}
				q := float64(b.N * sessionBatch)
				b.ReportMetric(float64(b.Elapsed().Microseconds())/q, "us/query")
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/q, "cpu-us/query")
			})
		}
		b.Run("paired", func(b *testing.B) {
			b.ReportAllocs()
			times := make([][]time.Duration, len(paths))
			cpus := make([][]time.Duration, len(paths))
			round := 0
			for b.Loop() {
				for k := range paths {
					i := (k + round) % len(paths)
					b.StopTimer()
					runtime.GC()
					b.StartTimer()
					start, cpu0 := time.Now(), cpuTime()
					if err := batch(paths[i], round); err != nil {
						b.Fatal(err)
					}
					times[i] = append(times[i], time.Since(start))
					cpus[i] = append(cpus[i], cpuTime()-cpu0)
				}
				round++
			}
			for _, pr := range pairs {
				label := paths[pr[0]].name + "/" + paths[pr[1]].name
				b.ReportMetric(medianRatio(times[pr[0]], times[pr[1]]), "x:"+label)
				b.ReportMetric(medianRatio(cpus[pr[0]], cpus[pr[1]]), "cpu-x:"+label)
			}
		})
	})
}
