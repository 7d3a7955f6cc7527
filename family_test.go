package ratekeeper_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// TestNewModelWorks: a model the presets do not list (claude-opus-5-5,
// which anthropic-sdk-go already names) is budgeted as its family's class
// and its calls succeed; the mapping is reported once, not per call.
func TestNewModelWorks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{Classes: []simapi.Class{{Name: "opus-5-5", Provider: tier.Anthropic,
			Prefixes: []string{"claude-opus-5-5"}, Limits: simapi.Limits{RPM: 50, ITPM: 30000, OTPM: 8000}}}})
		var ev events
		k, err := ratekeeper.New(ratekeeper.WithTier(tier.Anthropic, "build"), ratekeeper.WithObserver(ev.observe), ratekeeper.WithCountTokens(0))
		if err != nil {
			t.Fatal(err)
		}
		client := anthropicClient(s, k, apiKey)
		for range 3 {
			askModel(t, client, "claude-opus-5-5", "Hello there.")
		}
		mapped := ev.of(ratekeeper.Mapped)
		if len(mapped) != 1 || mapped[0].Model != "claude-opus-5-5" || mapped[0].Pool != "current/opus-5" {
			t.Fatalf("Mapped events %+v; want one, claude-opus-5-5 → current/opus-5", mapped)
		}
		if n := len(ev.of(ratekeeper.Settled)); n != 3 {
			t.Fatalf("%d calls settled; want 3", n)
		}
		// The server's limits (50 RPM, not Build's 5000) were learned.
		lim, err := k.Limiter("claude-opus-5-5")
		if err != nil {
			t.Fatal(err)
		}
		if got := lim.Budget().RPM; got != 50 {
			t.Errorf("RPM after the first responses %d; want the server's 50", got)
		}
	})
}

// TestOpenAITierAloneFailsAtNew: with no per-model limits every OpenAI call
// would fail; New says so instead.
func TestOpenAITierAloneFailsAtNew(t *testing.T) {
	if _, err := ratekeeper.New(ratekeeper.WithTier(tier.OpenAI, "tier-1")); !errors.Is(err, tier.ErrUnknownModel) {
		t.Fatalf("New(WithTier(OpenAI, tier-1)) = %v; want ErrUnknownModel", err)
	}
}

// TestTierMismatchIsReported: a Keeper configured for Build on an account
// whose headers show Tier 1's limits says so once, naming the tier the
// limits match.
func TestTierMismatchIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{}) // Tier 1 limits
		var ev events
		k, err := ratekeeper.New(ratekeeper.WithTier(tier.Anthropic, "build"), ratekeeper.WithObserver(ev.observe), ratekeeper.WithCountTokens(0))
		if err != nil {
			t.Fatal(err)
		}
		client := anthropicClient(s, k, apiKey)
		for range 3 {
			ask(t, client, "Hello there.")
		}
		mm := ev.of(ratekeeper.Mismatched)
		if len(mm) != 1 || !errors.Is(mm[0].Err, ratekeeper.ErrTierMismatch) || !strings.Contains(mm[0].Err.Error(), `"tier-1" (legacy scheme)`) {
			t.Fatalf("Mismatched events %+v; want one naming tier-1", mm)
		}
		// Configured right, nothing is reported.
		var ev2 events
		k2 := newKeeper(t, ratekeeper.WithObserver(ev2.observe), ratekeeper.WithCountTokens(0))
		ask(t, anthropicClient(s, k2, "sk-ant-other"), "Hello.")
		if n := len(ev2.of(ratekeeper.Mismatched)); n != 0 {
			t.Fatalf("%d Mismatched events with the right tier", n)
		}
	})
}

// TestTooLargeOnlyByTheMargin: a request whose central estimate fits the
// ITPM bucket but whose margin does not is not impossible: it is admitted
// with a reservation of the whole bucket, and succeeds.
func TestTooLargeOnlyByTheMargin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{})
		est, err := tokencount.New()
		if err != nil {
			t.Fatal(err)
		}
		// Grow the prompt until its margin, not its point, exceeds 30k.
		var text string
		for n := 1000; ; n += 250 {
			text = strings.Repeat("Lorem ipsum dolor sit amet, consectetur. ", n)
			body, _ := json.Marshal(map[string]any{"model": model, "max_tokens": 16,
				"messages": []map[string]any{{"role": "user", "content": text}}})
			e, err := est.EstimateAnthropic(body)
			if err != nil {
				t.Fatal(err)
			}
			if e.InputTokens > 30_000 {
				if e.PointTokens >= 29_000 {
					t.Skipf("no prompt with a point below 29k and a margin above 30k (point %d, reserved %d)", e.PointTokens, e.InputTokens)
				}
				break
			}
		}
		var ev events
		k := newKeeper(t, ratekeeper.WithCountTokens(0), ratekeeper.WithObserver(ev.observe))
		ask(t, anthropicClient(s, k, apiKey), text)
		if a := ev.of(ratekeeper.Admitted); len(a) != 1 || a[0].Cost.InputTokens != 30_000 {
			t.Fatalf("admitted %+v; want one call reserving the whole bucket, 30000", a)
		}
	})
}
