package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// simRun is `ratekeeper simulate` running in a goroutine.
type simRun struct {
	cancel context.CancelFunc
	done   chan error  // run's error, once it returns
	banner string      // stdout up to "Ctrl-C to stop."
	rest   chan string // the rest of stdout, once run returns
	base   string      // the printed base URL
}

// startSimulate runs simulate with args and --addr 127.0.0.1:0 and waits
// for its banner.
func startSimulate(t *testing.T, args ...string) *simRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &simRun{cancel: cancel, done: make(chan error, 1), rest: make(chan string, 1)}
	var stderr bytes.Buffer
	go func() {
		err := run(ctx, append([]string{"simulate", "--addr", "127.0.0.1:0"}, args...), nil, pw, &stderr)
		pw.Close()
		s.done <- err
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	br := bufio.NewReader(pr)
	var banner strings.Builder
	for {
		line, err := br.ReadString('\n')
		banner.WriteString(line)
		if err != nil {
			t.Fatalf("simulate ended before its banner: %v\n%s", err, banner.String())
		}
		if line == "Ctrl-C to stop.\n" {
			break
		}
	}
	go func() {
		b, _ := io.ReadAll(br)
		s.rest <- string(b)
	}()
	s.banner = banner.String()
	m := regexp.MustCompile(`API on (http://127\.0\.0\.1:(\d+)) `).FindStringSubmatch(s.banner)
	if m == nil || m[2] == "0" {
		t.Fatalf("no address in the banner:\n%s", s.banner)
	}
	s.base = m[1]
	return s
}

// stop cancels the context and checks that simulate returns nil promptly.
func (s *simRun) stop(t *testing.T) string {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("simulate returned %v after the cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("simulate did not return after the cancel")
	}
	return <-s.rest
}

// curlRequest builds the request the banner's curl command sends.
func curlRequest(t *testing.T, banner string) *http.Request {
	t.Helper()
	var cmd string
	for l := range strings.SplitSeq(banner, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "curl -s ") {
			cmd = strings.TrimSpace(l)
		}
	}
	url, _, _ := strings.Cut(strings.TrimPrefix(cmd, "curl -s "), " ")
	var body string
	h := http.Header{}
	for _, m := range regexp.MustCompile(`(-H|-d) '([^']*)'`).FindAllStringSubmatch(cmd, -1) {
		if m[1] == "-d" {
			body = m[2]
			continue
		}
		k, v, _ := strings.Cut(m[2], ": ")
		h.Set(k, v)
	}
	if url == "" || body == "" || len(h) == 0 {
		t.Fatalf("no usable curl command in the banner:\n%s", banner)
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	return req
}

