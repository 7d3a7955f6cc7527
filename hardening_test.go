package ratekeeper

// Regression tests for issue 9: one bad header or body must never freeze a
// budget. Each failed on the code before the fix.

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// frozenStore is a memory store whose clock never moves: levels show
// exactly what was charged, whatever time the retries spend.
func frozenStore() limiter.Store {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	return limiter.NewMemoryStore(limiter.WithClock(func() time.Time { return at }))
}

// events collects a Keeper's events.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) observe(ev Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func (e *events) of(kind EventKind) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for _, ev := range e.all {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// checkNotFrozen asserts that no bucket of model's pool is further from
// full than MaxRetryAfter plus two of its periods (a freeze of at most
// MaxRetryAfter from a level of at least 0, or a debt of at most one
// capacity) and, with settled, that no level is below −capacity (the most
// debt a settlement may leave).
func checkNotFrozen(t *testing.T, k *Keeper, model string, settled bool) {
	t.Helper()
	rem, err := k.Remaining(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	for d, b := range rem.Buckets {
		if b.Capacity == 0 {
			continue
		}
		dim := tier.Dimension(d)
		if bound := k.retry.MaxRetryAfter + 2*dim.Period(); b.FullIn > bound {
			t.Errorf("%v: full in %v; want at most %v", dim, b.FullIn, bound)
		}
		if settled && b.Level < -b.Capacity {
			t.Errorf("%v: level %v below -capacity %v", dim, b.Level, -b.Capacity)
		}
	}
}

// A 429 whose reset lies decades ahead (and no usable retry-after) fails
// the call at once with ErrRetryAfterTooLong, freezes the budget for at
// most MaxRetryAfter, and the next call goes through within that bound.
// Before: the hold was reset − now, unbounded; the retry (and every later
// call) failed with "retry after 2562047h47m16s", RPM full in ~292 years.
func TestFarFutureResetFreezesAtMostMaxRetryAfter(t *testing.T) {
	cases := []struct {
		name    string
		openai  bool
		headers map[string]string
	}{
		{"anthropic 9999", false, map[string]string{
			"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "0",
			"anthropic-ratelimit-requests-reset": "9999-12-31T23:59:59Z"}},
		{"anthropic 2100", false, map[string]string{
			"anthropic-ratelimit-requests-remaining": "0", "anthropic-ratelimit-requests-reset": "2100-01-01T00:00:00Z"}},
		{"anthropic retry-after 0", false, map[string]string{
			"retry-after": "0", "anthropic-ratelimit-requests-remaining": "0", "anthropic-ratelimit-requests-reset": "9999-12-31T23:59:59Z"}},
		{"anthropic input tokens", false, map[string]string{
			"anthropic-ratelimit-input-tokens-remaining": "0", "anthropic-ratelimit-input-tokens-reset": "9999-12-31T23:59:59Z"}},
		{"openai relative", true, map[string]string{
			"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2562047h"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var k *Keeper
				var req func(context.Context) *http.Request
				ok := okAnthropic
				model := "claude-sonnet-4-5"
				if tc.openai {
					k, req, ok, model = testOpenAIKeeper(t), testOpenAIReq, `{"usage":{"prompt_tokens":5,"completion_tokens":2}}`, "gpt-4o"
				} else {
					k, req = testAnthropicKeeper(t), testAnthropicReq
				}
				refuse := true
				next := func(*http.Request) (*http.Response, error) {
					if refuse {
						h := http.Header{}
						for n, v := range tc.headers {
							h.Set(n, v)
						}
						return testResp(429, h, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`), nil
					}
					return testResp(200, nil, ok), nil
				}
				_, err := k.Middleware(req(context.Background()), next)
				var e *Error
				if !errors.Is(err, ErrRetryAfterTooLong) || !errors.As(err, &e) || e.RetryAfter <= k.retry.MaxRetryAfter {
					t.Fatalf("first call: err = %v; want an *Error matching ErrRetryAfterTooLong", err)
				}
				checkNotFrozen(t, k, model, false)

				refuse = false
				start := time.Now()
				res, err := k.Middleware(req(context.Background()), next)
				if err != nil {
					t.Fatalf("next call: %v", err)
				}
				drain(res)
				if waited := time.Since(start); waited > k.retry.MaxRetryAfter {
					t.Errorf("next call waited %v; want at most MaxRetryAfter %v", waited, k.retry.MaxRetryAfter)
				}
			})
		})
	}
}

// A reset in the past teaches nothing: before, it made a 200 with 10 of 50
// requests left look like a 12-second bucket.
func TestPastResetIsIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := testAnthropicKeeper(t)
		next := func(*http.Request) (*http.Response, error) {
			h := http.Header{}
			h.Set("anthropic-ratelimit-requests-limit", "50")
			h.Set("anthropic-ratelimit-requests-remaining", "10")
			h.Set("anthropic-ratelimit-requests-reset", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
			return testResp(200, h, okAnthropic), nil
		}
		res, err := k.Middleware(testAnthropicReq(context.Background()), next)
		if err != nil {
			t.Fatal(err)
		}
		drain(res)
		lim, _ := k.Limiter("claude-sonnet-4-5")
		if b := lim.Budget().Burst; b != 0 {
			t.Errorf("Burst = %v after a stale reset; want none learned", b)
		}
	})
}

// A 200 whose usage is absurd is charged at what the request could have
// cost, not learned, and reported; the budget stays usable. Before: ITPM
// went to −1.1e12 (every later call failed) and the estimate for "hi" rose
// from 18 to 1,389 tokens.
func TestAbsurdUsageIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen events
		k := testAnthropicKeeper(t, WithObserver(seen.observe))
		probe := []byte(`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
		before, err := k.est.EstimateAnthropic(probe)
		if err != nil {
			t.Fatal(err)
		}
		absurd := `{"id":"x","type":"message","content":[],"usage":{"input_tokens":99999999999999999,"cache_read_input_tokens":99999999999999999,"output_tokens":99999999999999999}}`
		for range 3 {
			res, err := k.Middleware(testAnthropicReq(context.Background()), func(*http.Request) (*http.Response, error) {
				return testResp(200, nil, absurd), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			drain(res)
		}
		checkNotFrozen(t, k, "claude-sonnet-4-5", true)
		after, _ := k.est.EstimateAnthropic(probe)
		if after.InputTokens != before.InputTokens {
			t.Errorf("estimate of %q: %d tokens before, %d after absurd usage; want unchanged", probe, before.InputTokens, after.InputTokens)
		}
		b := seen.of(Bounded)
		if len(b) != 3 || !errors.Is(b[0].Err, ErrImplausible) || b[0].Cost.InputTokens > before.MaxInputTokens || b[0].Cost.OutputTokens > 10 {
			t.Fatalf("Bounded events = %+v; want 3, charged at most %d input and 10 output tokens", b, before.MaxInputTokens)
		}
		// The budget still admits an ordinary call.
		start := time.Now()
		res, err := k.Middleware(testAnthropicReq(context.Background()), func(*http.Request) (*http.Response, error) {
			return testResp(200, nil, okAnthropic), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		drain(res)
		if w := time.Since(start); w > 3*time.Minute {
			t.Errorf("an ordinary call waited %v after the absurd usage", w)
		}
	})
}

// A limit the call in hand could not have fit is ignored: before, one
// header "input-tokens-limit: 1" made every later call fail with
// ErrTooLarge, and no response could ever correct it.
func TestImpossibleLearnedLimitIsIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen events
		k := testAnthropicKeeper(t, WithObserver(seen.observe))
		next := func(*http.Request) (*http.Response, error) {
			h := http.Header{}
			h.Set("anthropic-ratelimit-input-tokens-limit", "1")
			return testResp(200, h, okAnthropic), nil
		}
		for range 2 {
			res, err := k.Middleware(testAnthropicReq(context.Background()), next)
			if err != nil {
				t.Fatalf("call after a limit of 1: %v", err)
			}
			drain(res)
		}
		lim, _ := k.Limiter("claude-sonnet-4-5")
		if got := lim.Budget().ITPM; got != 30_000 {
			t.Errorf("ITPM = %d; want the configured 30000 kept", got)
		}
		if b := seen.of(Bounded); len(b) != 2 || !b[0].HasDimension || b[0].Dimension != tier.ITPM || b[0].Limit != 1 {
			t.Errorf("Bounded events = %+v; want one per call naming ITPM, limit 1", b)
		}
	})
}

// What each kind of refusal leaves charged, with a clock that does not move
// (so that levels show the charges exactly): an overload is decided before
// admission and a failed dial never reached the server, so both are
// refunded whole; another 5xx keeps the request and its input, not the
// output. Before: every failed attempt kept its whole reservation (3×529
// then 200 spent 4 requests, 4× the input estimate and 4× max_tokens).
func TestRefusalsChargeWhatTheServerTook(t *testing.T) {
	cases := []struct {
		name   string
		openai bool
		steps  []int // statuses before the 200; 0 is a failed dial
		// want: what is charged in all, beyond the final success's usage
		// (5 input and 2 output tokens, 1 request)
		wantRequests, wantInput, wantOutput int64
	}{
		{"3×529 then 200", false, []int{529, 529, 529}, 0, 0, 0},
		{"503 then 200", false, []int{503}, 0, 0, 0},
		{"dial error then 200", false, []int{0}, 0, 0, 0},
		{"500 then 200", false, []int{500}, 1, -1, 0},
		{"openai 503 then 200", true, []int{503}, 1, 0, 0},
		{"openai 502 then 200", true, []int{502}, 1, -1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var k *Keeper
				req, ok, model := testAnthropicReq, okAnthropic, "claude-sonnet-4-5"
				if tc.openai {
					k = testOpenAIKeeper(t, WithStore(frozenStore(), "acct"))
					req, ok, model = testOpenAIReq, `{"usage":{"prompt_tokens":5,"completion_tokens":2}}`, "gpt-4o"
				} else {
					k = testAnthropicKeeper(t, WithStore(frozenStore(), "acct"))
				}
				n := 0
				next := func(*http.Request) (*http.Response, error) {
					defer func() { n++ }()
					if n < len(tc.steps) {
						if tc.steps[n] == 0 {
							return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
						}
						return testResp(tc.steps[n], nil, `{"type":"error","error":{"type":"api_error","message":"x"}}`), nil
					}
					return testResp(200, nil, ok), nil
				}
				r := req(context.Background())
				body, _ := r.GetBody()
				raw, _ := io.ReadAll(body)
				var est tokencount.Estimate
				var err error
				if tc.openai {
					est, err = k.est.EstimateOpenAI(raw)
				} else {
					est, err = k.est.EstimateAnthropic(raw)
				}
				if err != nil {
					t.Fatal(err)
				}
				res, err := k.Middleware(r, next)
				if err != nil {
					t.Fatal(err)
				}
				drain(res)
				rem, err := k.Remaining(context.Background(), model)
				if err != nil {
					t.Fatal(err)
				}
				input := tc.wantInput
				if input < 0 {
					input = est.InputTokens // the estimate stays charged
				}
				want := map[tier.Dimension]int64{tier.RPM: 1 + tc.wantRequests}
				if tc.openai {
					want[tier.TPM] = 7 + input + tc.wantOutput
				} else {
					want[tier.ITPM], want[tier.OTPM] = 5+input, 2+tc.wantOutput
				}
				for d, spent := range want {
					b := rem.Buckets[d]
					if got := b.Capacity - b.Level; got != float64(spent) {
						t.Errorf("%v: %v spent; want %d", d, got, spent)
					}
				}
			})
		})
	}
}

// Every event carries the number of its attempt, from 1, and attempts do
// not repeat across connection failures and refusals. Before: Synced and
// Settled carried 0, and a dial failure's retry reused its number.
func TestEventAttemptsAreNumbered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen events
		k := testAnthropicKeeper(t, WithObserver(seen.observe))
		n := 0
		next := func(*http.Request) (*http.Response, error) {
			defer func() { n++ }()
			switch n {
			case 0:
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
			case 1:
				return testResp(529, nil, `{"type":"error","error":{"type":"overloaded_error","message":"x"}}`), nil
			}
			h := http.Header{}
			h.Set("anthropic-ratelimit-requests-limit", "60")
			return testResp(200, h, okAnthropic), nil
		}
		res, err := k.Middleware(testAnthropicReq(context.Background()), next)
		if err != nil {
			t.Fatal(err)
		}
		drain(res)
		var admitted []int
		for _, e := range seen.all {
			if e.Attempt < 1 {
				t.Errorf("%v event with attempt %d", e.Kind, e.Attempt)
			}
			if e.Kind == Admitted {
				admitted = append(admitted, e.Attempt)
			}
		}
		if len(admitted) != 3 || admitted[0] != 1 || admitted[1] != 2 || admitted[2] != 3 {
			t.Errorf("admitted attempts %v; want [1 2 3]", admitted)
		}
		if s := seen.of(Settled); len(s) != 1 || s[0].Attempt != 3 {
			t.Errorf("Settled events %+v; want one, attempt 3", s)
		}
		if s := seen.of(Synced); len(s) == 0 || s[0].Attempt != 3 {
			t.Errorf("Synced events %+v; want attempt 3", s)
		}
	})
}

// max_tokens at the int64 limit is a request too large, not an invalid
// cost the README does not list.
func TestHugeMaxTokensIsTooLarge(t *testing.T) {
	k := testAnthropicKeeper(t)
	body := `{"model":"claude-sonnet-4-5","max_tokens":9223372036854775807,"messages":[{"role":"user","content":"hi"}]}`
	req, _ := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages", strings.NewReader(body))
	_, err := k.Middleware(req, func(*http.Request) (*http.Response, error) {
		t.Fatal("sent")
		return nil, nil
	})
	var tl *tokencount.TooLargeError
	if !errors.As(err, &tl) || tl.What != tokencount.WhatContextWindow {
		t.Fatalf("err = %v; want a *tokencount.TooLargeError for the context window", err)
	}
}

// drain reads a response to the end and closes it, as a client does: the
// Keeper settles a call when its body has been read.
func drain(res *http.Response) {
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
}
