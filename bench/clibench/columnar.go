package main

import (
	"fmt"
	"os"
	"slices"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/parquet-go/parquet-go"
)

// Tool names of the columnar formats (-columnar).
const (
	catParquet = "streamcat parquet"
	catArrow   = "streamcat arrow"
)

// columnarTools are streamcat writing Parquet and an Arrow IPC stream, with
// their default options (zstd row groups; an uncompressed stream).
func columnarTools(cat func(format string, extra ...string) func(string) []string) []tool {
	return []tool{
		{name: catParquet, kind: "cat-parquet", argv: cat("parquet"), isCat: true},
		{name: catArrow, kind: "cat-arrow", argv: cat("arrow"), isCat: true},
	}
}

// columnarRows counts the rows of a Parquet file (from its footer) or an
// Arrow stream (reading every batch), which also checks that a reader
// accepts them.
func columnarRows(path, kind string) (int64, error) {
	fh, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	if kind == "cat-parquet" {
		fi, err := fh.Stat()
		if err != nil {
			return 0, err
		}
		f, err := parquet.OpenFile(fh, fi.Size())
		if err != nil {
			return 0, fmt.Errorf("read parquet: %w", err)
		}
		return f.NumRows(), nil
	}
	r, err := ipc.NewReader(fh)
	if err != nil {
		return 0, fmt.Errorf("read arrow: %w", err)
	}
	defer r.Release()
	var n int64
	for r.Next() {
		n += r.RecordBatch().NumRows()
	}
	return n, r.Err()
}

// columnarTargets prints the targets for the columnar formats:
// wall against psql COPY csv in the same runs, peak RSS, file size.
func columnarTargets(table string, ms map[string][]measurement, ratioOf func(name, base string) []float64) {
	if _, ok := ms[catParquet]; !ok || table == "huge" {
		return
	}
	target(table+": streamcat parquet wall <= 1.5x psql COPY csv", medianF(ratioOf(catParquet, copyCSV)), 1.5, "x")
	target(table+": streamcat arrow wall <= 1.2x psql COPY csv", medianF(ratioOf(catArrow, copyCSV)), 1.2, "x")
	for _, name := range []string{catParquet, catArrow} {
		peak := slices.MaxFunc(ms[name], func(a, b measurement) int { return int(a.maxRSSKiB - b.maxRSSKiB) })
		target(fmt.Sprintf("%s: %s peak RSS <= 64 MB", table, name), float64(peak.maxRSSKiB)*1024/1e6, 64, " MB")
		fmt.Printf("- %s: (no target) %s output %.0f MB = %.2fx the CSV's %.0f MB\n", table, name,
			float64(ms[name][0].bytes)/1e6, float64(ms[name][0].bytes)/float64(ms[copyCSV][0].bytes), float64(ms[copyCSV][0].bytes)/1e6)
	}
}
