package encode_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamcat/streamcat/encode"
)

// fields returns text-format columns of the given type OIDs.
func fields(oids ...uint32) []pgconn.FieldDescription {
	fs := make([]pgconn.FieldDescription, len(oids))
	for i, oid := range oids {
		fs[i] = pgconn.FieldDescription{Name: "c" + string(rune('0'+i)), DataTypeOID: oid}
	}
	return fs
}

// encodeRows encodes rows with a new encoder; it fails the test on error.
func encodeRows(t testing.TB, format string, opts encode.Options, fs []pgconn.FieldDescription, rows ...[][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc, err := encode.New(format, &buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Begin(fs); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := enc.Row(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.End(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// parseCSV reads COPY FROM csv: quoted fields with "" for a quote; an
// unquoted field equal to null is NULL (returned as nil).
func parseCSV(t *testing.T, data []byte, delim byte, null string) [][]byte {
	t.Helper()
	var out [][]byte
	i := 0
	for {
		if i < len(data) && data[i] == '"' {
			field := []byte{}
			i++
			for {
				if i >= len(data) {
					t.Fatalf("unterminated quote in %q", data)
				}
				if data[i] == '"' {
					if i+1 < len(data) && data[i+1] == '"' {
						field = append(field, '"')
						i += 2
						continue
					}
					i++
					break
				}
				field = append(field, data[i])
				i++
			}
			out = append(out, field)
		} else {
			j := i
			for j < len(data) && data[j] != delim && data[j] != '\n' {
				if data[j] == '"' || data[j] == '\r' {
					t.Fatalf("unquoted field with %q in %q", data[j], data)
				}
				j++
			}
			if string(data[i:j]) == null {
				out = append(out, nil)
			} else {
				out = append(out, append([]byte{}, data[i:j]...))
			}
			i = j
		}
		if i >= len(data) {
			t.Fatalf("no line end in %q", data)
		}
		if data[i] == '\n' {
			if i != len(data)-1 {
				t.Fatalf("more than one line in %q", data)
			}
			return out
		}
		if data[i] != delim {
			t.Fatalf("byte %q after a field in %q", data[i], data)
		}
		i++
	}
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{"", "plain", "a,b", `say "hi"`, "x\ny", "cr\r", `\.`, "NULL", `\N`, " ", "é🐘", "\"", "\x00"} {
		f.Add(s, byte(0), "", false)
		f.Add(s, byte('|'), "NULL", false)
	}
	f.Add("", byte(';'), "", true)
	f.Add("x", byte('\t'), "x", true)
	f.Fuzz(func(t *testing.T, value string, delim byte, null string, nullSet bool) {
		opts := encode.Options{Delimiter: delim, Null: null, NullSet: nullSet}
		if _, err := encode.New("csv", &bytes.Buffer{}, opts); err != nil {
			return // options COPY would refuse too
		}
		if delim == 0 {
			delim = ','
		}
		v := []byte(value)
		got := parseCSV(t, encodeRows(t, "csv", opts, fields(25, 25, 25), [][]byte{v, nil, v}), delim, null)
		if len(got) != 3 || got[1] != nil || got[0] == nil || !bytes.Equal(got[0], v) || !bytes.Equal(got[2], v) {
			t.Fatalf("round trip of %q (delim %q, null %q): %q", value, delim, null, got)
		}
		single := encodeRows(t, "csv", opts, fields(25), [][]byte{v})
		if string(single) == "\\.\n" {
			t.Fatalf("a lone %q is COPY's end marker", single)
		}
		got = parseCSV(t, single, delim, null)
		if len(got) != 1 || got[0] == nil || !bytes.Equal(got[0], v) {
			t.Fatalf("single-column round trip of %q: %q", value, got)
		}
	})
}

// parseTSV reads COPY FROM text: fields split at unescaped delimiters, a
// field equal to null before unescaping is NULL, backslash escapes undone.
func parseTSV(t *testing.T, data []byte, delim byte, null string) [][]byte {
	t.Helper()
	if len(data) == 0 || data[len(data)-1] != '\n' || bytes.IndexAny(data[:len(data)-1], "\n\r") >= 0 {
		t.Fatalf("not one line: %q", data)
	}
	line := data[:len(data)-1]
	var out [][]byte
	start := 0
	for i := 0; i <= len(line); i++ {
		if i < len(line) && line[i] == '\\' {
			i++
			continue
		}
		if i < len(line) && line[i] != delim {
			continue
		}
		raw := line[start:min(i, len(line))]
		start = i + 1
		if string(raw) == null {
			out = append(out, nil)
			continue
		}
		field := []byte{}
		for j := 0; j < len(raw); j++ {
			c := raw[j]
			if c == '\\' && j+1 < len(raw) {
				j++
				c = raw[j]
				switch c {
				case 'b':
					c = '\b'
				case 'f':
					c = '\f'
				case 'n':
					c = '\n'
				case 'r':
					c = '\r'
				case 't':
					c = '\t'
				case 'v':
					c = '\v'
				}
			}
			field = append(field, c)
		}
		out = append(out, field)
	}
	return out
}

func FuzzTSV(f *testing.F) {
	for _, s := range []string{"", "plain", "a\tb", "x\ny", "cr\r\n", `back\slash`, `\N`, `\.`, "\b\f\v", "|", "é🐘", "\x01"} {
		f.Add(s, byte(0))
		f.Add(s, byte('|'))
	}
	f.Add("a\x01b", byte(1))
	f.Fuzz(func(t *testing.T, value string, delim byte) {
		opts := encode.Options{Delimiter: delim}
		if _, err := encode.New("tsv", &bytes.Buffer{}, opts); err != nil {
			return
		}
		if delim == 0 {
			delim = '\t'
		}
		v := []byte(value)
		got := parseTSV(t, encodeRows(t, "tsv", opts, fields(25, 25, 25), [][]byte{v, nil, v}), delim, `\N`)
		if len(got) != 3 || got[1] != nil || got[0] == nil || !bytes.Equal(got[0], v) || !bytes.Equal(got[2], v) {
			t.Fatalf("round trip of %q (delim %q): %q", value, delim, got)
		}
	})
}

// validUTF8 replaces each byte that is not part of valid UTF-8 with U+FFFD,
// as the JSON encoders do.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// formatArray is array_out for a one-dimensional text array (nil is NULL).
func formatArray(elems []*string) []byte {
	var b []byte
	b = append(b, '{')
	for i, e := range elems {
		if i > 0 {
			b = append(b, ',')
		}
		if e == nil {
			b = append(b, "NULL"...)
			continue
		}
		if *e == "" || strings.EqualFold(*e, "NULL") || strings.ContainsAny(*e, "{}\",\\ \t\n\r\v\f") {
			b = append(b, '"')
			for _, c := range []byte(*e) {
				if c == '"' || c == '\\' {
					b = append(b, '\\')
				}
				b = append(b, c)
			}
			b = append(b, '"')
			continue
		}
		b = append(b, *e...)
	}
	return append(b, '}')
}

// formatRecord is record_out for a row of text fields (nil is NULL).
func formatRecord(fs []*string) []byte {
	var b []byte
	b = append(b, '(')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		if f == nil {
			continue
		}
		if *f == "" || strings.ContainsAny(*f, "\"\\(), \t\n\r\v\f") {
			b = append(b, '"')
			for _, c := range []byte(*f) {
				if c == '"' || c == '\\' {
					b = append(b, c)
				}
				b = append(b, c)
			}
			b = append(b, '"')
			continue
		}
		b = append(b, *f...)
	}
	return append(b, ')')
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "nl\n\r\t", "\x00\x01\x1f\x7f", "é🐘", "\xff\xfe", "NULL", "{", "(x)", "a,b", " "} {
		f.Add(s, "x")
	}
	const oidPair = 90001
	types := encode.NewTypeInfo()
	types.AddComposite(oidPair, []encode.Attribute{{Name: "a", Type: 25}, {Name: "b", Type: 25}})
	f.Fuzz(func(t *testing.T, a, b string) {
		// A text value, a text[] and a composite built from the two strings.
		arr := formatArray([]*string{&a, nil, &b, &a})
		rec := formatRecord([]*string{&a, &b})
		recNull := formatRecord([]*string{nil, &b})
		out := encodeRows(t, "json", encode.Options{Types: types}, fields(25, 1009, oidPair, oidPair),
			[][]byte{[]byte(a), arr, rec, recNull})
		if !json.Valid(out) {
			t.Fatalf("invalid JSON for %q, %q: %s", a, b, out)
		}
		var got []struct {
			C0 string    `json:"c0"`
			C1 []*string `json:"c1"`
			C2 struct{ A, B *string }
			C3 struct{ A, B *string }
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		va, vb := validUTF8(a), validUTF8(b)
		if len(got) != 1 || got[0].C0 != va {
			t.Fatalf("text %q: %s", a, out)
		}
		c1 := got[0].C1
		if len(c1) != 4 || c1[0] == nil || *c1[0] != va || c1[1] != nil || c1[2] == nil || *c1[2] != vb || c1[3] == nil || *c1[3] != va {
			t.Fatalf("array %q: %s", arr, out)
		}
		if r := got[0].C2; r.A == nil || *r.A != va || r.B == nil || *r.B != vb {
			t.Fatalf("record %q: %s", rec, out)
		}
		if r := got[0].C3; r.A != nil || r.B == nil || *r.B != vb {
			t.Fatalf("record %q: %s", recNull, out)
		}

		// Any text in a structured or numeric column still gives valid JSON.
		oids := []uint32{1007, 1009, 1231, 1185, oidPair, 2249, 1700, 1184, 1114, 16, 22}
		row := make([][]byte, len(oids))
		for _, v := range []string{a, b} {
			for i := range row {
				row[i] = []byte(v)
			}
			out := encodeRows(t, "jsonl", encode.Options{Types: types}, fields(oids...), row)
			if !json.Valid(out) || bytes.Count(out, []byte("\n")) != 1 {
				t.Fatalf("text %q: invalid JSON Lines %q", v, out)
			}
		}
	})
}
