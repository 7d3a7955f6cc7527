package tier

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBudgetJSON(t *testing.T) {
	b := Budget{RPM: 1000, ITPM: 450000, OTPM: 90000, Burst: 10 * time.Second, Headroom: 0.25}
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"rpm":1000,"itpm":450000,"otpm":90000,"burst":"10s","headroom":0.25}`
	if string(data) != want {
		t.Errorf("Marshal = %s; want %s", data, want)
	}
	var got Budget
	if err := json.Unmarshal(data, &got); err != nil || got != b {
		t.Errorf("Unmarshal(%s) = %+v, %v; want %+v", data, got, err, b)
	}
	if data, _ := json.Marshal(Budget{}); string(data) != `{}` {
		t.Errorf("Marshal(Budget{}) = %s", data)
	}
	if _, err := json.Marshal(Budget{RPM: 1, Headroom: math.Inf(1)}); err == nil {
		t.Error("Marshal with an infinite headroom succeeded")
	}
}

func TestParseBudgetErrors(t *testing.T) {
	for _, tc := range []struct{ in, field, reason string }{
		{`{"rpm":10,"burst":10}`, "burst", "got a JSON number, want a string"},
		{`{"rpm":10,"burst":"10"}`, "burst", `"10" is not a duration such as "10s" or "1m30s"`},
		{`{"rpm":10,"brust":"10s"}`, "brust", "unknown field"},
		{`{"rpm":1.5}`, "rpm", "got a number out of range or not an integer, want an integer"},
		{`{"rpm":"5"}`, "rpm", "got a JSON string, want an integer"},
		{`{"rpm":-5}`, "rpm", "-5 is negative"},
		{`{"itpm":1099511627777}`, "itpm", "1099511627777 exceeds the maximum 1099511627776"},
		{`{"rpm":99999999999999999999}`, "rpm", "got a number out of range or not an integer, want an integer"},
		{`{}`, "budget", "no dimension is limited (set at least one of rpm, itpm, otpm, tpm, rpd, tpd)"},
		{`{"rpm":10,"headroom":1}`, "headroom", "1 is outside [0, 1)"},
		{`{"rpm":10,"burst":"-1s"}`, "burst", "-1s is negative"},
		{`{"rpm":10,"burst":"25h"}`, "burst", "25h0m0s exceeds 24h0m0s"},
		{`{"rpm":10,"burst":"1s"}`, "burst", "1s gives rpm a capacity of 0.167, below one unit"},
		{`{"rpm":10} {}`, "", "unexpected data after the JSON value"},
		{``, "", "empty input, want a JSON object"},
		{`{"rpm":`, "", "truncated JSON"},
		{`[1]`, "", "got a JSON array, want an object"},
	} {
		_, err := parseBudget([]byte(tc.in))
		var fe *FieldError
		if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidBudget) {
			t.Errorf("ParseBudget(%s) = %v; want a *FieldError", tc.in, err)
			continue
		}
		if fe.Field != tc.field || fe.Reason != tc.reason {
			t.Errorf("ParseBudget(%s) = {%q, %q}; want {%q, %q}", tc.in, fe.Field, fe.Reason, tc.field, tc.reason)
		}
	}
}

func TestConfigBuildWorkspace(t *testing.T) {
	// "build tier, but our workspace is capped at 200k ITPM"
	c, err := LoadConfig(strings.NewReader(`{
		"provider": "anthropic",
		"tier": "build",
		"defaults": {"burst": "10s", "headroom": 0.1},
		"workspace": {"itpm": 200000},
		"models": {
			"claude-sonnet-4-5": {"otpm": 50000},
			"claude-opus-5-5": {"tier": "none", "rpm": 500, "itpm": 400000, "otpm": 80000, "workspace": {"rpm": 100}},
			"claude-3-opus": {"tier": "tier-4"}
		}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		model string
		want  Budget
	}{
		{"claude-sonnet-4-5", Budget{RPM: 5000, ITPM: 200000, OTPM: 50000, Burst: 10 * time.Second, Headroom: 0.1}},
		{"claude-sonnet-4-5-20250929", Budget{RPM: 5000, ITPM: 200000, OTPM: 50000, Burst: 10 * time.Second, Headroom: 0.1}},
		{"claude-sonnet-4-6", Budget{RPM: 5000, ITPM: 200000, OTPM: 50000, Burst: 10 * time.Second, Headroom: 0.1}}, // same pool
		{"claude-opus-5", Budget{RPM: 5000, ITPM: 200000, OTPM: 1000000, Burst: 10 * time.Second, Headroom: 0.1}},
		{"claude-opus-5-5", Budget{RPM: 100, ITPM: 200000, OTPM: 80000, Burst: 10 * time.Second, Headroom: 0.1}},
		{"claude-3-opus-20240229", Budget{RPM: 4000, ITPM: 200000, OTPM: 80000, Burst: 10 * time.Second, Headroom: 0.1}},
	} {
		got, err := c.Budget(tc.model)
		if err != nil || got != tc.want {
			t.Errorf("Budget(%s) = %+v, %v; want %+v", tc.model, got, err, tc.want)
		}
	}
	// A workspace limit above the organization's caps nothing.
	cw := *c
	cw.Workspace = Override{ITPM: new(int64(9_000_000)), OTPM: new(int64(300_000))}
	if b, err := cw.Budget("claude-haiku-4-5"); err != nil || b.ITPM != 5_000_000 || b.OTPM != 300_000 {
		t.Errorf("Budget with workspace above org = %+v, %v; want ITPM 5000000, OTPM 300000", b, err)
	}
	if _, err := c.Budget("claude-mythos-5"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("Budget(claude-mythos-5) = %v; want ErrUnknownModel", err)
	}
	if len(c.Models) != 3 {
		t.Errorf("%d models; want 3", len(c.Models))
	}
	for k := range c.Models {
		if _, err := c.Budget(k); err != nil {
			t.Errorf("Budget(%s) = %v", k, err)
		}
	}

	// Round trip.
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := LoadConfig(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("LoadConfig(Marshal(c)) = %v\n%s", err, data)
	}
	if diff := cmp.Diff(c, c2); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestConfigOpenAI(t *testing.T) {
	c, err := LoadConfig(strings.NewReader(`{"provider":"openai","tier":"tier-3",
		"models":{"gpt-4o":{"rpm":5000,"tpm":800000,"rpd":0},"gpt-4o-mini":{"rpm":5000,"tpm":4000000,"tpd":40000000}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := c.Budget("gpt-4o"); err != nil || b != (Budget{RPM: 5000, TPM: 800000}) {
		t.Errorf("Budget(gpt-4o) = %+v, %v", b, err)
	}
	if _, err := c.Budget("gpt-5"); !errors.Is(err, ErrUnknownModel) || !strings.Contains(err.Error(), "no per-model limits") {
		t.Errorf("Budget(gpt-5) = %v; want ErrUnknownModel explaining the missing table", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ in, field, reason string }{
		{`{"provider":"anthropic","tier":"build","modles":{}}`, "modles", "unknown field"},
		{`{"provider":"azure"}`, "provider", `"azure" is not a known provider (anthropic, openai)`},
		{`{"tier":"build"}`, "provider", `"" is not a known provider (anthropic, openai)`},
		{`{"provider":"anthropic","tier":"gold"}`, "tier", `tier: unknown tier "gold" for anthropic (known: start; build; scale; tier-1; tier-2; tier-3; tier-4)`},
		{`{"provider":"anthropic","tier":"build","defaults":{"burst":"soon"}}`, "defaults.burst", `"soon" is not a duration such as "10s" or "1m30s"`},
		{`{"provider":"anthropic","tier":"build","defaults":{"headroom":-0.5}}`, "defaults.headroom", "-0.5 is outside [0, 1)"},
		{`{"provider":"anthropic","tier":"build","workspace":{"burst":"1s"}}`, "workspace.burst", "a workspace caps limits only; set burst in defaults or on the model"},
		{`{"provider":"anthropic","tier":"tier-1","defaults":{"burst":"1s"}}`, "burst", "with the tier-1 preset for Opus 4.x: 1s gives rpm a capacity of 0.833, below one unit"},
		{`{"provider":"anthropic","tier":"build","defaults":{"wat":1}}`, "defaults.wat", "unknown field"},
		{`{"provider":"anthropic","tier":"build","models":{"claude-haiku-4-5":{"workspace":{"wat":1}}}}`, "models.claude-haiku-4-5.workspace.wat", "unknown field"},
		{`{"provider":"anthropic","tier":"build","models":{"claude-haiku-4-5":[]}}`, "models.claude-haiku-4-5", "got a JSON array, want an object"},
		{`{"provider":"anthropic","tier":"build","models":{"claude-haiku-4-5":{"workspace":{"otpm":-1}}}}`, "models.claude-haiku-4-5.workspace.otpm", "-1 is outside [0, 1099511627776]"},
		{`{"provider":"anthropic","tier":"build","models":{"claude-haiku-4-5":{"itpm":"lots"}}}`, "models.claude-haiku-4-5.itpm", "got a JSON string, want an integer"},
		{`{"provider":"anthropic","tier":"build","models":{"claude-haiku-4-5":{"burst":"1s","rpm":10}}}`, "models.claude-haiku-4-5.burst", "1s gives rpm a capacity of 0.167, below one unit"},
		{`{"provider":"anthropic","tier":"build","models":{"claude-haiku-4-5":{"bogus":1}}}`, "models.claude-haiku-4-5.bogus", "unknown field"},
		{`{"provider":"anthropic","tier":"build","models":{"claude-sonnet-4-5":{},"claude-sonnet-4-6":{}}}`, "models.claude-sonnet-4-6", "shares one rate-limit pool (current/sonnet-4.x) with models.claude-sonnet-4-5; configure the pool once"},
		{`{"provider":"anthropic","models":{"x":{}}}`, "models.x", "no dimension is limited (set at least one of rpm, itpm, otpm, tpm, rpd, tpd)"},
		{`{"provider":"anthropic","models":{"x":{"tier":"tier-9"}}}`, "models.x.tier", `tier: unknown tier "tier-9" for anthropic (known: start; build; scale; tier-1; tier-2; tier-3; tier-4)`},
		{`{"provider":"anthropic","models":{"":{"rpm":1}}}`, "models", "empty model name"},
	} {
		_, err := LoadConfig(strings.NewReader(tc.in))
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("LoadConfig(%s) = %v; want a *FieldError", tc.in, err)
			continue
		}
		if fe.Field != tc.field || fe.Reason != tc.reason {
			t.Errorf("LoadConfig(%s)\n got {%q, %q}\nwant {%q, %q}", tc.in, fe.Field, fe.Reason, tc.field, tc.reason)
		}
	}
	// A model with no row in the tier names the model and the fix.
	_, err := LoadConfig(strings.NewReader(`{"provider":"anthropic","tier":"build","models":{"mistral-large":{"itpm":1}}}`))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "models.mistral-large" || !strings.Contains(fe.Reason, `"tier": "none"`) {
		t.Errorf("LoadConfig(unmapped model) = %v", err)
	}
	if _, err := LoadConfig(strings.NewReader(strings.Repeat(" ", maxConfigBytes+1))); err == nil {
		t.Error("LoadConfig accepted more than maxConfigBytes")
	}
}

func TestConfigFileAndEnv(t *testing.T) {
	const cfg = `{"provider":"anthropic","tier":"tier-2"}`
	path := filepath.Join(t.TempDir(), "limits.json")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfigFile(path)
	if err != nil || c.Tier != "tier-2" {
		t.Errorf("LoadConfigFile = %+v, %v", c, err)
	}
	if b, err := c.Budget("claude-haiku-4-5"); err != nil || b != (Budget{RPM: 1000, ITPM: 450000, OTPM: 90000}) {
		t.Errorf("Budget(claude-haiku-4-5) = %+v, %v", b, err)
	}
	if _, err := LoadConfigFile(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadConfigFile(missing) = %v; want os.ErrNotExist", err)
	}
	if err := os.WriteFile(path, []byte(`{"provider":"anthropic","tier":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfigFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadConfigFile(bad) = %v; want the path in the error", err)
	}

	t.Setenv("RATEKEEPER_TEST_LIMITS", cfg)
	if c, err := ConfigFromEnv("RATEKEEPER_TEST_LIMITS"); err != nil || c.Tier != "tier-2" {
		t.Errorf("ConfigFromEnv = %+v, %v", c, err)
	}
	t.Setenv("RATEKEEPER_TEST_LIMITS", `{"provider":"anthropic","tier":"build","x":1}`)
	var fe *FieldError
	if _, err := ConfigFromEnv("RATEKEEPER_TEST_LIMITS"); !errors.As(err, &fe) || fe.Field != "x" || !strings.Contains(fe.Reason, "$RATEKEEPER_TEST_LIMITS") {
		t.Errorf("ConfigFromEnv(bad) = %v", err)
	}
	t.Setenv("RATEKEEPER_TEST_LIMITS", "")
	if _, err := ConfigFromEnv("RATEKEEPER_TEST_LIMITS"); !errors.Is(err, ErrNoConfig) {
		t.Errorf("ConfigFromEnv(empty) = %v; want ErrNoConfig", err)
	}
}

func TestOverrideApply(t *testing.T) {
	p, err := Lookup(Anthropic, "build", "claude-sonnet-4-5")
	if err != nil {
		t.Fatal(err)
	}
	b := Override{ITPM: new(int64(200_000)), Burst: new(5 * time.Second)}.Apply(p.Budget)
	if want := (Budget{RPM: 5000, ITPM: 200_000, OTPM: 1_000_000, Burst: 5 * time.Second}); b != want {
		t.Errorf("Apply = %+v; want %+v", b, want)
	}
	if b := (Override{OTPM: new(int64(0))}).Apply(p.Budget); b.OTPM != 0 || b.ITPM != 5_000_000 {
		t.Errorf("Apply(otpm 0) = %+v; want OTPM removed", b)
	}
	if !(Override{}).IsZero() || (Override{RPM: new(int64(0))}).IsZero() {
		t.Error("IsZero wrong")
	}
}

// parseBudget decodes a budget object (see [Budget.UnmarshalJSON]) and
// validates it, as LoadConfig does for each of its budgets; errors are
// *FieldError values matching ErrInvalidBudget. Only the tests need both in
// one call.
func parseBudget(data []byte) (Budget, error) {
	var b Budget
	if err := b.UnmarshalJSON(data); err != nil {
		return Budget{}, err
	}
	if err := b.Validate(); err != nil {
		return Budget{}, err
	}
	return b, nil
}
