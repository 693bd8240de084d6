package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamcat/streamcat/internal/pgwire"
)

// copyRows runs the described statement on conn and writes its rows
// through the encoder into the output, which it commits at the end. The
// rows come straight off the socket (pgwire): the one-query path has a
// single reader, the encoder.
func (r *runner) copyRows(ctx context.Context, conn *pgx.Conn, sd *pgconn.StatementDescription) error {
	formats := r.resultFormats()
	fields := make([]pgconn.FieldDescription, len(sd.Fields))
	for i, f := range sd.Fields {
		f.Format = formats[0]
		if len(formats) > 1 {
			f.Format = formats[i]
		}
		fields[i] = f
	}
	return r.writeAll(ctx, func(ctx context.Context) ([]pgconn.FieldDescription, rowSource, error) {
		q := pgwire.Query{Statement: stmtName, Params: r.o.params, Formats: formats, Columns: len(fields)}
		rows, err := pgwire.Open(ctx, conn.PgConn(), q, cancelGrace)
		if err != nil {
			return nil, nil, err
		}
		return fields, wireSource{rows}, nil
	})
}

// wireSource is a single query's rows, read off the socket.
type wireSource struct{ rows *pgwire.Rows }

func (s wireSource) FetchOne() ([][]byte, bool) { return s.rows.Next() }
func (s wireSource) close()                     { s.rows.Close() }

// Err marks a cancel the server never answered for the exit message.
func (s wireSource) Err() error {
	err := s.rows.Err()
	if errors.Is(err, pgwire.ErrNoAnswer) {
		return &noAnswerError{err: err}
	}
	return err
}

// resultFormats is the per-column result format of the query: text unless
// a columnar format asked for binary columns.
func (r *runner) resultFormats() pgx.QueryResultFormats {
	if r.formats == nil {
		return pgx.QueryResultFormats{pgx.TextFormatCode}
	}
	return r.formats
}

// params are the -v values, as query arguments.
func (r *runner) params() []any {
	args := make([]any, len(r.o.params))
	for i, p := range r.o.params {
		args[i] = p
	}
	return args
}

// writeAll opens the rows, writes them through the encoder into the
// output, which it commits at the end, and reports --stats.
func (r *runner) writeAll(ctx context.Context, open func(context.Context) ([]pgconn.FieldDescription, rowSource, error)) error {
	o := r.o
	start := time.Now()
	var rows atomic.Int64
	prog := startProgress(o.progress, r.stderr, &rows, r.counter, start)
	defer prog.finish()

	fields, src, err := open(ctx)
	if err != nil {
		return err
	}
	defer src.close()
	broken, err := r.encodeRows(fields, src, &rows)
	src.close() // after --limit or a closed stdout: cancels the rest
	if err != nil {
		return err
	}
	if !broken {
		if err := r.out.commit(); err != nil {
			return err
		}
	}
	prog.finish()
	if o.stats {
		n, note := rows.Load(), ""
		if broken {
			n, note = r.writtenRows(n), " (stdout closed early)"
		}
		fmt.Fprintln(r.stderr, statsLine(n, r.counter.n.Load(), time.Since(start))+note)
	}
	return nil
}

// encodeRows writes the header, the rows (up to --limit) and the end of the
// output. broken reports that the reader of stdout went away (| head),
// which is not an error: nothing is committed to a file then, as -o never
// yields EPIPE.
func (r *runner) encodeRows(fields []pgconn.FieldDescription, src rowSource, rows *atomic.Int64) (broken bool, err error) {
	if err := r.enc.Begin(fields); err != nil {
		return isBrokenPipe(err), writeErr(err)
	}
	// FetchOne, not a range over Rows: leaving that loop early would close
	// the rows right there, without their bounded close.
	var n int64
	// The count for --progress and --stats is published every
	// progressEvery rows and at the end: an atomic store per row would be
	// a locked instruction per row.
	defer func() { rows.Store(n) }()
	for {
		vals, ok := src.FetchOne()
		if !ok {
			if err := src.Err(); err != nil {
				return false, err
			}
			break
		}
		if err := r.enc.Row(vals); err != nil {
			return isBrokenPipe(err), writeErr(err)
		}
		n++
		if n%progressEvery == 0 {
			rows.Store(n)
		}
		if r.o.limit > 0 && n >= r.o.limit {
			break
		}
	}
	if err := r.enc.End(); err != nil {
		return isBrokenPipe(err), writeErr(err)
	}
	return false, nil
}

// progressEvery is how often (in rows) encodeRows publishes its count.
const progressEvery = 256

// writeErr is nil for a broken pipe and names a failed write otherwise.
func writeErr(err error) error {
	if isBrokenPipe(err) {
		return nil
	}
	return fmt.Errorf("write: %w", err)
}

// writtenRows returns how many of the n encoded rows fully left the
// process when stdout closed early: the rows of the batches a columnar
// writer wrote, or the rows the text formats' bytes complete.
func (r *runner) writtenRows(n int64) int64 {
	if w, ok := r.enc.(interface{ Flushed() int64 }); ok {
		return w.Flushed()
	}
	return r.counter.rc.rows(n, r.o.encOpts.Header)
}
