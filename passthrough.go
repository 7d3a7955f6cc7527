package ratekeeper

import (
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
// that failed is retried. POST …/v1/messages/count_tokens first waits for
// the count_tokens budget (WithCountTokens), the one the Keeper's own
// counting spends, so the caller's counts and the Keeper's share the
// server's bucket. A request whose body cannot be replayed (no GetBody) is
// sent once. The last refusal is returned marked x-should-retry: false.
func (k *Keeper) passOn(req *http.Request, next MiddlewareNext) (*http.Response, error) {
	ctx := req.Context()
	counting := req.Method == http.MethodPost && strings.HasSuffix(strings.TrimSuffix(req.URL.Path, "/"), "/v1/messages/count_tokens")
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	policy := k.retry
	provider := k.cfg.Provider
	limited, failures := 0, 0
	for attempt := 1; ; attempt++ {
		if counting && k.counter != nil {
			r, err := k.counter.Wait(ctx, limiter.Cost{Requests: 1})
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
