package buffered_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

// assertNotReturningRows checks that every read of a DML result without
// RETURNING fails with ErrNotReturningRows.
func assertNotReturningRows(t *testing.T, res *buffered.Result) {
	t.Helper()
	assert.False(t, res.ReturnsRows())
	assert.Equal(t, 0, res.Len())
	assert.Empty(t, res.Keys())

	assert.Nil(t, res.All())
	assert.ErrorIs(t, res.Err(), buffered.ErrNotReturningRows, "All")
	_, ok := res.FetchOne()
	assert.False(t, ok)
	assert.ErrorIs(t, res.Err(), buffered.ErrNotReturningRows, "FetchOne")
	assert.Nil(t, res.FetchMany(3))
	assert.ErrorIs(t, res.Err(), buffered.ErrNotReturningRows, "FetchMany")
	for _, err := range res.Rows() {
		assert.ErrorIs(t, err, buffered.ErrNotReturningRows, "Rows")
	}
	for _, err := range res.Partitions(2) {
		assert.ErrorIs(t, err, buffered.ErrNotReturningRows, "Partitions")
	}
	_, err := res.Freeze()
	assert.ErrorIs(t, err, buffered.ErrNotReturningRows, "Freeze")
	assert.Nil(t, res.Mappings().All())
	assert.ErrorIs(t, res.Err(), buffered.ErrNotReturningRows, "Mappings")
	_, err = res.First()
	assert.ErrorIs(t, err, buffered.ErrNotReturningRows, "First")
	assert.NotErrorIs(t, err, buffered.ErrNoRows)
}

func TestResult_InsertWithoutReturning(t *testing.T) {
	pool := testdb.Pool(t)
	tbl := table(t, pool, "id int primary key", "name text")
	res := execute(t, pool, "insert into "+tbl+" select g, 'n' || g from generate_series(1, 3) g")
	assert.Equal(t, "INSERT 0 3", res.CommandTag().String())
	assert.True(t, res.CommandTag().Insert())
	assert.Equal(t, int64(3), res.RowsAffected())
	assertNotReturningRows(t, res)
}

func TestResult_UpdateWithoutReturning(t *testing.T) {
	pool := testdb.Pool(t)
	tbl := table(t, pool, "id int primary key", "name text")
	execute(t, pool, "insert into "+tbl+" select g, 'n' || g from generate_series(1, 5) g")
	res := execute(t, pool, "update "+tbl+" set name = upper(name) where id > 2")
	assert.Equal(t, "UPDATE 3", res.CommandTag().String())
	assert.Equal(t, int64(3), res.RowsAffected())
	assertNotReturningRows(t, res)

	none := execute(t, pool, "update "+tbl+" set name = 'x' where false")
	assert.Equal(t, int64(0), none.RowsAffected())
	assertNotReturningRows(t, none)
}

func TestResult_DeleteWithoutReturning(t *testing.T) {
	pool := testdb.Pool(t)
	tbl := table(t, pool, "id int primary key")
	execute(t, pool, "insert into "+tbl+" select generate_series(1, 4)")
	res := execute(t, pool, "delete from "+tbl+" where id % 2 = 0")
	assert.Equal(t, "DELETE 2", res.CommandTag().String())
	assert.True(t, res.CommandTag().Delete())
	assert.Equal(t, int64(2), res.RowsAffected())
	assertNotReturningRows(t, res)
}

func TestResult_DDLDoesNotReturnRows(t *testing.T) {
	pool := testdb.Pool(t)
	tbl := table(t, pool, "id int")
	res := execute(t, pool, "alter table "+tbl+" add column extra text")
	assert.Equal(t, "ALTER TABLE", res.CommandTag().String())
	assert.Equal(t, int64(0), res.RowsAffected())
	assertNotReturningRows(t, res)
}

func TestResult_InsertReturning(t *testing.T) {
	pool := testdb.Pool(t)
	tbl := table(t, pool, "id serial primary key", "name text")
	res := execute(t, pool, "insert into "+tbl+" (name) values ('a'), ('b') returning id, name")
	assert.True(t, res.ReturnsRows())
	assert.Equal(t, "INSERT 0 2", res.CommandTag().String())
	assert.Equal(t, int64(2), res.RowsAffected())
	assert.Equal(t, 2, res.Len())
	assert.Equal(t, []string{"id", "name"}, res.Keys())
	assert.Equal(t, [][]any{{int32(1), "a"}, {int32(2), "b"}}, values(res.All()))
	require.NoError(t, res.Err())
}

func TestResult_UpdateReturning(t *testing.T) {
	pool := testdb.Pool(t)
	tbl := table(t, pool, "id int primary key", "name text")
	execute(t, pool, "insert into "+tbl+" select g, 'n' || g from generate_series(1, 3) g")
	res := execute(t, pool, "update "+tbl+" set name = upper(name) where id >= 2 returning name")
	assert.True(t, res.ReturnsRows())
	assert.Equal(t, "UPDATE 2", res.CommandTag().String())
	names := buffered.ScalarsOf[string](res).All()
	assert.ElementsMatch(t, []string{"N2", "N3"}, names)
}

func TestResult_DeleteReturningNothingMatchedIsAnEmptyRowResult(t *testing.T) {
	pool := testdb.Pool(t)
	tbl := table(t, pool, "id int primary key")
	res := execute(t, pool, "delete from "+tbl+" where id = 1 returning id")
	assert.True(t, res.ReturnsRows(), "RETURNING makes it a row result, even with no rows")
	assert.Equal(t, "DELETE 0", res.CommandTag().String())
	assert.Equal(t, []string{"id"}, res.Keys())
	_, err := res.One()
	assert.ErrorIs(t, err, buffered.ErrNoRows)
}

func TestResult_SelectCommandTag(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, fiveRows)
	assert.Equal(t, "SELECT 5", res.CommandTag().String())
	assert.True(t, res.CommandTag().Select())
	assert.Equal(t, int64(5), res.RowsAffected())
	assert.True(t, res.ReturnsRows())
	empty := execute(t, pool, "select 1 where false")
	assert.Equal(t, "SELECT 0", empty.CommandTag().String())
	assert.True(t, empty.ReturnsRows())
}
