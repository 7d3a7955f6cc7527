package limiter

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ratekeeper/ratekeeper/internal/bucket"
	"github.com/ratekeeper/ratekeeper/tier"
)

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

	// local is the budget itself when the store is a LocalStore: the
	// Limiter admits, settles, clamps and reads it directly, and counts
	// what it holds there (see LocalStore). nil with a shared store.
	local *LocalBudget

	line   line
	specMu sync.Mutex // serializes SetBudget and SetShare
	// out is what the unsettled reservations hold, with a shared store:
	// requests, input and output tokens.
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
	if ls, ok := l.store.(LocalStore); ok {
		// Every Limiter of this budget settles through the LocalBudget,
		// which wakes them all.
		l.local = ls.LocalBudget(l.key)
		l.local.join(&l.line)
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
			le.Need = c.PerDimension()[le.Dimension]
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
	if l.local != nil {
		return l.local.admit(l, s, c, floor, maxWait, w)
	}
	req := ReserveRequest{Limits: s.limits, Cost: c.PerDimension(), Floor: floor, MaxWait: maxWait, Waiter: w}
	res, err := l.store.Reserve(ctx, l.key, req)
	if err != nil {
		return nil, refusal{}, fmt.Errorf("limiter: reserve: %w", err)
	}
	if !res.OK {
		return refused(&res)
	}
	return newReservation(l, c, &res), refusal{}, nil
}

// refused is decide's answer to the store's refusal res: the refusal, and
// an error matching ErrTooLarge when the cost can never fit.
func refused(res *ReserveResult) (*Reservation, refusal, error) {
	ref := refusalOf(res)
	if res.TooLarge {
		return nil, ref, limitError(&ref, false)
	}
	return nil, ref, nil
}
