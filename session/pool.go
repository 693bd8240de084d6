package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/stream"
)

// ErrConnString is wrapped by the error PoolConfig and NewPool return for a
// connection string they cannot parse.
var ErrConnString = errors.New("session: invalid connection string")

// cancelDeadlineDelay is how long a cancelled context waits for the server
// to answer the cancel request before pgx gives up on the socket (a
// deadline, after which the connection is closed): a healthy server answers
// in milliseconds, so 5 s only ever runs out on a dead network or server.
const cancelDeadlineDelay = 5 * time.Second

// PoolConfig parses dsn into a pool configuration fit for sessions: a
// cancelled context sends the server a cancel request (pgconn's
// CancelRequestContextWatcherHandler) instead of pgx's default of closing
// the socket, so the query stops server-side and the connection stays in the
// pool, usable. The socket deadline remains as a fallback after 5 s. Streams
// on its connections deliver rows as they arrive (stream.TrackArrivals).
//
// A dsn that does not parse gives an error wrapping ErrConnString whose text
// shows the connection string with its passwords masked (RedactDSN). It
// does not wrap pgx's parse error, whose text can hold the password.
func PoolConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, connStringError(dsn, err)
	}
	UseCancelRequests(cfg)
	stream.TrackArrivals(&cfg.ConnConfig.Config)
	return cfg, nil
}

// connStringError describes a parse failure of dsn without its passwords:
// pgx's reason (after its own, partly redacted, copy of the string), then
// every password value found in dsn scrubbed from it.
func connStringError(dsn string, err error) error {
	reason := err.Error()
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		// "cannot parse `<dsn>`: <msg> (<cause>)"
		if i := strings.Index(reason, "`: "); i >= 0 && strings.HasPrefix(reason, "cannot parse `") {
			reason = reason[i+3:]
		}
	}
	return fmt.Errorf("%w %q: %s", ErrConnString, RedactDSN(dsn), scrubSecrets(reason, dsn))
}

// UseCancelRequests makes cfg's connections answer a cancelled context with
// a cancel request; see PoolConfig.
func UseCancelRequests(cfg *pgxpool.Config) {
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelDeadlineDelay}
	}
}

// NewPool is pgxpool.NewWithConfig(PoolConfig(dsn)). Its errors never show
// a password (see PoolConfig).
func NewPool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := PoolConfig(dsn)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		// pgxpool sees only the parsed configuration here, and its
		// messages never print a password
		return nil, fmt.Errorf("session: new pool: %w", err)
	}
	return pool, nil
}
