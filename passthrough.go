package ratekeeper

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// passOn sends a request the Keeper does not budget by tokens — token
// counting, batches, files, models — with the Keeper's retry policy, since
// the documented setup turns the SDK's retries off for every endpoint: a
// 429 waits its retry-after (up to MaxRetryAfter, MaxRateLimited times),
// an overload or another retryable status backs off (MaxAttempts), a dial
// that failed is retried. Each attempt at an endpoint with a budget of its
// own first waits for it (see passBudget). A request whose body cannot be
// replayed (no GetBody) is sent once. The last refusal is returned marked
// x-should-retry: false.
func (k *Keeper) passOn(req *http.Request, next MiddlewareNext) (*http.Response, error) {
	ctx := req.Context()
	budget := k.passBudget(req)
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	policy := k.retry
	provider := k.cfg.Provider
	limited, failures := 0, 0
	for attempt := 1; ; attempt++ {
		if budget != nil {
			r, err := budget.Wait(ctx, limiter.Cost{Requests: 1})
			if err != nil {
				return nil, err
			}
			_ = r.Commit(limiter.Cost{Requests: 1})
		}
		out := req
		if attempt > 1 {
			out = req.Clone(ctx)
			if req.GetBody != nil {
				b, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				out.Body = b
			}
		}
		res, err := next(out)
		if err != nil {
			if !notSent(err) || !replayable || ctx.Err() != nil {
				return nil, err
			}
			if failures++; failures >= policy.MaxAttempts {
				return nil, err
			}
			if err := sleep(ctx, policy.backoff(failures, 0)); err != nil {
				return nil, err
			}
			continue
		}
		status := res.StatusCode
		if !retryableStatus(status) {
			return res, nil
		}
		if res.Header == nil {
			res.Header = http.Header{}
		}
		if res.Body == nil {
			res.Body = http.NoBody
		}
		obs, _ := tier.ParseHeaders(provider, res.Header, time.Now())
		wait := time.Duration(0)
		if obs.HasRetryAfter {
			wait = obs.RetryAfter
		}
		giveUp := !replayable || wait > policy.MaxRetryAfter
		if status == http.StatusTooManyRequests {
			limited++
			giveUp = giveUp || limited > policy.MaxRateLimited
			if wait == 0 {
				wait = policy.backoff(limited, 0)
			}
		} else {
			failures++
			giveUp = giveUp || failures >= policy.MaxAttempts
			wait = policy.backoff(failures, wait)
		}
		if giveUp {
			res.Header.Set("X-Should-Retry", "false")
			return res, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxErrorBody))
		res.Body.Close()
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// passBudget is the requests-per-minute budget that each attempt of a
// passed-on request waits for, nil for none: POST …/v1/messages/count_tokens
// waits for the count_tokens budget (WithCountTokens), the one the Keeper's
// own counting spends, so the caller's counts and the Keeper's share the
// server's bucket; every call to a Message Batches endpoint (any path under
// …/v1/messages/batches) waits for the batch budget (WithBatchRPM), which
// they all share as the server's limit does.
func (k *Keeper) passBudget(req *http.Request) *limiter.Limiter {
	p := strings.TrimSuffix(req.URL.Path, "/")
	switch {
	case req.Method == http.MethodPost && strings.HasSuffix(p, "/v1/messages/count_tokens"):
		return k.counter
	case isBatchPath(p):
		return k.batcher
	}
	return nil
}

// endpointBudget is the budget of an endpoint with a requests-per-minute
// limit of its own: rpm requests a minute or, for a negative rpm, what the
// configured Anthropic tier publishes (published of its TierInfo; none for
// OpenAI or without a tier); nil when that is none. what names it in
// errors.
func (k *Keeper) endpointBudget(what string, rpm int64, published func(tier.TierInfo) int64) (*limiter.Limiter, error) {
	if rpm < 0 {
		rpm = 0
		if k.cfg.Provider == tier.Anthropic {
			if t, err := tier.LookupTier(tier.Anthropic, k.cfg.Tier); err == nil {
				rpm = published(t)
			}
		}
	}
	if rpm == 0 {
		return nil, nil
	}
	lim, err := limiter.New(tier.Budget{RPM: rpm})
	if err != nil {
		return nil, fmt.Errorf("ratekeeper: %s budget: %w", what, err)
	}
	return lim, nil
}
