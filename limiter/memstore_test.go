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

// opaqueStore hides all but the Store methods of the store it wraps: a
// Limiter cannot tell it is a LocalStore, so every call goes through the
// Store interface, as with a shared store, rather than to the LocalBudget.
type opaqueStore struct{ limiter.Store }

// TestMemoryStoreConformanceThroughInterface runs the suite against the
// MemoryStore's Store methods themselves (Reserve, Settle, Lower,
// Snapshot), which a Limiter does not call when it sees a LocalStore.
func TestMemoryStoreConformanceThroughInterface(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) limiter.Store {
		return opaqueStore{limiter.NewMemoryStore(limiter.WithClock(now))}
	})
}
