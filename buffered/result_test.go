package buffered_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

const fiveRows = "select g as id, 'n' || g as name from generate_series(1, 5) g"

func TestResult_Len_CountsAllRowsWhateverWasRead(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	assert.Equal(t, 5, res.Len())
	_, ok := res.FetchOne()
	require.True(t, ok)
	assert.Equal(t, 5, res.Len(), "Len is the result's size, not what is left")
	res.All()
	assert.Equal(t, 5, res.Len())

	empty := execute(t, pool, "select 1 where false")
	assert.Equal(t, 0, empty.Len())
}

func TestResult_Keys_AreColumnNamesInOrder(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, `select 1 as b, 'x' as a, null::int as "Mixed Case", 2 as b`)
	assert.Equal(t, []string{"b", "a", "Mixed Case", "b"}, res.Keys())
	row, err := res.First()
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "a", "Mixed Case", "b"}, row.Keys())
	assert.Equal(t, 4, row.Len())
}

func TestResult_ColumnTypes_DescribeNameOIDAndTypeName(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, `select 1::int4 as i, 2::int8 as big, 'x'::text as s, 1.5::numeric as n,
		true as ok, now() as at, '{1}'::int[] as arr, '{}'::jsonb as doc`)
	want := []struct {
		name string
		oid  uint32
		typ  string
	}{
		{"i", 23, "int4"},
		{"big", 20, "int8"},
		{"s", 25, "text"},
		{"n", 1700, "numeric"},
		{"ok", 16, "bool"},
		{"at", 1184, "timestamptz"},
		{"arr", 1007, "_int4"},
		{"doc", 3802, "jsonb"},
	}
	cols := res.ColumnTypes()
	require.Len(t, cols, len(want))
	for i, w := range want {
		assert.Equal(t, w.name, cols[i].Name, "column %d", i)
		assert.Equal(t, w.oid, cols[i].TypeOID, "column %s", w.name)
		assert.Equal(t, w.typ, cols[i].TypeName, "column %s", w.name)
	}
	assert.Equal(t, int16(pgx.BinaryFormatCode), cols[0].Format, "int4 comes in binary")
	assert.Equal(t, int16(pgx.TextFormatCode), cols[2].Format, "text comes as text")
	// a projection describes only its own columns, in its order
	proj := res.Columns("n", "i").ColumnTypes()
	require.Len(t, proj, 2)
	assert.Equal(t, "n", proj[0].Name)
	assert.Equal(t, "numeric", proj[0].TypeName)
	assert.Equal(t, "i", proj[1].Name)
}

func TestResult_ColumnTypes_UnknownTypeHasEmptyTypeNameAndDecodesAsText(t *testing.T) {
	pool := testdb.Pool(t)
	typ := table(t, pool, "x int") // a unique name, reused for an enum below
	_, err := pool.Exec(t.Context(), "drop table "+typ+"; create type "+typ+" as enum ('happy', 'sad')")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), "drop type "+typ)
		require.NoError(t, err)
	})
	q := "select 'happy'::" + typ + " as mood, null::" + typ + " as none"
	res := execute(t, pool, q)
	cols := res.ColumnTypes()
	require.Len(t, cols, 2)
	assert.Equal(t, "mood", cols[0].Name)
	assert.NotZero(t, cols[0].TypeOID)
	assert.Empty(t, cols[0].TypeName, "pgx has no codec for a user enum")
	assert.Equal(t, int16(pgx.TextFormatCode), cols[0].Format)
	rows := res.All()
	require.NoError(t, res.Err())
	assert.Equal(t, [][]any{{"happy", nil}}, values(rows))
	assert.Equal(t, pgxValues(t, pool, q), values(rows))
}

func TestResult_All_ReturnsEveryRowInOrder(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	rows := res.All()
	require.NoError(t, res.Err())
	assert.Equal(t, [][]any{
		{int32(1), "n1"}, {int32(2), "n2"}, {int32(3), "n3"}, {int32(4), "n4"}, {int32(5), "n5"},
	}, values(rows))
	assert.Equal(t, pgxValues(t, pool, fiveRows), values(rows))
}

func TestResult_All_ReturnsOnlyTheRemainingRows(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	require.Len(t, res.FetchMany(2), 2)
	assert.Equal(t, seq(3, 5), firstInts(t, res.All()))
}

func TestResult_All_OnEmptyResultIsEmptyWithoutError(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 1 as x where false")
	rows := res.All()
	require.NoError(t, res.Err())
	assert.NotNil(t, rows, "an empty answer is an empty slice; nil means failure")
	assert.Empty(t, rows)
	assert.Equal(t, []string{"x"}, res.Keys(), "an empty SELECT still has its columns")
	assert.True(t, res.ReturnsRows())
}

