package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ratekeeper/ratekeeper/simapi"
)

// smallRequests writes n small Claude requests to a file: every third a
// batch line with a custom_id, every fifth streamed.
func smallRequests(t *testing.T, n int) string {
	t.Helper()
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		body := fmt.Sprintf(`{"model":"claude-sonnet-4-6","max_tokens":100,"messages":[{"role":"user","content":"Request %d: summarize the plot of a novel about %d lighthouses in two paragraphs."}]%s}`,
			i, i, map[bool]string{true: `,"stream":true`}[i%5 == 0])
		if i%3 == 0 {
			body = fmt.Sprintf(`{"custom_id":"req-%03d","params":%s}`, i, body)
		}
		sb.WriteString(body + "\n")
	}
	path := filepath.Join(t.TempDir(), "requests.jsonl")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readRecords reads an --out file.
func readRecords(t *testing.T, path string) []Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v in %q", path, err, sc.Text())
		}
		recs = append(recs, r)
	}
	return recs
}

// durations replaces the lines that depend on the clock.
var durations = regexp.MustCompile(`(?m)^(wall time|minimum|efficiency):.*$`)

// TestRunSimulateGolden: the summary of a run against the simulated API,
// with a malformed line, a line the API would reject, and streamed ones;
// every request is recorded in --out.
func TestRunSimulateGolden(t *testing.T) {
	path := smallRequests(t, 12)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintln(f, `{"model":"claude-sonnet-4-6","messages":[]`)
	fmt.Fprintln(f, `{"custom_id":"no-max","params":{"model":"claude-sonnet-4-6","messages":[{"role":"user","content":"hi"}]}}`)
	f.Close()
	out := filepath.Join(t.TempDir(), "results.jsonl")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"run", "--simulate", "--concurrency", "4", "--out", out, path}, nil, &stdout, &stderr)
	if exitCode(err) != exitFailed {
		t.Fatalf("run = %v (exit %d); want exit 1 for the invalid lines\n%s", err, exitCode(err), stderr.String())
	}
	got := durations.ReplaceAllString(stdout.String(), "$1: …")
	want := `requests:    14
succeeded:   12
failed:      0, invalid: 2 (malformed 2)
server:      12 attempts, 0 answered 429, 0 answered 529
wall time: …
minimum: …
tokens:      408 input, 698 output
`
	if got != want {
		t.Errorf("summary:\n%s\nwant\n%s", got, want)
	}
	for _, w := range []string{"line 13 (line-13): malformed", "line 14 (no-max): malformed", "max_tokens"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
		}
	}
	recs := readRecords(t, out)
	if len(recs) != 14 {
		t.Fatalf("%d records; want 14", len(recs))
	}
	byID := map[string]Record{}
	for _, r := range recs {
		byID[r.ID] = r
	}
	for _, id := range []string{"line-1", "req-003", "line-5", "line-13", "no-max"} {
		if _, ok := byID[id]; !ok {
			t.Errorf("no record for %s", id)
		}
	}
	ok := byID["line-5"] // streamed
	if ok.Status != statusSucceeded || ok.Usage == nil || ok.Usage.OutputTokens == 0 || ok.Attempts != 1 {
		t.Errorf("streamed record = %+v", ok)
	}
	var msg struct {
		Type    string `json:"type"`
		Content []struct {
			Type, Text string
		} `json:"content"`
		Usage Usage `json:"usage"`
	}
	if err := json.Unmarshal(ok.Response, &msg); err != nil || msg.Type != "message" || len(msg.Content) != 1 || msg.Content[0].Text == "" || msg.Usage != *ok.Usage {
		t.Errorf("assembled message = %+v (%v) from %s", msg, err, ok.Response)
	}
	if bad := byID["line-13"]; bad.Status != statusInvalid || bad.Line != 13 || bad.Error == nil || bad.Attempts != 0 {
		t.Errorf("malformed line's record = %+v", bad)
	}
	if _, err := os.Stat(out + ".inflight"); !os.IsNotExist(err) {
		t.Errorf("the journal is left after a complete run: %v", err)
	}

	// The same --out again without --resume: refused, nothing sent.
	err = run(context.Background(), []string{"run", "--simulate", "--out", out, path}, nil, &stdout, &stderr)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("second run into the same --out = %v; want a usage error naming --resume", err)
	}
	// With --resume: every id is recorded, nothing is sent.
	stdout.Reset()
	err = run(context.Background(), []string{"run", "--simulate", "--resume", "--out", out, path}, nil, &stdout, &stderr)
	if err != nil || !strings.Contains(stdout.String(), "14 already recorded") || !strings.Contains(stdout.String(), "server:      0 attempts") {
		t.Errorf("resume of a complete run = %v:\n%s", err, stdout.String())
	}
	if n := len(readRecords(t, out)); n != 14 {
		t.Errorf("after the resume: %d records; want 14", n)
	}
}

