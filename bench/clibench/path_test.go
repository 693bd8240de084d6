package main

// In-process benchmarks of the CLI's path, for profiling (the streamcat
// binary has no profiling flag):
//
//	go test -run '^$' -bench . -cpuprofile cpu.out ./bench/clibench
//	go tool pprof -top bench/clibench/clibench.test cpu.out
//
// BenchmarkPath/TABLE/FORMAT/streamcat runs what cmd/streamcat's execute
// does for one query: Prepare on one connection for the columns, then
// pgwire.Open of the prepared statement with text result formats, its rows
// read off the socket straight into an encode encoder, here writing to a
// byte counter. BenchmarkPath/TABLE/FORMAT/stream is the path of the
// scaled-out runs (--parallel, several servers) for one connection:
// stream.Open, buffered.Raw read a batch at a time (FetchRawBatch), the
// same encoder; stream-inline is that stream never handing reading to its
// read-ahead goroutine (stream.PrefetchNever). The baselines beside them
// isolate the layers: pgx is a plain pool.Query + RawValues loop into the
// same encoder (no session, no stream), copy is PgConn.CopyTo (the server
// formats; what psql COPY does), and drain only reads the rows.
//
// CLIBENCH_WIDE_ROWS and CLIBENCH_NARROW_ROWS set the table sizes (default
// 500_000 and 2_000_000). Without -bench no cluster is started.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/encode"
	"github.com/streamcat/streamcat/internal/pgwire"
	"github.com/streamcat/streamcat/internal/testsupport"
	"github.com/streamcat/streamcat/localpg"
	"github.com/streamcat/streamcat/session"
	"github.com/streamcat/streamcat/stream"
)

var (
	pathPool  *pgxpool.Pool
	tableRows = map[string]int{}
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	pg, err := localpg.Start(ctx, localpg.Options{Settings: testsupport.ServerSettings()})
	if err != nil {
		fmt.Fprintln(os.Stderr, "clibench:", err)
		return 2
	}
	defer pg.Stop()
	// A cancelled context sends a cancel request, as on cmd/streamcat's
	// connection; at most 4 connections.
	cfg, err := session.PoolConfig(pg.DSN())
	if err != nil {
		fmt.Fprintln(os.Stderr, "clibench:", err)
		return 2
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "clibench:", err)
		return 2
	}
	defer pool.Close()
	for _, t := range tables {
		if t.name == "huge" {
			continue // one row: a memory measurement, not a path to profile
		}
		n, err := testsupport.EnvRows("CLIBENCH_"+strings.ToUpper(t.name)+"_ROWS", map[string]int{"wide": 500_000, "narrow": 2_000_000}[t.name])
		if err != nil {
			fmt.Fprintln(os.Stderr, "clibench:", err)
			return 2
		}
		for _, sql := range []string{
			"create unlogged table " + t.name + " as " + testsupport.Generate(t.gen, n),
			"vacuum (analyze) " + t.name,
			"select count(*) from " + t.name,
		} {
			if _, err := pool.Exec(ctx, sql); err != nil {
				fmt.Fprintln(os.Stderr, "clibench:", err)
				return 2
			}
		}
		tableRows[t.name] = n
		fmt.Fprintf(os.Stderr, "clibench: %s: %d rows\n", t.name, n)
	}
	pathPool = pool
	return m.Run()
}

// countWriter counts what reaches io.Discard (as the CLI's countingWriter).
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

func BenchmarkPath(b *testing.B) {
	ctx := context.Background()
	for _, t := range tables {
		if _, ok := tableRows[t.name]; !ok {
			continue // not created (huge)
		}
		query := "select * from " + t.name
		for _, format := range []string{"csv", "tsv", "jsonl"} {
			b.Run(t.name+"/"+format+"/streamcat", func(b *testing.B) {
				loop(b, t.name, func() (int64, error) { return streamcatPath(ctx, pathPool, query, format, wireRows) })
			})
			b.Run(t.name+"/"+format+"/stream", func(b *testing.B) {
				loop(b, t.name, func() (int64, error) {
					return streamcatPath(ctx, pathPool, query, format, streamRows(stream.PrefetchAuto))
				})
			})
			// the stream read on the encoding goroutine throughout, never
			// handed to a read-ahead goroutine: fewer threads, less CPU
			b.Run(t.name+"/"+format+"/stream-inline", func(b *testing.B) {
				loop(b, t.name, func() (int64, error) {
					return streamcatPath(ctx, pathPool, query, format, streamRows(stream.PrefetchNever))
				})
			})
			b.Run(t.name+"/"+format+"/pgx", func(b *testing.B) {
				loop(b, t.name, func() (int64, error) { return pgxPath(ctx, pathPool, query, format) })
			})
		}
		b.Run(t.name+"/csv/copy", func(b *testing.B) {
			loop(b, t.name, func() (int64, error) {
				return copyPath(ctx, pathPool, "COPY ("+query+") TO STDOUT WITH (FORMAT csv)")
			})
		})
		b.Run(t.name+"/drain", func(b *testing.B) {
			loop(b, t.name, func() (int64, error) {
				rows, err := pathPool.Query(ctx, query, pgx.QueryResultFormats{pgx.TextFormatCode})
				if err != nil {
					return 0, err
				}
				for rows.Next() {
					_ = rows.RawValues()
				}
				rows.Close()
				return 0, rows.Err()
			})
		})
	}
}

