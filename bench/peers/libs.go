package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/georgysavva/scany/v2/pgxscan"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/session"
)

// conns holds the one connection handle a child needs: a pgx pool for the
// pgx-based libraries (pgx, scany, streamcat), a database/sql DB over pgx's
// stdlib driver for the others (sqlx, GORM, bun).
type conns struct {
	pool  *pgxpool.Pool
	maker *session.Maker
	db    *sql.DB
	sqlx  *sqlx.DB
	gorm  *gorm.DB
	bun   *bun.DB
}

func (c *conns) close() {
	if c.pool != nil {
		c.pool.Close()
	}
	if c.db != nil {
		c.db.Close()
	}
}

// lib is one library's way of reading the whole statement. held paths
// return every row as an []Item; streamed paths fold each row into a
// digest as it arrives and keep none.
type lib struct {
	name   string
	driver string // "pgx" or "sql": which handle connect opens
	held   func(ctx context.Context, c *conns, q string) ([]Item, error)
	stream func(ctx context.Context, c *conns, q string) (digest, int, error)
	// keep, when set, replaces held in held mode: it returns what the
	// caller holds (measured as live heap) and how to hash it afterwards,
	// outside the timing, one row at a time (so the check does not add a
	// decoded copy to the child's peak RSS).
	keep func(ctx context.Context, c *conns, q string) (any, func() (digest, int, error), error)
}

// baseline is the path every ratio divides by: a hand-written pgx
// rows.Next/rows.Scan loop, the fastest way pgx offers.
const baseline = "pgx.Scan_loop"

var libs = []lib{
	{name: baseline, driver: "pgx", held: pgxScanHeld, stream: pgxScanStream},
	{name: "pgx.RowToStructByName", driver: "pgx", held: pgxCollectHeld, stream: pgxRowToStructStream},
	{name: "scany", driver: "pgx", held: scanyHeld, stream: scanyStream},
	{name: "sqlx", driver: "sql", held: sqlxHeld, stream: sqlxStream},
	{name: "gorm", driver: "sql", held: gormHeld, stream: gormStream},
	{name: "bun", driver: "sql", held: bunHeld, stream: bunStream},
	{name: "streamcat", driver: "pgx", held: streamcatHeld, stream: streamcatStream},
	{name: "streamcat.Execute_only", driver: "pgx", held: streamcatHeld, keep: streamcatKeep},
}

func findLib(name string) (lib, error) {
	for _, l := range libs {
		if l.name == name {
			return l, nil
		}
	}
	return lib{}, fmt.Errorf("no library %q", name)
}

