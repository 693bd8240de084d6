package session_test

import (
	"cmp"
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/pipe"
	"github.com/streamcat/streamcat/session"
)

// threeShards starts two more clusters beside the test server and puts a
// third of shard_items (ids 1..3000, by id % 3) on each.
func threeShards(t *testing.T) ([]*session.Maker, []*pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	dsns := append([]string{testdb.DSN()}, testdb.MoreServers(t, 2)...)
	var makers []*session.Maker
	var pools []*pgxpool.Pool
	for i, dsn := range dsns {
		pool := sessionPool(t, dsn, nil)
		_, err := pool.Exec(ctx, `drop table if exists shard_items;
			create table shard_items (id int8 primary key, shard int4 not null)`)
		require.NoError(t, err)
		_, err = pool.Exec(ctx, `insert into shard_items select g, $1 from generate_series(1, 3000) g where g % 3 = $1`, i)
		require.NoError(t, err)
		t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "drop table shard_items") })
		makers = append(makers, session.NewMaker(pool))
		pools = append(pools, pool)
	}
	return makers, pools
}

func TestStreamEach_AcrossThreeServers(t *testing.T) {
	makers, pools := threeShards(t)
	ctx := context.Background()
	// ordered fan-in with LIMIT applied after the merge
	sts, err := session.StreamEach(ctx, makers, "select id from shard_items order by id")
	require.NoError(t, err)
	var in []*buffered.View[int64]
	for _, st := range sts {
		in = append(in, buffered.ScalarsOf[int64](st))
	}
	first, err := pipe.Limit(pipe.Merge(ctx, cmp.Compare[int64], in...), 100).All()
	require.NoError(t, err)
	require.Len(t, first, 100)
	for i, id := range first {
		require.Equal(t, int64(i+1), id, "the first 100 ids across the three servers, in order")
	}

	// unordered fan-in of everything
	sts, err = session.StreamEach(ctx, makers, "select id from shard_items where id > $1", 10)
	require.NoError(t, err)
	in = in[:0]
	for _, st := range sts {
		in = append(in, buffered.ScalarsOf[int64](st))
	}
	all, err := pipe.FanIn(ctx, in...).All()
	require.NoError(t, err)
	slices.Sort(all)
	require.Len(t, all, 2990)
	assert.Equal(t, int64(11), all[0])
	assert.Equal(t, int64(3000), all[len(all)-1])

	for _, p := range pools {
		testdb.AssertNoAcquired(t, p)
	}
}

func TestStreamEach_AShardThatFailsClosesTheOthers(t *testing.T) {
	makers, pools := threeShards(t)
	ctx := context.Background()
	_, err := pools[1].Exec(ctx, "drop table shard_items")
	require.NoError(t, err)
	_, err = session.StreamEach(ctx, makers, "select id from shard_items order by id")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "maker 1")
	assert.Contains(t, err.Error(), `relation "shard_items" does not exist`)
	assert.NotContains(t, err.Error(), "maker 0")
	for i, p := range pools {
		assert.True(t, testdb.AssertNoAcquired(t, p), "pool %d", i)
	}
}
