package pipe_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/pipe"
	"github.com/streamcat/streamcat/session"
)

// fanSetup is plSetup with room for three streams at once (standing in for
// three shards).
func fanSetup(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return plSetupConns(t, 4)
}

// combiners are FanIn and Merge (by value), for tests both must pass.
var combiners = map[string]func(context.Context, ...*buffered.View[int64]) *pipe.Pipe[int64]{
	"FanIn": pipe.FanIn[int64],
	"Merge": func(ctx context.Context, vs ...*buffered.View[int64]) *pipe.Pipe[int64] {
		return pipe.Merge(ctx, cmp.Compare[int64], vs...)
	},
}

// shards streams the first column of each query as int64 views.
func shards(t *testing.T, pool *pgxpool.Pool, ctx context.Context, sqls ...string) []*buffered.View[int64] {
	t.Helper()
	var out []*buffered.View[int64]
	for _, sql := range sqls {
		out = append(out, buffered.ScalarsOf[int64](plStream(t, pool, ctx, sql)))
	}
	return out
}

// thirds are three sorted queries that together hold 1..n once each.
func thirds(n int, marker string) []string {
	var out []string
	for r := 1; r <= 3; r++ {
		out = append(out, fmt.Sprintf("select /* %s */ g::int8 from generate_series(%d, %d, 3) g order by g", marker, r, n))
	}
	return out
}

func TestMerge_OrdersSortedInputs(t *testing.T) {
	pool := fanSetup(t)
	ctx := context.Background()
	got, err := pipe.Merge(ctx, cmp.Compare[int64], shards(t, pool, ctx, thirds(30000, "merge-ok")...)...).All()
	require.NoError(t, err)
	require.Len(t, got, 30000)
	assert.True(t, slices.IsSorted(got))
	assert.Equal(t, int64(1), got[0])
	assert.Equal(t, int64(30000), got[len(got)-1])
	plUsable(t, pool)
}

func TestMerge_TiesComeInInputOrderAndBufferedInputsWork(t *testing.T) {
	pool := fanSetup(t)
	ctx := context.Background()
	s := session.NewMaker(pool).New()
	type row struct {
		K   int64  `db:"k"`
		Src string `db:"src"`
	}
	var views []*buffered.View[row]
	for _, src := range []string{"a", "b"} {
		res, err := s.Execute(ctx, "select g::int8 / 2 as k, $1::text as src from generate_series(0, 9) g order by g", src)
		require.NoError(t, err)
		views = append(views, buffered.Structs[row](res))
	}
	got, err := pipe.Merge(ctx, func(a, b row) int { return cmp.Compare(a.K, b.K) }, views...).All()
	require.NoError(t, err)
	require.Len(t, got, 20)
	for i := 0; i < 20; i += 4 {
		assert.Equal(t, []string{"a", "a", "b", "b"}, []string{got[i].Src, got[i+1].Src, got[i+2].Src, got[i+3].Src},
			"equal keys: input 0's rows first, each input's own order kept")
	}
}

func TestFanIn_ReadsEveryInput(t *testing.T) {
	pool := fanSetup(t)
	ctx := context.Background()
	got, err := pipe.FanIn(ctx, shards(t, pool, ctx, thirds(30000, "fanin-ok")...)...).All()
	require.NoError(t, err)
	slices.Sort(got)
	require.Len(t, got, 30000)
	for i, g := range got {
		require.Equal(t, int64(i+1), g)
	}
	plUsable(t, pool)
}

func TestFanInAndMerge_AFailingInputStopsTheOthers(t *testing.T) {
	for name, combine := range combiners {
		t.Run(name, func(t *testing.T) {
			pool := fanSetup(t)
			ctx := context.Background()
			marker := "fan-fail-" + name
			views := shards(t, pool, ctx,
				fmt.Sprintf(plBig, marker+"-a"),
				fmt.Sprintf("select /* %s-b */ (1000 / (5000 - g))::int8 from generate_series(1, 10000000) g", marker),
				fmt.Sprintf(plBig, marker+"-c"))
			_, err := plCollect(combine(ctx, views...))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "input 1", "the error names the failing input")
			assert.Contains(t, err.Error(), "division by zero")
			plGone(t, marker+"-a")
			plGone(t, marker+"-c")
			plUsable(t, pool)
		})
	}
}

func TestFanInAndMerge_BreakStopsEveryInput(t *testing.T) {
	for name, combine := range combiners {
		t.Run(name, func(t *testing.T) {
			pool := fanSetup(t)
			ctx := context.Background()
			marker := "fan-break-" + name
			views := shards(t, pool, ctx, fmt.Sprintf(plBig, marker+"-a"), fmt.Sprintf(plBig, marker+"-b"), fmt.Sprintf(plBig, marker+"-c"))
			n := 0
			for _, err := range combine(ctx, views...).Rows() {
				require.NoError(t, err)
				if n++; n == 1000 {
					break
				}
			}
			for _, s := range []string{"-a", "-b", "-c"} {
				plGone(t, marker+s)
			}
			plUsable(t, pool)
		})
	}
}

func TestMerge_AnUnsortedInputIsAnError(t *testing.T) {
	pool := fanSetup(t)
	ctx := context.Background()
	views := shards(t, pool, ctx,
		"select g::int8 from generate_series(1, 100) g order by g",
		"select g::int8 from generate_series(1, 100) g order by g desc")
	_, err := pipe.Merge(ctx, cmp.Compare[int64], views...).All()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "input 1 is not in the merge's order")
	plUsable(t, pool)
}

func TestFanInAndMerge_NoInputs(t *testing.T) {
	got, err := pipe.FanIn[int64](context.Background()).All()
	require.NoError(t, err)
	assert.Empty(t, got)
	got, err = pipe.Merge(context.Background(), cmp.Compare[int64]).All()
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestLimit_EndsThePipeAfterNRows(t *testing.T) {
	pool := fanSetup(t)
	ctx := context.Background()
	marker := "limit-stops"
	got, err := pipe.Limit(pipe.Merge(ctx, cmp.Compare[int64], shards(t, pool, ctx,
		fmt.Sprintf(plBig, marker+"-a"), fmt.Sprintf(plBig, marker+"-b"))...), 1001).All()
	require.NoError(t, err)
	require.Len(t, got, 1001)
	assert.Equal(t, int64(501), got[1000], "1, 1, 2, 2, ...: the 1001st merged row")
	plGone(t, marker+"-a")
	plGone(t, marker+"-b")

	none, err := pipe.Limit(plInts(t, pool, ctx, "select 1::int8"), 0).All()
	require.NoError(t, err)
	assert.Empty(t, none)
	_, err = pipe.Limit(plInts(t, pool, ctx, "select 1::int8"), -1).All()
	assert.ErrorContains(t, err, "n must be at least 0")
	plUsable(t, pool)
}
