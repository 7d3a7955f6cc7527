package simapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ratekeeper/ratekeeper/internal/simtok"
	"github.com/ratekeeper/ratekeeper/tier"
)

type reply struct {
	status int
	header http.Header
	body   string
}

// do sends one request through c and reads the whole reply.
func do(t *testing.T, c *http.Client, path, key, body string, hdr ...string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://simapi.test"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		if strings.HasPrefix(path, "/v1/chat") {
			req.Header.Set("Authorization", "Bearer "+key)
		} else {
			req.Header.Set("x-api-key", key)
		}
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("POST %s: reading body: %v", path, err)
	}
	return reply{res.StatusCode, res.Header, string(b)}
}

func msgBody(maxTokens int, text string) string {
	return fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":%d,"messages":[{"role":"user","content":%q}]}`, maxTokens, text)
}

func newSim(t *testing.T, cfg Config) (*Server, *http.Client) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, &http.Client{Transport: s.Transport()}
}

func oneClass(l Limits) []Class {
	return []Class{
		{Name: "sonnet", Provider: tier.Anthropic, Prefixes: []string{"claude-sonnet-4"}, Limits: l},
		{Name: "gpt", Provider: tier.OpenAI, Prefixes: []string{"gpt-4o"}, Limits: l},
	}
}

func TestRequestsBucket429(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newSim(t, Config{Classes: oneClass(Limits{RPM: 2, ITPM: 100_000, OTPM: 100_000}), PerTokenLatency: -1})
		start := time.Now()
		for i := range 2 {
			if r := do(t, c, "/v1/messages", "k", msgBody(10, "hi")); r.status != 200 {
				t.Fatalf("request %d: status %d %s", i, r.status, r.body)
			}
		}
		r := do(t, c, "/v1/messages", "k", msgBody(10, "hi"))
		if r.status != 429 {
			t.Fatalf("third request: status %d; want 429", r.status)
		}
		// 2 RPM refill one request per 30 s.
		want := map[string]string{
			"retry-after":                            "30",
			"anthropic-ratelimit-requests-limit":     "2",
			"anthropic-ratelimit-requests-remaining": "0",
			"anthropic-ratelimit-requests-reset":     start.Add(time.Minute).UTC().Format(time.RFC3339),
			"anthropic-ratelimit-input-tokens-limit": "100000",
			"anthropic-ratelimit-tokens-limit":       "200000",
			"x-should-retry":                         "true",
		}
		for k, v := range want {
			if got := r.header.Get(k); got != v {
				t.Errorf("429 header %s = %q; want %q", k, got, v)
			}
		}
		for _, k := range []string{"request-id", "anthropic-ratelimit-input-tokens-remaining", "anthropic-ratelimit-output-tokens-reset", "anthropic-ratelimit-tokens-remaining"} {
			if r.header.Get(k) == "" {
				t.Errorf("429 lacks header %s", k)
			}
		}
		var e struct {
			Type  string `json:"type"`
			Error struct{ Type, Message string }
		}
		if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Type != "error" || e.Error.Type != "rate_limit_error" ||
			!strings.Contains(e.Error.Message, "2 requests per minute") {
			t.Errorf("429 body = %s", r.body)
		}
		// Refusals charge nothing.
		if got := s.Ledger().Usage("k", "sonnet", Requests); got != 2 {
			t.Errorf("requests charged = %d; want 2", got)
		}
		time.Sleep(29 * time.Second)
		if r := do(t, c, "/v1/messages", "k", msgBody(10, "hi")); r.status != 429 || r.header.Get("retry-after") != "1" {
			t.Errorf("at 29s: status %d retry-after %q; want 429, 1", r.status, r.header.Get("retry-after"))
		}
		time.Sleep(time.Second)
		if r := do(t, c, "/v1/messages", "k", msgBody(10, "hi")); r.status != 200 {
			t.Errorf("at 30s: status %d; want 200", r.status)
		}
		// Another key has its own buckets.
		if r := do(t, c, "/v1/messages", "other", msgBody(10, "hi")); r.status != 200 {
			t.Errorf("other key: status %d; want 200", r.status)
		}
		if got := s.Ledger().Counts("k", ""); got != (Counts{Admitted: 3, RateLimited: 2}) {
			t.Errorf("counts = %+v", got)
		}
	})
}

func TestInputAndOutputBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := newSim(t, Config{
			Classes:         oneClass(Limits{ITPM: 1000, OTPM: 1200}),
			OutputPolicy:    OutputReserveMaxTokens,
			ExactRemaining:  true,
			PerTokenLatency: -1,
		})
		body := msgBody(600, "hello there")
		in, _ := simtok.CountAnthropicRequest([]byte(body))
		r := do(t, c, "/v1/messages", "k", body, "x-sim-output-tokens", "100")
		if r.status != 200 {
			t.Fatalf("status %d %s", r.status, r.body)
		}
		// Reserved 600, used 100: 500 refunded. Input charged at the start.
		if got, want := r.header.Get("anthropic-ratelimit-output-tokens-remaining"), "1100"; got != want {
			t.Errorf("output remaining = %s; want %s", got, want)
		}
		if got, want := r.header.Get("anthropic-ratelimit-input-tokens-remaining"), fmt.Sprint(1000-in); got != want {
			t.Errorf("input remaining = %s; want %s", got, want)
		}
		if got, want := r.header.Get("anthropic-ratelimit-tokens-remaining"), fmt.Sprint(2200-100-in); got != want {
			t.Errorf("tokens remaining = %s; want %s", got, want)
		}
		if r.header.Get("anthropic-ratelimit-requests-limit") != "" {
			t.Error("unlimited RPM has headers")
		}
		// max_tokens 1150 does not fit in 1100: wait for 50 tokens at 20/s → 2.5 s → 3.
		r = do(t, c, "/v1/messages", "k", msgBody(1150, "hello there"))
		if r.status != 429 || r.header.Get("retry-after") != "3" || !strings.Contains(r.body, "1,200 output tokens per minute") {
			t.Errorf("status %d retry-after %q body %s; want 429, 3, OTPM message", r.status, r.header.Get("retry-after"), r.body)
		}
		// Bigger than the per-minute limit: refused, whatever the wait.
		r = do(t, c, "/v1/messages", "k", msgBody(1, strings.Repeat("word ", 2000)))
		if r.status != 429 || !strings.Contains(r.body, "input tokens per minute") {
			t.Errorf("huge input: status %d body %s", r.status, r.body)
		}
	})
}

func TestOutputActualPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newSim(t, Config{Classes: oneClass(Limits{OTPM: 600}), ExactRemaining: true, PerTokenLatency: -1})
		// max_tokens does not matter; output is charged as produced.
		r := do(t, c, "/v1/messages", "k", msgBody(100_000, "a"), "x-sim-output-tokens", "700")
		if r.status != 200 || r.header.Get("anthropic-ratelimit-output-tokens-remaining") != "0" {
			t.Fatalf("status %d remaining %q", r.status, r.header.Get("anthropic-ratelimit-output-tokens-remaining"))
		}
		// In debt by 100: the next request waits until 1 token is available: 101 tokens at 10/s.
		r = do(t, c, "/v1/messages", "k", msgBody(10, "a"))
		if r.status != 429 || r.header.Get("retry-after") != "11" {
			t.Errorf("status %d retry-after %q; want 429, 11", r.status, r.header.Get("retry-after"))
		}
		if got := s.Ledger().Usage("k", "", OutputTokens); got != 700 {
			t.Errorf("output usage = %d; want 700", got)
		}
	})
}

