package session

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Maker makes sessions on one pool (the primary), as SQLAlchemy's
// async_sessionmaker, with the options every session it makes starts from.
// It is safe for concurrent use.
type Maker struct {
	pool *pgxpool.Pool

	catalog catalog // foreign keys per table, for flush order

	mu   sync.Mutex
	cfg  config
	open map[*Session]struct{} // sessions holding a connection, for CloseAll
}

// config is what a session is made with.
type config struct {
	tx     pgx.TxOptions
	router Router
	retry  RetryPolicy
	info   map[string]any

	noAutoflush  bool // WithAutoflush(false)
	keepOnCommit bool // WithExpireOnCommit(false)
}

// Option configures a Maker (NewMaker, Configure) or one session (New).
type Option func(*config)

// WithIsolation sets the isolation level of transactions (Begin, Maker.Begin).
func WithIsolation(level pgx.TxIsoLevel) Option { return func(c *config) { c.tx.IsoLevel = level } }

// WithReadOnly makes transactions READ ONLY.
func WithReadOnly() Option { return func(c *config) { c.tx.AccessMode = pgx.ReadOnly } }

// WithDeferrable makes transactions DEFERRABLE (with SERIALIZABLE READ ONLY,
// a snapshot that never fails with a serialization error).
func WithDeferrable() Option { return func(c *config) { c.tx.DeferrableMode = pgx.Deferrable } }

// WithRouter sends statements outside a transaction where r chooses (for
// example NewPrimaryReplica). Transactions stay on the Maker's pool.
func WithRouter(r Router) Option { return func(c *config) { c.router = r } }

// WithRetry makes Maker.Begin rerun a transaction that failed with a
// serialization failure (40001) or a deadlock (40P01); see RetryPolicy.
func WithRetry(p RetryPolicy) Option { return func(c *config) { c.retry = p } }

// WithInfo adds entries to the sessions' Info maps (merged, not replaced).
func WithInfo(info map[string]any) Option {
	return func(c *config) {
		c.info = maps.Clone(c.info)
		if c.info == nil {
			c.info = map[string]any{}
		}
		maps.Copy(c.info, info)
	}
}

// WithAutoflush turns autoflush on (the default) or off: with it, pending
// unit-of-work changes are flushed before every statement the session runs
// (Execute, Scalar, Scalars, Stream, Select, a Get that queries), so queries
// see them. Outside a transaction an autoflush commits, as every statement
// there does. Session.NoAutoflush suspends it for one function.
func WithAutoflush(on bool) Option { return func(c *config) { c.noAutoflush = !on } }

// WithExpireOnCommit sets whether a commit expires every object in the
// session (default true, as SQLAlchemy's expire_on_commit). In Go an
// expired object keeps its field values; expiry only makes the next Get of
// it query the database instead of answering from the identity map, so the
// default costs nothing until the program loads again, and then it gives
// the rows as the next transaction sees them. Turn it off for sessions that
// keep reading their objects after commit and accept data as of the commit.
func WithExpireOnCommit(on bool) Option { return func(c *config) { c.keepOnCommit = !on } }

// NewMaker returns a Maker whose sessions take connections from pool. For
// context cancellation that keeps connections healthy, make the pool with
// NewPool or PoolConfig.
func NewMaker(pool *pgxpool.Pool, opts ...Option) *Maker {
	m := &Maker{pool: pool, cfg: config{router: poolRouter{pool}}, open: map[*Session]struct{}{}}
	for _, o := range opts {
		o(&m.cfg)
	}
	return m
}

// Configure changes the options of sessions made from now on; sessions made
// before keep theirs.
func (m *Maker) Configure(opts ...Option) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range opts {
		o(&m.cfg)
	}
}

// New returns a new session with the Maker's options, changed by opts for
// this session only (Info entries are merged). It holds no connection until
// a statement runs; Close it when the unit of work is done.
func (m *Maker) New(opts ...Option) *Session {
	m.mu.Lock()
	cfg := m.cfg
	m.mu.Unlock()
	for _, o := range opts {
		o(&cfg)
	}
	return &Session{maker: m, cfg: cfg, exec: &executor{pool: m.pool, router: cfg.router}, info: maps.Clone(cfg.info)}
}

// Pool returns the pool the Maker's sessions use for transactions.
func (m *Maker) Pool() *pgxpool.Pool { return m.pool }

// Begin runs fn in a transaction on a new session: it commits when fn
// returns nil, rolls back when fn returns an error (which Begin returns), and
// on a panic rolls back and panics again. The session is closed afterwards.
//
// With WithRetry, a transaction that fails with a serialization failure or
// a deadlock (from fn's statements or from the commit) is rolled back and fn
// runs again in a new transaction, after a capped, jittered backoff, up to
// the policy's attempts. Other errors are never retried. fn must then be
// safe to run more than once.
func (m *Maker) Begin(ctx context.Context, fn func(ctx context.Context, s *Session) error, opts ...Option) error {
	s := m.New(opts...)
	policy := s.cfg.retry
	for attempt := 1; ; attempt++ {
		err := s.runTx(ctx, fn)
		if err == nil || !policy.retryable(err) || attempt >= policy.attempts() {
			if err != nil && attempt > 1 {
				err = fmt.Errorf("after %d attempts: %w", attempt, err)
			}
			return err
		}
		if werr := policy.wait(ctx, attempt); werr != nil {
			return errors.Join(err, werr)
		}
	}
}

// runTx is one attempt of Maker.Begin.
func (s *Session) runTx(ctx context.Context, fn func(ctx context.Context, s *Session) error) (err error) {
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
		// Close reports no rollback failure for a connection that is gone
		// (the server rolled back with it): the loss is in err already
		if cerr := s.Close(context.WithoutCancel(ctx)); cerr != nil {
			return errors.Join(err, fmt.Errorf("and the rollback failed: %w", cerr))
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

// track and untrack keep the set of sessions that hold a connection.
func (m *Maker) track(s *Session) {
	m.mu.Lock()
	m.open[s] = struct{}{}
	m.mu.Unlock()
}

func (m *Maker) untrack(s *Session) {
	m.mu.Lock()
	delete(m.open, s)
	m.mu.Unlock()
}

// CloseAll closes every session of this Maker that holds a connection (an
// open transaction), rolling it back (the reference's close_all_sessions).
// A session in the middle of a call is not interrupted: its Close fails with
// ErrBusy, which CloseAll returns joined with any other error.
func (m *Maker) CloseAll(ctx context.Context) error {
	m.mu.Lock()
	list := make([]*Session, 0, len(m.open))
	for s := range m.open {
		list = append(list, s)
	}
	m.mu.Unlock()
	var errs []error
	for _, s := range list {
		errs = append(errs, s.closeIdle(ctx))
	}
	return errors.Join(errs...)
}

// closeIdle is Close for CloseAll, which runs on another goroutine than the
// sessions' own: unlike Close it does not close a stream holding the
// transaction (only the goroutine reading a stream may close it), so a
// session in a call or a stream fails with ErrBusy and is left alone.
func (s *Session) closeIdle(ctx context.Context) error {
	if err := s.enter("Close"); err != nil {
		return err
	}
	defer s.leave()
	return s.endAll(ctx, false)
}
