package buffered_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

func TestRaw_TextFormatValuesAndNull(t *testing.T) {
	pool := testdb.Pool(t)
	rows, err := pool.Query(context.Background(), "select 1::int8 as a, null::text as b, ''::text as c, 1.50::numeric as d",
		pgx.QueryResultFormats{pgx.TextFormatCode})
	require.NoError(t, err)
	res, err := buffered.FromRows(rows)
	require.NoError(t, err)
	vals, err := buffered.Raw(res).One()
	require.NoError(t, err)
	assert.Equal(t, []byte("1"), vals[0])
	assert.Nil(t, vals[1], "NULL is nil")
	assert.NotNil(t, vals[2], "the empty string is not NULL")
	assert.Empty(t, vals[2])
	assert.Equal(t, []byte("1.50"), vals[3])
}

func TestRaw_Projection(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, "select 'a' as x, 'b' as y")
	vals, err := buffered.Raw(res.Columns("y")).One()
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("b")}, vals)
}
