package ratekeeper

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ratekeeper/ratekeeper/tier"
)

// ErrTierMismatch is matched by the Err of a Mismatched event.
var ErrTierMismatch = errors.New("the server's limits differ from the configured tier's")

// checkTier compares, once per pool, the limits of the first successful
// response that reports any with the configured budget, and reports a
// mismatch with the presets the server's limits match (tier.Infer).
func (c *call) checkTier(ctx context.Context, attempt int, obs *tier.Observation) {
	p := c.p
	if p.tierChecked.Load() {
		return
	}
	some := false
	for d := range tier.NumDimensions {
		some = some || obs.Dims[d].Present && obs.Dims[d].Limit > 0
	}
	if !some || !p.tierChecked.CompareAndSwap(false, true) {
		return
	}
	p.mu.Lock()
	configured := p.configured
	p.mu.Unlock()
	mm := tier.Compare(configured, *obs)
	if len(mm) == 0 {
		return
	}
	parts := make([]string, len(mm))
	for i, m := range mm {
		parts[i] = m.String()
	}
	msg := strings.Join(parts, "; ")
	if in, err := tier.Infer(c.rt.provider, *obs, c.est.Model); err == nil {
		if len(in.Matches) > 0 {
			names := make([]string, len(in.Matches))
			for i, m := range in.Matches {
				names[i] = fmt.Sprintf("%q (%s scheme)", m.Tier.Name, m.Tier.Scheme)
			}
			msg += "; the server's limits match tier " + strings.Join(names, " or ")
		} else {
			msg += "; they match no preset (workspace limits, a custom tier, or newer numbers than the tables')"
		}
	}
	e := c.event(Mismatched, attempt)
	e.Err = fmt.Errorf("%w: %s", ErrTierMismatch, msg)
	c.emit(ctx, e)
}