// TestSimulateAnthropic: the default tier's classes, scaled, on a port the
// system chose; the banner's curl command works and the response carries
// the rate-limit headers; cancelling the context stops the server.
func TestSimulateAnthropic(t *testing.T) {
	s := startSimulate(t, "--sim-scale", "0.5", "--sim-overload", "1h+1m")
	for _, w := range []string{"simulated Claude API on http://127.0.0.1:", "tier tier-2 presets, limits × 0.5",
		"sonnet-4.x  500  225,000  45,000", "claude-sonnet-4-6", "from 1h0m0s to 1h1m0s", "x-api-key: sk-sim", "ANTHROPIC_BASE_URL="} {
		if !strings.Contains(s.banner, w) {
			t.Errorf("banner lacks %q:\n%s", w, s.banner)
		}
	}
	res, err := http.DefaultClient.Do(curlRequest(t, s.banner))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"type":"message"`)) {
		t.Fatalf("curl example: %s\n%s", res.Status, body)
	}
	for h, want := range map[string]string{
		"anthropic-ratelimit-requests-limit":      "500",
		"anthropic-ratelimit-requests-remaining":  "499",
		"anthropic-ratelimit-input-tokens-limit":  "225000",
		"anthropic-ratelimit-output-tokens-limit": "45000",
	} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if res.Header.Get("anthropic-ratelimit-input-tokens-reset") == "" || res.Header.Get("request-id") == "" {
		t.Errorf("headers lack a reset or request-id: %v", res.Header)
	}
	// Every model of the tier is served, an unknown one is not.
	for model, want := range map[string]int{"claude-3-haiku-20240307": 200, "claude-opus-4-1": 200, "gpt-4o": 404} {
		req := curlRequest(t, strings.Replace(s.banner, `"model":"claude-sonnet-4-6"`, `"model":"`+model+`"`, 1))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s: %s, want %d", model, res.Status, want)
		}
	}
	rest := s.stop(t)
	if !strings.Contains(rest, "stopped after 4 requests (3 admitted, 0 answered 429, 0 overloaded, 0 spend-limited, 1 rejected)") {
		t.Errorf("after the stop: %q", rest)
	}
	addr := strings.TrimPrefix(s.base, "http://")
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after the stop", addr)
	}
}

// TestSimulateConfig: --config serves one class per configured model: an
// OpenAI config on the chat/completions route with a bearer token, and an
// Anthropic config with a preset tier, which serves the tier's other
// classes too.
func TestSimulateConfig(t *testing.T) {
	s := startSimulate(t, "--provider", "openai", "--config", "testdata/count-openai-config.json")
	for _, w := range []string{"simulated OpenAI API", "gpt-4o-mini  500  200,000  gpt-4o-mini", "Authorization: Bearer sk-sim",
		"/v1/chat/completions", "OPENAI_BASE_URL=", "per-day limits (RPD, TPD) are not simulated"} {
		if !strings.Contains(s.banner, w) {
			t.Errorf("banner lacks %q:\n%s", w, s.banner)
		}
	}
	res, err := http.DefaultClient.Do(curlRequest(t, s.banner))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("x-ratelimit-limit-requests") != "500" || res.Header.Get("x-ratelimit-limit-tokens") != "200000" {
		t.Errorf("curl example: %s %v\n%s", res.Status, res.Header, body)
	}
	s.stop(t)

	cfg := t.TempDir() + "/build.json"
	if err := os.WriteFile(cfg, []byte(`{"provider":"anthropic","tier":"build","workspace":{"itpm":200000},"models":{"claude-haiku-4-5":{"rpm":60}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s = startSimulate(t, "--config", cfg)
	for _, w := range []string{"haiku-4.5   60     200,000", "sonnet-4.x  5,000  200,000  1,000,000"} {
		if !strings.Contains(s.banner, w) {
			t.Errorf("banner lacks %q:\n%s", w, s.banner)
		}
	}
	res, err = http.DefaultClient.Do(curlRequest(t, s.banner))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("anthropic-ratelimit-input-tokens-limit") != "200000" {
		t.Errorf("curl example: %s %v", res.Status, res.Header)
	}
	s.stop(t)
}

// TestSimulateErrors: bad flags are usage errors, returned before
// listening; an address in use is another error.
func TestSimulateErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tier", "platinum"}, "platinum"},
		{[]string{"--provider", "openai"}, "--config"},
		{[]string{"--sim-scale", "0"}, "--sim-scale"},
		{[]string{"--sim-overload", "soon"}, "START+DURATION"},
		{[]string{"--sim-overload-prob", "2"}, "[0, 1]"},
		{[]string{"--addr", "8080"}, "--addr"},
		{[]string{"--config", "testdata/missing.json"}, "--config"},
		{[]string{"extra"}, ""},
	} {
		_, _, err := runCmd(t, "", append([]string{"simulate"}, tc.args...)...)
		assertUsageError(t, err, tc.want)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, _, err = runCmd(t, "", "simulate", "--addr", ln.Addr().String())
	if err == nil || exitCode(err) != exitOther {
		t.Errorf("address in use: %v (exit %d)", err, exitCode(err))
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("address in use: %v is not a *net.OpError", err)
	}
}

// TestSimulateHelp: --help shows the flags and the routes.
func TestSimulateHelp(t *testing.T) {
	assertHelp(t, "simulate", "--addr", "--tier", "--provider", "--config", "--sim-scale", "--sim-burst", "--sim-overload", "--sim-seed",
		"POST /v1/messages", "/v1/chat/completions", "127.0.0.1:0")
}
