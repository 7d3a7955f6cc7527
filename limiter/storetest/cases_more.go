package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

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
