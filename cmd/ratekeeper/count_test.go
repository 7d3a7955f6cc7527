package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// countJSON runs count --json with args and stdin and decodes the result.
func countJSON(t *testing.T, stdin string, args ...string) countResult {
	t.Helper()
	out, stderr, err := runCmd(t, stdin, append([]string{"count", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("count %v: %v\n%s", args, err, stderr)
	}
	var r countResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r
}

// TestCountGolden: the text output for plain text, a batch line with a
// thinking budget, and OpenAI bodies with and without --config.
func TestCountGolden(t *testing.T) {
	for _, tc := range []struct {
		name, stdin string
		args        []string
	}{
		{"text", "Summarize the causes of the French Revolution in three sentences.\n", nil},
		{"batch-line", "", []string{"--tier", "build", "testdata/count-batch-line.json"}},
		{"openai-config", `{"model":"gpt-4o-mini","n":2,"max_tokens":500,"messages":[{"role":"user","content":"Say hello in French."}]}`,
			[]string{"--provider", "openai", "--config", "testdata/count-openai-config.json", "-"}},
		{"openai-no-config", `{"custom_id":"a","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}}`,
			[]string{"--provider", "openai"}},
		{"too-large-for-tier", `{"model":"claude-sonnet-4-6","max_tokens":9000,"messages":[{"role":"user","content":"hi"}]}`, nil},
		{"batch", "", []string{"--tier", "build", "testdata/count-batch.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := runCmd(t, tc.stdin, append([]string{"count"}, tc.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			assertGolden(t, "count-"+tc.name+".golden", []byte(out))
		})
	}
}

// TestCountJSON: the fields of --json, and what binds.
func TestCountJSON(t *testing.T) {
	r := countJSON(t, "Hello there, how are you?")
	if r.Input != "text" || r.Model != "claude-sonnet-4-6" || r.OutputTokens.MaxTokens != 1024 || len(r.Notes) == 0 {
		t.Errorf("plain text: %+v", r)
	}
	if in := r.InputTokens; in.Point <= 0 || in.Reserved < in.Point || in.Margin <= 0 {
		t.Errorf("input tokens %+v", in)
	}
	// Tier 1 Sonnet 4.x: 50 RPM, 30,000 ITPM, 8,000 OTPM; 1,024 output
	// tokens are 12.8% of OTPM, more than 1/50 of RPM.
	if r.Limits == nil || r.Limits.Tier != "tier-1" || r.Limits.OTPM != 8000 || r.Binding != "otpm" || r.PerMinute != 7 || !r.Fits {
		t.Errorf("limits %+v, binding %s, %d a minute, fits %v", r.Limits, r.Binding, r.PerMinute, r.Fits)
	}
	if len(r.Shares) != 3 || r.Shares[0].Dimension != "rpm" || r.Shares[0].Share != 0.02 || r.Shares[2].Cost != 1024 {
		t.Errorf("shares %+v", r.Shares)
	}
	if c := r.Context; c.Window != 200_000 || c.Needed != r.InputTokens.Point+1024 || !c.Fits || c.LongContext == "" {
		t.Errorf("context %+v", c)
	}

	// A small output at Build: requests bind.
	r = countJSON(t, `{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, "--tier", "build")
	if r.Binding != "rpm" || r.PerMinute != 5000 || r.Limits.Pool != "current/haiku-4.5" {
		t.Errorf("binding %s, %d a minute, limits %+v", r.Binding, r.PerMinute, r.Limits)
	}

	// A batch line and its params are the same request.
	line, err := os.ReadFile("testdata/count-batch-line.json")
	if err != nil {
		t.Fatal(err)
	}
	var bl struct {
		Params json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(line, &bl); err != nil {
		t.Fatal(err)
	}
	a := countJSON(t, string(line), "--tier", "build")
	b := countJSON(t, string(bl.Params), "--tier", "build")
	if a.Input != "batch_line" || a.CustomID != "q-017" || b.Input != "body" || a.InputTokens != b.InputTokens || a.OutputTokens != b.OutputTokens {
		t.Errorf("batch line %+v\nbody %+v", a, b)
	}
	if a.OutputTokens.ThinkingBudget != 2048 || a.OutputTokens.Reserved != 4096 {
		t.Errorf("output %+v", a.OutputTokens)
	}

	// OpenAI plain text uses an OpenAI model; without --config, no limits.
	r = countJSON(t, "Bonjour", "--provider", "openai")
	if r.Model != countDefaultOpenAIModel || r.Limits != nil || !strings.Contains(r.LimitsNote, "--config") {
		t.Errorf("openai text: %+v", r)
	}
	// A model the tables do not list: the estimate, and a note instead of limits.
	r = countJSON(t, `{"model":"claude-mythos-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`)
	if r.Limits != nil || !strings.Contains(r.LimitsNote, "claude-mythos-5") || r.InputTokens.Reserved == 0 {
		t.Errorf("unknown model: %+v", r)
	}
	// An explicit --model equal to the body's is accepted.
	countJSON(t, `{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, "--model", "claude-haiku-4-5")
}

// TestCountErrors: bad input, bodies the estimator refuses and bad flags
// are usage errors (exit 2) that still match the underlying error.
func TestCountErrors(t *testing.T) {
	for _, tc := range []struct {
		name, stdin string
		args        []string
		is          error
		want        string
	}{
		{"empty", " \n", nil, nil, "empty"},
		{"not json", `{"model": oops}`, nil, errMalformed, "not a request: not JSON"},
		{"two values", `{"model":"a"} {"model":"b"}`, nil, errMalformed, "more than one JSON value"},
		{"no params", `{"custom_id":"x"}`, nil, errMalformed, `needs "params"`},
		{"openai url", `{"custom_id":"x","url":"/v1/embeddings","body":{}}`, []string{"--provider", "openai"}, errMalformed, "only /v1/chat/completions"},
		{"no max_tokens", `{"model":"claude-sonnet-4-6","messages":[{"role":"user","content":"hi"}]}`, nil, tokencount.ErrMalformed, "malformed"},
		{"bad content", `{"model":"claude-sonnet-4-6","max_tokens":5,"messages":[{"role":"user","content":5}]}`, nil, tokencount.ErrMalformed, "at messages[0].content"},
		{"context window", `{"model":"claude-3-haiku-20240307","max_tokens":250000,"messages":[{"role":"user","content":"hi"}]}`, nil,
			tokencount.ErrTooLarge, "more than the 200,000-token context window"},
		{"output tokens", `{"model":"my-model","max_tokens":2000000000000,"messages":[{"role":"user","content":"hi"}]}`, []string{"--provider", "openai"},
			tokencount.ErrTooLarge, "max_tokens × n is 2,000,000,000,000 tokens"},
		{"model conflict", `{"model":"claude-sonnet-4-6","max_tokens":5,"messages":[]}`, []string{"--model", "claude-opus-4-6"}, nil, "applies to plain-text input only"},
		{"tier", "hi", []string{"--tier", "platinum"}, tier.ErrUnknownTier, "platinum"},
		{"provider", "hi", []string{"--provider", "gemini"}, nil, "gemini"},
		{"config", "hi", []string{"--config", "testdata/missing.json"}, nil, "--config"},
		{"config provider", "hi", []string{"--config", "testdata/count-openai-config.json"}, nil, "is for provider"},
		{"two files", "", []string{"a.json", "b.json"}, nil, ""},
		{"missing file", "", []string{"testdata/missing.json"}, os.ErrNotExist, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCmd(t, tc.stdin, append([]string{"count"}, tc.args...)...)
			assertUsageError(t, err, tc.want)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%v does not match %v", err, tc.is)
			}
		})
	}
	// A body above the API's size limit.
	big := strings.Repeat("lorem ipsum ", 3<<20) // 36 MiB of text
	_, _, err := runCmd(t, big, "count")
	assertUsageError(t, err, "bytes, more than the API's")
	if !errors.Is(err, tokencount.ErrTooLarge) {
		t.Errorf("%v does not match tokencount.ErrTooLarge", err)
	}
	// A file larger than any API takes (sparse: it is not read).
	path := filepath.Join(t.TempDir(), "huge.txt")
	huge, err := os.Create(path)
	if err == nil {
		err = huge.Truncate(countMaxInput + 1)
		huge.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = runCmd(t, "", "count", path)
	assertUsageError(t, err, "more than")
	if !errors.Is(err, tokencount.ErrTooLarge) {
		t.Errorf("%v does not match tokencount.ErrTooLarge", err)
	}
}

// TestCountHelp: --help shows the flags and the input format.
func TestCountHelp(t *testing.T) {
	assertHelp(t, "count", "--provider", "--model", "--tier", "--config", "--json", "[FILE|-]",
		`"custom_id"`, `"params"`, "Chat Completions", "plain text", "max_tokens 1024", `{"requests":[`)
}

// countBatchJSON runs count --json on a batch and decodes the result.
func countBatchJSON(t *testing.T, stdin string, args ...string) countBatchResult {
	t.Helper()
	out, stderr, err := runCmd(t, stdin, append([]string{"count", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("count %v: %v\n%s", args, err, stderr)
	}
	var r countBatchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r
}

// TestCountBatch: a create body prints the batch's totals (those of
// tokencount.EstimateAnthropicBatch), its largest request, the requests
// over their context window and whether the API's limits hold.
func TestCountBatch(t *testing.T) {
	data, err := os.ReadFile("testdata/count-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	est, err := tokencount.New()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := est.EstimateAnthropicBatch(bytes.TrimSpace(data))
	r := countBatchJSON(t, string(data), "--tier", "build")
	if r.Input != "batch" || r.Requests != 4 || r.Estimated != 4 || r.BodyBytes != b.BodyBytes ||
		r.InputTokens.Reserved != b.InputTokens || r.OutputTokens.Reserved != b.OutputReserve || r.InputTokens.Point <= 0 {
		t.Errorf("totals %+v; want those of %d requests, %d bytes, %d in, %d out", r, b.Requests, b.BodyBytes, b.InputTokens, b.OutputReserve)
	}
	if l := r.Largest; l == nil || l.Index != 3 || l.CustomID != "q-004" || l.InputReserved != b.Items[3].Estimate.InputTokens {
		t.Errorf("largest %+v; want requests[3], q-004", l)
	}
	if o := r.OverContextWindow; len(o) != 1 || o[0].Index != 2 || o[0].CustomID != "q-003" || o[0].Window != 200_000 || o[0].Needed <= 250_000 {
		t.Errorf("over the context window %+v; want requests[2], q-003, over 200,000", o)
	}
	want := []countBatchModel{{"claude-3-haiku-20240307", 1}, {"claude-haiku-4-5", 1}, {"claude-sonnet-4-5", 2}}
	if diff := cmp.Diff(want, r.Models); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}
	if r.Fits || !r.Limits.Fits || r.Tier == nil || r.Tier.Name != "build" || r.Tier.RPM != 2000 || r.Tier.QueuedRequests != 300_000 {
		t.Errorf("fits %v, limits %+v, tier %+v; want refused for the context window only, Build's limits", r.Fits, r.Limits, r.Tier)
	}

	// Without the request over its window, the batch fits.
	var body struct {
		Requests []json.RawMessage `json:"requests"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatal(err)
	}
	body.Requests = slices.Delete(body.Requests, 2, 3)
	good, _ := json.Marshal(body)
	if r := countBatchJSON(t, string(good)); !r.Fits || r.Requests != 3 || len(r.OverContextWindow) != 0 || r.Tier.Name != "tier-1" {
		t.Errorf("3 good requests: %+v; want a batch that fits", r)
	}

	// More than the API takes in one batch: counted, estimated up to the
	// limit, refused.
	var big strings.Builder
	big.WriteString(`{"requests":[`)
	for i := range tokencount.MaxBatchRequests + 1 {
		if i > 0 {
			big.WriteByte(',')
		}
		fmt.Fprintf(&big, `{"custom_id":"r%d","params":{"model":"claude-haiku-4-5","max_tokens":1,"messages":[]}}`, i)
	}
	big.WriteString(`]}`)
	r = countBatchJSON(t, big.String())
	if r.Fits || r.Limits.Fits || r.Requests != tokencount.MaxBatchRequests+1 || r.Estimated != tokencount.MaxBatchRequests || len(r.Notes) == 0 {
		t.Errorf("%d requests: fits %v, limits %+v, %d estimated, notes %q; want refused", r.Requests, r.Fits, r.Limits, r.Estimated, r.Notes)
	}
}

// TestCountBatchErrors: a batch with a bad request, or no requests, is a
// usage error that names the request and still matches the estimator's
// error.
func TestCountBatchErrors(t *testing.T) {
	const params = `{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		name, stdin string
		args        []string
		is          error
		index       int // of the *tokencount.BatchItemError; -1: none
		want        string
	}{
		{"repeated custom_id", `{"requests":[{"custom_id":"a","params":` + params + `},{"custom_id":"a","params":` + params + `}]}`, nil,
			tokencount.ErrMalformed, 1, `batch request 1 (custom_id "a"): the request body is malformed at requests[1].custom_id: not unique`},
		{"bad custom_id", `{"requests":[{"custom_id":"a/b","params":` + params + `}]}`, nil, tokencount.ErrMalformed, 0, "^[a-zA-Z0-9_-]{1,64}$"},
		{"bad params", `{"requests":[{"custom_id":"a","params":{"model":"claude-haiku-4-5","messages":[]}}]}`, nil, tokencount.ErrMalformed, 0,
			"at requests[0].params.max_tokens: missing"},
		{"not json", `{"requests":[{"custom_id":"a","params":{]}`, nil, tokencount.ErrMalformed, 0, "batch request 0"},
		{"empty", `{"requests":[]}`, nil, tokencount.ErrMalformed, -1, "at requests: empty"},
		{"not an array", `{"requests":{}}`, nil, tokencount.ErrMalformed, -1, "expected array of requests"},
		{"openai", `{"requests":[]}`, []string{"--provider", "openai"}, nil, -1, "Claude's"},
		{"model", `{"requests":[]}`, []string{"--model", "claude-haiku-4-5"}, nil, -1, "plain-text input only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCmd(t, tc.stdin, append([]string{"count"}, tc.args...)...)
			assertUsageError(t, err, tc.want)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%v does not match %v", err, tc.is)
			}
			if bi, ok := errors.AsType[*tokencount.BatchItemError](err); ok != (tc.index >= 0) || ok && bi.Index != tc.index {
				t.Errorf("%v: *tokencount.BatchItemError %v; want one for request %d", err, ok, tc.index)
			}
		})
	}
}
