package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/streamcat/streamcat/localpg"
)

// defaultConnectTimeout bounds connecting when neither connect_timeout nor
// PGCONNECT_TIMEOUT is set: a host that accepts TCP and never answers would
// otherwise hang the run (libpq waits forever there too).
const defaultConnectTimeout = 10 * time.Second

// cancelGrace is how long the server gets to answer a cancel request (sent
// on a signal, --timeout or an early end) before the connection is dropped:
// pgconn's cancel handler sets this deadline on the socket.
const cancelGrace = time.Second

// closeTimeout bounds closing the connection (sending Terminate).
const closeTimeout = time.Second

// connError is a failure to reach the server: exit 2.
type connError struct{ msg string }

func (e *connError) Error() string { return e.msg }

// connection is the one connection of a run and what must be undone at exit.
type connection struct {
	conn    *pgx.Conn
	cfg     *pgx.ConnConfig
	cluster *localpg.Cluster
}

// close closes the connection and stops the embedded server, if any.
func (c *connection) close() {
	if c.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		_ = c.conn.Close(ctx)
		cancel()
	}
	if c.cluster != nil {
		_ = c.cluster.Stop()
	}
}

// target names the server of cfg for messages: host, port, user and
// database only, never the password.
func target(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("host=%s port=%d user=%s database=%s", cfg.Host, cfg.Port, cfg.User, cfg.Database)
}

// connect starts the embedded server if asked, opens the connection and
// runs --init.
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
	cfg, err := connConfig(withOverrides(dsn, o))
	if err != nil {
		return c, err
	}
	if _, col := columnarFormat(o.format); col || o.format == "jsonl" || o.format == "json" {
		// JSON text, Parquet and Arrow strings are UTF-8 (RFC 8259); under another client encoding the
		// encoder would turn every non-ASCII character into U+FFFD.
		cfg.RuntimeParams["client_encoding"] = "UTF8"
	}
	c.cfg = cfg
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return c, &connectCtxError{target: target(cfg), err: ctx.Err()}
		}
		msg := fmt.Sprintf("cannot connect to %s: %s", target(cfg), connectErrorText(err, cfg))
		if o.port != "" {
			// -p was the query parameter flag before streamcat took psql's
			// connection flags
			msg += " (-p is the server port, as in psql; query parameters are -v/--param)"
		}
		return c, &connError{msg: msg}
	}
	c.conn = conn
	if o.initFile != "" {
		script, err := os.ReadFile(o.initFile)
		if err != nil {
			return c, usagef("--init: %v", err)
		}
		if _, err := conn.Exec(ctx, string(script), pgx.QueryExecModeSimpleProtocol); err != nil {
			return c, fmt.Errorf("--init %s: %w", o.initFile, err)
		}
	}
	return c, nil
}

// withOverrides adds the psql-style connection flags (-h, -p, -U, -d) to
// dsn, where they win over what dsn says, as in psql: as query parameters
// of a URL (pgconn lets them override the URL's host and path) or as
// keyword/value pairs (the last one wins).
func withOverrides(dsn string, o *options) string {
	for _, kv := range [][2]string{{"host", o.host}, {"port", o.port}, {"user", o.user}, {"dbname", o.dbname}} {
		k, v := kv[0], kv[1]
		if v == "" {
			continue
		}
		if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
			sep := "?"
			if strings.Contains(dsn, "?") {
				sep = "&"
			}
			dsn += sep + url.QueryEscape(k) + "=" + url.QueryEscape(v)
			continue
		}
		v = strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `'`, `\'`)
		dsn = strings.TrimSpace(dsn + " " + k + "='" + v + "'")
	}
	return dsn
}

// connConfig parses dsn and applies what the CLI adds to pgx's defaults:
// the libpq variables that psql honours and pgx leaves out, the
// application name, a default connect timeout and a bounded cancel.
func connConfig(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, &connError{msg: "invalid connection string: " + parseErrorText(err)}
	}
	// pgx reads PGTZ (timezone) and PGOPTIONS (options) itself; DateStyle
	// and the client encoding change the text of values, so psql's COPY
	// under the same environment differs unless they are sent too.
	for env, param := range map[string]string{"PGDATESTYLE": "datestyle", "PGCLIENTENCODING": "client_encoding"} {
		if v := os.Getenv(env); v != "" && !strings.EqualFold(v, "auto") && cfg.RuntimeParams[param] == "" {
			cfg.RuntimeParams[param] = v
		}
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "streamcat"
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	// A cancelled context (signal, --timeout) sends the server a cancel
	// request and gives it cancelGrace to answer before the socket's
	// deadline fires: a stopped or unreachable server cannot hold the run.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelGrace}
	}
	return cfg, nil
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
