package limiter

import (
	"time"

	"github.com/ratekeeper/ratekeeper/internal/bucket"
	"github.com/ratekeeper/ratekeeper/tier"
)

// State is a budget's buckets at an instant, as a [Store] keeps them under
// a key from one call to the next (ReserveResult.Prev is the State before
// a reservation). Callers of Limiter never need it.
//
// Its methods are the arithmetic every Store applies: a store that keeps
// budgets anywhere a State can be read and written atomically (a database
// row under a transaction, a compare-and-swap) implements Reserve, Settle,
// Lower and Snapshot by loading the key's State (NewState for a key it
// has not seen), calling the method of the same name with its clock's now,
// and saving the State back, every field exactly (float64s bit for bit);
// the MemoryStore does that under a mutex. A store that runs the
// arithmetic elsewhere (the Redis store runs it in a Lua script) must take
// the same decisions, operation for operation in float64. Either way the
// conformance suite in limiter/storetest checks the result.
//
// The zero State is not valid; use NewState.
type State struct {
	// Last is the instant of Level, in µs since the Unix epoch of the
	// store's clock.
	Last int64
	// Seq is incremented by every mutation, so that an undo can tell
	// whether anything happened since its reservation.
	Seq int64
	// Level is what each bucket holds as of Last, in units: negative
	// while callers hold places in line (Limiter.Reserve), or after a
	// settlement debited more than was reserved.
	Level [tier.NumDimensions]float64
	// End is when the last place in line acts, in µs of the store's
	// clock; 0, as in a new State, is an empty line.
	End int64
	// Peak is, per dimension, the most the bucket holds just before a
	// place in line acts; it bounds refunds while calls hold places (see
	// Limiter.Reserve). 0: no place in line took from it.
	Peak [tier.NumDimensions]float64
	// Claim is the cost set aside for the oldest waiter (see Waiter).
	Claim Claim
}

// Claim is the units a State sets aside for a waiter: ID (0: no claim),
// its Since, Until (when the claim lapses, in µs of the store's clock) and
// Cost per dimension.
type Claim = bucket.Claim

// The arithmetic works on the same memory: a State is a bucket.State.
func (s *State) b() *bucket.State { return (*bucket.State)(s) }

// NewState returns the state of a budget first seen at now: every bucket
// full (its level is a huge number that any capacity clamps down).
func NewState(now time.Time) State { return newState(now.UnixMicro()) }

func newState(now int64) State { return State(bucket.Fresh(now)) }

// Reserve admits req.Cost into every bucket of s at now, or into none, as
// Store.Reserve must: it refills s to now, decides, debits when req is
// admitted (and records the claim of a refused req.Waiter), and returns the
// decision, with Prev (when admitted) and Seq for an exact undo. req is not
// retained.
func (s *State) Reserve(now time.Time, req *ReserveRequest) ReserveResult {
	return s.reserve(now.UnixMicro(), req)
}

func (s *State) reserve(now int64, req *ReserveRequest) ReserveResult {
	prev := *s
	cost := costOf(&req.Cost)
	d := bucket.ReserveDims(s.b(), now, &req.Limits, bucket.Limited(&req.Limits), &cost, req.Floor, bucket.Micros(req.MaxWait), req.Waiter)
	res := outcome(&d)
	res.Seq = s.Seq
	if d.OK {
		res.Prev = prev
	}
	return res
}

// outcome is the ReserveResult of d, less Prev and Seq.
func outcome(d *bucket.Decision) ReserveResult {
	return ReserveResult{OK: d.OK, Delay: bucket.Delay(float64(d.Wait)), Dim: d.Dim, TooLarge: d.TooLarge,
		Need: d.Need, Have: d.Have, Since: d.Since}
}

// Settle applies req to s at now, as Store.Settle must: it releases the
// claim of req.Release, or undoes a reservation exactly (req.Undo, if Seq
// is still Undo.Left), or adds req.Delta (a refund bounded while calls hold
// places in line, a debit bounded at −capacity). req is not retained.
func (s *State) Settle(now time.Time, req *SettleRequest) { s.settleRequest(now.UnixMicro(), req) }

func (s *State) settleRequest(now int64, req *SettleRequest) {
	if req.Release != 0 {
		bucket.Release(s.b(), now, &req.Limits, req.Release)
		return
	}
	s.settle(now, &req.Limits, &req.Delta, req.Undo)
}

// settle adds delta to s, or, when undo is not nil, undoes that
// reservation exactly if nothing happened since.
func (s *State) settle(now int64, lim *Limits, delta *[tier.NumDimensions]int64, undo *Undo) {
	d := costOf(delta)
	if undo == nil {
		bucket.Settle(s.b(), now, lim, &d)
		return
	}
	prev := bucket.State{Last: undo.Last, Seq: undo.Seq, Level: undo.Level}
	bucket.Cancel(s.b(), now, lim, &prev, undo.Left, &d)
}

// Lower caps the buckets req selects at now, as Store.Lower must (see
// LowerRequest). req is not retained.
func (s *State) Lower(now time.Time, req *LowerRequest) { s.lower(now.UnixMicro(), req) }

func (s *State) lower(now int64, req *LowerRequest) {
	var hold [tier.NumDimensions]int64
	for i, h := range req.Hold {
		hold[i] = bucket.Micros(h)
	}
	bucket.LowerDims(s.b(), now, &req.Limits, bucket.Select(&req.Dims), &req.Level, &hold)
}

// Snapshot returns the levels of s refilled to now, as Store.Snapshot
// must. It does not change s.
func (s *State) Snapshot(now time.Time, limits *Limits) Snapshot {
	return s.snapshot(now.UnixMicro(), limits)
}

func (s *State) snapshot(now int64, limits *Limits) Snapshot {
	c := *s.b()
	c.Advance(now, limits)
	return Snapshot{At: time.UnixMicro(c.Last), Level: c.Level}
}

// costOf converts whole units to the arithmetic's float64.
func costOf(c *[tier.NumDimensions]int64) bucket.Cost {
	var f bucket.Cost
	for i, v := range c {
		f[i] = float64(v)
	}
	return f
}
