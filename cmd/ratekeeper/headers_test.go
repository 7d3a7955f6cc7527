package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ratekeeper/ratekeeper/tier"
)

// headersCaptures are the captures of the tier package's golden tests.
const headersCaptures = "../../testdata/headers"

// headersFiles returns the paths of the captures.
func headersFiles(t testing.TB) []string {
	files, err := filepath.Glob(filepath.Join(headersCaptures, "*.http"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures in %s: %v", headersCaptures, err)
	}
	return files
}

// TestHeadersGolden: the text and JSON explanation of every capture in
// testdata/headers, against cmd/ratekeeper/testdata/headers-NAME.golden
// and headers-NAME.json.golden (rewrite them with -update).
func TestHeadersGolden(t *testing.T) {
	for _, path := range headersFiles(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".http")
		t.Run(name, func(t *testing.T) {
			out, stderr, err := runCmd(t, "", "headers", path)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			assertGolden(t, "headers-"+name+".golden", []byte(out))
			js, _, err := runCmd(t, "", "headers", "--json", path)
			if err != nil {
				t.Fatal(err)
			}
			assertGolden(t, "headers-"+name+".json.golden", []byte(js))
			var rep headersReport
			if err := json.Unmarshal([]byte(js), &rep); err != nil {
				t.Fatal(err)
			}
			if want := strings.SplitN(name, "-", 2)[0]; rep.Provider != want || rep.ProviderFrom != "headers" {
				t.Errorf("provider %s (%s), want %s from the headers", rep.Provider, rep.ProviderFrom, want)
			}
		})
	}
}

// TestHeadersExplain: what the explanation says of the captures that
// matter most, independently of the golden files.
func TestHeadersExplain(t *testing.T) {
	explain := func(name string) *headersReport {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(headersCaptures, name+".http"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := headersParse(data)
		if err != nil {
			t.Fatal(err)
		}
		return headersExplain(c, "")
	}
	r := explain("anthropic-429-tier1-itpm")
	if r.Status != 429 || r.RetryAfter == nil || r.RetryAfter.Until != "2026-03-12T08:30:28Z" {
		t.Errorf("status %d, retry after %+v", r.Status, r.RetryAfter)
	}
	if r.Limits[1].Name != "input_tokens" || r.Limits[1].ResetIn != "23s" || *r.Limits[1].Remaining != 0 {
		t.Errorf("input tokens: %+v", r.Limits[1])
	}
	if r.Inference == nil || len(r.Inference.Matches) != 2 || r.Inference.Matches[0].Tier != "tier-1" {
		t.Errorf("inference: %+v", r.Inference)
	}
	if r.Error == nil || r.Error.Kind != "rate_limited" || r.Error.Dimension != tier.ITPM.String() {
		t.Errorf("error: %+v", r.Error)
	}

	r = explain("anthropic-200-build-sonnet")
	if in := r.Inference; in == nil || in.Model != "claude-sonnet-4-5-20250929" || len(in.Matches) != 1 ||
		in.Matches[0] != (headersMatch{Tier: "build", TierDisplay: "Build", Scheme: "current", Class: "sonnet-4.x"}) {
		t.Errorf("inference: %+v", r.Inference)
	}
	if r.Error != nil || r.WorkspaceID == "" {
		t.Errorf("error %+v, workspace %q", r.Error, r.WorkspaceID)
	}

	r = explain("anthropic-429-spend-limit")
	if r.Error == nil || r.Error.Kind != "spend_limit" || r.ShouldRetry == nil || *r.ShouldRetry {
		t.Errorf("error %+v, should retry %v", r.Error, r.ShouldRetry)
	}
	r = explain("anthropic-garbage")
	if len(r.Problems) != 8 || r.BodyProblem == "" || r.Error == nil || r.Error.Kind != "rate_limited" {
		t.Errorf("problems %v, body %q, error %+v", r.Problems, r.BodyProblem, r.Error)
	}
	r = explain("openai-429-too-large")
	if r.Error == nil || r.Error.Kind != "too_large" || r.Error.Requested != 41875 || r.Inference != nil {
		t.Errorf("error %+v, inference %+v", r.Error, r.Inference)
	}
	r = explain("anthropic-200-priority")
	if !slices.ContainsFunc(r.Limits, func(l headersLimit) bool { return l.Name == "priority_input_tokens" && l.Limit == 2_000_000 }) {
		t.Errorf("no priority input tokens in %+v", r.Limits)
	}
}

// TestHeadersStdin: header lines alone, from stdin ("-" or no argument);
// OpenAI's relative resets without a Date header.
func TestHeadersStdin(t *testing.T) {
	in := "x-ratelimit-limit-tokens: 150000\r\nx-ratelimit-remaining-tokens: 149984\r\nx-ratelimit-reset-tokens: 6m0s\r\nretry-after: 2\r\n"
	a, _, err := runCmd(t, in, "headers")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := runCmd(t, in, "headers", "-")
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("no argument and - differ:\n%s\n%s", a, b)
	}
	for _, w := range []string{"status:       none", "provider:     openai (from the header names)", "in 6m0s (after the response)", "retry after:  2s\n", "149,984"} {
		if !strings.Contains(a, w) {
			t.Errorf("output lacks %q:\n%s", w, a)
		}
	}
	// Anthropic header lines without a Date: absolute resets only.
	out, _, err := runCmd(t, "anthropic-ratelimit-requests-limit: 50\nanthropic-ratelimit-requests-reset: 2026-03-12T08:30:09Z\n", "headers")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "2026-03-12T08:30:09Z  ") || strings.Contains(out, "(in ") {
		t.Errorf("reset without a Date header:\n%s", out)
	}
}

