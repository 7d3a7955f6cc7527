package tier

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 7, 15, 10, 0, 0, 0, time.UTC)

func TestParseAnthropicHeaders(t *testing.T) {
	// Lower-case keys, as a map literal or a proxy might produce them.
	h := http.Header{
		"anthropic-ratelimit-requests-limit":      {"1000"},
		"anthropic-ratelimit-requests-remaining":  {" 999 "},
		"anthropic-ratelimit-requests-reset":      {"2026-07-15T10:00:00.060Z"},
		"anthropic-ratelimit-input-tokens-limit":  {"2000000"},
		"anthropic-ratelimit-input-tokens-reset":  {"2026-07-15T12:00:30+02:00"},
		"anthropic-ratelimit-output-tokens-limit": {""},
		"Retry-After": {"1.5"},
	}
	got, err := parseAnthropicHeaders(h, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := newObservation(Anthropic)
	want.Dims[RPM] = DimensionObservation{Present: true, Limit: 1000, Remaining: 999, Reset: t0.Add(60 * time.Millisecond)}
	want.Dims[ITPM] = DimensionObservation{Present: true, Limit: 2_000_000, Remaining: -1,
		Reset: time.Date(2026, 7, 15, 12, 0, 30, 0, time.FixedZone("", 2*3600))}
	want.RetryAfter, want.HasRetryAfter = 1500*time.Millisecond, true
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("ParseAnthropicHeaders mismatch (-want +got):\n%s", diff)
	}
	if got.Empty() || !newObservation(Anthropic).Empty() {
		t.Error("Empty() wrong")
	}
	if b := got.Limits(); b != (Budget{RPM: 1000, ITPM: 2_000_000}) {
		t.Errorf("Limits() = %+v", b)
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		ms, s   string
		want    time.Duration
		has     bool
		problem string // header named in the error, "" for none
	}{
		{"", "", 0, false, ""},
		{"", "23", 23 * time.Second, true, ""},
		{"", "0", 0, true, ""},
		{"20", "", 20 * time.Millisecond, true, ""},
		{"20.5", "30", 20500 * time.Microsecond, true, ""},           // ms wins
		{"junk", "30", 30 * time.Second, true, "retry-after-ms"},     // falls back
		{"", "Wed, 15 Jul 2026 10:01:00 GMT", time.Minute, true, ""}, // HTTP date
		{"", "Wed, 15 Jul 2026 09:59:00 GMT", 0, true, ""},           // past date: zero
		{"", "-5", 0, false, "retry-after"},                          // negative
		{"-1", "", 0, false, "retry-after-ms"},                       // negative
		{"", "1e300", 0, false, "retry-after"},                       // enormous
		{"", "+Inf", 0, false, "retry-after"},                        // infinite
		{"1e300", "", 0, false, "retry-after-ms"},                    // enormous
		{"", "3600", time.Hour, true, ""},                            // large but valid: policy decides
		{"", "tomorrow", 0, false, "retry-after"},                    // garbage
		{"", "9223372036", 9223372036 * time.Second, true, ""},       // the largest whole number of seconds
		{"", "9223372037", 0, false, "retry-after"},                  // one past it
	} {
		h := http.Header{}
		if tc.ms != "" {
			h.Set("retry-after-ms", tc.ms)
		}
		if tc.s != "" {
			h.Set("retry-after", tc.s)
		}
		for _, parse := range []func(http.Header, time.Time) (Observation, error){parseAnthropicHeaders, parseOpenAIHeaders} {
			o, err := parse(h, t0)
			if o.RetryAfter != tc.want || o.HasRetryAfter != tc.has {
				t.Errorf("retry-after-ms %q, retry-after %q: got %v, %v; want %v, %v", tc.ms, tc.s, o.RetryAfter, o.HasRetryAfter, tc.want, tc.has)
			}
			var he *HeaderError
			switch {
			case tc.problem == "" && err != nil:
				t.Errorf("retry-after-ms %q, retry-after %q: error %v", tc.ms, tc.s, err)
			case tc.problem != "" && (!errors.As(err, &he) || he.Problems[0].Header != tc.problem || !errors.Is(err, ErrBadHeader)):
				t.Errorf("retry-after-ms %q, retry-after %q: error %v; want a problem with %s", tc.ms, tc.s, err, tc.problem)
			}
		}
	}
}

func TestParseOpenAIHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("x-ratelimit-limit-requests", "500")
	h.Set("x-ratelimit-remaining-requests", "499")
	h.Set("x-ratelimit-reset-requests", "120ms")
	h.Set("x-ratelimit-limit-tokens", "30000")
	h.Set("x-ratelimit-remaining-tokens", "29000")
	h.Set("x-ratelimit-reset-tokens", "1m30.5s")
	h.Set("x-ratelimit-reset-project-tokens", "2") // bare seconds
	h.Set("x-ratelimit-limit-project-requests", "abc")
	got, err := parseOpenAIHeaders(h, t0)
	var he *HeaderError
	if !errors.As(err, &he) || len(he.Problems) != 1 || he.Problems[0].Header != "x-ratelimit-limit-project-requests" {
		t.Fatalf("error = %v; want one problem with x-ratelimit-limit-project-requests", err)
	}
	for _, tc := range []struct {
		name string
		got  DimensionObservation
		want DimensionObservation
	}{
		{"rpm", got.Dims[RPM], DimensionObservation{Present: true, Limit: 500, Remaining: 499, Reset: t0.Add(120 * time.Millisecond)}},
		{"tpm", got.Dims[TPM], DimensionObservation{Present: true, Limit: 30000, Remaining: 29000, Reset: t0.Add(90500 * time.Millisecond)}},
		{"itpm", got.Dims[ITPM], DimensionObservation{Remaining: -1}},
		{"project tpm", got.Project[TPM], DimensionObservation{Present: true, Remaining: -1, Reset: t0.Add(2 * time.Second)}},
		{"project rpm", got.Project[RPM], DimensionObservation{Remaining: -1}},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %+v; want %+v", tc.name, tc.got, tc.want)
		}
	}
	for _, bad := range []string{"-1s", "soon", "1e400", "5 minutes"} {
		h := http.Header{"X-Ratelimit-Reset-Tokens": {bad}}
		o, err := parseOpenAIHeaders(h, t0)
		if err == nil || o.Dims[TPM].Present {
			t.Errorf("reset %q: %+v, %v; want an error and nothing present", bad, o.Dims[TPM], err)
		}
	}
}

func TestParseHeadersUnknownProvider(t *testing.T) {
	if _, err := ParseHeaders("azure", http.Header{}, t0); !errors.Is(err, ErrUnknownProvider) {
		t.Errorf("ParseHeaders(azure) = %v", err)
	}
	o, err := ParseHeaders(OpenAI, nil, t0)
	if err != nil || !o.Empty() || o.Dims[RPM].Remaining != -1 {
		t.Errorf("ParseHeaders(nil) = %+v, %v", o, err)
	}
}

func TestHeaderErrorMessage(t *testing.T) {
	h := http.Header{"Anthropic-Ratelimit-Requests-Limit": {string(make([]byte, 200))}}
	_, err := parseAnthropicHeaders(h, t0)
	var he *HeaderError
	if !errors.As(err, &he) || len(he.Problems[0].Value) != 64 || len(err.Error()) > 500 {
		t.Errorf("a 200-byte value gives %q", err)
	}
}