func TestResult_FetchOne_AdvancesOneRowAtATime(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	for want := int32(1); want <= 5; want++ {
		row, ok := res.FetchOne()
		require.True(t, ok, "row %d", want)
		require.NoError(t, res.Err())
		assert.Equal(t, []any{want, "n" + string(rune('0'+want))}, row.Values())
	}
	row, ok := res.FetchOne()
	assert.False(t, ok)
	assert.Nil(t, row.Values())
	assert.NoError(t, res.Err(), "running out is not an error")
}

func TestResult_FetchMany_ReturnsUpToNRows(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	assert.Equal(t, seq(1, 2), firstInts(t, res.FetchMany(2)))
	assert.Equal(t, seq(3, 3), firstInts(t, res.FetchMany(1)))
	assert.Equal(t, seq(4, 5), firstInts(t, res.FetchMany(10)), "fewer than n left: the rest")
	require.NoError(t, res.Err())
	last := res.FetchMany(3)
	assert.NotNil(t, last, "exhausted: an empty slice, not nil")
	assert.Empty(t, last)
	assert.NoError(t, res.Err())
}

func TestResult_FetchMany_NegativeIsNilAndErr(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	for _, n := range []int{-1, -10} {
		assert.Nil(t, res.FetchMany(n), "n=%d", n)
		require.Error(t, res.Err(), "n=%d", n)
		assert.Contains(t, res.Err().Error(), "buffered: FetchMany: size must be 0")
	}
	// the bad call consumed nothing, and a good read clears Err
	assert.Equal(t, seq(1, 2), firstInts(t, res.FetchMany(2)))
	assert.NoError(t, res.Err())
}

func TestResult_Rows_IteratesEveryRowWithoutError(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	var got []buffered.Row
	for row, err := range res.Rows() {
		require.NoError(t, err)
		got = append(got, row)
	}
	assert.Equal(t, pgxValues(t, pool, fiveRows), values(got))
	assert.NoError(t, res.Err())
	assert.False(t, res.Closed(), "running to the end exhausts, it does not close")
}

func TestResult_Rows_BreakThenResumeContinuesAfterTheLastRowRead(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	var first []buffered.Row
	for row, err := range res.Rows() {
		require.NoError(t, err)
		first = append(first, row)
		if len(first) == 2 {
			break
		}
	}
	assert.Equal(t, seq(1, 2), firstInts(t, first))
	assert.False(t, res.Closed(), "a break leaves a buffered result open")
	require.NoError(t, res.Err())

	var rest []buffered.Row
	for row, err := range res.Rows() {
		require.NoError(t, err)
		rest = append(rest, row)
	}
	assert.Equal(t, seq(3, 5), firstInts(t, rest))
}

func TestResult_Partitions_ChunksOfExactlyNLastShorterNeverEmpty(t *testing.T) {
	pool := testdb.Pool(t)
	for _, tc := range []struct {
		rows, size int
		want       []int
	}{
		{rows: 7, size: 3, want: []int{3, 3, 1}},
		{rows: 6, size: 3, want: []int{3, 3}},
		{rows: 2, size: 5, want: []int{2}},
		{rows: 3, size: 1, want: []int{1, 1, 1}},
		{rows: 0, size: 4, want: nil},
		{rows: 2500, size: 1000, want: []int{1000, 1000, 500}}, // across block boundaries
	} {
		res := execute(t, pool, "select g from generate_series(1, $1::int) g", tc.rows)
		var sizes []int
		var all []buffered.Row
		for chunk, err := range res.Partitions(tc.size) {
			require.NoError(t, err)
			sizes = append(sizes, len(chunk))
			all = append(all, chunk...)
		}
		assert.Equal(t, tc.want, sizes, "%d rows in chunks of %d", tc.rows, tc.size)
		if tc.rows > 0 {
			assert.Equal(t, seq(1, int32(tc.rows)), firstInts(t, all))
		}
		assert.NoError(t, res.Err())
	}
}

func TestResult_Partitions_ChunksAreIndependentSlices(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	var chunks [][]buffered.Row
	for chunk, err := range res.Partitions(2) {
		require.NoError(t, err)
		chunks = append(chunks, chunk)
	}
	require.Len(t, chunks, 3)
	assert.Equal(t, seq(1, 2), firstInts(t, chunks[0]), "an earlier chunk is not overwritten by later ones")
	assert.Equal(t, seq(3, 4), firstInts(t, chunks[1]))
	assert.Equal(t, seq(5, 5), firstInts(t, chunks[2]))
}

func TestResult_Partitions_NegativeYieldsAnError(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	for _, size := range []int{-1, -3} {
		n := 0
		for chunk, err := range res.Partitions(size) {
			n++
			assert.Nil(t, chunk)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "size must be 0")
			assert.Equal(t, err, res.Err(), "Err records what the loop yielded")
		}
		assert.Equal(t, 1, n, "the error is yielded once")
	}
	assert.Equal(t, seq(1, 5), firstInts(t, res.All()), "the bad call consumed nothing")
}

