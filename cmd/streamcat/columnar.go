package main

import (
	"context"
	"os"
	"runtime/debug"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/term"

	"github.com/streamcat/streamcat/columnar"
	"github.com/streamcat/streamcat/stream"
)

// The parquet and arrow formats are written by package columnar; this file
// is their wiring: flags, the encoder, the result formats and the types.

// columnarFormat returns the columnar format --format names, if it is one.
func columnarFormat(name string) (columnar.Format, bool) {
	switch name {
	case "parquet":
		return columnar.Parquet, true
	case "arrow":
		return columnar.Arrow, true
	}
	return 0, false
}

// columnarFlags are the flags of the parquet and arrow formats.
type columnarFlags struct {
	compression string
	rowGroup    int64
	numeric     string
}

// checkColumnar refuses the columnar flags with another format, and
// checks their values.
func (o *options) checkColumnar(changed func(string) bool) error {
	if _, ok := columnarFormat(o.format); !ok {
		for _, f := range []string{"compression", "row-group", "numeric"} {
			if changed(f) {
				return usagef("--%s applies to --format parquet and arrow only", f)
			}
		}
		return nil
	}
	switch {
	case o.encOpts.Header || o.encOpts.NullSet || o.delimiter != "":
		return usagef("--header, --null and --delimiter apply to csv and tsv only, not to --format %s", o.format)
	case o.col.rowGroup < 0:
		return usagef("--row-group must not be negative")
	}
	switch o.col.numeric {
	case "", "exact", "float64":
	default:
		return usagef("--numeric must be exact or float64, got %q", o.col.numeric)
	}
	return nil
}

// newColumnar builds the parquet or arrow encoder; r.colTypes is filled in
// once the statement is described, before Begin reads it.
func (r *runner) newColumnar(f columnar.Format) (*columnar.Writer, error) {
	c := r.o.col
	opts := columnar.Options{
		RowGroupRows: int(c.rowGroup),
		Compression:  columnar.Compression(c.compression),
		Types:        r.colTypes,
	}
	if c.numeric == "float64" {
		opts.Numeric = columnar.NumericFloat64
	}
	limitMemory()
	w, err := columnar.NewWriter(f, r.counter, opts)
	if err != nil {
		return nil, usagef("--compression: %q: want zstd, snappy (parquet only) or none", c.compression)
	}
	return w, nil
}

// streamOptions are the stream's: for parquet and arrow its batches are
// capped at 1 MiB instead of 4, since the writer holds a row group of its
// own (see columnar.Options.RowGroupBytes) and the stream's (Buffer+2)
// batches would otherwise add 24 MiB to it.
func (r *runner) streamOptions() stream.Options {
	opts := stream.Options{MaxBatch: r.o.batch}
	if _, ok := columnarFormat(r.o.format); ok {
		opts.MaxBatchBytes = 1 << 20
	}
	return opts
}

// isTTY reports whether w is a terminal (unlike isTerminal, not /dev/null,
// where writing Parquet is fine): binary output is refused there.
func isTTY(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return term.IsTerminal(int(f.Fd()))
}

// columnarMemoryLimit is the soft memory limit of a parquet or arrow run
// when GOMEMLIMIT is not set. A writer holds about 25 MB live at the default
// row-group size (the batch as Arrow arrays, the row group parquet-go
// buffers, the stream's batches); with Go's default GOGC the heap would
// grow to twice that. The limit makes the collector run before the heap
// passes it, so the process stays within 64 MB for a little more GC work.
const columnarMemoryLimit = 44 << 20

// limitMemory sets columnarMemoryLimit unless the user set GOMEMLIMIT.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(columnarMemoryLimit)
	}
}

// describeColumnar loads the catalog entries of the result's non-built-in
// types and picks each column's wire format.
func (r *runner) describeColumnar(ctx context.Context, conn *pgx.Conn, fields []pgconn.FieldDescription) error {
	if err := r.colTypes.Load(ctx, conn, fields); err != nil {
		return err
	}
	r.formats = columnar.ResultFormats(fields, r.colTypes)
	return nil
}