// loop runs f b.N times and reports, besides time and bytes, this
// process's CPU time (user + system) per row: the client's share of the
// work, which on a busy two-core machine matters more than wall time.
func loop(b *testing.B, table string, f func() (int64, error)) {
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	for b.Loop() {
		n, err := f()
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(n)
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
	b.ReportMetric(float64(cpu)/float64(b.N)/float64(tableRows[table]), "cpu-ns/row")
}

// rowReader runs the prepared statement name on conn and feeds each row
// to row, which must not keep the values.
type rowReader func(ctx context.Context, conn *pgx.Conn, name string, ncol int, row func([][]byte) error) error

// wireRows reads as cmd/streamcat does for one query: off the socket.
func wireRows(ctx context.Context, conn *pgx.Conn, name string, ncol int, row func([][]byte) error) error {
	q := pgwire.Query{Statement: name, Formats: []int16{pgx.TextFormatCode}, Columns: ncol}
	rows, err := pgwire.Open(ctx, conn.PgConn(), q, time.Second)
	if err != nil {
		return err
	}
	defer rows.Close()
	for {
		vals, ok := rows.Next()
		if !ok {
			return rows.Err()
		}
		if err := row(vals); err != nil {
			return err
		}
	}
}

// streamRows reads as cmd/streamcat's scaled-out runs do, per connection:
// a stream, a batch at a time.
func streamRows(prefetch stream.Prefetch) rowReader {
	return func(ctx context.Context, conn *pgx.Conn, name string, _ int, row func([][]byte) error) error {
		res, err := stream.Open(ctx, func(ctx context.Context) (pgx.Rows, error) {
			return conn.Query(ctx, name, pgx.QueryResultFormats{pgx.TextFormatCode})
		}, stream.Options{Prefetch: prefetch}, func(error, bool) {})
		if err != nil {
			return err
		}
		raw := buffered.Raw(res)
		defer raw.Close()
		var vals [][]byte
		for {
			b, ok := raw.FetchRawBatch()
			if !ok {
				return raw.Err()
			}
			for i := range b.Len() {
				vals = b.Row(i, vals)
				if err := row(vals); err != nil {
					return err
				}
			}
		}
	}
}

// streamcatPath is cmd/streamcat's describe and copyRows without flags,
// signals and files: one connection, the statement prepared on it (its
// columns, the types jsonl needs), then run by name and read by read into
// the encoder.
func streamcatPath(ctx context.Context, pool *pgxpool.Pool, query, format string, read rowReader) (int64, error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Release()
	conn := c.Conn()
	const name = "clibench_path"
	_ = conn.Deallocate(ctx, name) // from the previous iteration on this connection
	sd, err := conn.Prepare(ctx, name, query)
	if err != nil {
		return 0, err
	}
	types := encode.NewTypeInfo()
	if format == "jsonl" {
		if err := types.Load(ctx, conn, sd.Fields); err != nil {
			return 0, err
		}
	}
	w := &countWriter{}
	enc, err := encode.New(format, w, encode.Options{Types: types})
	if err != nil {
		return 0, err
	}
	fields := make([]pgconn.FieldDescription, len(sd.Fields))
	for i, f := range sd.Fields {
		f.Format = pgx.TextFormatCode
		fields[i] = f
	}
	if err := enc.Begin(fields); err != nil {
		return 0, err
	}
	if err := read(ctx, conn, name, len(fields), enc.Row); err != nil {
		return 0, err
	}
	if err := enc.End(); err != nil {
		return 0, err
	}
	return w.n, nil
}

// pgxPath is the same encoding over a plain pgx rows loop.
func pgxPath(ctx context.Context, pool *pgxpool.Pool, query, format string) (int64, error) {
	rows, err := pool.Query(ctx, query, pgx.QueryResultFormats{pgx.TextFormatCode})
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	var opts encode.Options
	if format == "jsonl" {
		// on another of the pool's connections: this one is busy
		if opts.Types, err = encode.LoadTypeInfo(ctx, pool, fields); err != nil {
			return 0, err
		}
	}
	w := &countWriter{}
	enc, err := encode.New(format, w, opts)
	if err != nil {
		return 0, err
	}
	if err := enc.Begin(fields); err != nil {
		return 0, err
	}
	for rows.Next() {
		if err := enc.Row(rows.RawValues()); err != nil {
			return 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if err := enc.End(); err != nil {
		return 0, err
	}
	return w.n, nil
}

// copyPath is what psql COPY does: the server formats, the client copies.
func copyPath(ctx context.Context, pool *pgxpool.Pool, sql string) (int64, error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Release()
	w := &countWriter{}
	if _, err := c.Conn().PgConn().CopyTo(ctx, w, sql); err != nil {
		return 0, err
	}
	return w.n, nil
}