// TestRunJSONSummary: --json prints the summary as JSON.
func TestRunJSONSummary(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"run", "--simulate", "--json", "--quiet", smallRequests(t, 3)}, nil, &stdout, &stderr)
	if err != nil {
		t.Fatal(err, stderr.String())
	}
	var s map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if s["succeeded"] != 3.0 || s["requests"] != 3.0 || s["rate_limited_429"] != 0.0 {
		t.Errorf("JSON summary = %v", s)
	}
}

// ledger is an API in front of the simulated one that remembers every
// request body it received and the API keys it was sent.
type ledger struct {
	srv *simapi.Server
	mu  sync.Mutex
	got map[[32]byte]int
	// keys holds the x-api-key of every request.
	keys map[string]int
	// started is closed by the nth request, when n is set.
	n       int
	started chan struct{}
}

func newLedger(t *testing.T, cfg simapi.Config) (*ledger, string) {
	srv, err := simapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := &ledger{srv: srv, got: map[[32]byte]int{}, keys: map[string]int{}, started: make(chan struct{})}
	h := srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		l.mu.Lock()
		if r.URL.Path != "/v1/messages" { // count_tokens
			l.mu.Unlock()
			h.ServeHTTP(w, r)
			return
		}
		l.got[sha256.Sum256(body)]++
		l.keys[r.Header.Get("x-api-key")]++
		total := 0
		for _, c := range l.got {
			total += c
		}
		if l.n > 0 && total == l.n {
			close(l.started)
		}
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return l, ts.URL
}

// TestRunCrashResume: a run cancelled in the middle (Ctrl-C) records what
// completed; the resumed run sends the rest; every request is answered
// exactly once in --out, and the server received none twice.
func TestRunCrashResume(t *testing.T) {
	const n = 40
	path := smallRequests(t, n)
	l, url := newLedger(t, simapi.Config{PerTokenLatency: 2 * time.Millisecond, Classes: mustTierClasses(t, "tier-2")})
	l.n = 12
	out := filepath.Join(t.TempDir(), "results.jsonl")
	e := &env{stdin: nil, getenv: func(k string) string { return map[string]string{"ANTHROPIC_API_KEY": "sk-ant-test-secret"}[k] }}
	args := []string{"run", "--tier", "tier-2", "--base-url", url, "--concurrency", "4", "--out", out, path}

	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-l.started; cancel() }()
	var so, se bytes.Buffer
	e.stdout, e.stderr = &so, &se
	err := runEnv(ctx, args, e)
	if exitCode(err) != exitInterrupted {
		t.Fatalf("interrupted run = %v (exit %d)\n%s%s", err, exitCode(err), so.String(), se.String())
	}
	first := readRecords(t, out)
	if len(first) == 0 || len(first) >= n {
		t.Fatalf("the interrupted run recorded %d of %d", len(first), n)
	}
	if !strings.Contains(so.String(), "not sent") {
		t.Errorf("summary of the interrupted run lacks what was not sent:\n%s", so.String())
	}

	so.Reset()
	se.Reset()
	if err := runEnv(context.Background(), append(args[:1:1], append([]string{"--resume"}, args[1:]...)...), e); err != nil {
		t.Fatalf("resume = %v\n%s%s", err, so.String(), se.String())
	}
	recs := readRecords(t, out)
	seen := map[string]int{}
	for _, r := range recs {
		seen[r.ID]++
		if r.Status != statusSucceeded {
			t.Errorf("record %s: %s %+v", r.ID, r.Status, r.Error)
		}
	}
	if len(seen) != n || len(recs) != n {
		t.Errorf("%d records of %d ids; want %d each", len(recs), len(seen), n)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for h, c := range l.got {
		if c != 1 {
			t.Errorf("the server received a body %d times (%x…)", c, h[:4])
		}
	}
	if c := l.srv.Ledger().Counts("", ""); c.Admitted != n {
		t.Errorf("the simulator admitted %d requests; want %d", c.Admitted, n)
	}
	// The key was sent, and never shown.
	if l.keys["sk-ant-test-secret"] != n {
		t.Errorf("keys seen by the server: %v", l.keys)
	}
	data, _ := os.ReadFile(out)
	for what, s := range map[string]string{"stdout": so.String(), "stderr": se.String(), "--out": string(data)} {
		if strings.Contains(s, "secret") {
			t.Errorf("%s shows the API key", what)
		}
	}
}

