package simapi_test

import (
	"errors"
	"testing"

	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
)

func TestTierClasses(t *testing.T) {
	classes, err := simapi.TierClasses("Build")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]simapi.Class{}
	for _, c := range classes {
		byName[c.Name] = c
	}
	if c := byName["sonnet-4.x"]; c.Limits.RPM != 5000 || c.Limits.ITPM != 5_000_000 || len(c.Prefixes) == 0 {
		t.Fatalf("sonnet-4.x at Build = %+v; want the preset's 5000 RPM, 5M ITPM", c)
	}
	if _, err := simapi.New(simapi.Config{Classes: classes}); err != nil {
		t.Fatalf("New with the tier's classes: %v", err)
	}
	if _, err := simapi.TierClasses("platinum"); !errors.Is(err, tier.ErrUnknownTier) {
		t.Fatalf("TierClasses(platinum) = %v; want ErrUnknownTier", err)
	}
}

func TestTierBatchLimits(t *testing.T) {
	bl, err := simapi.TierBatchLimits("Build")
	if err != nil {
		t.Fatal(err)
	}
	ti, err := tier.LookupTier(tier.Anthropic, "build")
	if err != nil {
		t.Fatal(err)
	}
	want := simapi.BatchLimits{RPM: ti.Batches.RPM, Queue: ti.Batches.QueuedRequests,
		MaxRequests: ti.Batches.MaxRequestsPerBatch, MaxBytes: ti.Batches.MaxBatchBytes}
	if bl != want || bl.RPM == 0 || bl.Queue == 0 {
		t.Errorf("TierBatchLimits(Build) = %+v; want the preset's %+v", bl, want)
	}
	cfg := simapi.Config{BatchRPM: bl.RPM, BatchQueue: bl.Queue, MaxBatchRequests: bl.MaxRequests, MaxBatchBytes: bl.MaxBytes}
	if _, err := simapi.New(cfg); err != nil {
		t.Errorf("New with the tier's batch limits: %v", err)
	}
	if _, err := simapi.TierBatchLimits("platinum"); !errors.Is(err, tier.ErrUnknownTier) {
		t.Errorf("TierBatchLimits(platinum) = %v; want ErrUnknownTier", err)
	}
}