// TestHeadersProvider: --provider overrides the detection; a bad one is a
// usage error.
func TestHeadersProvider(t *testing.T) {
	path := filepath.Join(headersCaptures, "anthropic-200-build-sonnet.http")
	out, _, err := runCmd(t, "", "headers", "--provider", "openai", "--json", path)
	if err != nil {
		t.Fatal(err)
	}
	var rep headersReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Provider != "openai" || rep.ProviderFrom != "flag" || len(rep.Limits) != 0 {
		t.Errorf("read as openai: %+v", rep)
	}
	_, _, err = runCmd(t, "", "headers", "--provider", "azure", path)
	assertUsageError(t, err, "azure")
	out, _, err = runCmd(t, "Content-Type: application/json\n", "headers")
	if err != nil || !strings.Contains(out, "anthropic (the default") || !strings.Contains(out, "no usable rate-limit headers") {
		t.Errorf("headers without rate limits: %v\n%s", err, out)
	}
}

// TestHeadersInputErrors: input that is not a captured response is a usage
// error (exit 2) that names the line.
func TestHeadersInputErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty"},
		{"blank", "\n\r\n  \n", "empty"},
		{"text", "hello world\n", `line 1: "hello world" is not a header`},
		{"json", `{"type":"error","error":{"type":"rate_limit_error"}}`, "line 1"},
		{"status", "HTTP/1.1 abc\n", "not an HTTP status line"},
		{"status code", "HTTP/1.1 20 OK\n", "not an HTTP status line"},
		{"continuation", "  folded\nretry-after: 1\n", "continues no header"},
		{"second line", "retry-after: 1\nthis is not a header\n", "line 2"},
		{"name", "retry after: 1\n", "not a header"},
		{"pseudo", ":status: abc\n", ":status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCmd(t, tc.in, "headers")
			assertUsageError(t, err, tc.want)
			if !errors.Is(err, errHeadersInput) {
				t.Errorf("%v does not match errHeadersInput", err)
			}
		})
	}
	_, _, err := runCmd(t, "retry-after: 1\n"+strings.Repeat("x", headersMaxInput), "headers")
	assertUsageError(t, err, "more than")
	_, _, err = runCmd(t, "", "headers", filepath.Join(t.TempDir(), "missing.http"))
	assertUsageError(t, err)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	_, _, err = runCmd(t, "", "headers", "a.http", "b.http")
	assertUsageError(t, err)
}

