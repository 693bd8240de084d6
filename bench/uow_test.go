package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testsupport"
	"github.com/streamcat/streamcat/session"
)

// Sizes of the unit-of-work benchmarks (issue 8), from the environment.
var (
	uowInsertRows = uowEnv("BENCH_UOW_INSERT_ROWS", 100_000)
	uowUpdateRows = uowEnv("BENCH_UOW_UPDATE_ROWS", 10_000)
	uowLoadRows   = uowEnv("BENCH_UOW_LOAD_ROWS", 1_000_000)
)

func uowEnv(name string, def int) func() int {
	return sync.OnceValue(func() int {
		n, err := testsupport.EnvRows(name, def)
		if err != nil {
			panic(err) // a bad setting: say so before any benchmark runs
		}
		return n
	})
}

// uowTable makes table for the length of a benchmark.
func uowTable(b *testing.B, table string, identity bool, rows int) *pgxpool.Pool {
	if benchPool == nil {
		b.Skip("no benchmark cluster (TestMain starts one only with -bench)")
	}
	ctx := context.Background()
	if err := recreate(ctx, benchPool, table, identity, rows); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = benchPool.Exec(context.Background(), "drop table if exists "+table) })
	return benchPool
}

// BenchmarkUnitOfWork_FlushInsertReturning_vs_MultiRowInsert: 100,000 new
// objects with a server-generated key (identity column, `db:"id,pk,default"`)
// through Session.Add + Flush, against a hand-written pgx multi-row
// INSERT ... VALUES ... RETURNING id in chunks of 1000 rows inside
// pgx.BeginFunc, assigning the ids back into the structs. Building the
// structs and emptying the table are not timed. Target: <= 1.3x.
func BenchmarkUnitOfWork_FlushInsertReturning_vs_MultiRowInsert(b *testing.B) {
	n := uowInsertRows()
	pool := uowTable(b, "uow_items", true, 0)
	compareUoW(b, n, insertReturningPaths(pool, n), false)
}

// BenchmarkUnitOfWork_FlushCopy_vs_CopyFrom: 100,000 new objects with
// client-set keys, nothing to read back (the flush uses COPY), through
// Add + Flush, against pgx's pool.CopyFrom of the same values.
// Target: <= 1.2x.
func BenchmarkUnitOfWork_FlushCopy_vs_CopyFrom(b *testing.B) {
	n := uowInsertRows()
	pool := uowTable(b, "uow_keyed", false, 0)
	compareUoW(b, n, copyPaths(pool, n), false)
}

// BenchmarkUnitOfWork_FlushUpdate_vs_Batch: 10,000 objects loaded through
// the session (not timed), one column changed in each (not timed), then
// Flush, against a hand-written pgx Batch of the same 10,000 UPDATEs inside
// pgx.BeginFunc. Target: <= 1.3x.
func BenchmarkUnitOfWork_FlushUpdate_vs_Batch(b *testing.B) {
	n := uowUpdateRows()
	pool := uowTable(b, "uow_update", true, n)
	compareUoW(b, n, updatePaths(pool, n), false)
}

// BenchmarkUnitOfWork_Select_vs_Structs: every row of a table through the
// identity map (session.Select) against session.Execute +
// buffered.Structs(...).All() of the same query, with the live heap each
// result keeps (B/row-held, mem-x). Target: memory <= 1.5x the structs'.
//
// It runs at a tenth and all of BENCH_UOW_LOAD_ROWS rows (rows=<n>/...),
// so the output shows whether the cost per row grows with n.
func BenchmarkUnitOfWork_Select_vs_Structs(b *testing.B) {
	n := uowLoadRows()
	pool := uowTable(b, "uow_load", true, n)
	for _, k := range []int{max(n/10, 1), n} {
		b.Run("rows="+strconv.Itoa(k), func(b *testing.B) {
			paths, err := loadPaths(context.Background(), pool, k)
			if err != nil {
				b.Fatal(err)
			}
			compareUoW(b, k, paths, true)
		})
	}
}

// truncate empties table and restarts its identity, so every op inserts
// into the same empty table.
func truncate(ctx context.Context, pool *pgxpool.Pool, table string) error {
	_, err := pool.Exec(ctx, "truncate "+table+" restart identity")
	return err
}

