package session

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNoPrimary is returned by a PrimaryReplica that has no primary pool:
// one declared as a zero value instead of made with NewPrimaryReplica.
var ErrNoPrimary = errors.New("session: PrimaryReplica has no primary pool; make it with NewPrimaryReplica(primary, replicas...)")

// DefaultCooldown is how long a PrimaryReplica skips a replica that failed
// to give a connection, when its Cooldown is zero.
const DefaultCooldown = 5 * time.Second

// PrimaryReplica is a Router (the reference's get_bind with a primary and
// read replicas) that sends reads to hot-standby replicas and everything
// else to the primary. Give it to a Maker with WithRouter; the Maker's own
// pool must be the same primary.
//
// Where a statement goes:
//
//   - Inside a transaction (Begin, BeginNested, Maker.Begin): always the
//     primary. Such statements never reach a router: the session runs them
//     on its pinned connection from the Maker's pool.
//   - OnPrimary(ctx): the primary.
//   - OnReplica(ctx): a replica, when one is up; the caller vouches that the
//     statement only reads (a write there fails with SQLSTATE 25006).
//   - Otherwise (TargetAuto): a replica when IsReadOnly(sql), that is a
//     single SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN that neither
//     locks rows, modifies data, uses RETURNING or INTO, nor calls an
//     obvious writer such as nextval; the primary for everything else and
//     whenever the check is unsure.
//
// Replicas are taken in turn (round robin). A replica whose pool fails to
// give a connection for any reason other than the caller's context ending
// (it refuses connections, its pool is closed) is marked down: the
// statement goes to the next replica, or to the primary, without an error,
// and the down replica is skipped for Cooldown. After the cooldown one
// statement tries it again (the others keep skipping it until that try
// ends); if it answers it is back in rotation, if not it waits another
// cooldown. A cancelled or expired ctx is returned as the error, with no
// fallback.
//
// Caveats:
//
//   - A replica lags its primary. A read right after a write, outside a
//     transaction, may not see the write (no read-your-writes): read with
//     OnPrimary(ctx), or write and read in one transaction.
//   - The router only chooses where a connection comes from; it does not
//     retry statements. pgxpool hands out an idle connection without a
//     round trip unless it has been idle for more than a second (its default
//     ShouldPing), so just after a replica goes away a statement may still
//     fail on one of its pooled connections. To fall back without such an
//     error, give replica pools a ShouldPing that always pings (one round
//     trip per statement).
//   - A SELECT calling a function the check does not know, that writes,
//     fails on a replica: run it with OnPrimary.
//   - Long queries on a hot standby can be cancelled by recovery conflicts
//     (SQLSTATE 40001, "canceling statement due to conflict with recovery";
//     see max_standby_streaming_delay and hot_standby_feedback).
//   - Statements that depend on the connection's session state (temporary
//     tables, prepared statements, currval, SET) do not belong outside a
//     transaction with any router: each statement may get another
//     connection.
//
// Set Cooldown and OnReplicaDown before the router is used; a
// PrimaryReplica is then safe for concurrent use. Make one with
// NewPrimaryReplica: the zero value has no pools, and every Acquire on it
// fails with ErrNoPrimary.
type PrimaryReplica struct {
	// Cooldown is how long a replica is skipped after it failed to give a
	// connection. Zero means DefaultCooldown.
	Cooldown time.Duration
	// OnReplicaDown, when set, is called (synchronously, on the statement's
	// goroutine) each time a replica is marked down, with the error its
	// pool gave: for logging and metrics.
	OnReplicaDown func(replica *pgxpool.Pool, err error)

	primary  *pgxpool.Pool
	replicas []*replicaPool
	next     atomic.Uint64
}

type replicaPool struct {
	pool *pgxpool.Pool
	// downUntil is 0 while the replica is up, else the time (UnixNano)
	// until which it is skipped.
	downUntil atomic.Int64
}

// NewPrimaryReplica returns a router that sends reads outside transactions
// to replicas in turn and everything else to primary. With no replicas
// every statement goes to primary.
func NewPrimaryReplica(primary *pgxpool.Pool, replicas ...*pgxpool.Pool) *PrimaryReplica {
	r := &PrimaryReplica{primary: primary}
	for _, p := range replicas {
		r.replicas = append(r.replicas, &replicaPool{pool: p})
	}
	return r
}

// Primary returns the primary's pool.
func (r *PrimaryReplica) Primary() *pgxpool.Pool { return r.primary }

// Replicas returns the replicas' pools, in the order given.
func (r *PrimaryReplica) Replicas() []*pgxpool.Pool {
	out := make([]*pgxpool.Pool, len(r.replicas))
	for i, rp := range r.replicas {
		out[i] = rp.pool
	}
	return out
}

// Route reports where stmt would be sent, before any replica's health is
// considered: TargetPrimary or TargetReplica.
func (r *PrimaryReplica) Route(stmt Statement) Target {
	switch stmt.Target {
	case TargetPrimary:
		return TargetPrimary
	case TargetReplica:
		if len(r.replicas) > 0 {
			return TargetReplica
		}
		return TargetPrimary
	}
	if len(r.replicas) > 0 && IsReadOnly(stmt.SQL) {
		return TargetReplica
	}
	return TargetPrimary
}

// Acquire implements Router.
func (r *PrimaryReplica) Acquire(ctx context.Context, stmt Statement) (*pgxpool.Conn, error) {
	if r.primary == nil {
		return nil, ErrNoPrimary
	}
	if r.Route(stmt) == TargetReplica {
		c, err := r.acquireReplica(ctx)
		if c != nil || err != nil {
			return c, err
		}
	}
	return r.primary.Acquire(ctx)
}

// acquireReplica returns a connection from the next replica that is up, or
// nil and no error when none is.
func (r *PrimaryReplica) acquireReplica(ctx context.Context) (*pgxpool.Conn, error) {
	n := uint64(len(r.replicas))
	start := r.next.Add(1) - 1
	for k := range n {
		rp := r.replicas[(start+k)%n]
		ok, probe := rp.available(time.Now(), r.cooldown())
		if !ok {
			continue
		}
		c, err := rp.pool.Acquire(ctx)
		if err == nil {
			if probe {
				rp.up()
			}
			return c, nil
		}
		if ctx.Err() != nil {
			if probe {
				rp.down(time.Now()) // no verdict: let the next statement try
			}
			return nil, err // the caller gave up: no fallback
		}
		rp.down(time.Now().Add(r.cooldown()))
		if r.OnReplicaDown != nil {
			r.OnReplicaDown(rp.pool, err)
		}
	}
	return nil, nil
}

func (r *PrimaryReplica) cooldown() time.Duration {
	if r.Cooldown > 0 {
		return r.Cooldown
	}
	return DefaultCooldown
}

// available reports whether the replica may be tried now, and whether
// this try is the probe of a replica marked down. When the cooldown has
// ended, one caller gets the probe: it moves the mark on by another
// cooldown, so concurrent callers keep skipping the replica until the
// probe settles it with up or down.
func (rp *replicaPool) available(now time.Time, cooldown time.Duration) (ok, probe bool) {
	until := rp.downUntil.Load()
	if until == 0 {
		return true, false
	}
	if now.UnixNano() < until {
		return false, false
	}
	ok = rp.downUntil.CompareAndSwap(until, now.Add(cooldown).UnixNano())
	return ok, ok
}

func (rp *replicaPool) up() { rp.downUntil.Store(0) }

func (rp *replicaPool) down(until time.Time) { rp.downUntil.Store(until.UnixNano()) }
