package limiter_test

import (
	"testing"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/limiter/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) limiter.Store {
		return limiter.NewMemoryStore(limiter.WithClock(now))
	})
}

// opaqueStore hides the concrete type of the store it wraps: a Limiter
// cannot tell it is a *MemoryStore, so every call goes through the Store
// interface rather than the Limiter's short cut.
type opaqueStore struct{ limiter.Store }

// TestMemoryStoreConformanceThroughInterface runs the suite against the
// MemoryStore's Store methods themselves (Reserve, Settle, Lower,
// Snapshot), which the Limiter bypasses when it sees a *MemoryStore.
func TestMemoryStoreConformanceThroughInterface(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) limiter.Store {
		return opaqueStore{limiter.NewMemoryStore(limiter.WithClock(now))}
	})
}
