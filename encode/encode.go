// Package encode writes rows of PostgreSQL text-format wire values as CSV,
// TSV, JSON Lines or a JSON array.
//
// The input of every encoder is what the server sends for a query run with
// text result format: one []byte per column holding the type's text output
// (for pgx, rows.RawValues() of a query run with
// pgx.QueryResultFormats{pgx.TextFormatCode}), nil for SQL NULL. Nothing is
// parsed into Go values: the encoders quote, escape or restructure the bytes
// as they go, so a row costs no allocation.
//
//   - "csv" is byte-identical to COPY (query) TO STDOUT WITH (FORMAT csv),
//     including HEADER, NULL and DELIMITER.
//   - "tsv" is byte-identical to COPY (query) TO STDOUT (the text format),
//     including HEADER, NULL and DELIMITER.
//   - "jsonl" writes one object per row, semantically equal to row_to_json of
//     that row; "json" writes the same objects as one streamed JSON array.
//
// Typical use with pgx:
//
//	rows, err := conn.Query(ctx, sql, pgx.QueryResultFormats{pgx.TextFormatCode})
//	...
//	types, err := encode.LoadTypeInfo(ctx, pool, rows.FieldDescriptions()) // jsonl/json only
//	enc, err := encode.New("jsonl", os.Stdout, encode.Options{Types: types})
//	err = enc.Begin(rows.FieldDescriptions())
//	for rows.Next() {
//		err = enc.Row(rows.RawValues())
//	}
//	err = enc.End()
//
// LoadTypeInfo needs a connection that is not busy with the result (the
// pool, or run it before the query on the same connection, e.g. with the
// fields of PgConn().Prepare).
//
// The type conversions of jsonl and json, and their known differences from
// row_to_json, are described in the doc of New.
package encode

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Encoder writes the rows of one result.
//
// Call Begin once with the result's columns, Row for every row, and End when
// the result is done. Values passed to Row are the raw text-format bytes of
// each column (nil is SQL NULL); they are only read during the call, so the
// caller may reuse them afterwards. After End, Begin may start another
// result on the same output. An Encoder is not safe for concurrent use.
type Encoder interface {
	// Begin starts a result: csv and tsv write the header line when
	// Options.Header is set, json writes "[". It fails when a column is in
	// binary format. Its cost is proportional to the number of columns.
	Begin(fields []pgconn.FieldDescription) error
	// Row writes one row. It fails when len(values) differs from the number
	// of columns given to Begin, or when the output failed. It does not
	// allocate.
	Row(values [][]byte) error
	// End finishes the result (json writes "]") and flushes the buffered
	// output to the underlying writer.
	End() error
}

// Options configures an encoder. The zero value gives COPY's defaults.
type Options struct {
	// Header makes csv and tsv start with a line of column names, like
	// COPY's HEADER option. Not allowed for jsonl and json.
	Header bool
	// Null is the text written for SQL NULL by csv and tsv, like COPY's NULL
	// option. It is used when NullSet is true or when it is not empty;
	// otherwise csv writes an unquoted empty field and tsv writes `\N`. It
	// may not contain CR, LF or the delimiter; for csv, not a double quote.
	Null string
	// NullSet makes Null apply even when it is empty (so tsv can write NULL
	// as an empty field).
	NullSet bool
	// Delimiter separates fields: ',' for csv and '\t' for tsv when zero,
	// like COPY's DELIMITER option. It must be a single ASCII character other
	// than CR and LF; for csv not '"', for tsv not a backslash, '.', a
	// lower-case letter or a digit (COPY's rules).
	Delimiter byte
	// Types describes non-built-in types (arrays, composites, domains) for
	// jsonl and json; see LoadTypeInfo. Nil means built-in knowledge only:
	// values of other types are written as JSON strings. csv and tsv ignore
	// it.
	Types *TypeInfo
}

// null returns the NULL string in effect, given the format's default.
func (o Options) null(def string) string {
	if o.NullSet || o.Null != "" {
		return o.Null
	}
	return def
}

var formats = []string{"csv", "tsv", "jsonl", "json"}

// Formats returns the names New accepts, in a stable order. It allocates a
// new slice on each call.
func Formats() []string {
	return append([]string(nil), formats...)
}

