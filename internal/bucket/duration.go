package bucket

import (
	"math"
	"time"
)

// The arithmetic counts time in whole microseconds; stores and the Limiter
// speak time.Duration. These are the only conversions between the two.

// Micros converts d to whole microseconds, rounding down, for a wait limit
// or a hold: a negative d is 0.
func Micros(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(d / time.Microsecond)
}

// Delay converts a wait of us microseconds to a Duration, saturating at
// the largest Duration (limiter.Forever) for a wait that a Duration cannot
// hold, and for NaN. It takes a float64 because the Redis script's waits
// are float64s; every wait of this package is a whole float64 too (time
// rounds up in float64 before converting), so float64(Decision.Wait) is
// exact.
func Delay(us float64) time.Duration {
	if !(us < math.MaxInt64/float64(time.Microsecond)) {
		return math.MaxInt64
	}
	return time.Duration(us) * time.Microsecond
}
