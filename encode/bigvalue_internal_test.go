package encode

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// bigText is a value over bigValue whose special bytes (quotes,
// backslashes, line breaks, tabs, multi-byte and invalid UTF-8) fall on
// and around the piece boundaries.
func bigText() []byte {
	var b bytes.Buffer
	unit := "ab\"c\\d\ne\tf,ü☃😀\xff" // 20 bytes
	for b.Len() < 3*bigValue {
		b.WriteString(unit)
		b.WriteString(strings.Repeat("x", b.Len()%7))
	}
	return b.Bytes()
}

// TestBigValuesSameBytes: a value written in pieces gives the bytes the
// whole-value path gives.
func TestBigValuesSameBytes(t *testing.T) {
	v := bigText()
	csvPlain := bytes.Repeat([]byte("plain"), bigValue/4)
	cases := []struct {
		format string
		value  []byte
		want   func(e Encoder) []byte
	}{
		{"csv", v, func(e Encoder) []byte { return e.(*csvEncoder).appendField(nil, v) }},
		{"csv", csvPlain, func(Encoder) []byte { return csvPlain }},
		{"tsv", v, func(e Encoder) []byte { return e.(*tsvEncoder).appendEscaped(nil, v) }},
		{"jsonl", v, func(Encoder) []byte { return appendJSONString(nil, v) }},
	}
	for _, c := range cases {
		var out bytes.Buffer
		e, err := New(c.format, &out, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Begin([]pgconn.FieldDescription{{Name: "v", DataTypeOID: 25}, {Name: "n", DataTypeOID: 23}}); err != nil {
			t.Fatal(err)
		}
		if err := e.Row([][]byte{c.value, []byte("7")}); err != nil {
			t.Fatal(err)
		}
		if err := e.End(); err != nil {
			t.Fatal(err)
		}
		var whole []byte
		switch c.format {
		case "jsonl":
			whole = append(append([]byte(`{"v":`), c.want(e)...), `,"n":7}`+"\n"...)
		case "csv":
			// the csv path under test is appendField itself: compare with
			// quoting done by hand
			whole = append(csvWhole(c.value), ",7\n"...)
		default:
			whole = append(c.want(e), "\t7\n"...)
		}
		if !bytes.Equal(out.Bytes(), whole) {
			t.Errorf("%s (%d bytes): output differs from the whole-value encoding", c.format, len(c.value))
		}
	}
}

// csvWhole quotes v as COPY's csv does, the slow obvious way.
func csvWhole(v []byte) []byte {
	if !bytes.ContainsAny(v, ",\"\r\n") && len(v) > 0 {
		return v
	}
	return []byte(`"` + strings.ReplaceAll(string(v), `"`, `""`) + `"`)
}

// TestBigValueNotCopied: writing a big value allocates a small fraction of
// its size (the row buffer no longer grows to hold it).
func TestBigValueNotCopied(t *testing.T) {
	v := bytes.Repeat([]byte("abc\"d\\e\nf"), 8*bigValue/9)
	for _, format := range []string{"csv", "tsv", "jsonl", "json"} {
		e, err := New(format, discard{}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Begin([]pgconn.FieldDescription{{Name: "v", DataTypeOID: 25}}); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := e.Row([][]byte{v}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(len(v)/8) {
			t.Errorf("%s: a %d-byte value allocated %d bytes", format, len(v), alloc)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
