package limiter_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// 60 RPM, 6000 ITPM, 600 OTPM: 1 request, 100 input and 10 output tokens a second.
var budget = tier.Budget{RPM: 60, ITPM: 6000, OTPM: 600}

func newLimiter(t *testing.T, b tier.Budget) *limiter.Limiter {
	t.Helper()
	l, err := limiter.New(b)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func level(t *testing.T, l *limiter.Limiter, d tier.Dimension) float64 {
	t.Helper()
	r, err := l.Remaining(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r.Buckets[d].Level
}

func TestNewRejectsBadBudgets(t *testing.T) {
	for _, b := range []tier.Budget{
		{},
		{RPM: -1},
		{ITPM: 1 << 62},
		{RPM: 10, Headroom: math.NaN()},
		{RPM: 10, Headroom: 1},
		{RPM: 10, Burst: -time.Second},
		{RPM: 10, Burst: 1000 * time.Hour},
		{RPM: 50, Burst: time.Second}, // capacity 0.83 < 1 request
	} {
		if _, err := limiter.New(b); !errors.Is(err, tier.ErrInvalidBudget) {
			t.Errorf("New(%+v) = %v; want ErrInvalidBudget", b, err)
		}
	}
}

func TestInvalidCost(t *testing.T) {
	l := newLimiter(t, budget)
	for _, c := range []limiter.Cost{
		{Requests: -1},
		{InputTokens: -5},
		{OutputTokens: math.MaxInt64},
		{Requests: 1, Priority: 7},
	} {
		if _, err := l.Allow(context.Background(), c); !errors.Is(err, limiter.ErrInvalidCost) {
			t.Errorf("Allow(%+v) = %v; want ErrInvalidCost", c, err)
		}
	}
	if got := level(t, l, tier.RPM); got != 60 {
		t.Errorf("invalid costs debited: RPM level %v", got)
	}
}

func TestWaitBlocksExactly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, budget)
		ctx := context.Background()
		if _, err := l.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 6000}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		r, err := l.Wait(ctx, limiter.Cost{Requests: 1, InputTokens: 250})
		if err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 2500*time.Millisecond || r.Delay() != got {
			t.Fatalf("Wait took %v (Delay %v); want 2.5s", got, r.Delay())
		}
	})
}

func TestWaitBeyondDeadlineFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, budget)
		bg := context.Background()
		r, err := l.Allow(bg, limiter.Cost{Requests: 1, InputTokens: 6000})
		if err != nil {
			t.Fatal(err)
		}
		// Settled at its cost: nothing of this Limiter's can come back.
		if err := r.Commit(limiter.Cost{Requests: 1, InputTokens: 6000}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(bg, time.Second)
		defer cancel()
		start := time.Now()
		_, err = l.Wait(ctx, limiter.Cost{Requests: 1, InputTokens: 500}) // needs 5 s
		var le *limiter.LimitError
		if !errors.As(err, &le) || !errors.Is(err, limiter.ErrLimited) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait = %v; want a LimitError matching ErrLimited and DeadlineExceeded", err)
		}
		if le.Dimension != tier.ITPM || le.RetryAfter != 5*time.Second {
			t.Fatalf("LimitError = %+v; want ITPM, 5s", le)
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("Wait spent %v before failing", d)
		}
		if got := level(t, l, tier.ITPM); got != 0 {
			t.Fatalf("refused Wait debited ITPM: level %v", got)
		}
		// The same call fits the deadline when it is long enough.
		ctx2, cancel2 := context.WithTimeout(bg, 5*time.Second)
		defer cancel2()
		if _, err := l.Wait(ctx2, limiter.Cost{Requests: 1, InputTokens: 500}); err != nil {
			t.Fatalf("Wait within deadline = %v", err)
		}
	})
}

func TestWaitCancelledRefunds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, budget)
		bg := context.Background()
		if _, err := l.Allow(bg, limiter.Cost{Requests: 1, InputTokens: 6000}); err != nil {
			t.Fatal(err)
		}
		before, _ := l.Remaining(bg)
		ctx, cancel := context.WithCancel(bg)
		done := make(chan error)
		go func() {
			_, err := l.Wait(ctx, limiter.Cost{Requests: 1, InputTokens: 1000, OutputTokens: 100})
			done <- err
		}()
		time.Sleep(3 * time.Second)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait = %v; want context.Canceled", err)
		}
		// Nothing else happened: the refund is exact, as of the instant
		// before the reservation (3 s of refill since).
		after, _ := l.Remaining(bg)
		for d, want := range map[tier.Dimension]float64{
			tier.RPM: min(60, before.Buckets[tier.RPM].Level+3), tier.ITPM: 300, tier.OTPM: 600,
		} {
			if got := after.Buckets[d].Level; got != want {
				t.Errorf("%v level after cancel = %v; want %v", d, got, want)
			}
		}
		// A context already done debits nothing.
		if _, err := l.Wait(ctx, limiter.Cost{Requests: 1}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait(done ctx) = %v", err)
		}
	})
}

