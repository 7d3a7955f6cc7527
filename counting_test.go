package ratekeeper_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// events records a Keeper's events.
type events struct {
	mu  sync.Mutex
	all []ratekeeper.Event
}

func (e *events) observe(ev ratekeeper.Event) { e.mu.Lock(); e.all = append(e.all, ev); e.mu.Unlock() }

func (e *events) of(kind ratekeeper.EventKind) []ratekeeper.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []ratekeeper.Event
	for _, ev := range e.all {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

func ask(t *testing.T, client anthropic.Client, text string) {
	t.Helper()
	askModel(t, client, model, text)
}

func askModel(t *testing.T, client anthropic.Client, m, text string) {
	t.Helper()
	_, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: anthropic.Model(m), MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestUnsureCallsAreCounted: a first request, whose estimate carries a
// wide margin, is counted by the server (its own count_tokens bucket, not
// the Messages budget) and reserves the count plus CountSlack.
func TestUnsureCallsAreCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{CountTokensRPM: 100})
		var ev events
		k := newKeeper(t, ratekeeper.WithObserver(ev.observe))
		ask(t, anthropicClient(s, k, apiKey), strings.Repeat("Привет, как дела? ", 200))
		counted, admitted, settled := ev.of(ratekeeper.Counted), ev.of(ratekeeper.Admitted), ev.of(ratekeeper.Settled)
		if len(counted) != 1 || len(admitted) != 1 || len(settled) != 1 {
			t.Fatalf("events %+v; want one counted, admitted and settled", ev.all)
		}
		n := counted[0].Cost.InputTokens
		if got := settled[0].Cost.InputTokens; got != n {
			t.Fatalf("counted %d input tokens, the server charged %d; want the same", n, got)
		}
		if got, want := admitted[0].Cost.InputTokens, n+(n+99)/100; got != want {
			t.Fatalf("reserved %d input tokens for a count of %d; want %d", got, n, want)
		}
		if c := s.Ledger().Counts(apiKey, "sonnet-4"); c.Admitted != 1 {
			t.Fatalf("the Messages ledger holds %+v; want one admitted call, the count apart", c)
		}
	})
}

// TestCountingNeverWaits: with the count_tokens budget spent, unsure calls
// go on with their estimates at once.
func TestCountingNeverWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{CountTokensRPM: 100})
		var ev events
		// A margin that never narrows: every call is unsure.
		est, err := tokencount.New(tokencount.WithMargin(tokencount.Margin{Initial: 0.5, Min: 0.5, Max: 0.5, Quantile: 0.9}))
		if err != nil {
			t.Fatal(err)
		}
		k := newKeeper(t, ratekeeper.WithObserver(ev.observe), ratekeeper.WithCountTokens(1), ratekeeper.WithEstimator(est))
		client := anthropicClient(s, k, apiKey)
		start := time.Now()
		for range 3 {
			ask(t, client, "Hello there.")
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("3 calls took %v; counting must not wait for its budget", d)
		}
		if n := len(ev.of(ratekeeper.Counted)); n != 1 {
			t.Fatalf("%d calls counted with a budget of 1 a minute; want 1", n)
		}
	})
}

// TestCountingFailureFallsBack: a count_tokens endpoint that fails costs
// the call nothing but the attempt, and counting pauses.
func TestCountingFailureFallsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{})
		var counts atomic.Int64
		sim := s.Transport()
		broken := roundTripper(func(r *http.Request) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, "/count_tokens") {
				counts.Add(1)
				// What count_tokens takes, and nothing it refuses.
				b, _ := io.ReadAll(r.Body)
				if !strings.Contains(string(b), `"messages"`) || strings.Contains(string(b), "max_tokens") {
					t.Errorf("count_tokens body: %s", b)
				}
				if r.Header.Get("X-Api-Key") != apiKey && r.Header.Get("Authorization") != "Bearer "+apiKey {
					t.Error("count_tokens request without the call's API key")
				}
				return &http.Response{StatusCode: 500, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
			}
			return sim.RoundTrip(r)
		})
		est, err := tokencount.New(tokencount.WithMargin(tokencount.Margin{Initial: 0.5, Min: 0.5, Max: 0.5, Quantile: 0.9}))
		if err != nil {
			t.Fatal(err)
		}
		var ev events
		k := newKeeper(t, ratekeeper.WithObserver(ev.observe), ratekeeper.WithEstimator(est))
		client := anthropic.NewClient(aoption.WithBaseURL("http://sim.invalid/"), aoption.WithAPIKey(apiKey),
			aoption.WithHTTPClient(&http.Client{Transport: broken}), aoption.WithMiddleware(k.Middleware), aoption.WithMaxRetries(0))
		for range 3 {
			ask(t, client, "Hello there.")
		}
		if n := counts.Load(); n != 1 {
			t.Fatalf("count_tokens asked %d times; want once, then a pause", n)
		}
		if n := len(ev.of(ratekeeper.Counted)); n != 0 {
			t.Fatalf("%d calls counted by a failing endpoint", n)
		}
		time.Sleep(time.Minute)
		ask(t, client, "Hello there.")
		if n := counts.Load(); n != 2 {
			t.Fatalf("count_tokens asked %d times; want again after the pause", n)
		}
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
