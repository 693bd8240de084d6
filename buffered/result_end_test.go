package buffered_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

// The two ways a result ends, as in the reference: exhausted (the rows ran
// out: later fetches return nothing, without error) and closed (Close or a
// one-answer method: later reads fail with ErrClosed, never a silent empty
// answer).

// exhausters are the ways to run a result to its end.
var exhausters = []struct {
	name string
	run  func(t *testing.T, res *buffered.Result)
}{
	{"All", func(t *testing.T, res *buffered.Result) {
		assert.Len(t, res.All(), 3)
	}},
	{"Rows to the end", func(t *testing.T, res *buffered.Result) {
		n := 0
		for _, err := range res.Rows() {
			require.NoError(t, err)
			n++
		}
		assert.Equal(t, 3, n)
	}},
	{"Partitions to the end", func(t *testing.T, res *buffered.Result) {
		n := 0
		for chunk, err := range res.Partitions(2) {
			require.NoError(t, err)
			n += len(chunk)
		}
		assert.Equal(t, 3, n)
	}},
	{"FetchOne until false", func(t *testing.T, res *buffered.Result) {
		n := 0
		for {
			if _, ok := res.FetchOne(); !ok {
				break
			}
			n++
		}
		assert.Equal(t, 3, n)
	}},
	{"FetchMany past the end", func(t *testing.T, res *buffered.Result) {
		assert.Len(t, res.FetchMany(10), 3)
		assert.Empty(t, res.FetchMany(10))
	}},
	{"Scalars().All()", func(t *testing.T, res *buffered.Result) {
		assert.Len(t, res.Scalars().All(), 3)
	}},
	{"Mappings() iterated", func(t *testing.T, res *buffered.Result) {
		n := 0
		for _, err := range res.Mappings().Rows() {
			require.NoError(t, err)
			n++
		}
		assert.Equal(t, 3, n)
	}},
	{"Freeze", func(t *testing.T, res *buffered.Result) {
		f, err := res.Freeze()
		require.NoError(t, err)
		assert.Equal(t, 3, f.Len())
	}},
}

func TestResult_Exhausted_LaterFetchesReturnNothingWithoutError(t *testing.T) {
	pool := testdb.Pool(t)
	for _, ex := range exhausters {
		t.Run(ex.name, func(t *testing.T) {
			res := execute(t, pool, "select g from generate_series(1, 3) g")
			ex.run(t, res)
			require.NoError(t, res.Err())
			assert.False(t, res.Closed(), "exhausted is not closed")

			all := res.All()
			assert.NotNil(t, all)
			assert.Empty(t, all)
			assert.NoError(t, res.Err(), "All")

			_, ok := res.FetchOne()
			assert.False(t, ok)
			assert.NoError(t, res.Err(), "FetchOne")

			many := res.FetchMany(5)
			assert.NotNil(t, many)
			assert.Empty(t, many)
			assert.NoError(t, res.Err(), "FetchMany")

			for range res.Rows() {
				t.Error("Rows yielded after exhaustion")
			}
			for range res.Partitions(2) {
				t.Error("Partitions yielded after exhaustion")
			}
			assert.Empty(t, res.Scalars().All())
			assert.Empty(t, res.Mappings().All())
			assert.Empty(t, buffered.ScalarsOf[int32](res).All())
			assert.NoError(t, res.Err())

			f, err := res.Freeze()
			require.NoError(t, err)
			assert.Equal(t, 0, f.Len())
			assert.Empty(t, f.Result().All())

			assert.False(t, res.Closed())
		})
	}
}

func TestResult_Exhausted_OneAnswerMethodsFindNoRowThenClose(t *testing.T) {
	pool := testdb.Pool(t)
	exhaust := func() *buffered.Result {
		res := execute(t, pool, "select g from generate_series(1, 3) g")
		res.All()
		return res
	}

	res := exhaust()
	_, err := res.First()
	assert.ErrorIs(t, err, buffered.ErrNoRows)
	assert.True(t, res.Closed())

	res = exhaust()
	_, err = res.One()
	assert.ErrorIs(t, err, buffered.ErrNoRows)

	res = exhaust()
	_, found, err := res.OneOrNone()
	assert.NoError(t, err)
	assert.False(t, found)

	res = exhaust()
	_, err = res.Scalar()
	assert.ErrorIs(t, err, buffered.ErrNoRows)

	res = exhaust()
	_, err = res.ScalarOne()
	assert.ErrorIs(t, err, buffered.ErrNoRows)

	res = exhaust()
	_, found, err = res.ScalarOneOrNone()
	assert.NoError(t, err)
	assert.False(t, found)
	assert.True(t, res.Closed())
	_, err = res.First()
	assert.ErrorIs(t, err, buffered.ErrClosed, "exhausted, then closed: closed wins")
}

// closers are the ways to close a result: Close and the methods that read one
// answer, on a one-row result (where they succeed) and on a three-row result.
var closers = []struct {
	name string
	run  func(res *buffered.Result) error
}{
	{"Close", func(res *buffered.Result) error { res.Close(); return nil }},
	{"First", func(res *buffered.Result) error { _, err := res.First(); return err }},
	{"One", func(res *buffered.Result) error { _, err := res.One(); return err }},
	{"OneOrNone", func(res *buffered.Result) error { _, _, err := res.OneOrNone(); return err }},
	{"Scalar", func(res *buffered.Result) error { _, err := res.Scalar(); return err }},
	{"ScalarOne", func(res *buffered.Result) error { _, err := res.ScalarOne(); return err }},
	{"ScalarOneOrNone", func(res *buffered.Result) error { _, _, err := res.ScalarOneOrNone(); return err }},
	{"Scalars().First", func(res *buffered.Result) error { _, err := res.Scalars().First(); return err }},
	{"Mappings().One", func(res *buffered.Result) error { _, err := res.Mappings().One(); return err }},
	{"Columns().OneOrNone", func(res *buffered.Result) error { _, _, err := res.Columns("g").OneOrNone(); return err }},
	{"ScalarsOf.Close", func(res *buffered.Result) error { buffered.ScalarsOf[int32](res).Close(); return nil }},
}