func TestSubMinuteEnforcement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := newSim(t, Config{Classes: oneClass(Limits{RPM: 60}), Burst: time.Second, PerTokenLatency: -1})
		if r := do(t, c, "/v1/messages", "k", msgBody(5, "a")); r.status != 200 {
			t.Fatalf("first: %d", r.status)
		}
		r := do(t, c, "/v1/messages", "k", msgBody(5, "a"))
		if r.status != 429 || r.header.Get("retry-after") != "1" || r.header.Get("anthropic-ratelimit-requests-limit") != "60" {
			t.Fatalf("second: status %d headers %v", r.status, r.header)
		}
		time.Sleep(time.Second)
		if r := do(t, c, "/v1/messages", "k", msgBody(5, "a")); r.status != 200 {
			t.Errorf("after 1s: %d", r.status)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// Without Burst the whole minute is available at once.
		_, c := newSim(t, Config{Classes: oneClass(Limits{RPM: 60}), PerTokenLatency: -1})
		for i := range 60 {
			if r := do(t, c, "/v1/messages", "k", msgBody(5, "a")); r.status != 200 {
				t.Fatalf("request %d: %d", i, r.status)
			}
		}
		if r := do(t, c, "/v1/messages", "k", msgBody(5, "a")); r.status != 429 {
			t.Errorf("request 61: %d; want 429", r.status)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// A request above the sub-minute capacity needs a full bucket and leaves debt.
		_, c := newSim(t, Config{Classes: oneClass(Limits{ITPM: 6000}), Burst: time.Second, PerTokenLatency: -1, ExactRemaining: true})
		body := msgBody(5, strings.Repeat("alpha ", 300)) // > 100 tokens, the 1 s capacity
		in, _ := simtok.CountAnthropicRequest([]byte(body))
		if r := do(t, c, "/v1/messages", "k", body); r.status != 200 {
			t.Fatalf("first: %d %s", r.status, r.body)
		}
		r := do(t, c, "/v1/messages", "k", body)
		// Refill to full (100) from 100-in at 100/s.
		wantWait := fmt.Sprint(retryAfterSeconds(time.Duration(float64(in) / 100 * float64(time.Second))))
		if r.status != 429 || r.header.Get("retry-after") != wantWait {
			t.Errorf("second: status %d retry-after %q; want 429, %s", r.status, r.header.Get("retry-after"), wantWait)
		}
	})
}

func TestOverload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newSim(t, Config{OverloadWindows: []Window{{10 * time.Second, 20 * time.Second}}, PerTokenLatency: -1})
		var got []int
		for _, step := range []time.Duration{0, 10 * time.Second, 9 * time.Second, time.Second} { // t = 0, 10, 19, 20
			time.Sleep(step)
			r := do(t, c, "/v1/messages", "k", msgBody(5, "a"))
			got = append(got, r.status)
			if r.status == 529 {
				if !strings.Contains(r.body, `"overloaded_error"`) || r.header.Get("anthropic-ratelimit-requests-limit") == "" {
					t.Errorf("529 body %s header %v", r.body, r.header)
				}
			}
		}
		if diff := cmp.Diff([]int{200, 529, 529, 200}, got); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
		if c := s.Ledger().Counts("", ""); c != (Counts{Admitted: 2, Overloaded: 2}) {
			t.Errorf("counts = %+v", c)
		}
		if u := s.Ledger().Usage("", "", Requests); u != 2 {
			t.Errorf("requests charged = %d; want 2 (529 charges nothing)", u)
		}
		// OpenAI route: 503.
		r := do(t, c, "/v1/chat/completions", "k", `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}`)
		if r.status != 200 {
			t.Errorf("OpenAI after window: %d", r.status)
		}
	})
}

func TestMaxConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := newSim(t, Config{MaxConcurrent: 1, PerTokenLatency: time.Second})
		req, _ := http.NewRequest(http.MethodPost, "http://simapi.test/v1/messages",
			strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"x"}]}`))
		req.Header.Set("x-api-key", "k")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := do(t, c, "/v1/messages", "k", msgBody(5, "a")).status; got != 529 {
			t.Errorf("second request while one streams: %d; want 529", got)
		}
		// Read the first line, then hang up mid-stream: the handler stops.
		line, _ := bufio.NewReader(res.Body).ReadString('\n')
		if line != "event: message_start\n" {
			t.Errorf("first line %q", line)
		}
		res.Body.Close()
		synctest.Wait()
		if got := do(t, c, "/v1/messages", "k", msgBody(5, "a")).status; got != 200 {
			t.Errorf("after hang-up: %d; want 200", got)
		}
	})
}

func TestStreamCutByClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newSim(t, Config{PerTokenLatency: time.Second})
		req, _ := http.NewRequest(http.MethodPost, "http://simapi.test/v1/messages",
			strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":1000,"stream":true,"messages":[{"role":"user","content":"x"}]}`))
		req.Header.Set("x-api-key", "k")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		s.Close()
		if _, err := io.ReadAll(res.Body); err == nil {
			t.Error("reading a stream cut by Close: nil error")
		}
		if _, err := c.Do(req); err == nil {
			t.Error("request after Close: nil error")
		}
	})
}

