package stream

import (
	"context"
	"runtime"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/streamcat/streamcat/buffered"
)

// Result is a query's rows arriving in bounded batches, so a result of any
// size flows through in constant memory. The batches are read on the
// caller's goroutine while it keeps up with the wire; once it is slower (or
// with Options.Prefetch), a producer goroutine reads ahead through a
// bounded channel while the caller works.
//
// It has the whole reading vocabulary of buffered.RowView (Rows, FetchOne,
// FetchMany, Partitions, All, First, One, Scalar, the Scalars, Mappings,
// Columns and Unique views, and buffered.ScalarsOf and buffered.Structs for
// typed reads), read from the channel instead of memory.
//
// Memory: at most (Options.Buffer + 2) batches are held at once, whatever
// the row count; a batch is at most Options.MaxBatch rows and
// Options.MaxBatchBytes (plus one row) of values (defaults: 6 batches of
// 1000 rows or 4 MiB).
//
// The producer goroutine belongs to the Result. Every way out ends it, closes
// the pgx.Rows and returns the connection: reading to the end, Close, a
// break (or panic) in a Rows or Partitions loop, a one-answer method (First,
// One, Scalar, ...), the context being cancelled, a decode error, or a server
// error (which reaches the reader after the rows before it, then stays in
// Err). An early end sends the server a cancel request first, so the rest of
// a large result is not pulled over the wire, and the connection stays
// usable. Always Close a Result you do not read to the end: it is cheap and
// idempotent.
//
// A Result dropped without Close while its query still runs would hold its
// connection for good (and pool.Close would wait for it forever). As a
// safety net, once the garbage collector finds the Result (and all its
// views) unreachable, the stream is interrupted, its connection given back,
// and Options.OnDropped told (by default a warning in the log). That can
// take any time, or never happen in a program that allocates little: it is
// a net for a bug, not a way to end a stream. Always Close.
//
// Huge rows: a row larger than a batch's bytes (Options.MaxBatchBytes) is
// a batch of its own. A row whose message exceeds 32 MiB is not copied at
// all: the reader gets the memory pgx read it into, which pgx allocated for
// that row alone and lets go of at its next read, so the row costs its size
// once (plus what the reader decodes, e.g. a string: twice). Smaller rows
// are copied out of pgx's reusable buffer. Neither the stream nor the
// connection keeps a huge row's memory afterwards: the stream does not
// reuse a batch that grew past twice MaxBatchBytes, and pgx (v5.12) shrinks
// its read buffer back to 8 kB at the next message.
//
// Interrupt (safe from any goroutine) ends a read in progress: the reader
// gets the rows already sent, then ErrInterrupted, so a cut-short result
// never reads as a complete one.
//
// A Result is not safe for concurrent use.
type Result struct {
	*buffered.RowView
}

// Query starts a statement on ctx and returns its open rows; see Open.
type Query func(ctx context.Context) (pgx.Rows, error)

// Open runs query and streams its rows. query must run, with the context it
// is given, on a connection that no one else uses until done is called. When
// the stream ends early it sends the server a cancel request for the
// statement, so closing the rows does not drain them.
//
// done is called exactly once, after the rows are closed, with the error
// that ended them (nil after a complete read or an early Close) and whether
// the stream cancelled the statement because it ended early: release the
// connection there. Inside a transaction a cancelled statement aborts it: roll
// back to a savepoint taken before the query. When query fails, Open calls
// done(err, false) and returns the error.
//
// ctx bounds the whole stream: cancelling it stops the statement and the
// error reaches the reader (errors.Is(err, context.Canceled)).
func Open(ctx context.Context, query Query, opts Options, done func(err error, cancelled bool)) (*Result, error) {
	opts = opts.withDefaults()
	rows, err := query(ctx)
	if err != nil {
		done(err, false)
		return nil, err
	}
	p := newProducer(ctx, rows, opts, done)
	var typeMap *pgtype.Map
	if conn := rows.Conn(); conn != nil {
		typeMap = conn.TypeMap()
	}
	// The result (and every view of it) reaches the producer through h
	// only, while the producer goroutine does not reach h: once the
	// reader's last reference is gone, the cleanup can stop the producer.
	h := &handle{p}
	runtime.AddCleanup(h, (*producer).dropped, p)
	cur := buffered.NewRowView(rows.FieldDescriptions(), typeMap, h, buffered.ViewOptions{CloseOnBreak: true, FetchSize: opts.FixedBatch})
	p.cols = cur.Keys()
	p.start()
	return &Result{RowView: cur}, nil
}

// newProducer makes the producer of rows; its goroutine is p.run.
func newProducer(ctx context.Context, rows pgx.Rows, opts Options, done func(err error, cancelled bool)) *producer {
	p := &producer{
		ctx:         ctx,
		rows:        rows,
		opts:        opts,
		done:        done,
		ch:          make(chan *buffered.Block, opts.Buffer),
		free:        make(chan *buffered.Block, opts.Buffer+2),
		stop:        make(chan struct{}),
		fin:         make(chan struct{}),
		sizes:       batchSizes(opts),
		ncol:        len(rows.FieldDescriptions()),
		bytesPerRow: firstRowBytes,
		stopCtx:     func() bool { return false },
	}
	p.wait = p.waitsForServer()
	return p
}