// newItems makes n new objects, each its own allocation (as a program that
// builds objects one by one has them), keyed by keyOf(i) (0: none yet).
func newItems[T any](n int, set func(*T, int)) []*T {
	out := make([]*T, n)
	for i := range out {
		out[i] = new(T)
		set(out[i], i+1)
	}
	return out
}

// addFlush is the unit of work's side of the insert benchmarks: a new
// session of maker, Add of every object, Flush (in a transaction of its
// own), Close, all timed (a program pays for all three); it returns the
// time of each. Every op uses the same Maker, as a program does: its catalog cache
// holds the table's foreign keys after the first flush.
func addFlush[T any](ctx context.Context, maker *session.Maker, objs []*T) (phases, error) {
	s := maker.New()
	t0 := time.Now()
	for _, o := range objs {
		if err := s.Add(o); err != nil {
			s.Close(ctx)
			return nil, err
		}
	}
	t1 := time.Now()
	err := s.Flush(ctx)
	t2 := time.Now()
	if cerr := s.Close(ctx); err == nil {
		err = cerr
	}
	return phases{{"add", t1.Sub(t0)}, {"flush", t2.Sub(t1)}, {"close", time.Since(t2)}}, err
}

func itemRows(objs []*uowItem) []keyedRow {
	out := make([]keyedRow, len(objs))
	for i, o := range objs {
		out[i] = keyedRow{o.ID, &o.uowCols}
	}
	return out
}

func insertReturningPaths(pool *pgxpool.Pool, n int) []uowPath {
	maker := session.NewMaker(pool)
	prepare := func(run func(context.Context, []*uowItem) (phases, error)) func(context.Context) (*uowOp, error) {
		return func(ctx context.Context) (*uowOp, error) {
			if err := truncate(ctx, pool, "uow_items"); err != nil {
				return nil, err
			}
			objs := newItems(n, func(o *uowItem, i int) { o.uowCols = newCols(i) })
			return &uowOp{
				run: func(ctx context.Context) (any, error) { return run(ctx, objs) },
				check: func(ctx context.Context, _ any) error {
					// every object got a distinct key, and the table holds
					// exactly the objects under those keys
					return checkTable(ctx, pool, "uow_items", itemRows(objs))
				},
				close: func() {},
			}, nil
		}
	}
	return []uowPath{
		{name: "session.Add+Flush", prepare: prepare(func(ctx context.Context, objs []*uowItem) (phases, error) {
			return addFlush(ctx, maker, objs)
		})},
		{name: "pgx.MultiRowInsertReturning", prepare: prepare(func(ctx context.Context, objs []*uowItem) (phases, error) {
			return nil, insertReturning(ctx, pool, objs)
		})},
	}
}

// insertReturning is what one writes by hand: in one transaction, INSERT
// ... VALUES ($1, ...), ... RETURNING id per 1000 objects, scanning the ids
// back into the objects in row order.
func insertReturning(ctx context.Context, pool *pgxpool.Pool, objs []*uowItem) error {
	const chunk = 1000
	const ncol = 5
	stmt := func(rows int) string {
		var b strings.Builder
		b.WriteString("insert into uow_items (" + uowColumns + ") values ")
		for r := range rows {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c := range ncol {
				if c > 0 {
					b.WriteString(", ")
				}
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(r*ncol + c + 1))
			}
			b.WriteByte(')')
		}
		b.WriteString(" returning id")
		return b.String()
	}
	full := stmt(min(chunk, len(objs)))
	args := make([]any, 0, chunk*ncol)
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for start := 0; start < len(objs); start += chunk {
			part := objs[start:min(start+chunk, len(objs))]
			sql := full
			if len(part) < chunk {
				sql = stmt(len(part))
			}
			args = args[:0]
			for _, o := range part {
				args = append(args, o.Account, o.Qty, o.Price, o.Name, o.CreatedAt)
			}
			rows, err := tx.Query(ctx, sql, args...)
			if err != nil {
				return err
			}
			i := 0
			for rows.Next() {
				if i == len(part) {
					rows.Close()
					return fmt.Errorf("more rows returned than inserted")
				}
				if err := rows.Scan(&part[i].ID); err != nil {
					rows.Close()
					return err
				}
				i++
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if i != len(part) {
				return fmt.Errorf("%d ids returned for %d rows", i, len(part))
			}
		}
		return nil
	})
}

