package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ratekeeper/ratekeeper/simapi"
)

func TestRunBatchSimulated(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.jsonl")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"run", "--simulate", "--mode", "batch", "--sim-batch-latency", "300ms",
		"--batch-poll", "50ms", "--out", out, smallRequests(t, 12)}, nil, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s%s", err, stdout.String(), stderr.String())
	}
	recs := readRecords(t, out)
	if len(recs) != 12 {
		t.Fatalf("%d records, want 12", len(recs))
	}
	for _, r := range recs {
		if r.Status != statusSucceeded || r.BatchID == "" || r.Usage == nil || r.Usage.InputTokens == 0 || r.Attempts != 1 || len(r.Response) == 0 {
			t.Errorf("record %s: %+v", r.ID, r)
		}
	}
	for _, want := range []string{"succeeded:   12", "batches:     1, 12 submissions (0 resubmitted)", "live:"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout.String())
		}
	}
	if _, err := os.Stat(out + ".batches"); err != nil {
		t.Errorf("no batch state beside --out: %v", err)
	}
}

func TestRunAutoSaysWhy(t *testing.T) {
	for _, c := range []struct{ within, scale, want string }{
		{"1h", "1", "mode: realtime: the live endpoint needs no wait at tier-2 (the work fits in its buckets at once), within --within 1h"},
		// At 2% of tier 2's limits (1,800 OTPM), 30 requests of 100 output tokens take up to 40 s live.
		{"10s", "0.02", "mode: batch: the live endpoint may need up to 40s at tier-2 (claude-sonnet-4-6 OTPM binds; at least 30s without output), more than --within 10s"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"run", "--simulate", "--sim-scale", c.scale, "--quiet", "--mode", "auto", "--within", c.within,
			"--sim-batch-latency", "100ms", "--batch-poll", "20ms", smallRequests(t, 30)}, nil, &stdout, &stderr)
		if err != nil {
			t.Fatalf("--within %s: %v\n%s", c.within, err, stderr.String())
		}
		if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("--within %s: stderr lacks %q:\n%s", c.within, c.want, stderr.String())
		}
	}
}

// TestRunBatchCrashResume: a batch run stopped once its batch is submitted
// is resumed against the same API: it waits for that batch instead of
// submitting its items again, and records every request once.
func TestRunBatchCrashResume(t *testing.T) {
	const n = 25
	path := smallRequests(t, n)
	l, url := newLedger(t, simapi.Config{BatchLatency: 500 * time.Millisecond, MaxBatchRequests: 10, Classes: mustTierClasses(t, "tier-2")})
	out := filepath.Join(t.TempDir(), "results.jsonl")
	e := &env{getenv: func(k string) string { return map[string]string{"ANTHROPIC_API_KEY": "sk-ant-test-secret"}[k] }}
	args := []string{"run", "--mode", "batch", "--tier", "tier-2", "--base-url", url, "--batch-poll", "50ms", "--batch-size", "10", "--out", out, path}

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(l.srv.Ledger().Batches("sk-ant-test-secret")) < 2 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	var so, se bytes.Buffer
	e.stdout, e.stderr = &so, &se
	err := runEnv(ctx, args, e)
	if exitCode(err) != exitInterrupted {
		t.Fatalf("interrupted run = %v (exit %d)\n%s%s", err, exitCode(err), so.String(), se.String())
	}
	if !strings.Contains(err.Error(), "collect them with --resume") {
		t.Errorf("the interrupted run does not say how to collect its batches: %v", err)
	}
	so.Reset()
	se.Reset()
	if err := runEnv(context.Background(), append(args[:1:1], append([]string{"--resume"}, args[1:]...)...), e); err != nil {
		t.Fatalf("resume = %v\n%s%s", err, so.String(), se.String())
	}
	seen := map[string]int{}
	for _, r := range readRecords(t, out) {
		seen[r.ID]++
		if r.Status != statusSucceeded {
			t.Errorf("record %s: %s %+v", r.ID, r.Status, r.Error)
		}
	}
	if len(seen) != n {
		t.Errorf("%d ids recorded, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s recorded %d times", id, c)
		}
	}
	for id, c := range l.srv.Ledger().BatchSubmissions("sk-ant-test-secret") {
		if c != 1 {
			t.Errorf("%s submitted %d times", id, c)
		}
	}
	if got := len(l.srv.Ledger().Batches("sk-ant-test-secret")); got != 3 {
		t.Errorf("%d batches for %d requests of 10 a batch, want 3", got, n)
	}
	data, _ := os.ReadFile(out)
	if strings.Contains(string(data)+so.String()+se.String(), "secret") {
		t.Error("the API key is shown")
	}
}

func TestRunBatchReportsBadLinesFirst(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.jsonl")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"run", "--simulate", "--mode", "batch", "--sim-batch-latency", "100ms",
		"--batch-poll", "20ms", "--out", out, "../../testdata/requests/bad-10.jsonl"}, nil, &stdout, &stderr)
	if exitCode(err) != exitFailed {
		t.Fatalf("err = %v (exit %d), want exit %d\n%s", err, exitCode(err), exitFailed, stderr.String())
	}
	lines := strings.Split(stderr.String(), "\n")
	firstBatch := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "batches:") && firstBatch < 0 {
			firstBatch = i
		}
	}
	bad := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "line ") {
			bad++
			if firstBatch >= 0 && i > firstBatch {
				t.Errorf("bad line reported after the first submission: %q", l)
			}
		}
	}
	if bad == 0 {
		t.Errorf("no bad line reported:\n%s", stderr.String())
	}
	invalid := 0
	for _, r := range readRecords(t, out) {
		if r.Status == statusInvalid {
			invalid++
		}
	}
	if invalid != bad {
		t.Errorf("%d invalid records, %d bad lines reported", invalid, bad)
	}
}
