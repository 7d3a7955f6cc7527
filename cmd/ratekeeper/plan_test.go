package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPlan: the minimum at the tier given (bound by output at max_tokens),
// the tier named for --within, and the invalid lines listed with their
// numbers; --json carries the same.
func TestPlan(t *testing.T) {
	// 40 requests of max_tokens 1000: 40,000 output tokens against Tier 1's
	// 8,000 OTPM: (40000-8000)/8000 = 4 minutes.
	var sb strings.Builder
	for i := range 40 {
		fmt.Fprintf(&sb, `{"model":"claude-sonnet-4-6","max_tokens":1000,"messages":[{"role":"user","content":"Question %d: what is a token bucket?"}]}`+"\n", i)
	}
	sb.WriteString(`{"model":"claude-sonnet-4-6","messages":[]}` + "\n")
	path := filepath.Join(t.TempDir(), "r.jsonl")
	os.WriteFile(path, []byte(sb.String()), 0o644)
	var so, se bytes.Buffer
	if err := run(context.Background(), []string{"plan", "--tier", "tier-1", "--within", "1m", path}, nil, &so, &se); err != nil {
		t.Fatalf("plan = %v\n%s", err, se.String())
	}
	out := so.String()
	for _, w := range []string{"requests:   41 (1 invalid, not counted)", "line 41 (line-41)", "max_tokens", "tier-1           4m0s", "claude-sonnet-4-6 OTPM",
		"within 1m0s: tier-2 is the lowest tier of the scheme of tier-1", "batches:    1 batch(es)"} {
		if !strings.Contains(out, w) {
			t.Errorf("plan output lacks %q:\n%s", w, out)
		}
	}
	so.Reset()
	if err := run(context.Background(), []string{"plan", "--tier", "tier-1", "--json", path}, nil, &so, &se); err != nil {
		t.Fatal(err)
	}
	var pl struct {
		Given struct {
			Minimum string `json:"minimum"`
			Binding string `json:"binding"`
		} `json:"given"`
		Total struct {
			Requests       int64 `json:"requests"`
			MaxOutputTotal int64 `json:"max_output_tokens"`
		} `json:"total"`
	}
	if err := json.Unmarshal(so.Bytes(), &pl); err != nil {
		t.Fatal(err, so.String())
	}
	if d, _ := time.ParseDuration(pl.Given.Minimum); d != 4*time.Minute || pl.Total.Requests != 40 || pl.Total.MaxOutputTotal != 40000 {
		t.Errorf("JSON plan = %+v", pl)
	}
	for _, args := range [][]string{{"plan"}, {"plan", "--tier", "platinum", path}, {"plan", "/nonexistent"}, {"plan", "--provider", "openai", path}} {
		if err := run(context.Background(), args, nil, &so, &se); exitCode(err) != exitUsage {
			t.Errorf("%q = %v; want exit 2", args, err)
		}
	}
}
