package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamcat/streamcat/columnar"
	"github.com/streamcat/streamcat/encode"
)

// run is the whole program: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags(args)
	switch {
	case errors.Is(err, errHelp):
		fmt.Fprint(stdout, usageText)
		return exitOK
	case errors.Is(err, errVersion):
		fmt.Fprint(stdout, versionText())
		return exitOK
	case err != nil:
		return report(stderr, exitUsage, err, "")
	}
	r := &runner{o: o, stdout: stdout, stderr: stderr}
	if err := r.prepare(stdin); err != nil {
		r.out.abort()
		return report(stderr, exitUsage, err, "")
	}
	defer r.out.abort()

	sig := watchSignals(ctx, r.out, stderr)
	defer sig.stop()
	err = r.execute(sig.ctx)
	return r.exit(sig, err)
}

// runner is one run: the options, the output and what the run learnt.
type runner struct {
	o      *options
	query  string
	stdout io.Writer
	stderr io.Writer

	out     *sink
	counter *countingWriter
	enc     encode.Encoder
	types   *encode.TypeInfo // loaded for jsonl/json once the columns are known

	colTypes *columnar.Types        // loaded for parquet/arrow once the columns are known
	formats  pgx.QueryResultFormats // per column; nil is text for all
}

// prepare does everything that needs no server: it reads QUERY and --init's
// file, opens the output and builds the encoder (which checks the format
// and its options). Every failure here is a usage error.
func (r *runner) prepare(stdin io.Reader) error {
	o := r.o
	if o.initFile != "" {
		// checked before an embedded server is started for nothing
		if _, err := os.Stat(o.initFile); err != nil {
			return usagef("--init: %v", err)
		}
	}
	q, err := readQuery(o, stdin)
	if err != nil {
		return err
	}
	r.query = q
	r.types = encode.NewTypeInfo()
	opts := o.encOpts
	opts.Types = r.types
	// Build the encoder on a placeholder first, so a bad --format or
	// --delimiter is reported before -o creates anything.
	r.counter = &countingWriter{w: io.Discard}
	if f, ok := columnarFormat(o.format); ok {
		r.colTypes = columnar.NewTypes()
		if r.enc, err = r.newColumnar(f); err != nil {
			return err
		}
		if o.output == "" && isTTY(r.stdout) {
			return usagef("--format %s is binary: give -o FILE or redirect stdout to a file or pipe", o.format)
		}
	} else if r.enc, err = encode.New(o.format, r.counter, opts); err != nil {
		return optionError(err)
	}
	if r.out, err = openSink(o.output, r.stdout); err != nil {
		return err
	}
	r.counter.w = r.out.w
	if _, col := columnarFormat(o.format); o.stats && !col {
		r.counter.rc = &recordCounter{format: o.format}
	}
	return nil
}

// optionError puts the flag's spelling in front of an encode.OptionError.
func optionError(err error) error {
	var oe *encode.OptionError
	if !errors.As(err, &oe) {
		return err
	}
	flag := map[string]string{"format": "--format", "Header": "--header", "Null": "--null", "Delimiter": "--delimiter"}[oe.Option]
	if flag == "" {
		flag = oe.Option
	}
	return usagef("%s: %s", flag, oe.Reason)
}

// execute connects, describes the statement and copies its rows out.
func (r *runner) execute(ctx context.Context) (err error) {
	o := r.o
	if o.timeout > 0 {
		// --timeout covers the whole run, connecting included.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, o.timeout, errTimedOut)
		defer cancel()
		defer func() {
			if err != nil && errors.Is(context.Cause(ctx), errTimedOut) {
				err = &timeoutError{after: o.timeout, err: err}
			}
		}()
	}
	conn, err := connect(ctx, o, r.stderr)
	defer conn.close()
	if err != nil {
		return err
	}
	defer func() {
		// pgconn closes the connection when the server has not answered
		// the cancel request within cancelGrace.
		if err != nil && ctx.Err() != nil && conn.conn.IsClosed() {
			err = &noAnswerError{err: err}
		}
	}()
	sd, err := describe(ctx, conn.conn, r.query, len(o.params))
	if err != nil {
		return err
	}
	if o.format == "jsonl" || o.format == "json" {
		if err := r.types.Load(ctx, conn.conn, sd.Fields); err != nil {
			return fmt.Errorf("load column types: %w", err)
		}
	}
	if _, ok := columnarFormat(o.format); ok {
		if err := r.describeColumnar(ctx, conn.conn, sd.Fields); err != nil {
			return err
		}
	}
	switch {
	case o.scale.parallel > 0:
		return r.copyParallel(ctx, conn.cfg)
	case len(o.scale.dsns) > 1:
		return r.copyFanIn(ctx, conn.cfg)
	}
	return r.copyRows(ctx, conn.conn, sd)
}

// errTimedOut is the cause of the --timeout context.
var errTimedOut = errors.New("--timeout expired")

// timeoutError is a run stopped by --timeout. It unwraps to both
// context.DeadlineExceeded and the error the run ended with, so a server
// error stays reachable with errors.As.
type timeoutError struct {
	after time.Duration
	err   error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("timed out after %v%s", e.after, cancelOutcome(e.err))
}

func (e *timeoutError) Unwrap() []error { return []error{context.DeadlineExceeded, e.err} }

// exit reports how the run ended and returns the exit code.
func (r *runner) exit(sig *signals, err error) int {
	if s := sig.received(); s != nil {
		code, what := exitSIGINT, "interrupted"
		if s == sigTERM {
			code, what = exitSIGTERM, "terminated"
		}
		fmt.Fprintf(r.stderr, "streamcat: %s%s\n", what, cancelOutcome(err))
		return code
	}
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var ce *connError
	if errors.As(err, &ue) || errors.As(err, &ce) {
		return report(r.stderr, exitUsage, err, r.query)
	}
	return report(r.stderr, exitRuntime, err, r.query)
}

// report writes err on stderr: one line, then for a server error the lines
// psql adds (position, DETAIL, HINT, CONTEXT). It returns code.
func report(stderr io.Writer, code int, err error, query string) int {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	fmt.Fprintf(stderr, "streamcat: %s\n", msg)
	for _, l := range serverDetail(err, query) {
		fmt.Fprintln(stderr, l)
	}
	return code
}
