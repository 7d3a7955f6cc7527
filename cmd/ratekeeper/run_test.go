package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ratekeeper/ratekeeper/limiter"
)

func TestPlan(t *testing.T) {
	var out, errOut bytes.Buffer
	// 3 calls of 1000 input tokens against 1200 ITPM: 1800 beyond capacity
	// at 20 tokens/s = 90 s.
	in := strings.NewReader(`{"input_tokens":1000,"max_tokens":10}
{"input_tokens":1000,"max_tokens":10}

{"id":"c","input_tokens":1000,"max_tokens":10}
`)
	err := run(context.Background(), []string{"plan", "-rpm", "50", "-itpm", "1200", "-otpm", "8000", "-"}, in, &out, &errOut)
	if err != nil {
		t.Fatalf("plan: %v (stderr %q)", err, errOut.String())
	}
	want := "calls:            3\nlast call acts at: 1m30s\ntheoretical min:   1m30s (bound by input_tokens_per_minute)\n"
	if out.String() != want {
		t.Fatalf("plan printed\n%s\nwant\n%s", out.String(), want)
	}
}

func TestPlanErrors(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{nil, "", "no command"},
		{[]string{"bogus"}, "", "unknown command"},
		{[]string{"plan", "-rpm", "10"}, "", "want one workload file"},
		{[]string{"plan", "-rpm", "10", "-"}, "{bad json", "line 1"},
		{[]string{"plan", "-rpm", "10", "-"}, `{"input_tokens":-1}`, "negative"},
		{[]string{"plan", "-rpm", "10", "-"}, "", "no calls"},
		{[]string{"plan", "-"}, `{"input_tokens":1}`, "no dimension is limited"},
		{[]string{"plan", "-rpm", "10", "/nonexistent/file"}, "", "no such file"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tc.args, strings.NewReader(tc.stdin), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v; want an error containing %q", tc.args, err, tc.want)
		}
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"plan", "-itpm", "500", "-"}, strings.NewReader(`{"id":"big","input_tokens":1000}`), &out, &out)
	if !errors.Is(err, limiter.ErrTooLarge) {
		t.Errorf("plan with a call above capacity = %v; want ErrTooLarge", err)
	}
}

func TestRunSimulate(t *testing.T) {
	var out, errOut bytes.Buffer
	in := strings.NewReader(`{"id":"a","input_tokens":300,"max_tokens":50}
{"id":"b","input_tokens":300,"max_tokens":50,"stream":true}
{"id":"c","input_tokens":300,"max_tokens":50}
`)
	err := run(context.Background(), []string{"run", "-simulate", "-scale", "100", "-concurrency", "2", "-"}, in, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{"succeeded: 3 of 3", "3 admitted, 0 rate limited (429)", "strategy:  ratekeeper"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, args := range [][]string{
		{"run", "x.jsonl"},
		{"run", "-simulate"},
		{"run", "-simulate", "-scale", "0", "-"},
		{"run", "-simulate", "-tier", "platinum", "-"},
	} {
		if err := run(context.Background(), args, strings.NewReader(`{"input_tokens":1}`), &out, &errOut); err == nil {
			t.Errorf("run(%q) succeeded; want an error", args)
		}
	}
}
