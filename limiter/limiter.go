package limiter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ratekeeper/ratekeeper/internal/bucket"
	"github.com/ratekeeper/ratekeeper/tier"
)

// Cost is what one call consumes. The zero Cost is free.
type Cost struct {
	// Requests is the number of requests, usually 1. It is charged to the
	// RPM and RPD buckets.
	Requests int64
	// InputTokens is charged to ITPM, and with OutputTokens to TPM and TPD.
	InputTokens int64
	// OutputTokens is charged to OTPM, and with InputTokens to TPM and TPD.
	OutputTokens int64
	// Priority is the call's class. It is ignored by Commit.
	Priority Priority
}

// Priority is a call's class. Calls of one class are admitted in the order
// they asked.
type Priority uint8

const (
	// Interactive calls may spend the whole budget. It is the zero
	// Priority.
	Interactive Priority = iota
	// Background calls may spend only what lies above the budget's
	// Headroom: they wait while any bucket they touch would drop below
	// Headroom × capacity, which keeps that share for interactive calls.
	Background
)

// maxCost bounds every field of a Cost, far above any bucket (tier.MaxLimit),
// so that sums cannot overflow.
const maxCost = 1 << 50

// PerDimension spreads c over the dimensions, as the buckets are charged:
// requests to RPM and RPD, input tokens to ITPM, output tokens to OTPM, and
// both to TPM and TPD.
func (c Cost) PerDimension() [tier.NumDimensions]int64 { return c.vector() }

// vector spreads c over the dimensions.
func (c Cost) vector() (v [tier.NumDimensions]int64) {
	t := c.InputTokens + c.OutputTokens
	v[tier.RPM], v[tier.ITPM], v[tier.OTPM], v[tier.TPM], v[tier.RPD], v[tier.TPD] =
		c.Requests, c.InputTokens, c.OutputTokens, t, c.Requests, t
	return v
}

// units is c.vector() in the arithmetic's float64.
func (c Cost) units() (u bucket.Cost) {
	t := float64(c.InputTokens + c.OutputTokens)
	u[tier.RPM], u[tier.ITPM], u[tier.OTPM], u[tier.TPM], u[tier.RPD], u[tier.TPD] =
		float64(c.Requests), float64(c.InputTokens), float64(c.OutputTokens), t, float64(c.Requests), t
	return u
}

// validate checks that every field of c lies in [0, maxCost] (a negative
// field is a huge uint64) and that its priority is known.
func (c Cost) validate() error {
	if max(uint64(c.Requests), uint64(c.InputTokens), uint64(c.OutputTokens)) > maxCost || c.Priority > Background {
		return c.invalid()
	}
	return nil
}

// invalid returns validate's error for an invalid c.
func (c Cost) invalid() error {
	if c.Requests|c.InputTokens|c.OutputTokens < 0 || max(c.Requests, c.InputTokens, c.OutputTokens) > maxCost {
		return fmt.Errorf("limiter: %w: %+v has a field outside [0, %d]", ErrInvalidCost, c, int64(maxCost))
	}
	return fmt.Errorf("limiter: %w: unknown priority %d", ErrInvalidCost, c.Priority)
}

// A Limiter admits calls against one budget: several token buckets (RPM,
// ITPM, OTPM, and TPM, RPD, TPD where the budget has them) debited together,
// all or nothing.
//
// Most callers use Wait, then Commit the reservation with the call's actual
// usage, or Cancel it if the call never reached the server:
//
//	r, err := lim.Wait(ctx, limiter.Cost{Requests: 1, InputTokens: est, OutputTokens: maxTokens})
//	if err != nil { return err }
//	defer r.Cancel() // a no-op after Commit
//	... send ...
//	r.Commit(limiter.Cost{Requests: 1, InputTokens: in, OutputTokens: out})
//
// Calls are admitted first come, first served (within a priority), each as
// soon as its whole cost fits: the line moves with every refund, and small
// calls never overtake a large one forever.
//
// A Limiter is safe for concurrent use by multiple goroutines. It starts no
// goroutines and needs no Close.
type Limiter struct {
	store Store
	key   string
	spec  atomic.Pointer[spec]

	// mem and memb short-cut the store interface and the key lookup when
	// the store is a MemoryStore: the default path costs no map access.
	mem  *MemoryStore
	memb *memBudget

	// shared reports that Limiters this one cannot wake may draw on the
	// budget: any store but a MemoryStore (other processes, perhaps).
	// Their refunds wake nobody here, so the head of the line polls.
	shared bool
	line   line
	specMu sync.Mutex // serializes SetBudget and SetShare
	// out is what the unsettled reservations hold: requests, input and
	// output tokens.
	out [3]atomic.Int64
}

