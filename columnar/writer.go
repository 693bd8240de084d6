package columnar

import (
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Writer writes the rows of one result as Parquet or an Arrow IPC stream.
// It has the shape of encode.Encoder: Begin with the result's columns, Row
// for every row (raw wire values, nil for NULL, as buffered.Raw yields
// them), End at the end. Rows are gathered into a batch of at most
// Options.RowGroupRows rows and Options.RowGroupBytes bytes, which is
// written (one row group, one record batch) before the next is gathered.
// A Writer is not safe for concurrent use.
type Writer struct {
	format Format
	opts   Options
	out    *errWriter

	names  []string
	schema *arrow.Schema
	rb     *array.RecordBuilder
	adds   []appender
	sink   recordSink

	rows, bytes int   // in the batch being gathered
	colBytes    []int // wire bytes per column in the batch being gathered
	seen        int64 // rows given to Row
	flushed     int64 // rows in written batches
	begun, done bool
}

// recordSink writes batches in one output format.
type recordSink interface {
	write(rec arrow.RecordBatch) error
	close() error
}

// NewWriter returns a Writer of format to w. It checks the options; nothing
// is written before Begin.
func NewWriter(format Format, w io.Writer, opts Options) (*Writer, error) {
	if err := opts.check(format); err != nil {
		return nil, err
	}
	return &Writer{format: format, opts: opts.withDefaults(), out: &errWriter{w: w}}, nil
}

// Begin maps the columns (see README's type table) and starts the output:
// the Arrow schema message, or nothing yet for Parquet, whose schema goes
// in the footer. It fails, naming the column, when a type cannot be
// mapped. Its cost is proportional to the number of columns.
func (w *Writer) Begin(fields []pgconn.FieldDescription) error {
	if w.begun {
		return errors.New("columnar: Begin called twice")
	}
	w.begun = true
	if len(fields) == 0 && w.format == Parquet {
		// arrow-go's writer records a row group's row count only through
		// its column chunks, so the rows would be lost.
		return ErrNoColumns
	}
	p := &planner{types: w.opts.Types, numeric: w.opts.Numeric, m: pgtype.NewMap()}
	afields := make([]arrow.Field, len(fields))
	ms := make([]mapping, len(fields))
	w.names = make([]string, len(fields))
	for i, f := range fields {
		m, err := p.plan(f.DataTypeOID, f.TypeModifier, f.Format, false)
		if err != nil {
			return fmt.Errorf("columnar: column %q: %w", f.Name, err)
		}
		ms[i] = m
		afields[i] = arrow.Field{Name: f.Name, Type: m.typ, Nullable: true}
		w.names[i] = f.Name
	}
	w.schema = arrow.NewSchema(afields, nil)
	w.rb = array.NewRecordBuilder(memory.DefaultAllocator, w.schema)
	w.adds = make([]appender, len(ms))
	w.colBytes = make([]int, len(ms))
	for i, m := range ms {
		w.adds[i] = m.bind(w.rb.Field(i))
	}
	var err error
	if w.format == Parquet {
		w.sink, err = newParquetSink(w.out, w.schema, w.opts)
	} else {
		w.sink, err = newArrowSink(w.out, w.schema, w.opts)
	}
	return w.outErr(err)
}

// Row adds one row: values are the raw wire values of each column in the
// format Begin was told, nil for NULL; they are copied, so the caller may
// reuse them afterwards. It writes the batch when it is full. A value the
// mapping cannot represent is a *ValueError.
func (w *Writer) Row(values [][]byte) error {
	if !w.begun || w.done {
		return errors.New("columnar: Row outside Begin and End")
	}
	if len(values) != len(w.adds) {
		return fmt.Errorf("columnar: row of %d values for %d columns", len(values), len(w.adds))
	}
	w.seen++
	for i, v := range values {
		if err := w.adds[i](v); err != nil {
			return &ValueError{Column: w.names[i], Row: w.seen, Err: err}
		}
		w.bytes += len(v)
		w.colBytes[i] += len(v)
	}
	w.rows++
	if w.rows >= w.opts.RowGroupRows || w.bytes >= w.opts.RowGroupBytes {
		return w.flush()
	}
	return nil
}

// End writes the last batch and the end of the output: the Parquet footer,
// or the Arrow end-of-stream marker. An empty result makes a valid file or
// stream with the schema and no rows.
func (w *Writer) End() error {
	if !w.begun || w.done {
		return errors.New("columnar: End without Begin")
	}
	w.done = true
	err := w.flush()
	if cerr := w.sink.close(); err == nil {
		err = w.outErr(cerr)
	}
	w.rb.Release()
	return err
}

// Flushed returns the rows of the batches written so far (the rows a reader
// gets from a stream cut short after them).
func (w *Writer) Flushed() int64 { return w.flushed }

// flush writes the gathered rows as one batch.
func (w *Writer) flush() error {
	if w.rows == 0 {
		return nil
	}
	cols := make([]arrow.Array, len(w.adds))
	for i := range cols {
		cols[i] = w.rb.Field(i).NewArray()
	}
	rec := array.NewRecordBatch(w.schema, cols, int64(w.rows))
	for _, c := range cols {
		c.Release()
	}
	n := w.rows
	w.rows, w.bytes = 0, 0
	err := w.sink.write(rec)
	rec.Release()
	if err != nil {
		return w.outErr(err)
	}
	// Only now, with the written batch unreferenced, size the builders for
	// the next one: reserving before the write held two batches at once.
	w.reserve(n)
	w.flushed += int64(n)
	return nil
}

// reserve sizes the emptied builders for a batch like the last one (n
// rows), so they do not grow by doubling from nothing every batch, which
// allocated and cleared about twice each batch's size.
func (w *Writer) reserve(n int) {
	for i, nb := range w.colBytes {
		b := w.rb.Field(i)
		b.Reserve(n)
		if d, ok := storage(b).(interface{ ReserveData(int) }); ok {
			d.ReserveData(nb)
		}
		w.colBytes[i] = 0
	}
}

// outErr prefers the output's own error (EPIPE, ENOSPC) to the library's
// wrapping of it, so callers can test it with errors.Is.
func (w *Writer) outErr(err error) error {
	if err == nil {
		return nil
	}
	if w.out.err != nil {
		return fmt.Errorf("columnar: write %v: %w", w.format, w.out.err)
	}
	return fmt.Errorf("columnar: write %v: %w", w.format, err)
}

// errWriter remembers the first error of the output.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}
