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

	"github.com/ratekeeper/ratekeeper/internal/wait"
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
// a 429 the reset of a refused dimension): beyond MaxRetryAfter the call
// fails.
func (p RetryPolicy) fatal(status int, apiErr *tier.APIError, wait time.Duration) error {
	e := &Error{Status: status, API: apiErr, RetryAfter: wait}
	switch {
	case apiErr != nil && apiErr.SpendLimit:
		e.Err = ErrSpendLimit
	case apiErr != nil && apiErr.InsufficientQuota:
		e.Err = ErrQuotaExhausted
	case apiErr != nil && apiErr.TooLarge:
		e.Err = ErrRequestTooLarge
	case retryableStatus(status) && wait > p.MaxRetryAfter:
		e.Err = ErrRetryAfterTooLong
	default:
		return nil
	}
	return e
}

// retryAfter is how long the server asked to wait: its retry-after header,
// else what the error body's message says ("try again in 8.64s"); zero for
// neither. apiErr may be nil.
func retryAfter(obs *tier.Observation, apiErr *tier.APIError) time.Duration {
	if !obs.HasRetryAfter && apiErr != nil {
		return apiErr.RetryHint
	}
	return obs.RetryAfter
}

// overloaded reports a refusal by the service, not by our quota: 529, 503,
// or an overloaded_error body. apiErr may be nil.
func overloaded(status int, apiErr *tier.APIError) bool {
	return status == 529 || status == http.StatusServiceUnavailable ||
		apiErr != nil && apiErr.Type == "overloaded_error"
}

// The retry loop.
//
// Every call goes through one loop, loop: the Messages and Chat
// Completions calls the Keeper budgets (call, middleware.go) and the calls
// it passes on (passCall, passthrough.go). Each attempt is made by the
// call's sender (try: admitted, sent, its reply read), decide says what
// follows from the reply, the sender does what that asks of it (act), and
// the loop returns, fails or waits for the next attempt. Where the two
// kinds of call differ in what they retry, it is data: rules.

// A reply is what came back from one attempt, as decide reads it.
type reply struct {
	// res is the response; nil when the connection failed with err.
	res *http.Response
	err error
	// ended reports that the call's context had ended when the
	// connection failed.
	ended bool
	// apiErr is a refusal's parsed error body: nil when none was read or
	// it was no error object.
	apiErr *tier.APIError
	// wait is the longest the server asked to wait: its retry-after (see
	// retryAfter) or, for a 429 with a freeze plan, the plan's longest
	// hold.
	wait time.Duration
	// overloaded: see overloaded.
	overloaded bool
	// at is when the response was read (what its headers' times are
	// resolved against), and plan what a 429 asks of the budget (see
	// planFreeze).
	at   time.Time
	plan freezePlan
}

// verdict is what decide makes of a reply.
type verdict uint8

const (
	// respond: return the response, a success or a refusal that no retry
	// would change.
	respond verdict = iota
	// exhausted: return the refusal; its retries ran out.
	exhausted
	// fail: return the error.
	fail
	// retry: wait, then attempt again.
	retry
)

// A decision is what the loop does after one attempt.
type decision struct {
	verdict verdict
	// err is the error a failing call returns.
	err error
	// final marks the response returned x-should-retry: false, so that an
	// SDK with retries left does not start over.
	final bool
	// wait is the backoff before the next attempt. With pause it is the
	// least pause (the server's retry-after), and the sender's act makes
	// it the pool's.
	wait time.Duration
	// freeze: the reply's freeze plan is imposed on the budget (a 429,
	// retried or failing for a wait beyond MaxRetryAfter). A retry then
	// waits for it in the budget's line; wait is for a budget that cannot
	// enforce it (act makes it zero when the budget can).
	freeze bool
	// pause: the whole pool pauses (an overload), not only this call: the
	// next admission of every call waits for it, so an outage meets one
	// probe per pause, not every call's own retries. The loop does not
	// sleep itself.
	pause bool
}

// counters are what one call met so far, against the policy's bounds.
type counters struct {
	// limited counts the 429s (MaxRateLimited); failures the overloads,
	// other retryable statuses and connection failures (MaxAttempts).
	limited, failures int
}

