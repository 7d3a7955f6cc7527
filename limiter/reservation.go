package limiter

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ratekeeper/ratekeeper/tier"
)

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
	// undo is what an exact Cancel restores. Cancel passes the store a
	// pointer to it: it lives in the Reservation, so that costs no
	// allocation.
	undo Undo
}

// newReservation returns the reservation of c, admitted by the store as
// res says.
func newReservation(l *Limiter, c Cost, res *ReserveResult) *Reservation {
	r := &Reservation{delay: res.Delay, requests: c.Requests, inputTokens: c.InputTokens, outputTokens: c.OutputTokens,
		undo: res.Undo()}
	r.l.Store(l)
	l.hold(r, 1)
	return r
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
	reserved, u := r.Cost().PerDimension(), used.PerDimension()
	var delta [tier.NumDimensions]int64
	var nonzero bool
	for i := range delta {
		delta[i] = reserved[i] - u[i]
		nonzero = nonzero || delta[i] != 0
	}
	if l.local != nil {
		d := &delta
		if !nonzero {
			d = nil
		}
		l.local.settle(&s.limits, d, false, r)
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
	delta := r.Cost().PerDimension()
	if l.local != nil {
		l.local.settle(&s.limits, &delta, true, r)
		return
	}
	_ = l.store.Settle(context.Background(), l.key, SettleRequest{Limits: s.limits, Delta: delta, Undo: &r.undo})
}

// settled counts r as settled and wakes the head of the line (of every
// line of the budget, with a LocalStore): what r gave back may be what it
// waits for.
func (l *Limiter) settled(r *Reservation) {
	if l.local != nil { // local.settle counted it under the budget's lock
		l.local.wake()
		return
	}
	l.hold(r, -1)
	l.line.wake()
}
