package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/sourcegraph/conc"

	"github.com/streamcat/streamcat/stream"
)

// StreamEach runs one statement on several databases at once (one Maker
// per shard, tenant database or replica) and returns their streams, in the
// makers' order, for pipe.FanIn (rows as they come) or pipe.Merge (one
// ORDER BY on every shard, merged; pipe.Limit after it is a LIMIT over the
// whole). Each stream runs on a new session of its maker, outside any
// transaction, so each has its own connection and its own snapshot: the
// streams together are consistent per server, never across servers.
//
// The statements are sent concurrently, one goroutine per maker, owned and
// waited for here. When any fails to start, the ones that started are
// closed and the error names each failing maker's position. Close every
// returned stream, or the pipe built on them, as for a single stream. args
// may start with StreamOptions, as for Stream.
func StreamEach(ctx context.Context, makers []*Maker, sql string, args ...any) ([]*stream.Result, error) {
	results := make([]*stream.Result, len(makers))
	errs := make([]error, len(makers))
	var wg conc.WaitGroup
	for i, m := range makers {
		wg.Go(func() { results[i], errs[i] = m.New().Stream(ctx, sql, args...) })
	}
	wg.Wait()
	var failed []error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Errorf("session: StreamEach: maker %d: %w", i, err))
		}
	}
	if len(failed) == 0 {
		return results, nil
	}
	for _, r := range results {
		if r != nil {
			r.Close()
		}
	}
	return nil, errors.Join(failed...)
}
