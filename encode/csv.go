package encode

import (
	"bytes"
	"io"

	"github.com/jackc/pgx/v5/pgconn"
)

// csvEncoder writes what COPY ... TO STDOUT WITH (FORMAT csv) writes
// (PostgreSQL's CopyAttributeOutCSV, with QUOTE and ESCAPE both '"'):
//
//   - NULL is the NULL string, unquoted;
//   - a value is quoted when it contains the delimiter, '"', CR or LF, when
//     it equals the NULL string (so with the default NULL "" an empty string
//     is `""`), or when the result has a single column and the value is
//     exactly `\.` (COPY's end-of-data marker);
//   - inside quotes '"' is doubled;
//   - header names follow the same rules; every line ends with "\n".
type csvEncoder struct {
	delimited
	single bool // one column: `\.` must be quoted
	// special marks the bytes that force quoting: delimiter, '"', CR, LF.
	special [256]bool
}

func newCSV(w io.Writer, opts Options) (*csvEncoder, error) {
	delim, null, err := delimitedOptions(opts, true)
	if err != nil {
		return nil, err
	}
	e := &csvEncoder{delimited: delimited{output: newOutput(w), header: opts.Header, delim: delim, null: null}}
	e.field = e.appendField
	for _, c := range []byte{delim, '"', '\r', '\n'} {
		e.special[c] = true
	}
	return e, nil
}

// Row writes one line: delimited.Row with csv's quoting decided inline.
// Most values need no quotes and are appended as they are; a value of a
// plain column (see plainColumns) is not even scanned, only compared with
// the NULL string, which COPY quotes. (Its own loop rather than
// delimited.Row's call through e.field per value: BenchmarkCSV_WideRow
// took 190-234 ns per row this way, 211-358 through delimited.Row, in
// alternating runs on a busy machine.)
func (e *csvEncoder) Row(values [][]byte) error {
	if err := e.checkRow(values); err != nil {
		return err
	}
	b := e.buf
	for i, v := range values {
		if i > 0 {
			b = append(b, e.delim)
		}
		switch {
		case v == nil:
			b = append(b, e.null...)
		case len(v) >= bigValue:
			b = e.appendField(b, v)
		case e.plain[i] && string(v) != e.null, !e.needsQuotes(v):
			b = append(b, v...)
		default:
			b = append(doubleQuotes(append(b, '"'), v), '"')
		}
	}
	return e.write(append(b, '\n'))
}

// Begin notes whether `\.` needs quoting, then writes the header line when
// asked to.
func (e *csvEncoder) Begin(fields []pgconn.FieldDescription) error {
	e.single = len(fields) == 1
	return e.delimited.Begin(fields)
}

// appendField appends one non-NULL value, quoted when COPY would quote it.
func (e *csvEncoder) appendField(b, v []byte) []byte {
	quote := e.needsQuotes(v)
	switch {
	case len(v) >= bigValue && !quote:
		return e.writeRaw(b, v)
	case len(v) >= bigValue:
		return append(e.inPieces(append(b, '"'), v, doubleQuotes, anyCut), '"')
	case !quote:
		return append(b, v...)
	}
	return append(doubleQuotes(append(b, '"'), v), '"')
}

// doubleQuotes appends v with every '"' doubled.
func doubleQuotes(b, v []byte) []byte {
	for {
		i := bytes.IndexByte(v, '"')
		if i < 0 {
			break
		}
		b = append(b, v[:i+1]...)
		b = append(b, '"')
		v = v[i+1:]
	}
	return append(b, v...)
}

// needsQuotes reports whether COPY would quote v. Words of 8 bytes are
// tested at once for the delimiter, '"', CR and LF.
func (e *csvEncoder) needsQuotes(v []byte) bool {
	if string(v) == e.null || (e.single && string(v) == `\.`) {
		return true
	}
	delim, quote, cr, lf := splat(e.delim), splat('"'), splat('\r'), splat('\n')
	i := 0
	for ; i+8 <= len(v); i += 8 {
		x := load8(v, i)
		if hasByte(x, delim) || hasByte(x, quote) || hasByte(x, cr) || hasByte(x, lf) {
			return true
		}
	}
	special := &e.special
	for _, c := range v[i:] {
		if special[c] {
			return true
		}
	}
	return false
}
