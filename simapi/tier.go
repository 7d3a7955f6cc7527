package simapi

import (
	"fmt"
	"strings"

	"github.com/ratekeeper/ratekeeper/tier"
)

// TierClasses returns a class table with the limits ratekeeper's presets
// give the named Anthropic tier (tier.Presets): one Class per preset class,
// matching its model IDs by prefix. Use it to test your own code against a
// server that limits like your account:
//
//	classes, err := simapi.TierClasses("build")
//	s, err := simapi.New(simapi.Config{Classes: classes, Burst: 5 * time.Second})
//
// The project's own tests use DefaultClasses, which are written
// independently of the presets, so that the simulator does not merely
// agree with the limiter it measures.
func TierClasses(tierName string) ([]Class, error) {
	want, err := tier.LookupTier(tier.Anthropic, tierName)
	if err != nil {
		return nil, fmt.Errorf("simapi: %w", err)
	}
	var out []Class
	for _, p := range tier.Presets(tier.Anthropic) {
		if p.Tier.Name != want.Name || p.Budget.RPM == 0 {
			continue
		}
		var prefixes []string
		for _, m := range p.Class.Models {
			if !strings.Contains(m, " ") {
				prefixes = append(prefixes, m)
			}
		}
		if len(prefixes) == 0 {
			continue
		}
		out = append(out, Class{Name: p.Class.Name, Provider: tier.Anthropic, Prefixes: prefixes,
			Limits: Limits{RPM: p.Budget.RPM, ITPM: p.Budget.ITPM, OTPM: p.Budget.OTPM}})
	}
	return out, nil
}

// BatchLimits are the Message Batches limits of a simulated account, one field per Config
// field; a zero field means what the Config field's zero means (unlimited, or the
// documented default).
type BatchLimits struct {
	RPM         int64 // Config.BatchRPM: calls per minute over all batch endpoints
	Queue       int64 // Config.BatchQueue: batch requests in the processing queue
	MaxRequests int64 // Config.MaxBatchRequests: requests in one batch
	MaxBytes    int64 // Config.MaxBatchBytes: bytes of one create body
}

// TierBatchLimits returns the Message Batches limits ratekeeper's presets give the named
// Anthropic tier (tier.TierInfo.Batches), named as TierClasses names tiers. Zero fields are
// limits the presets do not publish for the tier. Set them with
//
//	bl, err := simapi.TierBatchLimits("build")
//	cfg.BatchRPM, cfg.BatchQueue = bl.RPM, bl.Queue
//	cfg.MaxBatchRequests, cfg.MaxBatchBytes = bl.MaxRequests, bl.MaxBytes
func TierBatchLimits(tierName string) (BatchLimits, error) {
	t, err := tier.LookupTier(tier.Anthropic, tierName)
	if err != nil {
		return BatchLimits{}, fmt.Errorf("simapi: %w", err)
	}
	b := t.Batches
	return BatchLimits{RPM: b.RPM, Queue: b.QueuedRequests, MaxRequests: b.MaxRequestsPerBatch, MaxBytes: b.MaxBatchBytes}, nil
}
