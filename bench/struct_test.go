package bench

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/session"
)

// BenchmarkStructs_vs_RowToStructByName reads a whole table into a slice of
// structs through session.Execute + buffered.Structs, through pgx's
// CollectRows + RowToStructByName, and through a hand-written rows.Scan
// loop (the floor: pgx with nothing in between). Target: the struct view
// within 1.10x of the hand-written loop.
func BenchmarkStructs_vs_RowToStructByName(b *testing.B) {
	compare(b, byStruct(structPaths(scanNarrowLoop), structPaths(scanWideLoop)))
}

func structPaths[T any](hand func(context.Context, *pgxpool.Pool, string) ([]T, error)) []path {
	return []path{
		{"session.Execute+buffered.Structs.All", func(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
			out, err := executeStructs[T](ctx, pool, sql)
			return out, len(out), err
		}},
		{"pgx.CollectRows+RowToStructByName", func(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
			out, err := collectStructs[T](ctx, pool, sql)
			return out, len(out), err
		}},
		{"pgx.Rows.Scan_loop", func(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
			out, err := hand(ctx, pool, sql)
			return out, len(out), err
		}},
	}
}

func executeStructs[T any](ctx context.Context, pool *pgxpool.Pool, sql string) ([]T, error) {
	s := session.NewMaker(pool).New()
	defer s.Close(ctx)
	res, err := s.Execute(ctx, sql)
	if err != nil {
		return nil, err
	}
	v := buffered.Structs[T](res)
	out := v.All()
	return out, v.Err()
}

func collectStructs[T any](ctx context.Context, pool *pgxpool.Pool, sql string) ([]T, error) {
	rows, err := pool.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[T])
}

// scanNarrowLoop and scanWideLoop are what one writes by hand without any
// helper: Scan into the fields, append.
func scanNarrowLoop(ctx context.Context, pool *pgxpool.Pool, sql string) ([]narrowRow, error) {
	rows, err := pool.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []narrowRow
	for rows.Next() {
		var r narrowRow
		if err := rows.Scan(&r.A, &r.B); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanWideLoop(ctx context.Context, pool *pgxpool.Pool, sql string) ([]wideRow, error) {
	rows, err := pool.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []wideRow
	for rows.Next() {
		var r wideRow
		if err := rows.Scan(&r.ID, &r.Name, &r.Amount, &r.CreatedAt, &r.Active, &r.Tags, &r.Attrs, &r.Ref); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