// New returns an encoder for format ("csv", "tsv", "jsonl" or "json") that
// writes to w through its own buffer: rows are built in it and written
// to w in one Write whenever it holds 64 KiB (so a write ends on a row's
// end, except around a value of 1 MiB or more); End writes the rest. The
// buffer grows for a row larger than that (one over 4 MiB is not kept
// after it). New fails for an unknown format or invalid options, with an error
// that names the problem.
//
// jsonl writes each row as one line holding a JSON object semantically
// equal to row_to_json of that row; json writes the same objects as one
// streamed JSON array ("[", then "\n" before each object and "," between
// them, "]\n" at End; an empty result is "[]\n"). The conversions follow
// PostgreSQL's json_categorize_type:
//
//   - keys are the column names in order, duplicates kept; NULL is null;
//   - int2, int4, int8, float4, float8 and numeric are bare numbers copied
//     from the text (no float64 round trip); NaN, Infinity and -Infinity are
//     strings;
//   - bool is true or false; json and jsonb are embedded as they are (line
//     breaks, which can only be white space there, become spaces);
//   - arrays (any dimension, with or without explicit bounds), int2vector
//     and oidvector are JSON arrays whose elements follow their type's rules;
//   - composite types are objects keyed by attribute name; domains follow
//     their base type (both, and arrays of non-built-in types, need
//     Options.Types: without it their text is a string);
//   - timestamp and timestamptz are written as row_to_json writes them:
//     "2024-01-02T03:04:05.5+00:00", "infinity", "0044-03-15T12:00:00 BC";
//   - every other type (text, oid, date, time, timetz, interval, uuid, inet,
//     bytea's "\x..." text, enums, ranges, money, xml, ...) is its text as a
//     JSON string, escaped as escape_json does; bytes that are not UTF-8
//     become U+FFFD.
//
// Known differences from row_to_json: timestamps are converted from
// DateStyle ISO output (the server default; other DateStyles pass through
// as strings, and date is only row_to_json's form under ISO); an anonymous
// record column (row(...)) carries no names or types in its text, so its
// fields become "f1", "f2", ... as strings; a non-built-in type with a cast
// to json (hstore) is written as its text where row_to_json calls the cast.
func New(format string, w io.Writer, opts Options) (Encoder, error) {
	if w == nil {
		return nil, errors.New("encode: nil writer")
	}
	switch format {
	case "csv":
		return newCSV(w, opts)
	case "tsv":
		return newTSV(w, opts)
	case "jsonl":
		return newJSON(w, opts, false)
	case "json":
		return newJSON(w, opts, true)
	}
	return nil, optionErrorf("format", "unknown format %q (valid formats: %s)", format, strings.Join(formats, ", "))
}

// bufferSize is how many bytes of rows an encoder gathers before it hands
// them to its writer in one Write.
const bufferSize = 64 << 10

// maxRowBuffer is the largest buffer kept after a write: a larger one,
// grown for an exceptional row, is dropped after it.
const maxRowBuffer = 4 << 20

// output is the buffer of rows, the writer and the column count shared by
// all encoders. Rows (and the header) are appended to buf, which is also
// the output buffer: once it holds bufferSize bytes it goes to the writer
// in one Write. Appending to a slice is cheaper than a bufio call per
// value, and no row is copied a second time into a bufio.Writer.
type output struct {
	w     io.Writer
	buf   []byte // rows not yet written
	err   error  // the first write error: every later write returns it
	ncols int
	begun bool
}

func newOutput(w io.Writer) output {
	return output{w: w, buf: make([]byte, 0, bufferSize+1024)}
}

// begin checks the columns and records their number.
func (o *output) begin(fields []pgconn.FieldDescription) error {
	for _, f := range fields {
		if f.Format != pgtype.TextFormatCode {
			return fmt.Errorf("encode: column %q is in binary format; run the query with text result format (pgx.QueryResultFormats{pgx.TextFormatCode})", f.Name)
		}
	}
	o.ncols = len(fields)
	o.begun = true
	return nil
}

// checkRow reports a row that does not fit the columns given to Begin.
func (o *output) checkRow(values [][]byte) error {
	if !o.begun {
		return errors.New("encode: Row called before Begin")
	}
	if len(values) != o.ncols {
		return fmt.Errorf("encode: row has %d values, the result has %d columns", len(values), o.ncols)
	}
	return nil
}

// write keeps b, o.buf with one more row appended, and hands it to the
// writer once it holds bufferSize bytes. It returns the first write error
// (sticky, as a bufio.Writer's).
func (o *output) write(b []byte) error {
	if len(b) < bufferSize {
		o.buf = b
		return o.err
	}
	o.flush(b)
	return o.err
}

// flush writes b (o.buf and what was appended to it) unless a write has
// failed before, and starts o.buf anew, keeping its memory unless a huge
// row grew it.
func (o *output) flush(b []byte) {
	if o.err == nil && len(b) > 0 {
		o.err = writeAll(o.w, b)
	}
	if cap(b) > maxRowBuffer {
		o.buf = make([]byte, 0, bufferSize+1024)
	} else {
		o.buf = b[:0]
	}
}

// writeAll writes b to w; a short write without an error is
// io.ErrShortWrite, as bufio reports it.
func writeAll(w io.Writer, b []byte) error {
	n, err := w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	return err
}

// end writes what the buffer holds.
func (o *output) end() error {
	o.begun = false
	o.flush(o.buf)
	return o.err
}
