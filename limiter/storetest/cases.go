package storetest

import (
	"context"
	"errors"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

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
