// Package bucket is the pure arithmetic of ratekeeper's multi-dimensional
// token buckets. It never reads the clock: every function takes now, in
// microseconds since the Unix epoch, and the caller (a store) decides where
// now comes from (time.Now in memory, Redis TIME in Redis).
//
// # The model
//
// A budget has N buckets, one per dimension. Bucket i holds Level[i] units
// (it may be negative: debt owed by callers that hold a place in line) and
// refills continuously at Limits[i].Refill units per Limits[i].Period
// microseconds, up to Limits[i].Capacity. A dimension whose Capacity is zero is not limited and
// is ignored. All levels share one instant, State.Last: they are the levels
// as of Last.
//
// Reserve admits a cost vector all-or-nothing. When some bucket lacks the
// units, the reservation is placed in line: it may act after a delay, the
// longest delay any of its buckets needs. Every bucket the call touches is
// then debited as of that future instant: level = min(cap, level + g(w)) − cost
// − g(w), where w is the delay and g(w) what the bucket regains in w. The last term holds the units that refill
// during the wait for this caller, so nobody who comes later can spend them:
// that is what makes admission first-in-first-out across dimensions, and what
// guarantees that at the moment the caller acts every bucket still has its
// cost (x/time/rate does the same for one bucket).
//
// Every mutation increments State.Seq. A cancelled reservation whose
// mutation is still the last one is undone exactly (the previous state is
// restored, Seq included); otherwise its cost is refunded, as is what a
// committed call did not use.
//
// # Refunds while calls wait
//
// A refund is added to the current level, capped at capacity. While calls
// wait in line that level is a debt, so the cap alone does not bound the
// refund the way a server's bucket would. Take capacity 1, refill 1/s: A
// takes the unit at t=0; B reserves (acts at t=1); C reserves (acts at t=2).
// At t=1 B cancels and reserves again. With the refund kept whole, B would
// act at t=2 alongside C: two units at one instant from a bucket of one. A
// real bucket lost B's unit: at t=1 it was already full, and nobody used it
// before it would have overflowed.
//
// A refunded unit survives only while the real bucket stays below
// capacity, and with calls in line that bucket is fullest just before each
// of them acts. So every Reserve that places a cost in line (a wait above
// 0) records, per dimension it takes from, the level it found as of the
// instant it acts, before its debit (pre = min(capacity, level + hold)),
// and State.Peak keeps the
// largest such level (the largest cost would not do: in a dimension that
// did not set a call's wait, the bucket may be full when it acts);
// State.End is the instant the last reservation placed acts. While Last < End (calls in line) and Peak[i] > 0, a positive refund
// δ in dimension i becomes
//
//	δ' = min(δ, max(0, Capacity − Peak[i]))
//
// and Peak[i] grows by δ' (every later peak is δ' higher). Peak bounds the
// real bucket from above: a reservation that acts before one placed ahead
// of it (a background call's floor can do that) finds less than the one
// ahead found as of its later instant. So the rule never keeps a unit a real
// bucket would have lost; it may drop some that one would have kept (a peak
// already past, or the cancelled call's own, counts until the line empties). In the case above,
// Peak is 1 when B cancels, nothing is refunded, and B's new place is t=3,
// after C. Once Last ≥ End the line is empty: the levels are the real ones,
// the cap is exact, and the next call placed in line clears Peak. (A call
// that acts at once needs no record: its level before is in the past for
// every later refund.) A dimension no
// reservation in the line took from (Peak[i] = 0) is refunded as usual.
// Debits (negative deltas) and the exact undo are unchanged.
//
// The bound covers what happens from the refund on. A refund for a call
// that acted earlier (a Commit long after the call) is not bounded by what
// the bucket went through between that call and the refund: if it filled
// meanwhile, a real bucket lost some of those units. Callers that need the
// strict bound there keep the charge (the Keeper does).
//
// Stores reach this arithmetic through limiter.State, whose methods are its
// public face (a limiter.State is a State). The Redis store implements the
// same arithmetic in Lua, operation for operation in float64, so that both
// stores take the same decisions at the same instants; keep them in step.
package bucket

import (
	"math"
	"math/bits"
)

// N is the number of dimensions of a budget (tier.NumDimensions).
const N = 6

// Full is the level a bucket starts with before it is ever limited: any
// capacity clamps it down to full. It is finite so that every store can
// represent it.
const Full = 1e300

// Forever is the largest delay, in microseconds: "no limit on the wait".
const Forever = math.MaxInt64

