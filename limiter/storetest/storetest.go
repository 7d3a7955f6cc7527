// Package storetest is the conformance suite that every limiter.Store must
// pass: the in-memory store and the Redis store run the same cases, at the
// same instants of a clock the suite steps by hand.
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
	"sync/atomic"
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

func freshIsFull(e *env) {
	l := e.limiter(budget)
	r, err := l.Remaining(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if !r.At.Equal(start) {
		e.t.Errorf("Remaining().At = %v; want the store clock %v", r.At, start)
	}
	for d, want := range map[tier.Dimension]float64{tier.RPM: 60, tier.ITPM: 6000, tier.OTPM: 600} {
		b := r.Buckets[d]
		if b.Level != want || b.Capacity != want || b.Limit != int64(want) || b.FullIn != 0 {
			e.t.Errorf("%v: %+v; want full at %v", d, b, want)
		}
	}
	if r.Buckets[tier.TPM] != (limiter.Bucket{}) {
		e.t.Errorf("unlimited TPM reported %+v", r.Buckets[tier.TPM])
	}
}

func allOrNothing(e *env) {
	l := e.limiter(budget)
	e.allow(l, cost(1, 5900, 500))
	e.wantLevels(l, [3]float64{59, 100, 100})
	// Fits RPM and ITPM, not OTPM (lacks 50 at 10/s = 5 s): nothing is debited.
	e.refused(l, cost(1, 50, 150), limiter.ErrLimited, tier.OTPM, 5*time.Second)
	e.wantLevels(l, [3]float64{59, 100, 100})
	// The longest wait binds: ITPM lacks 400 (4 s), OTPM 100 (10 s).
	e.refused(l, cost(1, 500, 200), limiter.ErrLimited, tier.OTPM, 10*time.Second)
	e.wantLevels(l, [3]float64{59, 100, 100})
}

func tooLarge(e *env) {
	l := e.limiter(budget)
	for _, c := range []struct {
		cost limiter.Cost
		dim  tier.Dimension
		need int64
	}{
		{cost(1, 6001, 0), tier.ITPM, 6001},
		{cost(61, 0, 0), tier.RPM, 61},
		{cost(1, 10, 601), tier.OTPM, 601},
	} {
		for _, verb := range []func(context.Context, limiter.Cost) (*limiter.Reservation, error){l.Allow, l.Reserve, l.Wait} {
			_, err := verb(e.ctx, c.cost)
			var le *limiter.LimitError
			if !errors.As(err, &le) || !errors.Is(err, limiter.ErrTooLarge) || errors.Is(err, limiter.ErrLimited) {
				e.t.Fatalf("%+v: %v; want ErrTooLarge", c.cost, err)
			}
			if le.Dimension != c.dim || le.Need != c.need || le.RetryAfter != 0 {
				e.t.Fatalf("%+v: %+v; want %v need %d", c.cost, le, c.dim, c.need)
			}
		}
	}
	e.wantLevels(l, [3]float64{60, 6000, 600})
}

func refill(e *env) {
	l := e.limiter(budget)
	e.allow(l, cost(10, 6000, 600))
	e.wantLevels(l, [3]float64{50, 0, 0})
	e.clock.Advance(1500 * time.Millisecond)
	e.wantLevels(l, [3]float64{51.5, 150, 15})
	r, _ := l.Remaining(e.ctx)
	if got, want := r.Buckets[tier.ITPM].FullIn, 58500*time.Millisecond; got != want {
		e.t.Errorf("ITPM FullIn = %v; want %v", got, want)
	}
	e.clock.Advance(time.Hour)
	e.wantLevels(l, [3]float64{60, 6000, 600})
}

func fifo(e *env) {
	l := e.limiter(budget)
	e.allow(l, cost(1, 6000, 0))
	// Each call of 1000 input tokens waits 10 s more than the one before.
	e.reserve(l, cost(1, 1000, 0), 10*time.Second)
	e.reserve(l, cost(1, 1000, 0), 20*time.Second)
	// A small call does not overtake them.
	e.reserve(l, cost(1, 100, 0), 21*time.Second)
	e.clock.Advance(21 * time.Second)
	e.wantLevels(l, [3]float64{59, 0, 600})
	e.allow(l, cost(1, 0, 0))
}

func commit(e *env) {
	l := e.limiter(budget)
	r := e.allow(l, cost(1, 1000, 500))
	e.wantLevels(l, [3]float64{59, 5000, 100})
	// Used less output, more input: refund 450 OTPM, debit 200 ITPM.
	if err := r.Commit(cost(1, 1200, 50)); err != nil {
		e.t.Fatal(err)
	}
	e.wantLevels(l, [3]float64{59, 4800, 550})
	if err := r.Commit(cost(1, 0, 0)); !errors.Is(err, limiter.ErrSettled) {
		e.t.Fatalf("second Commit = %v; want ErrSettled", err)
	}
	r.Cancel() // no-op
	e.wantLevels(l, [3]float64{59, 4800, 550})
	// A debit beyond the level leaves debt that delays the next caller.
	r = e.allow(l, cost(1, 4800, 0))
	if err := r.Commit(cost(1, 5800, 0)); err != nil {
		e.t.Fatal(err)
	}
	e.wantLevels(l, [3]float64{58, -1000, 550})
	e.reserve(l, cost(1, 100, 0), 11*time.Second)
	// A refund never overfills a bucket, even one that refilled meanwhile.
	e.clock.Advance(time.Hour)
	r = e.allow(l, cost(1, 10, 10))
	e.clock.Advance(time.Minute)
	if err := r.Commit(cost(0, 0, 0)); err != nil {
		e.t.Fatal(err)
	}
	e.wantLevels(l, [3]float64{60, 6000, 600})
	// An invalid usage is refused and leaves the reservation open.
	r = e.allow(l, cost(1, 10, 10))
	if err := r.Commit(cost(-1, 0, 0)); !errors.Is(err, limiter.ErrInvalidCost) {
		e.t.Fatalf("Commit(negative) = %v; want ErrInvalidCost", err)
	}
	r.Cancel()
	e.wantLevels(l, [3]float64{60, 6000, 600})
}

// holdDuringWait: a call waiting for one bucket keeps what the others regain
// meanwhile, so that at the moment it acts every bucket still has its cost.
func holdDuringWait(e *env) {
	l := e.limiter(tier.Budget{RPM: 10, ITPM: 1000})
	e.allow(l, cost(1, 1000, 0))
	e.reserve(l, cost(1, 500, 0), 30*time.Second) // waits for ITPM
	// RPM is full again long before then; at 30 s ten more requests would
	// make eleven at one instant, above the capacity of 10.
	e.clock.Advance(30 * time.Second)
	e.refused(l, cost(10, 0, 0), limiter.ErrLimited, tier.RPM, 6*time.Second)
	e.allow(l, cost(9, 0, 0))
}

func cancelExact(e *env) {
	l := e.limiter(budget)
	e.allow(l, cost(1, 6000, 0))
	// A waiting reservation holds what refills meanwhile; cancelling it as
	// the last operation restores everything, hold included.
	r := e.reserve(l, cost(1, 1000, 100), 10*time.Second)
	// RPM: min(60, 59+10) − 1 − 10; ITPM: 0+1000 − 1000 − 1000; OTPM: 600 − 100 − 100.
	e.wantLevels(l, [3]float64{49, -1000, 400})
	r.Cancel()
	e.wantLevels(l, [3]float64{59, 0, 600})
	// LIFO cancels restore step by step.
	r1 := e.reserve(l, cost(1, 500, 0), 5*time.Second)
	r2 := e.reserve(l, cost(1, 500, 0), 10*time.Second)
	r2.Cancel()
	r1.Cancel()
	e.wantLevels(l, [3]float64{59, 0, 600})
	e.reserve(l, cost(1, 500, 0), 5*time.Second)
}

func cancelAfterOthers(e *env) {
	l := e.limiter(budget)
	e.allow(l, cost(1, 6000, 0))
	r1 := e.reserve(l, cost(1, 1000, 0), 10*time.Second)
	e.reserve(l, cost(1, 1000, 0), 20*time.Second)
	// r1 is no longer the last: its cost is refunded, the holds stay, and
	// the second caller keeps its place. RPM would be full when r1 was to
	// act (59 + 10 capped at 60): a real bucket loses that request, so it
	// is not refunded; ITPM peaked at 1000 (r1's and r2's need), so all of
	// r1's 1000 comes back.
	r1.Cancel()
	// RPM: 59 → 49 (r1, holding 10) → 39 (r2, holding 20) → 39;
	// ITPM: 0 → −1000 → −2000 → −1000.
	e.wantLevels(l, [3]float64{39, -1000, 600})
	e.reserve(l, cost(1, 1000, 0), 20*time.Second)
}

// cancelWhileOthersWait: with capacity 1, a refund while others wait must
// not let two calls act at one instant. A takes the unit at t0; B is placed
// at t1 and C at t2. At t1 B cancels (not the last) and reserves again: the
// bucket was full at t1 and nobody used B's unit, so it is lost, and B's
// new place is t3, after C, not t2 alongside it.
func cancelWhileOthersWait(e *env) {
	l := e.limiter(tier.Budget{RPM: 60, Burst: time.Second}) // holds 1, regains 1/s
	e.allow(l, cost(1, 0, 0))
	b := e.reserve(l, cost(1, 0, 0), 1*time.Second)
	e.reserve(l, cost(1, 0, 0), 2*time.Second)
	e.clock.Advance(time.Second)
	b.Cancel()
	e.wantLevels(l, [3]float64{-1, 0, 0})
	e.reserve(l, cost(1, 0, 0), 2*time.Second)
}

func clamp(e *env) {
	l := e.limiter(budget)
	// The server says 2000 input tokens remain: lower to it.
	if err := l.Clamp(e.ctx, tier.ITPM, 2000, 0); err != nil {
		e.t.Fatal(err)
	}
	e.wantLevels(l, [3]float64{60, 2000, 600})
	// A higher remaining never raises the level.
	if err := l.Clamp(e.ctx, tier.ITPM, 5000, 0); err != nil {
		e.t.Fatal(err)
	}
	e.wantLevels(l, [3]float64{60, 2000, 600})
	// A 429 with retry-after 3 s freezes RPM until then.
	if err := l.Clamp(e.ctx, tier.RPM, 0, 3*time.Second); err != nil {
		e.t.Fatal(err)
	}
	e.refused(l, cost(1, 0, 0), limiter.ErrLimited, tier.RPM, 4*time.Second)
	e.clock.Advance(4 * time.Second)
	e.allow(l, cost(1, 0, 0))
	// Unlimited dimensions ignore clamps; bad input is an error.
	if err := l.Clamp(e.ctx, tier.TPD, 0, time.Hour); err != nil {
		e.t.Fatal(err)
	}
	if err := l.Clamp(e.ctx, tier.NumDimensions, 0, 0); err == nil {
		e.t.Fatal("Clamp(unknown dimension) succeeded")
	}
	if err := l.Clamp(e.ctx, tier.RPM, 0, -time.Second); err == nil {
		e.t.Fatal("Clamp(negative hold) succeeded")
	}
}

// clampAll: several dimensions clamped in one call, each with its own
// hold, as Clamp would one by one.
func clampAll(e *env) {
	l := e.limiter(budget)
	var c [tier.NumDimensions]limiter.ClampTarget
	// The server says 2000 input tokens remain; a 429 freezes OTPM for
	// 3 s; RPM's higher count never raises it; TPD is not limited.
	c[tier.ITPM] = limiter.ClampTarget{Set: true, Remaining: 2000}
	c[tier.OTPM] = limiter.ClampTarget{Set: true, Hold: 3 * time.Second}
	c[tier.RPM] = limiter.ClampTarget{Set: true, Remaining: 100}
	c[tier.TPD] = limiter.ClampTarget{Set: true, Hold: time.Hour}
	if err := l.ClampAll(e.ctx, c); err != nil {
		e.t.Fatal(err)
	}
	// OTPM: 0 − 10/s × 3 s.
	e.wantLevels(l, [3]float64{60, 2000, -30})
	e.refused(l, cost(1, 0, 1), limiter.ErrLimited, tier.OTPM, 3100*time.Millisecond)
	e.clock.Advance(3100 * time.Millisecond)
	e.allow(l, cost(1, 0, 1))
	// 3.1 s later ITPM has regained 310 and OTPM 31, all taken.
	e.wantLevels(l, [3]float64{59, 2310, 0})
	// Unselected dimensions are left alone, even with a target set.
	var d [tier.NumDimensions]limiter.ClampTarget
	d[tier.RPM] = limiter.ClampTarget{Remaining: 0}
	d[tier.ITPM] = limiter.ClampTarget{Set: true, Remaining: 1000}
	if err := l.ClampAll(e.ctx, d); err != nil {
		e.t.Fatal(err)
	}
	e.wantLevels(l, [3]float64{59, 1000, 0})
	// Nothing selected: nothing changes. A negative hold is an error and
	// clamps nothing, not even the valid dimensions.
	if err := l.ClampAll(e.ctx, [tier.NumDimensions]limiter.ClampTarget{}); err != nil {
		e.t.Fatal(err)
	}
	d[tier.OTPM] = limiter.ClampTarget{Set: true, Hold: -time.Second}
	d[tier.ITPM].Remaining = 0
	if err := l.ClampAll(e.ctx, d); err == nil {
		e.t.Fatal("ClampAll(negative hold) succeeded")
	}
	e.wantLevels(l, [3]float64{59, 1000, 0})
}

// lowerOneStep: Store.Lower on several dimensions is one mutation when a
// level drops and none when nothing does, as seen in the sequence numbers
// of the reservations around it.
func lowerOneStep(e *env) {
	var lim limiter.Limits
	for _, d := range []tier.Dimension{tier.RPM, tier.ITPM, tier.OTPM} {
		l := float64(budget.Limit(d))
		lim[d] = limiter.BucketLimit{Capacity: l, Refill: l, Period: float64(time.Minute / time.Microsecond)}
	}
	seq := func() int64 {
		e.t.Helper()
		res, err := e.store.Reserve(e.ctx, e.key, limiter.ReserveRequest{Limits: lim})
		if err != nil || !res.OK {
			e.t.Fatalf("Reserve(nothing) = %+v, %v; want admitted", res, err)
		}
		return res.Seq
	}
	lower := func(req limiter.LowerRequest) {
		e.t.Helper()
		req.Limits = lim
		if err := e.store.Lower(e.ctx, e.key, req); err != nil {
			e.t.Fatal(err)
		}
	}
	s0 := seq()
	// Three dimensions drop, one of them held for 2 s; TPM is not limited.
	lower(limiter.LowerRequest{
		Dims:  [tier.NumDimensions]bool{tier.RPM: true, tier.ITPM: true, tier.OTPM: true, tier.TPM: true},
		Level: [tier.NumDimensions]float64{tier.RPM: 10, tier.ITPM: 100, tier.OTPM: 5, tier.TPM: 0},
		Hold:  [tier.NumDimensions]time.Duration{tier.OTPM: 2 * time.Second},
	})
	if s1 := seq(); s1 != s0+2 {
		e.t.Fatalf("Seq after a three-dimension Lower = %d; want one mutation after %d", s1, s0)
	}
	snap, err := e.store.Snapshot(e.ctx, e.key, lim)
	if err != nil {
		e.t.Fatal(err)
	}
	if got, want := [3]float64(snap.Level[:3]), [3]float64{10, 100, -15}; got != want {
		e.t.Fatalf("levels (RPM, ITPM, OTPM) = %v; want %v", got, want)
	}
	// Nothing drops (a higher count, an unselected target): no mutation.
	s2 := seq()
	lower(limiter.LowerRequest{
		Dims:  [tier.NumDimensions]bool{tier.RPM: true},
		Level: [tier.NumDimensions]float64{tier.RPM: 50, tier.ITPM: 0},
	})
	if s3 := seq(); s3 != s2+1 {
		e.t.Fatalf("Seq after a Lower that lowered nothing = %d; want %d", s3, s2+1)
	}
}

func headroom(e *env) {
	b := budget
	b.Headroom = 0.25 // 1500 ITPM kept for interactive calls
	l := e.limiter(b)
	bg := limiter.Cost{Requests: 1, InputTokens: 4000, Priority: limiter.Background}
	e.allow(l, bg)
	// 2000 left: a background call of 600 would leave 1400 < 1500.
	bg.InputTokens = 600
	e.refused(l, bg, limiter.ErrLimited, tier.ITPM, time.Second)
	// An interactive one may use it.
	e.allow(l, cost(1, 1900, 0))
	// A background call above capacity − headroom can never fit.
	bg.InputTokens = 4501
	e.refused(l, bg, limiter.ErrTooLarge, tier.ITPM, 0)
}

func keysIndependent(e *env) {
	a := e.limiter(budget)
	other := *e
	other.key += ":other"
	b := other.limiter(budget)
	e.allow(a, cost(60, 6000, 600))
	e.wantLevels(b, [3]float64{60, 6000, 600})
	// Two limiters on one key share one budget.
	a2 := e.limiter(budget)
	e.wantLevels(a2, [3]float64{0, 0, 0})
}

func setBudget(e *env) {
	l := e.limiter(budget)
	r := e.allow(l, cost(1, 1000, 100))
	// Halve the limits: levels clamp to the new capacities.
	if err := l.SetBudget(tier.Budget{RPM: 30, ITPM: 3000, OTPM: 300}); err != nil {
		e.t.Fatal(err)
	}
	e.wantLevels(l, [3]float64{30, 3000, 300})
	r.Cancel()
	e.wantLevels(l, [3]float64{30, 3000, 300})
	if err := l.SetBudget(tier.Budget{RPM: -1}); !errors.Is(err, tier.ErrInvalidBudget) {
		e.t.Fatalf("SetBudget(invalid) = %v", err)
	}
	if got := l.Budget().RPM; got != 30 {
		e.t.Fatalf("an invalid SetBudget changed the budget: RPM %d", got)
	}
	// A newly limited dimension starts full.
	if err := l.SetBudget(tier.Budget{RPM: 30, ITPM: 3000, OTPM: 300, TPM: 1000}); err != nil {
		e.t.Fatal(err)
	}
	rem, _ := l.Remaining(e.ctx)
	if got := rem.Buckets[tier.TPM].Level; got != 1000 {
		e.t.Fatalf("new TPM bucket level = %v; want 1000", got)
	}
}

func clockBackwards(e *env) {
	l := e.limiter(budget)
	e.allow(l, cost(60, 0, 0))
	e.clock.Advance(-time.Minute)
	// Time before the last decision counts as that instant: the next
	// request is still 1 s after it, not 61 s.
	e.refused(l, cost(1, 0, 0), limiter.ErrLimited, tier.RPM, time.Second)
	e.clock.Advance(time.Minute + time.Second)
	e.allow(l, cost(1, 0, 0))
}

func dayBuckets(e *env) {
	l := e.limiter(tier.Budget{RPM: 100, RPD: 3, TPM: 1000, TPD: 1500})
	e.allow(l, cost(1, 500, 400))
	e.allow(l, cost(1, 50, 50))
	// TPM is fine again after a minute; TPD holds 500, refilling 1500/day.
	e.clock.Advance(time.Minute)
	_, err := l.Allow(e.ctx, cost(1, 400, 400))
	var le *limiter.LimitError
	if !errors.As(err, &le) || le.Dimension != tier.TPD {
		e.t.Fatalf("Allow beyond TPD = %v; want refused on tokens_per_day", err)
	}
	e.allow(l, cost(1, 200, 200))
	e.refused(l, cost(1, 0, 0), limiter.ErrLimited, tier.RPD, 7*time.Hour+59*time.Minute)
}

func concurrent(e *env) {
	l := e.limiter(tier.Budget{RPM: 100, ITPM: 1_000_000, OTPM: 1_000_000})
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if _, err := l.Allow(e.ctx, cost(1, 10, 10)); err == nil {
					admitted.Add(1)
				} else if !errors.Is(err, limiter.ErrLimited) {
					e.t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got := admitted.Load(); got != 100 {
		e.t.Fatalf("%d of 200 concurrent calls admitted by a 100 RPM budget; want exactly 100", got)
	}
	e.wantLevels(l, [3]float64{0, 1_000_000 - 1000, 1_000_000 - 1000})
}

// oversized: with a burst shorter than the period (capacity 1000 of a 6000
// ITPM limit), a call above the capacity but within the limit is admitted
// once the bucket is full, and leaves debt; above the limit it never fits.
func oversized(e *env) {
	l := e.limiter(tier.Budget{ITPM: 6000, Burst: 10 * time.Second})
	e.allow(l, cost(0, 500, 0))
	// 3000 > capacity: it needs the bucket full (500 more: 5 s).
	e.refused(l, cost(0, 3000, 0), limiter.ErrLimited, tier.ITPM, 5*time.Second)
	e.clock.Advance(5 * time.Second)
	e.allow(l, cost(0, 3000, 0))
	r, _ := l.Remaining(e.ctx)
	if got := r.Buckets[tier.ITPM].Level; got != -2000 {
		e.t.Fatalf("level after an oversized call = %v; want -2000", got)
	}
	// The debt delays the next call: 2000 + 100 at 100/s.
	e.reserve(l, cost(0, 100, 0), 21*time.Second)
	e.refused(l, cost(0, 6001, 0), limiter.ErrTooLarge, tier.ITPM, 0)
}
