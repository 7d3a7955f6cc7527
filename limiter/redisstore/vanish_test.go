package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ratekeeper/ratekeeper/internal/redistest"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/limiter/redisstore"
	"github.com/ratekeeper/ratekeeper/limiter/storetest"
	"github.com/ratekeeper/ratekeeper/tier"
)

// TestKeyVanishes drains a budget, makes its key vanish as Redis can lose
// it, and counts what is admitted at the same instant: a missing key is a
// fresh, full budget, so exactly one capacity more, never two, and the
// clamp that the first response's headers bring (the server's remaining
// count) ends the overshoot at once. Each case has a private server: the
// vanishing is destructive.
func TestKeyVanishes(t *testing.T) {
	for _, c := range []struct {
		name   string
		args   []string // of the private redis-server
		vanish func(t *testing.T, srv *redistest.Server, rdb *redis.Client, key string)
	}{
		{"FLUSHALL", nil, func(t *testing.T, _ *redistest.Server, rdb *redis.Client, _ string) {
			if err := rdb.FlushAll(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
		}},
		{"eviction", []string{"--maxmemory-policy", "allkeys-lru"}, evict},
		{"empty restart", nil, func(t *testing.T, srv *redistest.Server, _ *redis.Client, _ string) {
			srv.Kill()
			if err := srv.Restart(); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := redistest.Start(t, c.args...)
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
			defer rdb.Close()
			keyVanishes(t, rdb, func(key string) {
				t.Helper()
				c.vanish(t, srv, rdb, key)
				if n, err := rdb.Exists(context.Background(), key).Result(); err != nil || n != 0 {
					t.Fatalf("after the %s, EXISTS = %d, %v; want the key gone", c.name, n, err)
				}
			})
		})
	}
}

// keyVanishes runs the case on rdb's server, vanish making key vanish.
func keyVanishes(t *testing.T, rdb *redis.Client, vanish func(key string)) {
	clock := storetest.NewClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	s, err := redisstore.New(rdb, redisstore.WithTestClock(clock.Now), redisstore.WithFailClosed(), slowMachine)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key := redisstore.Key("ratekeeper-test", "sk-ant-api03-vanish", "vanish")
	// 60 requests and 60,000 input tokens at once; requests bind.
	budget := tier.Budget{RPM: 60, ITPM: 60000}
	lim, err := limiter.New(budget, limiter.WithStore(s, key))
	if err != nil {
		t.Fatal(err)
	}
	capacity := int(budget.Capacity(tier.RPM))
	// drain admits calls at the clock's instant until one is refused.
	drain := func() int {
		t.Helper()
		for n := 0; ; n++ {
			_, err := lim.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 100})
			if errors.Is(err, limiter.ErrLimited) {
				return n
			}
			if err != nil {
				t.Fatalf("Allow after %d: %v", n, err)
			}
			if n > 10*capacity {
				t.Fatalf("%d admitted at one instant by a budget of %d", n, capacity)
			}
		}
	}
	if n := drain(); n != capacity {
		t.Fatalf("a fresh budget admitted %d; want its capacity %d", n, capacity)
	}
	vanish(key)
	// The ledger of this instant: the capacity, then, from the fresh
	// budget, one capacity more and not a call beyond it.
	if n := drain(); n != capacity {
		t.Fatalf("after the key vanished, %d more admitted at the same instant; want exactly one capacity, %d", n, capacity)
	}
	rem, err := lim.Remaining(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rem.Buckets[tier.ITPM].Level, budget.Capacity(tier.ITPM)-float64(100*capacity); got != want {
		t.Fatalf("ITPM level = %v; want %v: a fresh budget in every dimension", got, want)
	}
	// Again, with what the first response would bring: the server says
	// no request is left (its own count never forgot). One call beyond
	// the budget, then none.
	vanish(key)
	if _, err := lim.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 100}); err != nil {
		t.Fatalf("Allow on the fresh budget = %v", err)
	}
	if err := lim.Clamp(ctx, tier.RPM, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := lim.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 100}); !errors.Is(err, limiter.ErrLimited) {
		t.Fatalf("Allow after the clamp to the server's remaining 0 = %v; want ErrLimited", err)
	}
}

// evict fills the server with other keys under a maxmemory limit until the
// allkeys policy has evicted key, then lifts the limit.
func evict(t *testing.T, _ *redistest.Server, rdb *redis.Client, key string) {
	ctx := context.Background()
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	var used int64
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			used, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if used == 0 {
		t.Fatalf("no used_memory in INFO memory:\n%s", info)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", strconv.FormatInt(used+1<<20, 10)).Err(); err != nil {
		t.Fatal(err)
	}
	filler := strings.Repeat("x", 64<<10)
	for i := 0; ; i++ {
		if n, err := rdb.Exists(ctx, key).Result(); err != nil {
			t.Fatal(err)
		} else if n == 0 {
			t.Logf("evicted after %d filler keys of 64 KiB", i)
			break
		}
		if i == 10000 {
			t.Fatal("10,000 filler keys of 64 KiB did not evict the budget's key")
		}
		if err := rdb.Set(ctx, fmt.Sprintf("filler:%d", i), filler, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
}