// spec is a budget and what follows from it; replaced whole by SetBudget
// and SetShare.
type spec struct {
	budget tier.Budget
	share  [tier.NumDimensions]float64 // in (0, 1]
	limits Limits
	dims   bucket.Dims // the dimensions limits limits
}

func newSpec(b tier.Budget, share *[tier.NumDimensions]float64) (*spec, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	s := &spec{budget: b, share: *share}
	for d := range tier.NumDimensions {
		if l := b.Limit(d); l > 0 {
			s.limits[d] = BucketLimit{
				Capacity: b.Capacity(d),
				Refill:   float64(l) * share[d],
				Period:   float64(d.Period() / time.Microsecond),
			}
		}
	}
	s.dims = bucket.Limited(&s.limits)
	return s, nil
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithStore keeps the budget's state in s under key instead of in a private
// MemoryStore. Limiters that share a store and a key share one budget; that
// is how several processes share a budget through Redis. key must not
// contain an API key in clear (hash it).
func WithStore(s Store, key string) Option {
	return func(l *Limiter) { l.store, l.key = s, key }
}

// New returns a Limiter for budget b, whose buckets start full. It returns
// an error matching tier.ErrInvalidBudget when b is invalid.
func New(b tier.Budget, opts ...Option) (*Limiter, error) {
	s, err := newSpec(b, &whole)
	if err != nil {
		return nil, err
	}
	l := &Limiter{}
	for _, o := range opts {
		o(l)
	}
	if l.store == nil {
		l.store = NewMemoryStore()
	}
	if m, ok := l.store.(*MemoryStore); ok {
		// Every Limiter of this budget in this process settles through
		// memb, which wakes them all: none needs to poll.
		l.mem, l.memb = m, m.budget(l.key, m.micros())
		l.memb.join(&l.line)
	} else {
		l.shared = true
	}
	l.spec.Store(s)
	return l, nil
}

// Budget returns the budget in force.
func (l *Limiter) Budget() tier.Budget { return l.spec.Load().budget }

// SetBudget replaces the budget, for instance when the server's headers
// reveal the real limits. Levels carry over (clamped to the new capacities);
// reservations already made keep their places and settle against the new
// limits.
func (l *Limiter) SetBudget(b tier.Budget) error {
	l.specMu.Lock()
	defer l.specMu.Unlock()
	s, err := newSpec(b, &l.spec.Load().share)
	if err != nil {
		return err
	}
	l.spec.Store(s)
	l.line.wake()
	return nil
}

// whole is the share of a Limiter that has the whole budget.
var whole = [tier.NumDimensions]float64{1, 1, 1, 1, 1, 1}

// Share returns the share of dimension d's refill that this Limiter counts
// on (1 unless SetShare said otherwise).
func (l *Limiter) Share(d tier.Dimension) float64 {
	if d >= tier.NumDimensions {
		return 0
	}
	return l.spec.Load().share[d]
}

// SetShare makes this Limiter count on share, in (0, 1], of dimension d's
// refill: for a process that shares the budget with clients it cannot see
// (another service on the same API key), share is what they leave. The
// capacity stays whole, so a call that fits the budget still fits. It
// returns an error for an unknown dimension or a share outside (0, 1].
func (l *Limiter) SetShare(d tier.Dimension, share float64) error {
	if d >= tier.NumDimensions {
		return fmt.Errorf("limiter: share: unknown dimension %d", d)
	}
	if !(share > 0 && share <= 1) {
		return fmt.Errorf("limiter: share %v of %v is outside (0, 1]", share, d)
	}
	l.specMu.Lock()
	defer l.specMu.Unlock()
	old := l.spec.Load()
	sh := old.share
	sh[d] = share
	s, err := newSpec(old.budget, &sh)
	if err != nil {
		return err
	}
	l.spec.Store(s)
	if share > old.share[d] {
		l.line.wake()
	}
	return nil
}

// Allow admits c now or not at all. When c does not fit now it returns a
// *LimitError matching ErrLimited whose RetryAfter says how long until it
// would (counting only refill), and debits nothing; when c can never fit,
// one matching ErrTooLarge. Allow does not jump the line: while calls of
// c's priority or a higher one wait in Wait, it refuses (ErrLimited, with
// the head of the line's refusal). ctx bounds only the store's work.
func (l *Limiter) Allow(ctx context.Context, c Cost) (*Reservation, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if l.line.n.Load() > 0 {
		if res, blocked := l.line.blocks(c.Priority); blocked {
			le := limitError(&res, false)
			le.Need = c.vector()[le.Dimension]
			return nil, le
		}
	}
	r, res, err := l.decide(ctx, l.spec.Load(), c, 0, Waiter{})
	if r != nil || err != nil {
		return r, err
	}
	return nil, limitError(&res, false)
}

// Reserve takes a fixed place in the store's line and returns at once: the
// reservation's Delay says when the call may act, whatever happens
// meanwhile; the caller must wait that long, or Cancel. It is
// x/time/rate's ReserveN across dimensions. Until the places it hands out
// have passed, refunds into their buckets come back only as far as the
// server's bucket would have kept them (see internal/bucket), so a budget
// driven by Reserve leaves the unused part of reservations unused; Wait,
// whose line moves with every refund, is what most callers want. Reserve
// fails only for a cost that can never fit (ErrTooLarge), a wait beyond
// Forever (ErrLimited: a bucket clamped or settled into a debt of
// centuries), an invalid cost (ErrInvalidCost), or a store error.
func (l *Limiter) Reserve(ctx context.Context, c Cost) (*Reservation, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	r, res, err := l.decide(ctx, l.spec.Load(), c, Forever, Waiter{})
	if r != nil || err != nil {
		return r, err
	}
	return nil, limitError(&res, false)
}

// decide asks the store to admit c within maxWait. It returns the
// reservation when c was admitted; the store's refusal when it was not
// (limitError turns it into the caller's error); an error matching
// ErrTooLarge when c can never fit; or the store's error.
//
// w is the zero Waiter for a call that asks once (Allow, Reserve); see
// ReserveRequest.Waiter.
func (l *Limiter) decide(ctx context.Context, s *spec, c Cost, maxWait time.Duration, w Waiter) (*Reservation, refusal, error) {
	var floor float64
	if c.Priority == Background {
		floor = s.budget.Headroom
	}
	if l.memb != nil {
		return l.decideMemory(s, c, floor, maxWait, w)
	}
	req := ReserveRequest{Limits: s.limits, Cost: c.vector(), Floor: floor, MaxWait: maxWait, Waiter: w}
	res, err := l.store.Reserve(ctx, l.key, req)
	if err != nil {
		return nil, refusal{}, fmt.Errorf("limiter: reserve: %w", err)
	}
	if !res.OK {
		ref := refusalOf(&res)
		if res.TooLarge {
			return nil, ref, limitError(&ref, false)
		}
		return nil, ref, nil
	}
	return newReservation(l, c, res.Delay, &Undo{Prev: res.Prev, Seq: res.Seq}), refusal{}, nil
}

// decideMemory is decide with the MemoryStore: no interface call, no key
// lookup. The mutex is held only to save the state (for an exact Cancel)
// and for the arithmetic.
func (l *Limiter) decideMemory(s *spec, c Cost, floor float64, maxWait time.Duration, w Waiter) (*Reservation, refusal, error) {
	cost := c.units()
	now := l.mem.micros()
	b := l.memb
	r := &Reservation{requests: c.Requests, inputTokens: c.InputTokens, outputTokens: c.OutputTokens}
	b.mu.Lock()
	r.prevLast, r.prevSeq, r.prevLevel = b.s.Last, b.s.Seq, b.s.Level // what an exact Cancel restores
	d := bucket.ReserveDims(&b.s, now, &s.limits, s.dims, &cost, floor, micros(maxWait), w)
	r.seq = b.s.Seq
	if d.OK {
		b.hold(c.Requests, c.InputTokens, c.OutputTokens, 1)
	}
	b.mu.Unlock()
	if !d.OK {
		res := refusal{Delay: delay(d.Wait), Dim: d.Dim, TooLarge: d.TooLarge, Need: d.Need, Have: d.Have, Since: d.Since}
		if d.TooLarge {
			return nil, res, limitError(&res, false)
		}
		return nil, res, nil
	}
	r.delay = delay(d.Wait)
	r.l.Store(l)
	return r, refusal{}, nil
}

// Clamp imposes the server's view on dimension d: afterwards the bucket
// holds at most remaining units now and refills from there only after hold,
// as if nothing refilled until then. It never raises a level. Use hold = 0
// to sync with a reported remaining count, and remaining = 0 with hold = the
// retry-after to freeze a dimension after a 429. Clamping a dimension the
// budget does not limit does nothing. It returns an error for an unknown
// dimension, a negative hold, or the store's trouble. To clamp several
// dimensions, use ClampAll: one store call for all of them.
func (l *Limiter) Clamp(ctx context.Context, d tier.Dimension, remaining int64, hold time.Duration) error {
	if d >= tier.NumDimensions {
		return fmt.Errorf("limiter: clamp: unknown dimension %d", d)
	}
	var c [tier.NumDimensions]ClampTarget
	c[d] = ClampTarget{Set: true, Remaining: remaining, Hold: hold}
	return l.ClampAll(ctx, c)
}

// ClampTarget is the server's view of one dimension, for ClampAll. The zero
// ClampTarget leaves its dimension alone.
type ClampTarget struct {
	// Set selects the dimension.
	Set bool
	// Remaining is the most the bucket holds now, in units; it may be
	// negative (units already promised to calls the server has not seen).
	Remaining int64
	// Hold is how long the bucket regains nothing from Remaining, ≥ 0: 0
	// to sync with a reported remaining count, the retry-after to freeze
	// a dimension after a 429.
	Hold time.Duration
}

// ClampAll is Clamp on every dimension d whose c[d].Set, in one atomic
// store call (one round trip with Redis) rather than one per dimension.
// Dimensions the budget does not limit are ignored; when no selected
// dimension is limited, the store is not called. It never raises a level.
// A negative Hold in a selected dimension is an error, and nothing is
// clamped.
func (l *Limiter) ClampAll(ctx context.Context, c [tier.NumDimensions]ClampTarget) error {
	s := l.spec.Load()
	req := LowerRequest{Limits: s.limits}
	var some bool
	for d := range c {
		if !c[d].Set {
			continue
		}
		if c[d].Hold < 0 {
			return fmt.Errorf("limiter: clamp: negative hold %v for %v", c[d].Hold, tier.Dimension(d))
		}
		if s.limits[d].Capacity > 0 {
			req.Dims[d], req.Level[d], req.Hold[d] = true, float64(c[d].Remaining), c[d].Hold
			some = true
		}
	}
	if !some {
		return nil
	}
	if err := l.store.Lower(ctx, l.key, req); err != nil {
		return fmt.Errorf("limiter: clamp: %w", err)
	}
	return nil
}

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
	// every Limiter of this budget, with a MemoryStore) hold in this
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
	snap, err := l.store.Snapshot(ctx, l.key, s.limits)
	if err != nil {
		return Remaining{}, fmt.Errorf("limiter: remaining: %w", err)
	}
	r := Remaining{At: snap.At, Waiting: int(l.line.n.Load())}
	out := l.outstanding()
	st := State{Level: snap.Level}
	for d := range tier.NumDimensions {
		if c := s.limits[d].Capacity; c > 0 {
			r.Buckets[d] = Bucket{
				Limit:       s.budget.Limit(d),
				Capacity:    c,
				Level:       snap.Level[d],
				Outstanding: out[d],
				FullIn:      delay(st.FullIn(&s.limits, int(d))),
			}
		}
	}
	return r, nil
}

