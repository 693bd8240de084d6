package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/pipe"
	"github.com/streamcat/streamcat/session"
	"github.com/streamcat/streamcat/split"
	"github.com/streamcat/streamcat/stream"
)

// scaleFlags are the scale-out options: a parallel export of one query
// (--parallel, --split-by) or a fan-in from several servers (--dsn
// repeated or --shards, --merge-by).
type scaleFlags struct {
	parallel int64
	splitBy  string
	dsns     []string // every --dsn, in order
	shards   string   // a file of DSNs, one a line
	mergeBy  string
}

// maxParallel bounds --parallel: each worker is a connection and a backend.
const maxParallel = 64

// checkScale validates the scale-out flags; it runs after check.
func (o *options) checkScale() error {
	s := &o.scale
	if s.shards != "" {
		dsns, err := readShards(s.shards)
		if err != nil {
			return err
		}
		s.dsns = append(s.dsns, dsns...)
	}
	switch {
	case s.parallel < 0 || s.parallel > maxParallel:
		return usagef("--parallel must be between 1 and %d, got %d", maxParallel, s.parallel)
	case s.splitBy != "" && s.parallel == 0:
		return usagef("--split-by needs --parallel N")
	case s.mergeBy != "" && len(s.dsns) < 2:
		return usagef("--merge-by needs several servers (--dsn given more than once, or --shards FILE)")
	case len(s.dsns) > 1 && s.parallel > 0:
		return usagef("--parallel reads one server; it cannot be combined with several --dsn or --shards")
	case len(s.dsns) > 1 && (o.host != "" || o.port != "" || o.user != "" || o.dbname != "" || o.embedded):
		return usagef("with several servers give each one's connection string (--dsn or --shards); -h, -p, -U, -d and --embedded apply to one server")
	}
	if len(s.dsns) > 0 && o.dsn == "" {
		o.dsn = s.dsns[0] // the first server describes the statement
	}
	return nil
}

// readShards reads a shards file: one connection string a line; blank
// lines and lines starting with # are skipped.
func readShards(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("--shards: %v", pathErr(err))
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, usagef("--shards %s: %v", path, err)
	}
	if len(out) == 0 {
		return nil, usagef("--shards %s: no connection string in the file", path)
	}
	return out, nil
}

// scaled reports whether the run reads with several connections.
func (o *options) scaled() bool { return o.scale.parallel > 0 || len(o.scale.dsns) > 1 }

// scaleStreamOptions are the stream options of every slice or shard: as a
// single run's, with the early end bounded as the CLI bounds a cancel.
func (r *runner) scaleStreamOptions() stream.Options {
	opts := r.streamOptions()
	opts.ExitTimeout = cancelGrace
	return opts
}

// poolFor makes a pool of at most conns connections with cfg (which
// connConfig made: cancel requests, timeouts, application_name).
func poolFor(ctx context.Context, cfg *pgx.ConnConfig, conns int32) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, err
	}
	pc.ConnConfig = cfg.Copy()
	pc.MaxConns = conns
	stream.TrackArrivals(&pc.ConnConfig.Config)
	return pgxpool.NewWithConfig(ctx, pc)
}

// copyParallel reads the query with --parallel connections under one
// exported snapshot (session.Maker.StreamParallel) and writes the slices:
// as they come, or with --split-by one after the other, in key order.
func (r *runner) copyParallel(ctx context.Context, cfg *pgx.ConnConfig) error {
	sc := r.o.scale
	pool, err := poolFor(ctx, cfg, int32(sc.parallel))
	if err != nil {
		return err
	}
	defer pool.Close()
	var p *session.Parallel
	err = r.writeAll(ctx, func(ctx context.Context) ([]pgconn.FieldDescription, rowSource, error) {
		p, err = session.NewMaker(pool).StreamParallel(ctx, r.query, session.ParallelOptions{
			Workers:      int(sc.parallel),
			SplitBy:      sc.splitBy,
			Ordered:      sc.splitBy != "",
			QueryOptions: []any{r.resultFormats()},
			Stream:       r.scaleStreamOptions(),
		}, r.params()...)
		if errors.Is(err, split.ErrShape) {
			return nil, nil, usagef("--parallel: %v", strings.TrimPrefix(err.Error(), "session: StreamParallel: "))
		}
		if err != nil {
			return nil, nil, err
		}
		views := make([]*buffered.View[[][]byte], len(p.Streams))
		for i, st := range p.Streams {
			views[i] = buffered.Raw(st)
		}
		fields := fieldsOf(p.Streams[0])
		if sc.splitBy != "" {
			return fields, &inOrder{views: views, stop: sync.OnceFunc(p.Close)}, nil
		}
		return fields, newFanIn(ctx, views, len(fields), p.Close), nil
	})
	if err != nil && p != nil && ctx.Err() == nil {
		if f := p.Failed(); f != nil {
			return f // a slice failed, and the others were cancelled because of it
		}
	}
	return err
}

