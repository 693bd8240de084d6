package session

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// ErrNoTransaction is returned by Commit and Rollback when no transaction is
// open, and by cursor-mode streams outside a transaction.
var ErrNoTransaction = errors.New("no transaction is open on this session; call Begin first")

// ErrTxDone is returned when a Tx that was already committed or rolled back
// (directly, or by ending a transaction that encloses it) is used.
var ErrTxDone = errors.New("this transaction has already been committed or rolled back")

// Tx is a transaction of a session: the outermost one from Begin, or a
// SAVEPOINT from BeginNested. Statements keep going through the session;
// Tx only ends what it began.
type Tx struct {
	s     *Session
	tx    pgx.Tx
	depth int // 0 for the outermost transaction
	done  bool
}

// Begin starts a transaction on a connection pinned to the session until
// Commit, Rollback or Close. It fails when one is already open (use
// BeginNested for a savepoint).
func (s *Session) Begin(ctx context.Context) (*Tx, error) {
	if err := s.enter("Begin"); err != nil {
		return nil, err
	}
	defer s.leave()
	if len(s.txs) > 0 {
		return nil, fmt.Errorf("session: Begin: %w", ErrInTransaction)
	}
	return s.begin(ctx)
}

func (s *Session) begin(ctx context.Context) (*Tx, error) {
	conn, tx, err := s.exec.begin(ctx, s.cfg.tx)
	if err != nil {
		return nil, err
	}
	s.conn = conn
	s.maker.track(s)
	t := &Tx{s: s, tx: tx}
	s.setTxs([]*Tx{t})
	return t, nil
}

// BeginNested starts a SAVEPOINT inside the current transaction, beginning
// the outer transaction first when none is open. Its Commit releases the
// savepoint; its Rollback rolls back to it, undoing only what ran since.
// Savepoints nest to any depth.
func (s *Session) BeginNested(ctx context.Context) (*Tx, error) {
	if err := s.enter("BeginNested"); err != nil {
		return nil, err
	}
	defer s.leave()
	if err := s.usable("BeginNested"); err != nil {
		return nil, err
	}
	if len(s.txs) == 0 {
		if _, err := s.begin(ctx); err != nil {
			return nil, err
		}
	}
	// a savepoint starts from flushed state, so its rollback undoes exactly
	// what was flushed since
	if err := s.flushBeforeCommit(ctx, "BeginNested"); err != nil {
		return nil, err
	}
	inner := s.txs[len(s.txs)-1]
	sp, err := s.exec.savepoint(ctx, inner.tx)
	if err != nil {
		return nil, err
	}
	t := &Tx{s: s, tx: sp, depth: len(s.txs)}
	s.setTxs(append(s.txs, t))
	if s.work != nil {
		s.work.beganNested()
	}
	return t, nil
}

// Commit commits the outermost transaction (and releases every savepoint),
// then gives the connection back, as the reference's Session.commit.
func (s *Session) Commit(ctx context.Context) error {
	return s.endOuter(ctx, "Commit", true)
}

// Rollback rolls back the outermost transaction (and every savepoint), then
// gives the connection back.
func (s *Session) Rollback(ctx context.Context) error {
	return s.endOuter(ctx, "Rollback", false)
}

func (s *Session) endOuter(ctx context.Context, op string, commit bool) error {
	if err := s.enter(op); err != nil {
		return err
	}
	defer s.leave()
	if len(s.txs) == 0 {
		return fmt.Errorf("session: %s: %w", op, ErrNoTransaction)
	}
	if commit {
		if err := s.commitReady(ctx, op); err != nil {
			return err
		}
	}
	return s.endAll(ctx, commit)
}

// commitReady flushes before a commit; a session whose failed flush needs a
// rollback cannot commit.
func (s *Session) commitReady(ctx context.Context, op string) error {
	if err := s.usable(op); err != nil {
		return err
	}
	return s.flushBeforeCommit(ctx, op)
}

// setTxs replaces the open transactions (the session is entered) and
// publishes a copy for InTransaction and the other state accessors, which
// do not enter the session and so may run while another goroutine ends its
// transaction (Maker.CloseAll closes sessions from its caller's goroutine).
func (s *Session) setTxs(txs []*Tx) {
	s.txs = txs
	if len(txs) == 0 {
		s.view.Store(nil)
		return
	}
	v := slices.Clone(txs)
	s.view.Store(&v)
}

// openTxs is the published copy of the open transactions.
func (s *Session) openTxs() []*Tx {
	if v := s.view.Load(); v != nil {
		return *v
	}
	return nil
}

// InTransaction reports whether a transaction is open.
func (s *Session) InTransaction() bool { return len(s.openTxs()) > 0 }

// InNestedTransaction reports whether a savepoint is open.
func (s *Session) InNestedTransaction() bool { return len(s.openTxs()) > 1 }

// Transaction returns the outermost open transaction, or nil.
func (s *Session) Transaction() *Tx {
	txs := s.openTxs()
	if len(txs) == 0 {
		return nil
	}
	return txs[0]
}

// NestedTransaction returns the innermost open savepoint, or nil.
func (s *Session) NestedTransaction() *Tx {
	txs := s.openTxs()
	if len(txs) < 2 {
		return nil
	}
	return txs[len(txs)-1]
}

// Commit ends this transaction: the outermost one commits (as
// Session.Commit); a savepoint is released, together with any savepoint
// begun inside it.
func (t *Tx) Commit(ctx context.Context) error { return t.end(ctx, "Commit", true) }

// Rollback undoes this transaction: the outermost one rolls back (as
// Session.Rollback); a savepoint is rolled back to, together with any
// savepoint begun inside it, and the outer transaction goes on.
func (t *Tx) Rollback(ctx context.Context) error { return t.end(ctx, "Rollback", false) }

func (t *Tx) end(ctx context.Context, op string, commit bool) error {
	s := t.s
	if err := s.enter(op); err != nil {
		return err
	}
	defer s.leave()
	if t.done {
		return fmt.Errorf("session: %s: %w", op, ErrTxDone)
	}
	if commit {
		if err := s.commitReady(ctx, op); err != nil {
			return err
		}
	}
	if t.depth == 0 {
		return s.endAll(ctx, commit)
	}
	// savepoints inside this one end with it
	for _, inner := range s.txs[t.depth+1:] {
		inner.done = true
	}
	s.setTxs(s.txs[:t.depth])
	t.done = true
	if commit {
		err := s.exec.commit(ctx, t.tx, false)
		if s.work != nil {
			if err == nil {
				s.work.releasedNested(t.depth)
			} else {
				s.work.rolledBackNested(t.depth)
			}
		}
		return err
	}
	err := s.exec.rollback(ctx, t.tx, false)
	if s.work != nil {
		s.work.rolledBackNested(t.depth)
	}
	return err
}

// IsNested reports whether t is a savepoint.
func (t *Tx) IsNested() bool { return t.depth > 0 }
