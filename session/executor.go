package session

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// executor is the one place that sends statements to pgx: it chooses the
// connection each statement runs on (a pooled connection in autocommit, the
// session's connection inside a transaction) and hands back open pgx.Rows
// for the buffered or the streaming consumer.
type executor struct {
	pool *pgxpool.Pool
}

// querier is what a statement runs on: a pooled connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// query runs sql on q, or on a connection acquired from the pool when q is
// nil. release gives an acquired connection back; call it once the rows are
// closed (it does nothing inside a transaction).
func (e *executor) query(ctx context.Context, q querier, sql string, args []any) (rows pgx.Rows, release func(), err error) {
	release = func() {}
	if q == nil {
		conn, err := e.pool.Acquire(ctx)
		if err != nil {
			return nil, nil, err
		}
		q, release = conn, conn.Release
	}
	rows, err = q.Query(ctx, sql, args...)
	if err != nil {
		release()
		return nil, nil, err
	}
	return rows, release, nil
}
