package buffered_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

func TestViews_ShareTheCursor_ScalarsThenAllReturnsTheRest(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	v, ok := res.Scalars().FetchOne()
	require.True(t, ok)
	assert.Equal(t, int32(1), v)
	assert.Equal(t, seq(2, 5), firstInts(t, res.All()), "the row read through the view is gone for the result")
}

func TestViews_ShareTheCursor_InterleavedReadsAdvanceOnePosition(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	scalars := res.Scalars()
	maps := res.Mappings()
	typed := buffered.ScalarsOf[int64](res)
	names := res.Columns("name")

	row, _ := res.FetchOne()
	assert.Equal(t, int32(1), row.At(0))
	s, _ := scalars.FetchOne()
	assert.Equal(t, int32(2), s)
	m, _ := maps.FetchOne()
	assert.Equal(t, buffered.Mapping{"id": int32(3), "name": "n3"}, m)
	i, _ := typed.FetchOne()
	assert.Equal(t, int64(4), i)
	n, _ := names.FetchOne()
	assert.Equal(t, []any{"n5"}, n.Values())
	_, ok := res.FetchOne()
	assert.False(t, ok)
	assert.NoError(t, res.Err())
}

func TestViews_ExhaustingAViewExhaustsTheResult(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	assert.Len(t, res.Mappings().All(), 5)
	assert.Empty(t, res.All())
	assert.NoError(t, res.Err())
	assert.False(t, res.Closed())
}

func TestViews_Columns_ReordersAndProjects(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 1 as a, 'two' as b, 3.5::float8 as c")
	view := res.Columns("b", "a")
	assert.Equal(t, []string{"b", "a"}, view.Keys())
	row, err := view.One()
	require.NoError(t, err)
	assert.Equal(t, []any{"two", int32(1)}, row.Values())
	assert.Equal(t, []string{"b", "a"}, row.Keys())
	_, ok := row.Get("c")
	assert.False(t, ok, "a projected-out column is not in the row")
}

func TestViews_Columns_OfColumns(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 1 as a, 2 as b, 3 as c, 4 as d")
	view := res.Columns("d", "b", "a").Columns("a", "d")
	assert.Equal(t, []string{"a", "d"}, view.Keys())
	row, err := view.First()
	require.NoError(t, err)
	assert.Equal(t, []any{int32(1), int32(4)}, row.Values())
}

func TestViews_ColumnsAt_ProjectsByPosition(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 1 as a, 2 as b, 3 as c")
	view := res.ColumnsAt(2, 0)
	assert.Equal(t, []string{"c", "a"}, view.Keys())
	assert.Equal(t, "c", view.ColumnTypes()[0].Name)
	// positions count in the view's own columns
	inner := view.ColumnsAt(1)
	assert.Equal(t, []string{"a"}, inner.Keys())
	row, err := inner.One()
	require.NoError(t, err)
	assert.Equal(t, []any{int32(1)}, row.Values())
}

func TestViews_ColumnsAt_ThenScalarsReadsThatColumn(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	names := res.ColumnsAt(1).Scalars().All()
	require.NoError(t, res.Err())
	assert.Equal(t, []any{"n1", "n2", "n3", "n4", "n5"}, names)
}

func TestViews_Mappings_OneMapPerRow(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select g as id, 'n' || g as name, null::text as note from generate_series(1, 2) g")
	maps := res.Mappings()
	got := maps.All()
	require.NoError(t, maps.Err())
	assert.Equal(t, []buffered.Mapping{
		{"id": int32(1), "name": "n1", "note": nil},
		{"id": int32(2), "name": "n2", "note": nil},
	}, got)
	got[0]["id"] = "changed"
	assert.Equal(t, int32(2), got[1]["id"], "each row has its own map")
}

func TestViews_Mappings_OfAProjection(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 1 as a, 2 as b, 3 as c")
	m, err := res.Columns("c", "a").Mappings().One()
	require.NoError(t, err)
	assert.Equal(t, buffered.Mapping{"c": int32(3), "a": int32(1)}, m)
}

const dupRows = "select v, w from (values (1, 'a'), (1, 'a'), (2, 'b'), (1, 'a'), (3, 'c'), (2, 'b'), (4, 'd'), (1, 'x')) t(v, w)"

func TestViews_Unique_SkipsRowsEqualToEarlierOnes(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, dupRows)
	rows := res.Unique().All()
	require.NoError(t, res.Err())
	assert.Equal(t, [][]any{{int32(1), "a"}, {int32(2), "b"}, {int32(3), "c"}, {int32(4), "d"}, {int32(1), "x"}}, values(rows))
}

func TestViews_Unique_ComparesRawBytes(t *testing.T) {
	pool := testdb.Pool(t)
	// numeric 1.0 and 1.00 are equal in SQL but differ on the wire;
	// text NULL and '' differ
	res := execute(t, pool, "select v from (values (1.0::numeric), (1.00), (1.0)) t(v)")
	assert.Len(t, res.Unique().All(), 2)
	res = execute(t, pool, "select v from (values (null::text), (''), (null), ('')) t(v)")
	assert.Equal(t, []any{nil, ""}, res.Unique().Scalars().All())
}

func TestViews_Unique_FetchManyReturnsNDistinctRows(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, dupRows)
	u := res.Unique()
	assert.Equal(t, [][]any{{int32(1), "a"}, {int32(2), "b"}, {int32(3), "c"}}, values(u.FetchMany(3)))
	assert.Equal(t, [][]any{{int32(4), "d"}, {int32(1), "x"}}, values(u.FetchMany(3)), "remembers rows from earlier fetches")
	assert.Empty(t, u.FetchMany(3))
}

