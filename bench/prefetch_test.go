package bench

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/stream"
)

// BenchmarkStreamPrefetch: the stream's three ways of reading
// (stream.Options.Prefetch: Auto, the default, reads on the reader's
// goroutine until the reader is slower than the wire; Always reads ahead on
// a producer goroutine; Never never does) against the raw pgx Scan loop, on
// both datasets, with Structs.Rows as the reader.
func BenchmarkStreamPrefetch(b *testing.B) {
	compareStream(b, datasets, allColumns, func(ds *dataset) []path {
		switch ds {
		case narrow:
			return prefetchPaths(narrowKey, scanNarrowOne)
		case wide:
			return prefetchPaths(wideKey, scanWideOne)
		}
		panic("no struct for dataset " + ds.name)
	})
}

func prefetchPaths[T any](key func(*T) int64, scan func(pgx.Rows, *T) error) []path {
	mode := func(name string, p stream.Prefetch) path {
		return path{name, func(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
			s, st, err := openStream(ctx, pool, sql, stream.Options{Prefetch: p})
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
	raw := streamStructPaths(key, scan)[1]
	return []path{mode("Auto", stream.PrefetchAuto), mode("Always", stream.PrefetchAlways), mode("Never", stream.PrefetchNever), raw}
}
