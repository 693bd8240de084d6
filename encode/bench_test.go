package encode_test

import (
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamcat/streamcat/encode"
)

// benchFields and benchRow are a typical row: numbers, short text, text
// that needs quoting, a timestamp, a bool, an array, NULL, jsonb and a
// composite.
var (
	benchFields = func() []pgconn.FieldDescription {
		fs := fields(20, 25, 25, 1700, 1184, 16, 1009, 25, 3802, 90002)
		return fs
	}()
	benchRow = [][]byte{
		[]byte("1234567"),
		[]byte("Alice Smith"),
		[]byte(`He said "hi", then left` + "\n\tbye\\"),
		[]byte("12345.67"),
		[]byte("2024-01-02 03:04:05.123456+00"),
		[]byte("t"),
		[]byte(`{a,"b c",NULL,"q\"x"}`),
		nil,
		[]byte(`{"k": [1, 2, 3], "s": "x"}`),
		[]byte(`(42,"a b")`),
	}
	benchTypes = func() *encode.TypeInfo {
		ti := encode.NewTypeInfo()
		ti.AddComposite(90002, []encode.Attribute{{Name: "n", Type: 23}, {Name: "s", Type: 25}})
		return ti
	}()
)

func rowBytes(row [][]byte) (n int64) {
	for _, v := range row {
		n += int64(len(v))
	}
	return n
}

func benchmarkRow(b *testing.B, format string, opts encode.Options) {
	enc, err := encode.New(format, io.Discard, opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := enc.Begin(benchFields); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(rowBytes(benchRow))
	for b.Loop() {
		if err := enc.Row(benchRow); err != nil {
			b.Fatal(err)
		}
	}
	if err := enc.End(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkCSV_Row(b *testing.B)   { benchmarkRow(b, "csv", encode.Options{}) }
func BenchmarkTSV_Row(b *testing.B)   { benchmarkRow(b, "tsv", encode.Options{}) }
func BenchmarkJSONL_Row(b *testing.B) { benchmarkRow(b, "jsonl", encode.Options{Types: benchTypes}) }
func BenchmarkJSON_Row(b *testing.B)  { benchmarkRow(b, "json", encode.Options{Types: benchTypes}) }

// TestRowDoesNotAllocate: once buffers have grown, a row costs no
// allocation in any format.
func TestRowDoesNotAllocate(t *testing.T) {
	for _, f := range encode.Formats() {
		var opts encode.Options
		if f == "jsonl" || f == "json" {
			opts.Types = benchTypes
		}
		enc, err := encode.New(f, io.Discard, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.Begin(benchFields); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(1000, func() {
			if err := enc.Row(benchRow); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per row", f, allocs)
		}
	}
}

// longText is a row of plain text values of 1 KiB each: the throughput of
// the scanning loops.
var longText = func() [][]byte {
	v := []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 23))
	return [][]byte{v, v, v, v}
}()

func benchmarkLongText(b *testing.B, format string) {
	enc, err := encode.New(format, io.Discard, encode.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := enc.Begin(fields(25, 25, 25, 25)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(rowBytes(longText))
	for b.Loop() {
		if err := enc.Row(longText); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCSV_LongText(b *testing.B)   { benchmarkLongText(b, "csv") }
func BenchmarkTSV_LongText(b *testing.B)   { benchmarkLongText(b, "tsv") }
func BenchmarkJSONL_LongText(b *testing.B) { benchmarkLongText(b, "jsonl") }

// The rows of bench/clibench's tables, as the server sends them: wide
// (int8, text, numeric, timestamptz, bool, text[], jsonb, uuid) and
// narrow (two int4).
var (
	wideFields = fields(20, 25, 1700, 1184, 16, 1009, 3802, 2950)
	wideRow    = [][]byte{
		[]byte("1234567"), []byte("name-c4ca4238a0b923820dcc509a6f75849b"), []byte("79.19"),
		[]byte("2020-01-01 00:00:37+00"), []byte("t"), []byte("{red,green}"),
		[]byte(`{"n": 1, "even": false, "hash": "c4ca4238", "score": 0.10000000000000000000}`),
		[]byte("c4ca4238-a0b9-2382-0dcc-509a6f75849b"),
	}
	narrowFields = fields(23, 23)
	narrowRow    = [][]byte{[]byte("1234567"), []byte("2469134")}
)

func benchmarkTable(b *testing.B, format string, fs []pgconn.FieldDescription, row [][]byte) {
	enc, err := encode.New(format, io.Discard, encode.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := enc.Begin(fs); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(rowBytes(row))
	for b.Loop() {
		if err := enc.Row(row); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCSV_WideRow(b *testing.B)   { benchmarkTable(b, "csv", wideFields, wideRow) }
func BenchmarkCSV_NarrowRow(b *testing.B) { benchmarkTable(b, "csv", narrowFields, narrowRow) }
func BenchmarkTSV_WideRow(b *testing.B)   { benchmarkTable(b, "tsv", wideFields, wideRow) }
