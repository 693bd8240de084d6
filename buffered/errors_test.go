package buffered_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

const noRows = "select g from generate_series(1, 3) g where false"

// oneAnswer is a method that reads one answer and closes the result: it
// returns the answer's values (nil for none) and whether it found one.
type oneAnswer struct {
	op   string // what the error names
	call func(*buffered.Result) (vals any, found bool, err error)
}

func rowAnswer(row buffered.Row, err error) (any, bool, error) {
	return row.Values(), row.Values() != nil, err
}

var (
	first     = oneAnswer{"First", func(r *buffered.Result) (any, bool, error) { return rowAnswer(r.First()) }}
	one       = oneAnswer{"One", func(r *buffered.Result) (any, bool, error) { return rowAnswer(r.One()) }}
	oneOrNone = oneAnswer{"OneOrNone", func(r *buffered.Result) (any, bool, error) {
		row, found, err := r.OneOrNone()
		return row.Values(), found, err
	}}
	scalar          = oneAnswer{"Scalar", func(r *buffered.Result) (any, bool, error) { v, err := r.Scalar(); return v, v != nil, err }}
	scalarOne       = oneAnswer{"ScalarOne", func(r *buffered.Result) (any, bool, error) { v, err := r.ScalarOne(); return v, v != nil, err }}
	scalarOneOrNone = oneAnswer{"ScalarOneOrNone", func(r *buffered.Result) (any, bool, error) {
		return r.ScalarOneOrNone()
	}}
	scalarsFirst = oneAnswer{"First", func(r *buffered.Result) (any, bool, error) { v, err := r.Scalars().First(); return v, v != nil, err }}
	mappingsOne  = oneAnswer{"One", func(r *buffered.Result) (any, bool, error) { m, err := r.Mappings().One(); return m, m != nil, err }}
	typedOne     = oneAnswer{"One", func(r *buffered.Result) (any, bool, error) {
		v, err := buffered.ScalarsOf[int64](r).One()
		return v, v != 0, err
	}}
)

func TestOneAnswerMethods_NoRows(t *testing.T) {
	pool := testdb.Pool(t)
	for name, m := range map[string]oneAnswer{
		"First": first, "One": one, "Scalar": scalar, "ScalarOne": scalarOne,
		"Scalars().First": scalarsFirst, "Mappings().One": mappingsOne, "ScalarsOf.One": typedOne,
	} {
		t.Run(name, func(t *testing.T) {
			res := execute(t, pool, noRows)
			vals, found, err := m.call(res)
			require.ErrorIs(t, err, buffered.ErrNoRows)
			assert.NotErrorIs(t, err, buffered.ErrMultipleRows)
			assert.Contains(t, err.Error(), m.op)
			assert.False(t, found)
			assert.Empty(t, vals)
			assert.True(t, res.Closed(), "the end hard-closes before the error, as in the reference")
		})
	}
	for name, m := range map[string]oneAnswer{"OneOrNone": oneOrNone, "ScalarOneOrNone": scalarOneOrNone} {
		t.Run(name, func(t *testing.T) {
			res := execute(t, pool, noRows)
			vals, found, err := m.call(res)
			require.NoError(t, err, "none is an answer")
			assert.False(t, found)
			assert.Empty(t, vals)
			assert.True(t, res.Closed())
		})
	}
}

func TestOneAnswerMethods_MoreThanOneRow(t *testing.T) {
	pool := testdb.Pool(t)
	for name, m := range map[string]oneAnswer{
		"One": one, "OneOrNone": oneOrNone, "ScalarOne": scalarOne, "ScalarOneOrNone": scalarOneOrNone,
		"Mappings().One": mappingsOne, "ScalarsOf.One": typedOne,
	} {
		t.Run(name, func(t *testing.T) {
			res := execute(t, pool, "select g from generate_series(1, 3) g")
			vals, found, err := m.call(res)
			require.ErrorIs(t, err, buffered.ErrMultipleRows)
			assert.NotErrorIs(t, err, buffered.ErrNoRows)
			assert.Contains(t, err.Error(), m.op)
			assert.False(t, found, "no row is returned with the error")
			assert.Empty(t, vals)
			assert.True(t, res.Closed())
		})
	}
}

func TestResult_One_MoreThanOneRowLeftAfterEarlierReads(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select g from generate_series(1, 4) g")
	res.FetchMany(2)
	_, err := res.One()
	assert.ErrorIs(t, err, buffered.ErrMultipleRows, "two rows remain")

	res = execute(t, pool, "select g from generate_series(1, 4) g")
	res.FetchMany(3)
	row, err := res.One()
	require.NoError(t, err, "one row remains")
	assert.Equal(t, int32(4), row.At(0))
}

