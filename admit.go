package ratekeeper

import (
	"context"
	"errors"
	"time"

	"github.com/ratekeeper/ratekeeper/internal/aimd"
	"github.com/ratekeeper/ratekeeper/internal/wait"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// admit waits for the pool's overload pause, a concurrency slot and the
// budget, in that order, and holds the slot and the reservation (c.held)
// for attempt n's send. On error nothing is held.
func (c *call) admit(ctx context.Context, n int) error {
	k := c.k
	start := time.Now()
	// The overload pause, then a concurrency slot, then the budget: a call
	// holds no budget while it waits for the service or for a slot. Units
	// reserved by a call not yet sent are units the server's bucket may
	// overflow meanwhile: after a two-minute outage the calls admitted
	// behind the pause held 25k output tokens against a bucket of 8k, and
	// the server refused them together.
	if _, err := c.p.paused(ctx); err != nil {
		return err
	}
	ticket, err := k.gate.Acquire(ctx)
	if err != nil {
		return err
	}
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if k.maxWait > 0 {
		wctx, cancel = context.WithTimeout(ctx, k.maxWait)
	}
	r, err := c.wait(wctx)
	cancel()
	if err != nil {
		k.gate.Release(ticket, aimd.Neutral)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		e := c.event(Refused, n)
		var le *limiter.LimitError
		if errors.As(err, &le) {
			e.Dimension, e.HasDimension = le.Dimension, true
		}
		e.Err = err
		c.emit(ctx, e)
		return err
	}
	c.held = held{ticket, r}
	gen, err := c.p.paused(ctx) // a pause that began meanwhile
	if err != nil {
		c.held.take() // never sent: the slot and the whole reservation come back
		k.gate.Release(ticket, aimd.Neutral)
		c.settle(r, nil)
		return err
	}
	c.sentGen = gen
	// What the server's counts will be compared with: as of now, when the
	// call goes out (not its admission, which a pause may precede by
	// seconds).
	c.sentAt = time.Now()
	e := c.event(Admitted, n)
	e.Wait, e.Cost = time.Since(start), c.cost
	c.emit(ctx, e)
	return nil
}

// held is what an attempt holds from its admission to the hand-off of its
// response (or its settlement): a concurrency slot and a reservation. If
// the next handler or an observer panics meanwhile, releaseOnPanic settles
// them (charging the whole reservation, since the request may have gone
// out) before the panic goes on, so that no slot is lost for good.
type held struct {
	ticket aimd.Ticket
	r      *limiter.Reservation // nil: nothing is held
}

// take returns what is held, which the caller now settles, and holds
// nothing any more.
func (h *held) take() (aimd.Ticket, *limiter.Reservation) {
	t, r := h.ticket, h.r
	*h = held{}
	return t, r
}

// releaseOnPanic is deferred by run, around every attempt of the call.
func (c *call) releaseOnPanic() {
	if c.held.r != nil {
		if p := recover(); p != nil {
			ticket, r := c.held.take()
			c.k.gate.Release(ticket, aimd.Neutral)
			c.settle(r, &c.cost)
			panic(p)
		}
	}
}

// wait waits in the budget's line for admission. Nothing is debited while
// the call waits, so a 429 that lowers the budget meanwhile simply makes
// the line wait longer: nobody holds a place computed on the old levels.
func (c *call) wait(ctx context.Context) (*limiter.Reservation, error) {
	r, err := c.p.lim.Wait(ctx, c.cost)
	var le *limiter.LimitError
	if errors.As(err, &le) && errors.Is(err, limiter.ErrTooLarge) && c.fitsWithoutMargin(le.Dimension) {
		// Too large only by the margin: the call is not impossible, so
		// reserve what the bucket holds; the settlement charges the rest.
		c.cost.InputTokens = c.leastInput(le.Dimension)
		r, err = c.p.lim.Wait(ctx, c.cost)
	}
	if err == nil {
		c.k.open.Add(1)
	}
	return r, err
}

// paused waits out the pool's overload pause, if one is on, and returns
// the pause generation the attempt is sent in.
func (p *pool) paused(ctx context.Context) (uint64, error) {
	for {
		p.mu.Lock()
		until, gen := p.pauseUntil, p.pauseGen
		p.mu.Unlock()
		d := time.Until(until)
		if d <= 0 {
			return gen, nil
		}
		if err := wait.Sleep(ctx, d); err != nil {
			return 0, err
		}
	}
}

// pause answers an overload met by an attempt sent in generation gen: the
// pool pauses for the policy's backoff after the overloads in a row (at
// least retryAfter), counted once per pause, so that the calls in flight
// when the service went down do not escalate it together. It returns the
// pause from now.
func (p *pool) pause(gen uint64, policy RetryPolicy, retryAfter time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if gen == p.pauseGen {
		p.overloads++
		p.pauseGen++
		until := now.Add(policy.backoff(p.overloads, retryAfter))
		if until.After(p.pauseUntil) {
			p.pauseUntil = until
		}
	} else if until := now.Add(retryAfter); until.After(p.pauseUntil) {
		p.pauseUntil = until
	}
	return max(p.pauseUntil.Sub(now), 0)
}

// recovered ends the run of overloads: the service answered.
func (p *pool) recovered() {
	p.mu.Lock()
	p.overloads = 0
	p.mu.Unlock()
}

// fitsWithoutMargin reports whether c's input, at its central estimate
// (no margin), fits dimension d's bucket (ITPM or TPM), so that an
// ErrTooLarge there came from the margin alone.
func (c *call) fitsWithoutMargin(d tier.Dimension) bool {
	if d != tier.ITPM && d != tier.TPM {
		return false
	}
	point := min(c.est.PointTokens, c.cost.InputTokens)
	if d == tier.TPM {
		point += c.cost.OutputTokens
	}
	return float64(point) <= c.p.lim.Budget().Capacity(d)
}

// leastInput is the input reservation that fills dimension d's bucket
// exactly: the most c can reserve there.
func (c *call) leastInput(d tier.Dimension) int64 {
	room := int64(c.p.lim.Budget().Capacity(d))
	if d == tier.TPM {
		room -= c.cost.OutputTokens
	}
	return max(min(c.cost.InputTokens, room), min(c.est.PointTokens, c.cost.InputTokens))
}