func copyPaths(pool *pgxpool.Pool, n int) []uowPath {
	maker := session.NewMaker(pool)
	prepare := func(run func(context.Context, []*uowKeyed) (phases, error)) func(context.Context) (*uowOp, error) {
		return func(ctx context.Context) (*uowOp, error) {
			if err := truncate(ctx, pool, "uow_keyed"); err != nil {
				return nil, err
			}
			objs := newItems(n, func(o *uowKeyed, i int) { o.ID, o.uowCols = int64(i), newCols(i) })
			return &uowOp{
				run: func(ctx context.Context) (any, error) { return run(ctx, objs) },
				check: func(ctx context.Context, _ any) error {
					rows := make([]keyedRow, len(objs))
					for i, o := range objs {
						rows[i] = keyedRow{o.ID, &o.uowCols}
					}
					return checkTable(ctx, pool, "uow_keyed", rows)
				},
				close: func() {},
			}, nil
		}
	}
	return []uowPath{
		{name: "session.Add+Flush", prepare: prepare(func(ctx context.Context, objs []*uowKeyed) (phases, error) {
			return addFlush(ctx, maker, objs)
		})},
		{name: "pgx.CopyFrom", prepare: prepare(func(ctx context.Context, objs []*uowKeyed) (phases, error) {
			cols := []string{"id", "account", "qty", "price_cents", "name", "created_at"}
			n, err := pool.CopyFrom(ctx, pgx.Identifier{"uow_keyed"}, cols, pgx.CopyFromSlice(len(objs), func(i int) ([]any, error) {
				o := objs[i]
				return []any{o.ID, o.Account, o.Qty, o.Price, o.Name, o.CreatedAt}, nil
			}))
			if err == nil && n != int64(len(objs)) {
				err = fmt.Errorf("copied %d rows of %d", n, len(objs))
			}
			return nil, err
		})},
	}
}

const uowUpdateSelect = "select id, " + uowColumns + " from uow_update order by id"

func updRows(objs []*uowUpd) []keyedRow {
	out := make([]keyedRow, len(objs))
	for i, o := range objs {
		out[i] = keyedRow{o.ID, &o.uowCols}
	}
	return out
}

// change is the one column each UPDATE op changes: every op raises every
// price by one cent, so every object really differs from its row.
func change(o *uowUpd) { o.Price++ }

func updatePaths(pool *pgxpool.Pool, n int) []uowPath {
	maker := session.NewMaker(pool)
	return []uowPath{
		{name: "session.Flush", prepare: func(ctx context.Context) (*uowOp, error) {
			s := maker.New()
			objs, err := session.Select[uowUpd](ctx, s, uowUpdateSelect)
			if err == nil && len(objs) != n {
				err = fmt.Errorf("loaded %d rows, want %d", len(objs), n)
			}
			if err != nil {
				s.Close(ctx)
				return nil, err
			}
			for _, o := range objs {
				change(o)
			}
			return &uowOp{
				run: func(ctx context.Context) (any, error) { return nil, s.Flush(ctx) },
				check: func(ctx context.Context, _ any) error {
					if d := s.Dirty(); len(d) != 0 {
						return fmt.Errorf("%d objects still dirty after the flush", len(d))
					}
					return checkTable(ctx, pool, "uow_update", updRows(objs))
				},
				close: func() { s.Close(context.Background()) },
			}, nil
		}},
		{name: "pgx.Batch", prepare: func(ctx context.Context) (*uowOp, error) {
			rows, err := pool.Query(ctx, uowUpdateSelect)
			if err != nil {
				return nil, err
			}
			objs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*uowUpd, error) {
				o := new(uowUpd)
				return o, r.Scan(&o.ID, &o.Account, &o.Qty, &o.Price, &o.Name, &o.CreatedAt)
			})
			if err == nil && len(objs) != n {
				err = fmt.Errorf("loaded %d rows, want %d", len(objs), n)
			}
			if err != nil {
				return nil, err
			}
			for _, o := range objs {
				change(o)
			}
			return &uowOp{
				run: func(ctx context.Context) (any, error) { return nil, updateBatch(ctx, pool, objs) },
				check: func(ctx context.Context, _ any) error {
					return checkTable(ctx, pool, "uow_update", updRows(objs))
				},
				close: func() {},
			}, nil
		}},
	}
}