// A Reservation is a call's debit from a budget, made by Allow, Reserve or
// Wait. It must be settled once: by Commit with the call's actual usage, or
// by Cancel when the call never reached the server. Whatever is called
// after the first settlement does nothing, so `defer r.Cancel()` is always
// safe. A Reservation is safe for concurrent use by multiple goroutines.
type Reservation struct {
	// l is the Limiter until the first settlement takes it (Swap to nil):
	// that is the exactly-once flag, and it keeps the Reservation, its
	// only allocation, in the 112-byte size class.
	l     atomic.Pointer[Limiter]
	delay time.Duration
	// The reserved cost; its Priority is always Interactive.
	requests, inputTokens, outputTokens int64
	// What an exact Cancel restores (the line's end and peaks stay, see
	// internal/bucket.Cancel): Last, Seq and the levels before the
	// reservation, and the Seq it left.
	prevLast, prevSeq, seq int64
	prevLevel              [tier.NumDimensions]float64
}

func newReservation(l *Limiter, c Cost, delay time.Duration, undo *Undo) *Reservation {
	r := &Reservation{delay: delay, requests: c.Requests, inputTokens: c.InputTokens, outputTokens: c.OutputTokens,
		prevLast: undo.Prev.Last, prevSeq: undo.Prev.Seq, seq: undo.Seq, prevLevel: undo.Prev.Level}
	r.l.Store(l)
	if l.memb == nil { // the memory path counted it under the budget's lock
		l.hold(r, 1)
	}
	return r
}

