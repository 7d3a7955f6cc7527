// Package wait sleeps on a timer until a context ends: the one sleep the
// Keeper's retries and the batch Runner's polls share.
package wait

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends (its error is returned then). A d of
// zero or less returns at once, with ctx's error if it has ended.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
