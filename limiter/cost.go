package limiter

import (
	"fmt"

	"github.com/ratekeeper/ratekeeper/tier"
)

// Cost is what one call consumes. The zero Cost is free.
type Cost struct {
	// Requests is the number of requests, usually 1. It is charged to the
	// RPM and RPD buckets.
	Requests int64
	// InputTokens is charged to ITPM, and with OutputTokens to TPM and TPD.
	InputTokens int64
	// OutputTokens is charged to OTPM, and with InputTokens to TPM and TPD.
	OutputTokens int64
	// Priority is the call's class. It is ignored by Commit.
	Priority Priority
}

// Priority is a call's class. Calls of one class are admitted in the order
// they asked.
type Priority uint8

const (
	// Interactive calls may spend the whole budget. It is the zero
	// Priority.
	Interactive Priority = iota
	// Background calls may spend only what lies above the budget's
	// Headroom: they wait while any bucket they touch would drop below
	// Headroom × capacity, which keeps that share for interactive calls.
	Background
)

// maxCost bounds every field of a Cost, far above any bucket (tier.MaxLimit),
// so that sums cannot overflow.
const maxCost = 1 << 50

// PerDimension spreads c over the dimensions, as the buckets are charged:
// requests to RPM and RPD, input tokens to ITPM, output tokens to OTPM, and
// both to TPM and TPD.
func (c Cost) PerDimension() [tier.NumDimensions]int64 { return perDimension[int64](c) }

// perDimension is PerDimension in whole units (int64, as stores take
// costs) or in the arithmetic's float64: the admission path of a
// LocalStore spreads a cost straight into float64 (three conversions),
// rather than spreading it in int64 and converting the six (costOf), which
// cost some 40 instructions of the 1,200 an admission takes.
func perDimension[T int64 | float64](c Cost) (v [tier.NumDimensions]T) {
	r, in, out := T(c.Requests), T(c.InputTokens), T(c.OutputTokens)
	v[tier.RPM], v[tier.ITPM], v[tier.OTPM], v[tier.TPM], v[tier.RPD], v[tier.TPD] = r, in, out, in+out, r, in+out
	return v
}

// validate checks that every field of c lies in [0, maxCost] (a negative
// field is a huge uint64) and that its priority is known.
func (c Cost) validate() error {
	if max(uint64(c.Requests), uint64(c.InputTokens), uint64(c.OutputTokens)) > maxCost || c.Priority > Background {
		return c.invalid()
	}
	return nil
}

// invalid returns validate's error for an invalid c.
func (c Cost) invalid() error {
	if c.Requests|c.InputTokens|c.OutputTokens < 0 || max(c.Requests, c.InputTokens, c.OutputTokens) > maxCost {
		return fmt.Errorf("limiter: %w: %+v has a field outside [0, %d]", ErrInvalidCost, c, int64(maxCost))
	}
	return fmt.Errorf("limiter: %w: unknown priority %d", ErrInvalidCost, c.Priority)
}
