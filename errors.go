package ratekeeper

import (
	"errors"
	"fmt"
	"time"

	"github.com/ratekeeper/ratekeeper/tier"
)

var (
	// ErrSpendLimit is matched by an *Error when the server refused a call
	// because a spend limit is reached (Anthropic's
	// enforced_spend_limit_reached, or a user-set limit). No retry helps
	// until access resumes.
	ErrSpendLimit = errors.New("spend limit reached")
	// ErrQuotaExhausted is matched by an *Error for OpenAI's
	// insufficient_quota.
	ErrQuotaExhausted = errors.New("quota exhausted")
	// ErrRetryAfterTooLong is matched by an *Error when the server asked
	// to wait longer than RetryPolicy.MaxRetryAfter.
	ErrRetryAfterTooLong = errors.New("retry-after beyond the configured ceiling")
	// ErrRequestTooLarge is matched by an *Error when the server says a
	// single request exceeds a whole limit.
	ErrRequestTooLarge = errors.New("request larger than the server's limit")
	// ErrImplausible is matched by the Err of a Bounded event: the server
	// reported something that cannot be true (usage above what the request
	// could cost, a limit below the call it just admitted), and the Keeper
	// bounded or ignored it instead of letting it into the budget. It is
	// never returned by a call.
	ErrImplausible = errors.New("implausible figure from the server")
)

// Error is a refusal from the server that retrying will not fix, returned
// by the middleware at once (the SDK sees it as a connection error and, in
// the documented setup, does not retry). It matches one of ErrSpendLimit,
// ErrQuotaExhausted, ErrRetryAfterTooLong or ErrRequestTooLarge.
type Error struct {
	// Status is the HTTP status of the response.
	Status int
	// API is the parsed error body; nil when the body was not an error
	// object.
	API *tier.APIError
	// RetryAfter is the server's retry-after, zero when absent.
	RetryAfter time.Duration
	// Err is the sentinel the error matches.
	Err error
}

// Error describes the refusal; it never contains the API key.
func (e *Error) Error() string {
	s := fmt.Sprintf("ratekeeper: %v (HTTP %d", e.Err, e.Status)
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(", retry-after %v", e.RetryAfter)
	}
	s += ")"
	if e.API != nil && e.API.Message != "" {
		s += ": " + e.API.Message
	}
	return s
}

// Unwrap returns Err, so errors.Is matches the sentinel.
func (e *Error) Unwrap() error { return e.Err }
