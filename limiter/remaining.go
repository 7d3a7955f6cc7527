package limiter

import (
	"context"
	"fmt"
	"time"

	"github.com/ratekeeper/ratekeeper/internal/bucket"
	"github.com/ratekeeper/ratekeeper/tier"
)

// Remaining is a snapshot of a budget's buckets.
type Remaining struct {
	// At is the instant of the snapshot, in the store's clock.
	At time.Time
	// Waiting is the number of calls waiting in this Limiter's line.
	Waiting int
	// Buckets is indexed by dimension; a dimension the budget does not
	// limit has the zero Bucket.
	Buckets [tier.NumDimensions]Bucket
}

// Bucket is the state of one dimension.
type Bucket struct {
	// Limit is the budget's limit per minute or per day; 0 when the
	// dimension is not limited.
	Limit int64
	// Capacity is the most the bucket holds.
	Capacity float64
	// Level is what a call could take now, as the server's bucket would
	// hold it. It is negative only after a settlement debited more than
	// was reserved, or while places taken by Reserve have yet to act.
	Level float64
	// Outstanding is what the unsettled reservations of this Limiter (of
	// every Limiter of this budget, with a LocalStore) hold in this
	// bucket: units debited that a Commit may give back.
	Outstanding int64
	// FullIn is how long until the bucket is full again if nothing else
	// is admitted.
	FullIn time.Duration
}

// Remaining returns the level of every bucket now. It changes nothing and,
// with the memory store, costs about as much as an Allow.
func (l *Limiter) Remaining(ctx context.Context) (Remaining, error) {
	s := l.spec.Load()
	var snap Snapshot
	if l.local != nil {
		snap = l.local.Snapshot(s.limits)
	} else {
		var err error
		if snap, err = l.store.Snapshot(ctx, l.key, s.limits); err != nil {
			return Remaining{}, fmt.Errorf("limiter: remaining: %w", err)
		}
	}
	r := Remaining{At: snap.At, Waiting: int(l.line.n.Load())}
	out := l.outstanding()
	st := bucket.State{Level: snap.Level}
	for d := range tier.NumDimensions {
		if c := s.limits[d].Capacity; c > 0 {
			r.Buckets[d] = Bucket{
				Limit:       s.budget.Limit(d),
				Capacity:    c,
				Level:       snap.Level[d],
				Outstanding: out[d],
				FullIn:      bucket.Delay(float64(st.FullIn(&s.limits, int(d)))),
			}
		}
	}
	return r, nil
}