func mustTierClasses(t *testing.T, name string) []simapi.Class {
	cs, err := simapi.TierClasses(name)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestRunMaybeSent: a request marked in flight in the journal without a
// record (the process died while it was on the wire) is reported and not
// sent again, unless --resend-unknown; a torn last record is cut off and
// its request sent again.
func TestRunMaybeSent(t *testing.T) {
	path := smallRequests(t, 4)
	dir := t.TempDir()
	out := filepath.Join(dir, "results.jsonl")
	// line-1 is recorded; line-2 was on the wire; req-003's record is torn.
	os.WriteFile(out, []byte(`{"id":"line-1","line":1,"status":"succeeded","attempts":1,"queued_at":"2026-12-01T00:00:00Z","done_at":"2026-12-01T00:00:01Z","waited_ms":0,"latency_ms":1000}`+"\n"+`{"id":"req-003","line":3,"sta`), 0o644)
	os.WriteFile(out+".inflight", []byte(`{"id":"line-1","line":1,"sent_at":"2026-12-01T00:00:00Z"}`+"\n"+`{"id":"line-2","line":2,"sent_at":"2026-12-01T00:00:00Z"}`+"\n"+`{"id":"req-0`), 0o644)
	var so, se bytes.Buffer
	err := run(context.Background(), []string{"run", "--simulate", "--resume", "--out", out, path}, nil, &so, &se)
	if err != nil {
		t.Fatalf("resume = %v\n%s%s", err, so.String(), se.String())
	}
	for _, w := range []string{"line 2 (line-2) may have been sent", "cut off"} {
		if !strings.Contains(se.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, se.String())
		}
	}
	ids := map[string]int{}
	for _, r := range readRecords(t, out) {
		ids[r.ID]++
	}
	if want := map[string]int{"line-1": 1, "req-003": 1, "line-4": 1}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("records %v; want %v", ids, want)
	}
	if _, err := os.Stat(out + ".inflight"); err != nil {
		t.Errorf("the journal must stay while a request may have been sent: %v", err)
	}
	err = run(context.Background(), []string{"run", "--simulate", "--resume", "--resend-unknown", "--out", out, path}, nil, &so, &se)
	if err != nil {
		t.Fatal(err)
	}
	ids = map[string]int{}
	for _, r := range readRecords(t, out) {
		ids[r.ID]++
	}
	if len(ids) != 4 || ids["line-2"] != 1 {
		t.Errorf("after --resend-unknown: %v", ids)
	}
}

