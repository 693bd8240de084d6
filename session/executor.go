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
	pool   *pgxpool.Pool // the primary: transactions run here
	router Router        // statements outside a transaction
}

// querier is what a statement runs on: a pooled connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// conn returns where sql runs: q itself (the session's transaction), or a
// connection the router chooses when q is nil. release gives an acquired
// connection back (it does nothing inside a transaction); call it once the
// rows are closed.
func (e *executor) conn(ctx context.Context, q querier, sql string) (querier, func(), error) {
	if q != nil {
		return q, func() {}, nil
	}
	c, err := e.router.Acquire(ctx, Statement{SQL: sql, Target: targetOf(ctx)})
	if err != nil {
		return nil, nil, err
	}
	return c, c.Release, nil
}

// query runs sql where conn says and returns its open rows.
func (e *executor) query(ctx context.Context, q querier, sql string, args []any) (rows pgx.Rows, release func(), err error) {
	q, release, err = e.conn(ctx, q, sql)
	if err != nil {
		return nil, nil, err
	}
	rows, err = q.Query(ctx, sql, args...)
	if err != nil {
		release()
		return nil, nil, err
	}
	return rows, release, nil
}
