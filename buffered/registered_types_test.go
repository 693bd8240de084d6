package buffered_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

// registeredPool creates an enum and a composite type and returns a pool
// whose connections register them on their type maps, as an application
// does with AfterConnect and LoadType.
func registeredPool(t *testing.T) (pool *pgxpool.Pool, mood, pair string) {
	t.Helper()
	admin := testdb.Pool(t)
	mood = table(t, admin, "x int")
	pair = mood + "_pair"
	ctx := context.Background()
	_, err := admin.Exec(ctx, "drop table "+mood+"; create type "+mood+" as enum ('happy', 'sad'); create type "+pair+" as (n int4, m "+mood+")")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := admin.Exec(context.Background(), "drop type "+pair+"; drop type "+mood)
		require.NoError(t, err)
	})

	cfg, err := pgxpool.ParseConfig(testdb.DSN())
	require.NoError(t, err)
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		for _, name := range []string{mood, "_" + mood, pair, "_" + pair} {
			dt, err := conn.LoadType(ctx, name)
			if err != nil {
				return err
			}
			conn.TypeMap().RegisterType(dt)
		}
		return nil
	}
	return testdb.PoolWithConfig(t, cfg), mood, pair
}

func TestTypes_TypesRegisteredOnTheConnectionAreCarriedOver(t *testing.T) {
	pool, mood, pair := registeredPool(t)
	q := "select 'happy'::" + mood + " as m, array['sad', null]::" + mood + "[] as ms, row(7, 'sad')::" + pair + " as p, " +
		"array[row(1, 'happy')::" + pair + "] as ps from generate_series(1, 3)"
	want := pgxValues(t, pool, q)
	res := execute(t, pool, q)

	cols := res.ColumnTypes()
	assert.Equal(t, mood, cols[0].TypeName, "the name the connection registered")
	assert.Equal(t, "_"+mood, cols[1].TypeName)
	assert.Equal(t, pair, cols[2].TypeName)

	// other queries on the connections first: the result decodes on its own map
	for range 5 {
		pgxValues(t, pool, "select 1")
	}
	rows := res.All()
	require.NoError(t, res.Err())
	assert.Equal(t, want, values(rows))
	assert.Equal(t, "happy", rows[0].At(0))
	assert.Equal(t, []any{"sad", nil}, rows[0].At(1))
	assert.Equal(t, map[string]any{"n": int32(7), "m": "sad"}, rows[0].At(2))

	type pairStruct struct {
		N int32
		M string
	}
	type rec struct {
		M  string
		Ms []*string
		P  pairStruct
		Ps []pairStruct
	}
	got, err := buffered.Structs[rec](execute(t, pool, q)).First()
	require.NoError(t, err)
	assert.Equal(t, "happy", got.M)
	require.Len(t, got.Ms, 2)
	assert.Equal(t, "sad", *got.Ms[0])
	assert.Nil(t, got.Ms[1])
	assert.Equal(t, pairStruct{7, "sad"}, got.P)
	assert.Equal(t, []pairStruct{{1, "happy"}}, got.Ps)
}

func TestFreeze_RegisteredTypesReadConcurrently(t *testing.T) {
	pool, mood, pair := registeredPool(t)
	q := "select g, (array['happy', 'sad'])[1 + g % 2]::" + mood + ", row(g, 'sad')::" + pair + " from generate_series(1, 1000) g"
	want := pgxValues(t, pool, q)
	f, err := execute(t, pool, q).Freeze()
	require.NoError(t, err)
	assert.Equal(t, mood, f.Result().ColumnTypes()[1].TypeName, "a snapshot keeps the registered type")

	var got [3][][]any
	var errs [3]error
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			r := f.Result()
			for _, row := range r.All() {
				got[i] = append(got[i], row.Values())
			}
			errs[i] = r.Err()
		})
	}
	wg.Wait()
	for i := range got {
		require.NoError(t, errs[i])
		assert.Equal(t, want, got[i], "goroutine %d", i)
	}
}
