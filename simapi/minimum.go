package simapi

import (
	"math"
	"slices"
	"time"

	"github.com/ratekeeper/ratekeeper/tier"
)

// BucketSize is the shape of one of the server's token buckets: it holds Capacity units
// and regains Limit units per minute. Capacity is Limit for full-minute buckets, and
// Limit×Burst/1m (at least 1) under sub-minute enforcement (Config.Burst).
type BucketSize struct {
	Limit    int64
	Capacity float64
}

// capacity is the capacity of a bucket of limit per minute under burst (0 or ≥ 1m: a full
// minute): limit×burst/1m, at least 1. newBucket and Buckets share it.
func capacity(limit int64, burst time.Duration) float64 {
	c := float64(limit)
	if burst > 0 && burst < time.Minute {
		c = max(1, c*burst.Seconds()/60)
	}
	return c
}

// Buckets returns the sizes of the buckets the server keeps for each API key of class:
// Requests, InputTokens and OutputTokens for an Anthropic class, Requests and Tokens for
// an OpenAI class, leaving out dimensions that are not limited. It reports false for an
// unknown class.
func (s *Server) Buckets(class string) (map[Dimension]BucketSize, bool) {
	for _, cl := range s.classes {
		if cl.Name != class {
			continue
		}
		l := cl.Limits
		dims := map[Dimension]int64{Requests: l.RPM, InputTokens: l.ITPM, OutputTokens: l.OTPM}
		if cl.Provider == tier.OpenAI {
			dims = map[Dimension]int64{Requests: l.RPM, Tokens: l.TPM}
		}
		out := map[Dimension]BucketSize{}
		for d, limit := range dims {
			if limit > 0 {
				out[d] = BucketSize{Limit: limit, Capacity: capacity(limit, s.cfg.Burst)}
			}
		}
		return out, true
	}
	return nil, false
}

// MinimumTime is the theoretical minimum of what key used of class ("" matches all keys):
// Ledger.MinimumTimeFor with the server's own bucket sizes (sub-minute capacity included)
// and its Config.OverloadWindows as the time it was unavailable. Random overloads
// (OverloadProbability, MaxConcurrent) are not counted. It returns 0 for an unknown class.
func (s *Server) MinimumTime(key, class string) time.Duration {
	b, ok := s.Buckets(class)
	if !ok {
		return 0
	}
	return s.ledger.MinimumTimeFor(key, class, b, s.cfg.OverloadWindows)
}

// MinimumTimeFor is the least time, from the server's creation, in which buckets of the
// given sizes, full at the start, could have let through what key used of class ("" matches
// all) while the server admitted nothing during the windows of down (offsets from its
// creation, as Config.OverloadWindows): each bucket must regain what was charged beyond its
// capacity, and what it regains during a window is kept only up to its capacity. It is the
// "theoretical minimum" that benchmarks divide by wall time; zero when every charge fits a
// full bucket at the start.
//
// It is a fluid bound: a request larger than a sub-minute capacity (admitted when the
// bucket is full, leaving it in debt) and output charged after admission under
// OutputActual can let a client end up to about one request's worth per dimension earlier.
func (l *Ledger) MinimumTimeFor(key, class string, buckets map[Dimension]BucketSize, down []Window) time.Duration {
	windows := slices.Clone(down)
	slices.SortFunc(windows, func(a, b Window) int { return int(a.Start - b.Start) })
	var floor time.Duration
	for d, b := range buckets {
		if b.Limit <= 0 {
			continue
		}
		floor = max(floor, minimumTime(float64(l.Usage(key, class, d)), b, windows))
	}
	return floor
}

// minimumTime is the least T at which a bucket of size b, full at 0 and drained greedily
// whenever the server is up, has let through used; windows are sorted by Start.
func minimumTime(used float64, b BucketSize, windows []Window) time.Duration {
	if used <= 0 {
		return 0
	}
	rate := float64(b.Limit) / float64(time.Minute) // per nanosecond
	level, admitted := b.Capacity, 0.0
	var t time.Duration // the start of the current available span
	for _, w := range windows {
		if w.End <= t {
			continue
		}
		if w.Start > t {
			// Up from t to w.Start: all of level, and the refill as it comes.
			if admitted+level >= used {
				return t
			}
			span := w.Start - t
			if admitted+level+rate*float64(span) >= used {
				return t + time.Duration(math.Ceil((used-admitted-level)/rate))
			}
			admitted += level + rate*float64(span)
			level, t = 0, w.Start
		}
		// Down from t to w.End: the bucket refills up to its capacity.
		level = min(b.Capacity, level+rate*float64(w.End-t))
		t = w.End
	}
	if admitted+level >= used {
		return t
	}
	return t + time.Duration(math.Ceil((used-admitted-level)/rate))
}
