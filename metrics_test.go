package ratekeeper_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
)

// TestMetricsAndEventsTellTheStory: events of one call share a CallID,
// Settled carries what was reserved, and Metrics counts refusals by
// reason, admissions and usage as the server recorded them.
func TestMetricsAndEventsTellTheStory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{})
		var ev events
		k := newKeeper(t, ratekeeper.WithObserver(ev.observe), ratekeeper.WithCountTokens(0), ratekeeper.WithMaxWait(time.Second))
		client := anthropicClient(s, k, apiKey)
		for range 3 {
			ask(t, client, "Hello there, how are you?")
		}
		// Larger than the ITPM bucket: refused as too large.
		_, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{Model: model, MaxTokens: 64,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(strings.Repeat("many words ", 40000)))}})
		if !errors.Is(err, limiter.ErrTooLarge) {
			t.Fatalf("a call above the ITPM capacity = %v; want ErrTooLarge", err)
		}
		// Over RPM: 50 at once, then one that cannot wait a second.
		for range 47 {
			ask(t, client, "Hi.")
		}
		if _, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{Model: model, MaxTokens: 8,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hi."))}}); !errors.Is(err, limiter.ErrLimited) {
			t.Fatalf("the 51st call = %v; want ErrLimited (WithMaxWait)", err)
		}

		admitted, settled := ev.of(ratekeeper.Admitted), ev.of(ratekeeper.Settled)
		for i, a := range admitted {
			if a.CallID == 0 || settled[i].CallID != a.CallID || settled[i].Reserved != a.Cost || a.Provider != tier.Anthropic {
				t.Fatalf("admitted %+v, settled %+v: want one CallID, Reserved = the admitted cost", a, settled[i])
			}
		}
		m := k.Metrics(context.Background())
		if len(m.Pools) != 1 {
			t.Fatalf("%d pools; want 1", len(m.Pools))
		}
		p := m.Pools[0]
		c := s.Ledger().Counts(apiKey, "sonnet-4")
		if p.Admitted != uint64(c.Admitted) || p.Admitted != 50 {
			t.Errorf("Admitted %d; the server admitted %d (want 50)", p.Admitted, c.Admitted)
		}
		if p.Refused[ratekeeper.ReasonTooLarge] != 1 || p.Refused[ratekeeper.ReasonDeadline] != 1 {
			t.Errorf("Refused %v; want one too large and one beyond the wait bound", p.Refused)
		}
		if got, want := p.SettledCost[tier.ITPM], s.Ledger().Usage(apiKey, "sonnet-4", simapi.InputTokens); got != want {
			t.Errorf("settled input %d; the server charged %d", got, want)
		}
		if p.Wait.Count != 50 || p.InputRatio.Count != 50 || p.Remaining.Buckets[tier.RPM].Limit != 50 {
			t.Errorf("histograms %d and %d observations, RPM limit %d; want 50, 50, 50", p.Wait.Count, p.InputRatio.Count, p.Remaining.Buckets[tier.RPM].Limit)
		}
		if st := k.Stats(model); st.Observations != 50 {
			t.Errorf("Stats(%s).Observations = %d; want 50", model, st.Observations)
		}
	})
}
