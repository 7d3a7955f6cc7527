package ratekeeper

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ratekeeper/ratekeeper/internal/aimd"
	"github.com/ratekeeper/ratekeeper/internal/usage"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// giveBack settles the reservation of an attempt the server refused with a
// 429 by keeping its whole charge, though Anthropic charged nothing: the
// freeze that follows (sync.go) sets the level the server asks for, and a
// refund made after it would raise the level of the dimensions the freeze
// left alone above what the server's counts said. Keeping it errs the safe
// way: the units come back by refill.
func (c *call) giveBack(r *limiter.Reservation) { c.settle(r, &c.cost) }

// refused settles the attempt in flight, which the server answered with an
// error status, at what the server kept of it, and releases its slot (an
// overload shrinks the concurrency bound):
//
//   - 429: the whole charge stays (giveBack), though Anthropic charged
//     nothing: the safe side (see giveBack).
//   - An overload (529, 503, overloaded_error) is decided before admission:
//     nothing was charged and everything is refunded — except, for OpenAI,
//     the request, since OpenAI counts unsuccessful requests.
//   - Any other status (4xx, 5xx) came from a server that may have admitted
//     the call and counted its input, but generated nothing: the request
//     and the input stay charged, the output reservation is refunded.
func (c *call) refused(status int, overloaded bool) {
	ticket, r := c.held.take()
	switch {
	case status == http.StatusTooManyRequests:
		c.giveBack(r)
	case overloaded && c.rt.provider == tier.Anthropic:
		c.settle(r, nil)
	case overloaded:
		c.settle(r, &limiter.Cost{Requests: c.cost.Requests})
	default:
		c.settle(r, &limiter.Cost{Requests: c.cost.Requests, InputTokens: c.cost.InputTokens})
	}
	outcome := aimd.Neutral
	if overloaded {
		outcome = aimd.Overload
	}
	c.k.gate.Release(ticket, outcome)
}

// unanswered settles the attempt in flight, whose connection failed with
// err, and releases its slot: a request that never left (notSent) is
// refunded whole; one that may have reached the server (a timeout or a
// cancellation mid-flight usually has) keeps its charge.
func (c *call) unanswered(err error) {
	ticket, r := c.held.take()
	c.k.gate.Release(ticket, aimd.Neutral)
	if notSent(err) {
		c.settle(r, nil)
	} else {
		c.settle(r, &c.cost)
	}
}

// settle commits r at used, or cancels it (a refund) when used is nil. Every
// reservation the call takes is settled here, exactly once.
func (c *call) settle(r *limiter.Reservation, used *limiter.Cost) {
	if used == nil {
		r.Cancel()
	} else {
		_ = r.Commit(*used) // used is bounded: it cannot be invalid
	}
	c.k.open.Add(-1)
}

// settleOnRead wraps a successful response's body so that the reservation
// settles at the reported usage, the estimator learns, and the concurrency
// slot is released, once the body has been read or closed.
func (c *call) settleOnRead(res *http.Response, r *limiter.Reservation, ticket aimd.Ticket, attempt int) {
	stream := strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream")
	ctx := context.WithoutCancel(c.req.Context())
	res.Body = usage.NewReader(res.Body, c.rt.provider, stream, func(u usage.Usage, _ error) {
		used, whole, implausible := c.used(u)
		c.settle(r, &used)
		if u.Input {
			out := int64(-1)
			if u.Final {
				out = u.OutputTokens
			}
			c.k.est.Observe(c.est, whole, out) // ignores what cannot be true
		}
		outcome := aimd.Success
		if u.ErrorType == "overloaded_error" {
			outcome = aimd.Overload
		} else {
			c.p.recovered()
		}
		c.k.gate.Release(ticket, outcome)
		if implausible != nil {
			e := c.event(Bounded, attempt)
			e.Cost, e.Err = used, implausible
			c.emit(ctx, e)
		}
		e := c.event(Settled, attempt)
		e.Cost, e.Reserved = used, r.Cost()
		c.emit(ctx, e)
	})
}

// used is what a response's usage says the call cost, as the budget counts
// it, with the whole input the server counted (for the estimator). A
// figure above what the request could have cost (input beyond the model's
// context window, output beyond max_tokens × n) is charged at that bound
// instead, and reported in the error.
func (c *call) used(u usage.Usage) (used limiter.Cost, whole int64, implausible error) {
	// Each count is at most MaxLimit (2^40), so sums cannot overflow.
	in, out := min(u.InputTokens, tier.MaxLimit), min(u.OutputTokens, tier.MaxLimit)
	created, read := min(u.CacheCreationInputTokens, tier.MaxLimit), min(u.CacheReadInputTokens, tier.MaxLimit)
	used = c.cost
	if u.Input {
		used.InputTokens = in
		whole = in
		if c.rt.provider == tier.Anthropic {
			used.InputTokens += created
			if c.p.cacheReads {
				used.InputTokens += read
			}
			whole += created + read
		}
	}
	if u.Final {
		used.OutputTokens = out
	} else {
		used.OutputTokens = max(used.OutputTokens, out)
	}
	inOK, outOK := c.est.Plausible(whole, used.OutputTokens)
	if !inOK {
		used.InputTokens = min(used.InputTokens, c.est.MaxInputTokens)
		implausible = fmt.Errorf("%w: %d input tokens reported for a request of at most %d (charged at the bound, not learned)",
			ErrImplausible, whole, c.est.MaxInputTokens)
	}
	if !outOK {
		e := fmt.Errorf("%w: %d output tokens reported for a request of at most %d (charged at the bound, not learned)",
			ErrImplausible, used.OutputTokens, c.est.MaxOutputTokens)
		used.OutputTokens = c.est.MaxOutputTokens
		implausible = errors.Join(implausible, e)
	}
	return used, whole, implausible
}
