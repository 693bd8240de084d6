package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/stream"
)

// copyRows runs the described statement on conn and streams its rows
// through the encoder into the output, which it commits at the end.
func (r *runner) copyRows(ctx context.Context, conn *pgx.Conn) error {
	o := r.o
	args := make([]any, 0, len(o.params)+1)
	formats := r.formats
	if formats == nil {
		formats = pgx.QueryResultFormats{pgx.TextFormatCode}
	}
	args = append(args, formats)
	for _, p := range o.params {
		args = append(args, p)
	}
	// The stream has a context of its own, so an early end that the server
	// does not answer can be cut short (see closeBounded).
	sctx, cancelStream := context.WithCancel(ctx)
	defer cancelStream()

	start := time.Now()
	var rows atomic.Int64
	prog := startProgress(o.progress, r.stderr, &rows, r.counter, start)
	defer prog.finish()

	res, err := stream.Open(sctx, func(ctx context.Context) (pgx.Rows, error) {
		return conn.Query(ctx, stmtName, args...)
	}, r.streamOptions(), func(error, bool) {})
	if err != nil {
		return err
	}
	raw := buffered.Raw(res)
	closeStream := sync.OnceFunc(func() { closeBounded(raw, cancelStream) })
	defer closeStream()

	broken, err := r.encodeRows(res, raw, &rows)
	closeStream() // after --limit or a closed stdout: cancels the rest
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
func (r *runner) encodeRows(res *stream.Result, raw *buffered.View[[][]byte], rows *atomic.Int64) (broken bool, err error) {
	if err := r.enc.Begin(fields(res)); err != nil {
		return isBrokenPipe(err), writeErr(err)
	}
	// FetchOne, not a range over Rows: leaving that loop early would close
	// the stream right there, without the bound of closeBounded.
	var n int64
	for {
		vals, ok := raw.FetchOne()
		if !ok {
			if err := raw.Err(); err != nil {
				return false, err
			}
			break
		}
		if err := r.enc.Row(vals); err != nil {
			return isBrokenPipe(err), writeErr(err)
		}
		n++
		rows.Store(n)
		if r.o.limit > 0 && n >= r.o.limit {
			break
		}
	}
	if err := r.enc.End(); err != nil {
		return isBrokenPipe(err), writeErr(err)
	}
	return false, nil
}

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

// fields describes the stream's columns for the encoder, in the format
// each was asked in.
func fields(res *stream.Result) []pgconn.FieldDescription {
	cols := res.ColumnTypes()
	out := make([]pgconn.FieldDescription, len(cols))
	for i, c := range cols {
		out[i] = pgconn.FieldDescription{Name: c.Name, DataTypeOID: c.TypeOID, TypeModifier: c.TypeMod, Format: c.Format}
	}
	return out
}

// closeBounded closes the stream. Closing early sends the server a cancel
// request and waits for the statement to end; a server that does not
// answer within cancelGrace gets its context cancelled too, and pgconn
// then drops the connection after another cancelGrace.
func closeBounded(v *buffered.View[[][]byte], cancel context.CancelFunc) {
	t := time.AfterFunc(cancelGrace, cancel)
	defer t.Stop()
	v.Close()
}
