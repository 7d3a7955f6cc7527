package ratekeeper

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// passOn sends a request the Keeper does not budget by tokens — token
// counting, batches, files, models — through the Keeper's retry loop,
// since the documented setup turns the SDK's retries off for every
// endpoint: a 429 waits its retry-after (up to MaxRetryAfter,
// MaxRateLimited times), an overload or another retryable status backs off
// (MaxAttempts), a dial that failed is retried. Each attempt at an endpoint
// with a budget of its own first waits for it (see passBudget). A request
// whose body cannot be replayed (no GetBody) is sent once. The last
// refusal is returned marked x-should-retry: false.
func (k *Keeper) passOn(req *http.Request, next MiddlewareNext, rt route) (*http.Response, error) {
	pc := &passCall{req: req, next: next, budget: k.passBudget(rt), provider: k.cfg.Provider}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	return k.retry.loop(req.Context(), pc, rules{replayable: replayable})
}

// passCall is a request passed on, as the retry loop sends it: no pool, no
// events; only the headers' retry-after is read.
type passCall struct {
	req      *http.Request
	next     MiddlewareNext
	budget   *limiter.Limiter // nil: none
	provider tier.Provider
}

// try waits for the endpoint's budget, if any, and sends attempt n: the
// request itself first, then copies with a fresh body. A response with a
// status not worth retrying is returned untouched.
func (pc *passCall) try(ctx context.Context, n int) (reply, error) {
	if pc.budget != nil {
		r, err := pc.budget.Wait(ctx, limiter.Cost{Requests: 1})
		if err != nil {
			return reply{}, err
		}
		_ = r.Commit(limiter.Cost{Requests: 1})
	}
	out := pc.req
	if n > 1 {
		out = pc.req.Clone(ctx)
		if pc.req.GetBody != nil {
			b, err := pc.req.GetBody()
			if err != nil {
				return reply{}, err
			}
			out.Body = b
		}
	}
	res, err := pc.next(out)
	if err != nil {
		return reply{err: err, ended: ctx.Err() != nil}, nil
	}
	if !retryableStatus(res.StatusCode) {
		return reply{res: res}, nil
	}
	if res.Header == nil {
		res.Header = http.Header{}
	}
	if res.Body == nil {
		res.Body = http.NoBody
	}
	obs, _ := tier.ParseHeaders(pc.provider, res.Header, time.Now())
	return reply{res: res, wait: retryAfter(&obs, nil)}, nil
}

// act drains and closes a refusal that is retried.
func (pc *passCall) act(_ context.Context, _ int, rp reply, d decision) decision {
	if d.verdict == retry && rp.res != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(rp.res.Body, maxErrorBody))
		rp.res.Body.Close()
	}
	return d
}

// passBudget is the requests-per-minute budget that each attempt of a
// passed-on call waits for, nil for none: count_tokens waits for the
// count_tokens budget (WithCountTokens), the one the Keeper's own counting
// spends, so the caller's counts and the Keeper's share the server's bucket;
// every call to a Message Batches endpoint waits for the batch budget
// (WithBatchRPM), which they all share as the server's limit does.
func (k *Keeper) passBudget(rt route) *limiter.Limiter {
	switch rt.endpoint {
	case countTokens:
		return k.counter
	case batchCreate, batches:
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
