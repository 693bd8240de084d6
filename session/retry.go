package session

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// RetryPolicy says how Maker.Begin reruns a transaction that lost a
// serialization conflict (SQLSTATE 40001) or a deadlock (40P01). The zero
// value never retries.
type RetryPolicy struct {
	// MaxAttempts counts the first run: 3 means up to two retries. < 2 means
	// no retry.
	MaxAttempts int
	// BaseDelay is the backoff before the first retry; it doubles for each
	// further one, up to MaxDelay, and each wait is jittered uniformly in
	// [delay/2, delay]. Defaults: 10 ms and 1 s.
	BaseDelay time.Duration
	MaxDelay  time.Duration
}

const (
	// defaultBaseDelay is about one short transaction: long enough for the
	// transaction that won a conflict to commit before the loser runs again.
	defaultBaseDelay = 10 * time.Millisecond
	// defaultMaxDelay caps the doubling: past a second, waiting longer
	// rarely helps a conflict and only slows the caller.
	defaultMaxDelay = time.Second
)

// DefaultRetry is a policy for SERIALIZABLE workloads: up to 5 runs, 10 ms
// doubling to at most 1 s.
var DefaultRetry = RetryPolicy{MaxAttempts: 5, BaseDelay: defaultBaseDelay, MaxDelay: defaultMaxDelay}

func (p RetryPolicy) attempts() int { return max(p.MaxAttempts, 1) }

// retryable reports whether err is a serialization failure or a deadlock.
func (p RetryPolicy) retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// wait sleeps before retry number attempt (1-based), or until ctx ends.
func (p RetryPolicy) wait(ctx context.Context, attempt int) error {
	t := time.NewTimer(p.backoff(attempt))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff is the jittered wait before retry number attempt (1-based): the
// delay doubles from BaseDelay up to MaxDelay (without overflowing, whatever
// the ceiling), then is drawn uniformly from [delay/2, delay].
func (p RetryPolicy) backoff(attempt int) time.Duration {
	base, ceiling := p.BaseDelay, p.MaxDelay
	if base <= 0 {
		base = defaultBaseDelay
	}
	if ceiling <= 0 {
		ceiling = defaultMaxDelay
	}
	d := min(base, ceiling)
	for i := 1; i < attempt && d < ceiling; i++ {
		if d > ceiling/2 {
			d = ceiling
		} else {
			d *= 2
		}
	}
	return d/2 + rand.N(d/2+1)
}
