package buffered_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

// rawBatchSQL spans several blocks, with NULLs (also first and last in a
// row) and empty strings among the values.
const rawBatchSQL = `select case when g % 7 = 0 then null else g end as a,
	case when g % 5 = 0 then '' else repeat('x', g % 13) end as b,
	case when g % 3 = 0 then null else g::text || ',"' end as c
	from generate_series(1, 5000) g`

func textResult(t *testing.T, sql string) *buffered.Result {
	t.Helper()
	rows, err := testdb.Pool(t).Query(context.Background(), sql, pgx.QueryResultFormats{pgx.TextFormatCode})
	require.NoError(t, err)
	res, err := buffered.FromRows(rows)
	require.NoError(t, err)
	return res
}

// drainBatches reads v with FetchRawBatch, copying every row.
func drainBatches(t *testing.T, v *buffered.View[[][]byte]) (rows [][][]byte, batches int) {
	t.Helper()
	var vals [][]byte
	for {
		b, ok := v.FetchRawBatch()
		if !ok {
			require.NoError(t, v.Err())
			return rows, batches
		}
		require.Positive(t, b.Len(), "a batch is never empty")
		batches++
		for i := range b.Len() {
			vals = b.Row(i, vals)
			rows = append(rows, copyRow(vals))
		}
	}
}

func copyRow(vals [][]byte) [][]byte {
	out := make([][]byte, len(vals))
	for i, v := range vals {
		if v != nil {
			out[i] = append([]byte{}, v...)
		}
	}
	return out
}

func TestFetchRawBatch_SameRowsAsFetchOne(t *testing.T) {
	want := buffered.Raw(textResult(t, rawBatchSQL)).All()
	require.Len(t, want, 5000)
	got, batches := drainBatches(t, buffered.Raw(textResult(t, rawBatchSQL)))
	assert.Equal(t, want, got)
	assert.Greater(t, batches, 1, "the result spans several blocks")
	assert.Nil(t, got[6][0], "NULL stays nil")
	assert.NotNil(t, got[4][1], "the empty string is not NULL")
}

func TestFetchRawBatch_Projection(t *testing.T) {
	want := buffered.Raw(textResult(t, rawBatchSQL).Columns("c", "a")).All()
	got, _ := drainBatches(t, buffered.Raw(textResult(t, rawBatchSQL).Columns("c", "a")))
	assert.Equal(t, want, got)
	assert.Equal(t, [][]byte{[]byte(`1,"`), []byte("1")}, got[0])
}

// A batch takes the rest of the block from the shared read position, and
// the next read of any view goes on after it.
func TestFetchRawBatch_SharesTheReadPosition(t *testing.T) {
	all := buffered.Raw(textResult(t, rawBatchSQL)).All()
	raw := buffered.Raw(textResult(t, rawBatchSQL))
	first, ok := raw.FetchOne()
	require.True(t, ok)
	assert.Equal(t, all[0], first)
	b, ok := raw.FetchRawBatch()
	require.True(t, ok)
	assert.Equal(t, all[1], b.Row(0, nil))
	n := 1 + b.Len()
	assert.Less(t, n, len(all), "one block, not the whole result")
	next, ok := raw.FetchOne()
	require.True(t, ok)
	assert.Equal(t, all[n], next)
}

func TestFetchRawBatch_RowGrowsAShortDestinationAndChecksItsIndex(t *testing.T) {
	b, ok := buffered.Raw(textResult(t, "select 1 as a, null::int as b, 'z' as c")).FetchRawBatch()
	require.True(t, ok)
	require.Equal(t, 1, b.Len())
	short := make([][]byte, 1)
	got := b.Row(0, short)
	assert.Equal(t, [][]byte{[]byte("1"), nil, []byte("z")}, got)
	long := make([][]byte, 5)
	assert.Len(t, b.Row(0, long), 3, "resliced to the column count")
	assert.Panics(t, func() { b.Row(1, nil) })
	assert.Panics(t, func() { b.Row(-1, nil) })
}

func TestFetchRawBatch_EndsAndRefusals(t *testing.T) {
	raw := buffered.Raw(textResult(t, "select 1 as a"))
	_, ok := raw.FetchRawBatch()
	require.True(t, ok)
	_, ok = raw.FetchRawBatch()
	assert.False(t, ok)
	assert.NoError(t, raw.Err(), "exhausted is not an error")

	closed := buffered.Raw(textResult(t, "select 1 as a"))
	closed.Close()
	_, ok = closed.FetchRawBatch()
	assert.False(t, ok)
	assert.True(t, errors.Is(closed.Err(), buffered.ErrClosed))

	uniq := buffered.Raw(textResult(t, "select 1 as a")).Unique()
	_, ok = uniq.FetchRawBatch()
	assert.False(t, ok)
	assert.ErrorContains(t, uniq.Err(), "Unique")

	bad := buffered.Raw(textResult(t, "select 1 as a").Columns("nope"))
	_, ok = bad.FetchRawBatch()
	assert.False(t, ok)
	assert.ErrorContains(t, bad.Err(), "nope")
}

// FetchOne converts into the view's own scratch value: no allocation per
// row.
func TestFetchOne_RawDoesNotAllocate(t *testing.T) {
	raw := buffered.Raw(textResult(t, rawBatchSQL))
	allocs := testing.AllocsPerRun(1000, func() {
		if _, ok := raw.FetchOne(); !ok {
			t.Fatal("ran out of rows")
		}
	})
	assert.Zero(t, allocs)
}
