package stream

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/streamcat/streamcat/buffered"
)

// Result is a query's rows arriving through a bounded channel: a producer
// goroutine reads the connection in batches while the caller reads rows, so a
// result of any size flows through in constant memory.
//
// It has the whole reading vocabulary of buffered.Cursor (Rows, FetchOne,
// FetchMany, Partitions, All, First, One, Scalar, the Scalars, Mappings,
// Columns and Unique views, and buffered.ScalarsOf and buffered.Structs for
// typed reads), read from the channel instead of memory.
//
// Memory: at most (Options.Buffer + 2) batches of Options.MaxBatch rows are
// held at once, whatever the row count (defaults: 6 x 1000 rows).
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
// A Result is not safe for concurrent use.
type Result struct {
	*buffered.Cursor
	p *producer
}

// Open starts streaming rows, which must be open on a connection that no one
// else uses until done is called. done is called exactly once, on the
// producer goroutine, after rows are closed, with the error that ended them
// (nil after a complete read or an early Close): release the connection
// there. ctx bounds the whole stream: cancelling it stops the query.
func Open(ctx context.Context, rows pgx.Rows, opts Options, done func(error)) *Result {
	opts = opts.withDefaults()
	p := &producer{
		ctx:  ctx,
		rows: rows,
		opts: opts,
		done: done,
		ch:   make(chan *buffered.Block, opts.Buffer),
		stop: make(chan struct{}),
		fin:  make(chan struct{}),
	}
	var typeMap = rows.Conn().TypeMap()
	cur := buffered.NewCursor(rows.FieldDescriptions(), typeMap, p, buffered.CursorOptions{CloseOnBreak: true})
	go p.run() // owned by the Result: Close and exhaustion wait for it
	return &Result{Cursor: cur, p: p}
}
