package main

import (
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// minimumTime is the theoretical minimum wall time of a workload that
// costs total under b, starting with full buckets: each bucket must regain
// what its capacity does not cover. It returns the binding dimension, and
// ok false when no limited dimension binds (the workload fits in the
// buckets at once).
func minimumTime(b tier.Budget, total [tier.NumDimensions]int64) (floor time.Duration, binding tier.Dimension, ok bool) {
	for d := range tier.NumDimensions {
		limit := b.Limit(d)
		if limit == 0 {
			continue
		}
		excess := float64(total[d]) - b.Capacity(d)
		if need := time.Duration(excess / float64(limit) * float64(d.Period())); need > floor {
			floor, binding, ok = need, d, true
		}
	}
	return floor, binding, ok
}

// addCost adds c to the totals t.
func addCost(t *[tier.NumDimensions]int64, c limiter.Cost) {
	v := c.PerDimension()
	for d := range t {
		t[d] += v[d]
	}
}