// TestHeadersParse: the input forms headersParse reads.
func TestHeadersParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		status   int
		header   http.Header
		body     string
	}{
		{"crlf", "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\n\r\n{\"a\":1}\r\n", 429,
			http.Header{"Retry-After": {"3"}}, `{"a":1}`},
		{"http2", "HTTP/2 200 \nretry-after: 3\n", 200, http.Header{"Retry-After": {"3"}}, ""},
		{"bom and blank lines", "\xef\xbb\xbf\n\nretry-after:3\n", 0, http.Header{"Retry-After": {"3"}}, ""},
		{"interim", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 529 \r\nrequest-id: r\r\n\r\nbody", 529,
			http.Header{"Request-Id": {"r"}}, "body"},
		{"proxy", "HTTP/1.1 200 Connection established\n\nHTTP/2 429\nretry-after: 1\n", 429,
			http.Header{"Retry-After": {"1"}}, ""},
		{"pseudo status", ":status: 429\nretry-after: 1\n", 429, http.Header{"Retry-After": {"1"}}, ""},
		{"continuation", "x-a: one\n  two\n\ttwo more\nx-b:\n", 0, http.Header{"X-A": {"one two two more"}, "X-B": {""}}, ""},
		{"repeated", "x-a: 1\nX-A: 2\n", 0, http.Header{"X-A": {"1", "2"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := headersParse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if c.status != tc.status || string(c.body) != tc.body || !equalHeader(c.header, tc.header) {
				t.Errorf("got status %d, header %v, body %q; want %d, %v, %q", c.status, c.header, c.body, tc.status, tc.header, tc.body)
			}
		})
	}
}

// equalHeader reports whether a and b hold the same values.
func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestHeadersHelp: --help shows the flags and the input format.
func TestHeadersHelp(t *testing.T) {
	assertHelp(t, "headers", "--provider", "--json", "[FILE|-]", "HTTP/1.1 429 Too Many Requests", "Name: value", "curl -i")
}

// FuzzHeadersParse: headersParse never panics; what it accepts has a
// valid status and header names, reads back the same once written out as
// a raw response, and explains without error.
func FuzzHeadersParse(f *testing.F) {
	for _, path := range headersFiles(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{"", "x: y", "HTTP/2 200\n\n", ":status: 429\n", "a: b\n c\n\nHTTP/1.1 200\n", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := headersParse(data)
		if err != nil {
			if !errors.Is(err, errHeadersInput) {
				t.Fatalf("error %v does not match errHeadersInput", err)
			}
			return
		}
		if c.status != 0 && (c.status < 100 || c.status > 999) {
			t.Fatalf("status %d", c.status)
		}
		for k := range c.header {
			if !headersToken(k) || k != http.CanonicalHeaderKey(k) {
				t.Fatalf("header name %q", k)
			}
		}
		for _, p := range []tier.Provider{"", tier.Anthropic, tier.OpenAI} {
			rep := headersExplain(c, p)
			var sb strings.Builder
			if err := writeHeadersReport(&sb, rep); err != nil {
				t.Fatal(err)
			}
			if err := writeJSON(&sb, rep); err != nil {
				t.Fatal(err)
			}
		}
		if hasPrefixFold(string(c.body), "HTTP/") {
			return // would read as a second response
		}
		var raw strings.Builder
		status := c.status
		if status == 0 {
			status = 200
		}
		raw.WriteString(strings.TrimSpace("HTTP/1.1 "+strconv.Itoa(status)+" "+c.statusText) + "\r\n")
		for k, vs := range c.header {
			for _, v := range vs {
				raw.WriteString(k + ": " + v + "\r\n")
			}
		}
		raw.WriteString("\r\n")
		raw.Write(c.body)
		back, err := headersParse([]byte(raw.String()))
		if err != nil {
			t.Fatalf("written out as %q: %v", raw.String(), err)
		}
		if back.status != status || back.statusText != c.statusText || !equalHeader(back.header, c.header) || string(back.body) != string(c.body) {
			t.Fatalf("%q reads back as %+v, want %+v", raw.String(), back, c)
		}
	})
}
