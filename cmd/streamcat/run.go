package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/encode"
	"github.com/streamcat/streamcat/session"
	"github.com/streamcat/streamcat/stream"
)

// run is the whole program: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags(args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	if err != nil {
		return report(stderr, exitUsage, err)
	}
	// Check the format and its options before connecting.
	if _, err := encode.New(o.format, io.Discard, o.encOpts); err != nil {
		return report(stderr, exitUsage, errors.New(strings.TrimPrefix(err.Error(), "encode: ")))
	}
	query, err := readQuery(o, stdin)
	if err != nil {
		return report(stderr, exitUsage, err)
	}

	// SIGINT and SIGTERM cancel the context (and so the query, server-side);
	// the exit code tells which arrived. Notifying SIGPIPE makes a write to
	// a closed stdout fail with EPIPE instead of killing the process.
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	defer signal.Stop(pipe)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var got atomic.Value // os.Signal
	watchDone := make(chan struct{})
	defer close(watchDone)
	go func() {
		select {
		case s := <-sigs:
			got.Store(s)
			cancel()
		case <-watchDone:
		}
	}()

	err = execute(ctx, o, query, stdout, stderr)
	if s, ok := got.Load().(os.Signal); ok {
		if s == syscall.SIGTERM {
			fmt.Fprintln(stderr, "streamcat: terminated (query cancelled)")
			return exitSIGTERM
		}
		fmt.Fprintln(stderr, "streamcat: interrupted (query cancelled)")
		return exitSIGINT
	}
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var ce *connError
	switch {
	case errors.As(err, &ue), errors.As(err, &ce):
		return report(stderr, exitUsage, err)
	case o.timeout > 0 && errors.Is(err, context.DeadlineExceeded):
		return report(stderr, exitRuntime, fmt.Errorf("query timed out after %v", o.timeout))
	}
	return report(stderr, exitRuntime, err)
}

// report writes err as one line on stderr and returns code.
func report(stderr io.Writer, code int, err error) int {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	fmt.Fprintf(stderr, "streamcat: %s\n", msg)
	return code
}

// timeoutError marks the query's deadline having passed.
type timeoutError struct{ err error }

func (e *timeoutError) Error() string { return e.err.Error() }
func (e *timeoutError) Unwrap() error { return context.DeadlineExceeded }

// execute connects, checks the query and streams its rows.
func execute(ctx context.Context, o *options, query string, stdout, stderr io.Writer) (err error) {
	conn, err := connect(ctx, o, stderr)
	defer conn.close()
	if err != nil {
		return err
	}
	pool := conn.pool

	qctx := ctx
	if o.timeout > 0 {
		var cancel context.CancelFunc
		qctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	// Any failure once the query context has expired is a timeout.
	defer func() {
		if err != nil && ctx.Err() == nil && errors.Is(qctx.Err(), context.DeadlineExceeded) {
			err = &timeoutError{err: err}
		}
	}()

	// Describe the statement: its columns, its parameter count, and that it
	// is a single statement.
	c, err := pool.Acquire(qctx)
	if err != nil {
		if qctx.Err() != nil {
			return qctx.Err()
		}
		return &connError{msg: fmt.Sprintf("cannot connect to %s: %v", target(conn.cfg), connectErrorText(err))}
	}
	sd, err := c.Conn().Prepare(qctx, "", query)
	c.Release()
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && strings.Contains(pe.Message, "cannot insert multiple commands into a prepared statement") {
			return usagef("QUERY must be exactly one statement")
		}
		return err
	}
	if len(sd.ParamOIDs) != len(o.params) {
		return usagef("query expects %d parameter(s), got %d", len(sd.ParamOIDs), len(o.params))
	}
	fields := make([]pgconn.FieldDescription, len(sd.Fields))
	copy(fields, sd.Fields)
	for i := range fields {
		fields[i].Format = pgx.TextFormatCode
	}
	encOpts := o.encOpts
	if o.format == "jsonl" || o.format == "json" {
		if encOpts.Types, err = encode.LoadTypeInfo(qctx, pool, fields); err != nil {
			return fmt.Errorf("load column types: %w", err)
		}
	}

	out, err := openSink(o.output, stdout)
	if err != nil {
		return err
	}
	defer out.abort()
	counter := &countingWriter{w: out.w}
	enc, err := encode.New(o.format, counter, encOpts)
	if err != nil {
		return usagef("%s", strings.TrimPrefix(err.Error(), "encode: "))
	}

	args := []any{session.StreamOptions{Options: stream.Options{MaxBatch: o.batch}}, pgx.QueryResultFormats{pgx.TextFormatCode}}
	for _, p := range o.params {
		args = append(args, p)
	}
	s := session.NewMaker(pool).New()
	defer s.Close(context.WithoutCancel(ctx))

	start := time.Now()
	var rows atomic.Int64
	var prog *progress
	if progressWanted(o.progress, stderr) {
		prog = startProgress(stderr, &rows, counter, start)
	}
	defer prog.finish()

	st, err := s.Stream(qctx, query, args...)
	if err != nil {
		return err
	}
	raw := buffered.Raw(st)
	defer raw.Close()

	broken := false
	if err := enc.Begin(fields); err != nil {
		if !isBrokenPipe(err) {
			return err
		}
		broken = true
	}
	if !broken {
		var n int64
		for vals, rerr := range raw.Rows() {
			if rerr != nil {
				return rerr
			}
			if werr := enc.Row(vals); werr != nil {
				if isBrokenPipe(werr) {
					broken = true
					break
				}
				return fmt.Errorf("write: %w", werr)
			}
			n++
			rows.Store(n)
			if o.limit > 0 && n >= o.limit {
				break // ends the stream: the rest is cancelled server-side
			}
		}
		raw.Close()
	}
	if !broken {
		if werr := enc.End(); werr != nil {
			if !isBrokenPipe(werr) {
				return fmt.Errorf("write: %w", werr)
			}
			broken = true
		}
	}
	if broken {
		// The reader went away (| head): not an error. Nothing was
		// committed to a file, as -o never yields EPIPE.
		raw.Close()
		return nil
	}
	if err := out.commit(); err != nil {
		return err
	}
	prog.finish()
	if o.stats {
		fmt.Fprintln(stderr, statsLine(rows.Load(), counter.n.Load(), time.Since(start)))
	}
	return nil
}
