package buffered_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

// 100k rows: All decodes them on several goroutines (when GOMAXPROCS > 1);
// the answer must be what reading row by row gives.
const manyRows = "select g as id, 'n'||g as name, case when g % 7 = 0 then null else g * 2 end as twice from generate_series(1, 100000) g"

type many struct {
	ID    int32
	Name  string
	Twice *int32
}

func TestAll_LargeResult_SameAsRowByRow(t *testing.T) {
	pool := testdb.Pool(t)
	got := buffered.Structs[many](execute(t, pool, manyRows)).All()
	var want []many
	for m, err := range buffered.Structs[many](execute(t, pool, manyRows)).Rows() {
		require.NoError(t, err)
		want = append(want, m)
	}
	require.Len(t, got, 100000)
	assert.Equal(t, want, got)

	rows := execute(t, pool, manyRows).All()
	require.Len(t, rows, 100000)
	assert.Equal(t, []any{int32(70000), "n70000", nil}, rows[69999].Values())
	ids := buffered.ScalarsOf[int64](execute(t, pool, manyRows)).All()
	assert.Equal(t, int64(100000), ids[99999])
}

func TestAll_LargeResult_PartlyReadKeepsTheRest(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, manyRows)
	head := res.FetchMany(1500) // across a block boundary
	require.Len(t, head, 1500)
	rest := buffered.Structs[many](res).All()
	require.NoError(t, res.Err())
	require.Len(t, rest, 98500)
	assert.Equal(t, int32(1501), rest[0].ID)
	assert.Empty(t, res.All(), "exhausted afterwards")
}

func TestAll_LargeResult_DecodeErrorOfTheEarliestRow(t *testing.T) {
	pool := testdb.Pool(t)
	type strict struct {
		ID    int32
		Name  string
		Twice int32 // NULL every 7th row cannot go here
	}
	res := execute(t, pool, manyRows)
	assert.Nil(t, buffered.Structs[strict](res).All())
	var de *buffered.DecodeError
	require.True(t, errors.As(res.Err(), &de), "%v", res.Err())
	assert.Equal(t, "twice", de.Column)
	// the first NULL is in row 7: the sequential path would have stopped there
	res2 := execute(t, pool, manyRows)
	n := 0
	for _, err := range buffered.Structs[strict](res2).Rows() {
		if err != nil {
			assert.Equal(t, err.Error()[len("buffered: Rows"):], res.Err().Error()[len("buffered: All"):], "same error as row by row")
			break
		}
		n++
	}
	assert.Equal(t, 6, n)
}
