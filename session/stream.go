package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/stream"
)

// StreamOptions, passed before the statement's parameters, tune a stream.
type StreamOptions struct {
	stream.Options
	// ServerCursor streams through a server-side cursor (DECLARE ...
	// CURSOR, then FETCH per batch) inside the session's transaction, so
	// other statements on the session may run between batches. It needs an
	// open transaction.
	ServerCursor bool
}

// ErrOptionsPlacement is returned when a StreamOptions or stream.Options
// value comes after a statement parameter: options go first, so that an
// options value is never sent to the server as a bind parameter.
var ErrOptionsPlacement = errors.New("stream options must come before the statement's parameters")

// streamArgs takes the leading option values off args, as pgx does with
// its query options: any number of StreamOptions or stream.Options (a later
// one overrides an earlier one). An options value after a parameter is an
// error.
func streamArgs(args []any) (StreamOptions, []any, error) {
	var opts StreamOptions
	for len(args) > 0 {
		switch o := args[0].(type) {
		case StreamOptions:
			opts = o
		case *StreamOptions:
			opts = *o
		case stream.Options:
			opts.Options = o
		default:
			for i, a := range args {
				switch a.(type) {
				case StreamOptions, *StreamOptions, stream.Options:
					return opts, nil, fmt.Errorf("session: Stream: %w (it is at position %d, after parameter $%d)", ErrOptionsPlacement, i, i)
				}
			}
			return opts, args, nil
		}
		args = args[1:]
	}
	return opts, args, nil
}

var cursorSeq atomic.Uint64

// Stream runs sql and returns its rows as a stream: they arrive in batches
// through a bounded channel while the caller reads, in constant memory.
// Options (StreamOptions or stream.Options) may come first in args, before
// the statement's parameters.
//
// Outside a transaction the stream takes its own connection from the pool
// and holds it until it ends, leaving the session free for other calls
// (which take another connection: a session holding streams waits at most
// a moment for one before it fails with ErrPoolExhausted, rather than
// starving itself). Inside a transaction it holds the session's
// connection: other calls on the session fail with ErrStreamOpen (an
// ErrBusy) until the stream ends, unless it was opened with
// StreamOptions{ServerCursor: true}.
//
// Pending unit-of-work changes are flushed first (autoflush). ctx bounds
// the whole stream. Close the Result if you do not read it to the end (see
// stream.Result for every way out).
func (s *Session) Stream(ctx context.Context, sql string, args ...any) (*stream.Result, error) {
	opts, args, err := streamArgs(args)
	if err != nil {
		return nil, err
	}
	if err := s.enter("Stream"); err != nil {
		return nil, err
	}
	if err := s.usable("Stream"); err != nil {
		s.leave()
		return nil, err
	}
	if err := s.autoflush(ctx, "Stream"); err != nil {
		s.leave()
		return nil, err
	}
	if opts.ServerCursor {
		s.leave()
		return s.streamCursor(ctx, opts, sql, args)
	}
	if len(s.txs) > 0 {
		return s.streamInTx(ctx, opts, sql, args)
	}
	s.leave() // outside a transaction the stream has a connection of its own
	q, release, err := s.exec.conn(ctx, nil, sql, s.streamConns.Load())
	if err != nil {
		return nil, err
	}
	s.streamConns.Add(1)
	return stream.Open(ctx, func(ctx context.Context) (rows pgx.Rows, err error) {
		err = s.exec.send(ctx, kindQuery, sql, func(ctx context.Context) error {
			rows, err = q.Query(ctx, sql, args...)
			return err
		})
		return rows, err
	}, opts.Options, func(error, bool) {
		s.streamConns.Add(-1)
		release()
	})
}

// streamEndTimeout bounds the statements that tidy up after a stream in a
// transaction (RELEASE or ROLLBACK TO its savepoint, CLOSE of its cursor)
// unless the stream's Options.ExitTimeout says otherwise: they run after
// the caller's context may have ended, and on a connection that stopped
// answering they must not wait forever. It is the stream package's own
// default for an early end.
const streamEndTimeout = 2 * time.Second

// endContext is the context of a stream's tidy-up statements: not ended
// by the caller's context, but bounded.
func endContext(ctx context.Context, opts stream.Options) (context.Context, context.CancelFunc) {
	d := opts.ExitTimeout
	if d <= 0 {
		d = streamEndTimeout
	}
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}

