package ratekeeper

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/ratekeeper/ratekeeper/tier"
)

// RetryPolicy says how the Keeper retries calls the server refused. Every
// retry goes back through admission, so it waits for the budget and for a
// concurrency slot like a new call.
//
//   - 429 (our quota): the refused dimension is frozen until the server's
//     retry-after or reset; the retry waits for it in line. A wait beyond
//     MaxRetryAfter (a retry-after, a "try again in", or a reset), a spend
//     limit or an exhausted quota fail at once with an *Error; the budget is
//     frozen for MaxRetryAfter at most.
//   - 529, 503 and other 5xx, 408, 409, and connection errors (the service):
//     exponential backoff with full jitter — a random delay in [0,
//     min(MaxBackoff, BaseBackoff·2ⁿ)], at least the server's retry-after;
//     overload also shrinks the concurrency bound.
//
// What a refused attempt leaves charged follows what the server took: an
// overload (529, 503) is decided before admission and a connection that
// was never made reached nobody, so both are refunded whole (OpenAI keeps
// the request: it counts unsuccessful ones); another 4xx or 5xx keeps the
// request and its input estimate but not the output reservation; a
// connection cut after sending, and a 429, keep the whole charge.
type RetryPolicy struct {
	// MaxAttempts bounds the attempts of one call that meet an overload,
	// another retryable server error or a connection error, retries
	// included; 1 disables those retries.
	MaxAttempts int
	// MaxRateLimited bounds the 429s one call may meet and retry (each
	// retry waits for the retry-after and the budget, so many are cheap);
	// 0 disables 429 retries.
	//
	// When a bound is reached, the last refused response is returned to
	// the client as is, marked x-should-retry: false.
	MaxRateLimited int
	// BaseBackoff and MaxBackoff shape the backoff after an overload.
	BaseBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest the Keeper waits because the server
	// said so (retry-after, "try again in", a refused dimension's reset); a
	// longer wait (a quota measured in hours, or a garbage header) fails
	// the call at once, and no budget is frozen for longer than this.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy is the policy of a Keeper without WithRetry: 6
// attempts against overload, 50 retries of 429s (each waits for the
// retry-after), backoff from 0.5 s up to 30 s, retry-after up to 2 minutes.
var DefaultRetryPolicy = RetryPolicy{
	MaxAttempts:    6,
	MaxRateLimited: 50,
	BaseBackoff:    500 * time.Millisecond,
	MaxBackoff:     30 * time.Second,
	MaxRetryAfter:  2 * time.Minute,
}

func (p RetryPolicy) validate() error {
	if p.MaxAttempts < 1 || p.MaxRateLimited < 0 || p.BaseBackoff <= 0 || p.MaxBackoff < p.BaseBackoff || p.MaxRetryAfter < 0 {
		return fmt.Errorf("ratekeeper: invalid retry policy %+v: want MaxAttempts ≥ 1, MaxRateLimited ≥ 0, 0 < BaseBackoff ≤ MaxBackoff, MaxRetryAfter ≥ 0", p)
	}
	return nil
}

// backoff returns the full-jitter delay before retry n (n ≥ 1) after an
// overload, and at least retryAfter.
func (p RetryPolicy) backoff(n int, retryAfter time.Duration) time.Duration {
	ceiling := p.MaxBackoff
	if n-1 < 62 {
		if d := p.BaseBackoff << (n - 1); d > 0 && d < ceiling {
			ceiling = d
		}
	}
	d := time.Duration(rand.Int64N(int64(min(ceiling, math.MaxInt64-1)) + 1))
	return max(d, retryAfter)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryableStatus reports the statuses worth another attempt: 429 (after
// the budget's wait), 408, 409 and 5xx (after a backoff).
func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500 ||
		status == http.StatusRequestTimeout || status == http.StatusConflict
}

// notSent reports errors that prove the request never left: a failed dial.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// fatal returns the *Error for refusals that no retry fixes, or nil. wait is
// the longest the server asked to wait (retry-after, "try again in", or for
// a 429 the reset of a refused dimension): beyond policy.MaxRetryAfter the
// call fails.
func (c *call) fatal(status int, apiErr *tier.APIError, wait time.Duration, policy RetryPolicy) error {
	e := &Error{Status: status, API: apiErr, RetryAfter: wait}
	switch {
	case apiErr != nil && apiErr.SpendLimit:
		e.Err = ErrSpendLimit
	case apiErr != nil && apiErr.InsufficientQuota:
		e.Err = ErrQuotaExhausted
	case apiErr != nil && apiErr.TooLarge:
		e.Err = ErrRequestTooLarge
	case retryableStatus(status) && wait > policy.MaxRetryAfter:
		e.Err = ErrRetryAfterTooLong
	default:
		return nil
	}
	return e
}
