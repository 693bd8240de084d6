package bench

import (
	"context"
	"crypto/md5"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
)

// shapeRows is the size of the tables the tests make: enough for every
// residue the dataset SQL uses (g % 10, g % 5, ...) to occur many times.
const shapeRows = 1000

// shapeTable makes a small copy of ds under another name (so it never
// clobbers a benchmark table on a shared server) and drops it after the test.
func shapeTable(t *testing.T, pool *pgxpool.Pool, ds *dataset) string {
	t.Helper()
	table := "shape_" + ds.name
	require.NoError(t, ds.create(context.Background(), pool, table, shapeRows))
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "drop table if exists "+table) })
	return table
}

// TestDatasets_Shapes keeps the dataset definitions honest: the column
// types, the NULL ratio and the values are what the README and the Go
// structs say.
func TestDatasets_Shapes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	ctx := context.Background()
	pool := testPool(t)
	for _, ds := range datasets {
		t.Run(ds.name, func(t *testing.T) {
			table := shapeTable(t, pool, ds)

			var persistence string
			require.NoError(t, pool.QueryRow(ctx, "select relpersistence::text from pg_class where relname = $1", table).Scan(&persistence))
			assert.Equal(t, "u", persistence, "an unlogged table")

			rows, err := pool.Query(ctx, ds.query(table)+" limit 1")
			require.NoError(t, err)
			fields := rows.FieldDescriptions()
			tm := rows.Conn().TypeMap()
			var names, types []string
			for _, f := range fields {
				names = append(names, f.Name)
				typ, ok := tm.TypeForOID(f.DataTypeOID)
				require.True(t, ok, "pgx knows the type of column %s (oid %d)", f.Name, f.DataTypeOID)
				types = append(types, typ.Name)
			}
			rows.Close()
			require.NoError(t, rows.Err())
			assert.Equal(t, ds.types, types)
			assert.Equal(t, fmt.Sprint(names), fmt.Sprint(splitColumns(ds.columns)))

			var n int
			require.NoError(t, pool.QueryRow(ctx, "select count(*) from "+table).Scan(&n))
			assert.Equal(t, shapeRows, n)
		})
	}

	t.Run("wide/values", func(t *testing.T) {
		table := shapeTable(t, pool, wide)
		var nullRatio float64
		var minTags, maxTags int
		var amountType string
		require.NoError(t, pool.QueryRow(ctx, `select
				count(*) filter (where name is null)::float8 / count(*),
				min(cardinality(tags)), max(cardinality(tags)),
				format_type(atttypid, atttypmod)
			from `+table+`, pg_attribute
			where attrelid = $1::regclass and attname = 'amount'
			group by atttypid, atttypmod`, table).Scan(&nullRatio, &minTags, &maxTags, &amountType))
		assert.InDelta(t, 0.10, nullRatio, 0.001, "name is NULL in ~10%% of rows")
		assert.Equal(t, 1, minTags)
		assert.Equal(t, 5, maxTags)
		assert.Equal(t, "numeric(12,2)", amountType)

		rows, err := pool.Query(ctx, wide.query(table)+" where id in (1, 10) order by id")
		require.NoError(t, err)
		got, err := pgx.CollectRows(rows, pgx.RowToStructByName[wideRow])
		require.NoError(t, err)
		require.Len(t, got, 2)
		r := got[0]
		assert.Equal(t, int64(1), r.ID)
		require.NotNil(t, r.Name)
		assert.Equal(t, fmt.Sprintf("name-%x", md5.Sum([]byte("1"))), *r.Name)
		assert.Equal(t, md5.Sum([]byte("1")), r.Ref, "ref is md5(g) as a uuid")
		amount, err := r.Amount.Value()
		require.NoError(t, err)
		assert.Equal(t, "79.19", amount)
		assert.Equal(t, "2020-01-01T00:00:37Z", r.CreatedAt.UTC().Format("2006-01-02T15:04:05Z07:00"))
		assert.True(t, r.Active)
		assert.Equal(t, []string{"red", "green"}, r.Tags)
		assert.Equal(t, map[string]any{"n": float64(1), "even": false, "hash": fmt.Sprintf("%x", md5.Sum([]byte("1")))[:8], "score": 0.1}, r.Attrs)
		assert.Nil(t, got[1].Name, "g %% 10 = 0: NULL name")
	})
}

// TestPaths_Agree checks that the paths each benchmark compares do the same
// work: on a small table they return the same rows.
func TestPaths_Agree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	ctx := context.Background()
	pool := testPool(t)

	for _, ds := range datasets {
		t.Run(ds.name+"/generic", func(t *testing.T) {
			sql := ds.query(shapeTable(t, pool, ds))
			keys := splitColumns(ds.columns)

			var want [][]any
			for _, p := range genericPaths {
				held, n, err := p.run(ctx, pool, sql)
				require.NoError(t, err, p.name)
				require.Equal(t, shapeRows, n, p.name)
				var got [][]any
				switch h := held.(type) {
				case nil: // keeps nothing
					continue
				case *buffered.Result: // Execute only: read it now
					for _, r := range h.All() {
						got = append(got, r.Values())
					}
					require.NoError(t, h.Err())
				case []buffered.Row:
					for _, r := range h {
						got = append(got, r.Values())
					}
				case []map[string]any:
					for _, m := range h {
						vals := make([]any, len(keys))
						for i, k := range keys {
							vals[i] = m[k]
						}
						got = append(got, vals)
					}
				case [][]any:
					got = h
				default:
					t.Fatalf("%s: unexpected %T", p.name, held)
				}
				if want == nil {
					want = got
					continue
				}
				require.Equal(t, want, got, "%s returns the same values as %s", p.name, genericPaths[0].name)
			}
		})

		t.Run(ds.name+"/struct", func(t *testing.T) {
			sql := ds.query(shapeTable(t, pool, ds))
			var paths []path
			switch ds {
			case narrow:
				paths = structPaths(scanNarrowLoop)
			case wide:
				paths = structPaths(scanWideLoop)
			}
			var want any
			for _, p := range paths {
				held, n, err := p.run(ctx, pool, sql)
				require.NoError(t, err, p.name)
				require.Equal(t, shapeRows, n, p.name)
				if want == nil {
					want = held
					continue
				}
				require.Equal(t, want, held, "%s returns the same structs as %s", p.name, paths[0].name)
			}
		})
	}
}

func splitColumns(list string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(list); i++ {
		if i == len(list) || list[i] == ',' {
			name := list[start:i]
			for len(name) > 0 && name[0] == ' ' {
				name = name[1:]
			}
			out = append(out, name)
			start = i + 1
		}
	}
	return out
}