func TestLoopbackCloseWithStreamInFlight(t *testing.T) {
	s, err := New(Config{PerTokenLatency: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	url, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url+"/v1/messages",
		strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"x"}]}`))
	req.Header.Set("x-api-key", "k")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	s.Close() // must not hang on the handler sleeping for an hour
	if _, err := io.ReadAll(res.Body); err == nil {
		t.Error("stream survived Close")
	}
	if _, err := s.Start(); err == nil {
		t.Error("Start after Close: nil error")
	}
}

func TestRejections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newSim(t, Config{PerTokenLatency: -1})
		tests := []struct {
			path, key, body string
			status          int
			typ             string
		}{
			{"/v1/messages", "", msgBody(5, "a"), 401, "authentication_error"},
			{"/v1/messages", "k", `{`, 400, "invalid_request_error"},
			{"/v1/messages", "k", `[]`, 400, "invalid_request_error"},
			{"/v1/messages", "k", `{"max_tokens":5,"messages":[{"role":"user","content":"a"}]}`, 400, "invalid_request_error"},
			{"/v1/messages", "k", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"a"}]}`, 400, "invalid_request_error"},
			{"/v1/messages", "k", `{"model":"claude-sonnet-4-5","max_tokens":0,"messages":[{"role":"user","content":"a"}]}`, 400, "invalid_request_error"},
			{"/v1/messages", "k", `{"model":"claude-sonnet-4-5","max_tokens":"5","messages":[{"role":"user","content":"a"}]}`, 400, "invalid_request_error"},
			{"/v1/messages", "k", `{"model":"claude-sonnet-4-5","max_tokens":5}`, 400, "invalid_request_error"},
			{"/v1/messages", "k", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[]}`, 400, "invalid_request_error"},
			{"/v1/messages", "k", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":7}]}`, 400, "invalid_request_error"},
			{"/v1/messages", "k", `{"model":"claude-sonnet-4-5","max_tokens":5,"stream":"yes","messages":[{"role":"user","content":"a"}]}`, 400, "invalid_request_error"},
			{"/v1/messages", "k", `{"model":"claude-sonnet-4-5","max_tokens":500000,"messages":[{"role":"user","content":"a"}]}`, 400, "invalid_request_error"},
			{"/v1/messages", "k", `{"model":"claude-nonesuch","max_tokens":5,"messages":[{"role":"user","content":"a"}]}`, 404, "not_found_error"},
			{"/v1/messages", "k", `{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"a"}]}`, 404, "not_found_error"},
			{"/v1/complete", "k", `{}`, 404, "not_found_error"},
			{"/v1/messages/count_tokens", "k", `{"model":"claude-sonnet-4-5"}`, 400, "invalid_request_error"},
		}
		for _, tt := range tests {
			r := do(t, c, tt.path, tt.key, tt.body)
			var e struct {
				Type      string
				Error     struct{ Type, Message string }
				RequestID string `json:"request_id"`
			}
			_ = json.Unmarshal([]byte(r.body), &e)
			if r.status != tt.status || e.Type != "error" || e.Error.Type != tt.typ || e.RequestID == "" || r.header.Get("request-id") != e.RequestID {
				t.Errorf("POST %s %s: %d %s; want %d %s", tt.path, tt.body, r.status, r.body, tt.status, tt.typ)
			}
		}
		openaiTests := []struct {
			key, body string
			status    int
			code      string
		}{
			{"", `{"model":"gpt-4o","messages":[{"role":"user","content":"a"}]}`, 401, ""},
			{"k", `{"model":"gpt-4o"}`, 400, ""},
			{"k", `{"model":"gpt-4o","messages":[{"role":"user","content":"a"}],"max_tokens":-1}`, 400, ""},
			{"k", `{"model":"gpt-4o","messages":[{"role":"user","content":"a"}],"n":0}`, 400, ""},
			{"k", `{"model":"gpt-nonesuch","messages":[{"role":"user","content":"a"}]}`, 404, "model_not_found"},
		}
		for _, tt := range openaiTests {
			r := do(t, c, "/v1/chat/completions", tt.key, tt.body)
			var e struct {
				Error struct{ Message, Type, Code string }
			}
			_ = json.Unmarshal([]byte(r.body), &e)
			if r.status != tt.status || e.Error.Message == "" || e.Error.Code != tt.code {
				t.Errorf("POST /v1/chat/completions %s: %d %s; want %d code %q", tt.body, r.status, r.body, tt.status, tt.code)
			}
		}
		// GET is not allowed.
		req, _ := http.NewRequest(http.MethodGet, "http://simapi.test/v1/messages", nil)
		req.Header.Set("x-api-key", "k")
		if res, err := c.Do(req); err != nil || res.StatusCode != 405 {
			t.Errorf("GET /v1/messages: %v %v", res, err)
		} else {
			res.Body.Close()
		}
		if got := s.Ledger().Counts("", ""); got.Rejected != int64(len(tests)+len(openaiTests)+1) || got.Admitted != 0 {
			t.Errorf("counts = %+v", got)
		}
	})
}

func TestOpenAIRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := newSim(t, Config{Classes: oneClass(Limits{RPM: 100, TPM: 600}), OutputPolicy: OutputReserveMaxTokens, PerTokenLatency: -1})
		body := `{"model":"gpt-4o","max_tokens":550,"messages":[{"role":"user","content":"hello"}]}`
		in, _ := simtok.CountOpenAIRequest([]byte(body))
		r := do(t, c, "/v1/chat/completions", "k", body, "x-sim-output-tokens", "50")
		if r.status != 200 {
			t.Fatalf("first: %d %s", r.status, r.body)
		}
		want := map[string]string{
			"x-ratelimit-limit-requests":     "100",
			"x-ratelimit-remaining-requests": "99",
			"x-ratelimit-reset-requests":     "600ms",
			"x-ratelimit-limit-tokens":       "600",
			"x-ratelimit-remaining-tokens":   fmt.Sprint(600 - in - 50),
			"x-ratelimit-reset-tokens":       openAIDuration(time.Duration(float64(in+50) / 10 * float64(time.Second))),
		}
		for k, v := range want {
			if got := r.header.Get(k); got != v {
				t.Errorf("%s = %q; want %q", k, got, v)
			}
		}
		// Reserved in+550, refunded 500: in+50 used. The next needs in+550 and has 550-in.
		r = do(t, c, "/v1/chat/completions", "k", body)
		wantMsg := fmt.Sprintf("Limit 600, Used %d, Requested %d. Please try again in %s.", in+50, in+550,
			openAIDuration(time.Duration(float64(2*in)/10*float64(time.Second))))
		var e struct {
			Error struct{ Message, Type, Code string }
		}
		_ = json.Unmarshal([]byte(r.body), &e)
		if r.status != 429 || e.Error.Type != "tokens" || e.Error.Code != "rate_limit_exceeded" ||
			!strings.Contains(e.Error.Message, wantMsg) {
			t.Errorf("second: %d %s", r.status, r.body)
		}
		if r.header.Get("x-ratelimit-remaining-tokens") == "" {
			t.Error("429 lacks x-ratelimit headers")
		}
	})
}

