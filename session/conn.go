package session

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Connection returns the pgx connection of the session's transaction, for
// raw pgx work inside it (the reference's connection() and run_sync): what
// runs on it is part of the transaction. It needs an open transaction (call
// Begin first) and must not be used after the transaction ends or while
// another call on the session runs.
func (s *Session) Connection(ctx context.Context) (*pgx.Conn, error) {
	if err := s.enter("Connection"); err != nil {
		return nil, err
	}
	defer s.leave()
	if len(s.txs) == 0 {
		return nil, fmt.Errorf("session: Connection: %w", ErrNoTransaction)
	}
	return s.conn.Conn(), nil
}

// Reset is Close: it rolls back what is open and gives the connection back;
// the session can be used again (the reference's reset()).
func (s *Session) Reset(ctx context.Context) error { return s.Close(ctx) }

// Invalidate ends the session's transaction by closing its connection
// instead of returning it to the pool: for a connection in an unknown state.
// The server rolls back what was open. The session can be used again.
func (s *Session) Invalidate(ctx context.Context) error {
	if err := s.enter("Invalidate"); err != nil {
		return err
	}
	defer s.leave()
	if len(s.txs) == 0 {
		return nil
	}
	for _, t := range s.txs {
		t.done = true
	}
	s.setTxs(nil)
	conn := s.conn
	s.conn = nil
	s.maker.untrack(s)
	err := conn.Conn().Close(ctx) // a closed connection is destroyed on Release
	conn.Release()
	return err
}
