package session

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sourcegraph/conc"

	"github.com/streamcat/streamcat/split"
	"github.com/streamcat/streamcat/stream"
)

// ParallelOptions tune StreamParallel.
type ParallelOptions struct {
	// Workers is how many connections read slices at once (at most; fewer
	// when the table has fewer blocks or the key fewer boundaries). At
	// least 1, at most the pool's MaxConns.
	Workers int
	// SplitBy splits by ranges of this column instead of block ranges.
	SplitBy string
	// Ordered (with SplitBy) orders every slice by the column: the streams
	// read one after the other are the query's rows in that order.
	Ordered bool
	// QueryOptions go in front of each slice's parameters, as pgx's query
	// options do (e.g. pgx.QueryResultFormats{pgx.TextFormatCode}).
	QueryOptions []any
	// Stream tunes each slice's stream (its memory bound is per slice).
	Stream stream.Options
	// Snapshot, when set, is a snapshot another transaction exported
	// (pg_export_snapshot) and keeps open until StreamParallel returns:
	// every slice imports it, so the slices read what that transaction
	// sees (to read several queries, or one query and other statements,
	// at one snapshot). Empty: the first slice's transaction exports one.
	Snapshot string
}

// Parallel is one query read as slices by several connections, all under
// one snapshot.
type Parallel struct {
	// Streams holds one stream per slice, in slice order (key order with
	// SplitBy). Each is bounded as any stream (stream.Options), so memory
	// is bounded per slice; a stream ahead of its reader stops reading its
	// socket, and its server backend then waits.
	Streams []*stream.Result
	// Slices describes what each stream reads.
	Slices []split.Slice
	// Snapshot is the exported snapshot every slice reads.
	Snapshot string

	ctx    context.Context
	cancel context.CancelCauseFunc
}

// Failed returns the error of the slice that failed first (its server's
// error, a terminated backend, ...), naming the slice, or nil. Once one
// slice has failed the others are cancelled (their reads fail with
// context.Canceled): report Failed rather than their error.
func (p *Parallel) Failed() error {
	if err := context.Cause(p.ctx); err != nil && !errors.Is(err, errParallelClosed) {
		return err
	}
	return nil
}

var errParallelClosed = errors.New("parallel export closed")

// Close closes every stream (cancelling those still running, server-side)
// and returns once their connections are back. Idempotent.
func (p *Parallel) Close() {
	for _, st := range p.Streams {
		st.Close()
	}
	p.cancel(errParallelClosed)
}

// StreamParallel reads one query with several connections at once, all
// seeing the same data: the first connection begins a REPEATABLE READ, READ
// ONLY transaction and exports its snapshot (pg_export_snapshot), the
// others begin the same kind of transaction and import it (SET TRANSACTION
// SNAPSHOT). Together the slices' rows are exactly the rows the query
// returns at that snapshot, however other sessions write meanwhile.
//
// sql must be a plain scan of one table (see split.Parse and split.Plan:
// SELECT columns FROM table [WHERE condition], or TABLE table); anything
// else is refused with an error wrapping split.ErrShape, never split in a
// way that could change its result. Without SplitBy the slices are block
// ranges of the table, with it ranges of that column.
//
// The slices run on Workers connections of the Maker's pool, each in its
// own transaction, which ends (and gives the connection back) when its
// stream ends. A slice that fails cancels the others (Failed says which
// failed and why); cancelling ctx cancels all. Close the Parallel when
// done, on every path. Read the streams in any order and concurrently:
// pipe.FanIn for the rows as they come, or, with Ordered, one after the
// other (pipe.Merge of them by the key gives the same).
//
// Cost: the planning statements of split.Plan on the first connection,
// one BEGIN and SET TRANSACTION SNAPSHOT per other connection, then one
// statement per slice.
func (m *Maker) StreamParallel(ctx context.Context, sql string, opts ParallelOptions, args ...any) (*Parallel, error) {
	if opts.Workers < 1 {
		return nil, fmt.Errorf("session: StreamParallel: Workers must be at least 1, got %d", opts.Workers)
	}
	if mc := m.pool.Config().MaxConns; int32(opts.Workers) > mc {
		return nil, fmt.Errorf("session: StreamParallel: %d workers need %d connections at once, and the pool has MaxConns %d", opts.Workers, opts.Workers, mc)
	}
	shape, err := split.Parse(sql)
	if err != nil {
		return nil, fmt.Errorf("session: StreamParallel: %w", err)
	}
	e := m.New(WithIsolation(pgx.RepeatableRead), WithReadOnly())
	w := &workers{e: e.exec, txOpts: e.cfg.tx}
	defer w.abandon() // on a failure before the streams own the transactions
	first, err := w.begin(ctx)
	if err != nil {
		return nil, err
	}
	p := &Parallel{Snapshot: opts.Snapshot}
	if p.Snapshot == "" {
		if err := first.scalar(ctx, w.e, "select pg_export_snapshot()", &p.Snapshot); err != nil {
			return nil, err
		}
	}
	if p.Snapshot == "" || strings.Trim(p.Snapshot, "0123456789ABCDEF-") != "" {
		return nil, fmt.Errorf("session: StreamParallel: %q is not a snapshot name (as pg_export_snapshot returns)", p.Snapshot)
	}
	if opts.Snapshot != "" {
		if err := first.importSnapshot(ctx, w.e, p.Snapshot); err != nil {
			return nil, err
		}
	}
	p.Slices, err = split.Plan(ctx, w.e.on(first.tx), shape, args, split.Options{Slices: opts.Workers, SplitBy: opts.SplitBy, Ordered: opts.Ordered})
	if err != nil {
		return nil, fmt.Errorf("session: StreamParallel: %w", err)
	}
	if err := w.importSnapshot(ctx, len(p.Slices)-1, p.Snapshot); err != nil {
		return nil, err
	}
	p.ctx, p.cancel = context.WithCancelCause(ctx)
	for i, sl := range p.Slices {
		st, err := w.open(p, i, sl, opts)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("session: StreamParallel: slice %d (%s): %w", i, sl.Range, err)
		}
		p.Streams = append(p.Streams, st)
	}
	return p, nil
}

