package ratekeeper_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
)

const (
	apiKey = "sk-ant-test-key"
	model  = anthropic.ModelClaudeSonnet4_6 // the sim's sonnet-4 class: 50 RPM, 30k ITPM, 8k OTPM = Tier 1 Sonnet 4.x
)

// words makes a prompt of about n words of English-like text.
func words(r *rand.Rand, n int) string {
	vocab := strings.Fields("the of and to in is that for it as with was on be by at this from or an are which not have has but were can their all more one other into its also some than these only time such when may between used first two most after over many where those through each new because same while under")
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(vocab[r.IntN(len(vocab))])
	}
	return b.String()
}

type result struct {
	calls, failed atomic.Int64
	errs          sync.Map // first errors, for the report

	mu  sync.Mutex      // guards lat
	lat []time.Duration // of the calls that succeeded
}

func (r *result) fail(err error) {
	r.failed.Add(1)
	r.errs.LoadOrStore(err.Error(), err)
}

func (r *result) done(since time.Time) {
	r.mu.Lock()
	r.lat = append(r.lat, time.Since(since))
	r.mu.Unlock()
}

func (r *result) firstErr() string {
	var s string
	r.errs.Range(func(k, _ any) bool { s = k.(string); return false })
	return s
}

// anthropicWorkload runs goroutines × calls mixed calls (sizes, max_tokens,
// streaming or not) through client.
func anthropicWorkload(client anthropic.Client, goroutines, calls int) *result {
	var res result
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range calls {
				res.calls.Add(1)
				params := anthropic.MessageNewParams{
					Model:     model,
					MaxTokens: int64(128 + r.IntN(896)),
					System:    []anthropic.TextBlockParam{{Text: "Answer briefly."}},
					Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(words(r, 50+r.IntN(900))))},
				}
				ctx := context.Background()
				start := time.Now()
				if r.IntN(2) == 0 {
					if _, err := client.Messages.New(ctx, params); err != nil {
						res.fail(err)
					} else {
						res.done(start)
					}
					continue
				}
				stream := client.Messages.NewStreaming(ctx, params)
				var msg anthropic.Message
				var err error
				for stream.Next() {
					if err = msg.Accumulate(stream.Current()); err != nil {
						break
					}
				}
				if err == nil {
					err = stream.Err()
				}
				if err != nil {
					res.fail(err)
				} else {
					res.done(start)
				}
				stream.Close()
			}
		}()
	}
	wg.Wait()
	return &res
}

