package buffered_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

func TestFreeze_ReadableAgainAndAgain(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	f, err := res.Freeze()
	require.NoError(t, err)
	assert.Equal(t, 5, f.Len())
	want := pgxValues(t, pool, fiveRows)
	for i := range 3 {
		r := f.Result()
		assert.Equal(t, 5, r.Len(), "read %d", i)
		assert.Equal(t, []string{"id", "name"}, r.Keys())
		assert.Equal(t, want, values(r.All()), "read %d", i)
		require.NoError(t, r.Err())
	}
}

func TestFreeze_LeavesTheResultExhaustedNotClosed(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	_, err := res.Freeze()
	require.NoError(t, err)
	assert.False(t, res.Closed())
	assert.Empty(t, res.All())
	assert.NoError(t, res.Err())
	assert.Equal(t, 5, res.Len(), "Len still counts the whole result")
}

func TestFreeze_ResultsAreIndependent(t *testing.T) {
	pool := testdb.Pool(t)
	f, err := execute(t, pool, fiveRows).Freeze()
	require.NoError(t, err)
	a, b := f.Result(), f.Result()
	assert.Equal(t, seq(1, 2), firstInts(t, a.FetchMany(2)))
	assert.Equal(t, seq(1, 1), firstInts(t, b.FetchMany(1)), "b has its own position")
	a.Close()
	assert.True(t, a.Closed())
	assert.False(t, b.Closed(), "closing one does not close the other")
	assert.Equal(t, seq(2, 5), firstInts(t, b.All()))
	c := f.Result()
	assert.Equal(t, seq(1, 5), firstInts(t, c.All()), "a new Result starts at the first row")
	assert.Equal(t, "SELECT 5", c.CommandTag().String())
	assert.Equal(t, int64(5), c.RowsAffected())
	assert.True(t, c.ReturnsRows())
}

func TestFreeze_KeepsColumnTypes(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 1::int8 as n, 'x'::text as s, '{}'::jsonb as j")
	want := res.ColumnTypes()
	f, err := res.Freeze()
	require.NoError(t, err)
	assert.Equal(t, want, f.Result().ColumnTypes())
}

func TestFreeze_OfAPartlyReadResultKeepsOnlyTheRemainingRows(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	res.FetchMany(2)
	f, err := res.Freeze()
	require.NoError(t, err)
	assert.Equal(t, 3, f.Len())
	r := f.Result()
	assert.Equal(t, 3, r.Len())
	assert.Equal(t, seq(3, 5), firstInts(t, r.All()))
	assert.Equal(t, seq(3, 5), firstInts(t, f.Result().All()), "again")
}

func TestFreeze_OfAPartlyReadMultiBlockResult(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select g from generate_series(1, 3000) g")
	res.FetchMany(1500) // into the second block of 1024
	f, err := res.Freeze()
	require.NoError(t, err)
	assert.Equal(t, 1500, f.Len())
	assert.Equal(t, seq(1501, 3000), firstInts(t, f.Result().All()))
	var sizes []int
	for chunk, err := range f.Result().Partitions(1000) {
		require.NoError(t, err)
		sizes = append(sizes, len(chunk))
	}
	assert.Equal(t, []int{1000, 500}, sizes)
}

func TestFreeze_OfAFrozenResult(t *testing.T) {
	pool := testdb.Pool(t)
	f, err := execute(t, pool, fiveRows).Freeze()
	require.NoError(t, err)
	r := f.Result()
	r.FetchOne()
	f2, err := r.Freeze()
	require.NoError(t, err)
	assert.Equal(t, 4, f2.Len())
	assert.Equal(t, seq(2, 5), firstInts(t, f2.Result().All()))
	assert.Equal(t, 5, f.Len(), "the first snapshot is untouched")
	assert.Equal(t, seq(1, 5), firstInts(t, f.Result().All()))
}

func TestFreeze_ViewsOfAFrozenResult(t *testing.T) {
	pool := testdb.Pool(t)
	f, err := execute(t, pool, dupRows).Freeze()
	require.NoError(t, err)
	assert.Equal(t, []any{int32(1), int32(2), int32(3), int32(4)}, f.Result().Unique().Scalars().All())
	m, err := f.Result().Mappings().First()
	require.NoError(t, err)
	assert.Equal(t, buffered.Mapping{"v": int32(1), "w": "a"}, m)
	type vw struct {
		V int64
		W string
	}
	assert.Len(t, buffered.Structs[vw](f.Result()).All(), 8)
}

func TestResult_StaysValidAfterTheConnectionServedOtherQueries(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(testdb.DSN())
	require.NoError(t, err)
	cfg.MaxConns = 1 // every query below runs on the connection the result came from
	pool := testdb.PoolWithConfig(t, cfg)

	q := `select g, repeat(chr(64 + g), g) as s, array[g, null]::int[] as a, ('{"g": ' || g || '}')::jsonb as j,
		decode(repeat('ab', g), 'hex') as b from generate_series(1, 26) g`
	want := pgxValues(t, pool, q)
	res := execute(t, pool, q)
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns(), "the connection went back before reading")

	ctx := context.Background()
	// reuse the connection: other results, other types, a reset of its state
	for i := range 20 {
		junk := pgxValues(t, pool, "select repeat('z', 1000 * $1::int), $1::int8, '[9,9,9]'::jsonb from generate_series(1, 100)", i)
		require.Len(t, junk, 100)
	}
	_, err = pool.Exec(ctx, "discard all")
	require.NoError(t, err)

	got := res.All()
	require.NoError(t, res.Err())
	assert.Equal(t, want, values(got))
	assert.Equal(t, "CCC", got[2].At(1))
}

func TestFreeze_TwoResultsReadConcurrently(t *testing.T) {
	pool := testdb.Pool(t)
	q := `select g, 'row ' || g, g * 1.5::numeric, array[g::text, null], ('{"g": ' || g || '}')::jsonb,
		'2024-01-01'::timestamptz + g * interval '1 minute' from generate_series(1, 3000) g`
	want := pgxValues(t, pool, q)
	f, err := execute(t, pool, q).Freeze()
	require.NoError(t, err)

	// two Results made here and read in two goroutines
	a, b := f.Result(), f.Result()
	read := func(r *buffered.Result) ([][]any, error) {
		var rows [][]any
		for row, err := range r.Rows() {
			if err != nil {
				return nil, err
			}
			rows = append(rows, row.Values())
		}
		return rows, r.Err()
	}
	var got [2][][]any
	var errs [2]error
	var wg sync.WaitGroup
	wg.Go(func() { got[0], errs[0] = read(a) })
	wg.Go(func() { got[1], errs[1] = read(b) })
	wg.Wait()
	for i := range got {
		require.NoError(t, errs[i], "goroutine %d", i)
		assert.Equal(t, want, got[i], "goroutine %d", i)
	}
}

func TestFrozen_ResultMayBeCalledFromSeveralGoroutines(t *testing.T) {
	pool := testdb.Pool(t)
	f, err := execute(t, pool, "select g, g::text as s from generate_series(1, 2000) g").Freeze()
	require.NoError(t, err)
	type rec struct {
		G int64
		S string
	}
	var sums [4]int64
	var errs [4]error
	var wg sync.WaitGroup
	for i := range sums {
		wg.Go(func() {
			r := f.Result()
			for _, x := range buffered.Structs[rec](r).All() {
				sums[i] += x.G
			}
			errs[i] = r.Err()
		})
	}
	wg.Wait()
	for i := range sums {
		require.NoError(t, errs[i])
		assert.Equal(t, int64(2000*2001/2), sums[i], "goroutine %d", i)
	}
}
