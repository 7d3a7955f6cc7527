package simapi

import (
	"math"
	"time"
)

// bucket is a token bucket refilled continuously at limit per minute up to capacity.
// level may go negative (debt) after a request larger than the capacity. It never reads
// the clock: every method takes now. It is not safe for concurrent use; Server.mu guards
// it.
type bucket struct {
	limit    float64 // per minute; 0 means unlimited and the bucket is never consulted
	capacity float64
	level    float64
	last     time.Time
}

// newBucket returns a full bucket for limit per minute, holding limit*burst/1m (burst 0
// means a full minute), at least 1.
func newBucket(limit int64, burst time.Duration, now time.Time) bucket {
	c := capacity(limit, burst)
	return bucket{limit: float64(limit), capacity: c, level: c, last: now}
}

func (b *bucket) unlimited() bool { return b.limit <= 0 }

// rate is the refill in tokens per second.
func (b *bucket) rate() float64 { return b.limit / 60 }

// advance refills the bucket up to now. Time never runs backwards for a bucket.
func (b *bucket) advance(now time.Time) {
	if b.unlimited() || !now.After(b.last) {
		return
	}
	b.level = min(b.capacity, b.level+now.Sub(b.last).Seconds()*b.rate())
	b.last = now
}

// check reports whether cost fits now (after advance). A cost above the capacity fits only
// in a full bucket; a cost above the per-minute limit never fits (never is true). When it
// does not fit, wait is how long until it would.
func (b *bucket) check(cost float64) (ok bool, wait time.Duration, never bool) {
	if b.unlimited() || cost <= 0 {
		return true, 0, false
	}
	if cost > b.limit {
		return false, time.Minute, true
	}
	need := min(cost, b.capacity)
	if b.level >= need {
		return true, 0, false
	}
	secs := (need - b.level) / b.rate()
	return false, time.Duration(math.Ceil(secs * float64(time.Second))), false
}

// take debits cost; the level may go negative.
func (b *bucket) take(cost float64) {
	if !b.unlimited() {
		b.level -= cost
	}
}

// give credits n back, up to the capacity.
func (b *bucket) give(n float64) {
	if !b.unlimited() && n > 0 {
		b.level = min(b.capacity, b.level+n)
	}
}

// remaining is the whole tokens available now, never negative.
func (b *bucket) remaining() int64 { return int64(math.Floor(max(0, b.level))) }

// untilFull is how long until the bucket is full again.
func (b *bucket) untilFull() time.Duration {
	if b.unlimited() || b.level >= b.capacity {
		return 0
	}
	return time.Duration(math.Ceil((b.capacity - b.level) / b.rate() * float64(time.Second)))
}
