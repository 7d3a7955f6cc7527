package tokencount

import (
	"math"
)

// satMul is a·b for non-negative a and b, saturated at math.MaxInt64.
func satMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// satAdd is a+b for non-negative a and b, saturated at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// satInt converts a non-negative float64 to int64, saturating (and mapping
// NaN to the maximum: an estimate that cannot be computed is not small).
func satInt(f float64) int64 {
	if !(f < math.MaxInt64) {
		return math.MaxInt64
	}
	return int64(f)
}