// undo is what Settle needs to undo r exactly.
func (r *Reservation) undo() Undo {
	return Undo{Prev: State{Last: r.prevLast, Seq: r.prevSeq, Level: r.prevLevel}, Seq: r.seq}
}

// Delay is how long after the reservation was made the call may act; zero
// for Allow and, once it returns, for Wait's purposes.
func (r *Reservation) Delay() time.Duration { return r.delay }

// Cost returns the reserved cost (its Priority is always Interactive).
func (r *Reservation) Cost() Cost {
	return Cost{Requests: r.requests, InputTokens: r.inputTokens, OutputTokens: r.outputTokens}
}

// ErrSettled is returned by Commit on a reservation already committed or
// cancelled.
var ErrSettled = errors.New("limiter: reservation already settled")

// Commit settles the reservation at the call's actual usage: each bucket is
// refunded what was reserved beyond used, or debited what used exceeds (a
// bucket may go into debt, delaying later calls). An invalid used returns an
// error matching ErrInvalidCost and leaves the reservation open; a second
// settlement returns ErrSettled. A store error is returned, but the
// reservation counts as settled.
func (r *Reservation) Commit(used Cost) error {
	if err := used.validate(); err != nil {
		return err
	}
	l := r.l.Swap(nil)
	if l == nil {
		return ErrSettled
	}
	defer l.settled(r)
	s := l.spec.Load()
	reserved, u := r.Cost().vector(), used.vector()
	var delta [tier.NumDimensions]int64
	var nonzero bool
	for i := range delta {
		delta[i] = reserved[i] - u[i]
		nonzero = nonzero || delta[i] != 0
	}
	if l.memb != nil {
		d := &delta
		if !nonzero {
			d = nil
		}
		l.mem.settle(l.memb, l.mem.micros(), &s.limits, d, nil, r)
		return nil
	}
	if !nonzero {
		return nil
	}
	if err := l.store.Settle(context.Background(), l.key, SettleRequest{Limits: s.limits, Delta: delta}); err != nil {
		return fmt.Errorf("limiter: commit: %w", err)
	}
	return nil
}

// Cancel refunds the whole reservation: exactly as if it had never been
// made when nothing else was admitted since, else by returning its cost.
// While other calls wait in line, only what a server's bucket would keep
// comes back: units it would have lost by filling up before the last of
// them acts are dropped, so no later call acts early. Cancel does nothing
// after Commit or a first Cancel. A store error loses the refund, which
// errs on the safe side.
func (r *Reservation) Cancel() {
	l := r.l.Swap(nil)
	if l == nil {
		return
	}
	defer l.settled(r)
	s := l.spec.Load()
	delta := r.Cost().vector()
	if l.memb != nil {
		u := r.undo() // on the stack: the memory path does not retain it
		l.mem.settle(l.memb, l.mem.micros(), &s.limits, &delta, &u, r)
		return
	}
	u := r.undo()
	_ = l.store.Settle(context.Background(), l.key, SettleRequest{Limits: s.limits, Delta: delta, Undo: &u})
}

// settled counts r as settled and wakes the head of the line: what r gave
// back may be what it waits for.
func (l *Limiter) settled(r *Reservation) {
	if l.memb == nil {
		l.hold(r, -1)
		l.line.wake()
		return
	}
	for _, ln := range *l.memb.lines.Load() {
		ln.wake()
	}
}
