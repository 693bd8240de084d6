package encode

import "github.com/jackc/pgx/v5/pgconn"

// delimited is what csv and tsv share: lines of fields joined by a
// delimiter, NULL as the NULL string, an optional header line. field
// appends one non-NULL value in the format's quoting or escaping; it is set
// once at construction, so a row costs no allocation.
type delimited struct {
	output
	header bool
	delim  byte
	null   string
	field  func(b, v []byte) []byte
	// plain marks the columns whose values are copied as they are (see
	// plainColumns); set by Begin
	plain []bool
}

// Begin records the columns and writes the header line when asked to.
func (e *delimited) Begin(fields []pgconn.FieldDescription) error {
	if err := e.begin(fields); err != nil {
		return err
	}
	oids := make([]uint32, len(fields))
	for i, f := range fields {
		oids[i] = f.DataTypeOID
	}
	e.plain = plainColumns(e.plain, oids, e.delim)
	if !e.header {
		return nil
	}
	b := e.buf
	for i := range fields {
		if i > 0 {
			b = append(b, e.delim)
		}
		b = e.field(b, []byte(fields[i].Name))
	}
	return e.write(append(b, '\n'))
}

// Row writes one line.
func (e *delimited) Row(values [][]byte) error {
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
		case e.plain[i] && len(v) < bigValue:
			b = append(b, v...)
		default:
			b = e.field(b, v)
		}
	}
	return e.write(append(b, '\n'))
}

// End flushes the output.
func (e *delimited) End() error { return e.end() }
