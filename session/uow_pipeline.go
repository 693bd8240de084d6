package session

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/streamcat/streamcat/internal/mapping"
)

// pipelineMinChunks is the fewest full chunks a flush sends as a pipeline:
// with one there is nothing to overlap.
const pipelineMinChunks = 2

// insertPipelined sends the full chunks of ts (per rows each) as multi-row
// INSERT ... RETURNING statements on one pipeline, and returns the rows of
// a last, short chunk for the caller to send on its own.
//
// Why: one chunk after another, the server waits while the client encodes
// the next chunk and reads back the last, and the client waits while the
// server inserts. With two chunks in flight the client encodes chunk k+1
// while the server inserts chunk k, then reads chunk k's keys back; a
// program's hand-written loop of INSERTs cannot do that, the unit of work
// can since it knows every row before it sends the first.
//
// The full chunk's statement is prepared once per connection under a name
// made from its text (a second flush of the same shape reuses it), the
// parameters are encoded by pgx's own builder with the connection's type
// map, and each chunk goes through the executor's send and the
// connection's QueryTracer like any other statement. On any failure the
// pipeline is synced and drained, so the connection stays usable for the
// ROLLBACK that follows.
func insertPipelined(ctx context.Context, tx flushConn, m *mapping.Type, sh insertShape, ts []*tracked, per int, j *journal) (rest []*tracked, err error) {
	full := len(ts) / per
	conn := tx.Conn()
	if full < pipelineMinChunks || conn == nil || conn.Config().DefaultQueryExecMode != pgx.QueryExecModeCacheStatement {
		// the other modes promise no prepared statements (PgBouncer in
		// transaction mode, for one): keep to plain statements there
		return ts, nil
	}
	sql := insertSQL(m, sh, per)
	name := preparedName("streamcat_insert_", sql)
	p := &insertPipeline{m: m, sh: sh, j: j, conn: conn, order: newKeyOrder(m, sh)}
	p.tracer, _ = conn.Config().Tracer.(pgx.QueryTracer)
	defer func() {
		if cerr := p.close(); err == nil && cerr != nil {
			err = insertError(m, cerr)
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "26000" && !conn.PgConn().IsClosed() {
			// the statement is gone from the server (a DEALLOCATE ALL or
			// DISCARD ALL sent as plain SQL) while pgx still lists it: drop
			// it from pgx's list too, so that the next flush prepares it
			// again instead of failing the same way
			_ = conn.Deallocate(context.WithoutCancel(ctx), name)
		}
	}()
	var inFlight []pipelinedChunk // at most two
	for k := range full {
		rows := ts[k*per : (k+1)*per]
		var c pipelinedChunk
		err := tx.Send(ctx, kindQuery, sql, func(ctx context.Context) (err error) {
			if k == 0 {
				// prepared once per connection, as pgx prepares the
				// statements of its own cache: part of the first send
				if p.sd, err = conn.Prepare(ctx, name, sql); err != nil {
					return err
				}
				p.pl = conn.PgConn().StartPipeline(ctx)
			}
			c, err = p.send(ctx, rows)
			return err
		})
		if err != nil {
			return nil, insertError(m, err)
		}
		inFlight = append(inFlight, c)
		if len(inFlight) == 2 {
			if err := p.receive(inFlight[0]); err != nil {
				return nil, err
			}
			inFlight = inFlight[1:]
		}
	}
	for _, c := range inFlight {
		if err := p.receive(c); err != nil {
			return nil, err
		}
	}
	return ts[full*per:], nil
}

// preparedName is the name a flush prepares sql under on a connection:
// made from its text, so that the next flush of the same shape finds it in
// pgx's list of the connection's prepared statements.
func preparedName(prefix, sql string) string {
	h := fnv.New64a()
	h.Write([]byte(sql))
	return prefix + strconv.FormatUint(h.Sum64(), 36)
}

// insertPipeline is one flush's pipeline of INSERT chunks.
type insertPipeline struct {
	m      *mapping.Type
	sh     insertShape
	j      *journal
	conn   *pgx.Conn
	sd     *pgconn.StatementDescription
	order  keyOrder
	tracer pgx.QueryTracer
	pl     *pgconn.Pipeline
	eqb    pgx.ExtendedQueryBuilder
	args   []any
	plans  []pgtype.ScanPlan
}

// pipelinedChunk is a sent chunk whose rows have yet to be read back.
type pipelinedChunk struct {
	ctx  context.Context // the tracer's, for TraceQueryEnd
	rows []*tracked
}

// send encodes one chunk and sends it with a flush request, so that the
// server answers without waiting for the pipeline's Sync.
func (p *insertPipeline) send(ctx context.Context, rows []*tracked) (pipelinedChunk, error) {
	p.args = appendRowArgs(p.args[:0], p.m, p.sh, rows)
	c := pipelinedChunk{ctx: ctx, rows: rows}
	if p.tracer != nil {
		c.ctx = p.tracer.TraceQueryStart(ctx, p.conn, pgx.TraceQueryStartData{SQL: p.sd.SQL, Args: p.args})
	}
	if err := p.eqb.Build(p.conn.TypeMap(), p.sd, p.args); err != nil {
		p.traceEnd(c, err)
		return c, err
	}
	// the pipeline keeps the result formats until the chunk is read back,
	// and the builder reuses its slice for the next chunk
	formats := append([]int16(nil), p.eqb.ResultFormats...)
	p.pl.SendQueryStatement(p.sd, p.eqb.ParamValues, p.eqb.ParamFormats, formats)
	p.pl.SendFlushRequest()
	if err := p.pl.Flush(); err != nil {
		p.traceEnd(c, err)
		return c, err
	}
	return c, nil
}

func (p *insertPipeline) traceEnd(c pipelinedChunk, err error) {
	if p.tracer != nil {
		p.tracer.TraceQueryEnd(c.ctx, p.conn, pgx.TraceQueryEndData{Err: err})
	}
}

// receive reads one chunk's RETURNING rows into its objects, in row order.
func (p *insertPipeline) receive(c pipelinedChunk) (err error) {
	defer func() { p.traceEnd(c, err) }()
	res, err := p.pl.GetResults()
	if err != nil {
		return insertError(p.m, err)
	}
	rr, ok := res.(*pgconn.ResultReader)
	if !ok {
		return fmt.Errorf("insert into %s: the pipeline answered %T, not rows", p.m.Quoted, res)
	}
	i := 0
	for rr.NextRow() {
		if i >= len(c.rows) {
			_, _ = rr.Close()
			return fmt.Errorf("insert into %s returned more rows than it inserted", p.m.Quoted)
		}
		if err := p.scan(rr, c.rows[i]); err != nil {
			_, _ = rr.Close()
			return err
		}
		i++
	}
	if _, err := rr.Close(); err != nil {
		return insertError(p.m, err)
	}
	if i != len(c.rows) {
		return fmt.Errorf("insert into %s returned %d rows for %d objects", p.m.Quoted, i, len(c.rows))
	}
	return nil
}

// scan writes one returned row into t, after the journal has noted what to
// put back should the flush fail.
func (p *insertPipeline) scan(rr *pgconn.ResultReader, t *tracked) error {
	vals := rr.Values()
	fds := rr.FieldDescriptions()
	if len(vals) != len(p.sh.back) {
		return fmt.Errorf("insert into %s: RETURNING gave %d columns for %d fields", p.m.Quoted, len(vals), len(p.sh.back))
	}
	p.j.saveZeroed(t, p.sh.back)
	if p.plans == nil {
		p.plans = make([]pgtype.ScanPlan, len(p.sh.back))
	}
	for c, k := range p.sh.back {
		f := &p.m.Fields[k]
		target := reflect.NewAt(f.Type, fieldPtr(t.ptr, f)).Interface()
		if p.plans[c] == nil {
			p.plans[c] = p.conn.TypeMap().PlanScan(fds[c].DataTypeOID, fds[c].Format, target)
		}
		if err := p.plans[c].Scan(vals[c], target); err != nil {
			return fmt.Errorf("insert into %s: reading back %s: %w", p.m.Quoted, columnList(p.m, p.sh.back), err)
		}
	}
	return p.order.check(t)
}

// close ends the pipeline: a Sync, then every answer still owed is read and
// dropped (after a failure, the server skipped the rest up to the Sync).
// The connection is usable afterwards unless the network failed.
func (p *insertPipeline) close() error {
	if p.pl == nil {
		return nil
	}
	var err error
	if !p.conn.PgConn().IsClosed() {
		// after a network failure pgx closes the connection on a goroutine
		// of its own, which writes to it: no Sync then, only Close
		err = p.pl.Sync()
	}
	if cerr := p.pl.Close(); err == nil {
		err = cerr
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return nil // the statement's own error, already reported by receive
	}
	return err
}
