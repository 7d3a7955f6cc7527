package limiter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ratekeeper/ratekeeper/tier"
)

var (
	// ErrLimited is matched by a *LimitError when a call does not fit the
	// budget now (Allow), within the caller's deadline (Wait), or within
	// Forever (Reserve and Wait, after a Clamp or a settlement put a bucket
	// so deep in debt that its wait is beyond 292 years). Waiting
	// LimitError.RetryAfter would help.
	ErrLimited = errors.New("rate limited")
	// ErrTooLarge is matched by a *LimitError when a call is larger than a
	// bucket's capacity: it can never be admitted, however long it waits.
	ErrTooLarge = errors.New("request too large for the budget")
	// ErrInvalidCost is matched by errors about a Cost with a field outside
	// [0, 2^50] (negative, or beyond anything a budget can hold: tier.MaxLimit
	// is 2^40) or an unknown Priority.
	ErrInvalidCost = errors.New("invalid cost")
)

// LimitError says which budget refused a call and by how much. It matches
// ErrLimited or ErrTooLarge with errors.Is; when a Wait was refused because
// the delay would outlive the context's deadline it also matches
// context.DeadlineExceeded.
type LimitError struct {
	// Dimension is the bucket that refused: the one needing the longest
	// wait, or the one too small.
	Dimension tier.Dimension
	// Need is the call's cost in that dimension.
	Need int64
	// Have is what the bucket offers above the call's floor: its capacity
	// (ErrTooLarge) or its level when the call was refused (ErrLimited;
	// negative in debt, or while places taken by Reserve are pending).
	Have float64
	// RetryAfter is how long until the call would be admitted, counted
	// from the refusal; zero with ErrTooLarge.
	RetryAfter time.Duration
	// Err is ErrLimited or ErrTooLarge.
	Err error

	deadline bool // refused because of the context deadline
}

// Error names the dimension, the need and what the bucket had.
func (e *LimitError) Error() string {
	if e.Err == ErrTooLarge {
		return fmt.Sprintf("limiter: %s: need %d, capacity %.0f: %v", e.Dimension, e.Need, e.Have, e.Err)
	}
	s := fmt.Sprintf("limiter: %s: need %d, have %.0f: %v, retry after %v", e.Dimension, e.Need, e.Have, e.Err, e.RetryAfter)
	if e.deadline {
		s += " (beyond the context deadline)"
	}
	return s
}

// Unwrap returns Err and, for a refusal caused by the context deadline,
// context.DeadlineExceeded.
func (e *LimitError) Unwrap() []error {
	if e.deadline {
		return []error{e.Err, context.DeadlineExceeded}
	}
	return []error{e.Err}
}

// refusal is what a Limiter keeps of a store's refusal.
type refusal struct {
	Delay    time.Duration
	Dim      int
	TooLarge bool
	Need     float64
	Have     float64
	Since    int64
}

func refusalOf(r *ReserveResult) refusal {
	return refusal{Delay: r.Delay, Dim: r.Dim, TooLarge: r.TooLarge, Need: r.Need, Have: r.Have, Since: r.Since}
}

func limitError(r *refusal, deadline bool) *LimitError {
	e := &LimitError{
		Dimension: tier.Dimension(r.Dim),
		Need:      int64(r.Need),
		Have:      r.Have,
		Err:       ErrLimited,
		deadline:  deadline,
	}
	if r.TooLarge {
		e.Err = ErrTooLarge
	} else {
		e.RetryAfter = r.Delay
	}
	return e
}
