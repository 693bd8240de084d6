package session

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// executor is the one place that sends statements to pgx: it chooses the
// connection each statement runs on, and hands back open pgx.Rows for the
// buffered or the streaming consumer.
type executor struct {
	pool *pgxpool.Pool
}

// query runs sql and returns its open rows and a function that gives the
// connection back; call it after the rows are closed.
func (e *executor) query(ctx context.Context, sql string, args []any) (pgx.Rows, *pgxpool.Conn, error) {
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		conn.Release()
		return nil, nil, err
	}
	return rows, conn, nil
}
