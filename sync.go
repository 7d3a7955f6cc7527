package ratekeeper

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// distrust drops what the headers say that cannot be right before it
// touches the budget: a reset that is not in the future (a stale or skewed
// clock; the bucket is not "full since" anything we can use). Unparsable
// headers were already left out by the parser. Both are logged at debug.
func (c *call) distrust(ctx context.Context, attempt int, obs *tier.Observation, herr error, now time.Time) {
	if herr != nil {
		c.k.debug(ctx, "ratekeeper: ignored malformed rate-limit headers", c, attempt, slog.String("error", herr.Error()))
	}
	for d := range tier.NumDimensions {
		o := &obs.Dims[d]
		if o.Present && !o.Reset.IsZero() && !o.Reset.After(now) {
			c.k.debug(ctx, "ratekeeper: ignored a reset in the past", c, attempt,
				slog.String("dimension", d.String()), slog.Time("reset", o.Reset))
			o.Reset = time.Time{}
		}
	}
}

// need is the call's cost in dimension d.
func (c *call) need(d tier.Dimension) int64 { return c.cost.PerDimension()[d] }

// minimalNeed is the least the call can cost in dimension d: its need, with
// the input estimate taken without its safety margin.
func (c *call) minimalNeed(d tier.Dimension) int64 {
	least := c.cost
	least.InputTokens = min(least.InputTokens, c.est.PointTokens)
	return least.PerDimension()[d]
}

// freezePlan is what a 429 asks of the budget: the dimensions to freeze
// and, per dimension, how long nothing may refill (unbounded, as the
// server said it; freeze bounds it).
type freezePlan struct {
	frozen  []tier.Dimension
	hold    [tier.NumDimensions]time.Duration
	longest time.Duration
}

// planFreeze reads a 429 (obs, its headers; rp, its error body, its
// retry-after and when it came): each dimension the headers show short of
// this call's need (or the one the message names, else RPM) may not admit
// the call again before the retry-after, or the dimension's reset when the
// server sent no retry-after or the call is larger than the bucket (it
// needs the server's bucket full). The holds are what the server asked,
// unbounded: decide compares the longest with MaxRetryAfter.
func (c *call) planFreeze(obs *tier.Observation, rp *reply) freezePlan {
	apiErr, retryAfter, now := rp.apiErr, rp.wait, rp.at
	var fz freezePlan
	for d := range tier.NumDimensions {
		o := obs.Dims[d]
		if o.Present && o.Remaining >= 0 && o.Remaining < c.need(d) {
			fz.frozen = append(fz.frozen, d)
		}
	}
	if len(fz.frozen) == 0 && apiErr != nil && apiErr.HasDimension {
		fz.frozen = append(fz.frozen, apiErr.Dimension)
	}
	if len(fz.frozen) == 0 {
		fz.frozen = append(fz.frozen, tier.RPM)
	}
	capacity := c.p.lim.Budget()
	for _, d := range fz.frozen {
		hold := retryAfter
		reset := obs.Dims[d].Reset // in the future, or zero (distrust)
		if hold == 0 && reset.IsZero() {
			hold = c.k.retry.BaseBackoff
		}
		if !reset.IsZero() && (hold == 0 || float64(c.need(d)) > capacity.Capacity(d)) {
			hold = max(hold, reset.Sub(now))
		}
		fz.hold[d] = hold
		fz.longest = max(fz.longest, hold)
	}
	return fz
}

// freeze imposes a 429 on the budget as fz says, each hold bounded by
// RetryPolicy.MaxRetryAfter: after it, exactly this call's need (at most a
// full bucket) is back, so the retry fits then. It returns the first
// dimension frozen, and whether the budget now makes the retry wait (false
// when no frozen dimension is limited by the budget, or the store failed:
// the caller must wait itself).
func (c *call) freeze(ctx context.Context, attempt int, fz *freezePlan) (dim tier.Dimension, enforced bool) {
	capacity := c.p.lim.Budget()
	var clamps [tier.NumDimensions]limiter.ClampTarget
	for _, d := range fz.frozen {
		enforced = enforced || capacity.Limit(d) > 0
		hold := min(fz.hold[d], c.k.retry.MaxRetryAfter)
		need := min(c.need(d), int64(capacity.Capacity(d)))
		clamps[d] = limiter.ClampTarget{Set: true, Remaining: need, Hold: hold}
	}
	if err := c.p.lim.ClampAll(ctx, clamps); err != nil {
		enforced = false
	}
	for _, d := range fz.frozen {
		c.p.cutShare(d)
	}
	c.shrinkBurst(ctx, attempt)
	return fz.frozen[0], enforced
}

