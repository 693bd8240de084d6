package buffered_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

// These tests pin the places where the result once differed from
// SQLAlchemy 2.0's (issue 10, items 1-7); each expected value is what
// SQLAlchemy gives for the same rows.

// fourRows has four rows, three distinct values of v.
const fourRows = "select v, w from (values (1, 'a'), (1, 'b'), (2, 'c'), (3, 'd')) t(v, w)"

func byV(r buffered.Row) any { v, _ := r.Get("v"); return v }

func TestUniqueBy_TheKeyCarriesThroughEveryDerivedView(t *testing.T) {
	pool := testdb.Pool(t)
	res := func() *buffered.Result { return execute(t, pool, fourRows) }
	type vw struct {
		V int32
		W string
	}
	// SQLAlchemy: result.unique(key).mappings().all() has 3 rows, and so on
	assert.Len(t, res().UniqueBy(byV).Mappings().All(), 3, "Mappings")
	assert.Len(t, res().UniqueBy(byV).Columns("w", "v").All(), 3, "Columns: the key sees the projected row")
	assert.Len(t, res().UniqueBy(byV).ColumnsAt(1, 0).All(), 3, "ColumnsAt")
	assert.Equal(t, []any{int32(1), int32(2), int32(3)}, res().UniqueBy(byV).Scalars().All(), "Scalars: the key sees a one-column row")
	assert.Equal(t, []int32{1, 2, 3}, buffered.ScalarsOf[int32](res().UniqueBy(byV)).All(), "ScalarsOf")
	assert.Len(t, buffered.Structs[vw](res().UniqueBy(byV)).All(), 3, "Structs")
	assert.Len(t, buffered.Raw(res().UniqueBy(byV)).All(), 3, "Raw")
	f, err := res().UniqueBy(byV).Freeze()
	require.NoError(t, err)
	assert.Equal(t, 3, f.Len(), "Freeze")

	// a key over mappings carries to the mapping view's projections
	m := res().Mappings().UniqueBy(func(m buffered.Mapping) any { return m["v"] }).Columns("v")
	assert.Equal(t, []buffered.Mapping{{"v": int32(1)}, {"v": int32(2)}, {"v": int32(3)}}, m.All())
}

func TestRaw_OfAUniqueResultSkipsDuplicates(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, dupRows)
	got := buffered.Raw(res.Unique()).All()
	require.NoError(t, res.Err())
	assert.Len(t, got, 5, "five distinct (v, w) rows among eight")
}

func TestUnique_ScalarOneComparesRowsNotFirstValues(t *testing.T) {
	pool := testdb.Pool(t)
	const twoRows = "select 7 as a, g as b, g as c from generate_series(1, 2) g"
	// SQLAlchemy: result.unique().scalar_one() raises MultipleResultsFound
	_, err := execute(t, pool, twoRows).Unique().ScalarOne()
	assert.ErrorIs(t, err, buffered.ErrMultipleRows, "ScalarOne")
	_, _, err = execute(t, pool, twoRows).Unique().ScalarOneOrNone()
	assert.ErrorIs(t, err, buffered.ErrMultipleRows, "ScalarOneOrNone")
	// only a Scalars view de-duplicates values
	v, err := execute(t, pool, twoRows).Scalars().Unique().One()
	require.NoError(t, err)
	assert.Equal(t, int32(7), v)
	// rows equal to the first do not count
	v, err = execute(t, pool, "select 7 as a, 1 as b from generate_series(1, 3)").Unique().ScalarOne()
	require.NoError(t, err)
	assert.Equal(t, int32(7), v)
}

func TestFreeze_KeepsTheViewsProjectionAndUniqueFilter(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select a, b, c from (values (1, 2, 3), (9, 2, 3), (1, 5, 6)) t(a, b, c)")
	f, err := res.Columns("b", "c").Unique().Freeze()
	require.NoError(t, err)
	assert.Equal(t, 2, f.Len(), "(2, 3) twice is one row")
	r := f.Result()
	assert.Equal(t, []string{"b", "c"}, r.Keys())
	assert.Equal(t, [][]any{{int32(2), int32(3)}, {int32(5), int32(6)}}, values(r.All()))
	assert.Equal(t, "SELECT 2", f.Result().CommandTag().String())
	assert.ErrorIs(t, f.Result().Columns("a").Err(), buffered.ErrNoColumn, "a was projected away")

	// a projection without Unique keeps the blocks and still shows only its columns
	f, err = execute(t, pool, fiveRows).Columns("name").Freeze()
	require.NoError(t, err)
	assert.Equal(t, []any{"n1", "n2", "n3", "n4", "n5"}, f.Result().Scalars().All())
	assert.Equal(t, []string{"name"}, f.Result().Keys())
}