// connect opens only what l needs, so a child's RSS holds one library's
// connection machinery, not all of them.
func connect(ctx context.Context, l lib, dsn string) (*conns, error) {
	c := &conns{}
	if l.driver == "pgx" {
		pool, err := session.NewPool(ctx, dsn)
		if err != nil {
			return nil, err
		}
		c.pool, c.maker = pool, session.NewMaker(pool)
		return c, nil
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	c.db = stdlib.OpenDB(*cfg)
	switch l.name {
	case "sqlx":
		c.sqlx = sqlx.NewDb(c.db, "pgx")
	case "gorm":
		c.gorm, err = gorm.Open(postgres.New(postgres.Config{Conn: c.db}),
			&gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
	case "bun":
		c.bun = bun.NewDB(c.db, pgdialect.New())
	}
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// scanItem is the hand-written Scan of the baseline.
func scanItem(rows pgx.Rows, it *Item) error {
	return rows.Scan(&it.ID, &it.Name, &it.Amount, &it.CreatedAt, &it.Active, &it.Tags, &it.Attrs, &it.Ref)
}

func pgxScanHeld(ctx context.Context, c *conns, q string) ([]Item, error) {
	rows, err := c.pool.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		var it Item
		if err := scanItem(rows, &it); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

func pgxScanStream(ctx context.Context, c *conns, q string) (digest, int, error) {
	rows, err := c.pool.Query(ctx, q)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	d, n, err := foldRows(rows.Next, func(it *Item) error { return scanItem(rows, it) })
	return rowsErr(d, n, err, rows.Err)
}

func pgxCollectHeld(ctx context.Context, c *conns, q string) ([]Item, error) {
	rows, err := c.pool.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[Item])
}

func pgxRowToStructStream(ctx context.Context, c *conns, q string) (digest, int, error) {
	rows, err := c.pool.Query(ctx, q)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	d, n, err := foldRows(rows.Next, func(it *Item) (err error) {
		*it, err = pgx.RowToStructByName[Item](rows)
		return err
	})
	return rowsErr(d, n, err, rows.Err)
}

func scanyHeld(ctx context.Context, c *conns, q string) ([]Item, error) {
	var out []Item
	err := pgxscan.Select(ctx, c.pool, &out, q)
	return out, err
}

func scanyStream(ctx context.Context, c *conns, q string) (digest, int, error) {
	rows, err := c.pool.Query(ctx, q)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	rs := pgxscan.NewRowScanner(rows)
	d, n, err := foldRows(rows.Next, func(it *Item) error { return rs.Scan(it) })
	return rowsErr(d, n, err, rows.Err)
}

func sqlxHeld(ctx context.Context, c *conns, q string) ([]Item, error) {
	var out []Item
	err := c.sqlx.SelectContext(ctx, &out, q)
	return out, err
}

func sqlxStream(ctx context.Context, c *conns, q string) (digest, int, error) {
	rows, err := c.sqlx.QueryxContext(ctx, q)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	d, n, err := foldRows(rows.Next, func(it *Item) error { return rows.StructScan(it) })
	return rowsErr(d, n, err, rows.Err)
}

func gormHeld(ctx context.Context, c *conns, q string) ([]Item, error) {
	var out []Item
	err := c.gorm.WithContext(ctx).Raw(q).Scan(&out).Error
	return out, err
}

func gormStream(ctx context.Context, c *conns, q string) (digest, int, error) {
	g := c.gorm.WithContext(ctx)
	rows, err := g.Raw(q).Rows()
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	d, n, err := foldRows(rows.Next, func(it *Item) error { return g.ScanRows(rows, it) })
	return rowsErr(d, n, err, rows.Err)
}

func bunHeld(ctx context.Context, c *conns, q string) ([]Item, error) {
	var out []Item
	err := c.bun.NewRaw(q).Scan(ctx, &out)
	return out, err
}

func bunStream(ctx context.Context, c *conns, q string) (digest, int, error) {
	rows, err := c.bun.QueryContext(ctx, q)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	d, n, err := foldRows(rows.Next, func(it *Item) error { return c.bun.ScanRow(ctx, rows, it) })
	return rowsErr(d, n, err, rows.Err)
}

func streamcatHeld(ctx context.Context, c *conns, q string) ([]Item, error) {
	s := c.maker.New()
	defer s.Close(ctx)
	res, err := s.Execute(ctx, q)
	if err != nil {
		return nil, err
	}
	v := buffered.Structs[Item](res)
	out := v.All()
	return out, v.Err()
}

// streamcatKeep holds the buffered.Result itself, undecoded: what a
// program that keeps a result and reads it later holds.
func streamcatKeep(ctx context.Context, c *conns, q string) (any, func() (digest, int, error), error) {
	s := c.maker.New()
	defer s.Close(ctx)
	res, err := s.Execute(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	return res, func() (digest, int, error) { return digestRows(buffered.Structs[Item](res)) }, nil
}

// digestRows folds a streamcat view's rows into the hash as they come.
func digestRows(v *buffered.View[Item]) (digest, int, error) {
	d, n := newDigest(), 0
	for it, err := range v.Rows() {
		if err != nil {
			return 0, 0, err
		}
		d.add(&it)
		n++
	}
	return d, n, nil
}

func streamcatStream(ctx context.Context, c *conns, q string) (digest, int, error) {
	s := c.maker.New()
	defer s.Close(ctx)
	st, err := s.Stream(ctx, q)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	return digestRows(buffered.Structs[Item](st))
}

var errHash = errors.New("peers: libraries disagree")

// foldRows decodes one Item per row with scan while next finds a row, and
// folds each into the hash: the streamed loop of every library but
// streamcat, so they differ only in next and scan.
func foldRows(next func() bool, scan func(*Item) error) (digest, int, error) {
	d, n := newDigest(), 0
	for next() {
		var it Item
		if err := scan(&it); err != nil {
			return 0, 0, err
		}
		d.add(&it)
		n++
	}
	return d, n, nil
}

// rowsErr is a streamed loop's result: its own failure first, then the
// rows' error.
func rowsErr(d digest, n int, err error, rowsErr func() error) (digest, int, error) {
	if err != nil {
		return 0, 0, err
	}
	return d, n, rowsErr()
}
