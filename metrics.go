package ratekeeper

import (
	"context"
	"errors"
	"math"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// What the Keeper counts for its metrics. Every event passes through
// Keeper.emit, which feeds the pool's counters below; the adapters
// (prommetrics, otelmetrics) read Keeper.Metrics when they are scraped or
// collected. Labels are the provider, the pool (a bounded set: the
// configuration's classes), the dimension and a fixed set of reasons —
// never a model ID, a request's content or an API key.

// The histograms' bucket bounds (fixed: the counters are arrays of their
// size).
var (
	waitBounds  = [...]float64{0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	ratioBounds = [...]float64{0.5, 0.8, 0.9, 0.95, 1, 1.05, 1.1, 1.25, 1.5, 2, 3, 5}
)

// WaitBounds returns the upper bounds, in seconds, of the buckets of
// PoolMetrics.Wait.
func WaitBounds() []float64 { return slices.Clone(waitBounds[:]) }

// RatioBounds returns the upper bounds of the buckets of
// PoolMetrics.InputRatio (reserved ÷ actual input tokens).
func RatioBounds() []float64 { return slices.Clone(ratioBounds[:]) }

// Refusal reasons, the keys of PoolMetrics.Refused.
const (
	ReasonTooLarge = "too_large" // a cost larger than a bucket: ErrTooLarge
	ReasonDeadline = "deadline"  // the wait would outlive the deadline or WithMaxWait
	ReasonOther    = "other"     // a store error, an invalid cost
)

// Histogram is a cumulative histogram: Counts[i] is the number of
// observations ≤ Bounds[i]; Count and Sum cover all of them (those above
// the last bound included).
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

// Metrics is what a Keeper has done and what its budgets hold, at one
// instant: Keeper.Metrics.
type Metrics struct {
	// Concurrency is the adaptive bound on calls in flight; InFlight the
	// calls holding a slot.
	Concurrency, InFlight int
	// StoreDegraded reports that the shared store answers from its local
	// fallback (redisstore.Store.Degraded); false for a memory store.
	StoreDegraded bool
	// Pools holds one entry per pool the Keeper has used, by name.
	Pools []PoolMetrics
}

// PoolMetrics is one pool's part of Metrics.
type PoolMetrics struct {
	Provider tier.Provider
	Pool     string
	// Remaining is the pool's budget now: levels, capacities, limits,
	// calls waiting (Remaining.Waiting) and units outstanding.
	Remaining limiter.Remaining
	// Admitted counts the attempts admitted; AdmittedCost sums their
	// reservations per dimension; SettledCost the actual usage per
	// dimension of the calls settled.
	Admitted     uint64
	AdmittedCost [tier.NumDimensions]int64
	SettledCost  [tier.NumDimensions]int64
	// Refused counts the calls the budget refused, by reason (Reason…).
	Refused map[string]uint64
	// RateLimited counts 429s by the dimension the Keeper froze;
	// Overloaded the 529s, 503s and overloaded_error streams; Retries the
	// attempts retried (whatever the cause); Failed the calls that ended
	// in an error or a refusal not retried.
	RateLimited [tier.NumDimensions]uint64
	Overloaded  uint64
	Retries     uint64
	Failed      uint64
	// Counted counts the requests counted by count_tokens.
	Counted uint64
	// Wait is the time calls waited for admission, in seconds.
	Wait Histogram
	// InputRatio is reserved ÷ actual input tokens of settled calls: the
	// estimator's margin and error together (1 is exact).
	InputRatio Histogram
}

// poolStats is a pool's counters; every field is updated atomically or
// under mu.
type poolStats struct {
	admitted           atomic.Uint64
	admittedCost       [tier.NumDimensions]atomic.Int64
	settledCost        [tier.NumDimensions]atomic.Int64
	tooLarge, deadline atomic.Uint64
	otherRefusal       atomic.Uint64
	limited            [tier.NumDimensions]atomic.Uint64
	overloaded         atomic.Uint64
	retries, failed    atomic.Uint64
	counted            atomic.Uint64
	wait, ratio        hist
}

// hist is a histogram's counters, lock-free: counts per bucket (not
// cumulative; the one after the last bound for observations above every
// bound) and the sum as float64 bits. A snapshot taken while observations
// land may see a count without its part of the sum: a scrape is a moment,
// not a transaction.
type hist struct {
	counts [maxBuckets]atomic.Uint64
	sum    atomic.Uint64
}

// maxBuckets bounds the buckets of a histogram, overflow included.
const maxBuckets = 16

var (
	_ [maxBuckets - len(waitBounds) - 1]struct{}
	_ [maxBuckets - len(ratioBounds) - 1]struct{}
)

func (h *hist) observe(bounds []float64, v float64) {
	h.counts[sort.SearchFloat64s(bounds, v)].Add(1)
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

func (h *hist) snapshot(bounds []float64) Histogram {
	out := Histogram{Bounds: slices.Clone(bounds), Counts: make([]uint64, len(bounds)), Sum: math.Float64frombits(h.sum.Load())}
	var cum uint64
	for i := range len(bounds) + 1 {
		cum += h.counts[i].Load()
		if i < len(bounds) {
			out.Counts[i] = cum
		}
	}
	out.Count = cum
	return out
}

// record counts event e of pool p.
func (p *pool) record(e *Event) {
	s := &p.stats
	switch e.Kind {
	case Admitted:
		s.admitted.Add(1)
		for d, n := range e.Cost.PerDimension() {
			s.admittedCost[d].Add(n)
		}
		s.wait.observe(waitBounds[:], e.Wait.Seconds())
	case Settled:
		for d, n := range e.Cost.PerDimension() {
			s.settledCost[d].Add(n)
		}
		if e.Cost.InputTokens > 0 && e.Reserved.InputTokens > 0 {
			s.ratio.observe(ratioBounds[:], float64(e.Reserved.InputTokens)/float64(e.Cost.InputTokens))
		}
	case Refused:
		switch {
		case errors.Is(e.Err, limiter.ErrTooLarge):
			s.tooLarge.Add(1)
		case errors.Is(e.Err, limiter.ErrLimited):
			s.deadline.Add(1)
		default:
			s.otherRefusal.Add(1)
		}
	case Retried:
		s.retries.Add(1)
		s.countStatus(e)
	case Failed:
		s.failed.Add(1)
		s.countStatus(e)
	case Counted:
		s.counted.Add(1)
	}
}

// countStatus counts the server's refusal an event reports.
func (s *poolStats) countStatus(e *Event) {
	switch {
	case e.Status == 429 && e.HasDimension && e.Dimension < tier.NumDimensions:
		s.limited[e.Dimension].Add(1)
	case e.Status == 429:
		s.limited[tier.RPM].Add(1) // no dimension named: the request count
	case e.Status == 529 || e.Status == 503:
		s.overloaded.Add(1)
	}
}

// Metrics returns what the Keeper has counted and what its budgets hold
// now, pool by pool (sorted by name). It reads each pool's budget from the
// store (one Snapshot each; a Redis round trip with the Redis store); a
// pool whose store fails is reported with a zero Remaining.
func (k *Keeper) Metrics(ctx context.Context) Metrics {
	k.mu.Lock()
	pools := make([]*pool, 0, len(k.pools))
	for _, p := range k.pools {
		pools = append(pools, p)
	}
	k.mu.Unlock()
	slices.SortFunc(pools, func(a, b *pool) int { return strings.Compare(a.name, b.name) })
	m := Metrics{Concurrency: k.gate.Limit(), InFlight: k.gate.InFlight()}
	if d, ok := k.store.(interface{ Degraded() bool }); ok {
		m.StoreDegraded = d.Degraded()
	}
	for _, p := range pools {
		s := &p.stats
		pm := PoolMetrics{Provider: k.cfg.Provider, Pool: p.name,
			Admitted: s.admitted.Load(), Overloaded: s.overloaded.Load(), Retries: s.retries.Load(),
			Failed: s.failed.Load(), Counted: s.counted.Load(),
			Refused: map[string]uint64{ReasonTooLarge: s.tooLarge.Load(), ReasonDeadline: s.deadline.Load(), ReasonOther: s.otherRefusal.Load()},
		}
		for d := range tier.NumDimensions {
			pm.AdmittedCost[d] = s.admittedCost[d].Load()
			pm.SettledCost[d] = s.settledCost[d].Load()
			pm.RateLimited[d] = s.limited[d].Load()
		}
		pm.Wait, pm.InputRatio = s.wait.snapshot(waitBounds[:]), s.ratio.snapshot(ratioBounds[:])
		if rem, err := p.lim.Remaining(ctx); err == nil {
			pm.Remaining = rem
		}
		m.Pools = append(m.Pools, pm)
	}
	return m
}

// Stats returns the estimator's error statistics for model (see
// tokencount.Estimator.Stats): how far its estimates were from the usage
// the server reported, over the recent calls.
func (k *Keeper) Stats(model string) tokencount.Stats {
	return k.est.Stats(k.cfg.Provider, model) // New validated it: Anthropic or OpenAI
}
