package ratekeeper_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
)

// TestBackgroundKeepsInteractiveHeadroom: a batch job marked Background
// runs in the same process as interactive traffic; it never takes the
// headroom, so interactive calls made while the job saturates the budget
// are admitted without waiting.
func TestBackgroundKeepsInteractiveHeadroom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{})
		half := 0.5
		var interactive atomic.Bool
		var batch atomic.Int64
		var mu sync.Mutex
		var waits []ratekeeper.Event
		k, err := ratekeeper.New(ratekeeper.WithConfig(&tier.Config{Provider: tier.Anthropic, Tier: "tier-1",
			Defaults: tier.Override{Headroom: &half}}), ratekeeper.WithCountTokens(0),
			ratekeeper.WithObserver(func(e ratekeeper.Event) {
				if e.Kind == ratekeeper.Admitted && !interactive.Load() {
					batch.Add(1)
				}
				if e.Kind == ratekeeper.Admitted && interactive.Load() {
					mu.Lock()
					waits = append(waits, e)
					mu.Unlock()
				}
			}))
		if err != nil {
			t.Fatal(err)
		}
		client := anthropicClient(s, k, apiKey)
		params := anthropic.MessageNewParams{Model: model, MaxTokens: 16,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Summarise this."))}}
		var wg sync.WaitGroup
		bg := ratekeeper.WithPriority(context.Background(), limiter.Background)
		for range 60 { // 60 calls against 50 RPM, of which 25 are headroom
			wg.Go(func() {
				if _, err := client.Messages.New(bg, params); err != nil {
					t.Error(err)
				}
			})
		}
		synctest.Wait()
		if n := batch.Load(); n != 25 {
			t.Fatalf("%d background calls went at once; want 25, what lies above the headroom of 25", n)
		}
		interactive.Store(true)
		for range 20 {
			if _, err := client.Messages.New(context.Background(), params); err != nil {
				t.Fatal(err)
			}
		}
		interactive.Store(false)
		mu.Lock()
		for _, e := range waits {
			if e.Wait != 0 {
				t.Errorf("an interactive call waited %v during the batch; want none", e.Wait)
			}
		}
		if len(waits) != 20 {
			t.Errorf("%d interactive admissions; want 20", len(waits))
		}
		mu.Unlock()
		wg.Wait()
		if got := ratekeeper.PriorityFrom(bg); got != limiter.Background {
			t.Errorf("PriorityFrom = %v", got)
		}
	})
}

// TestRampUp: with WithRampUp a new pool starts with a tenth of its
// budget and reaches the whole of it after the ramp, instead of sending a
// whole bucket at once.
func TestRampUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{})
		var admitted atomic.Int64
		k := newKeeper(t, ratekeeper.WithCountTokens(0), ratekeeper.WithRampUp(time.Minute),
			ratekeeper.WithObserver(func(e ratekeeper.Event) {
				if e.Kind == ratekeeper.Admitted {
					admitted.Add(1)
				}
			}))
		client := anthropicClient(s, k, apiKey)
		params := anthropic.MessageNewParams{Model: model, MaxTokens: 16,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hi."))}}
		var wg sync.WaitGroup
		for range 60 {
			wg.Go(func() {
				if _, err := client.Messages.New(context.Background(), params); err != nil {
					t.Error(err)
				}
			})
		}
		synctest.Wait()
		if n := admitted.Load(); n != 5 {
			t.Fatalf("%d calls at once with a ramp-up; want 5, a tenth of 50 RPM", n)
		}
		wg.Wait()
		// After the ramp the whole budget is there again.
		time.Sleep(2 * time.Minute)
		lim, _ := k.Limiter(model)
		if got := lim.Share(tier.RPM); got != 1 {
			t.Fatalf("share after the ramp %v; want 1", got)
		}
	})
}