// rules say what decide does where endpoints differ. A budgeted call has
// them all; a call passed on has none but replayable.
type rules struct {
	// replayable: the request can be sent again. One that cannot is sent
	// once; its retryable refusal is returned as exhausted.
	replayable bool
	// resendCut: a connection failure after which the request may have
	// reached the server is retried too (its charge stays). Without it
	// only a connection that was never made is (notSent): a file upload or
	// a batch create that reached the server may have been processed.
	resendCut bool
	// fatal: a refusal that no retry fixes (see fatal; the error body was
	// read) fails the call with an *Error. Without it the refusal is
	// returned, exhausted if its wait is beyond MaxRetryAfter.
	fatal bool
	// finalAll: every refusal returned is final, not only one whose retries
	// ran out: the Keeper owns the call's retries.
	finalAll bool
	// budget: the call has a budget and a pool. A 429 freezes the refused
	// dimensions and its retry waits for them in the budget's line (or a
	// backoff, at least the wait, if the budget cannot enforce them); an
	// overload pauses the pool. Without it a 429's retry sleeps its wait
	// as the server sent it (a backoff if none), and an overload backs off
	// as any other server error.
	budget bool
}

// budgeted are the rules of a call the Keeper budgets by tokens.
var budgeted = rules{replayable: true, resendCut: true, fatal: true, finalAll: true, budget: true}

// decide says what follows from one attempt's reply, with n the counters
// of the call so far (advanced here), under the policy and r.
func (p RetryPolicy) decide(rp *reply, n *counters, r rules) decision {
	if rp.res == nil { // the connection failed
		if rp.ended || !r.replayable || !r.resendCut && !notSent(rp.err) {
			return decision{verdict: fail, err: rp.err}
		}
		if n.failures++; n.failures >= p.MaxAttempts {
			return decision{verdict: fail, err: rp.err}
		}
		return decision{verdict: retry, wait: p.backoff(n.failures, 0)}
	}
	status := rp.res.StatusCode
	if status < 300 {
		return decision{verdict: respond}
	}
	rateLimited := status == http.StatusTooManyRequests
	if r.fatal {
		if err := p.fatal(status, rp.apiErr, rp.wait); err != nil {
			// The budget learns a 429 too long to wait, for at most
			// MaxRetryAfter.
			return decision{verdict: fail, err: err, freeze: rateLimited && errors.Is(err, ErrRetryAfterTooLong)}
		}
	}
	switch {
	case !retryableStatus(status):
		return decision{verdict: respond, final: r.finalAll}
	case !r.replayable || rp.wait > p.MaxRetryAfter:
		return decision{verdict: exhausted, final: true}
	case rateLimited:
		if n.limited++; n.limited > p.MaxRateLimited {
			return decision{verdict: exhausted, final: true}
		}
		if r.budget {
			return decision{verdict: retry, freeze: true, wait: p.backoff(n.limited, min(rp.wait, p.MaxRetryAfter))}
		}
		if rp.wait == 0 {
			return decision{verdict: retry, wait: p.backoff(n.limited, 0)}
		}
		return decision{verdict: retry, wait: rp.wait}
	}
	if n.failures++; n.failures >= p.MaxAttempts {
		return decision{verdict: exhausted, final: true}
	}
	if r.budget && rp.overloaded {
		return decision{verdict: retry, pause: true, wait: rp.wait}
	}
	return decision{verdict: retry, wait: p.backoff(n.failures, rp.wait)}
}

// A sender makes the attempts of one call for loop.
type sender interface {
	// try makes attempt n (from 1; every attempt has its own number,
	// connection failures included): admits it, sends it and reads what
	// came back. An error ends the call at once (admission refused, the
	// context ended); a failed connection is a reply, for decide.
	try(ctx context.Context, n int) (reply, error)
	// act does what d asks of the call after attempt n, beyond what loop
	// does (settle a success, freeze the budget, pause the pool, report
	// events), and returns the decision loop carries out: d, with the wait
	// it really has.
	act(ctx context.Context, n int, rp reply, d decision) decision
}

// loop makes the attempts of one call through s until decide ends it, and
// returns its last response (marked x-should-retry: false when final) or
// its error.
func (p RetryPolicy) loop(ctx context.Context, s sender, r rules) (*http.Response, error) {
	var n counters
	for attempt := 1; ; attempt++ {
		rp, err := s.try(ctx, attempt)
		if err != nil {
			return nil, err
		}
		d := s.act(ctx, attempt, rp, p.decide(&rp, &n, r))
		switch {
		case d.verdict == fail:
			return nil, d.err
		case d.verdict != retry:
			if d.final {
				rp.res.Header.Set("X-Should-Retry", "false")
			}
			return rp.res, nil
		case d.pause:
			continue // the next admission waits for the pool's pause
		}
		if err := wait.Sleep(ctx, d.wait); err != nil {
			return nil, err
		}
	}
}
