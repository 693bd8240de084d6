package buffered

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/testdb"
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
