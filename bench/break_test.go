package bench

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testsupport"
	"github.com/streamcat/streamcat/session"
)

// breakAfter is how many rows each path reads before it leaves.
const breakAfter = 10

// BenchmarkBreakAfter10_vs_RawDrain: the cost of leaving a read of the whole
// narrow table after 10 rows, from the call that opens it to the moment the
// connection is back in the pool. The stream breaks out of its Rows loop
// (which closes it: a cancel request, then close); raw pgx calls
// rows.Close(), which reads and discards every remaining row (pgx#2153).
// Both run on a pool of one connection, and every op checks that the
// backend pid is the same before and after: the connection was reused, not
// replaced. ms/break is the median over ops. Target: the stream <= 50 ms.
func BenchmarkBreakAfter10_vs_RawDrain(b *testing.B) {
	if benchPool == nil {
		b.Skip("no benchmark cluster (TestMain starts one only with -bench)")
	}
	cfg := benchPool.Config()
	cfg.MaxConns, cfg.MinConns = 1, 0
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	sql := narrow.query(narrow.name)
	maker := session.NewMaker(pool)

	paths := []struct {
		name string
		run  func(ctx context.Context) (int, error)
	}{
		{"session.Stream+break", func(ctx context.Context) (int, error) {
			s := maker.New()
			defer s.Close(ctx)
			st, err := s.Stream(ctx, sql)
			if err != nil {
				return 0, err
			}
			n := 0
			for _, err := range buffered.Structs[narrowRow](st).Rows() {
				if err != nil {
					return n, err
				}
				if n++; n == breakAfter {
					break // closes the stream and releases the connection
				}
			}
			return n, st.Err()
		}},
		{"pgx.Rows.Close(drains)", func(ctx context.Context) (int, error) {
			rows, err := pool.Query(ctx, sql)
			if err != nil {
				return 0, err
			}
			n := 0
			for n < breakAfter && rows.Next() {
				var r narrowRow
				if err := rows.Scan(&r.A, &r.B); err != nil {
					rows.Close()
					return n, err
				}
				n++
			}
			rows.Close() // reads the rest of the table
			return n, rows.Err()
		}},
	}
	for _, p := range paths {
		b.Run("narrow/"+p.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			var ms []float64
			for b.Loop() {
				b.StopTimer()
				before := testsupport.BackendPID(b, pool)
				b.StartTimer()
				start := time.Now()
				n, err := p.run(ctx)
				d := time.Since(start)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if n != breakAfter {
					b.Fatalf("read %d rows, want %d", n, breakAfter)
				}
				if after := testsupport.BackendPID(b, pool); after != before {
					b.Fatalf("the connection was not reused: backend pid %d before, %d after", before, after)
				}
				ms = append(ms, float64(d)/float64(time.Millisecond))
				b.StartTimer()
			}
			b.ReportMetric(median(ms), "ms/break")
			b.ReportMetric(float64(narrow.rows), "rows-in-table")
		})
	}
}
