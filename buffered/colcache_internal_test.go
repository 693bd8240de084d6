package buffered

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/internal/testsupport"
)

type idName struct {
	ID   int64   `db:"id"`
	Name *string `db:"name"`
}

// Results with the same row description share one description and one
// struct plan; reading them from many goroutines at once, through Structs,
// Row decoding and parallel All, must give each its own right answer (and
// -race must find nothing: the shared parts are read-only).
func TestSharedDescription_ConcurrentResults(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	const q = "select g::int8 as id, case when g % 3 = 0 then null else 'n' || g end as name from generate_series($1::int8, $1::int8 + $2::int8 - 1) g"
	read := func(from, n int64) *Result {
		rows, err := pool.Query(ctx, q, from, n)
		require.NoError(t, err)
		res, err := FromRows(rows)
		require.NoError(t, err)
		return res
	}
	a, b := read(1, 1), read(5, 3)
	require.Same(t, a.rs.cols, b.rs.cols, "same row description: one shared description")
	require.True(t, a.rs.cols.shared)

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				from, n := int64(w*1000+i), int64(1+i%12)
				if w == 0 && i == 0 {
					n = 40_000 // large enough for All to decode on several goroutines
				}
				res := read(from, n)
				var got []idName
				if i%2 == 0 {
					got = Structs[idName](res).All()
				} else {
					for _, r := range res.All() {
						var it idName
						it.ID = r.At(0).(int64)
						if s, ok := r.At(1).(string); ok {
							it.Name = &s
						}
						got = append(got, it)
					}
				}
				if int64(len(got)) != n {
					errs <- fmt.Errorf("worker %d query %d: %d rows, want %d", w, i, len(got), n)
					return
				}
				for k, it := range got {
					g := from + int64(k)
					want := fmt.Sprintf("n%d", g)
					if it.ID != g || (g%3 == 0) != (it.Name == nil) || (it.Name != nil && *it.Name != want) {
						errs <- fmt.Errorf("worker %d query %d row %d: %+v, want id %d", w, i, k, it, g)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A description with a type only the connection knows (an enum) is not
// shared: its decoding depends on that connection's type map.
func TestSharedDescription_NotForConnectionTypes(t *testing.T) {
	fields := []pgconn.FieldDescription{{Name: "mood", DataTypeOID: 999_999, Format: pgtype.TextFormatCode}}
	assert.Nil(t, sharedColumns(fields))
	c := newColumns(fields, nil)
	assert.False(t, c.shared)
}

// The cache holds at most maxSharedDescs descriptions, however many
// distinct ones a program makes; a description read again is found again.
func TestSharedDescription_Bounded(t *testing.T) {
	for i := range 2*maxSharedDescs + 10 {
		fields := []pgconn.FieldDescription{{Name: fmt.Sprintf("c%d", i), DataTypeOID: pgtype.Int4OID, Format: pgtype.BinaryFormatCode}}
		c := newColumns(fields, nil)
		require.True(t, c.shared)
		require.Same(t, c, newColumns(fields, nil))
		n := 0
		descCache.m.Range(func(any, any) bool { n++; return true })
		require.LessOrEqual(t, n, maxSharedDescs)
	}
}

// The shared type map is only read: decoding every common type, generic
// and into structs, on many goroutines at once (and parallel All's
// workers) must leave -race nothing to report and give pgx's own values.
func TestSharedDescription_ConcurrentDecodingOfManyTypes(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	const q = `select g::int8 as id, (g / 7.0)::numeric(12,3) as amount,
		timestamptz '2020-01-01 00:00:00+00' + g * interval '1 minute' as at, g % 2 = 0 as even,
		array['a', 'b' || g] as tags, jsonb_build_object('n', g, 'list', jsonb_build_array(g, 'x')) as doc,
		md5(g::text)::uuid as ref, int4range(g, g + 2) as span, null::text as nothing
		from generate_series(1, $1::int4) g`
	type row struct {
		ID      int64
		Amount  pgtype.Numeric
		At      time.Time
		Even    bool
		Tags    []string
		Doc     map[string]any
		Ref     [16]byte
		Span    pgtype.Range[pgtype.Int4]
		Nothing *string
	}
	read := func(n int) *Result {
		rows, err := pool.Query(ctx, q, n)
		require.NoError(t, err)
		res, err := FromRows(rows)
		require.NoError(t, err)
		return res
	}
	small, large := testsupport.PgxValues(t, pool, q, 50), testsupport.PgxValues(t, pool, q, 33_000)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 4 {
		wg.Go(func() {
			n, expect := 50, small
			if w < 2 {
				n, expect = 33_000, large // All decodes these on several goroutines (2 x parallelMinRows)
			}
			res := read(n)
			if w%2 == 0 {
				got := Structs[row](res).All()
				if len(got) != n || got[n-1].ID != int64(n) || got[n-1].Doc["n"] != float64(n) || got[n-1].Tags[1] != fmt.Sprint("b", n) {
					errs <- fmt.Errorf("worker %d: structs %d rows, last %+v", w, len(got), got[len(got)-1])
				}
				return
			}
			got := res.All()
			if len(got) != n {
				errs <- fmt.Errorf("worker %d: %d rows", w, len(got))
				return
			}
			for i := 0; i < n; i += 97 { // a sample, and the last row below: comparing every row is slow under -race
				if !assert.ObjectsAreEqual(expect[i], got[i].Values()) {
					errs <- fmt.Errorf("worker %d row %d: %v, want %v", w, i, got[i].Values(), expect[i])
					return
				}
			}
			if !assert.ObjectsAreEqual(expect[n-1], got[n-1].Values()) {
				errs <- fmt.Errorf("worker %d last row: %v, want %v", w, got[n-1].Values(), expect[n-1])
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
