package stream

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/ladder"
)

// Fetch runs one FETCH of up to n rows from a server-side cursor.
type Fetch func(ctx context.Context, n int) (pgx.Rows, error)

// OpenFetch streams a server-side cursor (DECLARE ... CURSOR) batch by batch
// on the caller's goroutine: each batch is one fetch call, with the same
// growing batch sizes as Open, and nothing runs between batches, so the
// connection is free for other statements while the caller works. done is
// called once when the stream ends (exhausted, failed or closed): close the
// cursor there. The first batch is fetched before OpenFetch returns, to
// learn the columns.
func OpenFetch(ctx context.Context, opts Options, fetch Fetch, done func()) (*Result, error) {
	opts = opts.withDefaults()
	src := &fetchSource{ctx: ctx, sizes: batchSizes(opts), fetch: fetch, done: done}
	rows, err := fetch(ctx, src.sizes.Next())
	if err != nil {
		src.Close()
		return nil, err
	}
	fields := rows.FieldDescriptions()
	typeMap := rows.Conn().TypeMap()
	cur := buffered.NewRowView(fields, typeMap, src, buffered.ViewOptions{CloseOnBreak: true, FetchSize: opts.FixedBatch})
	src.first, err = src.read(rows, 1)
	if err != nil {
		src.Close()
		return nil, err
	}
	return &Result{RowView: cur}, nil
}

type fetchSource struct {
	ctx      context.Context
	sizes    ladder.Ladder
	fetch    Fetch
	done     func()
	first    *buffered.Block
	finished bool
	once     sync.Once
}

// read copies up to n rows and notes when the cursor has no more.
func (s *fetchSource) read(rows pgx.Rows, n int) (*buffered.Block, error) {
	defer rows.Close()
	b := buffered.NewBlock(len(rows.FieldDescriptions()), n, 0)
	for rows.Next() {
		values := rows.RawValues()
		if !b.Fits(values) {
			rows.Close()
			return nil, fmt.Errorf("stream: FETCH of %d rows holds more than 2 GiB: stream with a smaller MaxBatch (or FixedBatch)", n)
		}
		b.AppendRow(values)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if b.Len() < n {
		s.finished = true
	}
	return b, nil
}

func (s *fetchSource) Next() (*buffered.Block, error) {
	if b := s.first; b != nil {
		s.first = nil
		if b.Len() > 0 {
			return b, nil
		}
	}
	if s.finished {
		return nil, nil
	}
	n := s.sizes.Next()
	rows, err := s.fetch(s.ctx, n)
	if err != nil {
		return nil, err
	}
	b, err := s.read(rows, n)
	if err != nil || b.Len() == 0 {
		return nil, err
	}
	return b, nil
}

func (s *fetchSource) Close() { s.once.Do(s.done) }
