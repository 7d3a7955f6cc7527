package ratekeeper_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests; the
// end-to-end tests also run in synctest bubbles, which fail on a goroutine
// still blocked when the bubble ends.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
