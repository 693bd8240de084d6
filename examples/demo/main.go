// Command demo starts a throwaway PostgreSQL with localpg and shows
// session.Execute and the buffered Result: run it with `make demo`.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/localpg"
	"github.com/streamcat/streamcat/session"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	fmt.Fprintln(os.Stderr, "starting a throwaway PostgreSQL...")
	pg, err := localpg.Start(ctx, localpg.Options{})
	if err != nil {
		return err
	}
	defer pg.Stop()
	pool, err := pgxpool.New(ctx, pg.DSN())
	if err != nil {
		return err
	}
	defer pool.Close()

	s := session.NewMaker(pool).New()
	defer s.Close(ctx)

	res, err := s.Execute(ctx, `select g as id, 'item '||g as name, (g * 1.25)::numeric(8,2) as price
		from generate_series(1, $1::int) g`, 5)
	if err != nil {
		return err
	}
	fmt.Printf("%d rows, columns %v\n", res.Len(), res.Keys())
	type item struct {
		ID    int32
		Name  string
		Price float64
	}
	for _, it := range buffered.Structs[item](res).All() {
		fmt.Printf("  %d  %-8s %6.2f\n", it.ID, it.Name, it.Price)
	}
	if err := res.Err(); err != nil {
		return err
	}
	n, err := s.Scalar(ctx, "select count(*) from pg_stat_activity where datname = current_database()")
	if err != nil {
		return err
	}
	fmt.Printf("connections to this database: %v\n", n)
	return nil
}
