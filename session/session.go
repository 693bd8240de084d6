package session

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/stream"
)

// Session is one unit of work on at most one connection at a time.
//
// Outside a transaction every statement runs in autocommit on a connection
// taken from the pool for that statement (Execute gives it back before it
// returns; a stream holds it until it ends). Begin pins one connection to
// the session until Commit, Rollback or Close. Unlike SQLAlchemy's default
// autobegin, statements do not open a transaction by themselves: call Begin
// (or use Maker.Begin) for a unit of work that must commit or roll back as
// one, as database/sql does.
//
// A Session is not safe for concurrent use: a call made while another is
// running (or while a stream holds the session's transaction connection)
// fails with ErrBusy. Close it when done; a closed session may be used
// again and starts afresh.
type Session struct {
	maker *Maker
	cfg   config
	exec  *executor
	busy  atomic.Bool
	// held counts the pooled connections the session's open streams hold
	// outside a transaction, so a session that starves itself is told so
	streamConns atomic.Int64

	// the stream holding the transaction's connection, if any: Close ends it
	txStream atomic.Pointer[stream.Result]

	conn *pgxpool.Conn         // pinned while a transaction is open
	txs  []*Tx                 // txs[0] is the outermost transaction, then savepoints
	view atomic.Pointer[[]*Tx] // a copy of txs for the state accessors (see setTxs)
	info map[string]any

	work *unitOfWork // the identity map and change tracking, made on first use
}

// enter marks the session busy for one call.
func (s *Session) enter(op string) error {
	if !s.busy.CompareAndSwap(false, true) {
		if s.txStream.Load() != nil {
			return fmt.Errorf("session: %s: %w", op, ErrStreamOpen)
		}
		return fmt.Errorf("session: %s: %w", op, ErrBusy)
	}
	return nil
}

func (s *Session) leave() { s.busy.Store(false) }

// current is where statements run: the innermost transaction, or nil for
// autocommit on the pool.
func (s *Session) current() querier {
	if len(s.txs) == 0 {
		return nil
	}
	return s.txs[len(s.txs)-1].tx
}

// Execute runs sql with args bound as $1, $2, ... and returns every row in a
// buffered.Result; outside a transaction the connection goes back to the
// pool before it returns. A server error anywhere in the result is returned
// as the *pgconn.PgError it is, with no partial Result. Pending
// unit-of-work changes are flushed first (autoflush), so the statement sees
// them.
func (s *Session) Execute(ctx context.Context, sql string, args ...any) (*buffered.Result, error) {
	if err := s.enter("Execute"); err != nil {
		return nil, err
	}
	defer s.leave()
	return s.statement(ctx, "Execute", sql, args)
}

// statement is Execute for a session already entered: the check for a
// failed flush, the autoflush, then the statement.
func (s *Session) statement(ctx context.Context, op, sql string, args []any) (*buffered.Result, error) {
	if err := s.usable(op); err != nil {
		return nil, err
	}
	if err := s.autoflush(ctx, op); err != nil {
		return nil, err
	}
	var res *buffered.Result
	err := s.exec.run(ctx, s.current(), sql, args, s.streamConns.Load(), func(rows pgx.Rows) (err error) {
		res, err = buffered.FromRows(rows) // the rows arrive (or fail) here
		return err
	})
	return res, err
}

// autoflush flushes pending changes before a statement, unless the session
// was made WithAutoflush(false) or runs inside NoAutoflush. The session is
// entered.
func (s *Session) autoflush(ctx context.Context, op string) error {
	if s.work == nil || s.cfg.noAutoflush || s.work.noAutoflush > 0 {
		return nil
	}
	if err := s.flush(ctx, op+" (autoflush)", nil); err != nil {
		return err
	}
	return nil
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

// Info returns the session's own map for the caller's data (the reference's
// Session.info). It lives as long as the session, across Close.
func (s *Session) Info() map[string]any {
	if s.info == nil {
		s.info = map[string]any{}
	}
	return s.info
}

// Close rolls back whatever transaction is open, gives the connection back
// to the pool and takes every object out of the session (its unflushed
// changes are dropped, as SQLAlchemy's close). A stream still open on the
// transaction is closed first (call Close from the goroutine that reads
// it). The session may be used again afterwards; it starts afresh. Close
// while another call is running fails with ErrBusy.
func (s *Session) Close(ctx context.Context) error {
	if st := s.txStream.Load(); st != nil {
		st.Close() // waits until the stream has given the session back
	}
	if err := s.enter("Close"); err != nil {
		return err
	}
	defer s.leave()
	err := s.endAll(ctx, false)
	if s.work != nil {
		s.work.dropAll()
		s.work.failed = nil
	}
	return err
}

// endAll commits or rolls back the outermost transaction (and with it every
// savepoint) and releases the pinned connection.
func (s *Session) endAll(ctx context.Context, commit bool) error {
	if len(s.txs) == 0 {
		return nil
	}
	outer := s.txs[0]
	for _, t := range s.txs {
		t.done = true
	}
	s.setTxs(nil)
	var err error
	if commit {
		err = s.exec.commit(ctx, outer.tx, true)
	} else if !s.conn.Conn().IsClosed() {
		err = s.exec.rollback(ctx, outer.tx, true)
		if errors.Is(err, pgx.ErrTxClosed) {
			err = nil
		}
	}
	// else the connection is gone and the server rolled back with it: the
	// loss was reported by the call that met it, not again here
	conn := s.conn
	s.conn = nil
	s.maker.untrack(s)
	if err != nil && !conn.Conn().IsClosed() && conn.Conn().PgConn().TxStatus() != 'I' {
		// the connection is in an unknown transaction state: do not pool it
		_ = conn.Conn().Close(ctx)
	}
	conn.Release()
	s.afterEnd(commit && err == nil)
	return err
}