func TestDuplicateNames_AreAnErrorNamingBothPositions(t *testing.T) {
	pool := testdb.Pool(t)
	const dup = "select 4 as x, 2 as x, 5 as y"
	res := execute(t, pool, dup)
	_, err := res.Columns("x").First()
	require.ErrorIs(t, err, buffered.ErrAmbiguousColumn)
	assert.Contains(t, err.Error(), `column "x" is at positions 0 and 1`)

	_, err = execute(t, pool, dup).Mappings().First()
	require.ErrorIs(t, err, buffered.ErrAmbiguousColumn, "Mappings")
	assert.Contains(t, err.Error(), "positions 0 and 1")

	_, err = execute(t, pool, dup).Scalars("x").First()
	assert.ErrorIs(t, err, buffered.ErrAmbiguousColumn, "Scalars by name")

	row, err := execute(t, pool, dup).First()
	require.NoError(t, err)
	_, ok := row.Get("x")
	assert.False(t, ok, "Get does not guess between two columns")
	_, err = row.Lookup("x")
	require.ErrorIs(t, err, buffered.ErrAmbiguousColumn)
	assert.Contains(t, err.Error(), "positions 0 and 1")
	_, err = row.Lookup("z")
	assert.ErrorIs(t, err, buffered.ErrNoColumn)
	y, ok := row.Get("y")
	assert.True(t, ok)
	assert.Equal(t, int32(5), y)
	assert.Equal(t, buffered.Mapping{"y": int32(5)}, row.Mapping(), "Row.Mapping leaves the ambiguous name out")

	// by position, or once the duplicate is projected away, all is well
	row, err = execute(t, pool, dup).Columns(1, "y").First()
	require.NoError(t, err)
	assert.Equal(t, []any{int32(2), int32(5)}, row.Values())
	m, err := execute(t, pool, dup).ColumnsAt(0, 2).Mappings().First()
	require.NoError(t, err)
	assert.Equal(t, buffered.Mapping{"x": int32(4), "y": int32(5)}, m)
	// naming one column twice is not ambiguous
	row, err = execute(t, pool, dup).Columns("y", "y").First()
	require.NoError(t, err)
	assert.Equal(t, []any{int32(5), int32(5)}, row.Values())
}

func TestColumns_MixesNamesAndPositions(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 1 as a, 2 as b, 3 as c")
	view := res.Columns("c", 0)
	assert.Equal(t, []string{"c", "a"}, view.Keys())
	row, err := view.One()
	require.NoError(t, err)
	assert.Equal(t, []any{int32(3), int32(1)}, row.Values())

	_, err = execute(t, pool, "select 1 as a").Columns(1.5).First()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "float64: give a name (string) or a position (int)")
	_, err = execute(t, pool, "select 1 as a").Columns(3).First()
	assert.ErrorIs(t, err, buffered.ErrNoColumn)
}

func TestMappings_HaveKeysAndColumns(t *testing.T) {
	pool := testdb.Pool(t)
	maps := execute(t, pool, "select 1 as a, 2 as b, 3 as c").Mappings()
	assert.Equal(t, []string{"a", "b", "c"}, maps.Keys())
	proj := maps.Columns("c", 0)
	assert.Equal(t, []string{"c", "a"}, proj.Keys())
	m, err := proj.One()
	require.NoError(t, err)
	assert.Equal(t, buffered.Mapping{"c": int32(3), "a": int32(1)}, m)
}

func TestScalars_TakesAColumn(t *testing.T) {
	pool := testdb.Pool(t)
	assert.Equal(t, []any{"n1", "n2", "n3", "n4", "n5"}, execute(t, pool, fiveRows).Scalars("name").All())
	assert.Equal(t, []any{"n1", "n2", "n3", "n4", "n5"}, execute(t, pool, fiveRows).Scalars(1).All())
	res := execute(t, pool, fiveRows)
	assert.Nil(t, res.Scalars("id", "name").All())
	assert.Contains(t, res.Scalars("id", "name").Err().Error(), "at most one column")
}

func TestFetchAll_IsAll(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	res.FetchOne()
	assert.Equal(t, seq(2, 5), firstInts(t, res.FetchAll()))
	assert.Empty(t, res.FetchAll(), "exhausted")
	assert.NoError(t, res.Err())
}

