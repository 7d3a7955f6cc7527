package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ratekeeper/ratekeeper/simapi"
)

// TestDoctorSimulate: against the simulated API at the tier configured,
// doctor reports the limits, the tier they match and that the budget
// agrees.
func TestDoctorSimulate(t *testing.T) {
	var so, se bytes.Buffer
	if err := run(context.Background(), []string{"doctor", "--simulate"}, nil, &so, &se); err != nil {
		t.Fatalf("doctor = %v\n%s%s", err, so.String(), se.String())
	}
	for _, w := range []string{"count_tokens answered", "HTTP 200", "input_tokens_per_minute   450000", "match tier-2 (legacy scheme)", "agrees with the server", "next:       nothing"} {
		if !strings.Contains(so.String(), w) {
			t.Errorf("doctor output lacks %q:\n%s", w, so.String())
		}
	}
}

// TestDoctorMismatchAndSignals: a key on Tier 4 configured as Tier 1 is
// told so; a spend-limited key is told no retry helps; the key is never
// printed; no key is a usage error naming both ways.
func TestDoctorMismatchAndSignals(t *testing.T) {
	classes, err := simapi.TierClasses("tier-4")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simapi.New(simapi.Config{Classes: classes, SpendLimitedKeys: []string{"sk-spent-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	defer srv.Close()
	doc := func(key string, args ...string) (string, error) {
		var so, se bytes.Buffer
		e := &env{stdout: &so, stderr: &se, getenv: func(k string) string {
			if k == "ANTHROPIC_API_KEY" {
				return key
			}
			return ""
		}}
		err := runEnv(context.Background(), append([]string{"doctor", "--base-url", ts.URL}, args...), e)
		if strings.Contains(so.String()+se.String(), "secret") {
			t.Errorf("doctor printed the key:\n%s%s", so.String(), se.String())
		}
		return so.String(), err
	}
	out, err := doc("sk-good-secret", "--tier", "tier-1")
	if err != nil {
		t.Fatalf("doctor = %v\n%s", err, out)
	}
	for _, w := range []string{"match tier-4 (legacy scheme)", "differs", "input_tokens_per_minute: configured 30000, server reports 2000000", "--tier tier-4"} {
		if !strings.Contains(strings.ToLower(out), w) {
			t.Errorf("doctor output lacks %q:\n%s", w, out)
		}
	}
	out, err = doc("sk-spent-secret")
	if exitCode(err) != exitFailed || !strings.Contains(out, "spend limit is reached") {
		t.Errorf("doctor with a spend-limited key = %v:\n%s", err, out)
	}
	if _, err := doc(""); exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--simulate") || !strings.Contains(err.Error(), "ANTHROPIC_API_KEY") {
		t.Errorf("doctor without a key = %v", err)
	}
}
