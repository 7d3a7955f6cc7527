package limiter_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/limiter/storetest"
	"github.com/ratekeeper/ratekeeper/tier"
)

// localStore is a LocalStore as one outside this module would write it:
// a LocalBudget per key, each Store method that budget's method.
type localStore struct {
	now     func() time.Time
	mu      sync.Mutex // guards budgets
	budgets map[string]*limiter.LocalBudget
}

func (s *localStore) LocalBudget(key string) *limiter.LocalBudget {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.budgets[key]
	if !ok {
		b = limiter.NewLocalBudget(s.now)
		s.budgets[key] = b
	}
	return b
}

func (s *localStore) Reserve(_ context.Context, key string, req limiter.ReserveRequest) (limiter.ReserveResult, error) {
	return s.LocalBudget(key).Reserve(req), nil
}

func (s *localStore) Settle(_ context.Context, key string, req limiter.SettleRequest) error {
	s.LocalBudget(key).Settle(req)
	return nil
}

func (s *localStore) Lower(_ context.Context, key string, req limiter.LowerRequest) error {
	s.LocalBudget(key).Lower(req)
	return nil
}

func (s *localStore) Snapshot(_ context.Context, key string, limits limiter.Limits) (limiter.Snapshot, error) {
	return s.LocalBudget(key).Snapshot(limits), nil
}

func newLocalStore(now func() time.Time) *localStore {
	return &localStore{now: now, budgets: make(map[string]*limiter.LocalBudget)}
}

// TestLocalStoreConformance: a LocalStore written outside the package
// passes the suite, through its Limiters (which use its LocalBudgets) and
// through its Store methods.
func TestLocalStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) limiter.Store {
		return newLocalStore(now)
	})
	t.Run("ThroughInterface", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, now func() time.Time) limiter.Store {
			return opaqueStore{newLocalStore(now)}
		})
	})
}

// TestLocalStoreWakesEveryLimiter: with a LocalStore, a refund through
// one Limiter admits the head of another's line at that instant; with a
// shared store (the same store, hidden behind the Store interface), that
// head sees it on its next poll.
func TestLocalStoreWakesEveryLimiter(t *testing.T) {
	for _, c := range []struct {
		name  string
		store func() limiter.Store
		want  time.Duration
	}{
		{"memory", func() limiter.Store { return limiter.NewMemoryStore() }, 2010 * time.Millisecond},
		{"local", func() limiter.Store { return newLocalStore(time.Now) }, 2010 * time.Millisecond},
		{"shared", func() limiter.Store { return opaqueStore{limiter.NewMemoryStore()} }, 2050 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := c.store()
				mk := func() *limiter.Limiter {
					l, err := limiter.New(tier.Budget{RPM: 6000, OTPM: 600}, limiter.WithStore(store, "k")) // 10 output tokens a second
					if err != nil {
						t.Fatal(err)
					}
					return l
				}
				a, b := mk(), mk()
				ctx := context.Background()
				r, err := b.Allow(ctx, limiter.Cost{Requests: 1, OutputTokens: 600})
				if err != nil {
					t.Fatal(err)
				}
				go func() {
					time.Sleep(2010 * time.Millisecond)
					r.Commit(limiter.Cost{Requests: 1}) // all 600 back
				}()
				start := time.Now()
				if _, err := a.Wait(ctx, limiter.Cost{Requests: 1, OutputTokens: 300}); err != nil { // 30 s by refill
					t.Fatal(err)
				}
				if got := time.Since(start); got != c.want {
					t.Fatalf("the other Limiter's head was admitted after %v; want %v", got, c.want)
				}
			})
		})
	}
}

// TestLocalHeadPollsOnlyWhenShared: the head of the only Limiter of a
// LocalStore's budget asks again when its refill is due, not every poll;
// with a second Limiter of the budget it polls (to keep its claim).
func TestLocalHeadPollsOnlyWhenShared(t *testing.T) {
	for _, c := range []struct {
		limiters int
		min, max int64 // clock reads during a 10 s wait
	}{
		{1, 1, 3},
		{2, 200, 202},
	} {
		t.Run(fmt.Sprintf("limiters=%d", c.limiters), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var reads atomic.Int64
				store := newLocalStore(func() time.Time { reads.Add(1); return time.Now() })
				var lims []*limiter.Limiter
				for range c.limiters {
					l, err := limiter.New(tier.Budget{RPM: 6000, ITPM: 6000}, limiter.WithStore(store, "k")) // 100 input tokens a second
					if err != nil {
						t.Fatal(err)
					}
					lims = append(lims, l)
				}
				ctx := context.Background()
				if _, err := lims[0].Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 6000}); err != nil {
					t.Fatal(err)
				}
				reads.Store(0)
				if _, err := lims[0].Wait(ctx, limiter.Cost{Requests: 1, InputTokens: 1000}); err != nil {
					t.Fatal(err)
				}
				if n := reads.Load(); n < c.min || n > c.max {
					t.Errorf("with %d Limiters, a 10 s wait read the clock %d times; want %d to %d", c.limiters, n, c.min, c.max)
				}
			})
		})
	}
}
