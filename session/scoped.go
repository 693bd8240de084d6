package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// ErrNoScope is returned by Scoped.Session and Scoped.Remove when the
// context carries no scope of that Scoped.
var ErrNoScope = errors.New("no scope in this context: call Scoped.WithScope first (or wrap the handler with Scoped.Middleware)")

// ErrScopedSessionPresent is returned by Scoped.Session when options are
// given but the scope already has its session (the reference's "Scoped
// session is already present; no new arguments may be specified"): options
// only apply to the call that makes the session.
var ErrScopedSessionPresent = errors.New("scoped session is already present; no new options may be given")

// Scoped keeps one session per scope, as SQLAlchemy's async_scoped_session,
// where a scope is carried by a context.Context: WithScope starts one,
// Session returns its session (made on first use), Remove closes the
// session and forgets the scope.
//
// Every scope with a session stays in the registry, holding its session
// (and, with a transaction open, a pooled connection), until Remove is
// called with its context: nothing removes it when the context is cancelled
// or garbage. This is the reference's documented leak (sqlalchemy#8340):
// without remove(), sessions pile up, one per scope. Call Remove when the
// unit of work ends (typically `defer scoped.Remove(ctx)` right after
// WithScope), or use Middleware, which always does. Len reports the scopes
// still registered.
//
// A Scoped is safe for concurrent use by any number of goroutines, each in
// its own scope. A scope's Session is not: goroutines that share one
// scope's context share its session and get ErrBusy when they overlap; give
// each goroutine a scope of its own (WithScope on its context).
type Scoped struct {
	maker *Maker

	mu       sync.Mutex
	sessions map[*scope]*Session
}

// scope is the opaque identity WithScope puts into a context. It has a
// non-zero size so that every new scope has an address of its own.
type scope struct{ id uint64 }

// scopeKey is the context key of a Scoped's scopes: scopes of different
// Scoped registries never meet.
type scopeKey struct{ r *Scoped }

var scopeSeq atomic.Uint64

// NewScoped returns a registry of scoped sessions made by m. It costs one
// small allocation and holds no connection.
func NewScoped(m *Maker) *Scoped {
	return &Scoped{maker: m, sessions: map[*scope]*Session{}}
}

// Maker returns the Maker the scoped sessions are made with.
func (r *Scoped) Maker() *Maker { return r.maker }

// WithScope returns a context derived from ctx that carries a new, empty
// scope of r; a scope already in ctx is shadowed, so nested calls give
// nested, independent scopes. It does no I/O and makes no session: the
// first Session call with the context (or one derived from it) does. Pair
// it with Remove.
func (r *Scoped) WithScope(ctx context.Context) context.Context {
	return context.WithValue(ctx, scopeKey{r}, &scope{id: scopeSeq.Add(1)})
}

func (r *Scoped) scopeOf(ctx context.Context) *scope {
	sc, _ := ctx.Value(scopeKey{r}).(*scope)
	return sc
}

// Session returns the session of ctx's scope, making it with
// Maker.New(opts...) on the first call in that scope; later calls return the
// same session. Giving opts when the scope already has its session fails
// with ErrScopedSessionPresent, as in the reference. A context without a
// scope of r fails with ErrNoScope.
//
// It costs a context lookup and a map lookup under r's mutex (plus making
// the session, without I/O, the first time); the session takes a
// connection only when it runs a statement. Safe for concurrent use; the
// returned session is not (see Scoped).
func (r *Scoped) Session(ctx context.Context, opts ...Option) (*Session, error) {
	sc := r.scopeOf(ctx)
	if sc == nil {
		return nil, fmt.Errorf("session: Scoped.Session: %w", ErrNoScope)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.sessions[sc]; ok {
		if len(opts) > 0 {
			return nil, fmt.Errorf("session: Scoped.Session: %w", ErrScopedSessionPresent)
		}
		return s, nil
	}
	s := r.maker.New(opts...)
	r.sessions[sc] = s
	return s, nil
}

// Remove closes the session of ctx's scope, if it has one (rolling back any
// open transaction and giving its connection back), and forgets it; a later
// Session call in the same scope makes a new session. A context without a
// scope of r fails with ErrNoScope; a scope without a session is a no-op.
//
// The scope is forgotten even when Close fails (for instance with ErrBusy
// because a stream still holds the session's transaction): Remove returns
// that error, and the Maker still tracks the session while it holds a
// connection, so Maker.CloseAll can reach it.
//
// ctx bounds the rollback. A cancelled ctx cannot roll back: the session's
// connection is then closed instead of pooled, and the server rolls back.
// When the work's context may already be cancelled (a request whose client
// went away), pass context.WithoutCancel(ctx), as Middleware does. Safe for
// concurrent use.
func (r *Scoped) Remove(ctx context.Context) error {
	sc := r.scopeOf(ctx)
	if sc == nil {
		return fmt.Errorf("session: Scoped.Remove: %w", ErrNoScope)
	}
	r.mu.Lock()
	s, ok := r.sessions[sc]
	delete(r.sessions, sc)
	r.mu.Unlock()
	if !ok {
		return nil
	}
	if err := s.Close(ctx); err != nil {
		return fmt.Errorf("session: Scoped.Remove: %w", err)
	}
	return nil
}

// ConfigureWarning is the error Scoped.Configure returns when scoped
// sessions already exist: the reference only warns here, so the new options
// were applied all the same and the error may be ignored; it says that the
// Live sessions already made keep their old options. Test for it with
// errors.As.
type ConfigureWarning struct {
	// Live is the number of scoped sessions present when Configure ran.
	Live int
}

// Error says how many sessions keep their old options.
func (w *ConfigureWarning) Error() string {
	return fmt.Sprintf("Scoped.Configure: %d scoped session(s) already present; the new options apply only to sessions made from now on, not to these", w.Live)
}

// Configure changes the options of the sessions the Maker makes from now on
// (Maker.Configure; this affects every user of the Maker, not only r). When
// scoped sessions already exist it still applies opts, and returns a
// *ConfigureWarning that callers may ignore. Safe for concurrent use.
func (r *Scoped) Configure(opts ...Option) error {
	live := r.Len()
	r.maker.Configure(opts...)
	if live > 0 {
		return &ConfigureWarning{Live: live}
	}
	return nil
}

// Len returns the number of scopes that have a session in the registry: the
// ones not yet removed. A number that keeps growing means scopes are not
// being removed. Safe for concurrent use; it takes r's mutex.
func (r *Scoped) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}