func TestOpenAIStreamShape(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := newSim(t, Config{PerTokenLatency: -1})
		r := do(t, c, "/v1/chat/completions", "k",
			`{"model":"gpt-4o-mini","n":2,"max_tokens":40,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello"}]}`,
			"x-sim-output-tokens", "40")
		lines := strings.Split(strings.TrimSpace(r.body), "\n\n")
		if lines[len(lines)-1] != "data: [DONE]" {
			t.Fatalf("last event %q", lines[len(lines)-1])
		}
		var last struct {
			Choices []any
			Usage   struct{ PromptTokens, CompletionTokens int64 } `json:"usage"`
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(lines[len(lines)-2], "data: ")), &last); err != nil {
			t.Fatal(err)
		}
		if last.Choices == nil || len(last.Choices) != 0 {
			t.Errorf("usage chunk choices = %v; want []", last.Choices)
		}
		var u map[string]map[string]int64
		_ = json.Unmarshal([]byte(strings.TrimPrefix(lines[len(lines)-2], "data: ")), &u)
		if u["usage"]["completion_tokens"] != 80 {
			t.Errorf("completion tokens = %d; want 80 (2 choices × 40)", u["usage"]["completion_tokens"])
		}
		if !strings.Contains(lines[len(lines)-3], `"finish_reason":"length"`) {
			t.Errorf("finish chunk %s", lines[len(lines)-3])
		}
	})
}

func TestLedgerMaxWindowUsage(t *testing.T) {
	l := newLedger()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	l.chargeAt(at(0), "k", "c", InputTokens, 100)
	l.chargeAt(at(10), "k", "c", InputTokens, 200)
	l.chargeAt(at(10), "k", "c", OutputTokens, 50)
	l.chargeAt(at(30), "other", "c", InputTokens, 1000)
	l.chargeAt(at(59.999), "k", "c", InputTokens, 300)
	l.chargeAt(at(60), "k", "c", InputTokens, 400)
	l.chargeAt(at(70), "k", "c", InputTokens, 50)
	l.chargeAt(at(130), "k", "c", InputTokens, 500)
	tests := []struct {
		key    string
		d      Dimension
		window time.Duration
		want   int64
	}{
		// [0,60): 100+200+300 = 600; [10,70): 200+300+400 = 900; [59.999,119.999): 300+400+50 = 750.
		{"k", InputTokens, time.Minute, 900},
		{"k", InputTokens, 10 * time.Second, 700},     // [59.999, 69.999): 300+400
		{"k", InputTokens, time.Millisecond, 500},     // one instant: 130 s
		{"k", InputTokens, 2 * time.Millisecond, 700}, // 59.999 and 60
		{"k", InputTokens, 200 * time.Second, 1550},   // everything
		{"k", Tokens, time.Minute, 950},               // [10,70): 900 + 50 output
		{"", InputTokens, time.Minute, 1900},          // [10,70) with the other key's 1000
		{"k", OutputTokens, time.Minute, 50},
		{"k", Requests, time.Minute, 0},
		{"k", InputTokens, 0, 0},
	}
	for _, tt := range tests {
		if got := l.MaxWindowUsage(tt.key, "c", tt.d, tt.window); got != tt.want {
			t.Errorf("MaxWindowUsage(%q, %v, %v) = %d; want %d", tt.key, tt.d, tt.window, got, tt.want)
		}
	}
}

func TestLedgerThroughServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newSim(t, Config{Classes: oneClass(Limits{}), PerTokenLatency: 100 * time.Millisecond})
		body := msgBody(100, "hi")
		in, _ := simtok.CountAnthropicRequest([]byte(body))
		// Requests at 0 s, 20 s, 50 s and 70 s (each takes 3.2 s: 32 tokens in 2 steps).
		for _, step := range []time.Duration{0, 20 * time.Second, 30 * time.Second, 20 * time.Second} {
			time.Sleep(step)
			start := time.Now()
			if r := do(t, c, "/v1/messages", "k", body, "x-sim-output-tokens", "32"); r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
			if d := time.Since(start); d != 3200*time.Millisecond {
				t.Errorf("request took %v; want 3.2s", d)
			}
		}
		l := s.Ledger()
		// Admissions at 0, 23.2, 56.4, 79.6: any minute holds at most 3.
		if got := l.MaxWindowUsage("k", "sonnet", Requests, time.Minute); got != 3 {
			t.Errorf("max requests per minute = %d; want 3", got)
		}
		if got := l.MaxWindowUsage("k", "sonnet", InputTokens, time.Minute); got != 3*in {
			t.Errorf("max input per minute = %d; want %d", got, 3*in)
		}
		if got := l.MaxWindowUsage("k", "sonnet", OutputTokens, 10*time.Second); got != 32 {
			t.Errorf("max output per 10 s = %d; want 32", got)
		}
		if got := l.MaxWindowUsage("k", "sonnet", OutputTokens, time.Millisecond); got != 16 {
			t.Errorf("max output per ms = %d; want 16 (one step)", got)
		}
	})
}

