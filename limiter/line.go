package limiter

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ratekeeper/ratekeeper/internal/bucket"
	"github.com/ratekeeper/ratekeeper/tier"
)

// The waiting line of Wait.
//
// The store's levels mirror the server's buckets: a call is debited only
// when it acts, so whatever a refund or a settlement gives back is in the
// level at once, capped at capacity as the server caps it. Calls that do
// not fit wait here, in this Limiter, one FIFO per priority. Only the head
// of the line asks the store; it asks again when the refill it needs is
// due, when a reservation of this Limiter is settled (of any Limiter of
// the budget, with a LocalStore: a refund may have made room), when the
// budget changes, and, while others draw on the budget too (other
// processes through a shared store, another Limiter of a LocalStore's
// budget), at least every poll. When the head is admitted the next call
// becomes the head and asks at once, so a refund large enough for several
// calls admits them all in one go.
//
// Across processes each line is local: the head of each asks the store,
// and the store sets the cost of the oldest of them aside (a claim, see
// internal/bucket.Waiter), so that no call of another process takes the
// units it waits for: heads are served oldest first across processes, and
// a large one is not overtaken forever by the small calls of others. A
// head asks at least every poll, which renews its claim; a claim lapses a
// second after its last ask (a process that died, a call cancelled).
const poll = 50 * time.Millisecond

// line is a Limiter's waiting calls.
type line struct {
	n  atomic.Int32 // calls in line, for the lock-free check of the fast paths
	mu sync.Mutex   // guards q and last
	q  [Background + 1][]*waiter
	// last is the head's latest refusal, which Allow reports while it
	// refuses to jump the line.
	last refusal
}

// waiter is one call in line.
type waiter struct {
	pri  Priority
	wake chan struct{} // buffered: a wake-up is never lost, never blocks
}

// head returns the call that may ask the store: the first interactive one,
// else the first background one; nil when the line is empty. ln.mu is held.
func (ln *line) head() *waiter {
	for _, q := range ln.q {
		if len(q) > 0 {
			return q[0]
		}
	}
	return nil
}

// blocks reports whether a call of priority p must wait behind the line
// (every waiter of priority p or higher), and the head's latest refusal.
func (ln *line) blocks(p Priority) (refusal, bool) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	for q := Interactive; q <= p; q++ {
		if len(ln.q[q]) > 0 {
			res := ln.last
			if res.Dim < 0 || res.Dim >= int(tier.NumDimensions) {
				res.Dim = 0
			}
			return res, true
		}
	}
	return refusal{}, false
}

// blocked is blocks without the refusal.
func (ln *line) blocked(p Priority) bool {
	_, b := ln.blocks(p)
	return b
}

// join puts a call of priority p at the end of its line.
func (ln *line) join(p Priority) *waiter {
	w := &waiter{pri: p, wake: make(chan struct{}, 1)}
	ln.mu.Lock()
	ln.q[p] = append(ln.q[p], w)
	ln.n.Add(1)
	ln.mu.Unlock()
	return w
}

// leave takes w out of the line and wakes the new head, if w was the head.
func (ln *line) leave(w *waiter) {
	ln.mu.Lock()
	wasHead := ln.head() == w
	q := ln.q[w.pri]
	for i, x := range q {
		if x == w {
			copy(q[i:], q[i+1:])
			q[len(q)-1] = nil
			ln.q[w.pri] = q[:len(q)-1]
			ln.n.Add(-1)
			break
		}
	}
	h := ln.head()
	ln.mu.Unlock()
	if wasHead && h != nil {
		h.signal()
	}
}

// isHead reports whether w is the head.
func (ln *line) isHead(w *waiter) bool {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	return ln.head() == w
}

// refused records the head's latest refusal, which Allow reports.
func (ln *line) refused(res *refusal) {
	ln.mu.Lock()
	ln.last = *res
	ln.mu.Unlock()
}

// wake tells the head to ask the store again.
func (ln *line) wake() {
	if ln.n.Load() == 0 {
		return
	}
	ln.mu.Lock()
	h := ln.head()
	ln.mu.Unlock()
	if h != nil {
		h.signal()
	}
}

