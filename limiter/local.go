package limiter

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ratekeeper/ratekeeper/internal/bucket"
	"github.com/ratekeeper/ratekeeper/tier"
)

// A LocalStore is a [Store] whose budgets live in this process's memory,
// each a [LocalBudget], such as the [MemoryStore]: no other process draws
// on them. A Limiter discovers it in New (a type assertion on this
// interface) and then works on the key's LocalBudget directly rather than
// through the Store methods:
//
//   - a settlement by any Limiter of the budget wakes the heads of the
//     lines of all of them (any refund may be what one waits for), so a
//     head polls only while other Limiters share the budget, and never
//     when its Limiter is the budget's only one;
//   - what their unsettled reservations hold is counted for the budget,
//     not for each Limiter (Wait's best case, Bucket.Outstanding);
//   - an admission costs no key lookup and no copy of the request or the
//     result, and the counting happens under the budget's mutex, which the
//     arithmetic holds anyway.
//
// Any other Store is shared: other processes may draw on its budgets, and
// their refunds wake nobody here, so the head of a line polls (see
// Limiter.Wait) and each Limiter counts only its own reservations. The
// redisstore Store is shared, even for a budget only one process uses.
//
// A LocalStore's Store methods must act on the same budgets as
// LocalBudget, as the MemoryStore's do (each is the LocalBudget method of
// the same name). A store that wraps a MemoryStore to observe its calls
// sees none of its Limiters' calls if it forwards LocalBudget (embedding a
// *MemoryStore forwards it): such a wrapper should implement only Store.
type LocalStore interface {
	Store
	// LocalBudget returns key's budget, created with every bucket full on
	// first use: the same *LocalBudget for every call with the same key,
	// for as long as the store keeps the budget.
	LocalBudget(key string) *LocalBudget
}

// A LocalBudget is one budget kept in this process's memory: its [State],
// under a mutex held only for the arithmetic of one call, the clock of its
// store, and the lines of the Limiters that draw on it. A [LocalStore]
// keeps one per key. Its Reserve, Settle, Lower and Snapshot are the
// [Store] methods of that key, and never fail.
//
// A LocalBudget is safe for concurrent use by multiple goroutines.
type LocalBudget struct {
	// Read on every call, written almost never: they are kept a cache
	// line away from mu and what it guards, which every call writes, so
	// that reading them does not wait for the line the lock holds.
	now func() int64 // the store's clock, in µs since the Unix epoch
	// lines are the lines of the Limiters of this budget, which every
	// settlement through a Limiter wakes; replaced whole when one joins.
	lines  atomic.Pointer[[]*line]
	joinMu sync.Mutex // serializes join
	_      [64]byte

	mu sync.Mutex // guards s and out
	s  State
	// out is what the unsettled reservations of the Limiters of this
	// budget hold: requests, input and output tokens (kept here, under
	// mu, rather than in atomics of each Limiter: the admission path
	// holds mu anyway).
	out [3]int64
}

// NewLocalBudget returns a budget whose buckets are full, reading time
// from now, which must be safe for concurrent use. A clock that goes
// backwards refills nothing.
func NewLocalBudget(now func() time.Time) *LocalBudget {
	return newLocalBudget(func() int64 { return now().UnixMicro() })
}

func newLocalBudget(now func() int64) *LocalBudget {
	return &LocalBudget{now: now, s: newState(now())}
}

// Reserve is [Store.Reserve] on b: [State.Reserve] at b's clock's now.
func (b *LocalBudget) Reserve(req ReserveRequest) ReserveResult {
	now := b.now()
	b.mu.Lock()
	res := b.s.reserve(now, &req)
	b.mu.Unlock()
	return res
}

// Settle is [Store.Settle] on b: [State.Settle] at b's clock's now.
func (b *LocalBudget) Settle(req SettleRequest) {
	now := b.now()
	b.mu.Lock()
	b.s.settleRequest(now, &req)
	b.mu.Unlock()
}

// Lower is [Store.Lower] on b: [State.Lower] at b's clock's now.
func (b *LocalBudget) Lower(req LowerRequest) {
	now := b.now()
	b.mu.Lock()
	b.s.lower(now, &req)
	b.mu.Unlock()
}

// Snapshot is [Store.Snapshot] on b: [State.Snapshot] at b's clock's now.
func (b *LocalBudget) Snapshot(limits Limits) Snapshot {
	now := b.now()
	b.mu.Lock()
	s := b.s
	b.mu.Unlock()
	return s.snapshot(now, &limits)
}

// join adds a Limiter's line to b's.
func (b *LocalBudget) join(ln *line) {
	b.joinMu.Lock()
	defer b.joinMu.Unlock()
	var lines []*line
	if p := b.lines.Load(); p != nil {
		lines = append(lines, *p...)
	}
	lines = append(lines, ln)
	b.lines.Store(&lines)
}

// shared reports whether more than one Limiter draws on b.
func (b *LocalBudget) shared() bool { return len(*b.lines.Load()) > 1 }

// wake tells the head of every line of b to ask again.
func (b *LocalBudget) wake() {
	for _, ln := range *b.lines.Load() {
		ln.wake()
	}
}

// admit is Reserve for a Limiter: it admits c, with the floor, the wait
// limit and the waiter of decide, and returns what decide returns: its
// Reservation (counted as outstanding under the same lock), or the
// refusal. The state before is copied only as far as the exact undo needs
// it.
func (b *LocalBudget) admit(l *Limiter, s *spec, c Cost, floor float64, maxWait time.Duration, w Waiter) (*Reservation, refusal, error) {
	cost := bucket.Cost(perDimension[float64](c))
	r := &Reservation{requests: c.Requests, inputTokens: c.InputTokens, outputTokens: c.OutputTokens}
	now := b.now()
	b.mu.Lock()
	r.undo = Undo{Last: b.s.Last, Seq: b.s.Seq, Level: b.s.Level}
	d := bucket.ReserveDims(b.s.b(), now, &s.limits, s.dims, &cost, floor, bucket.Micros(maxWait), w)
	r.undo.Left = b.s.Seq
	if d.OK {
		b.hold(r, 1)
	}
	b.mu.Unlock()
	if !d.OK {
		res := outcome(&d)
		return refused(&res)
	}
	r.delay = bucket.Delay(float64(d.Wait))
	r.l.Store(l)
	return r, refusal{}, nil
}

// settle is Settle for a Limiter settling r: delta is added (or, with
// exact, r is undone if nothing happened since), unless delta is nil, and
// r leaves the outstanding count, under one lock.
func (b *LocalBudget) settle(lim *Limits, delta *[tier.NumDimensions]int64, exact bool, r *Reservation) {
	now := b.now()
	b.mu.Lock()
	if delta != nil {
		var undo *Undo
		if exact {
			undo = &r.undo
		}
		b.s.settle(now, lim, delta, undo)
	}
	b.hold(r, -1)
	b.mu.Unlock()
}

// hold adds sign × r's cost to b.out; b.mu is held.
func (b *LocalBudget) hold(r *Reservation, sign int64) {
	b.out[0] += sign * r.requests
	b.out[1] += sign * r.inputTokens
	b.out[2] += sign * r.outputTokens
}

// outstanding is, per dimension, what the unsettled reservations of b's
// Limiters hold.
func (b *LocalBudget) outstanding() [tier.NumDimensions]int64 {
	b.mu.Lock()
	out := b.out
	b.mu.Unlock()
	return Cost{Requests: out[0], InputTokens: out[1], OutputTokens: out[2]}.PerDimension()
}