func TestSettleExactlyOnce(t *testing.T) {
	t0 := time.Now()
	fixed := func() *limiter.Limiter {
		l, err := limiter.New(budget, limiter.WithStore(limiter.NewMemoryStore(limiter.WithClock(func() time.Time { return t0 })), ""))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := fixed()
	ctx := context.Background()
	for range 50 {
		r, err := l.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 100, OutputTokens: 100})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var commits, errs int
		var mu sync.Mutex
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%2 == 0 {
					r.Cancel()
					return
				}
				err := r.Commit(limiter.Cost{Requests: 1, InputTokens: 100, OutputTokens: 40})
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					commits++
				} else if errors.Is(err, limiter.ErrSettled) {
					errs++
				} else {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if commits > 1 || commits+errs != 8 {
			t.Fatalf("%d commits succeeded, %d refused; want at most 1 and the rest ErrSettled", commits, errs)
		}
		// Either the commit (refund 60 output) or a cancel (refund all) won.
		rem, _ := l.Remaining(ctx)
		out := rem.Buckets[tier.OTPM].Level
		if commits == 1 && out != 600-40 || commits == 0 && out != 600 {
			t.Fatalf("OTPM level %v after %d commits", out, commits)
		}
		l = fixed()
	}
}

// TestFIFO: a large call that must wait is not overtaken by small calls that
// arrive after it, and calls act in the order they asked.
func TestFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, tier.Budget{RPM: 6000, ITPM: 6000})
		ctx := context.Background()
		if _, err := l.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 5000}); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var order []int
		var wg sync.WaitGroup
		for i := range 20 {
			cost := limiter.Cost{Requests: 1, InputTokens: 10}
			if i == 0 {
				cost.InputTokens = 5000 // needs 40 s
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := l.Wait(ctx, cost); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
			}()
			synctest.Wait() // i asks before i+1
		}
		wg.Wait()
		if !slices.IsSorted(order) {
			t.Fatalf("calls acted in order %v; want FIFO", order)
		}
	})
}

func TestBackgroundYieldsToInteractive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := budget
		b.Headroom = 0.5
		l := newLimiter(t, b)
		ctx := context.Background()
		bg := limiter.Cost{Requests: 1, InputTokens: 1000, Priority: limiter.Background}
		for range 3 {
			if _, err := l.Allow(ctx, bg); err != nil {
				t.Fatal(err)
			}
		}
		// ITPM at 3000 = the headroom: background waits, interactive goes.
		if _, err := l.Allow(ctx, bg); !errors.Is(err, limiter.ErrLimited) {
			t.Fatalf("background Allow at the headroom = %v; want ErrLimited", err)
		}
		for range 3 {
			if _, err := l.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 1000}); err != nil {
				t.Fatalf("interactive Allow inside the headroom = %v", err)
			}
		}
	})
}

// TestWindowBound is the property test: hundreds of goroutines wait, send,
// and commit or cancel at random; in every window of every length, what
// acted never exceeds capacity + refill × window, in any dimension.
func TestWindowBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tier.Budget{RPM: 100, ITPM: 100_000, OTPM: 30_000, TPD: 3_000_000}
		l := newLimiter(t, b)
		type sent struct {
			at   time.Time
			cost [tier.NumDimensions]int64
		}
		var mu sync.Mutex
		var log []sent
		var wg sync.WaitGroup
		start := time.Now()
		for g := range 300 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(g), 7))
				// Some callers are bursty with slow calls, so refunds land
				// on full buckets; the rest keep the queue long.
				pause, latency := 20*time.Second, 3*time.Second
				if g%2 == 1 {
					pause, latency = 3*time.Minute, 2*time.Minute
				}
				for range 10 {
					time.Sleep(time.Duration(r.Int64N(int64(pause))))
					c := limiter.Cost{Requests: 1, InputTokens: 100 + r.Int64N(2000), OutputTokens: 50 + r.Int64N(1000)}
					if g%3 == 0 { // tiny calls stress RPM while large ones wait for tokens
						c.InputTokens, c.OutputTokens = 1, 1
					}
					if r.IntN(4) == 0 {
						c.Priority = limiter.Background
					}
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.Int64N(int64(time.Hour))))
					res, err := l.Wait(ctx, c)
					cancel()
					if err != nil {
						if !errors.Is(err, limiter.ErrLimited) && !errors.Is(err, context.DeadlineExceeded) {
							t.Error(err)
						}
						continue
					}
					if r.IntN(5) == 0 { // never sent
						res.Cancel()
						continue
					}
					used := limiter.Cost{Requests: 1, InputTokens: c.InputTokens, OutputTokens: r.Int64N(c.OutputTokens + 1)}
					u := [tier.NumDimensions]int64{1, used.InputTokens, used.OutputTokens, 0, 1, used.InputTokens + used.OutputTokens}
					mu.Lock()
					log = append(log, sent{time.Now(), u})
					mu.Unlock()
					time.Sleep(time.Duration(r.Int64N(int64(latency)))) // the call's latency
					if err := res.Commit(used); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if len(log) < 1500 {
			t.Fatalf("only %d calls acted; the test is too weak", len(log))
		}
		t.Logf("%d calls acted in %v", len(log), time.Since(start))
		slices.SortFunc(log, func(a, b sent) int { return a.at.Compare(b.at) })
		for d := range tier.NumDimensions {
			limit := b.Limit(d)
			if limit == 0 {
				continue
			}
			for _, w := range []time.Duration{0, time.Second, 10 * time.Second, time.Minute, time.Hour} {
				bound := b.Capacity(d) + float64(limit)*float64(w)/float64(d.Period())
				var sum int64
				j := 0
				for i := range log { // window [log[j].at, log[i].at]
					sum += log[i].cost[d]
					for log[i].at.Sub(log[j].at) > w {
						sum -= log[j].cost[d]
						j++
					}
					if float64(sum) > bound+1e-6 {
						t.Fatalf("%v: %d acted within %v ending %v; the bound is %.1f", d, sum, w, log[i].at.Sub(start), bound)
					}
				}
			}
		}
	})
}
