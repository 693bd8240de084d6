package session

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Maker makes sessions on one pool, as SQLAlchemy's async_sessionmaker. It is
// safe for concurrent use.
type Maker struct {
	pool *pgxpool.Pool
	tx   pgx.TxOptions
}

// NewMaker returns a Maker whose sessions take connections from pool. For
// context cancellation that keeps connections healthy, make the pool with
// PoolConfig.
func NewMaker(pool *pgxpool.Pool) *Maker {
	return &Maker{pool: pool}
}

// New returns a new session. It holds no connection until a statement runs;
// Close it when the unit of work is done.
func (m *Maker) New() *Session {
	return &Session{maker: m, exec: &executor{pool: m.pool}}
}

// Pool returns the pool the Maker's sessions use.
func (m *Maker) Pool() *pgxpool.Pool { return m.pool }

func (m *Maker) txOptions() pgx.TxOptions { return m.tx }

// Begin runs fn in a transaction on a new session: it commits when fn
// returns nil, rolls back when fn returns an error (which Begin returns), and
// on a panic rolls back and panics again. The session is closed afterwards.
func (m *Maker) Begin(ctx context.Context, fn func(ctx context.Context, s *Session) error) (err error) {
	s := m.New()
	defer func() {
		if p := recover(); p != nil {
			_ = s.Close(context.WithoutCancel(ctx))
			panic(p)
		}
	}()
	if _, err := s.Begin(ctx); err != nil {
		return err
	}
	if err := fn(ctx, s); err != nil {
		if cerr := s.Close(context.WithoutCancel(ctx)); cerr != nil {
			return fmt.Errorf("%w (and the rollback failed: %v)", err, cerr)
		}
		return err
	}
	if s.InTransaction() {
		if err := s.Commit(ctx); err != nil {
			_ = s.Close(context.WithoutCancel(ctx))
			return err
		}
	}
	return s.Close(ctx)
}
