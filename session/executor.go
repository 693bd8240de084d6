package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// executor is the one place a session sends statements to pgx. Every
// statement passes through send: Execute, Get and Select, the three kinds
// of Stream (its query, the guarding SAVEPOINT and its RELEASE or ROLLBACK
// TO, DECLARE/FETCH/CLOSE), the unit of work's INSERT, UPDATE batch,
// DELETE and COPY and its catalog reads, and BEGIN, COMMIT, ROLLBACK,
// SAVEPOINT and RELEASE. That makes send the place for what every
// statement needs once: a failure after the caller's context ended keeps
// the context's error reachable with errors.Is (pgx alone reports only the
// server's 57014 or a closed connection), and tests observe every statement
// there.
type executor struct {
	pool   *pgxpool.Pool // the primary: transactions run here
	router Router        // statements outside a transaction
	// observe, when set, sees every statement before it is sent (tests)
	observe func(kind, sql string)
}

// Statement kinds, as send names them.
const (
	kindQuery    = "query"
	kindExec     = "exec"
	kindBatch    = "batch"
	kindCopy     = "copy"
	kindBegin    = "BEGIN"
	kindCommit   = "COMMIT"
	kindRollback = "ROLLBACK"
	kindSave     = "SAVEPOINT"
	kindRelease  = "RELEASE SAVEPOINT"
	kindRollTo   = "ROLLBACK TO SAVEPOINT"
	kindFetch    = "FETCH"
)

// send runs one statement (run does the pgx call) and joins the context's
// error into a failure that happened after the context ended.
func (e *executor) send(ctx context.Context, kind, sql string, run func(ctx context.Context) error) error {
	if e.observe != nil {
		e.observe(kind, sql)
	}
	return withContext(ctx, run(ctx))
}

// withContext makes errors.Is(err, context.Canceled/DeadlineExceeded) hold
// for a statement that failed because its context ended: pgx then reports
// the server's "canceling statement due to user request" (57014) or a
// closed connection, and the caller would not know why. The *pgconn.PgError
// stays reachable with errors.As.
func withContext(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil || errors.Is(err, ctx.Err()) {
		return err
	}
	return fmt.Errorf("%w: %w", ctx.Err(), err)
}

// querier is what a statement runs on: a pooled connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// sessionHoldWait bounds how long a session that already holds pooled
// connections for its open streams waits for one more: long enough for
// another session to give one back, short enough that a program that
// starves itself (MaxConns streams, each waiting for an Execute on its own
// session) gets an error instead of hanging forever.
const sessionHoldWait = 2 * time.Second

// ErrPoolExhausted is returned when a session that holds connections for
// open streams needs one more and the pool has none to give within
// sessionHoldWait: the session may be starving itself. Close the streams
// first, or stream in cursor mode inside a transaction
// (StreamOptions{ServerCursor: true}), which shares the session's
// connection.
var ErrPoolExhausted = errors.New("no pooled connection became free while this session holds connections for its open streams: close them first, or stream in cursor mode inside a transaction (StreamOptions{ServerCursor: true})")

// conn returns where sql runs: q itself (the session's transaction), or a
// connection the router chooses when q is nil. release gives an acquired
// connection back (it does nothing inside a transaction); call it once the
// rows are closed. held is how many connections the session's open streams
// hold.
func (e *executor) conn(ctx context.Context, q querier, sql string, held int64) (querier, func(), error) {
	if q != nil {
		return q, func() {}, nil
	}
	actx, cancel := ctx, context.CancelFunc(func() {})
	if held > 0 {
		actx, cancel = context.WithTimeout(ctx, sessionHoldWait)
	}
	defer cancel()
	c, err := e.router.Acquire(actx, Statement{SQL: sql, Target: targetOf(ctx)})
	if err != nil {
		if held > 0 && ctx.Err() == nil && actx.Err() != nil {
			return nil, nil, fmt.Errorf("%w (it holds %d)", ErrPoolExhausted, held)
		}
		return nil, nil, withContext(ctx, err)
	}
	return c, c.Release, nil
}

