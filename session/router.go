package session

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Router chooses the pool each statement outside a transaction runs on (the
// reference's get_bind). Transactions always run on the Maker's pool, the
// primary. A Router must be safe for concurrent use.
type Router interface {
	// Acquire returns a connection for stmt. A router that sends reads to
	// replicas falls back to the primary when a replica cannot be reached.
	Acquire(ctx context.Context, stmt Statement) (*pgxpool.Conn, error)
}

// Statement is what a Router knows of a statement.
type Statement struct {
	SQL string
	// Target is the caller's choice for this call (see OnPrimary,
	// OnReplica); TargetAuto lets the router classify SQL.
	Target Target
}

// Target says where a statement should run.
type Target uint8

const (
	TargetAuto    Target = iota // the router decides
	TargetPrimary               // always the primary
	TargetReplica               // a replica when one is up (the caller vouches the statement only reads)
)

type targetKey struct{}

// OnPrimary returns a context whose statements run on the primary, whatever
// the router would choose.
func OnPrimary(ctx context.Context) context.Context {
	return context.WithValue(ctx, targetKey{}, TargetPrimary)
}

// OnReplica returns a context whose statements outside a transaction run on
// a replica when one is reachable: the caller vouches that they only read.
func OnReplica(ctx context.Context) context.Context {
	return context.WithValue(ctx, targetKey{}, TargetReplica)
}

func targetOf(ctx context.Context) Target {
	t, _ := ctx.Value(targetKey{}).(Target)
	return t
}

// poolRouter sends everything to one pool: the default.
type poolRouter struct{ pool *pgxpool.Pool }

func (r poolRouter) Acquire(ctx context.Context, _ Statement) (*pgxpool.Conn, error) {
	return r.pool.Acquire(ctx)
}
