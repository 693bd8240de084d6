package bench

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/streamcat/streamcat/stream"
)

// BenchmarkStreamPrefetch: the stream's three ways of reading
// (stream.Options.Prefetch: Auto, the default, reads on the reader's
// goroutine until the reader is slower than the wire; Always reads ahead on
// a producer goroutine; Never never does) against the raw pgx Scan loop, on
// both datasets, with Structs.Rows as the reader.
func BenchmarkStreamPrefetch(b *testing.B) {
	compareStream(b, datasets, allColumns, byStruct(prefetchPaths(narrowKey, scanNarrowOne), prefetchPaths(wideKey, scanWideOne)))
}

func prefetchPaths[T any](key func(*T) int64, scan func(pgx.Rows, *T) error) []path {
	mode := func(name string, p stream.Prefetch) path {
		return structStreamPath(name, key, stream.Options{Prefetch: p})
	}
	raw := streamStructPaths(key, scan)[1]
	return []path{mode("Auto", stream.PrefetchAuto), mode("Always", stream.PrefetchAlways), mode("Never", stream.PrefetchNever), raw}
}
