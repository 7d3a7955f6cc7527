package limiter_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// TestRefundMovesTheLine: what a Commit gives back is usable by the calls
// in line at once, not after the refill they were scheduled on. One refund
// large enough for several admits them all, in the order they asked.
func TestRefundMovesTheLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, budget) // OTPM 600, 10/s
		ctx := context.Background()
		big, err := l.Allow(ctx, limiter.Cost{Requests: 1, OutputTokens: 600})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var order []int
		var at []time.Duration
		start := time.Now()
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() {
				r, err := l.Wait(ctx, limiter.Cost{Requests: 1, OutputTokens: 150}) // 15 s of refill each
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order, at = append(order, i), append(at, time.Since(start))
				mu.Unlock()
				if r.Delay() != time.Since(start) {
					t.Errorf("Delay() = %v; want the wait, %v", r.Delay(), time.Since(start))
				}
			})
			synctest.Wait()
		}
		if rem, _ := l.Remaining(ctx); rem.Waiting != 3 || rem.Buckets[tier.OTPM].Outstanding != 600 {
			t.Fatalf("Remaining: %d waiting, %d outstanding OTPM; want 3, 600", rem.Waiting, rem.Buckets[tier.OTPM].Outstanding)
		}
		time.Sleep(time.Second) // 10 tokens regained
		// The call used 200 of its 600: 400 come back, room for two now.
		if err := big.Commit(limiter.Cost{Requests: 1, OutputTokens: 200}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		mu.Lock()
		if !slices.Equal(order, []int{0, 1}) || !slices.Equal(at, []time.Duration{time.Second, time.Second}) {
			t.Fatalf("after the refund, calls %v acted at %v; want [0 1] at 1s", order, at)
		}
		mu.Unlock()
		// 110 left: the third needs 40 more, 4 s of refill.
		wg.Wait()
		if want := []time.Duration{time.Second, time.Second, 5 * time.Second}; !slices.Equal(at, want) {
			t.Fatalf("calls acted at %v; want %v", at, want)
		}
	})
}

// TestAllowDoesNotJumpTheLine: while calls wait, Allow refuses, even a
// call that would fit.
func TestAllowDoesNotJumpTheLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, budget)
		ctx := context.Background()
		if _, err := l.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 5950}); err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() {
			_, err := l.Wait(ctx, limiter.Cost{Requests: 1, InputTokens: 1000}) // 9.5 s
			done <- err
		}()
		synctest.Wait()
		_, err := l.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 10})
		var le *limiter.LimitError
		if !errors.As(err, &le) || !errors.Is(err, limiter.ErrLimited) || le.Dimension != tier.ITPM || le.Need != 10 {
			t.Fatalf("Allow while a call waits = %v; want ErrLimited on ITPM, need 10", err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := l.Allow(ctx, limiter.Cost{Requests: 1}); err != nil {
			t.Fatalf("Allow once the line is empty = %v", err)
		}
	})
}

// TestWaitCountsWhatMayComeBack: a wait beyond the deadline by refill
// alone does not fail at once while reservations of this Limiter could
// give enough back; it is admitted when they do.
func TestWaitCountsWhatMayComeBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, budget)
		bg := context.Background()
		r, err := l.Allow(bg, limiter.Cost{Requests: 1, OutputTokens: 600})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(bg, 10*time.Second)
		defer cancel()
		go func() {
			time.Sleep(2 * time.Second)
			r.Commit(limiter.Cost{Requests: 1, OutputTokens: 100})
		}()
		start := time.Now()
		r, err = l.Wait(ctx, limiter.Cost{Requests: 1, OutputTokens: 300}) // 30 s by refill
		if err != nil {
			t.Fatalf("Wait = %v; want admitted after the refund", err)
		}
		r.Commit(limiter.Cost{Requests: 1, OutputTokens: 300})
		if got := time.Since(start); got != 2*time.Second {
			t.Fatalf("admitted after %v; want 2s, at the refund", got)
		}
		// 220 left and nothing outstanding: 600 needs 38 s, beyond the 8 s left.
		_, err = l.Wait(ctx, limiter.Cost{Requests: 1, OutputTokens: 600})
		if !errors.Is(err, limiter.ErrLimited) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 2*time.Second {
			t.Fatalf("Wait beyond the best case = %v after %v; want ErrLimited and DeadlineExceeded at once", err, time.Since(start)-2*time.Second)
		}
	})
}

// TestHeadIsNotStarvedAcrossLimiters: a Limiter sharing a store cannot see
// the other's line, and the other's small calls would take every unit the
// head waits for as soon as it refills. The head's claim sets its cost
// aside: it is admitted when its own refill is due.
func TestHeadIsNotStarvedAcrossLimiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := limiter.NewMemoryStore()
		b := tier.Budget{RPM: 6000, ITPM: 6000} // 100 input tokens a second
		mk := func() *limiter.Limiter {
			l, err := limiter.New(b, limiter.WithStore(store, "shared"))
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		a, other := mk(), mk()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if _, err := a.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 6000}); err != nil {
			t.Fatal(err)
		}
		// The other takes every 10 tokens as soon as they refill.
		var wg sync.WaitGroup
		defer wg.Wait()
		defer cancel()
		wg.Go(func() {
			for ctx.Err() == nil {
				other.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 10})
				time.Sleep(100 * time.Millisecond)
			}
		})
		start := time.Now()
		wctx, wcancel := context.WithTimeout(ctx, time.Minute) // starved: fails rather than hangs
		defer wcancel()
		if _, err := a.Wait(wctx, limiter.Cost{Requests: 1, InputTokens: 1000}); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 10*time.Second {
			t.Fatalf("the head was admitted after %v; want 10s, its own refill", got)
		}
		// The other was held back meanwhile, not refused forever.
		if _, err := other.Allow(ctx, limiter.Cost{Requests: 1}); err != nil {
			t.Fatalf("the other after the head = %v", err)
		}
	})
}

// TestSetShare: a share scales the refill a Limiter counts on, not its
// capacity, and only a share in (0, 1] is taken.
func TestSetShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, budget) // ITPM 6000: 100 a second
		ctx := context.Background()
		if err := l.SetShare(tier.ITPM, 0.25); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []float64{0, -1, 1.5, math.NaN()} {
			if err := l.SetShare(tier.ITPM, bad); err == nil {
				t.Errorf("SetShare(%v) = nil; want an error", bad)
			}
		}
		if err := l.SetShare(tier.NumDimensions, 0.5); err == nil {
			t.Error("SetShare(unknown dimension) = nil; want an error")
		}
		if got := l.Share(tier.ITPM); got != 0.25 {
			t.Fatalf("Share = %v; want 0.25", got)
		}
		// The whole capacity is still there.
		if _, err := l.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 6000}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := l.Wait(ctx, limiter.Cost{Requests: 1, InputTokens: 250}); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 10*time.Second {
			t.Fatalf("250 tokens at a quarter of 100/s took %v; want 10s", got)
		}
		// A budget change keeps the share.
		if err := l.SetBudget(tier.Budget{RPM: 60, ITPM: 12000, OTPM: 600}); err != nil {
			t.Fatal(err)
		}
		if got := l.Share(tier.ITPM); got != 0.25 {
			t.Fatalf("Share after SetBudget = %v; want 0.25", got)
		}
	})
}
