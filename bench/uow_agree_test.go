package bench

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUnitOfWorkPaths_Agree runs one op of every unit-of-work benchmark
// path on small tables, with the check each benchmark op makes (the
// table's md5 against the objects', keys assigned, rows read), so a path
// that writes or reads the wrong thing fails here before it is timed. It
// also shows that the check catches a wrong result.
func TestUnitOfWorkPaths_Agree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	ctx := context.Background()
	pool := testPool(t)
	const (
		inserts = 2500 // two full INSERT chunks of 1000 and a partial one
		updates = 300
		loads   = 300
	)
	tables := []struct {
		name     string
		identity bool
		rows     int
	}{{"uow_items", true, 0}, {"uow_keyed", false, 0}, {"uow_update", true, updates}, {"uow_load", true, loads}}
	for _, tb := range tables {
		require.NoError(t, recreate(ctx, pool, tb.name, tb.identity, tb.rows))
		t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "drop table if exists "+tb.name) })
	}
	loadP, err := loadPaths(ctx, pool, loads-1)
	require.NoError(t, err)
	suites := map[string]struct {
		rows  int
		paths []uowPath
	}{
		"insert-returning": {inserts, insertReturningPaths(pool, inserts)},
		"copy":             {inserts, copyPaths(pool, inserts)},
		"update":           {updates, updatePaths(pool, updates)},
		"load":             {loads - 1, loadP}, // all rows but one: the WHERE clause is applied
	}
	for name, s := range suites {
		for _, p := range s.paths {
			t.Run(name+"/"+p.name, func(t *testing.T) {
				_, err := doOp(ctx, nil, p, s.rows, true)
				require.NoError(t, err)
			})
		}
	}

	t.Run("the check catches wrong keys", func(t *testing.T) {
		require.NoError(t, truncate(ctx, pool, "uow_items"))
		objs := newItems(10, func(o *uowItem, i int) { o.uowCols = newCols(i) })
		require.NoError(t, insertReturning(ctx, pool, objs))
		require.NoError(t, checkTable(ctx, pool, "uow_items", itemRows(objs)))

		objs[3].ID, objs[4].ID = objs[4].ID, objs[3].ID // ids given to the wrong objects
		assert.Error(t, checkTable(ctx, pool, "uow_items", itemRows(objs)))
		objs[3].ID, objs[4].ID = objs[4].ID, objs[3].ID

		id := objs[5].ID
		objs[5].ID = 0 // an id never read back
		assert.ErrorContains(t, checkTable(ctx, pool, "uow_items", itemRows(objs)), "no key")
		objs[5].ID = id

		objs[6].Price++ // a change not written
		assert.Error(t, checkTable(ctx, pool, "uow_items", itemRows(objs)))
		objs[6].Price--

		assert.Error(t, checkTable(ctx, pool, "uow_items", itemRows(objs[1:])), "a row too many in the table")
	})
}
