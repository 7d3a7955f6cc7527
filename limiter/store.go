package limiter

import (
	"context"
	"time"

	"github.com/ratekeeper/ratekeeper/internal/bucket"
	"github.com/ratekeeper/ratekeeper/tier"
)

// The bucket arithmetic and the tier vocabulary must agree on the number of
// dimensions.
var _ [bucket.N - int(tier.NumDimensions)]struct{}
var _ [int(tier.NumDimensions) - bucket.N]struct{}

// A Store keeps the bucket state of budgets, each under a key, and takes
// every admission decision atomically. The [MemoryStore] is the default; the
// redisstore package shares budgets between processes.
//
// The arithmetic is fixed, and public: each method applies the [State]
// method of the same name to the key's state, at the store's now. A Store
// decides only where the state lives and where the time comes from (see
// State for how to write one, and the conformance suite in
// limiter/storetest, which every store must pass). Every method must be
// safe for concurrent use by multiple goroutines and, for a shared store,
// by multiple processes: each call is one atomic step on one key. Limits
// travel with every call, so a Store holds no configuration and limits can
// change between calls. Requests are passed by value so that the admission
// path does not allocate. A store whose budgets live in this process can
// also implement [LocalStore].
//
// Errors are the store's own trouble (a network failure, a timeout), never
// "over the limit": a refusal is a ReserveResult with OK false. A store
// neither keeps nor changes what a request points to (SettleRequest.Undo):
// it is the caller's memory.
type Store interface {
	// Reserve admits req.Cost into every bucket of key or into none.
	Reserve(ctx context.Context, key string, req ReserveRequest) (ReserveResult, error)
	// Settle adds req.Delta to the buckets of key, or, when req.Undo is
	// set and no other mutation happened since that reservation, restores
	// the state from before it.
	Settle(ctx context.Context, key string, req SettleRequest) error
	// Lower caps the selected buckets of key as described by
	// LowerRequest, all in one atomic step. It never raises a level.
	Lower(ctx context.Context, key string, req LowerRequest) error
	// Snapshot returns the levels of key's buckets now, without changing
	// anything.
	Snapshot(ctx context.Context, key string, limits Limits) (Snapshot, error)
}

// BucketLimit is the shape of one bucket: it holds Capacity units and
// regains Refill units every Period microseconds (a store's clock has
// microsecond resolution). The zero BucketLimit means "not limited".
type BucketLimit = bucket.Limit

// Limits are the shapes of a budget's buckets, indexed by tier.Dimension.
type Limits = bucket.Limits

// ReserveRequest asks a Store to admit a cost.
type ReserveRequest struct {
	Limits Limits
	// Cost is the number of units per dimension.
	Cost [tier.NumDimensions]int64
	// Floor is the fraction of each capacity that must remain after the
	// debit: 0 for interactive calls, the budget's headroom for
	// background ones.
	Floor float64
	// MaxWait is the longest delay the caller accepts, ≥ 0; a larger
	// value than any real wait (such as Forever) accepts any delay.
	MaxWait time.Duration
	// Waiter identifies a call that asks again and again until admitted
	// (the head of a Limiter's line), so that the oldest of them, across
	// processes, has its cost set aside; the zero Waiter for any other
	// call. See internal/bucket.Waiter.
	Waiter Waiter
}

// Waiter identifies a waiting call: ID unique among the budget's waiters
// (in (0, 2^53)), Since when it was first refused, in µs of the store's
// clock (0 on its first ask: the store fills it in, and returns it in
// ReserveResult.Since).
type Waiter = bucket.Waiter

// Forever is a MaxWait that accepts any delay.
const Forever = time.Duration(1<<63 - 1)

// ReserveResult is a Store's decision.
type ReserveResult struct {
	// OK reports whether the cost was debited.
	OK bool
	// Delay is how long after the decision the caller may act (OK), or how
	// long it would have had to wait (not OK, not TooLarge).
	Delay time.Duration
	// Dim is the dimension that needed the longest wait or is too small;
	// -1 when none waited.
	Dim int
	// TooLarge reports that the cost exceeds Dim's capacity (less the
	// floor): it can never be admitted.
	TooLarge bool
	// Need and Have describe Dim: the cost, and the capacity above the
	// floor (TooLarge) or the level above the floor at the decision.
	Need, Have float64
	// Prev is the state before the debit and Seq the sequence number the
	// debit left: what Settle needs to undo the reservation exactly (see
	// Undo).
	Prev State
	Seq  int64
	// Since is, for a refused waiter, the Since to pass next time.
	Since int64
}

// Undo returns what Settle needs to undo the reservation of r exactly.
func (r *ReserveResult) Undo() Undo {
	return Undo{Left: r.Seq, Last: r.Prev.Last, Seq: r.Prev.Seq, Level: r.Prev.Level}
}

// SettleRequest asks a Store to settle a reservation.
type SettleRequest struct {
	Limits Limits
	// Delta is added to each bucket (positive refunds, negative debits
	// more), clamped to capacity.
	Delta [tier.NumDimensions]int64
	// Undo, when set, asks for an exact undo: if the budget's Seq still
	// equals Undo.Left, its Last, Seq and Level are restored to Undo's
	// instead of adding Delta.
	Undo *Undo
	// Release, when not 0, is a waiter that gives up: the claim it holds,
	// if any, is dropped (see Waiter). Delta and Undo are then ignored.
	Release int64
}

// Undo is what an exact undo of a reservation needs (see
// ReserveResult.Undo): the Seq the reservation left, and the Last, Seq and
// Level of the state before it, which the undo restores. (End, Peak and
// Claim are not restored: they only narrow refunds and set units aside
// for a waiter, which errs on the safe side.)
type Undo struct {
	// Left is the Seq the reservation left: the undo is exact only while
	// the budget's Seq is still Left.
	Left int64
	// Last, Seq and Level are the state's before the reservation.
	Last, Seq int64
	Level     [tier.NumDimensions]float64
}

// LowerRequest asks a Store to impose the server's view on some of a
// budget's buckets in one atomic step: the level of each dimension d in
// Dims becomes at most Level[d] − (what bucket d regains in Hold[d]), as if
// Level[d] units were left now and nothing refilled for Hold[d]. Levels are
// never raised; dimensions outside Dims, and those Limits does not limit,
// are left alone. The step counts as one mutation (State.Seq increments
// once) if any level dropped, and as none otherwise. The zero
// LowerRequest, with its Limits, lowers nothing.
type LowerRequest struct {
	Limits Limits
	// Dims selects the dimensions to lower, indexed by tier.Dimension.
	Dims [tier.NumDimensions]bool
	// Level is the number of units each selected dimension holds at most
	// now (before the hold); it may be negative.
	Level [tier.NumDimensions]float64
	// Hold is, per selected dimension, how long nothing refills: 0 to
	// sync with a remaining count, a retry-after to freeze. A negative
	// Hold counts as 0.
	Hold [tier.NumDimensions]time.Duration
}

// Snapshot is the levels of a budget's buckets at an instant of the store's
// clock.
type Snapshot struct {
	At    time.Time
	Level [tier.NumDimensions]float64
}