// Limit is one bucket's shape: it holds Capacity units and regains Refill
// units every Period microseconds. The zero Limit means "not limited"; a
// limited bucket has a finite Refill and Period (so that it regains exactly
// 0 in no time).
//
// Refill and Period are kept apart (rather than as one rate) so that the
// arithmetic is exact for whole limits over whole microseconds: 600 per
// minute for 1.5 s is 600·1.5e6/6e7 = 15 exactly, where a rate of 1e-5 per
// microsecond would give 15.000000000000002.
type Limit struct {
	Capacity float64 // units; > 0 when limited
	Refill   float64 // units per Period; > 0 when limited
	Period   float64 // microseconds; > 0 when limited
}

// gain is what bucket l regains in dt microseconds.
func (l *Limit) gain(dt float64) float64 { return l.Refill * dt / l.Period }

// time is how many microseconds bucket l needs to regain units, rounded up
// and saturated at Forever.
//
// A quotient within a millionth of a microsecond above a whole number is
// that number: the rounding error of a level refilled in several steps
// would otherwise make a call woken when its refill is due wait one
// microsecond more.
func (l *Limit) time(units float64) int64 {
	w := math.Ceil(units*l.Period/l.Refill - 1e-6)
	if w >= Forever {
		return Forever
	}
	return int64(w)
}

// Regain is how many microseconds bucket l needs to regain units (rounded
// up, saturated at Forever): the wait Reserve reports for a deficit.
func (l *Limit) Regain(units float64) int64 { return l.time(units) }

// Limits are the shapes of a budget's buckets, indexed by dimension.
type Limits [N]Limit

// Dims is a set of dimensions: bit i stands for dimension i.
type Dims uint8

// Limited returns the dimensions that lim limits (Capacity > 0). A store
// that reserves many times against the same Limits computes it once and
// passes it to ReserveDims.
func Limited(lim *Limits) Dims {
	var d Dims
	for i := range lim {
		if lim[i].Capacity > 0 {
			d |= 1 << i
		}
	}
	return d
}

// Select returns the dimensions whose entry in on is true.
func Select(on *[N]bool) Dims {
	var d Dims
	for i, v := range on {
		if v {
			d |= 1 << i
		}
	}
	return d
}

// next removes the lowest dimension from d and returns it; d must not be
// empty. Iterating with it visits dimensions in increasing order, as a loop
// over all of them would.
func (d *Dims) next() int {
	i := bits.TrailingZeros8(uint8(*d))
	*d &= *d - 1
	return i
}

// Cost is how many units a call takes from each bucket.
type Cost [N]float64

// State is a budget's buckets at an instant. The zero State is not valid;
// use Fresh.
type State struct {
	Last  int64      // µs since the Unix epoch: the instant of Level
	Seq   int64      // incremented by every mutation
	Level [N]float64 // units; may be negative (debt)
	// End is when the last reservation placed acts, in µs since the Unix
	// epoch (at most MaxEnd): calls wait in line while Last < End. Zero,
	// as in a fresh state, is an empty line.
	End int64
	// Peak is, per dimension, the most units the bucket holds just before
	// a reservation of the current line acts (see the package doc); it
	// bounds refunds while Last < End. Zero: nobody in line took from it.
	Peak [N]float64
	// Claim sets units aside for the oldest waiting call (see Waiter).
	Claim Claim
}

// MaxEnd caps State.End: 2^53 µs (the year 2255) is exact in a float64, as
// the Redis store keeps it. A wait that ends later ends the line there.
const MaxEnd = 1 << 53

// Fresh returns the state of a budget first seen at now: every bucket full.
func Fresh(now int64) State {
	s := State{Last: now}
	for i := range s.Level {
		s.Level[i] = Full
	}
	return s
}

// Advance refills every limited bucket from s.Last to now and clamps it to
// its capacity. A now before s.Last (a clock that went backwards) refills
// nothing. Advance does not count as a mutation: the levels it produces
// describe the same buckets.
func (s *State) Advance(now int64, lim *Limits) { s.advance(now, lim, Limited(lim)) }

// advance is Advance over the limited dimensions dims = Limited(lim).
func (s *State) advance(now int64, lim *Limits, dims Dims) {
	if now <= s.Last {
		// No time passed: every bucket regains exactly 0 (gain(0) is +0
		// for a finite Refill and Period), so skip the division and add
		// the zero, which keeps even a -0 level bit for bit as it was.
		for dims != 0 {
			i := dims.next()
			s.Level[i] = min(lim[i].Capacity, s.Level[i]+0)
		}
		return
	}
	dt := float64(now - s.Last)
	s.Last = now
	for dims != 0 {
		i := dims.next()
		s.Level[i] = min(lim[i].Capacity, s.Level[i]+lim[i].gain(dt))
	}
}