// TestRunAbort: after the first Ctrl-C, a second one aborts the calls in
// flight; they are reported as maybe sent, not recorded.
func TestRunAbort(t *testing.T) {
	path := smallRequests(t, 6)
	l, url := newLedger(t, simapi.Config{PerTokenLatency: time.Second, Classes: mustTierClasses(t, "tier-2")})
	l.n = 2
	out := filepath.Join(t.TempDir(), "results.jsonl")
	abort, abortNow := context.WithCancel(context.Background())
	ctx, stop := context.WithCancel(withAbort(context.Background(), abort))
	go func() { <-l.started; stop(); abortNow() }()
	var so, se bytes.Buffer
	e := &env{stdout: &so, stderr: &se, getenv: func(string) string { return "sk-test" }}
	err := runEnv(ctx, []string{"run", "--tier", "tier-2", "--base-url", url, "--concurrency", "2", "--out", out, path}, e)
	if exitCode(err) != exitInterrupted {
		t.Fatalf("aborted run = %v\n%s%s", err, so.String(), se.String())
	}
	if n := len(readRecords(t, out)); n != 0 {
		t.Errorf("%d records after the abort; want 0 (both calls were cut off)", n)
	}
	if !strings.Contains(so.String(), "2 may have been sent") {
		t.Errorf("summary:\n%s", so.String())
	}
}

// TestRunUsageErrors: bad usage exits 2 with a message that says what to do.
func TestRunUsageErrors(t *testing.T) {
	path := smallRequests(t, 1)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", path}, "--simulate"},
		{[]string{"run"}, "accepts 1 arg"},
		{[]string{"run", "--simulate", "--bogus", path}, "unknown flag"},
		{[]string{"run", "--simulate", "--tier", "platinum", path}, "platinum"},
		{[]string{"run", "--simulate", "--concurrency", "0", path}, "concurrency"},
		{[]string{"run", "--simulate", "--resume", path}, "--out"},
		{[]string{"run", "--sim-scale", "2", path}, "--simulate"},
		{[]string{"run", "--simulate", "--sim-overload", "soon", path}, "START+DURATION"},
		{[]string{"run", "--simulate", "--report", "x.png", path}, "report"},
		{[]string{"run", "--simulate", "/nonexistent/requests.jsonl"}, "no such file"},
		{[]string{"run", "--simulate", "--provider", "openai", path}, "--config"},
		{[]string{"bogus"}, "unknown command"},
	} {
		var so, se bytes.Buffer
		err := runEnv(context.Background(), tc.args, &env{stdout: &so, stderr: &se, getenv: func(string) string { return "" }})
		if exitCode(err) != exitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q = %v (exit %d); want exit 2 and %q", tc.args, err, exitCode(err), tc.want)
		}
	}
	var so bytes.Buffer
	if err := run(context.Background(), []string{"run", "--help"}, nil, &so, &so); err != nil || !strings.Contains(so.String(), "custom_id") {
		t.Errorf("run --help = %v:\n%s", err, so.String())
	}
}

// TestRunRecordsEachAttempt: a request answered 529 and retried lists every
// attempt, in order, with the status it got.
func TestRunRecordsEachAttempt(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.jsonl")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"run", "--simulate", "--quiet", "--sim-overload-prob", "0.5", "--sim-seed", "3",
		"--out", out, smallRequests(t, 10)}, nil, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	retried := 0
	for _, r := range readRecords(t, out) {
		if r.Attempts == 1 {
			if len(r.Tries) != 0 {
				t.Errorf("%s: one attempt, yet tries %v", r.ID, r.Tries)
			}
			continue
		}
		retried++
		if len(r.Tries) != r.Attempts || r.Tries[0].At != r.SentAt || r.Tries[len(r.Tries)-1].Status != 200 {
			t.Errorf("%s: %d attempts, tries %+v (sent at %v)", r.ID, r.Attempts, r.Tries, r.SentAt)
		}
		n529 := 0
		for i, try := range r.Tries {
			if i > 0 && try.At.Before(r.Tries[i-1].At) {
				t.Errorf("%s: tries out of order: %+v", r.ID, r.Tries)
			}
			if try.Status == 529 {
				n529++
			}
		}
		if n529 != r.Overloaded {
			t.Errorf("%s: %d tries answered 529, overloaded %d", r.ID, n529, r.Overloaded)
		}
	}
	if retried == 0 {
		t.Error("no request was retried at an overload probability of 0.5: the test proves nothing")
	}
}
