package tier

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// headerBlock turns "key: value" lines into an http.Header, the way a
// client would receive them (keys canonicalized by Header.Add).
func headerBlock(s string) http.Header {
	h := http.Header{}
	for line := range strings.Lines(s) {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
		if ok {
			h.Add(k, v)
		}
	}
	return h
}

// addCaptureSeeds adds the header section of every capture.
func addCaptureSeeds(f *testing.F, prefix string) {
	files, _ := filepath.Glob(filepath.Join(headersDir, prefix+"*.http"))
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		head, _, _ := strings.Cut(string(data), "\n\n")
		_, head, _ = strings.Cut(head, "\n") // drop the status line
		f.Add(head, int64(1_780_000_000))
	}
}

func checkObservation(t *testing.T, o Observation, err error) {
	t.Helper()
	if err != nil {
		var he *HeaderError
		if !errors.As(err, &he) || len(he.Problems) == 0 || !errors.Is(err, ErrBadHeader) {
			t.Fatalf("error %v is not a non-empty *HeaderError", err)
		}
	}
	dims := []DimensionObservation{o.Tokens, o.Priority.Input, o.Priority.Output, o.UsageBasedTokens}
	dims = append(dims, o.Dims[:]...)
	dims = append(dims, o.Project[:]...)
	for _, d := range dims {
		if d.Limit < 0 || d.Limit > MaxLimit || d.Remaining < -1 || d.Remaining > MaxLimit {
			t.Fatalf("out of range: %+v", d)
		}
		if !d.Present && (d.Limit != 0 || d.Remaining != -1 || !d.Reset.IsZero() || d.Rounded) {
			t.Fatalf("absent dimension carries values: %+v", d)
		}
	}
	if o.RetryAfter < 0 || (!o.HasRetryAfter && o.RetryAfter != 0) {
		t.Fatalf("RetryAfter %v, HasRetryAfter %v", o.RetryAfter, o.HasRetryAfter)
	}
}

func FuzzParseAnthropicHeaders(f *testing.F) {
	addCaptureSeeds(f, "anthropic")
	f.Add("retry-after: Wed, 15 Jul 2026 10:01:00 GMT\nanthropic-ratelimit-requests-reset: 2026-07-15T10:00:00.060+02:00", int64(0))
	f.Fuzz(func(t *testing.T, head string, unix int64) {
		now := timeFromUnix(unix)
		o, err := parseAnthropicHeaders(headerBlock(head), now)
		checkObservation(t, o, err)
		if o.Provider != Anthropic {
			t.Fatalf("Provider = %q", o.Provider)
		}
	})
}

func FuzzParseOpenAIHeaders(f *testing.F) {
	addCaptureSeeds(f, "openai")
	f.Add("x-ratelimit-reset-tokens: 2562047h47m16.854775807s\nretry-after-ms: 1e3", int64(-1))
	f.Fuzz(func(t *testing.T, head string, unix int64) {
		now := timeFromUnix(unix)
		o, err := parseOpenAIHeaders(headerBlock(head), now)
		checkObservation(t, o, err)
		for _, d := range []DimensionObservation{o.Dims[RPM], o.Dims[TPM]} {
			if d.Present && !d.Reset.IsZero() && d.Reset.Before(now) {
				t.Fatalf("reset %v before now %v", d.Reset, now)
			}
		}
	})
}

// timeFromUnix maps any int64 to a time the parsers may be given.
func timeFromUnix(u int64) time.Time {
	return time.Unix(u%(1<<40), 0).UTC()
}

func FuzzParseErrorBody(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(headersDir, "*.http"))
	for _, path := range files {
		data, _ := os.ReadFile(path)
		_, body, _ := strings.Cut(string(data), "\n\n")
		f.Add(strings.HasPrefix(filepath.Base(path), "openai"), 429, []byte(body))
	}
	f.Add(false, 529, []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Please try again in 99999999999h"}}`))
	f.Add(true, 429, []byte(`{"error":{"message":"retry in 1e309 seconds. Limit 99999999999999999999","code":[1]}}`))
	f.Fuzz(func(t *testing.T, openai bool, status int, body []byte) {
		p := Anthropic
		if openai {
			p = OpenAI
		}
		e, err := ParseErrorBody(p, status, body)
		if e == nil || e.Provider != p || e.Status != status {
			t.Fatalf("ParseErrorBody = %+v", e)
		}
		if err != nil && !errors.Is(err, ErrBadErrorBody) {
			t.Fatalf("error %v does not match ErrBadErrorBody", err)
		}
		if e.RetryHint < 0 || e.Limit < 0 || e.Limit > MaxLimit || e.Used < 0 || e.Requested < 0 {
			t.Fatalf("out of range: %+v", e)
		}
		_ = e.Error()
	})
}

func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{
		`{"provider":"anthropic","tier":"build","defaults":{"burst":"10s","headroom":0.1},"workspace":{"itpm":200000},
		  "models":{"claude-sonnet-4-5":{"otpm":50000},"claude-opus-5-5":{"tier":"none","rpm":500,"itpm":400000,"otpm":80000,"workspace":{"rpm":100}}}}`,
		`{"provider":"openai","tier":"tier-3","models":{"gpt-4o":{"rpm":5000,"tpm":800000}}}`,
		`{"provider":"anthropic","models":{"x":{"rpd":1,"tpd":2,"tpm":3}}}`,
		`{"provider":"anthropic","tier":"2","models":{"sonnet-4.x":{"burst":"1m"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseConfig(data)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidBudget) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			return
		}
		for k := range c.Models {
			b, err := c.Budget(k)
			if err != nil {
				t.Fatalf("valid config, Budget(%s) = %v", k, err)
			}
			if err := b.Validate(); err != nil {
				t.Fatalf("Budget(%s) = %+v invalid: %v", k, b, err)
			}
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal = %v", err)
		}
		c2, err := parseConfig(out)
		if err != nil {
			t.Fatalf("reload of %s = %v", out, err)
		}
		if diff := cmp.Diff(c, c2); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}

func FuzzParseBudget(f *testing.F) {
	f.Add([]byte(`{"rpm":1000,"itpm":450000,"otpm":90000,"burst":"10s","headroom":0.25}`))
	f.Add([]byte(`{"tpm":1,"burst":"1m0.000000001s"}`))
	f.Add([]byte(`{"rpd":5,"headroom":1e-320}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := parseBudget(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidBudget) {
				t.Fatalf("error %v does not match ErrInvalidBudget", err)
			}
			return
		}
		if err := b.Validate(); err != nil {
			t.Fatalf("ParseBudget accepted an invalid budget: %v", err)
		}
		for d := range NumDimensions {
			if c := b.Capacity(d); math.IsNaN(c) || c < 0 {
				t.Fatalf("Capacity(%v) = %v", d, c)
			}
		}
		out, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, err := parseBudget(out)
		if err != nil || b2 != b {
			t.Fatalf("round trip %s: %+v, %v; want %+v", out, b2, err, b)
		}
	})
}