func TestResult_Columns_UnknownNameIsErrNoColumnNamingItAndTheRealOnes(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 1 as id, 'x' as name")
	view := res.Columns("name", "nmae")
	rows := view.All()
	assert.Nil(t, rows)
	err := view.Err()
	require.ErrorIs(t, err, buffered.ErrNoColumn)
	assert.Contains(t, err.Error(), `"nmae"`)
	assert.Contains(t, err.Error(), `"id", "name"`)

	_, err = view.First()
	require.ErrorIs(t, err, buffered.ErrNoColumn)
	assert.Contains(t, err.Error(), `"nmae"`)

	// every view made from a bad projection fails the same way
	assert.Nil(t, view.Scalars().All())
	assert.ErrorIs(t, view.Scalars().Err(), buffered.ErrNoColumn)
	assert.ErrorIs(t, view.Mappings().Err(), buffered.ErrNoColumn)
	assert.ErrorIs(t, view.Columns("id").Err(), buffered.ErrNoColumn)
	_, err = view.Freeze()
	assert.ErrorIs(t, err, buffered.ErrNoColumn)
	_, err = buffered.ScalarsOf[int](view).One()
	assert.ErrorIs(t, err, buffered.ErrNoColumn)
}

func TestResult_Columns_UnknownNameInAProjectionListsOnlyItsColumns(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 1 as a, 2 as b, 3 as c")
	err := res.Columns("c", "a").Columns("b").Err()
	require.ErrorIs(t, err, buffered.ErrNoColumn)
	assert.Contains(t, err.Error(), `"b"`)
	assert.Contains(t, err.Error(), `"c", "a"`)
}

func TestResult_Columns_UnknownNameDoesNotConsumeOnItsOwn(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select g from generate_series(1, 3) g")
	bad := res.Columns("nope")
	assert.Nil(t, bad.FetchMany(2))
	assert.ErrorIs(t, bad.Err(), buffered.ErrNoColumn)
	assert.Equal(t, seq(1, 3), firstInts(t, res.All()), "the failed reads took no rows")
}

func TestResult_ColumnsAt_OutOfRangeIsErrNoColumn(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 1 as a, 2 as b")
	for _, idx := range []int{2, -1, 100} {
		view := res.ColumnsAt(0, idx)
		assert.Nil(t, view.All())
		err := view.Err()
		require.ErrorIs(t, err, buffered.ErrNoColumn, "index %d", idx)
		assert.Contains(t, err.Error(), "index")
		assert.Contains(t, err.Error(), `"a", "b"`)
	}
	// indexes count in the view's own columns
	err := res.Columns("b").ColumnsAt(1).Err()
	assert.ErrorIs(t, err, buffered.ErrNoColumn)
}

func TestResult_Scalars_OnAResultWithNoColumnsIsErrNoColumn(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select from generate_series(1, 2)")
	assert.Empty(t, res.Keys())
	assert.Equal(t, 2, res.Len())
	_, err := res.Scalar()
	assert.ErrorIs(t, err, buffered.ErrNoColumn)
	_, err = buffered.ScalarsOf[int](execute(t, pool, "select from generate_series(1, 2)")).First()
	assert.ErrorIs(t, err, buffered.ErrNoColumn)
}

func TestScalarsOf_NullIntoNonPointerIsDecodeErrorNamingTheColumn(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select v as score from (values (1), (null), (3)) t(v)")
	view := buffered.ScalarsOf[int64](res)
	vals := view.All()
	assert.Nil(t, vals, "no partial answer")
	err := view.Err()
	require.Error(t, err)
	var de *buffered.DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "score", de.Column)
	assert.Equal(t, "int4", de.Type)
	assert.Equal(t, "int64", de.Target)
	assert.Contains(t, err.Error(), `"score"`)
	assert.Contains(t, err.Error(), "NULL")

	// the failure is sticky: it ends the result for every view
	assert.Nil(t, res.All())
	assert.ErrorAs(t, res.Err(), &de)
	_, err = res.First()
	assert.ErrorAs(t, err, &de)
}

func TestScalarsOf_OutOfRangeIsDecodeError(t *testing.T) {
	pool := testdb.Pool(t)
	_, err := buffered.ScalarsOf[int8](execute(t, pool, "select 300 as n")).One()
	var de *buffered.DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "n", de.Column)
	assert.Equal(t, "int8", de.Target)
}

