package bench

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/internal/testsupport"
)

// dataset is a table the benchmarks read whole. Its rows are derived from
// generate_series, so every run (and every server) holds the same values.
type dataset struct {
	name        string // the table's name in the benchmarks
	envVar      string // the row count's environment variable
	defaultRows int
	gen         string // testsupport.NarrowSQL or WideSQL
	columns     string // the column list every path reads
	types       []string
	rows        int // set by TestMain
}

var (
	narrow = &dataset{
		name:        "narrow",
		envVar:      "BENCH_NARROW_ROWS",
		defaultRows: 1_000_000,
		gen:         testsupport.NarrowSQL,
		columns:     "a, b",
		types:       []string{"int4", "int4"},
	}
	wide = &dataset{
		name:        "wide",
		envVar:      "BENCH_WIDE_ROWS",
		defaultRows: 200_000,
		gen:         testsupport.WideSQL,
		columns:     "id, name, amount, created_at, active, tags, attrs, ref",
		types:       []string{"int8", "text", "numeric", "timestamptz", "bool", "_text", "jsonb", "uuid"},
	}
	datasets = []*dataset{narrow, wide}
)

// byStruct picks a suite's paths by dataset, for suites that read each
// dataset into its own struct type (narrowRow, wideRow) and so must build
// the paths per type.
func byStruct(narrowPaths, widePaths []path) func(*dataset) []path {
	return func(ds *dataset) []path {
		switch ds {
		case narrow:
			return narrowPaths
		case wide:
			return widePaths
		}
		panic("no struct for dataset " + ds.name)
	}
}

// query is the statement every path of a benchmark runs on table.
func (ds *dataset) query(table string) string {
	return "select " + ds.columns + " from " + table
}

// create (re)makes table with n rows: an unlogged table filled by CREATE
// TABLE AS, then VACUUM ANALYZE, which also sets the hint bits and the
// visibility map so the first benchmark does not pay for writing them.
func (ds *dataset) create(ctx context.Context, pool *pgxpool.Pool, table string, n int) error {
	for _, sql := range []string{
		"drop table if exists " + table,
		"create unlogged table " + table + " as " + testsupport.Generate(ds.gen, n),
		"vacuum (analyze) " + table,
		"select count(*) from " + table, // into shared buffers
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			return err
		}
	}
	return nil
}

// narrowRow is a row of narrow.
type narrowRow struct {
	A int32 `db:"a"`
	B int32 `db:"b"`
}

// wideRow is a row of wide, in the Go types one would pick for it: exact
// numeric (pgtype.Numeric, not float64), a pointer for the nullable text.
type wideRow struct {
	ID        int64          `db:"id"`
	Name      *string        `db:"name"`
	Amount    pgtype.Numeric `db:"amount"`
	CreatedAt time.Time      `db:"created_at"`
	Active    bool           `db:"active"`
	Tags      []string       `db:"tags"`
	Attrs     map[string]any `db:"attrs"`
	Ref       [16]byte       `db:"ref"`
}
