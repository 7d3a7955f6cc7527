package limiter_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// fixedClock makes examples deterministic: the store's time stands still
// unless the example moves it.
type fixedClock struct{ t time.Time }

func (c *fixedClock) now() time.Time { return c.t }

func Example() {
	clock := &fixedClock{time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	store := limiter.NewMemoryStore(limiter.WithClock(clock.now))
	// Anthropic Tier 1 for Sonnet 4.x: 50 RPM, 30k ITPM, 8k OTPM.
	lim, err := limiter.New(tier.Budget{RPM: 50, ITPM: 30_000, OTPM: 8_000}, limiter.WithStore(store, "example"))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	// Before sending: reserve the estimated input and max_tokens.
	r, err := lim.Wait(ctx, limiter.Cost{Requests: 1, InputTokens: 12_000, OutputTokens: 4_096})
	if err != nil {
		panic(err)
	}
	// After the response: settle at the reported usage.
	if err := r.Commit(limiter.Cost{Requests: 1, InputTokens: 11_400, OutputTokens: 900}); err != nil {
		panic(err)
	}

	rem, _ := lim.Remaining(ctx)
	for _, d := range []tier.Dimension{tier.RPM, tier.ITPM, tier.OTPM} {
		b := rem.Buckets[d]
		fmt.Printf("%s: %.0f of %d, full in %v\n", d, b.Level, b.Limit, b.FullIn)
	}
	// Output:
	// requests_per_minute: 49 of 50, full in 1.2s
	// input_tokens_per_minute: 18600 of 30000, full in 22.8s
	// output_tokens_per_minute: 7100 of 8000, full in 6.75s
}

func ExampleLimiter_Allow() {
	clock := &fixedClock{time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	store := limiter.NewMemoryStore(limiter.WithClock(clock.now))
	lim, _ := limiter.New(tier.Budget{RPM: 60, ITPM: 6_000}, limiter.WithStore(store, "example"))
	ctx := context.Background()

	_, err := lim.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 5_000})
	fmt.Println("first:", err)
	_, err = lim.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 2_000})
	var le *limiter.LimitError
	if errors.As(err, &le) && errors.Is(err, limiter.ErrLimited) {
		fmt.Printf("second: limited by %s, retry after %v\n", le.Dimension, le.RetryAfter)
	}
	_, err = lim.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 7_000})
	fmt.Println("third:", errors.Is(err, limiter.ErrTooLarge), err)
	// Output:
	// first: <nil>
	// second: limited by input_tokens_per_minute, retry after 10s
	// third: true limiter: input_tokens_per_minute: need 7000, capacity 6000: request too large for the budget
}

func ExampleLimiter_Reserve() {
	clock := &fixedClock{time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	store := limiter.NewMemoryStore(limiter.WithClock(clock.now))
	lim, _ := limiter.New(tier.Budget{RPM: 60}, limiter.WithStore(store, "example"))
	ctx := context.Background()

	// Each Reserve takes the next place in line.
	for range 62 {
		r, _ := lim.Reserve(ctx, limiter.Cost{Requests: 1})
		if d := r.Delay(); d > 0 {
			fmt.Println("wait", d)
		}
	}
	// Output:
	// wait 1s
	// wait 2s
}

func ExampleLimiter_Clamp() {
	clock := &fixedClock{time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	store := limiter.NewMemoryStore(limiter.WithClock(clock.now))
	lim, _ := limiter.New(tier.Budget{RPM: 50, ITPM: 30_000, OTPM: 6_000}, limiter.WithStore(store, "example"))
	ctx := context.Background()

	// Another client shares the key: the server says 4,000 input tokens remain.
	_ = lim.Clamp(ctx, tier.ITPM, 4_000, 0)
	// A 429 on output tokens with retry-after: 7 freezes OTPM for 7 s.
	_ = lim.Clamp(ctx, tier.OTPM, 0, 7*time.Second)

	_, err := lim.Allow(ctx, limiter.Cost{Requests: 1, InputTokens: 1_000, OutputTokens: 100})
	fmt.Println(err)
	// Output:
	// limiter: output_tokens_per_minute: need 100, have -700: rate limited, retry after 8s
}

func ExampleLimiter_ClampAll() {
	clock := &fixedClock{time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	store := limiter.NewMemoryStore(limiter.WithClock(clock.now))
	lim, _ := limiter.New(tier.Budget{RPM: 50, ITPM: 30_000, OTPM: 6_000}, limiter.WithStore(store, "example"))
	ctx := context.Background()

	// One response's headers, imposed in one store call: 10 requests and
	// 4,000 input tokens remain, and output tokens are frozen for 7 s.
	var c [tier.NumDimensions]limiter.ClampTarget
	c[tier.RPM] = limiter.ClampTarget{Set: true, Remaining: 10}
	c[tier.ITPM] = limiter.ClampTarget{Set: true, Remaining: 4_000}
	c[tier.OTPM] = limiter.ClampTarget{Set: true, Hold: 7 * time.Second}
	_ = lim.ClampAll(ctx, c)

	r, _ := lim.Remaining(ctx)
	fmt.Println(r.Buckets[tier.RPM].Level, r.Buckets[tier.ITPM].Level, r.Buckets[tier.OTPM].Level)
	// Output:
	// 10 4000 -700
}