// workers are the transactions of a parallel read, in slice order, until
// their streams take them over.
type workers struct {
	e      *executor
	txOpts pgx.TxOptions
	txs    []*workerTx
}

// workerTx is one connection's transaction.
type workerTx struct {
	conn *pgxpool.Conn
	tx   pgx.Tx
}

// begin begins one more transaction.
func (w *workers) begin(ctx context.Context) (*workerTx, error) {
	conn, tx, err := w.e.begin(ctx, w.txOpts)
	if err != nil {
		return nil, fmt.Errorf("session: StreamParallel: %w", err)
	}
	t := &workerTx{conn: conn, tx: tx}
	w.txs = append(w.txs, t)
	return t, nil
}

// importSnapshot begins n more transactions at once, each importing snap.
// The exporting transaction stays open meanwhile, as the import needs.
func (w *workers) importSnapshot(ctx context.Context, n int, snap string) error {
	more := make([]*workerTx, n)
	errs := make([]error, n)
	var wg conc.WaitGroup
	for i := range n {
		wg.Go(func() {
			conn, tx, err := w.e.begin(ctx, w.txOpts)
			if err != nil {
				errs[i] = err
				return
			}
			more[i] = &workerTx{conn: conn, tx: tx}
			errs[i] = more[i].importSnapshot(ctx, w.e, snap)
		})
	}
	wg.Wait()
	for _, t := range more {
		if t != nil {
			w.txs = append(w.txs, t)
		}
	}
	return errors.Join(errs...)
}

// importSnapshot makes the transaction read snap. SET TRANSACTION SNAPSHOT
// takes no parameter; the name was checked to be the server's hexadecimal
// form.
func (t *workerTx) importSnapshot(ctx context.Context, e *executor, snap string) error {
	if _, err := e.exec(ctx, t.tx, kindExec, "SET TRANSACTION SNAPSHOT '"+snap+"'"); err != nil {
		return fmt.Errorf("session: StreamParallel: import the snapshot: %w", err)
	}
	return nil
}

// open starts slice i's stream on its transaction; the stream's end rolls
// the transaction back (it only read) and gives the connection back.
func (w *workers) open(p *Parallel, i int, sl split.Slice, opts ParallelOptions) (*stream.Result, error) {
	t := w.txs[i]
	w.txs[i] = nil // the stream owns it now, whatever happens
	args := append(append([]any(nil), opts.QueryOptions...), sl.Args...)
	return stream.Open(p.ctx, func(ctx context.Context) (rows pgx.Rows, err error) {
		err = w.e.send(ctx, kindQuery, sl.SQL, func(ctx context.Context) error {
			rows, err = t.tx.Query(ctx, sl.SQL, args...)
			return err
		})
		return rows, err
	}, opts.Stream, func(err error, cancelled bool) {
		if err != nil && !cancelled {
			p.cancel(fmt.Errorf("slice %d of %d (%s): %w", i+1, len(p.Slices), sl.Range, err))
		}
		t.end(p.ctx, w.e, opts.Stream)
	})
}

// end rolls the transaction back, bounded, and gives the connection back.
func (t *workerTx) end(ctx context.Context, e *executor, opts stream.Options) {
	if !t.conn.Conn().IsClosed() {
		bg, cancel := endContext(ctx, opts)
		if err := e.rollback(bg, t.tx, true); err != nil {
			_ = t.conn.Conn().Close(bg) // in an unknown state: not pooled again
		}
		cancel()
	}
	t.conn.Release()
}

// abandon ends the transactions no stream took over.
func (w *workers) abandon() {
	for _, t := range w.txs {
		if t != nil {
			t.end(context.Background(), w.e, stream.Options{})
		}
	}
	w.txs = nil
}

// scalar reads one value on the transaction.
func (t *workerTx) scalar(ctx context.Context, e *executor, sql string, dst any) error {
	err := e.send(ctx, kindQuery, sql, func(ctx context.Context) error {
		return t.tx.QueryRow(ctx, sql).Scan(dst)
	})
	if err != nil {
		return fmt.Errorf("session: StreamParallel: %s: %w", sql, err)
	}
	return nil
}