func TestViews_Unique_PartitionsOfNDistinctRows(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, dupRows)
	var sizes []int
	for chunk, err := range res.Unique().Partitions(2) {
		require.NoError(t, err)
		sizes = append(sizes, len(chunk))
	}
	assert.Equal(t, []int{2, 2, 1}, sizes)
}

func TestViews_Unique_OneWithDuplicatesOfTheFirstRowCountsAsOne(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 7 as v from generate_series(1, 5)")
	row, err := res.Unique().One()
	require.NoError(t, err)
	assert.Equal(t, []any{int32(7)}, row.Values())

	res = execute(t, pool, "select v from (values (7), (7), (8)) t(v)")
	_, err = res.Unique().One()
	assert.ErrorIs(t, err, buffered.ErrMultipleRows, "a different row still counts")

	v, found, err := execute(t, pool, "select 7 from generate_series(1, 3)").Unique().Scalars().OneOrNone()
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, int32(7), v)
}

func TestViews_Unique_OverAProjectionComparesOnlyThoseColumns(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, dupRows)
	rows := res.Unique().Columns("v").All()
	assert.Equal(t, [][]any{{int32(1)}, {int32(2)}, {int32(3)}, {int32(4)}}, values(rows))

	res = execute(t, pool, dupRows)
	rows = res.Columns("v").Unique().All()
	assert.Equal(t, [][]any{{int32(1)}, {int32(2)}, {int32(3)}, {int32(4)}}, values(rows))
}

func TestViews_Unique_BothOrdersWithScalarsDeduplicate(t *testing.T) {
	pool := testdb.Pool(t)
	want := []any{int32(1), int32(2), int32(3), int32(4)}
	assert.Equal(t, want, execute(t, pool, dupRows).Unique().Scalars().All(), "res.Unique().Scalars()")
	assert.Equal(t, want, execute(t, pool, dupRows).Scalars().Unique().All(), "res.Scalars().Unique()")
	assert.Equal(t, []int64{1, 2, 3, 4}, buffered.ScalarsOf[int64](execute(t, pool, dupRows).Unique()).All(), "ScalarsOf(res.Unique())")
	assert.Equal(t, []int64{1, 2, 3, 4}, buffered.ScalarsOf[int64](execute(t, pool, dupRows)).Unique().All(), "ScalarsOf(res).Unique()")
	assert.Len(t, execute(t, pool, dupRows).Unique().Mappings().All(), 5, "res.Unique().Mappings()")
	assert.Len(t, execute(t, pool, dupRows).Mappings().Unique().All(), 5, "res.Mappings().Unique()")
}

func TestViews_UniqueBy_UsesTheCallersKey(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, dupRows)
	rows := res.UniqueBy(func(r buffered.Row) any { v, _ := r.Get("v"); return v }).All()
	require.NoError(t, res.Err())
	assert.Equal(t, [][]any{{int32(1), "a"}, {int32(2), "b"}, {int32(3), "c"}, {int32(4), "d"}}, values(rows))

	res = execute(t, pool, "select g from generate_series(1, 10) g")
	odd := buffered.ScalarsOf[int](res).UniqueBy(func(x int) any { return x % 3 }).All()
	assert.Equal(t, []int{1, 2, 3}, odd)

	type key struct {
		a int
		b string
	}
	res = execute(t, pool, dupRows)
	rows = res.UniqueBy(func(r buffered.Row) any { return key{int(r.At(0).(int32)), r.At(1).(string)} }).FetchMany(10)
	assert.Len(t, rows, 5, "a comparable struct key")
}

func TestScalarsOf_TypedFirstColumn(t *testing.T) {
	pool := testdb.Pool(t)
	ints := buffered.ScalarsOf[int64](execute(t, pool, "select g::int4, 'ignored' from generate_series(1, 3) g")).All()
	assert.Equal(t, []int64{1, 2, 3}, ints, "int4 scans into int64")

	strs := buffered.ScalarsOf[*string](execute(t, pool, "select v from (values ('a'), (null), ('')) t(v)")).All()
	require.Len(t, strs, 3)
	require.NotNil(t, strs[0])
	assert.Equal(t, "a", *strs[0])
	assert.Nil(t, strs[1], "NULL into a pointer is nil")
	require.NotNil(t, strs[2])
	assert.Equal(t, "", *strs[2])

	at, err := buffered.ScalarsOf[time.Time](execute(t, pool, "select '2024-02-29 12:34:56.789+00'::timestamptz")).One()
	require.NoError(t, err)
	assert.True(t, time.Date(2024, 2, 29, 12, 34, 56, 789000000, time.UTC).Equal(at), "got %v", at)

	f, err := buffered.ScalarsOf[float64](execute(t, pool, "select 12.25::numeric")).One()
	require.NoError(t, err)
	assert.Equal(t, 12.25, f)

	u, err := buffered.ScalarsOf[string](execute(t, pool, "select 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid")).One()
	require.NoError(t, err)
	assert.Equal(t, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", u)

	anyv, err := buffered.ScalarsOf[any](execute(t, pool, "select 5::int2")).One()
	require.NoError(t, err)
	assert.Equal(t, int16(5), anyv)
}

func TestScalarsOf_OfAProjectionReadsItsFirstColumn(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	names := buffered.ScalarsOf[string](res.Columns("name")).All()
	require.NoError(t, res.Err())
	assert.Equal(t, []string{"n1", "n2", "n3", "n4", "n5"}, names)
}

func TestScalarsOf_SharesTheReadPosition(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	typed := buffered.ScalarsOf[int](res)
	assert.Equal(t, []int{1, 2}, typed.FetchMany(2))
	assert.Equal(t, seq(3, 5), firstInts(t, res.All()))
	assert.Empty(t, typed.All())
}
