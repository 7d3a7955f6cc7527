package ratekeeper

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
	"golang.org/x/time/rate"
)

// A pool's state is here; the code that acts on it is with the job it
// serves: the overload pause in admit.go, the learned burst, limits and
// output accounting in sync.go (and the tier check in tiercheck.go), the
// share of unseen clients and the ramp-up in share.go, the counters in
// metrics.go.

// pool is one rate-limit pool: the models that share one budget.
type pool struct {
	name       string
	lim        *limiter.Limiter
	cacheReads bool // cache_read_input_tokens count toward ITPM

	mu         sync.Mutex  // guards configured and burst
	configured tier.Budget // what the config says, before learning
	// burst (sync.go) is the smallest upper bound seen so far of the
	// server's bucket capacity, as a fraction of its per-minute limit (1: a
	// full minute).
	burst float64
	// burstLow is the largest lower bound seen of that capacity, as the
	// same fraction: the most a response reported left.
	burstLow float64

	// The overload pause (admit.go): after an overload, nothing of the pool
	// is sent before pauseUntil (guarded by mu). overloads counts the
	// overloads in a row, each met by a call sent after the pause before it
	// (pauseGen), and shapes the next pause; a success resets it.
	pauseUntil time.Time
	pauseGen   uint64
	overloads  int

	// learned (share.go) is, per dimension, the share of the refill that
	// clients this process cannot see leave it (see learnShare), 1 at
	// first; the Limiter's share is learned × the ramp (applyShare).
	// Guarded by mu.
	learned [tier.NumDimensions]float64
	// ramp is WithRampUp's duration (0: none), born the pool's creation,
	// and rampDone set once the ramp is over.
	ramp     time.Duration
	born     time.Time
	rampDone atomic.Bool
	rampInit sync.Once // the first call's clamp to a tenth (see ramping)
	// rampApplied is the ramp factor last applied; guarded by mu.
	rampApplied float64

	// cutAt is, per dimension, when a 429 last cut the share (see
	// cutShare); guarded by mu.
	cutAt [tier.NumDimensions]time.Time
	// samples, when not nil (a store other than the MemoryStore), bounds
	// how often the header sync reads the local levels for evidence.
	samples *rate.Limiter

	// tierChecked is set once the first successful response's limits were
	// compared with the configured ones (see checkTier).
	tierChecked atomic.Bool

	// outEvidence and outActual are the evidence of how the server
	// charges output tokens and the verdict (true: as generated); see
	// learnOutput. outEvidence is guarded by mu.
	outEvidence float64
	outActual   atomic.Bool

	// foreignAt is when another client's use was last seen (see
	// learnShare); guarded by mu.
	foreignAt time.Time

	// stats are the pool's counters for Keeper.Metrics (metrics.go).
	stats poolStats
}

// pool returns model's pool, creating it (and its Limiter over the Keeper's
// store) on the first call for a model of its class.
func (k *Keeper) pool(model string) (*pool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p, ok := k.models[model]; ok {
		return p, nil
	}
	r, err := k.cfg.Resolve(model)
	if err != nil {
		return nil, fmt.Errorf("ratekeeper: no budget for model %q: %w", model, err)
	}
	p, ok := k.pools[r.Pool]
	if !ok {
		lim, err := limiter.New(r.Budget, limiter.WithStore(k.store, k.storeKey(r.Pool)))
		if err != nil {
			return nil, fmt.Errorf("ratekeeper: model %q: %w", model, err)
		}
		p = &pool{name: r.Pool, lim: lim, configured: r.Budget, burst: 1, ramp: k.ramp, born: time.Now()}
		if _, local := k.store.(limiter.LocalStore); !local { // a shared store: sample its levels
			p.samples = rate.NewLimiter(levelSamples, levelSamples)
		}
		for d := range p.learned {
			p.learned[d] = 1
		}
		if r.Class != nil {
			p.cacheReads = r.Class.CacheReadsCount
		}
		k.pools[r.Pool] = p
	}
	k.models[model] = p
	if r.ByFamily {
		k.mapped.Store(model, p.name) // announced once, by the first call
		k.unannounced.Add(1)
	}
	return p, nil
}

// storeKey names a pool's budget in the store: the account hash and the
// pool, with the hash tag Redis Cluster needs on the account and pool.
func (k *Keeper) storeKey(pool string) string {
	return "ratekeeper:{" + k.account + ":" + string(k.cfg.Provider) + ":" + pool + "}"
}
