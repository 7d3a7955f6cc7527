package limiter

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ratekeeper/ratekeeper/internal/bucket"
)

// MemoryStore is the in-process [Store]: budgets live in a map in this
// process and time comes from the process's monotonic clock, anchored at
// the wall-clock time the store was created (unless [WithClock] says
// otherwise), so that a wall clock that jumps does not refill or drain
// budgets. It is the default store of a [Limiter].
//
// A MemoryStore is safe for concurrent use by multiple goroutines. Each
// budget has its own mutex, held only for the arithmetic of one call, never
// while waiting. Budgets are never evicted: a MemoryStore holds as many as
// keys it has seen.
type MemoryStore struct {
	now         func() time.Time // nil: the monotonic clock below
	epoch       time.Time        // creation, with its monotonic reading
	epochMicros int64            // epoch in µs since the Unix epoch
	budgets     sync.Map         // string → *memBudget
}

type memBudget struct {
	mu sync.Mutex // guards s and out
	s  bucket.State
	// out is what the unsettled reservations of the Limiters of this
	// budget hold: requests, input and output tokens (kept here, under
	// mu, rather than in atomics of each Limiter: the admission path
	// holds mu anyway).
	out [3]int64
	// lines are the lines of the Limiters of this budget, which every
	// settlement through a Limiter wakes; replaced whole when one joins.
	lines atomic.Pointer[[]*line]
}

// join adds a Limiter's line to b's.
func (b *memBudget) join(ln *line) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var lines []*line
	if p := b.lines.Load(); p != nil {
		lines = append(lines, *p...)
	}
	lines = append(lines, ln)
	b.lines.Store(&lines)
}

// hold adds sign × (requests, input, output) to b.out; b.mu is held.
func (b *memBudget) hold(req, in, out, sign int64) {
	b.out[0] += sign * req
	b.out[1] += sign * in
	b.out[2] += sign * out
}

// MemoryOption configures a [MemoryStore].
type MemoryOption func(*MemoryStore)

// WithClock makes the store read time from now instead of time.Now: for
// simulations and tests that step time by hand. now must be safe for
// concurrent use. A clock that goes backwards refills nothing; it never
// breaks the arithmetic.
func WithClock(now func() time.Time) MemoryOption {
	return func(m *MemoryStore) { m.now = now }
}

// NewMemoryStore returns an empty store.
func NewMemoryStore(opts ...MemoryOption) *MemoryStore {
	m := &MemoryStore{epoch: time.Now()}
	m.epochMicros = m.epoch.UnixMicro()
	for _, o := range opts {
		o(m)
	}
	return m
}

var _ Store = (*MemoryStore)(nil)

func (m *MemoryStore) budget(key string, now int64) *memBudget {
	if b, ok := m.budgets.Load(key); ok {
		return b.(*memBudget)
	}
	b, _ := m.budgets.LoadOrStore(key, &memBudget{s: bucket.Fresh(now)})
	return b.(*memBudget)
}

// micros reads the store's clock in microseconds since the Unix epoch: the
// monotonic time elapsed since the store was created (one clock read,
// half the cost of time.Now) added to the wall time at creation.
func (m *MemoryStore) micros() int64 {
	if m.now != nil {
		return m.now().UnixMicro()
	}
	return m.epochMicros + int64(time.Since(m.epoch)/time.Microsecond)
}

// Reserve implements [Store].
func (m *MemoryStore) Reserve(_ context.Context, key string, req ReserveRequest) (ReserveResult, error) {
	now := m.micros()
	b := m.budget(key, now)
	cost := costOf(&req.Cost)
	b.mu.Lock()
	prev := b.s
	d := bucket.ReserveDims(&b.s, now, &req.Limits, bucket.Limited(&req.Limits), &cost, req.Floor, bucket.Micros(req.MaxWait), req.Waiter)
	seq := b.s.Seq
	b.mu.Unlock()
	res := result(d)
	res.Seq = seq
	if d.OK {
		res.Prev = prev
	}
	return res, nil
}

// Settle implements [Store].
func (m *MemoryStore) Settle(_ context.Context, key string, req SettleRequest) error {
	now := m.micros()
	b := m.budget(key, now)
	if req.Release != 0 {
		b.mu.Lock()
		bucket.Release(&b.s, now, &req.Limits, req.Release)
		b.mu.Unlock()
		return nil
	}
	m.settle(b, now, &req.Limits, &req.Delta, req.Undo, nil)
	return nil
}

// settle is Settle on b (nothing when units is nil); Limiter calls it
// directly, with the reservation r it settles, whose cost leaves b.out.
func (m *MemoryStore) settle(b *memBudget, now int64, lim *Limits, units *[bucket.N]int64, undo *Undo, r *Reservation) {
	var delta bucket.Cost
	if units != nil {
		delta = costOf(units)
	}
	b.mu.Lock()
	switch {
	case units == nil:
	case undo != nil:
		bucket.Cancel(&b.s, now, lim, &undo.Prev, undo.Seq, &delta)
	default:
		bucket.Settle(&b.s, now, lim, &delta)
	}
	if r != nil {
		b.hold(r.requests, r.inputTokens, r.outputTokens, -1)
	}
	b.mu.Unlock()
}

// Lower implements [Store].
func (m *MemoryStore) Lower(_ context.Context, key string, req LowerRequest) error {
	dims, hold := req.dims()
	now := m.micros()
	b := m.budget(key, now)
	b.mu.Lock()
	bucket.LowerDims(&b.s, now, &req.Limits, dims, &req.Level, &hold)
	b.mu.Unlock()
	return nil
}

// Snapshot implements [Store].
func (m *MemoryStore) Snapshot(_ context.Context, key string, limits Limits) (Snapshot, error) {
	now := m.micros()
	var s bucket.State
	if b, ok := m.budgets.Load(key); ok {
		b := b.(*memBudget)
		b.mu.Lock()
		s = b.s
		b.mu.Unlock()
	} else {
		s = bucket.Fresh(now)
	}
	s.Advance(now, &limits)
	return Snapshot{At: time.UnixMicro(s.Last), Level: s.Level}, nil
}

// costOf converts whole units to the arithmetic's float64.
func costOf(c *[bucket.N]int64) bucket.Cost {
	var f bucket.Cost
	for i, v := range c {
		f[i] = float64(v)
	}
	return f
}

// result converts d, less Prev and Seq.
func result(d bucket.Decision) ReserveResult {
	return ReserveResult{OK: d.OK, Delay: bucket.Delay(float64(d.Wait)), Dim: d.Dim, TooLarge: d.TooLarge, Need: d.Need, Have: d.Have, Since: d.Since}
}
