package encode

import (
	"io"

	"github.com/jackc/pgx/v5/pgconn"
)

// jsonEncoder writes each row as a JSON object semantically equal to
// row_to_json of that row; see New for the conversions. With array set it
// writes the "json" form, one streamed array; otherwise "jsonl", one object
// per line. It holds one converter per column, chosen in Begin.
type jsonEncoder struct {
	output
	array bool
	types *TypeInfo
	keys  [][]byte // `"name":`, escaped
	convs []converter
	text  []bool // the column's converter is appendString: a big value goes in pieces
	rows  int
}

func newJSON(w io.Writer, opts Options, array bool) (*jsonEncoder, error) {
	format := "jsonl"
	if array {
		format = "json"
	}
	if err := jsonOptions(opts, format); err != nil {
		return nil, err
	}
	return &jsonEncoder{output: newOutput(w), array: array, types: opts.Types}, nil
}

// Begin chooses each column's conversion from its type and writes "[" for
// json.
func (e *jsonEncoder) Begin(fields []pgconn.FieldDescription) error {
	if err := e.begin(fields); err != nil {
		return err
	}
	e.keys = make([][]byte, len(fields))
	e.convs = make([]converter, len(fields))
	e.text = make([]bool, len(fields))
	for i, f := range fields {
		e.keys[i] = jsonKey(f.Name)
		e.convs[i] = e.types.converter(f.DataTypeOID, 0)
		e.text[i] = isStringConverter(e.convs[i])
	}
	e.rows = 0
	if !e.array {
		return nil
	}
	return e.write(append(e.buf, '['))
}

// Row writes one object.
func (e *jsonEncoder) Row(values [][]byte) error {
	if err := e.checkRow(values); err != nil {
		return err
	}
	b := e.buf
	if e.array {
		if e.rows > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n')
	}
	b = append(b, '{')
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.keys[i]...)
		if v == nil {
			b = append(b, "null"...)
			continue
		}
		if len(v) >= bigValue && e.text[i] {
			b = append(e.inPieces(append(b, '"'), v, appendJSONBody, runeCut), '"')
			continue
		}
		b = e.convs[i](b, v)
	}
	b = append(b, '}')
	if !e.array {
		b = append(b, '\n')
	}
	e.rows++
	return e.write(b)
}

// End writes "]" for json and flushes the output.
func (e *jsonEncoder) End() error {
	if e.array && e.begun {
		b := e.buf
		if e.rows > 0 {
			b = append(b, '\n')
		}
		if err := e.write(append(b, "]\n"...)); err != nil {
			return err
		}
	}
	return e.end()
}