func newSim(t *testing.T, cfg simapi.Config) *simapi.Server {
	t.Helper()
	s, err := simapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func newKeeper(t *testing.T, opts ...ratekeeper.Option) *ratekeeper.Keeper {
	t.Helper()
	k, err := ratekeeper.New(append([]ratekeeper.Option{ratekeeper.WithTier(tier.Anthropic, "tier-1")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// anthropicClient is the documented setup: the Keeper's middleware, the
// SDK's retries off, and (for long queues) a request timeout longer than
// the SDK's 10-minute default, since waiting for the budget counts in it.
func anthropicClient(s *simapi.Server, k *ratekeeper.Keeper, key string) anthropic.Client {
	opts := []aoption.RequestOption{
		aoption.WithBaseURL("http://sim.invalid/"),
		aoption.WithHTTPClient(&http.Client{Transport: s.Transport()}),
		aoption.WithAPIKey(key),
		aoption.WithRequestTimeout(2 * time.Hour),
	}
	if k != nil {
		opts = append(opts, aoption.WithMiddleware(k.Middleware), aoption.WithMaxRetries(0))
	}
	return anthropic.NewClient(opts...)
}

// checkWindows asserts that the server never let more through than a token
// bucket of the class's limits could: capacity + limit × w/1m in any window w.
func checkWindows(t *testing.T, s *simapi.Server, key, class string, limits map[simapi.Dimension]int64) {
	t.Helper()
	for d, limit := range limits {
		for _, w := range []time.Duration{time.Second, 10 * time.Second, time.Minute} {
			bound := limit + limit*int64(w)/int64(time.Minute)
			if got := s.Ledger().MaxWindowUsage(key, class, d, w); got > bound {
				t.Errorf("%v: %d in a %v window; a bucket of %d/min allows %d", d, got, w, limit, bound)
			}
		}
	}
}

var sonnetLimits = map[simapi.Dimension]int64{simapi.Requests: 50, simapi.InputTokens: 30_000, simapi.OutputTokens: 8_000}

// TestAnthropicNoRateLimits: 64 goroutines, a mixed workload, streaming and
// not, through the real SDK: every call succeeds and the server never sends
// a 429.
func TestAnthropicNoRateLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{})
		k := newKeeper(t)
		start := time.Now()
		res := anthropicWorkload(anthropicClient(s, k, apiKey), 64, 4)
		c := s.Ledger().Counts(apiKey, "sonnet-4")
		t.Logf("%d calls in %v (simulated): server admitted %d, 429 %d, 529 %d; caller saw %d failures",
			res.calls.Load(), time.Since(start).Round(time.Second), c.Admitted, c.RateLimited, c.Overloaded, res.failed.Load())
		if res.failed.Load() != 0 {
			t.Fatalf("%d calls failed, e.g. %s", res.failed.Load(), res.firstErr())
		}
		if c.RateLimited != 0 || c.Admitted != res.calls.Load() {
			t.Fatalf("server counts %+v for %d calls; want every call admitted at once, no 429", c, res.calls.Load())
		}
		checkWindows(t, s, apiKey, "sonnet-4", sonnetLimits)
	})
}

// TestSubMinuteEnforcement: the server enforces the limits over 1-second
// buckets; the Keeper, configured for a full minute, meets 429s and retries
// them through admission: every call still succeeds.
func TestSubMinuteEnforcement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{Burst: time.Second})
		k := newKeeper(t)
		res := anthropicWorkload(anthropicClient(s, k, apiKey), 64, 2)
		c := s.Ledger().Counts(apiKey, "sonnet-4")
		t.Logf("sub-minute enforcement: %d calls, server sent %d 429s, caller saw %d failures", res.calls.Load(), c.RateLimited, res.failed.Load())
		if res.failed.Load() != 0 {
			t.Fatalf("%d calls failed, e.g. %s", res.failed.Load(), res.firstErr())
		}
		// Following the server's headers keeps 429s rare (about 10 per
		// 128 calls); refunding given-up slots into the line made them
		// outnumber the calls.
		if c.RateLimited > res.calls.Load()/2 {
			t.Fatalf("%d 429s for %d calls: the Keeper does not follow the sub-minute enforcement", c.RateLimited, res.calls.Load())
		}
	})
}

// TestOverloadWindow: the service is overloaded for the first two minutes.
// With the Keeper every call eventually succeeds, and the server sees fewer
// 529s than with the SDK's own retry loop.
func TestOverloadWindow(t *testing.T) {
	run := func(t *testing.T, withKeeper bool) (failed, overloaded int64) {
		var out [2]int64
		synctest.Test(t, func(t *testing.T) {
			s := newSim(t, simapi.Config{OverloadWindows: []simapi.Window{{Start: 0, End: 2 * time.Minute}}})
			var k *ratekeeper.Keeper
			if withKeeper {
				k = newKeeper(t)
			}
			res := anthropicWorkload(anthropicClient(s, k, apiKey), 64, 2)
			out = [2]int64{res.failed.Load(), s.Ledger().Counts(apiKey, "sonnet-4").Overloaded}
			if res.failed.Load() > 0 {
				t.Logf("first failure: %s", res.firstErr())
			}
		})
		return out[0], out[1]
	}
	kf, k529 := run(t, true)
	sf, s529 := run(t, false)
	t.Logf("overload window: ratekeeper %d failed calls, %d 529s; SDK default retries %d failed calls, %d 529s", kf, k529, sf, s529)
	if kf != 0 {
		t.Fatalf("%d calls failed with the Keeper; want none", kf)
	}
	if k529 >= s529 {
		t.Fatalf("the Keeper caused %d 529s, the SDK's retry loop %d; want fewer", k529, s529)
	}
}

