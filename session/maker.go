package session

import "github.com/jackc/pgx/v5/pgxpool"

// Maker makes sessions on one pool, as SQLAlchemy's async_sessionmaker. It is
// safe for concurrent use.
type Maker struct {
	pool *pgxpool.Pool
}

// NewMaker returns a Maker whose sessions take connections from pool.
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