func TestFetchManyAndPartitions_ZeroMeansTheDefaultSize(t *testing.T) {
	pool := testdb.Pool(t)
	const rows = "select g from generate_series(1, 2500) g"
	res := execute(t, pool, rows)
	assert.Len(t, res.FetchMany(0), buffered.DefaultFetchSize)
	require.NoError(t, res.Err())
	var sizes []int
	for chunk, err := range execute(t, pool, rows).Partitions(0) {
		require.NoError(t, err)
		sizes = append(sizes, len(chunk))
	}
	assert.Equal(t, []int{1000, 1000, 500}, sizes)
}

func TestRowsAndPartitions_RecordTheirErrorInErr(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	res.Close()
	var yielded error
	for _, err := range res.Rows() {
		yielded = err
	}
	require.ErrorIs(t, yielded, buffered.ErrClosed)
	assert.Equal(t, yielded, res.Err(), "Rows")

	res = execute(t, pool, fiveRows)
	res.Close()
	for _, err := range res.Partitions(2) {
		yielded = err
	}
	require.ErrorIs(t, yielded, buffered.ErrClosed)
	assert.Equal(t, yielded, res.Err(), "Partitions")
}

func TestUnique_ChangesTheResultInPlace(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 1 from generate_series(1, 3)")
	res.Unique() // the reference's idiom: result.unique(); result.all()
	assert.Len(t, res.All(), 1)

	res = execute(t, pool, dupRows)
	u := res.Unique()
	assert.Same(t, res.RowView, u, "Unique returns the receiver")
	scalars := execute(t, pool, "select 1 from generate_series(1, 3)").Scalars()
	scalars.Unique()
	assert.Len(t, scalars.All(), 1, "views too")
}

func TestErrNoRows_IsSQLAndPgxNoRows(t *testing.T) {
	pool := testdb.Pool(t)
	_, err := execute(t, pool, "select 1 where false").One()
	require.ErrorIs(t, err, buffered.ErrNoRows)
	assert.ErrorIs(t, err, sql.ErrNoRows, "database/sql callers check this")
	assert.ErrorIs(t, err, pgx.ErrNoRows, "pgx callers check this")
	assert.NotErrorIs(t, buffered.ErrMultipleRows, sql.ErrNoRows)
	assert.Equal(t, "buffered: One: no row was found when one was required", err.Error())
	assert.True(t, errors.Is(buffered.ErrNoRows, sql.ErrNoRows))
}

func TestErrors_ShareOnePrefixStyle(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	res.Close()
	_, err := res.First()
	assert.Equal(t, "buffered: First: this result is closed", err.Error())
	res = execute(t, pool, fiveRows)
	assert.Nil(t, res.FetchMany(-1))
	assert.Regexp(t, `^buffered: FetchMany: `, res.Err().Error())
	_, err = execute(t, pool, fiveRows).Columns("nope").First()
	assert.Regexp(t, `^buffered: First: Columns: no such column "nope"`, err.Error())
}

func TestUniqueBy_AKeyThatPanicsOnADerivedViewIsAnError(t *testing.T) {
	pool := testdb.Pool(t)
	second := func(r buffered.Row) any { return r.At(1) } // a Scalars view has one column
	view := execute(t, pool, fourRows).UniqueBy(second).Scalars()
	var got []any
	assert.NotPanics(t, func() { got = view.All() })
	assert.Nil(t, got)
	require.Error(t, view.Err())
	assert.Contains(t, view.Err().Error(), "UniqueBy: the key function panicked")
	assert.Contains(t, view.Err().Error(), "1 column(s)")
}

func TestFetchManyAndPartitions_ZeroMeansTheResultsFetchSize(t *testing.T) {
	pool := testdb.Pool(t)
	// a RowView over real rows with a fetch size of its own, as a stream
	// passes its batch size (the reference's yield_per)
	rows, err := pool.Query(context.Background(), "select g from generate_series(1, 10) g")
	require.NoError(t, err)
	fields := rows.FieldDescriptions()
	b := buffered.NewBlock(len(fields), 10, 0)
	for rows.Next() {
		b.AppendRow(rows.RawValues())
	}
	require.NoError(t, rows.Err())
	src := &fakeSource{blocks: []*buffered.Block{b}}
	v := buffered.NewRowView(fields, nil, src, buffered.ViewOptions{FetchSize: 4})
	assert.Len(t, v.FetchMany(0), 4)
	var sizes []int
	for chunk, err := range v.Partitions(0) {
		require.NoError(t, err)
		sizes = append(sizes, len(chunk))
	}
	assert.Equal(t, []int{4, 2}, sizes)
	assert.Nil(t, v.FetchMany(-1))
	assert.Contains(t, v.Err().Error(), "the default, 4")
}