// TestSharedKey: two independent Keepers, each configured with the whole
// budget, share one API key. Header sync keeps the server's 429s low and
// every call succeeds.
func TestSharedKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{})
		var wg sync.WaitGroup
		var failed atomic.Int64
		var calls int64
		for range 2 {
			k := newKeeper(t)
			client := anthropicClient(s, k, apiKey)
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := anthropicWorkload(client, 32, 3)
				failed.Add(res.failed.Load())
				atomic.AddInt64(&calls, res.calls.Load())
			}()
		}
		wg.Wait()
		c := s.Ledger().Counts(apiKey, "sonnet-4")
		t.Logf("two clients sharing a key: %d calls, server sent %d 429s (%.1f%%), %d failures",
			calls, c.RateLimited, 100*float64(c.RateLimited)/float64(calls), failed.Load())
		if failed.Load() != 0 {
			t.Fatal("calls failed")
		}
		if c.RateLimited > calls/8 {
			t.Fatalf("%d 429s for %d calls: header sync is not working", c.RateLimited, calls)
		}
	})
}

// TestTooLargeFailsOnce: a request bigger than the ITPM budget fails at
// once with a typed error naming the dimension; the server never sees it.
func TestTooLargeFailsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{})
		k := newKeeper(t)
		var attempts atomic.Int64
		client := anthropic.NewClient(
			aoption.WithBaseURL("http://sim.invalid/"),
			aoption.WithHTTPClient(&http.Client{Transport: s.Transport()}),
			aoption.WithAPIKey(apiKey),
			aoption.WithMiddleware(func(req *http.Request, next aoption.MiddlewareNext) (*http.Response, error) {
				attempts.Add(1)
				return next(req)
			}, k.Middleware),
			aoption.WithMaxRetries(0),
		)
		start := time.Now()
		_, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
			Model:     model,
			MaxTokens: 100,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(words(rand.New(rand.NewPCG(1, 1)), 40_000)))},
		})
		var le *limiter.LimitError
		if !errors.As(err, &le) || !errors.Is(err, limiter.ErrTooLarge) || le.Dimension != tier.ITPM {
			t.Fatalf("err = %v; want a *limiter.LimitError matching ErrTooLarge on input_tokens_per_minute", err)
		}
		if attempts.Load() != 1 || time.Since(start) != 0 || s.Ledger().Counts(apiKey, "sonnet-4").Total() != 0 {
			t.Fatalf("%d attempts, %v, server saw %+v; want one attempt, at once, nothing sent",
				attempts.Load(), time.Since(start), s.Ledger().Counts(apiKey, "sonnet-4"))
		}
		t.Logf("too large: %v", err)
	})
}

// TestSpendLimitFailsFast: a spend-limit 429 is not retried and surfaces as
// ErrSpendLimit.
func TestSpendLimitFailsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{SpendLimitedKeys: []string{apiKey}})
		k := newKeeper(t)
		client := anthropicClient(s, k, apiKey)
		_, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
			Model: model, MaxTokens: 10,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
		})
		var e *ratekeeper.Error
		if !errors.As(err, &e) || !errors.Is(err, ratekeeper.ErrSpendLimit) || e.Status != 429 {
			t.Fatalf("err = %v; want *ratekeeper.Error matching ErrSpendLimit", err)
		}
		if n := s.Ledger().Counts(apiKey, "sonnet-4").SpendLimited; n != 1 {
			t.Fatalf("server saw %d spend-limited attempts; want 1", n)
		}
	})
}

