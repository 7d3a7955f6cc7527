package limiter

import (
	"context"
	"fmt"
	"time"

	"github.com/ratekeeper/ratekeeper/tier"
)

// Clamp imposes the server's view on dimension d: afterwards the bucket
// holds at most remaining units now and refills from there only after hold,
// as if nothing refilled until then. It never raises a level. Use hold = 0
// to sync with a reported remaining count, and remaining = 0 with hold = the
// retry-after to freeze a dimension after a 429. Clamping a dimension the
// budget does not limit does nothing. It returns an error for an unknown
// dimension, a negative hold, or the store's trouble. To clamp several
// dimensions, use ClampAll: one store call for all of them.
func (l *Limiter) Clamp(ctx context.Context, d tier.Dimension, remaining int64, hold time.Duration) error {
	if d >= tier.NumDimensions {
		return fmt.Errorf("limiter: clamp: unknown dimension %d", d)
	}
	var c [tier.NumDimensions]ClampTarget
	c[d] = ClampTarget{Set: true, Remaining: remaining, Hold: hold}
	return l.ClampAll(ctx, c)
}

// ClampTarget is the server's view of one dimension, for ClampAll. The zero
// ClampTarget leaves its dimension alone.
type ClampTarget struct {
	// Set selects the dimension.
	Set bool
	// Remaining is the most the bucket holds now, in units; it may be
	// negative (units already promised to calls the server has not seen).
	Remaining int64
	// Hold is how long the bucket regains nothing from Remaining, ≥ 0: 0
	// to sync with a reported remaining count, the retry-after to freeze
	// a dimension after a 429.
	Hold time.Duration
}

// ClampAll is Clamp on every dimension d whose c[d].Set, in one atomic
// store call (one round trip with Redis) rather than one per dimension.
// Dimensions the budget does not limit are ignored; when no selected
// dimension is limited, the store is not called. It never raises a level.
// A negative Hold in a selected dimension is an error, and nothing is
// clamped.
func (l *Limiter) ClampAll(ctx context.Context, c [tier.NumDimensions]ClampTarget) error {
	s := l.spec.Load()
	req := LowerRequest{Limits: s.limits}
	var some bool
	for d := range c {
		if !c[d].Set {
			continue
		}
		if c[d].Hold < 0 {
			return fmt.Errorf("limiter: clamp: negative hold %v for %v", c[d].Hold, tier.Dimension(d))
		}
		if s.limits[d].Capacity > 0 {
			req.Dims[d], req.Level[d], req.Hold[d] = true, float64(c[d].Remaining), c[d].Hold
			some = true
		}
	}
	if !some {
		return nil
	}
	if l.local != nil {
		l.local.Lower(req)
		return nil
	}
	if err := l.store.Lower(ctx, l.key, req); err != nil {
		return fmt.Errorf("limiter: clamp: %w", err)
	}
	return nil
}
