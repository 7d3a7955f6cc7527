package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/limiter/redisstore"
	"github.com/ratekeeper/ratekeeper/tier"
)

// Two replicas (here, two Limiters with their own Stores) share one budget
// of 2 requests per minute through Redis.
func Example() {
	ctx := context.Background()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		fmt.Println(err)
		return
	}
	opt.ContextTimeoutEnabled = true // let WithTimeout bound each call
	rdb := redis.NewClient(opt)
	defer rdb.Close()

	key := redisstore.Key("ratekeeper-example", "sk-ant-api03-example", "claude-sonnet")
	fmt.Println(key)
	rdb.Del(ctx, key) // start from a full budget
	defer rdb.Del(ctx, key)

	budget := tier.Budget{RPM: 2, ITPM: 30000, OTPM: 8000}
	var replicas [2]*limiter.Limiter
	for i := range replicas {
		// The share of the budget each replica may use alone while Redis
		// is unreachable: 1/replicas keeps their sum within the budget.
		// (Without Redis each replica would answer from its own share, and
		// this example would print other lines.)
		store, err := redisstore.New(rdb, redisstore.WithFallbackShare(0.5))
		if err != nil {
			fmt.Println(err)
			return
		}
		replicas[i], err = limiter.New(budget, limiter.WithStore(store, key))
		if err != nil {
			fmt.Println(err)
			return
		}
	}

	cost := limiter.Cost{Requests: 1, InputTokens: 1000, OutputTokens: 500}
	for i, lim := range []*limiter.Limiter{replicas[0], replicas[1], replicas[0]} {
		r, err := lim.Allow(ctx, cost)
		var le *limiter.LimitError
		switch {
		case err == nil:
			fmt.Printf("replica %d: admitted\n", i%2)
			r.Commit(limiter.Cost{Requests: 1, InputTokens: 1000, OutputTokens: 120})
		case errors.As(err, &le) && errors.Is(err, limiter.ErrLimited):
			fmt.Printf("replica %d: refused on %s\n", i%2, le.Dimension)
		default:
			fmt.Println(err)
		}
	}
	// Output:
	// ratekeeper-example:{dd2610766b8e82e0:claude-sonnet}
	// replica 0: admitted
	// replica 1: admitted
	// replica 0: refused on requests_per_minute
}
