package redisstore

import (
	"context"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
)

// WithTestClock makes the store read time from now instead of Redis TIME
// (the script receives now in its arguments) and run its fallback on the
// same clock: the conformance suite and the differential test step it by
// hand.
func WithTestClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// ReserveAt is Reserve that also returns the instant of the decision, in µs
// of the deciding clock (Redis TIME, or the local clock in fallback).
func (s *Store) ReserveAt(ctx context.Context, key string, req limiter.ReserveRequest) (limiter.ReserveResult, int64, error) {
	return s.reserve(ctx, key, req)
}
