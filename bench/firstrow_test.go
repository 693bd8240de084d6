package bench

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/session"
)

// BenchmarkFirstRow_Stream_vs_Execute: the time from the call to the first
// row of `select a, b from narrow` (the whole big table), reported as
// ms/first-row (median over ops). A stream yields it as soon as the server
// sends it; Execute only after the last row arrived. pgx.Query+Next is the
// floor: raw pgx's first row. Each op then ends the statement (the stream
// by Close, which cancels it; pgx by cancelling its context) and that is in
// ns/op, not in ms/first-row. Target: session.Stream <= 20 ms.
func BenchmarkFirstRow_Stream_vs_Execute(b *testing.B) {
	if benchPool == nil {
		b.Skip("no benchmark cluster (TestMain starts one only with -bench)")
	}
	sql := narrow.query(narrow.name)
	maker := session.NewMaker(benchPool)
	paths := []struct {
		name string
		run  func(ctx context.Context) (firstRow time.Duration, err error)
	}{
		{"session.Stream", func(ctx context.Context) (time.Duration, error) {
			s := maker.New()
			defer s.Close(ctx)
			start := time.Now()
			st, err := s.Stream(ctx, sql)
			if err != nil {
				return 0, err
			}
			defer st.Close()
			_, ok := st.FetchOne()
			return time.Since(start), firstRowErr(ok, st.Err())
		}},
		{"session.Execute", func(ctx context.Context) (time.Duration, error) {
			s := maker.New()
			defer s.Close(ctx)
			start := time.Now()
			res, err := s.Execute(ctx, sql)
			if err != nil {
				return 0, err
			}
			_, ok := res.FetchOne()
			return time.Since(start), firstRowErr(ok, res.Err())
		}},
		{"pgx.Query+Next(floor)", func(ctx context.Context) (time.Duration, error) {
			return pgxFirstRow(ctx, benchPool, sql)
		}},
	}
	for _, p := range paths {
		b.Run("narrow/"+p.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			var first []float64
			for b.Loop() {
				d, err := p.run(ctx)
				if err != nil {
					b.Fatal(err)
				}
				first = append(first, float64(d)/float64(time.Millisecond))
			}
			b.ReportMetric(median(first), "ms/first-row")
			b.ReportMetric(float64(narrow.rows), "rows-in-table")
		})
	}
}

var errNoFirstRow = errors.New("bench: no first row")

func firstRowErr(ok bool, err error) error {
	if err != nil {
		return err
	}
	if !ok {
		return errNoFirstRow
	}
	return nil
}

// pgxFirstRow reads the first row with raw pgx, then cancels the statement
// (the pool's cancel-request watcher keeps the connection) so the op does
// not pay for draining the rest.
func pgxFirstRow(ctx context.Context, pool *pgxpool.Pool, sql string) (time.Duration, error) {
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	rows, err := pool.Query(qctx, sql)
	if err != nil {
		return 0, err
	}
	ok := rows.Next()
	var err2 error
	if ok {
		_, err2 = rows.Values()
	}
	d := time.Since(start)
	if !ok {
		err2 = rows.Err()
		if err2 == nil {
			err2 = errNoFirstRow
		}
	}
	cancel()
	rows.Close()
	return d, err2
}
