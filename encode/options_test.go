package encode_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/encode"
)

func TestNewUnknownFormat(t *testing.T) {
	_, err := encode.New("xml", &bytes.Buffer{}, encode.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"xml"`)
	for _, f := range encode.Formats() {
		assert.Contains(t, err.Error(), f)
	}
	assert.Equal(t, []string{"csv", "tsv", "jsonl", "json"}, encode.Formats())
	for _, f := range encode.Formats() {
		_, err := encode.New(f, &bytes.Buffer{}, encode.Options{})
		assert.NoError(t, err, f)
	}
	_, err = encode.New("csv", nil, encode.Options{})
	assert.Error(t, err)
}

func TestOptionsValidation(t *testing.T) {
	cases := []struct {
		format string
		opts   encode.Options
		want   string // part of the error
	}{
		{"csv", encode.Options{Delimiter: '"'}, "quote"},
		{"csv", encode.Options{Delimiter: '\n'}, "newline"},
		{"csv", encode.Options{Delimiter: '\r'}, "carriage return"},
		{"csv", encode.Options{Delimiter: 0xe9}, "one-byte"},
		{"csv", encode.Options{Null: "a\nb"}, "null representation cannot use newline"},
		{"csv", encode.Options{Null: "a,b"}, "must not appear in the null"},
		{"csv", encode.Options{Null: `"`}, "quote character"},
		{"csv", encode.Options{Delimiter: '|', Null: "x|"}, "must not appear in the null"},
		{"csv", encode.Options{Null: "\x00"}, "zero byte"},
		{"tsv", encode.Options{Delimiter: '\\'}, "backslash"},
		{"tsv", encode.Options{Delimiter: '.'}, `"."`},
		{"tsv", encode.Options{Delimiter: 'a'}, `"a"`},
		{"tsv", encode.Options{Delimiter: '7'}, `"7"`},
		{"tsv", encode.Options{Delimiter: '\n'}, "newline"},
		{"tsv", encode.Options{Null: "\r"}, "carriage return"},
		{"tsv", encode.Options{Null: "a\tb"}, "must not appear in the null"},
		{"jsonl", encode.Options{Header: true}, "Header"},
		{"json", encode.Options{NullSet: true}, "Null"},
		{"jsonl", encode.Options{Null: "x"}, "Null"},
		{"json", encode.Options{Delimiter: ','}, "Delimiter"},
	}
	for _, c := range cases {
		_, err := encode.New(c.format, &bytes.Buffer{}, c.opts)
		if assert.Error(t, err, "%s %+v", c.format, c.opts) {
			assert.Contains(t, err.Error(), c.want, "%s %+v", c.format, c.opts)
		}
	}
	// What COPY accepts, the encoders accept.
	for _, c := range []struct {
		format string
		opts   encode.Options
	}{
		{"csv", encode.Options{Delimiter: '\\'}},
		{"csv", encode.Options{Delimiter: 'a', Null: "NULL"}},
		{"csv", encode.Options{Null: `\N`, Header: true}},
		{"tsv", encode.Options{Delimiter: ','}},
		{"tsv", encode.Options{Delimiter: 'X', Null: "", NullSet: true}},
		{"tsv", encode.Options{Null: `\N`}},
	} {
		_, err := encode.New(c.format, &bytes.Buffer{}, c.opts)
		assert.NoError(t, err, "%s %+v", c.format, c.opts)
	}
}

func TestNullOption(t *testing.T) {
	row := [][]byte{nil, {}}
	assert.Equal(t, ",\"\"\n", string(encodeRows(t, "csv", encode.Options{}, fields(25, 25), row)))
	assert.Equal(t, "\\N\t\n", string(encodeRows(t, "tsv", encode.Options{}, fields(25, 25), row)))
	// NullSet: an explicitly empty NULL string is honoured.
	assert.Equal(t, "\t\n", string(encodeRows(t, "tsv", encode.Options{NullSet: true}, fields(25, 25), row)))
	assert.Equal(t, "N,\n", string(encodeRows(t, "csv", encode.Options{Null: "N"}, fields(25, 25), row)))
}

func TestRowErrors(t *testing.T) {
	for _, f := range encode.Formats() {
		enc, err := encode.New(f, &bytes.Buffer{}, encode.Options{})
		require.NoError(t, err)
		assert.Error(t, enc.Row([][]byte{[]byte("x")}), "%s: Row before Begin", f)
		require.NoError(t, enc.Begin(fields(25, 25)))
		err = enc.Row([][]byte{[]byte("x")})
		if assert.Error(t, err, f) {
			assert.Contains(t, err.Error(), "1 values")
		}
		bin := fields(23)
		bin[0].Format = 1
		err = enc.Begin(bin)
		if assert.Error(t, err, f) {
			assert.Contains(t, err.Error(), "binary")
		}
	}
}

// failWriter fails every write.
type failWriter struct{}

var errWrite = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWriteErrorsReported(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 100<<10) // more than the buffer
	for _, f := range encode.Formats() {
		enc, err := encode.New(f, failWriter{}, encode.Options{})
		require.NoError(t, err)
		require.NoError(t, enc.Begin([]pgconn.FieldDescription{{Name: "v", DataTypeOID: 25}}))
		assert.ErrorIs(t, enc.Row([][]byte{big}), errWrite, f)
		assert.ErrorIs(t, enc.End(), errWrite, f)
	}
}

// TestSeveralResults: after End, Begin starts a new result on the same
// output.
func TestSeveralResults(t *testing.T) {
	var buf bytes.Buffer
	enc, err := encode.New("json", &buf, encode.Options{})
	require.NoError(t, err)
	for i := 0; i < 2; i++ {
		require.NoError(t, enc.Begin(fields(23)))
		require.NoError(t, enc.Row([][]byte{[]byte("1")}))
		require.NoError(t, enc.End())
	}
	assert.Equal(t, "[\n{\"c0\":1}\n]\n[\n{\"c0\":1}\n]\n", buf.String())
}
