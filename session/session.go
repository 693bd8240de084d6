package session

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/streamcat/streamcat/buffered"
)

// Session is one unit of work on at most one connection at a time. Execute
// runs a statement and returns all its rows in memory; the connection goes
// back to the pool before it returns.
//
// A Session is not safe for concurrent use: a call made while another is
// running fails with ErrBusy. Close it when done; a closed session may be
// used again and starts afresh.
type Session struct {
	maker *Maker
	exec  *executor
	busy  atomic.Bool
}

// enter marks the session busy for one call.
func (s *Session) enter(op string) error {
	if !s.busy.CompareAndSwap(false, true) {
		return fmt.Errorf("%s: %w", op, ErrBusy)
	}
	return nil
}

func (s *Session) leave() { s.busy.Store(false) }

// Execute runs sql with args bound as $1, $2, ... and returns every row in a
// buffered.Result; the connection is released before it returns. A server
// error anywhere in the result is returned as the *pgconn.PgError it is,
// with no partial Result.
func (s *Session) Execute(ctx context.Context, sql string, args ...any) (*buffered.Result, error) {
	if err := s.enter("Execute"); err != nil {
		return nil, err
	}
	defer s.leave()
	rows, conn, err := s.exec.query(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	return buffered.FromRows(rows)
}

// Scalar runs sql and returns the first column of its first row (nil for
// NULL), without checking for more rows. No row: buffered.ErrNoRows.
func (s *Session) Scalar(ctx context.Context, sql string, args ...any) (any, error) {
	res, err := s.Execute(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return res.Scalar()
}

// Scalars runs sql and returns a view of the first column of every row,
// already in memory.
func (s *Session) Scalars(ctx context.Context, sql string, args ...any) (*buffered.View[any], error) {
	res, err := s.Execute(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return res.Scalars(), nil
}

// Close ends the session's unit of work and gives back its connection. The
// session may be used again afterwards; it starts afresh.
func (s *Session) Close(ctx context.Context) error {
	return nil
}