// Decision is the outcome of Reserve.
type Decision struct {
	// OK reports whether the cost was debited.
	OK bool
	// Wait is the delay in microseconds: until the reservation may act
	// (OK), or until it could have been admitted (!OK and Dim ≥ 0 and not
	// TooLarge). Forever when it can never fit.
	Wait int64
	// Dim is the dimension that needed the longest wait, or that is too
	// small; -1 when no bucket needed a wait.
	Dim int
	// TooLarge reports that Dim's capacity (less the headroom) is smaller
	// than the cost: the call can never be admitted.
	TooLarge bool
	// Need and Have describe Dim: the cost, and the capacity (TooLarge) or
	// the level above the floor at now (otherwise).
	Need, Have float64
	// Since is the refused waiter's Since, as it must pass it next time.
	Since int64
}

// Reserve admits cost into s at now, all-or-nothing, if it can act within
// maxWait microseconds (0: only now; Forever: any delay). Each limited bucket
// that the cost touches must keep floor × capacity after the debit (floor is
// the headroom fraction of background calls; 0 for interactive ones). s is
// advanced to now (or left at a later Last) whether or not the cost is
// admitted; Seq changes only when it is.
func Reserve(s *State, now int64, lim *Limits, cost *Cost, floor float64, maxWait int64) Decision {
	return ReserveDims(s, now, lim, Limited(lim), cost, floor, maxWait, Waiter{})
}

// ReserveDims is Reserve for a caller that knows dims = Limited(lim): it
// visits only the limited dimensions. It takes the same decisions, with the
// same operations in the same order.
//
// w is the waiter asking, or the zero Waiter for a call that does not wait
// or ask again (see Waiter). Only Reserve's units beside a claim in force
// of another waiter count.
func ReserveDims(s *State, now int64, lim *Limits, dims Dims, cost *Cost, floor float64, maxWait int64, w Waiter) Decision {
	s.advance(now, lim, dims)
	d := Decision{Dim: -1}
	claim := &s.Claim
	inForce := claim.ID != 0 && claim.Until > now
	beside := inForce && claim.ID != w.ID // units set aside for another
	var touched Dims                      // limited dimensions that the cost takes from
	for dims != 0 {
		i := dims.next()
		c, need := lim[i].Capacity, cost[i]
		if need <= 0 {
			continue
		}
		touched |= 1 << i
		low := floor * c
		// A cost above the capacity but within the bucket's limit per
		// period (a per-minute limit enforced over a shorter burst) is
		// admitted once the bucket is full down to the floor, and leaves
		// debt; above the limit per period it can never fit.
		if most := max(c, lim[i].Refill) - low; need > most {
			return Decision{Wait: Forever, Dim: i, TooLarge: true, Need: need, Have: most}
		}
		deficit := min(need, c-low) + low - s.Level[i]
		if beside {
			deficit += claim.Cost[i]
		}
		if deficit <= 0 {
			continue
		}
		w := lim[i].time(deficit)
		if w > d.Wait || d.Dim < 0 {
			d.Wait, d.Dim, d.Need, d.Have = w, i, need, s.Level[i]-low
		}
	}
	if d.Wait > maxWait {
		if w.ID != 0 {
			if w.Since == 0 {
				w.Since = now
			}
			if !beside || w.older(claim) {
				*claim = Claim{ID: w.ID, Since: w.Since, Until: now + ClaimTTL, Cost: *cost}
			}
			d.Since = w.Since
		}
		return d
	}
	if w.ID != 0 && claim.ID == w.ID {
		*claim = Claim{} // the claimant acts
	}
	d.OK = true
	if d.Wait == 0 {
		// Acting now: every bucket holds gain(0) = +0 (see advance), and
		// subtracting +0 changes nothing. A call that acts now joins no
		// line: End and Peak are left alone.
		for touched != 0 {
			i := touched.next()
			s.Level[i] = min(lim[i].Capacity, s.Level[i]+0) - cost[i]
		}
	} else {
		if s.Last >= s.End { // the line was empty: its peaks are past
			s.Peak = [N]float64{}
		}
		w := float64(d.Wait)
		for touched != 0 {
			i := touched.next()
			hold := lim[i].gain(w)
			pre := min(lim[i].Capacity, s.Level[i]+hold)
			s.Level[i] = pre - cost[i] - hold
			s.Peak[i] = max(s.Peak[i], pre)
		}
		end := int64(MaxEnd)
		if d.Wait <= MaxEnd-s.Last {
			end = s.Last + d.Wait
		}
		s.End = max(s.End, end)
	}
	s.Seq++
	return d
}
