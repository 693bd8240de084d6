package buffered_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// execute runs sql on pool and buffers the result, as session.Execute does.
func execute(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) *buffered.Result {
	t.Helper()
	rows, err := pool.Query(context.Background(), sql, args...)
	require.NoError(t, err)
	res, err := buffered.FromRows(rows)
	require.NoError(t, err)
	return res
}