func TestScalarsOf_FirstRowOKThenNullFailsOnThatRow(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select v from (values (1), (null)) t(v)")
	view := buffered.ScalarsOf[int32](res)
	v, ok := view.FetchOne()
	require.True(t, ok)
	assert.Equal(t, int32(1), v)
	_, ok = view.FetchOne()
	assert.False(t, ok)
	var de *buffered.DecodeError
	assert.ErrorAs(t, view.Err(), &de)
}

func TestUniqueBy_NonComparableKeyIsAnErrorNotAPanic(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select g from generate_series(1, 3) g")
	view := res.UniqueBy(func(r buffered.Row) any { return []any{r.At(0)} })
	var rows []buffered.Row
	assert.NotPanics(t, func() { rows = view.All() })
	assert.Nil(t, rows)
	err := view.Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "UniqueBy")
	assert.Contains(t, err.Error(), "comparable")
}

func TestUniqueBy_ComparableTypeHoldingASliceIsAnErrorNotAPanic(t *testing.T) {
	pool := testdb.Pool(t)
	type key struct{ v any }
	res := execute(t, pool, "select g from generate_series(1, 3) g")
	view := buffered.ScalarsOf[int32](res).UniqueBy(func(x int32) any { return key{[]int32{x}} })
	assert.NotPanics(t, func() {
		_, err := view.First()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "UniqueBy")
	})
}

func TestResult_ServerErrorMidResultIsPgErrorAndNoResult(t *testing.T) {
	pool := testdb.Pool(t)
	rows, err := pool.Query(context.Background(), "select 1/(g-3) from generate_series(1, 5) g")
	require.NoError(t, err, "the error comes with the third row")
	res, err := buffered.FromRows(rows)
	assert.Nil(t, res, "no partial Result")
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "got %T: %v", err, err)
	assert.Equal(t, "22012", pgErr.Code)
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns(), "the connection went back")

	// and the connection is healthy
	assert.Equal(t, [][]any{{int32(1)}}, pgxValues(t, pool, "select 1"))
}

func TestResult_ColumnsAt_OfABadProjectionKeepsItsError(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 1 as a")
	err := res.Columns("nope").ColumnsAt(0).Err()
	require.ErrorIs(t, err, buffered.ErrNoColumn)
	assert.Contains(t, err.Error(), `"nope"`, "the first error is kept")
}

func TestScalarsOf_UnknownTypeNamesItsOID(t *testing.T) {
	pool := testdb.Pool(t)
	typ := table(t, pool, "x int")
	_, err := pool.Exec(context.Background(), "drop table "+typ+"; create type "+typ+" as enum ('happy')")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), "drop type "+typ)
		require.NoError(t, err)
	})
	res := execute(t, pool, "select 'happy'::"+typ+" as mood")
	oid := res.ColumnTypes()[0].TypeOID
	_, err = buffered.ScalarsOf[int](res).One()
	var de *buffered.DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "mood", de.Column)
	assert.Equal(t, fmt.Sprintf("oid %d", oid), de.Type, "a type pgx does not know is named by its OID")
	assert.NotNil(t, errors.Unwrap(de), "the cause is kept")
}

func TestResult_One_DecodeErrorOnTheSecondRowIsReportedNotErrMultipleRows(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select v from (values (1), (null)) t(v)")
	_, err := buffered.ScalarsOf[int32](res).One()
	var de *buffered.DecodeError
	require.ErrorAs(t, err, &de)
	assert.NotErrorIs(t, err, buffered.ErrMultipleRows)
}

func TestView_Partitions_DecodeErrorArrivesAfterTheChunksBeforeIt(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select v from (values (1), (2), (3), (null), (5)) t(v)")
	var chunks [][]int32
	var errs []error
	for chunk, err := range buffered.ScalarsOf[int32](res).Partitions(2) {
		if err != nil {
			errs = append(errs, err)
			assert.Nil(t, chunk)
			continue
		}
		chunks = append(chunks, chunk)
	}
	assert.Equal(t, [][]int32{{1, 2}}, chunks, "the partial chunk [3] is not passed off as complete")
	require.Len(t, errs, 1)
	var de *buffered.DecodeError
	assert.ErrorAs(t, errs[0], &de)
	assert.ErrorAs(t, res.Err(), &de)
}

func TestView_All_DecodeErrorReturnsNilNotPartOfTheRows(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select v from (values (1), (2), (null)) t(v)")
	view := buffered.ScalarsOf[int32](res)
	assert.Nil(t, view.All())
	assert.Error(t, view.Err())
	res = execute(t, pool, "select v from (values (1), (2), (null)) t(v)")
	view = buffered.ScalarsOf[int32](res)
	assert.Nil(t, view.FetchMany(5), "FetchMany too")
	assert.Error(t, view.Err())
}
