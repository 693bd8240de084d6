package buffered_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testsupport"
)

// pgxValues runs sql with pgx directly and returns what pgx's own
// Rows.Values gives for every row: the oracle buffered's decoding must match.
func pgxValues(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) [][]any {
	t.Helper()
	return testsupport.PgxValues(t, pool, sql, args...)
}

// values returns the Values of every row.
func values(rows []buffered.Row) [][]any {
	out := make([][]any, len(rows))
	for i, r := range rows {
		out[i] = r.Values()
	}
	return out
}

// firstInts returns the first column of every row as int32s (the test
// queries number their rows with generate_series, an int4).
func firstInts(t testing.TB, rows []buffered.Row) []int32 {
	t.Helper()
	out := make([]int32, len(rows))
	for i, r := range rows {
		v, ok := r.At(0).(int32)
		require.Truef(t, ok, "row %d: first value is %T, want int32", i, r.At(0))
		out[i] = v
	}
	return out
}

// seq returns from, from+1, ..., to as int32s.
func seq(from, to int32) []int32 {
	var out []int32
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

var tableSeq atomic.Int64

// table creates a table with the given column definitions under a fresh name,
// drops it when the test ends, and returns its name.
func table(t testing.TB, pool *pgxpool.Pool, columns ...string) string {
	t.Helper()
	name := fmt.Sprintf("t_%d", tableSeq.Add(1))
	_, err := pool.Exec(context.Background(), fmt.Sprintf("create table %s (%s)", name, strings.Join(columns, ", ")))
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), "drop table if exists "+name)
		require.NoError(t, err)
	})
	return name
}