// updateBatch is what one writes by hand: the changed column of every
// object, one UPDATE each, in one pgx Batch inside a transaction, each
// checked to have matched its row.
func updateBatch(ctx context.Context, pool *pgxpool.Pool, objs []*uowUpd) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, o := range objs {
			b.Queue("update uow_update set price_cents = $1 where id = $2", o.Price, o.ID)
		}
		br := tx.SendBatch(ctx, b)
		for _, o := range objs {
			tag, err := br.Exec()
			if err != nil {
				br.Close()
				return err
			}
			if tag.RowsAffected() != 1 {
				br.Close()
				return fmt.Errorf("update of id %d matched %d rows", o.ID, tag.RowsAffected())
			}
		}
		return br.Close()
	})
}

// uowLoadSelect reads the first $1 rows of uow_load.
const uowLoadSelect = "select id, " + uowColumns + " from uow_load where id <= $1 order by id"

// loadHeld is what the Select path keeps: the objects and the session
// whose identity map and snapshots track them.
type loadHeld struct {
	s    *session.Session
	objs []*uowLoad
}

func loadPaths(ctx context.Context, pool *pgxpool.Pool, n int) ([]uowPath, error) {
	wantN, want, err := tableDigest(ctx, pool, "uow_load where id <= "+strconv.Itoa(n))
	if err != nil {
		return nil, err
	}
	if wantN != n {
		return nil, fmt.Errorf("uow_load has %d rows with id <= %d, want %d", wantN, n, n)
	}
	maker := session.NewMaker(pool)
	check := func(rows []keyedRow) error {
		gotN, got, err := rowsDigest(rows)
		if err != nil {
			return err
		}
		if gotN != wantN || got != want {
			return fmt.Errorf("read %d rows (md5 %s), the table has %d (md5 %s)", gotN, got, wantN, want)
		}
		return nil
	}
	return []uowPath{
		{name: "session.Select", resultPerRow: 8, prepare: func(ctx context.Context) (*uowOp, error) {
			var s *session.Session
			return &uowOp{
				run: func(ctx context.Context) (any, error) {
					s = maker.New()
					objs, err := session.Select[uowLoad](ctx, s, uowLoadSelect, n)
					return loadHeld{s, objs}, err
				},
				check: func(ctx context.Context, held any) error {
					h := held.(loadHeld)
					rows := make([]keyedRow, len(h.objs))
					for i, o := range h.objs {
						rows[i] = keyedRow{o.ID, &o.uowCols}
						if !h.s.Contains(o) {
							return fmt.Errorf("the session does not hold the object for id %d", o.ID)
						}
					}
					return check(rows)
				},
				close: func() {
					if s != nil {
						s.Close(context.Background())
					}
				},
			}, nil
		}},
		{name: "session.Execute+buffered.Structs.All", prepare: func(ctx context.Context) (*uowOp, error) {
			return &uowOp{
				run: func(ctx context.Context) (any, error) {
					return loadStructs(ctx, pool, n)
				},
				check: func(ctx context.Context, held any) error {
					objs := held.([]uowLoad)
					rows := make([]keyedRow, len(objs))
					for i := range objs {
						rows[i] = keyedRow{objs[i].ID, &objs[i].uowCols}
					}
					return check(rows)
				},
				close: func() {},
			}, nil
		}},
	}, nil
}

// loadStructs is session.Execute + buffered.Structs[uowLoad].All() of the
// first n rows: the same statement and decoding as Select, without the
// identity map.
func loadStructs(ctx context.Context, pool *pgxpool.Pool, n int) ([]uowLoad, error) {
	s := session.NewMaker(pool).New()
	defer s.Close(ctx)
	res, err := s.Execute(ctx, uowLoadSelect, n)
	if err != nil {
		return nil, err
	}
	v := buffered.Structs[uowLoad](res)
	out := v.All()
	return out, v.Err()
}
