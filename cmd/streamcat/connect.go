package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/localpg"
	"github.com/streamcat/streamcat/session"
)

// connError is a failure to reach the server: exit 2.
type connError struct{ msg string }

func (e *connError) Error() string { return e.msg }

// connection is the pool and what must be undone at exit.
type connection struct {
	pool    *pgxpool.Pool
	cfg     *pgxpool.Config
	cluster *localpg.Cluster
}

// close closes the pool and stops the embedded server, if any.
func (c *connection) close() {
	if c.pool != nil {
		c.pool.Close()
	}
	if c.cluster != nil {
		_ = c.cluster.Stop()
	}
}

// target names the server of cfg for messages: host, port, user and
// database only, never the password.
func target(cfg *pgxpool.Config) string {
	cc := cfg.ConnConfig
	return fmt.Sprintf("host=%s port=%d user=%s database=%s", cc.Host, cc.Port, cc.User, cc.Database)
}

// connect makes the pool (starting the embedded server first if asked) and
// checks that the server answers.
func connect(ctx context.Context, o *options, stderr io.Writer) (*connection, error) {
	c := &connection{}
	dsn := o.dsn
	if o.embedded {
		cl, err := localpg.Start(ctx, localpg.Options{})
		if err != nil {
			return c, fmt.Errorf("start embedded server: %w", err)
		}
		c.cluster = cl
		fmt.Fprintf(stderr, "streamcat: started an embedded PostgreSQL on 127.0.0.1:%d (removed at exit)\n", cl.Port())
		dsn = cl.DSN()
	} else if dsn == "" {
		dsn = os.Getenv("DATABASE_URL")
	}
	cfg, err := session.PoolConfig(dsn)
	if err != nil {
		return c, &connError{msg: "invalid connection string: " + parseErrorText(err)}
	}
	cfg.MaxConns = 4
	c.cfg = cfg
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return c, &connError{msg: fmt.Sprintf("connect to %s: %v", target(cfg), connectErrorText(err))}
	}
	c.pool = pool
	if err := pool.Ping(ctx); err != nil {
		if ctx.Err() != nil {
			return c, ctx.Err()
		}
		return c, &connError{msg: fmt.Sprintf("cannot connect to %s: %v", target(cfg), connectErrorText(err))}
	}
	if o.initFile != "" {
		script, err := os.ReadFile(o.initFile)
		if err != nil {
			return c, usagef("--init: %v", err)
		}
		if _, err := pool.Exec(ctx, string(script), pgx.QueryExecModeSimpleProtocol); err != nil {
			return c, fmt.Errorf("--init %s: %w", o.initFile, err)
		}
	}
	return c, nil
}

// parseErrorText describes a connection string parse error without the
// connection string itself (which may hold a password).
func parseErrorText(err error) string {
	s := err.Error()
	// pgconn: "cannot parse `<redacted dsn>`: <msg> (<cause>)"
	if i := strings.LastIndex(s, "`: "); i >= 0 {
		s = s[i+3:]
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		s = strings.ReplaceAll(s, ue.Error(), ue.Err.Error())
	}
	return s
}

// connectErrorText is err without pgconn's own "failed to connect to
// `user=... database=...`:" prefix (the caller names the target).
func connectErrorText(err error) string {
	s := err.Error()
	if strings.HasPrefix(s, "failed to connect to `") {
		if i := strings.Index(s, "`:"); i >= 0 {
			s = s[i+2:]
		}
	}
	// pgconn lists one line per attempt (TLS, then plain): keep each
	// distinct one once.
	var lines []string
	seen := map[string]bool{}
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}
