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
	s  State
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
	b, _ := m.budgets.LoadOrStore(key, &memBudget{s: newState(now)})
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

// Reserve implements [Store] with [State.Reserve].
func (m *MemoryStore) Reserve(_ context.Context, key string, req ReserveRequest) (ReserveResult, error) {
	now := m.micros()
	b := m.budget(key, now)
	b.mu.Lock()
	res := b.s.reserve(now, &req)
	b.mu.Unlock()
	return res, nil
}

// Settle implements [Store] with [State.Settle].
func (m *MemoryStore) Settle(_ context.Context, key string, req SettleRequest) error {
	now := m.micros()
	b := m.budget(key, now)
	b.mu.Lock()
	b.s.settleRequest(now, &req)
	b.mu.Unlock()
	return nil
}

// settle is Settle for a Limiter settling r: units are added (or, with
// undo, r is undone if nothing happened since), unless units is nil, and
// r's cost leaves b.out, under one lock.
func (m *MemoryStore) settle(b *memBudget, now int64, lim *Limits, units *[bucket.N]int64, undo *Undo, r *Reservation) {
	b.mu.Lock()
	if units != nil {
		b.s.settle(now, lim, units, undo)
	}
	b.hold(r.requests, r.inputTokens, r.outputTokens, -1)
	b.mu.Unlock()
}

// Lower implements [Store] with [State.Lower].
func (m *MemoryStore) Lower(_ context.Context, key string, req LowerRequest) error {
	now := m.micros()
	b := m.budget(key, now)
	b.mu.Lock()
	b.s.lower(now, &req)
	b.mu.Unlock()
	return nil
}

// Snapshot implements [Store] with [State.Snapshot]. A key the store has
// not seen is a full budget; Snapshot does not create it.
func (m *MemoryStore) Snapshot(_ context.Context, key string, limits Limits) (Snapshot, error) {
	now := m.micros()
	s := newState(now)
	if b, ok := m.budgets.Load(key); ok {
		b := b.(*memBudget)
		b.mu.Lock()
		s = b.s
		b.mu.Unlock()
	}
	return s.snapshot(now, &limits), nil
}
