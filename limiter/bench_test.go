package limiter_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// Budgets so large that no call ever waits: the benchmarks measure the cost
// of a decision, not of waiting.
var (
	huge  = tier.Budget{RPM: tier.MaxLimit, ITPM: tier.MaxLimit, OTPM: tier.MaxLimit}
	huge1 = tier.Budget{RPM: tier.MaxLimit}
	call  = limiter.Cost{Requests: 1, InputTokens: 1000, OutputTokens: 1000}
)

func newBench(b *testing.B, bud tier.Budget) *limiter.Limiter {
	l, err := limiter.New(bud)
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkAdmission compares one ratekeeper decision over 3 dimensions
// (and over 1) with one x/time/rate decision, serially and with every
// GOMAXPROCS goroutine on one limiter.
func BenchmarkAdmission(b *testing.B) {
	ctx := context.Background()
	cases := []struct {
		name string
		make func(b *testing.B) func()
	}{
		{"xrate/AllowN", func(b *testing.B) func() {
			l := rate.NewLimiter(rate.Limit(1e12), 1<<40)
			return func() { l.AllowN(time.Now(), 1000) }
		}},
		{"xrate/ReserveN+Cancel", func(b *testing.B) func() {
			l := rate.NewLimiter(rate.Limit(1e12), 1<<40)
			return func() { l.ReserveN(time.Now(), 1000).Cancel() }
		}},
		{"ratekeeper/dims=1/Allow", func(b *testing.B) func() {
			l := newBench(b, huge1)
			c := limiter.Cost{Requests: 1}
			return func() { l.Allow(ctx, c) }
		}},
		{"ratekeeper/dims=3/Allow", func(b *testing.B) func() {
			l := newBench(b, huge)
			return func() { l.Allow(ctx, call) }
		}},
		{"ratekeeper/dims=3/Reserve+Commit", func(b *testing.B) func() {
			l := newBench(b, huge)
			used := limiter.Cost{Requests: 1, InputTokens: 900, OutputTokens: 300}
			return func() {
				r, _ := l.Reserve(ctx, call)
				r.Commit(used)
			}
		}},
		{"ratekeeper/dims=3/Reserve+Cancel", func(b *testing.B) func() {
			l := newBench(b, huge)
			return func() {
				r, _ := l.Reserve(ctx, call)
				r.Cancel()
			}
		}},
		{"ratekeeper/dims=3/Remaining", func(b *testing.B) func() {
			l := newBench(b, huge)
			return func() { l.Remaining(ctx) }
		}},
	}
	for _, c := range cases {
		b.Run(c.name+"/serial", func(b *testing.B) {
			f := c.make(b)
			b.ReportAllocs()
			for b.Loop() {
				f()
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			f := c.make(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					f()
				}
			})
		})
	}
}
