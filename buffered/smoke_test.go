package buffered_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

func TestResult_Smoke(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select g as id, 'n'||g as name, null::int as nothing from generate_series(1,5) g")
	assert.Equal(t, 5, res.Len())
	assert.Equal(t, []string{"id", "name", "nothing"}, res.Keys())
	all := res.All()
	require.Len(t, all, 5)
	assert.Equal(t, []any{int32(1), "n1", nil}, all[0].Values())
	assert.Empty(t, res.All(), "exhausted: empty, no error")
	require.NoError(t, res.Err())

	res = execute(t, pool, "select g as id, 'n'||g as name from generate_series(1,5) g")
	type rec struct {
		ID   int64
		Name string
	}
	recs := buffered.Structs[rec](res).All()
	require.NoError(t, res.Err())
	assert.Equal(t, rec{3, "n3"}, recs[2])

	res = execute(t, pool, "select 1")
	_, err := res.One()
	require.NoError(t, err)
	_, err = res.One()
	require.ErrorIs(t, err, buffered.ErrClosed)
	assert.Nil(t, res.All())
	require.ErrorIs(t, res.Err(), buffered.ErrClosed)
}