// copyFanIn runs the query on every server at once (session.StreamEach)
// and writes their rows as they come, or with --merge-by merged in that
// column's order (pipe.Merge; every server's query must ORDER BY it).
func (r *runner) copyFanIn(ctx context.Context, first *pgx.ConnConfig) error {
	sc := r.o.scale
	makers := make([]*session.Maker, len(sc.dsns))
	for i, dsn := range sc.dsns {
		cfg := first
		if i > 0 {
			var err error
			if cfg, err = connConfig(dsn); err != nil {
				return fmt.Errorf("server %d: %w", i+1, err)
			}
			if enc := first.RuntimeParams["client_encoding"]; enc != "" {
				cfg.RuntimeParams["client_encoding"] = enc // UTF8 for jsonl and json
			}
		}
		pool, err := poolFor(ctx, cfg, 1)
		if err != nil {
			return fmt.Errorf("server %d: %w", i+1, err)
		}
		defer pool.Close()
		makers[i] = session.NewMaker(pool)
	}
	return r.writeAll(ctx, func(ctx context.Context) ([]pgconn.FieldDescription, rowSource, error) {
		args := append([]any{session.StreamOptions{Options: r.scaleStreamOptions()}, r.resultFormats()}, r.params()...)
		sts, err := session.StreamEach(ctx, makers, r.query, args...)
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) && ctx.Err() == nil {
			return nil, nil, &connError{msg: err.Error()} // pgx's text names host, user and database, never the password
		}
		if err != nil {
			return nil, nil, err
		}
		views := make([]*buffered.View[[][]byte], len(sts))
		for i, st := range sts {
			views[i] = buffered.Raw(st)
		}
		closeAll := sync.OnceFunc(func() {
			for _, v := range views {
				v.Close()
			}
		})
		fields := fieldsOf(sts[0])
		for i, st := range sts[1:] {
			if err := sameColumns(fields, fieldsOf(st)); err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("server %d returns other columns than server 1: %w", i+2, err)
			}
		}
		if sc.mergeBy == "" {
			return fields, newFanIn(ctx, views, len(fields), closeAll), nil
		}
		cmp, err := keyCompare(fields, sc.mergeBy)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		return fields, newMerged(pipe.Merge(ctx, cmp, views...)), nil
	})
}

// sameColumns reports a difference in the columns' names or types.
func sameColumns(a, b []pgconn.FieldDescription) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d columns instead of %d", len(b), len(a))
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].DataTypeOID != b[i].DataTypeOID {
			return fmt.Errorf("column %d is %q (type oid %d) instead of %q (type oid %d)", i+1, b[i].Name, b[i].DataTypeOID, a[i].Name, a[i].DataTypeOID)
		}
	}
	return nil
}

// merged reads a pipe (pipe.Merge of the servers' streams) chunk by chunk.
type merged struct {
	p    *pipe.Pipe[[][]byte]
	next func() ([][][]byte, error, bool)
	stop func()
	buf  [][][]byte
	err  error
}

func newMerged(p *pipe.Pipe[[][]byte]) *merged {
	m := &merged{p: p}
	m.next, m.stop = iter.Pull2(p.Chunks())
	return m
}

func (m *merged) FetchOne() ([][]byte, bool) {
	for len(m.buf) == 0 {
		c, err, ok := m.next()
		if !ok {
			return nil, false
		}
		if err != nil {
			m.err = err
			return nil, false
		}
		m.buf = c
	}
	row := m.buf[0]
	m.buf = m.buf[1:]
	return row, true
}

func (m *merged) Err() error { return m.err }

func (m *merged) close() {
	m.stop()
	m.p.Close()
}
