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
