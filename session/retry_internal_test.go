package session

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
)

func TestRetryPolicy_Backoff_DoublesUpToTheCeilingWithJitter(t *testing.T) {
	cases := []struct {
		name    string
		p       RetryPolicy
		attempt int
		delay   time.Duration // before jitter: the wait is in [delay/2, delay]
	}{
		{"first", RetryPolicy{BaseDelay: 4 * time.Millisecond, MaxDelay: time.Second}, 1, 4 * time.Millisecond},
		{"second", RetryPolicy{BaseDelay: 4 * time.Millisecond, MaxDelay: time.Second}, 2, 8 * time.Millisecond},
		{"fourth", RetryPolicy{BaseDelay: 4 * time.Millisecond, MaxDelay: time.Second}, 4, 32 * time.Millisecond},
		{"capped", RetryPolicy{BaseDelay: 4 * time.Millisecond, MaxDelay: 20 * time.Millisecond}, 4, 20 * time.Millisecond},
		{"base above ceiling", RetryPolicy{BaseDelay: time.Minute, MaxDelay: time.Second}, 1, time.Second},
		{"defaults", RetryPolicy{}, 1, 10 * time.Millisecond},
		{"default ceiling", RetryPolicy{BaseDelay: 300 * time.Millisecond}, 3, time.Second},
		{"default base", RetryPolicy{MaxDelay: time.Hour}, 3, 40 * time.Millisecond},
		{"negative", RetryPolicy{BaseDelay: -1, MaxDelay: -1}, 2, 20 * time.Millisecond},
		{"attempt zero", RetryPolicy{BaseDelay: 4 * time.Millisecond, MaxDelay: time.Second}, 0, 4 * time.Millisecond},
		{"many attempts", RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: time.Second}, 1000, time.Second},
		// the doubling must not overflow on its way to a far ceiling
		{"no real ceiling", RetryPolicy{BaseDelay: time.Hour, MaxDelay: math.MaxInt64}, 40, math.MaxInt64},
		{"no real ceiling, odd base", RetryPolicy{BaseDelay: 3, MaxDelay: math.MaxInt64}, 100, math.MaxInt64},
		{"1ns", RetryPolicy{BaseDelay: 1, MaxDelay: 1}, 5, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lo, hi := c.delay, time.Duration(0)
			for range 2000 {
				d := c.p.backoff(c.attempt)
				if d < c.delay/2 || d > c.delay {
					t.Fatalf("backoff(%d) = %v, want within [%v, %v]", c.attempt, d, c.delay/2, c.delay)
				}
				lo, hi = min(lo, d), max(hi, d)
			}
			if c.delay >= 1000 {
				// jittered: 2000 draws spread over the range
				assert.Less(t, lo, c.delay/2+c.delay/8, "never near the low end")
				assert.Greater(t, hi, c.delay-c.delay/8, "never near the high end")
			}
		})
	}
}

func TestRetryPolicy_Wait(t *testing.T) {
	p := RetryPolicy{BaseDelay: 20 * time.Millisecond, MaxDelay: time.Second}
	start := time.Now()
	assert.NoError(t, p.wait(context.Background(), 1))
	assert.GreaterOrEqual(t, time.Since(start), 10*time.Millisecond, "it sleeps at least half the delay")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	err := RetryPolicy{BaseDelay: time.Hour, MaxDelay: time.Hour}.wait(ctx, 3)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), time.Second, "an ended context stops the wait")

	// far ceilings do not overflow into a panic
	assert.ErrorIs(t, RetryPolicy{BaseDelay: time.Hour, MaxDelay: math.MaxInt64}.wait(ctx, 60), context.Canceled)
}

func TestRetryPolicy_Attempts(t *testing.T) {
	for maxAttempts, want := range map[int]int{-3: 1, 0: 1, 1: 1, 2: 2, 5: 5} {
		assert.Equal(t, want, RetryPolicy{MaxAttempts: maxAttempts}.attempts(), "MaxAttempts %d", maxAttempts)
	}
	assert.Equal(t, 5, DefaultRetry.attempts())
	assert.Equal(t, 10*time.Millisecond, DefaultRetry.BaseDelay)
	assert.Equal(t, time.Second, DefaultRetry.MaxDelay)
}

func TestRetryPolicy_Retryable(t *testing.T) {
	var p RetryPolicy
	for err, want := range map[error]bool{
		&pgconn.PgError{Code: "40001"}:                                    true,
		&pgconn.PgError{Code: "40P01"}:                                    true,
		fmt.Errorf("in fn: %w", &pgconn.PgError{Code: "40001"}):           true,
		errors.Join(errors.New("x"), &pgconn.PgError{Code: "40P01"}):      true,
		&pgconn.PgError{Code: "40002"}:                                    false, // integrity constraint violation on commit
		&pgconn.PgError{Code: "23505"}:                                    false,
		&pgconn.PgError{Code: "25P02"}:                                    false,
		errors.New("could not serialize access due to concurrent update"): false,
		context.Canceled:                                                  false,
	} {
		assert.Equal(t, want, p.retryable(err), "%v", err)
	}
	assert.False(t, p.retryable(nil))
}
