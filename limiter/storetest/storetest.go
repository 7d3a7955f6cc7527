// Package storetest is the conformance suite that every limiter.Store must
// pass: the in-memory store and the Redis store run the same cases, at the
// same instants of a clock the suite steps by hand, and so can a store
// written outside this module:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, now func() time.Time) limiter.Store {
//			return mystore.New(db, mystore.WithClock(now))
//		})
//	}
//
// The cases drive the store through limiter.Limiter, as its users will, and
// check every level and delay to the microsecond against the arithmetic of
// limiter.State: a store that applies the State method named after each of
// its methods to the key's state passes, as does one that runs that
// arithmetic elsewhere operation for operation in float64 (the Redis store,
// in Lua). A store that also implements limiter.LocalStore is driven
// through its LocalBudgets; run the suite a second time on a wrapper that
// hides all but the Store methods to cover those too.
//
// A store under test must take its time from the clock the suite hands to
// the constructor (the memory store: limiter.WithClock; the Redis store: a
// test hook that replaces Redis TIME), so that every delay can be checked to
// the microsecond.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// Clock is a hand-stepped clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d (which may be negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// NewStore returns the store under test, reading time from now. Each call
// may return the same store: the suite uses a fresh key for every case.
type NewStore func(t *testing.T, now func() time.Time) limiter.Store

// start is the suite's epoch: a whole second, as a server clock would show.
var start = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// budget: 60 RPM (1/s), 6000 ITPM (100/s), 600 OTPM (10/s).
var budget = tier.Budget{RPM: 60, ITPM: 6000, OTPM: 600}

type env struct {
	t     *testing.T
	clock *Clock
	store limiter.Store
	key   string
	ctx   context.Context
}

func (e *env) limiter(b tier.Budget) *limiter.Limiter {
	e.t.Helper()
	l, err := limiter.New(b, limiter.WithStore(e.store, e.key))
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

func (e *env) levels(l *limiter.Limiter) [3]float64 {
	e.t.Helper()
	r, err := l.Remaining(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return [3]float64{r.Buckets[tier.RPM].Level, r.Buckets[tier.ITPM].Level, r.Buckets[tier.OTPM].Level}
}

func (e *env) wantLevels(l *limiter.Limiter, want [3]float64) {
	e.t.Helper()
	if got := e.levels(l); got != want {
		e.t.Fatalf("levels (RPM, ITPM, OTPM) = %v; want %v", got, want)
	}
}

func (e *env) allow(l *limiter.Limiter, c limiter.Cost) *limiter.Reservation {
	e.t.Helper()
	r, err := l.Allow(e.ctx, c)
	if err != nil {
		e.t.Fatalf("Allow(%+v) = %v; want admitted", c, err)
	}
	return r
}

func (e *env) reserve(l *limiter.Limiter, c limiter.Cost, delay time.Duration) *limiter.Reservation {
	e.t.Helper()
	r, err := l.Reserve(e.ctx, c)
	if err != nil {
		e.t.Fatalf("Reserve(%+v) = %v", c, err)
	}
	if r.Delay() != delay {
		e.t.Fatalf("Reserve(%+v).Delay() = %v; want %v", c, r.Delay(), delay)
	}
	return r
}

func (e *env) refused(l *limiter.Limiter, c limiter.Cost, target error, dim tier.Dimension, retry time.Duration) {
	e.t.Helper()
	_, err := l.Allow(e.ctx, c)
	var le *limiter.LimitError
	if !errors.As(err, &le) || !errors.Is(err, target) {
		e.t.Fatalf("Allow(%+v) = %v; want a *LimitError matching %v", c, err, target)
	}
	if le.Dimension != dim || le.RetryAfter != retry {
		e.t.Fatalf("Allow(%+v) refused on %v after %v; want %v after %v", c, le.Dimension, le.RetryAfter, dim, retry)
	}
}

func cost(r, in, out int64) limiter.Cost {
	return limiter.Cost{Requests: r, InputTokens: in, OutputTokens: out}
}

// Run runs every case of the suite as a subtest of t.
func Run(t *testing.T, newStore NewStore) {
	cases := []struct {
		name string
		f    func(e *env)
	}{
		{"FreshIsFull", freshIsFull},
		{"AllOrNothing", allOrNothing},
		{"TooLarge", tooLarge},
		{"Refill", refill},
		{"FIFO", fifo},
		{"Commit", commit},
		{"HoldDuringWait", holdDuringWait},
		{"CancelExact", cancelExact},
		{"CancelAfterOthers", cancelAfterOthers},
		{"CancelWhileOthersWait", cancelWhileOthersWait},
		{"Clamp", clamp},
		{"ClampAll", clampAll},
		{"LowerOneStep", lowerOneStep},
		{"Headroom", headroom},
		{"KeysIndependent", keysIndependent},
		{"SetBudget", setBudget},
		{"ClockBackwards", clockBackwards},
		{"DayBuckets", dayBuckets},
		{"Oversized", oversized},
		{"Concurrent", concurrent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := NewClock(start)
			e := &env{
				t:     t,
				clock: clock,
				store: newStore(t, clock.Now),
				key:   fmt.Sprintf("storetest:%s:%x", c.name, rand.Uint64()),
				ctx:   context.Background(),
			}
			c.f(e)
		})
	}
}