// sync imposes the server's view from one response's headers: lower each
// bucket to the remaining the server reports (another client may share the
// key; rounded counts are taken 500 lower), and learn the limits.
//
// ok reports a successful response: only its counts can show other clients
// (a refusal's show the server's view, which the clamp imposes).
func (c *call) sync(ctx context.Context, attempt int, obs *tier.Observation, ok bool) [tier.NumDimensions]limiter.ClampTarget {
	lim := c.p.lim
	b := lim.Budget()
	learned := b
	for d := range tier.NumDimensions {
		o := obs.Dims[d]
		if !o.Present || o.Limit <= 0 || o.Limit == b.Limit(d) || o.Limit > tier.MaxLimit {
			continue
		}
		c.p.mu.Lock()
		conf := c.p.configured.Limit(d)
		c.p.mu.Unlock()
		if c.k.strict && conf > 0 && o.Limit > conf {
			continue
		}
		// A limit this very call could not fit in is not the server's:
		// it would make every later call like it impossible, and no
		// response would come to correct it.
		if floor := c.minimalNeed(d); o.Limit < floor {
			e := c.event(Bounded, attempt)
			e.Dimension, e.HasDimension, e.Limit = d, true, o.Limit
			e.Err = fmt.Errorf("%w: a %v limit of %d, below the %d this call needs: ignored", ErrImplausible, d, o.Limit, floor)
			c.emit(ctx, e)
			continue
		}
		v := o.Limit
		learned = learned.WithLimit(d, v)
		if err := learned.Validate(); err != nil {
			learned = learned.WithLimit(d, b.Limit(d))
			continue
		}
		e := c.event(Synced, attempt)
		e.Dimension, e.HasDimension, e.Limit = d, true, v
		c.emit(ctx, e)
	}
	if burst, ok := c.learnBurst(obs, learned); ok {
		learned.Burst = burst
		e := c.event(Synced, attempt)
		e.Burst = burst
		c.emit(ctx, e)
	}
	if learned != b {
		_ = lim.SetBudget(learned)
	}
	var clamps [tier.NumDimensions]limiter.ClampTarget
	for d := range tier.NumDimensions {
		o := obs.Dims[d]
		if !o.Present || o.Remaining < 0 || learned.Limit(d) == 0 {
			continue
		}
		rem := o.Remaining
		if o.Rounded {
			rem = max(rem-500, 0)
		}
		// The count is as of the server's decision on this call, and the
		// bucket refilled since: the count plus that refill bounds what is
		// left now from above. (What this process sent meanwhile is already
		// off the local level; subtracting it again would count twice the
		// calls sent with this one that the server decided first.)
		refill := float64(learned.Limit(d)) * float64(max(time.Since(c.sentAt), 0)) / float64(d.Period())
		clamps[d] = limiter.ClampTarget{Set: true, Remaining: rem + int64(refill)}
	}
	var rem *limiter.Remaining
	if ok && time.Since(c.sentAt) <= freshFor && (c.p.samples == nil || c.p.samples.Allow()) {
		if r, err := lim.Remaining(ctx); err == nil {
			rem = &r
		}
	}
	c.p.learnShare(lim, &clamps, obs, rem)
	if rem != nil && c.rt.provider == tier.Anthropic {
		c.learnOutput(ctx, attempt, &clamps, rem)
	}
	_ = lim.ClampAll(ctx, clamps)
	return clamps
}

// levelSamples bounds, per second, the local levels read for the evidence
// of fresh responses from a store other than the MemoryStore (each is a
// round trip); the evidence is averaged, so a sample suffices.
const levelSamples = 10

// freshFor is how soon after its admission a response must come for its
// counts to be evidence of other clients: a count is as of the server's
// decision, and what another client took since cannot be told from the
// refill credited for the interval (headers at a stream's start come in
// time; a long call's at its end do not).
const freshFor = 2 * time.Second

// The output evidence (see learnOutput) is averaged with weight
// outputWeight per response; it switches the reservation to the expected
// output above outputToActual and back to max_tokens below
// outputToReserved (the safe side takes less evidence).
const (
	outputWeight     = 0.1
	outputToActual   = 0.5
	outputToReserved = 0.3
)

