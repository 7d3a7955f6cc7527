package bucket

import (
	"math"
	"testing"
	"time"
)

func TestMicros(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int64
	}{
		{-time.Second, 0},
		{0, 0},
		{999 * time.Nanosecond, 0},
		{1500 * time.Nanosecond, 1},
		{time.Minute, 60_000_000},
		{math.MaxInt64, math.MaxInt64 / 1000},
	} {
		if got := Micros(c.d); got != c.want {
			t.Errorf("Micros(%v) = %d; want %d", c.d, got, c.want)
		}
	}
}

func TestDelay(t *testing.T) {
	const forever = time.Duration(math.MaxInt64)
	for _, c := range []struct {
		us   float64
		want time.Duration
	}{
		{0, 0},
		{1, time.Microsecond},
		{60e6, time.Minute},
		{9223372036854774, 9223372036854774 * time.Microsecond}, // the largest whole float64 below the bound
		{9223372036854776, forever},
		{float64(Forever), forever},
		{math.Inf(1), forever},
		{math.NaN(), forever},
	} {
		if got := Delay(c.us); got != c.want {
			t.Errorf("Delay(%v) = %v; want %v", c.us, got, c.want)
		}
	}
	// Every wait the arithmetic returns converts exactly.
	l := Limit{Capacity: 600, Refill: 600, Period: 60e6}
	for _, units := range []float64{1, 7, 599.5, 9e10} {
		w := l.Regain(units)
		if got := Delay(float64(w)); got != time.Duration(w)*time.Microsecond {
			t.Errorf("Delay(Regain(%v) = %d) = %v; want %d µs", units, w, got, w)
		}
	}
}

func TestSelect(t *testing.T) {
	if got := Select(&[N]bool{true, false, true}); got != 0b101 {
		t.Errorf("Select(RPM, OTPM) = %b; want 101", got)
	}
	if got := Select(&[N]bool{}); got != 0 {
		t.Errorf("Select(none) = %b; want 0", got)
	}
}
