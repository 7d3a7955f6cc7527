package ratekeeper

import (
	"context"
	"math"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// How the share of a budget shared with clients this process cannot see
// moves (AIMD): each response grows it by shareGrow, up to 1; a 429 cuts it
// by shareCut, at most once per shareCutEvery.
const (
	shareGrow     = 0.002
	shareCut      = 0.9
	shareCutEvery = 2 * time.Second
)

// learnShare moves, per per-minute dimension, the share of the refill
// that the Limiter counts on (Limiter.SetShare), for a key shared with
// clients this process cannot see. Between two corrections by the
// headers, the local bucket refills at the whole rate while the server's
// serves every client: a share of it is what this process may spend.
// Evidence that others take some: a fresh count below the local level
// (the share drops by that gap, as a fraction of the limit), and a 429
// (see cutShare). Each response grows the share back a little, so that
// it returns to the whole when the others stop.
//
// rem is the local levels before the clamp when the response is fresh
// (see freshFor), else nil.
func (p *pool) learnShare(lim *limiter.Limiter, clamps *[tier.NumDimensions]limiter.ClampTarget, obs *tier.Observation, rem *limiter.Remaining) {
	fresh := rem != nil
	b := lim.Budget()
	for d := range tier.TPM + 1 {
		limit := b.Limit(d)
		if !clamps[d].Set || limit == 0 {
			continue
		}
		p.mu.Lock()
		share := p.learned[d]
		p.mu.Unlock()
		if fresh {
			gap := rem.Buckets[d].Level - float64(clamps[d].Remaining)
			if obs.Dims[d].Rounded {
				gap -= 1000 // the count may be 500 either way, and was taken 500 low
			}
			// Estimates and rounding leave gaps of a few percent even
			// without other clients.
			// A bucket smaller than a minute's also reads below the
			// local level until the burst is learned: only under
			// full-minute enforcement is a gap another client.
			p.mu.Lock()
			if gap > foreignGap*float64(limit) && p.burst > 0.5 {
				p.foreignAt = time.Now()
			}
			p.mu.Unlock()
		}
		share = min(max(share+shareGrow, minShare), 1)
		p.mu.Lock()
		p.learned[d] = share
		p.applyShare(d, time.Now())
		p.mu.Unlock()
	}
}

// cutShare answers a 429 on dimension d: more was sent than the server's
// bucket held, so others take more of it than the share leaves them — if
// others were seen within foreignFor (a 429 alone may be a bucket smaller
// than a minute's, which the burst learning answers).
func (p *pool) cutShare(d tier.Dimension) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if d >= tier.NumDimensions || now.Sub(p.cutAt[d]) < shareCutEvery || p.foreignAt.IsZero() || now.Sub(p.foreignAt) > foreignFor {
		return
	}
	p.cutAt[d] = now
	p.foreignAt = now // under saturation the counts read 0 and show no gap: the 429s are the evidence
	p.learned[d] = max(p.learned[d]*shareCut, minShare)
	p.applyShare(d, now)
}

// applyShare sets the Limiter's share of dimension d: the learned share
// (other clients) times the ramp (WithRampUp) at now. p.mu is held.
func (p *pool) applyShare(d tier.Dimension, now time.Time) {
	share := p.learned[d] * p.rampAt(now)
	if math.Abs(share-p.lim.Share(d)) > 1e-3 || share == 1 && p.lim.Share(d) != 1 {
		_ = p.lim.SetShare(d, max(share, 1e-3))
	}
}

// rampAt is the ramp's factor at now: from rampStart at the pool's birth
// to 1 after the ramp (1 without one).
func (p *pool) rampAt(now time.Time) float64 {
	if p.ramp <= 0 {
		return 1
	}
	return min(1, rampStart+(1-rampStart)*float64(now.Sub(p.born))/float64(p.ramp))
}

// rampStart is the share of its budget a pool starts with under
// WithRampUp.
const rampStart = 0.1

// ramping moves the ramp forward for a call (no goroutine does): the
// pool's first call clamps every bucket to a tenth of its capacity, and
// the shares follow the ramp in steps of a hundredth, so that a call
// rebuilds the Limiter's limits only when the ramp moved that much.
func (p *pool) ramping(ctx context.Context, now time.Time) {
	if p.ramp <= 0 || p.rampDone.Load() {
		return
	}
	p.rampInit.Do(func() {
		b := p.lim.Budget()
		var clamps [tier.NumDimensions]limiter.ClampTarget
		for d := range tier.NumDimensions {
			if c := b.Capacity(d); c > 0 {
				clamps[d] = limiter.ClampTarget{Set: true, Remaining: int64(c * rampStart)}
			}
		}
		_ = p.lim.ClampAll(ctx, clamps)
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.rampAt(now)
	if f < 1 && f-p.rampApplied < 0.01 {
		return
	}
	p.rampApplied = f
	for d := range tier.TPM + 1 {
		if p.lim.Budget().Limit(d) > 0 {
			p.applyShare(d, now)
		}
	}
	if f >= 1 {
		p.rampDone.Store(true)
	}
}

// A gap above foreignGap of the limit is evidence of another client;
// it is taken as such for foreignFor.
const (
	foreignGap = 0.05
	foreignFor = 5 * time.Minute
)

// minShare is the least share of a budget learnShare leaves a process.
const minShare = 0.2
