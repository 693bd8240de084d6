package bench

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/session"
	"github.com/streamcat/streamcat/stream"
)

// The stream suites read every row of a table once and keep none of them:
// each path folds the rows into a digest (returned as what it "holds", so a
// test can check that the paths agree) and the row count.

// BenchmarkStream_vs_RawScan: session.Stream + buffered.Structs[T](st).Rows()
// against a hand-written rows.Next()/rows.Scan loop into the same struct.
// Target: wall <= 1.05x; wide >= 1.1 M rows/s.
func BenchmarkStream_vs_RawScan(b *testing.B) {
	compareStream(b, datasets, allColumns, byStruct(streamStructPaths(narrowKey, scanNarrowOne), streamStructPaths(wideKey, scanWideOne)))
}

// BenchmarkStreamScalarsOf_vs_RawScan: buffered.ScalarsOf[int32](st).Rows()
// against rows.Scan(&a), on `select a from narrow`. Target: wall <= 1.05x.
func BenchmarkStreamScalarsOf_vs_RawScan(b *testing.B) {
	compareStream(b, []*dataset{narrow}, firstColumn, func(*dataset) []path { return scalarPaths })
}

// BenchmarkStreamValues_vs_RawValues: generic rows, st.Rows() + row.Values()
// against a pgx rows.Values() loop.
func BenchmarkStreamValues_vs_RawValues(b *testing.B) {
	compareStream(b, datasets, allColumns, func(*dataset) []path { return valuesPaths })
}

// BenchmarkStreamRaw_vs_RawValues: buffered.Raw(st).Rows() against a pgx
// rows.RawValues() loop: raw wire bytes, nothing decoded.
func BenchmarkStreamRaw_vs_RawValues(b *testing.B) {
	compareStream(b, datasets, allColumns, func(*dataset) []path { return rawPaths })
}

func allColumns(ds *dataset, table string) string { return ds.query(table) }

func firstColumn(ds *dataset, table string) string {
	return "select " + splitColumns(ds.columns)[0] + " from " + table
}

// compareStream is compare for paths that keep nothing: per dataset, one
// sub-benchmark per path (rows/s, cpu-ns/row; no B/row-held, nothing is
// held), then the paired rounds, whose ratios are to the last path.
func compareStream(b *testing.B, sets []*dataset, sql func(*dataset, string) string, paths func(*dataset) []path) {
	if benchPool == nil {
		b.Skip("no benchmark cluster (TestMain starts one only with -bench)")
	}
	for _, ds := range sets {
		b.Run(ds.name, func(b *testing.B) {
			q := sql(ds, ds.name)
			for _, p := range paths(ds) {
				b.Run(p.name, func(b *testing.B) { measureSQL(b, q, ds.rows, p) })
			}
			b.Run("paired", func(b *testing.B) {
				b.ReportAllocs()
				pairedSQL(b, q, ds.rows, paths(ds))
			})
		})
	}
}

// openStream runs sql as a stream on a new session of pool. Close the
// session (after the stream) when done.
func openStream(ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) (*session.Session, *stream.Result, error) {
	s := session.NewMaker(pool).New()
	st, err := s.Stream(ctx, sql, args...)
	if err != nil {
		_ = s.Close(ctx)
		return nil, nil, err
	}
	return s, st, nil
}

// digest folds rows into a checksum that does not depend on how they were read.
type digest struct {
	n   int
	sum int64
}

func (d *digest) add(k int64) { d.n++; d.sum = d.sum*31 + k }

// narrowKey and wideKey are what a path folds into its digest per row.
func narrowKey(r *narrowRow) int64 { return int64(r.A)<<32 | int64(r.B) }

func wideKey(r *wideRow) int64 {
	k := r.ID ^ int64(len(r.Tags))<<40 ^ int64(len(r.Attrs))<<48 ^ int64(r.Ref[0])<<56
	if r.Name != nil {
		k ^= int64(len(*r.Name)) << 20
	}
	if r.Active {
		k ^= 1 << 62
	}
	if r.Amount.Int != nil {
		k ^= r.Amount.Int.Int64()
	}
	return k ^ r.CreatedAt.Unix()<<8
}

// scanNarrowOne and scanWideOne are the hand-written Scan calls.
func scanNarrowOne(rows pgx.Rows, r *narrowRow) error { return rows.Scan(&r.A, &r.B) }

func scanWideOne(rows pgx.Rows, r *wideRow) error {
	return rows.Scan(&r.ID, &r.Name, &r.Amount, &r.CreatedAt, &r.Active, &r.Tags, &r.Attrs, &r.Ref)
}

func streamStructPaths[T any](key func(*T) int64, scan func(pgx.Rows, *T) error) []path {
	return []path{
		structStreamPath("stream.Structs.Rows", key),
		{"pgx.Rows.Scan_loop", func(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
			rows, err := pool.Query(ctx, sql)
			if err != nil {
				return nil, 0, err
			}
			defer rows.Close()
			var d digest
			for rows.Next() {
				var r T
				if err := scan(rows, &r); err != nil {
					return nil, d.n, err
				}
				d.add(key(&r))
			}
			return d, d.n, rows.Err()
		}},
	}
}

