package redisstore_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/ratekeeper/ratekeeper/internal/redistest"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/limiter/redisstore"
	"github.com/ratekeeper/ratekeeper/tier"
)

// BenchmarkAdmission measures one admission through Redis on the same
// server: ratekeeper's Limiter.Allow deciding three dimensions (one EVALSHA)
// next to redis_rate's single-key Allow (one EVALSHA), with 1 and 32
// goroutines. Budgets are too large to refuse anything. us/admission is the
// latency each caller sees; admissions/s the throughput.
func BenchmarkAdmission(b *testing.B) {
	opt := redistest.Options(b)
	opt.PoolSize = 64
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	prefix := redistest.Prefix(b)
	ctx := context.Background()

	store, err := redisstore.New(rdb, redisstore.WithFailClosed())
	if err != nil {
		b.Fatal(err)
	}
	big := int64(tier.MaxLimit)
	lim, err := limiter.New(tier.Budget{RPM: big, ITPM: big, OTPM: big},
		limiter.WithStore(store, redisstore.Key(prefix, "sk-bench", "dims3")))
	if err != nil {
		b.Fatal(err)
	}
	cost := limiter.Cost{Requests: 1, InputTokens: 1000, OutputTokens: 500}
	ratekeeper := func() error {
		_, err := lim.Allow(ctx, cost)
		return err
	}

	rl := redis_rate.NewLimiter(rdb)
	rlKey := prefix + ":redis_rate"
	rlLimit := redis_rate.PerMinute(1 << 30)
	redisRate := func() error {
		res, err := rl.Allow(ctx, rlKey, rlLimit)
		if err == nil && res.Allowed == 0 {
			err = fmt.Errorf("redis_rate refused")
		}
		return err
	}

	for _, g := range []int{1, 32} {
		for _, c := range []struct {
			name string
			f    func() error
		}{
			{"store=redisstore/dims=3", ratekeeper},
			{"store=redis_rate/dims=1", redisRate},
		} {
			b.Run(fmt.Sprintf("%s/goroutines=%d", c.name, g), func(b *testing.B) {
				b.ReportAllocs()
				if g == 1 {
					for b.Loop() {
						if err := c.f(); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					b.SetParallelism((g + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := c.f(); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				s := b.Elapsed().Seconds()
				b.ReportMetric(float64(b.N)/s, "admissions/s")
				b.ReportMetric(s/float64(b.N)*float64(g)*1e6, "us/admission")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
