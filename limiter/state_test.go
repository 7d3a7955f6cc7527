package limiter_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/limiter/storetest"
)

// stateStore is a shared Store as one outside this module would write it,
// with nothing but the exported arithmetic: each call loads the key's
// State (NewState for a new key), applies the method of the same name and
// keeps the result, under a mutex standing in for a database transaction.
type stateStore struct {
	now func() time.Time
	mu  sync.Mutex // guards states
	// states is what a database would hold, one row per key.
	states map[string]limiter.State
}

func (s *stateStore) update(key string, f func(st *limiter.State, now time.Time)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	st, ok := s.states[key]
	if !ok {
		st = limiter.NewState(now)
	}
	f(&st, now)
	s.states[key] = st
}

func (s *stateStore) Reserve(_ context.Context, key string, req limiter.ReserveRequest) (res limiter.ReserveResult, _ error) {
	s.update(key, func(st *limiter.State, now time.Time) { res = st.Reserve(now, &req) })
	return res, nil
}

func (s *stateStore) Settle(_ context.Context, key string, req limiter.SettleRequest) error {
	s.update(key, func(st *limiter.State, now time.Time) { st.Settle(now, &req) })
	return nil
}

func (s *stateStore) Lower(_ context.Context, key string, req limiter.LowerRequest) error {
	s.update(key, func(st *limiter.State, now time.Time) { st.Lower(now, &req) })
	return nil
}

func (s *stateStore) Snapshot(_ context.Context, key string, limits limiter.Limits) (snap limiter.Snapshot, _ error) {
	s.update(key, func(st *limiter.State, now time.Time) { snap = st.Snapshot(now, &limits) })
	return snap, nil
}

// TestStateStoreConformance: a store written outside the package on the
// exported arithmetic passes the suite.
func TestStateStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) limiter.Store {
		return &stateStore{now: now, states: make(map[string]limiter.State)}
	})
}
