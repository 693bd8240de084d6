package columnar

import (
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/streamcat/streamcat/buffered"
)

// Write writes every row of from (a stream.Result, a buffered.Result or a
// view of one) as format to w, and returns the rows written. It reads the
// raw wire values (buffered.Raw), so nothing is decoded into Go values
// first; memory is bounded by Options.RowGroupRows and RowGroupBytes. On
// error the output holds the batches written before it; write to a
// temporary file and rename it for an all-or-nothing file. When Write
// stops before the end of from (a bad option, a result it cannot write, a
// value error, a failing w), it closes from, so that a stream lets its
// connection go at once; closing it again is harmless.
func Write(w io.Writer, format Format, from buffered.RowViewer, opts Options) (int64, error) {
	raw := buffered.Raw(from)
	wr, err := NewWriter(format, w, opts)
	if err != nil {
		raw.Close()
		return 0, err
	}
	if err := wr.Begin(Fields(from)); err != nil {
		raw.Close()
		return 0, err
	}
	for vals, err := range raw.Rows() {
		if err != nil {
			return wr.Flushed(), err
		}
		if err := wr.Row(vals); err != nil {
			raw.Close()
			return wr.Flushed(), err
		}
	}
	if err := wr.End(); err != nil {
		return wr.Flushed(), err
	}
	return wr.Flushed(), nil
}

// Fields describes a result's columns for Begin: names, type OIDs and
// modifiers, and the wire format each was sent in.
func Fields(from buffered.RowViewer) []pgconn.FieldDescription {
	cols := from.AsRowView().ColumnTypes()
	out := make([]pgconn.FieldDescription, len(cols))
	for i, c := range cols {
		out[i] = pgconn.FieldDescription{Name: c.Name, DataTypeOID: c.TypeOID, TypeModifier: c.TypeMod, Format: c.Format}
	}
	return out
}

// ResultFormats returns the result formats to run a query with (pass it as
// the first query argument, as pgx does with pgx.QueryResultFormats) so
// every column maps as exactly as it can: binary for the types read from
// their binary form (arrays and composites above all, which are read
// element by element only in binary), text for numeric (read from its
// exact text) and for types written as their text. types may be nil (then
// types that are not built in are asked as text and written as text).
func ResultFormats(fields []pgconn.FieldDescription, types *Types) pgx.QueryResultFormats {
	p := &planner{types: types}
	out := make(pgx.QueryResultFormats, len(fields))
	for i, f := range fields {
		out[i] = pgx.TextFormatCode
		if f.DataTypeOID == pgtype.NumericOID {
			continue
		}
		if _, err := p.plan(f.DataTypeOID, f.TypeModifier, binary, false); err == nil {
			out[i] = pgx.BinaryFormatCode
		}
	}
	return out
}