func TestResult_Partitions_BreakThenResume(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	for chunk, err := range res.Partitions(2) {
		require.NoError(t, err)
		assert.Equal(t, seq(1, 2), firstInts(t, chunk))
		break
	}
	assert.False(t, res.Closed())
	assert.Equal(t, seq(3, 5), firstInts(t, res.All()))
}

func TestResult_First_ReturnsFirstRowAndCloses(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	row, err := res.First()
	require.NoError(t, err)
	assert.Equal(t, []any{int32(1), "n1"}, row.Values())
	assert.True(t, res.Closed())
	assert.NoError(t, res.Err())
}

func TestResult_First_AfterSomeReadsReturnsTheNextRow(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	res.FetchMany(3)
	row, err := res.First()
	require.NoError(t, err)
	assert.Equal(t, int32(4), row.At(0))
}

func TestResult_One_ReturnsTheOnlyRow(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 42 as answer, 'yes' as word")
	row, err := res.One()
	require.NoError(t, err)
	assert.Equal(t, []any{int32(42), "yes"}, row.Values())
	v, ok := row.Get("word")
	assert.True(t, ok)
	assert.Equal(t, "yes", v)
	_, ok = row.Get("nope")
	assert.False(t, ok)
	assert.True(t, res.Closed())
}

func TestResult_OneOrNone_ReturnsTheRowOrFalse(t *testing.T) {
	pool := testdb.Pool(t)
	row, found, err := execute(t, pool, "select 7").OneOrNone()
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, []any{int32(7)}, row.Values())

	res := execute(t, pool, "select 7 where false")
	row, found, err = res.OneOrNone()
	require.NoError(t, err)
	assert.False(t, found)
	assert.Nil(t, row.Values())
	assert.True(t, res.Closed())
}

func TestResult_Scalar_ReturnsFirstColumnOfFirstRowWithoutCheckingForMore(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	v, err := res.Scalar()
	require.NoError(t, err)
	assert.Equal(t, int32(1), v)
	assert.True(t, res.Closed())

	v, err = execute(t, pool, "select null::int, 1").Scalar()
	require.NoError(t, err, "a NULL is a value, not no row")
	assert.Nil(t, v)
}

func TestResult_ScalarOne_ReturnsTheOnlyValue(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 'only'::text, 2")
	v, err := res.ScalarOne()
	require.NoError(t, err)
	assert.Equal(t, "only", v)
	assert.True(t, res.Closed())
}

func TestResult_ScalarOneOrNone_ReturnsTheValueOrFalse(t *testing.T) {
	pool := testdb.Pool(t)
	v, found, err := execute(t, pool, "select 3.5::float8").ScalarOneOrNone()
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, 3.5, v)

	v, found, err = execute(t, pool, "select null::int").ScalarOneOrNone()
	require.NoError(t, err)
	assert.True(t, found, "a NULL row is a row")
	assert.Nil(t, v)

	res := execute(t, pool, "select 1 where false")
	v, found, err = res.ScalarOneOrNone()
	require.NoError(t, err)
	assert.False(t, found)
	assert.Nil(t, v)
	assert.True(t, res.Closed())
}

func TestResult_Close_IsIdempotentAndLeavesErrNil(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	assert.False(t, res.Closed())
	res.Close()
	assert.True(t, res.Closed())
	assert.NoError(t, res.Err(), "Close itself is not a failure")
	res.Close()
	assert.True(t, res.Closed())
	assert.NoError(t, res.Err())
	assert.Equal(t, 5, res.Len())
}

func TestResult_ManyBlocks_ReadBackInOrder(t *testing.T) {
	pool := testdb.Pool(t)
	// 3000 rows span three blocks of 1024; rows of 100 kB fill a block by bytes first.
	q := "select g, repeat('x', 100000) || g as pad from generate_series(1, 3000) g"
	res := execute(t, pool, "select g from generate_series(1, 3000) g")
	require.Equal(t, 3000, res.Len())
	got := firstInts(t, res.FetchMany(1000))
	got = append(got, firstInts(t, res.FetchMany(1000))...)
	for row, err := range res.Rows() {
		require.NoError(t, err)
		got = append(got, row.At(0).(int32))
	}
	assert.Equal(t, seq(1, 3000), got)

	big := execute(t, pool, q+" limit 20")
	rows := big.All()
	require.NoError(t, big.Err())
	require.Len(t, rows, 20)
	for i, r := range rows {
		assert.Equal(t, int32(i+1), r.At(0))
		assert.Equal(t, strings.Repeat("x", 100000)+strconv.Itoa(i+1), r.At(1))
	}
}

func TestRow_ValuesOfDifferentRowsDoNotShareStorage(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	rows := res.All()
	require.Len(t, rows, 5)
	grown := append(rows[0].Values(), "extra")
	assert.Equal(t, []any{int32(1), "n1", "extra"}, grown)
	assert.Equal(t, []any{int32(2), "n2"}, rows[1].Values(), "appending to one row's values cannot overwrite the next row")
}