func TestConfigValidation(t *testing.T) {
	bad := []Config{
		{Burst: -time.Second},
		{Burst: 2 * time.Minute},
		{OutputPolicy: 7},
		{MaxConcurrent: -1},
		{OverloadWindows: []Window{{5 * time.Second, 5 * time.Second}}},
		{OverloadProbability: 1.5},
		{Classes: []Class{{Name: "a", Prefixes: []string{"x"}}, {Name: "a", Prefixes: []string{"y"}}}},
		{Classes: []Class{{Name: "a"}}},
		{Classes: []Class{{Name: "a", Prefixes: []string{"x"}, Limits: Limits{RPM: -1}}}},
		{Classes: []Class{{Name: "a", Provider: "gemini", Prefixes: []string{"x"}}}},
	}
	for _, cfg := range bad {
		if s, err := New(cfg); err == nil {
			s.Close()
			t.Errorf("New(%+v): nil error", cfg)
		}
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close() // twice is fine
	for model, want := range map[string]string{
		"claude-sonnet-4-5-20250929": "sonnet-4", "claude-opus-4-7": "opus-4", "claude-haiku-4-5": "haiku-4",
		"claude-opus-5-5": "opus-5", "gpt-4o-mini-2024-07-18": "gpt-4o-mini", "gpt-4o": "gpt-4o", "o4-mini": "o4-mini",
	} {
		p := tier.Anthropic
		if !strings.HasPrefix(model, "claude") {
			p = tier.OpenAI
		}
		if cl, ok := classFor(DefaultClasses(), p, model); !ok || cl.Name != want {
			t.Errorf("classFor(%q) = %v; want %s", model, cl, want)
		}
	}
}

func TestHandlerWithHTTPTest(t *testing.T) {
	// The Handler also works under any http.Server.
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/messages/count_tokens",
		strings.NewReader(`{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("x-api-key", "k")
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got struct {
		InputTokens int64 `json:"input_tokens"`
	}
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || got.InputTokens == 0 {
		t.Errorf("count_tokens = %+v, %v", got, err)
	}
}

func TestCountTokensRPM(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := newSim(t, Config{CountTokensRPM: 1})
		body := `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"}]}`
		if r := do(t, c, "/v1/messages/count_tokens", "k", body); r.status != 200 {
			t.Fatalf("first: %d", r.status)
		}
		if r := do(t, c, "/v1/messages/count_tokens", "k", body); r.status != 429 || r.header.Get("retry-after") != "60" {
			t.Errorf("second: %d retry-after %q", r.status, r.header.Get("retry-after"))
		}
		// Messages are not affected.
		if r := do(t, c, "/v1/messages", "k", `{"model":"claude-haiku-4-5","max_tokens":3,"messages":[{"role":"user","content":"hi"}]}`); r.status != 200 {
			t.Errorf("messages: %d", r.status)
		}
	})
}

func TestLedgerMinimumTime(t *testing.T) {
	l := newLedger()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.chargeAt(at, "k", "c", InputTokens, 4000)
	l.chargeAt(at, "k", "c", Requests, 3)
	// 4000 input tokens against a 1000/min bucket: 3000 beyond a full bucket, 3 min.
	if got := l.MinimumTime("k", "c", map[Dimension]int64{InputTokens: 1000, Requests: 10}); got != 3*time.Minute {
		t.Fatalf("MinimumTime = %v; want 3m", got)
	}
	if got := l.MinimumTime("k", "c", map[Dimension]int64{Requests: 10, OutputTokens: 0}); got != 0 {
		t.Fatalf("MinimumTime within capacity = %v; want 0", got)
	}
}
