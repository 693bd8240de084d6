package session

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/stream"
)

// PoolConfig parses dsn into a pool configuration fit for sessions: a
// cancelled context sends the server a cancel request (pgconn's
// CancelRequestContextWatcherHandler) instead of pgx's default of closing
// the socket, so the query stops server-side and the connection stays in the
// pool, usable. The socket deadline remains as a fallback after 5 s.
func PoolConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	UseCancelRequests(cfg)
	stream.TrackArrivals(&cfg.ConnConfig.Config)
	return cfg, nil
}

// UseCancelRequests makes cfg's connections answer a cancelled context with
// a cancel request; see PoolConfig.
func UseCancelRequests(cfg *pgxpool.Config) {
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 5 * time.Second}
	}
}

// NewPool is pgxpool.NewWithConfig(PoolConfig(dsn)).
func NewPool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := PoolConfig(dsn)
	if err != nil {
		return nil, err
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}