// structStreamPath reads a stream (opened with args: stream options) through
// buffered.Structs[T](st).Rows().
func structStreamPath[T any](name string, key func(*T) int64, args ...any) path {
	return path{name, func(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
		s, st, err := openStream(ctx, pool, sql, args...)
		if err != nil {
			return nil, 0, err
		}
		defer s.Close(ctx)
		defer st.Close()
		var d digest
		for r, err := range buffered.Structs[T](st).Rows() {
			if err != nil {
				return nil, d.n, err
			}
			d.add(key(&r))
		}
		return d, d.n, nil
	}}
}

var scalarPaths = []path{
	{"stream.ScalarsOf.Rows", func(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
		s, st, err := openStream(ctx, pool, sql)
		if err != nil {
			return nil, 0, err
		}
		defer s.Close(ctx)
		defer st.Close()
		var d digest
		for a, err := range buffered.ScalarsOf[int32](st).Rows() {
			if err != nil {
				return nil, d.n, err
			}
			d.add(int64(a))
		}
		return d, d.n, nil
	}},
	{"pgx.Rows.Scan_loop", func(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
		rows, err := pool.Query(ctx, sql)
		if err != nil {
			return nil, 0, err
		}
		defer rows.Close()
		var d digest
		for rows.Next() {
			var a int32
			if err := rows.Scan(&a); err != nil {
				return nil, d.n, err
			}
			d.add(int64(a))
		}
		return d, d.n, rows.Err()
	}},
}

// valuesDigest folds a row of generic values: which are NULL, and how many.
func valuesDigest(d *digest, vals []any) {
	k := int64(len(vals))
	for i, v := range vals {
		if v == nil {
			k ^= 1 << (8 + i)
		}
	}
	d.add(k)
}

var valuesPaths = []path{
	{"stream.Rows+Values", func(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
		s, st, err := openStream(ctx, pool, sql)
		if err != nil {
			return nil, 0, err
		}
		defer s.Close(ctx)
		defer st.Close()
		var d digest
		for r, err := range st.Rows() {
			if err != nil {
				return nil, d.n, err
			}
			valuesDigest(&d, r.Values())
		}
		return d, d.n, nil
	}},
	{"pgx.Rows.Values_loop", func(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
		rows, err := pool.Query(ctx, sql)
		if err != nil {
			return nil, 0, err
		}
		defer rows.Close()
		var d digest
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				return nil, d.n, err
			}
			valuesDigest(&d, vals)
		}
		return d, d.n, rows.Err()
	}},
}

// rawDigest folds a row of raw values: their lengths and NULLs.
func rawDigest(d *digest, vals [][]byte) {
	k := int64(0)
	for i, v := range vals {
		if v == nil {
			k ^= 1 << (40 + i)
		}
		k += int64(len(v))
	}
	d.add(k)
}

var rawPaths = []path{
	{"stream.buffered.Raw.Rows", func(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
		s, st, err := openStream(ctx, pool, sql)
		if err != nil {
			return nil, 0, err
		}
		defer s.Close(ctx)
		defer st.Close()
		var d digest
		for vals, err := range buffered.Raw(st).Rows() {
			if err != nil {
				return nil, d.n, err
			}
			rawDigest(&d, vals)
		}
		return d, d.n, nil
	}},
	{"pgx.Rows.RawValues_loop", func(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
		rows, err := pool.Query(ctx, sql)
		if err != nil {
			return nil, 0, err
		}
		defer rows.Close()
		var d digest
		for rows.Next() {
			rawDigest(&d, rows.RawValues())
		}
		return d, d.n, rows.Err()
	}},
}

// TestStreamPaths_Agree checks that the paths each stream suite compares
// read the same rows: same count, same digest.
func TestStreamPaths_Agree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	ctx := context.Background()
	pool := testPool(t)
	for _, ds := range datasets {
		table := shapeTable(t, pool, ds)
		suites := map[string][]path{"values": valuesPaths, "raw": rawPaths}
		switch ds {
		case narrow:
			suites["structs"] = streamStructPaths(narrowKey, scanNarrowOne)
		case wide:
			suites["structs"] = streamStructPaths(wideKey, scanWideOne)
		}
		for name, paths := range suites {
			t.Run(ds.name+"/"+name, func(t *testing.T) { agree(t, ctx, pool, allColumns(ds, table), paths) })
		}
		if ds == narrow {
			t.Run("narrow/scalars", func(t *testing.T) { agree(t, ctx, pool, firstColumn(ds, table), scalarPaths) })
		}
	}
}

func agree(t *testing.T, ctx context.Context, pool *pgxpool.Pool, sql string, paths []path) {
	t.Helper()
	var want any
	for _, p := range paths {
		got, n, err := p.run(ctx, pool, sql)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if n != shapeRows {
			t.Fatalf("%s: read %d rows, want %d", p.name, n, shapeRows)
		}
		if want == nil {
			want = got
		} else if got != want {
			t.Fatalf("%s: digest %v, %s: %v", p.name, got, paths[0].name, want)
		}
	}
}
