package tier

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Budget is how much one account may send to one rate-limit pool (for
// Anthropic: one model class; for OpenAI: one model). Each non-zero field is
// a continuously refilled token bucket whose capacity is the limit and which
// refills at limit per period (a minute or a day).
//
// The zero value of a field means "not limited in this dimension". The zero
// Budget limits nothing and is rejected by [Budget.Validate]: a budget must
// limit at least one dimension.
//
// Budget is a plain value; copy it freely.
type Budget struct {
	// RPM is the number of requests per minute.
	RPM int64 `json:"rpm,omitempty"`
	// ITPM is the number of input tokens per minute (Anthropic: input_tokens
	// plus cache_creation_input_tokens, plus cache_read_input_tokens on
	// classes that count them).
	ITPM int64 `json:"itpm,omitempty"`
	// OTPM is the number of output tokens per minute.
	OTPM int64 `json:"otpm,omitempty"`
	// TPM is the number of tokens per minute, input and output together
	// (OpenAI's TPM).
	TPM int64 `json:"tpm,omitempty"`
	// RPD is the number of requests per day.
	RPD int64 `json:"rpd,omitempty"`
	// TPD is the number of tokens per day, input and output together.
	TPD int64 `json:"tpd,omitempty"`

	// Burst is how much of a per-minute limit may be spent at once, as the
	// time the bucket takes to refill from empty: each per-minute bucket
	// holds limit × Burst / 1m. Zero means a full minute (capacity = limit).
	// Set it below a minute when the server enforces limits over shorter
	// intervals ("60 RPM may be enforced as 1 request per second"). Per-day
	// buckets always hold the whole daily limit.
	Burst time.Duration `json:"burst,omitempty"`

	// Headroom is the fraction of every bucket's capacity kept for
	// interactive calls: a background call is admitted only while each
	// bucket it touches stays at or above Headroom × capacity after paying
	// for it. Zero means background and interactive calls share everything.
	// 0 ≤ Headroom < 1.
	Headroom float64 `json:"headroom,omitempty"`
}

// ErrInvalidBudget is matched (with errors.Is) by every error that
// [Budget.Validate] returns.
var ErrInvalidBudget = errors.New("invalid budget")

// FieldError says which field of a budget or configuration is wrong and why.
// It matches [ErrInvalidBudget].
type FieldError struct {
	Field  string // the JSON name, e.g. "itpm" or "models.claude-sonnet-4.itpm"
	Reason string
}

// Error returns "tier: invalid budget: FIELD: REASON".
func (e *FieldError) Error() string {
	if e.Field == "" {
		return "tier: invalid budget: " + e.Reason
	}
	return fmt.Sprintf("tier: invalid budget: %s: %s", e.Field, e.Reason)
}

// Is reports whether target is ErrInvalidBudget.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidBudget }

// MaxLimit bounds every limit so that costs, capacities and the bucket math
// (float64 levels, microsecond clocks) stay exact. It is far above any
// published limit.
const MaxLimit = 1 << 40

// maxBurst bounds Burst: a bucket that holds more than a day of a per-minute
// limit is almost certainly a unit mistake.
const maxBurst = 24 * time.Hour

// Validate reports the first problem with b, as a *FieldError, or nil.
func (b Budget) Validate() error {
	any := false
	for d := range NumDimensions {
		switch v := b.Limit(d); {
		case v < 0:
			return &FieldError{d.Field(), fmt.Sprintf("%d is negative", v)}
		case v > MaxLimit:
			return &FieldError{d.Field(), fmt.Sprintf("%d exceeds the maximum %d", v, int64(MaxLimit))}
		case v > 0:
			any = true
		}
	}
	if !any {
		return &FieldError{"budget", "no dimension is limited (set at least one of rpm, itpm, otpm, tpm, rpd, tpd)"}
	}
	if b.Burst < 0 {
		return &FieldError{"burst", fmt.Sprintf("%v is negative", b.Burst)}
	}
	if b.Burst > maxBurst {
		return &FieldError{"burst", fmt.Sprintf("%v exceeds %v", b.Burst, maxBurst)}
	}
	if math.IsNaN(b.Headroom) || b.Headroom < 0 || b.Headroom >= 1 {
		return &FieldError{"headroom", fmt.Sprintf("%v is outside [0, 1)", b.Headroom)}
	}
	for d := range NumDimensions {
		if c := b.Capacity(d); b.Limit(d) > 0 && c < 1 {
			return &FieldError{"burst", fmt.Sprintf("%v gives %s a capacity of %.3g, below one unit", b.Burst, d.Field(), c)}
		}
	}
	return nil
}

func (b Budget) capacityOf(limit int64, period time.Duration) float64 {
	if period != time.Minute || b.Burst == 0 {
		return float64(limit)
	}
	return float64(limit) * (float64(b.Burst) / float64(time.Minute))
}

// Limit returns b's limit in dimension d, zero when d is not limited.
func (b Budget) Limit(d Dimension) int64 {
	switch d {
	case RPM:
		return b.RPM
	case ITPM:
		return b.ITPM
	case OTPM:
		return b.OTPM
	case TPM:
		return b.TPM
	case RPD:
		return b.RPD
	case TPD:
		return b.TPD
	}
	return 0
}

// WithLimit returns b with its limit in dimension d set to v (0: not
// limited). It does not validate.
func (b Budget) WithLimit(d Dimension, v int64) Budget {
	switch d {
	case RPM:
		b.RPM = v
	case ITPM:
		b.ITPM = v
	case OTPM:
		b.OTPM = v
	case TPM:
		b.TPM = v
	case RPD:
		b.RPD = v
	case TPD:
		b.TPD = v
	}
	return b
}

// Capacity returns the capacity of d's bucket: the limit, scaled by Burst
// for per-minute dimensions. It is zero when d is not limited.
func (b Budget) Capacity(d Dimension) float64 {
	return b.capacityOf(b.Limit(d), d.Period())
}
