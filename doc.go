// Package ratekeeper keeps Go clients of the Claude API (and of OpenAI's)
// inside their rate limits before the server has to refuse them.
//
// A [Keeper] budgets each model's pool — requests, input tokens and output
// tokens per minute, and per day where a tier has that — as token buckets
// (package limiter), prices every request before it is sent (package
// tokencount), waits for its turn, sends it, and settles the reservation at
// the usage the response reports. It learns from the server's rate-limit
// headers, treats 429 (our quota: wait for the budget) and 529 (their
// overload: back off, shrink concurrency) differently, and owns retries, so
// the SDK's own retries are turned off:
//
//	keeper, err := ratekeeper.New(ratekeeper.WithTier(tier.Anthropic, "build"))
//	client := anthropic.NewClient(
//		option.WithMiddleware(keeper.Middleware),
//		option.WithMaxRetries(0),
//	)
//
// With a shared store (limiter/redisstore) every replica of a service draws
// on one budget.
package ratekeeper