func (w *waiter) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Wait blocks until c is admitted, then returns its reservation, whose
// Delay is how long it waited. Calls wait in line in the order they asked,
// within a priority (interactive calls ahead of background ones); each is
// admitted as soon as its whole cost fits — when the refill it needs is due
// or at once when a settlement gives back enough — so the line moves with
// every refund. A call at the head is never overtaken by later calls of
// this Limiter, and, when other Limiters or processes share the budget,
// the oldest head of them all has its cost set aside in the store, so that
// nobody's small calls take what it waits for (see ReserveRequest.Waiter).
//
// Wait fails at once, debiting nothing, when c can never fit (ErrTooLarge),
// or when even the best case would outlive ctx's deadline (a *LimitError
// matching ErrLimited and context.DeadlineExceeded): the refill c needs,
// counting every unit this Limiter has reserved and not yet settled as if
// it were refunded. If ctx ends while waiting, Wait returns ctx.Err() and
// nothing is debited.
func (l *Limiter) Wait(ctx context.Context, c Cost) (*Reservation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	// The call is a waiter from its first ask: if refused, it may claim
	// its cost in the store (see ReserveRequest.Waiter).
	wt := Waiter{ID: 1 + rand.Int64N(1<<53-1)}
	if l.line.n.Load() == 0 || !l.line.blocked(c.Priority) {
		// The first ask claims nothing: a call refused for good (beyond
		// its deadline) must not hold units aside for others.
		if r, _, err := l.ask(ctx, c, Waiter{}, start); r != nil || err != nil {
			return r, err
		}
	}
	w := l.line.join(c.Priority)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		if l.line.isHead(w) {
			r, res, err := l.ask(ctx, c, wt, start)
			if r != nil || err != nil {
				l.line.leave(w)
				if err != nil {
					l.release(wt)
				}
				return r, err
			}
			wt.Since = res.Since
			l.line.refused(&res)
			next := res.Delay
			if l.competes() {
				next = min(next, poll)
			}
			timer.Reset(next)
		}
		select {
		case <-w.wake:
		case <-timer.C:
		case <-ctx.Done():
			l.line.leave(w)
			l.release(wt)
			return nil, ctx.Err()
		}
	}
}

// competes reports whether others may draw on the budget: Limiters in
// other processes (any store but a LocalStore), or other Limiters of this
// LocalStore's budget. Then the head of the line asks at least every poll,
// to see what their admissions left and to keep its claim.
func (l *Limiter) competes() bool { return l.local == nil || l.local.shared() }

// ask is one ask of Wait: the reservation (its Delay the wait since
// start), or the store's refusal, or the error that ends the wait (one
// that can never fit, or beyond the deadline even in the best case).
func (l *Limiter) ask(ctx context.Context, c Cost, w Waiter, start time.Time) (*Reservation, refusal, error) {
	s := l.spec.Load()
	r, res, err := l.decide(ctx, s, c, 0, w)
	if r != nil {
		r.delay = time.Since(start)
		return r, res, nil
	}
	if err == nil {
		err = l.beyond(ctx, s, &res)
	}
	return nil, res, err
}

// release drops the claim w may hold: it gives up.
func (l *Limiter) release(w Waiter) {
	if w.Since == 0 { // never refused as a waiter: it claimed nothing
		return
	}
	req := SettleRequest{Limits: l.spec.Load().limits, Release: w.ID}
	if l.local != nil {
		l.local.Settle(req)
		return
	}
	_ = l.store.Settle(context.Background(), l.key, req)
}

// beyond returns the error of a call that cannot be admitted within ctx's
// deadline even in the best case — res is the store's refusal: the refill
// its dimension needs, less what every unsettled reservation of this
// Limiter would give back if it were refunded whole — and of a call whose
// wait is beyond Forever (a bucket settled or clamped into a debt of
// centuries); nil otherwise.
func (l *Limiter) beyond(ctx context.Context, s *spec, res *refusal) error {
	if res.Delay >= Forever {
		return limitError(res, false)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	left := time.Until(deadline)
	if res.Delay <= left {
		return nil
	}
	best := res.Delay
	if d := res.Dim; d >= 0 && d < int(tier.NumDimensions) {
		if out := l.outstanding()[d]; out > 0 {
			best -= bucket.Delay(float64(s.limits[d].Regain(float64(out))))
		}
	}
	if best <= left {
		return nil
	}
	return limitError(res, true)
}

// outstanding is, per dimension, what this Limiter's unsettled
// reservations hold; with a LocalStore, those of every Limiter of the
// budget.
func (l *Limiter) outstanding() [tier.NumDimensions]int64 {
	if l.local != nil {
		return l.local.outstanding()
	}
	return Cost{Requests: l.out[0].Load(), InputTokens: l.out[1].Load(), OutputTokens: l.out[2].Load()}.PerDimension()
}

// hold counts c as outstanding (sign 1) or settled (sign −1), with a
// shared store.
func (l *Limiter) hold(c *Reservation, sign int64) {
	if c.requests != 0 {
		l.out[0].Add(sign * c.requests)
	}
	if c.inputTokens != 0 {
		l.out[1].Add(sign * c.inputTokens)
	}
	if c.outputTokens != 0 {
		l.out[2].Add(sign * c.outputTokens)
	}
}