// streamSavepoint guards a stream inside a transaction: ending a stream
// early cancels its statement, which would abort the whole transaction, so
// the stream rolls back to this savepoint instead and the transaction goes
// on. One stream at a time holds the session, so one name suffices.
const streamSavepoint = "streamcat_stream"

// streamInTx streams on the session's connection; the session stays busy
// until the stream ends. Called with the session entered.
func (s *Session) streamInTx(ctx context.Context, opts StreamOptions, sql string, args []any) (*stream.Result, error) {
	tx := s.txs[len(s.txs)-1].tx
	if _, err := s.exec.exec(ctx, tx, kindSave, "SAVEPOINT "+streamSavepoint); err != nil {
		s.leave()
		return nil, err
	}
	res, err := stream.Open(ctx, func(ctx context.Context) (rows pgx.Rows, err error) {
		err = s.exec.send(ctx, kindQuery, sql, func(ctx context.Context) error {
			rows, err = tx.Query(ctx, sql, args...)
			return err
		})
		return rows, err
	}, opts.Options, func(err error, cancelled bool) {
		defer s.leave()
		s.txStream.Store(nil)
		bg, cancel := endContext(ctx, opts.Options)
		defer cancel()
		switch {
		case cancelled && ctx.Err() == nil:
			_, _ = s.exec.exec(bg, tx, kindRollTo, "ROLLBACK TO SAVEPOINT "+streamSavepoint)
			_, _ = s.exec.exec(bg, tx, kindRelease, "RELEASE SAVEPOINT "+streamSavepoint)
		case err == nil:
			_, _ = s.exec.exec(bg, tx, kindRelease, "RELEASE SAVEPOINT "+streamSavepoint)
		}
		// after an error the transaction is aborted, as after any failed statement
	})
	if err == nil {
		s.txStream.Store(res)
	}
	return res, err
}

// StreamScalars is Stream's first column as a view (the reference's
// stream_scalars). Close it if you do not read it to the end.
func (s *Session) StreamScalars(ctx context.Context, sql string, args ...any) (*buffered.View[any], error) {
	res, err := s.Stream(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return res.Scalars(), nil
}

func (s *Session) streamCursor(ctx context.Context, opts StreamOptions, sql string, args []any) (*stream.Result, error) {
	name, err := s.declare(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	tx, outer := s.txs[len(s.txs)-1].tx, s.txs[0]
	fetch := func(ctx context.Context, n int) (pgx.Rows, error) {
		if err := s.enter("Stream (cursor FETCH)"); err != nil {
			return nil, err
		}
		defer s.leave()
		if outer.done {
			return nil, fmt.Errorf("session: Stream (cursor FETCH): %w", ErrTxDone)
		}
		sql := "FETCH FORWARD " + strconv.Itoa(n) + " FROM " + name
		var rows pgx.Rows
		err := s.exec.send(ctx, kindFetch, sql, func(ctx context.Context) (err error) {
			rows, err = tx.Query(ctx, sql)
			return err
		})
		return rows, err
	}
	done := func() {
		if outer.done || !s.busy.CompareAndSwap(false, true) {
			return // the transaction ended (and the cursor with it), or a call is running
		}
		defer s.leave()
		bg, cancel := endContext(ctx, opts.Options)
		defer cancel()
		_, _ = s.exec.exec(bg, tx, kindExec, "CLOSE "+name)
	}
	return stream.OpenFetch(ctx, opts.Options, fetch, done)
}

// declare opens a server-side cursor for sql in the current transaction and
// returns its quoted name.
func (s *Session) declare(ctx context.Context, sql string, args []any) (string, error) {
	if err := s.enter("Stream"); err != nil {
		return "", err
	}
	defer s.leave()
	if len(s.txs) == 0 {
		return "", fmt.Errorf("session: Stream: cursor mode: %w (a server-side cursor lives in a transaction)", ErrNoTransaction)
	}
	name := pgx.Identifier{"streamcat_cursor_" + strconv.FormatUint(cursorSeq.Add(1), 10)}.Sanitize()
	_, err := s.exec.exec(ctx, s.txs[len(s.txs)-1].tx, kindExec, "DECLARE "+name+" NO SCROLL CURSOR FOR "+sql, args...)
	return name, err
}
