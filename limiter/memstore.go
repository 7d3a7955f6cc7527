package limiter

import (
	"context"
	"sync"
	"time"
)

// MemoryStore is the in-process [Store], and a [LocalStore]: budgets live
// in a map in this process, each a [LocalBudget], and time comes from the
// process's monotonic clock, anchored at the wall-clock time the store was
// created (unless [WithClock] says otherwise), so that a wall clock that
// jumps does not refill or drain budgets. It is the default store of a
// [Limiter].
//
// A MemoryStore is safe for concurrent use by multiple goroutines. Each
// budget has its own mutex, held only for the arithmetic of one call, never
// while waiting. Budgets are never evicted: a MemoryStore holds as many as
// keys it has seen.
type MemoryStore struct {
	now         func() time.Time // nil: the monotonic clock below
	epoch       time.Time        // creation, with its monotonic reading
	epochMicros int64            // epoch in µs since the Unix epoch
	budgets     sync.Map         // string → *LocalBudget
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

var _ LocalStore = (*MemoryStore)(nil)

// micros reads the store's clock in microseconds since the Unix epoch: the
// monotonic time elapsed since the store was created (one clock read,
// half the cost of time.Now) added to the wall time at creation.
func (m *MemoryStore) micros() int64 {
	if m.now != nil {
		return m.now().UnixMicro()
	}
	return m.epochMicros + int64(time.Since(m.epoch)/time.Microsecond)
}

// LocalBudget implements [LocalStore].
func (m *MemoryStore) LocalBudget(key string) *LocalBudget {
	if b, ok := m.budgets.Load(key); ok {
		return b.(*LocalBudget)
	}
	b, _ := m.budgets.LoadOrStore(key, newLocalBudget(m.micros))
	return b.(*LocalBudget)
}

// Reserve implements [Store] with [LocalBudget.Reserve].
func (m *MemoryStore) Reserve(_ context.Context, key string, req ReserveRequest) (ReserveResult, error) {
	return m.LocalBudget(key).Reserve(req), nil
}

// Settle implements [Store] with [LocalBudget.Settle].
func (m *MemoryStore) Settle(_ context.Context, key string, req SettleRequest) error {
	m.LocalBudget(key).Settle(req)
	return nil
}

// Lower implements [Store] with [LocalBudget.Lower].
func (m *MemoryStore) Lower(_ context.Context, key string, req LowerRequest) error {
	m.LocalBudget(key).Lower(req)
	return nil
}

// Snapshot implements [Store] with [LocalBudget.Snapshot]. A key the store
// has not seen is a full budget; Snapshot does not create it.
func (m *MemoryStore) Snapshot(_ context.Context, key string, limits Limits) (Snapshot, error) {
	if b, ok := m.budgets.Load(key); ok {
		return b.(*LocalBudget).Snapshot(limits), nil
	}
	now := m.micros()
	s := newState(now)
	return s.snapshot(now, &limits), nil
}
