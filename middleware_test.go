package ratekeeper

// Regression tests for bugs found in a review of the middleware: each
// failed before its fix (see the commit that added this file).

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ratekeeper/ratekeeper/tier"
)

func testOpenAIKeeper(t *testing.T, opts ...Option) *Keeper {
	t.Helper()
	rpm, tpm := int64(500), int64(30_000)
	k, err := New(append([]Option{WithConfig(&tier.Config{
		Provider: tier.OpenAI,
		Models:   map[string]tier.ModelConfig{"gpt-4o": {Tier: "none", Override: tier.Override{RPM: &rpm, TPM: &tpm}}},
	})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testAnthropicKeeper counts no tokens: the hand-written next handlers
// answer Messages only (counting_test.go tests counting).
func testAnthropicKeeper(t *testing.T, opts ...Option) *Keeper {
	t.Helper()
	k, err := New(append([]Option{WithTier(tier.Anthropic, "tier-1"), WithCountTokens(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testOpenAIReq(ctx context.Context) *http.Request {
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":10}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://api.openai.com/v1/chat/completions", strings.NewReader(body))
	return req
}

func testAnthropicReq(ctx context.Context) *http.Request {
	body := `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://api.anthropic.com/v1/messages", strings.NewReader(body))
	return req
}

func testResp(status int, h http.Header, body string) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
}

const okAnthropic = `{"id":"x","type":"message","content":[],"usage":{"input_tokens":5,"output_tokens":2}}`

// A 429 naming a dimension the budget does not limit (OpenAI's RPD) is
// retried at once, ignoring retry-after: freeze clamps only RPD, which
// ClampAll skips, and run() uses wait = 0 for 429s.
func Test429OnUnbudgetedDimensionWaitsRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := DefaultRetryPolicy
		p.MaxRateLimited = 3
		k := testOpenAIKeeper(t, WithRetry(p))
		var times []time.Time
		next := func(req *http.Request) (*http.Response, error) {
			times = append(times, time.Now())
			h := http.Header{}
			h.Set("Retry-After", "9")
			return testResp(429, h, `{"error":{"message":"Rate limit reached for gpt-4o in organization org-x on requests per day (RPD): Limit 10000, Used 10000, Requested 1. Please try again in 8.64s.","type":"requests","code":"rate_limit_exceeded"}}`), nil
		}
		res, err := k.Middleware(testOpenAIReq(context.Background()), next)
		if err == nil {
			res.Body.Close()
		}
		for i := 1; i < len(times); i++ {
			if gap := times[i].Sub(times[i-1]); gap < 8*time.Second {
				t.Errorf("attempt %d sent %v after the 429 that asked for retry-after 9s", i+1, gap)
			}
		}
	})
}

// A 408 (or 409) is retried with backoff ≥ retry-after, but the
// MaxRetryAfter ceiling is only applied to 429 and 5xx: a retry-after of an
// hour makes the Keeper sleep an hour.
func TestRetryAfterCeilingOnEveryRetryableStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := testAnthropicKeeper(t)
		calls := 0
		next := func(req *http.Request) (*http.Response, error) {
			calls++
			if calls == 1 {
				h := http.Header{}
				h.Set("Retry-After", "3600")
				return testResp(408, h, `{"type":"error","error":{"type":"timeout_error","message":"timeout"}}`), nil
			}
			return testResp(200, http.Header{"Content-Type": {"application/json"}}, okAnthropic), nil
		}
		start := time.Now()
		res, err := k.Middleware(testAnthropicReq(context.Background()), next)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		if d := time.Since(start); d > DefaultRetryPolicy.MaxRetryAfter {
			t.Errorf("slept %v, beyond MaxRetryAfter %v", d, DefaultRetryPolicy.MaxRetryAfter)
		}
	})
}

// A response without a Header map (a hand-built response from another
// middleware or a test double) panics at res.Header.Set("X-Should-Retry").
func TestNilHeaderAndBodyFromNext(t *testing.T) {
	k := testAnthropicKeeper(t)
	next := func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 400, Body: io.NopCloser(strings.NewReader(`{}`))}, nil
	}
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("Middleware panicked on a response with a nil Header: %v", r)
		}
	}()
	res, err := k.Middleware(testAnthropicReq(context.Background()), next)
	if err == nil {
		res.Body.Close()
	}
}

// A panic below the middleware (next, or the observer) leaks the
// concurrency slot for good (and the reservation stays open).
func TestPanicReleasesSlot(t *testing.T) {
	k := testAnthropicKeeper(t, WithMaxConcurrency(1))
	func() {
		defer func() { _ = recover() }()
		k.Middleware(testAnthropicReq(context.Background()), func(*http.Request) (*http.Response, error) { panic("boom") })
	}()
	if n := k.gate.InFlight(); n != 0 {
		t.Errorf("after a panic in next, %d slot(s) still held", n)
	}
	k2 := testAnthropicKeeper(t, WithMaxConcurrency(1), WithObserver(func(e Event) {
		if e.Kind == Admitted {
			panic("observer")
		}
	}))
	func() {
		defer func() { _ = recover() }()
		k2.Middleware(testAnthropicReq(context.Background()), func(*http.Request) (*http.Response, error) {
			return testResp(200, nil, okAnthropic), nil
		})
	}()
	if n := k2.gate.InFlight(); n != 0 {
		t.Errorf("after a panic in the observer, %d slot(s) still held", n)
	}
}

// A request that reached the server and then hit the context deadline (the
// SDK's per-attempt timeout) is refunded as if never sent.
func TestTimeoutAfterSendKeepsCharge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := testAnthropicKeeper(t)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		before, _ := k.Remaining(context.Background(), "claude-sonnet-4-5")
		_, err := k.Middleware(testAnthropicReq(ctx), func(req *http.Request) (*http.Response, error) {
			// the server has the request; the response does not come in time
			<-req.Context().Done()
			return nil, req.Context().Err()
		})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		after, _ := k.Remaining(context.Background(), "claude-sonnet-4-5")
		if after.Buckets[tier.RPM].Level >= before.Buckets[tier.RPM].Level {
			t.Errorf("RPM level %v → %v: the sent request was refunded", before.Buckets[tier.RPM].Level, after.Buckets[tier.RPM].Level)
		}
	})
}