// learnOutput tells from fresh responses whether the server charges
// output tokens at max_tokens on admission (the 2025 documentation) or
// only as they are generated (2026), and makes the pool reserve
// accordingly: max_tokens, or the output the model's recent responses
// say to expect (tokencount.Estimate.OutputExpected). The evidence is the
// server's output-token count as of its decision on this call against the
// local level, as a fraction of the call's reservation: charged at
// admission, the reservation is in both, and the fraction is about 0;
// charged as generated, the server has not taken it yet, and the fraction
// is about 1 or more. Counts rounded to the thousand make one response
// noise for calls of a few hundred tokens: the fractions are averaged.
func (c *call) learnOutput(ctx context.Context, attempt int, clamps *[tier.NumDimensions]limiter.ClampTarget, rem *limiter.Remaining) {
	reserved := c.cost.OutputTokens
	if !clamps[tier.OTPM].Set || reserved < 16 {
		return
	}
	diff := float64(clamps[tier.OTPM].Remaining) - rem.Buckets[tier.OTPM].Level
	x := min(max(diff/float64(reserved), -2), 2) // one wild count moves the average a little
	p := c.p
	p.mu.Lock()
	if p.burst <= 0.5 {
		// Under sub-minute enforcement the local capacity is learned from
		// above and below, and the counts differ from the local level by
		// that too: no evidence either way.
		p.mu.Unlock()
		return
	}
	p.outEvidence += outputWeight * (x - p.outEvidence)
	was := p.outActual.Load()
	now := was
	switch {
	case p.outEvidence >= outputToActual:
		now = true
	case p.outEvidence <= outputToReserved:
		now = false
	}
	p.outActual.Store(now)
	p.mu.Unlock()
	if now != was {
		c.k.debug(ctx, "ratekeeper: output tokens are charged "+map[bool]string{true: "as generated", false: "at max_tokens"}[now]+
			"; reserving accordingly", c, attempt)
	}
}

// learnBurst bounds the server's bucket capacity from one response: the
// bucket is full again at reset, so it holds at most remaining + limit ×
// (reset − now) / 1m (reset is rounded up and a rounded remaining may be 500
// low, so this is an upper bound). When the smallest bound seen is well
// under a minute's worth, the server enforces its per-minute limits over a
// shorter interval: the budget's Burst follows it down, so that the Keeper
// stops sending bursts the server refuses. Dimensions are assumed to share
// one enforcement interval, so the tightest dimension's bound is used (token
// counts, rounded to the thousand, bound it loosely). It returns the new
// Burst, if any.
func (c *call) learnBurst(obs *tier.Observation, b tier.Budget) (time.Duration, bool) {
	now := time.Now()
	bound, floor := 0.0, 0.0
	for d := range tier.TPM + 1 {
		o := obs.Dims[d]
		if !o.Present || o.Limit <= 0 || o.Remaining < 0 || o.Reset.IsZero() || b.Limit(d) == 0 {
			continue
		}
		rem := float64(o.Remaining)
		low := rem
		if o.Rounded {
			rem += 500
			low -= 500
		}
		est := (rem + float64(o.Limit)*max(o.Reset.Sub(now), 0).Minutes()) / float64(o.Limit)
		if bound == 0 || est < bound {
			bound = est
		}
		// The bucket held at least what it reports left.
		floor = max(floor, low/float64(o.Limit))
	}
	if bound <= 0 {
		return 0, false
	}
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.burstLow = max(p.burstLow, min(floor, bound))
	p.burst = min(p.burst, bound)
	return p.burstFor(b)
}

// shrinkBurst answers a 429 under sub-minute enforcement: the headers only
// bound the server's capacity from above (whole-second resets, rounded
// counts), so each 429 shrinks the learned burst by a quarter until the
// server stops refusing. Under full-minute enforcement it does nothing.
func (c *call) shrinkBurst(ctx context.Context, attempt int) {
	p := c.p
	b := p.lim.Budget()
	p.mu.Lock()
	if p.burst > 0.5 {
		p.mu.Unlock()
		return
	}
	// Never below what the bucket was seen to hold: a local bucket smaller
	// than the server's admits a call larger than itself once full, when
	// the server's may not hold it yet — each such 429 shrank it further.
	p.burst = max(p.burst*0.75, min(p.burstLow, p.burst))
	burst, ok := p.burstFor(b)
	p.mu.Unlock()
	if ok {
		b.Burst = burst
		if p.lim.SetBudget(b) == nil {
			e := c.event(Synced, attempt)
			e.Burst = burst
			c.emit(ctx, e)
		}
	}
}

// burstFor returns the Burst that p.burst calls for, if it is below b's;
// p.mu is held.
func (p *pool) burstFor(b tier.Budget) (time.Duration, bool) {
	current := b.Burst
	if current == 0 {
		current = time.Minute
	}
	if p.burst > 0.5 {
		return 0, false
	}
	burst := time.Duration(math.Ceil(p.burst*600)) * 100 * time.Millisecond // to 0.1 s, rounded up
	// Every per-minute bucket must still hold one unit.
	for d := range tier.TPM + 1 {
		if l := b.Limit(d); l > 0 {
			burst = max(burst, time.Duration(math.Ceil(float64(time.Minute)/float64(l))))
		}
	}
	if burst >= current {
		return 0, false
	}
	return burst, true
}
