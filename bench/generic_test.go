package bench

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/session"
)

// BenchmarkExecute_vs_CollectRows reads a whole table into generic rows
// (values decoded as pgx's Rows.Values decodes them) through session.Execute
// and through raw pgx on the same pool.
func BenchmarkExecute_vs_CollectRows(b *testing.B) {
	compare(b, func(*dataset) []path { return genericPaths })
}

var errNoValues = errors.New("bench: every value was NULL")

// genericPaths are the generic suite; its baseline, the hand-written pgx
// loop, comes last.
var genericPaths = []path{
	{"pgx.Rows.Next_only", nextOnly},
	{"session.Execute_only", executeOnly},
	{"session.Execute+All", executeAll},
	{"session.Execute+All+Values", executeAllValues},
	{"pgx.CollectRows+RowToMap", collectRowToMap},
	{"pgx.Rows.Values_loop", valuesLoop},
}

// nextOnly reads every row off the wire and keeps nothing: the floor under
// every other path (pgx reading messages, nothing decoded or copied).
func nextOnly(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
	rows, err := pool.Query(ctx, sql)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return nil, n, rows.Err()
}

// executeOnly buffers the result (raw wire bytes, no decoding): what
// Execute itself costs before any row is read.
func executeOnly(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
	s := session.NewMaker(pool).New()
	defer s.Close(ctx)
	res, err := s.Execute(ctx, sql)
	if err != nil {
		return nil, 0, err
	}
	return res, res.Len(), nil
}

func executeAll(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
	rows, err := executeRows(ctx, pool, sql)
	return rows, len(rows), err
}

// executeAllValues is executeAll plus a walk over every value, as a caller
// that uses the rows does.
func executeAllValues(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
	rows, err := executeRows(ctx, pool, sql)
	if err != nil {
		return nil, 0, err
	}
	nonNull := 0
	for _, r := range rows {
		for _, v := range r.Values() {
			if v != nil {
				nonNull++
			}
		}
	}
	if nonNull == 0 {
		return nil, 0, errNoValues
	}
	return rows, len(rows), nil
}

func executeRows(ctx context.Context, pool *pgxpool.Pool, sql string) ([]buffered.Row, error) {
	s := session.NewMaker(pool).New()
	defer s.Close(ctx)
	res, err := s.Execute(ctx, sql)
	if err != nil {
		return nil, err
	}
	rows := res.All()
	return rows, res.Err()
}

func collectRowToMap(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
	rows, err := pool.Query(ctx, sql)
	if err != nil {
		return nil, 0, err
	}
	maps, err := pgx.CollectRows(rows, pgx.RowToMap)
	return maps, len(maps), err
}

// valuesLoop is the hand-written generic loop: rows.Values() per row,
// collected into [][]any.
func valuesLoop(ctx context.Context, pool *pgxpool.Pool, sql string) (any, int, error) {
	rows, err := pool.Query(ctx, sql)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, 0, err
		}
		out = append(out, vals)
	}
	return out, len(out), rows.Err()
}