// query runs sql where conn says and returns its open rows.
func (e *executor) query(ctx context.Context, q querier, sql string, args []any, held int64) (rows pgx.Rows, release func(), err error) {
	q, release, err = e.conn(ctx, q, sql, held)
	if err != nil {
		return nil, nil, err
	}
	err = e.send(ctx, kindQuery, sql, func(ctx context.Context) error {
		rows, err = q.Query(ctx, sql, args...)
		return err
	})
	if err != nil {
		release()
		return nil, nil, err
	}
	return rows, release, nil
}

// staleWindow is how soon after a statement was sent a "terminating
// connection" error must come back for run to take it as the reply of a
// connection that was already dead in the pool (its backend ended while it
// was idle, as in a server restart: the error was waiting in the socket).
// A statement terminated while it ran (pg_terminate_backend) fails later
// than that and is not run again. The reply of a dead connection comes in
// well under a millisecond; the window leaves room for a loaded machine
// (a scheduler's pause, the race detector), and a person or a watchdog
// ending a query within a quarter of a second of its start is not a case
// worth running a statement twice for.
const staleWindow = 250 * time.Millisecond

// run sends sql and hands its rows to consume, which must read them to the
// end; an acquired connection goes back afterwards. Outside a transaction a
// failure that shows the statement never ran (pgx says nothing was sent,
// or the connection turned out to be dead: the server's 57P01/57P02/57P03
// within staleWindow of sending) is retried once on a fresh connection,
// so a restart does not fail one call per stale pooled connection.
func (e *executor) run(ctx context.Context, q querier, sql string, args []any, held int64, consume func(pgx.Rows) error) error {
	for attempt := 1; ; attempt++ {
		sent := time.Now()
		rows, release, err := e.query(ctx, q, sql, args, held)
		if err == nil {
			err = consume(rows)
			rows.Close()
			release()
		}
		err = withContext(ctx, err)
		if err == nil || q != nil || attempt > 1 || ctx.Err() != nil || !neverRan(err, time.Since(sent)) {
			return err
		}
		e.purgeIdle(ctx)
	}
}

// purgeIdle closes the primary pool's idle connections that turn out to be
// dead (their backend's farewell waiting in the socket), after one of them
// failed a statement: when one backend ended while idle, usually all did
// (a restart), and the retry must get a live connection, not the next dead
// one. Each live idle connection costs a read of at most a millisecond.
// Replicas behind a Router are not purged: the router marks them down.
func (e *executor) purgeIdle(ctx context.Context) {
	for _, c := range e.pool.AcquireAllIdle(ctx) {
		if err := c.Conn().PgConn().CheckConn(); err != nil { //nolint:staticcheck // a read, never a write: Ping would send
			_ = c.Conn().Close(ctx) // a closed connection is destroyed on Release
		}
		c.Release()
	}
}

// neverRan reports whether err shows that a statement sent took effect on
// no server: pgx sent nothing, or the connection was already dead.
func neverRan(err error, after time.Duration) bool {
	if pgconn.SafeToRetry(err) {
		return true
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Severity != "FATAL" {
		return false
	}
	switch pgErr.Code {
	case "57P01", "57P02", "57P03": // admin shutdown, crash shutdown, cannot connect now
		return after < staleWindow
	}
	return false
}

// exec runs a statement without rows on tx.
func (e *executor) exec(ctx context.Context, tx pgx.Tx, kind, sql string, args ...any) (tag pgconn.CommandTag, err error) {
	err = e.send(ctx, kind, sql, func(ctx context.Context) error {
		tag, err = tx.Exec(ctx, sql, args...)
		return err
	})
	return tag, err
}

// begin takes a connection from the primary pool and begins a transaction
// on it.
//
// A BEGIN that fails on a connection that turns out to be dead is retried
// once on a fresh one: nothing of the transaction has run yet.
func (e *executor) begin(ctx context.Context, opts pgx.TxOptions) (*pgxpool.Conn, pgx.Tx, error) {
	for attempt := 1; ; attempt++ {
		conn, err := e.pool.Acquire(ctx)
		if err != nil {
			return nil, nil, withContext(ctx, err)
		}
		var tx pgx.Tx
		err = e.send(ctx, kindBegin, "BEGIN", func(ctx context.Context) error {
			tx, err = conn.BeginTx(ctx, opts)
			return err
		})
		if err == nil {
			return conn, tx, nil
		}
		dead := conn.Conn().IsClosed()
		conn.Release()
		if attempt > 1 || ctx.Err() != nil || !(dead || pgconn.SafeToRetry(err)) {
			return nil, nil, err
		}
		e.purgeIdle(ctx)
	}
}

// savepoint begins a SAVEPOINT inside tx.
func (e *executor) savepoint(ctx context.Context, tx pgx.Tx) (sp pgx.Tx, err error) {
	err = e.send(ctx, kindSave, "SAVEPOINT", func(ctx context.Context) error {
		sp, err = tx.Begin(ctx)
		return err
	})
	return sp, err
}

// commit ends tx with COMMIT (RELEASE SAVEPOINT for a savepoint). An
// outermost COMMIT whose answer never came is an ErrCommitUnknown: the
// server may have committed.
func (e *executor) commit(ctx context.Context, tx pgx.Tx, outer bool) error {
	kind := kindRelease
	if outer {
		kind = kindCommit
		if err := ctx.Err(); err != nil {
			return err // not sent: the transaction is still open, and rolled back by whoever ends it
		}
	}
	err := e.send(ctx, kind, kind, func(ctx context.Context) error { return tx.Commit(ctx) })
	if outer && err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) && !errors.Is(err, pgx.ErrTxClosed) && !errors.Is(err, pgx.ErrTxCommitRollback) {
			return &CommitUnknownError{Err: err}
		}
	}
	return err
}