func TestResult_Closed_EveryLaterReadFailsWithErrClosed(t *testing.T) {
	pool := testdb.Pool(t)
	for _, rowsIn := range []int{1, 3, 0} {
		for _, cl := range closers {
			t.Run(cl.name, func(t *testing.T) {
				res := execute(t, pool, "select g from generate_series(1, $1::int) g", rowsIn)
				err := cl.run(res)
				if rowsIn == 1 {
					require.NoError(t, err, "one row: %s succeeds", cl.name)
				}
				assert.True(t, res.Closed(), "%s closes (rows=%d, err=%v)", cl.name, rowsIn, err)
				assertClosed(t, res)
			})
		}
	}
}

// assertClosed checks that every read of res (and of views made from it)
// fails with ErrClosed.
func assertClosed(t *testing.T, res *buffered.Result) {
	t.Helper()
	assert.True(t, res.Closed())

	assert.Nil(t, res.All(), "All")
	assert.ErrorIs(t, res.Err(), buffered.ErrClosed, "Err after All")

	row, ok := res.FetchOne()
	assert.False(t, ok)
	assert.Nil(t, row.Values())
	assert.ErrorIs(t, res.Err(), buffered.ErrClosed, "Err after FetchOne")

	assert.Nil(t, res.FetchMany(2), "FetchMany")
	assert.ErrorIs(t, res.Err(), buffered.ErrClosed, "Err after FetchMany")

	n := 0
	for _, err := range res.Rows() {
		n++
		assert.ErrorIs(t, err, buffered.ErrClosed, "Rows")
	}
	assert.Equal(t, 1, n, "Rows yields the error once")

	n = 0
	for chunk, err := range res.Partitions(2) {
		n++
		assert.Nil(t, chunk)
		assert.ErrorIs(t, err, buffered.ErrClosed, "Partitions")
	}
	assert.Equal(t, 1, n, "Partitions yields the error once")

	_, err := res.First()
	assert.ErrorIs(t, err, buffered.ErrClosed, "First")
	_, err = res.One()
	assert.ErrorIs(t, err, buffered.ErrClosed, "One")
	_, found, err := res.OneOrNone()
	assert.False(t, found)
	assert.ErrorIs(t, err, buffered.ErrClosed, "OneOrNone")
	v, err := res.Scalar()
	assert.Nil(t, v)
	assert.ErrorIs(t, err, buffered.ErrClosed, "Scalar")
	_, err = res.ScalarOne()
	assert.ErrorIs(t, err, buffered.ErrClosed, "ScalarOne")
	_, found, err = res.ScalarOneOrNone()
	assert.False(t, found)
	assert.ErrorIs(t, err, buffered.ErrClosed, "ScalarOneOrNone")

	f, err := res.Freeze()
	assert.Nil(t, f)
	assert.ErrorIs(t, err, buffered.ErrClosed, "Freeze")

	// views made after the close share the closed result
	sc := res.Scalars()
	assert.Nil(t, sc.All())
	assert.ErrorIs(t, sc.Err(), buffered.ErrClosed, "Scalars().All")
	mp := res.Mappings()
	_, ok = mp.FetchOne()
	assert.False(t, ok)
	assert.ErrorIs(t, mp.Err(), buffered.ErrClosed, "Mappings().FetchOne")
	_, err = res.Columns("g").First()
	assert.ErrorIs(t, err, buffered.ErrClosed, "Columns().First")
	_, err = res.Unique().One()
	assert.ErrorIs(t, err, buffered.ErrClosed, "Unique().One")
	typed := buffered.ScalarsOf[int32](res)
	assert.Nil(t, typed.FetchMany(1))
	assert.ErrorIs(t, typed.Err(), buffered.ErrClosed, "ScalarsOf.FetchMany")
	type g struct{ G int32 }
	_, err = buffered.Structs[g](res).First()
	assert.ErrorIs(t, err, buffered.ErrClosed, "Structs.First")

	assert.True(t, res.Closed(), "still closed")
}

func TestResult_Closed_ViewCloseClosesTheResult(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select g from generate_series(1, 3) g")
	view := res.Mappings()
	view.Close()
	assert.True(t, view.Closed())
	assert.True(t, res.Closed(), "a view's Close closes the shared read position")
	assertClosed(t, res)
}

func TestResult_Closed_ErrClosedNamesTheMethod(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 1")
	res.Close()
	_, err := res.One()
	require.ErrorIs(t, err, buffered.ErrClosed)
	assert.Contains(t, err.Error(), "One")
	res.FetchMany(3)
	assert.Contains(t, res.Err().Error(), "FetchMany")
}

func TestResult_Closed_RowsReadBeforeTheCloseStayValid(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select g, 'v' || g from generate_series(1, 3) g")
	rows := res.FetchMany(2)
	res.Close()
	assert.Equal(t, [][]any{{int32(1), "v1"}, {int32(2), "v2"}}, values(rows))
}