// TestOpenAI: the same middleware value in openai-go, streaming with usage
// and not: every call succeeds without a 429.
func TestOpenAI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{})
		five, tpm := int64(500), int64(30_000)
		k, err := ratekeeper.New(ratekeeper.WithConfig(&tier.Config{
			Provider: tier.OpenAI,
			Models:   map[string]tier.ModelConfig{"gpt-4o": {Tier: "none", Override: tier.Override{RPM: &five, TPM: &tpm}}},
		}))
		if err != nil {
			t.Fatal(err)
		}
		client := openai.NewClient(
			ooption.WithBaseURL("http://sim.invalid/v1/"),
			ooption.WithHTTPClient(&http.Client{Transport: s.Transport()}),
			ooption.WithAPIKey("sk-openai-test"),
			ooption.WithMiddleware(k.Middleware),
			ooption.WithMaxRetries(0),
			ooption.WithRequestTimeout(2*time.Hour),
		)
		var wg sync.WaitGroup
		var failed atomic.Int64
		for g := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(g), 2))
				for i := range 3 {
					params := openai.ChatCompletionNewParams{
						Model:               "gpt-4o",
						MaxCompletionTokens: openai.Int(int64(64 + r.IntN(512))),
						Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage(words(r, 30+r.IntN(600)))},
					}
					ctx := context.Background()
					if i%2 == 0 {
						if _, err := client.Chat.Completions.New(ctx, params); err != nil {
							failed.Add(1)
							t.Log(err)
						}
						continue
					}
					params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
					stream := client.Chat.Completions.NewStreaming(ctx, params)
					for stream.Next() {
					}
					if err := stream.Err(); err != nil {
						failed.Add(1)
						t.Log(err)
					}
					stream.Close()
				}
			}()
		}
		wg.Wait()
		c := s.Ledger().Counts("sk-openai-test", "gpt-4o")
		t.Logf("openai: server admitted %d, 429 %d; %d failures", c.Admitted, c.RateLimited, failed.Load())
		if failed.Load() != 0 || c.RateLimited != 0 || c.Admitted != 64*3 {
			t.Fatalf("counts %+v, %d failures; want 192 admitted, no 429, no failure", c, failed.Load())
		}
		// The estimator learned from every response, under the Keeper's
		// provider: Stats reads the same calibration.
		if st := k.Stats("gpt-4o"); st.Observations == 0 {
			t.Errorf("Stats(gpt-4o) = %+v; want the OpenAI calibration's observations", st)
		}
	})
}

// TestPassThrough: count_tokens is not budgeted by the Messages limiter.
func TestPassThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simapi.Config{})
		k := newKeeper(t)
		client := anthropicClient(s, k, apiKey)
		n, err := client.Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{
			Model:    model,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello there"))},
		})
		if err != nil || n.InputTokens <= 0 {
			t.Fatalf("CountTokens = %v, %v", n, err)
		}
		rem, err := k.Remaining(context.Background(), model)
		if err != nil || rem.Buckets[tier.RPM].Level != 50 {
			t.Fatalf("count_tokens used the Messages budget: %+v, %v", rem.Buckets[tier.RPM], err)
		}
	})
}

// Example shows the documented setup against the simulated API: the
// Keeper's middleware in anthropic-sdk-go with the SDK's retries off, and
// what the observer sees of one call.
func Example() {
	sim, _ := simapi.New(simapi.Config{})
	defer sim.Close()

	var mu sync.Mutex
	var kinds []string
	keeper, err := ratekeeper.New(
		ratekeeper.WithTier(tier.Anthropic, "tier-1"),
		ratekeeper.WithObserver(func(e ratekeeper.Event) {
			mu.Lock()
			kinds = append(kinds, e.Kind.String())
			mu.Unlock()
		}),
	)
	if err != nil {
		panic(err)
	}
	client := anthropic.NewClient(
		aoption.WithMiddleware(keeper.Middleware),
		aoption.WithMaxRetries(0), // ratekeeper owns retries
		aoption.WithAPIKey("sk-ant-example"),
		aoption.WithBaseURL("http://sim.invalid/"),
		aoption.WithHTTPClient(&http.Client{Transport: sim.Transport()}),
	)
	msg, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:     anthropic.ModelClaudeSonnet4_6,
		MaxTokens: 1024,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))},
	})
	if err != nil {
		panic(err)
	}
	rem, _ := keeper.Remaining(context.Background(), anthropic.ModelClaudeSonnet4_6)
	fmt.Println(msg.StopReason, kinds)
	fmt.Printf("RPM left: %.0f of %d\n", rem.Buckets[tier.RPM].Level, rem.Buckets[tier.RPM].Limit)
	// Output:
	// end_turn [counted admitted settled]
	// RPM left: 49 of 50
}