// rollback ends tx with ROLLBACK (ROLLBACK TO and RELEASE for a savepoint).
func (e *executor) rollback(ctx context.Context, tx pgx.Tx, outer bool) error {
	kind := kindRollTo
	if outer {
		kind = kindRollback
	}
	return e.send(ctx, kind, kind, func(ctx context.Context) error { return tx.Rollback(ctx) })
}

// on returns a stmtRunner for statements on tx.
func (e *executor) on(tx pgx.Tx) stmtRunner { return stmtRunner{e: e, tx: tx} }

// stmtRunner sends statements on one transaction through the executor; the
// unit of work's flush writes with it.
type stmtRunner struct {
	e  *executor
	tx pgx.Tx
}

func (r stmtRunner) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return r.e.exec(ctx, r.tx, kindExec, sql, args...)
}

func (r stmtRunner) Query(ctx context.Context, sql string, args ...any) (rows pgx.Rows, err error) {
	err = r.e.send(ctx, kindQuery, sql, func(ctx context.Context) error {
		rows, err = r.tx.Query(ctx, sql, args...)
		return err
	})
	return rows, err
}

func (r stmtRunner) SendBatch(ctx context.Context, b *pgx.Batch) (br pgx.BatchResults) {
	sql := ""
	if b.Len() > 0 {
		sql = b.QueuedQueries[0].SQL
	}
	_ = r.e.send(ctx, kindBatch, sql, func(ctx context.Context) error {
		br = r.tx.SendBatch(ctx, b)
		return nil
	})
	return br
}

// Conn is the transaction's connection.
func (r stmtRunner) Conn() *pgx.Conn { return r.tx.Conn() }

// Send runs one statement that the caller sends itself on Conn.
func (r stmtRunner) Send(ctx context.Context, kind, sql string, run func(ctx context.Context) error) error {
	return r.e.send(ctx, kind, sql, run)
}

// ErrCommitUnknown is wrapped by a CommitUnknownError.
var ErrCommitUnknown = errors.New("the outcome of COMMIT is unknown")

// CommitUnknownError is returned by Commit (and Maker.Begin) when COMMIT was
// sent but its answer never came back (the connection was lost): the
// server may or may not have committed. It is never safe to retry blindly,
// and pgconn.SafeToRetry reports false for it, whatever the cause says.
// Retry only a transaction that is idempotent, or check first whether it
// took effect (for example by a unique request id the transaction writes).
// errors.Is(err, ErrCommitUnknown) holds; the cause stays reachable.
type CommitUnknownError struct{ Err error }

func (e *CommitUnknownError) Error() string {
	return "the COMMIT was sent but no answer came back, so the transaction may or may not have committed (check before retrying): " + e.Err.Error()
}

func (e *CommitUnknownError) Unwrap() []error { return []error{ErrCommitUnknown, e.Err} }

// SafeToRetry reports false: the transaction may have committed.
func (e *CommitUnknownError) SafeToRetry() bool { return false }
