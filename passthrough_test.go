package ratekeeper_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/simapi"
)

// countClient returns a client through k whose transport counts the
// count_tokens 429s the server sends.
func countClient(s *simapi.Server, k *ratekeeper.Keeper, refused *atomic.Int64) anthropic.Client {
	sim := s.Transport()
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		res, err := sim.RoundTrip(r)
		if err == nil && res.StatusCode == http.StatusTooManyRequests && strings.HasSuffix(r.URL.Path, "/count_tokens") {
			refused.Add(1)
		}
		return res, err
	})
	return anthropic.NewClient(aoption.WithBaseURL("http://sim.invalid/"), aoption.WithAPIKey(apiKey),
		aoption.WithHTTPClient(&http.Client{Transport: rt}), aoption.WithMiddleware(k.Middleware),
		aoption.WithMaxRetries(0), aoption.WithRequestTimeout(time.Hour))
}

func countTokens(t *testing.T, client anthropic.Client) {
	t.Helper()
	res, err := client.Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{Model: model,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("How many tokens is this?"))}})
	if err != nil {
		t.Fatal(err)
	}
	if res.InputTokens <= 0 {
		t.Fatalf("count %d", res.InputTokens)
	}
}

// TestCallersCountTokensAreBudgeted: the caller's own count_tokens calls
// wait for the count_tokens budget (the one the Keeper's counting spends),
// so the server refuses none of them.
func TestCallersCountTokensAreBudgeted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{CountTokensRPM: 2})
		k := newKeeper(t, ratekeeper.WithCountTokens(2))
		var refused atomic.Int64
		client := countClient(s, k, &refused)
		start := time.Now()
		for range 4 {
			countTokens(t, client)
		}
		if n := refused.Load(); n != 0 {
			t.Fatalf("the server refused %d counts; the budget should have spaced them", n)
		}
		if d := time.Since(start); d < 50*time.Second {
			t.Fatalf("4 counts at 2 a minute took %v; want them spaced by the budget", d)
		}
	})
}

// TestPassThroughIsRetried: with the SDK's retries off, a count_tokens 429
// is retried by the Keeper after its retry-after, and the call succeeds.
func TestPassThroughIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{CountTokensRPM: 2})
		k := newKeeper(t, ratekeeper.WithCountTokens(0)) // no budget: the server refuses
		var refused atomic.Int64
		client := countClient(s, k, &refused)
		for range 4 {
			countTokens(t, client)
		}
		if refused.Load() == 0 {
			t.Fatal("the server refused no count: the test is too weak")
		}
	})
}
