//lint:file-ignore SA1019 every model the SDK names, deprecated ones included, must map to a class

package tier

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/google/go-cmp/cmp"
)

// row is one line of a published table: RPM / ITPM / OTPM and the cache-read
// mark. The want tables below are typed from
// /work/shared/reference/api-rate-limits.md independently of data/*.json, so
// a typo on either side fails the test.
type row struct {
	rpm, itpm, otpm int64
	cacheReads      bool
}

var (
	// V-C: "Opus 4.x*, Sonnet 5, Sonnet 4.x**, Haiku 4.5 | same as Opus 5".
	vcOpus5 = map[string]row{
		"start": {1_000, 2_000_000, 400_000, false},
		"build": {5_000, 5_000_000, 1_000_000, false},
		"scale": {10_000, 10_000_000, 2_000_000, false},
	}
	// V-B Sonnet 4.x and Opus 4.x (also V-A Opus 4 / Sonnet 4).
	vb4x = map[string]row{
		"tier-1": {50, 30_000, 8_000, false},
		"tier-2": {1_000, 450_000, 90_000, false},
		"tier-3": {2_000, 800_000, 160_000, false},
		"tier-4": {4_000, 2_000_000, 400_000, false},
	}
	// V-B Haiku 3.5 and Haiku 3 (also V-A), cache reads count (†).
	vbHaiku3 = map[string]row{
		"tier-1": {50, 50_000, 10_000, true},
		"tier-2": {1_000, 100_000, 20_000, true},
		"tier-3": {2_000, 200_000, 40_000, true},
		"tier-4": {4_000, 400_000, 80_000, true},
	}
	// V-A Sonnet 3.5 (both dates) and Sonnet 3, cache reads count (*).
	vaSonnet3 = map[string]row{
		"tier-1": {50, 40_000, 8_000, true},
		"tier-2": {1_000, 80_000, 16_000, true},
		"tier-3": {2_000, 160_000, 32_000, true},
		"tier-4": {4_000, 400_000, 80_000, true},
	}

	wantRows = map[string]map[string]map[string]row{ // scheme → class → tier
		"current": {
			"fable-5": {
				"start": {1_000, 500_000, 100_000, false},
				"build": {2_000, 1_500_000, 300_000, false},
				"scale": {4_000, 4_000_000, 800_000, false},
			},
			"opus-5":     vcOpus5,
			"opus-4.x":   vcOpus5,
			"sonnet-5":   vcOpus5,
			"sonnet-4.x": vcOpus5,
			"haiku-4.5":  vcOpus5,
			"haiku-3.5": {
				"start": {1_000, 100_000, 20_000, true},
				"build": {2_000, 200_000, 40_000, true},
				"scale": {4_000, 400_000, 80_000, true},
			},
		},
		"legacy": {
			"opus-4.x":   vb4x,
			"sonnet-4.x": vb4x,
			"sonnet-3.7": {
				"tier-1": {50, 20_000, 8_000, false},
				"tier-2": {1_000, 40_000, 16_000, false},
				"tier-3": {2_000, 80_000, 32_000, false},
				"tier-4": {4_000, 200_000, 80_000, false},
			},
			"haiku-4.5": {
				"tier-1": {50, 50_000, 10_000, false},
				"tier-2": {1_000, 450_000, 90_000, false},
				"tier-3": {2_000, 1_000_000, 200_000, false},
				"tier-4": {4_000, 4_000_000, 800_000, false},
			},
			"haiku-3.5":  vbHaiku3,
			"haiku-3":    vbHaiku3,
			"sonnet-3.5": vaSonnet3,
			"sonnet-3":   vaSonnet3,
			"opus-3": {
				"tier-1": {50, 20_000, 4_000, true},
				"tier-2": {1_000, 40_000, 8_000, true},
				"tier-3": {2_000, 80_000, 16_000, true},
				"tier-4": {4_000, 400_000, 80_000, true},
			},
		},
	}
)

// TestPresetRows checks every row of the embedded Anthropic data against the
// hand-written tables, and that neither side has rows the other lacks.
func TestPresetRows(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Presets(Anthropic) {
		key := p.Class.Scheme + "/" + p.Class.Name + "/" + p.Tier.Name
		t.Run(key, func(t *testing.T) {
			seen[key] = true
			want, ok := wantRows[p.Class.Scheme][p.Class.Name][p.Tier.Name]
			if !ok {
				t.Fatalf("data has row %s that the reference does not list", key)
			}
			got := row{p.Budget.RPM, p.Budget.ITPM, p.Budget.OTPM, p.Class.CacheReadsCount}
			if got != want {
				t.Errorf("row %s = %+v; want %+v", key, got, want)
			}
			if b := p.Budget; b.TPM != 0 || b.RPD != 0 || b.TPD != 0 || b.Burst != 0 || b.Headroom != 0 {
				t.Errorf("row %s has fields Anthropic does not publish: %+v", key, b)
			}
			if err := p.Budget.Validate(); err != nil {
				t.Errorf("row %s: Validate() = %v", key, err)
			}
			if p.Class.Source.AsOf == "" || !strings.HasPrefix(p.Class.Source.URL, "https://") {
				t.Errorf("row %s: source %+v lacks as_of or URL", key, p.Class.Source)
			}
			if p.MaxRequestBytes != 32<<20 || p.Class.ContextWindow != 200_000 {
				t.Errorf("row %s: MaxRequestBytes, ContextWindow = %d, %d; want 32 MiB, 200000", key, p.MaxRequestBytes, p.Class.ContextWindow)
			}
			// Lookup by class name and by every listed model returns the same row.
			for _, m := range append([]string{p.Class.Name}, p.Class.Models...) {
				q, err := Lookup(Anthropic, p.Tier.Name, m)
				if err != nil || q.Budget != p.Budget || q.Class.Name != p.Class.Name {
					t.Errorf("Lookup(anthropic, %s, %s) = %v, %v; want %s %+v", p.Tier.Name, m, q.Class.Name, err, p.Class.Name, p.Budget)
				}
			}
		})
	}
	for scheme, classes := range wantRows {
		for class, tiers := range classes {
			for tier := range tiers {
				if key := scheme + "/" + class + "/" + tier; !seen[key] {
					t.Errorf("reference row %s is missing from the data", key)
				}
			}
		}
	}
}

func TestPresetSources(t *testing.T) {
	for _, tc := range []struct{ scheme, class, id, asOf string }{
		{"current", "fable-5", "V-C", "2026"},
		{"current", "haiku-3.5", "V-C", "2026"},
		{"legacy", "opus-4.x", "V-B", "late 2025"},
		{"legacy", "haiku-3", "V-B", "late 2025"},
		{"legacy", "sonnet-3.5", "V-A", "mid-2025"},
		{"legacy", "opus-3", "V-A", "mid-2025"},
		{"legacy", "sonnet-3", "V-A", "mid-2025"},
	} {
		tier := map[string]string{"current": "build", "legacy": "tier-1"}[tc.scheme]
		p, err := Lookup(Anthropic, tier, tc.class)
		if err != nil {
			t.Fatalf("Lookup(%s, %s) = %v", tier, tc.class, err)
		}
		if p.Class.Source.ID != tc.id || p.Class.Source.AsOf != tc.asOf {
			t.Errorf("%s/%s source = %s %q; want %s %q", tc.scheme, tc.class, p.Class.Source.ID, p.Class.Source.AsOf, tc.id, tc.asOf)
		}
	}
}

func TestTierMetadata(t *testing.T) {
	type meta struct {
		spend, credit                       int64
		batchRPM, queued, perBatch, batchMB int64
		countTokensRPM                      int64
	}
	want := map[string]meta{
		"start":  {500, 0, 1_000, 200_000, 100_000, 256, 0},
		"build":  {1_000, 0, 2_000, 300_000, 100_000, 256, 0},
		"scale":  {200_000, 0, 4_000, 500_000, 100_000, 256, 0},
		"tier-1": {100, 5, 50, 100_000, 100_000, 256, 100},
		"tier-2": {500, 40, 1_000, 200_000, 100_000, 256, 2_000},
		"tier-3": {1_000, 200, 2_000, 300_000, 100_000, 256, 4_000},
		"tier-4": {5_000, 400, 4_000, 500_000, 100_000, 256, 8_000},
	}
	tiers := Tiers(Anthropic)
	if len(tiers) != len(want) {
		t.Errorf("Tiers(anthropic) has %d tiers; want %d", len(tiers), len(want))
	}
	for _, ti := range tiers {
		got := meta{ti.MonthlySpendCapUSD, ti.CreditPurchaseUSD, ti.Batches.RPM, ti.Batches.QueuedRequests,
			ti.Batches.MaxRequestsPerBatch, ti.Batches.MaxBatchBytes / 1_000_000, ti.CountTokensRPM}
		if got != want[ti.Name] {
			t.Errorf("tier %s = %+v; want %+v", ti.Name, got, want[ti.Name])
		}
		if ti.Batches.Source.URL == "" || ti.SpendSource.URL == "" {
			t.Errorf("tier %s lacks a source", ti.Name)
		}
		if ti.CountTokensRPM > 0 && !strings.Contains(ti.CountTokensSource.URL, "token-counting") {
			t.Errorf("tier %s count_tokens source = %q", ti.Name, ti.CountTokensSource.URL)
		}
	}

	wantOpenAI := map[string][2]int64{ // monthly usage limit, amount paid
		"free": {100, 0}, "tier-1": {100, 5}, "tier-2": {500, 50}, "tier-3": {1_000, 100}, "tier-4": {5_000, 250}, "tier-5": {200_000, 1_000},
	}
	otiers := Tiers(OpenAI)
	if len(otiers) != len(wantOpenAI) {
		t.Errorf("Tiers(openai) has %d tiers; want %d", len(otiers), len(wantOpenAI))
	}
	for _, ti := range otiers {
		if got := [2]int64{ti.MonthlySpendCapUSD, ti.CreditPurchaseUSD}; got != wantOpenAI[ti.Name] {
			t.Errorf("openai tier %s = %v; want %v", ti.Name, got, wantOpenAI[ti.Name])
		}
		if ti.Requirement == "" || ti.SpendSource.AsOf == "" {
			t.Errorf("openai tier %s lacks requirement or as_of", ti.Name)
		}
	}
	if Tiers("azure") != nil || Presets("azure") != nil {
		t.Error("unknown provider listed something")
	}
}

func TestLongContext(t *testing.T) {
	p, err := Lookup(Anthropic, "tier-4", "claude-sonnet-4-5")
	if err != nil {
		t.Fatal(err)
	}
	want := &LongContext{Window: 1_000_000, AboveTokens: 200_000, Beta: "context-1m-2025-08-07"}
	if diff := cmp.Diff(want, p.Class.LongContext); diff != "" {
		t.Errorf("LongContext mismatch (-want +got):\n%s", diff)
	}
	if p.LongContext != (Budget{ITPM: 1_000_000, OTPM: 200_000}) {
		t.Errorf("tier-4 long-context budget = %+v", p.LongContext)
	}
	p, _ = Lookup(Anthropic, "tier-3", "claude-sonnet-4-5")
	if p.LongContext != (Budget{}) {
		t.Errorf("tier-3 long-context budget = %+v; want none published", p.LongContext)
	}
}

func TestModelMapping(t *testing.T) {
	for _, tc := range []struct {
		tier, model, class string // class "" means ErrUnknownModel
		hint               string // substring of the error
	}{
		{"build", "claude-sonnet-4-5-20250929", "sonnet-4.x", ""},
		{"build", "claude-sonnet-4-5", "sonnet-4.x", ""},
		{"build", "claude-sonnet-4-6", "sonnet-4.x", ""},
		{"build", "Claude-Sonnet-4-6", "sonnet-4.x", ""},
		{"build", "claude-opus-4-8", "opus-4.x", ""},
		{"build", "claude-opus-4-5-20251101", "opus-4.x", ""},
		{"build", "claude-opus-5", "opus-5", ""},
		{"build", "claude-sonnet-5", "sonnet-5", ""},
		{"build", "claude-fable-5", "fable-5", ""},
		{"build", "claude-haiku-4-5-20251001", "haiku-4.5", ""},
		{"build", "claude-3-5-haiku-20241022", "haiku-3.5", ""},
		{"build", "us.anthropic.claude-haiku-4-5-20251001-v1:0", "haiku-4.5", ""},
		{"build", "Haiku 3.5", "haiku-3.5", ""},
		{"build", "claude-opus-4-1", "", "legacy scheme"},
		{"build", "claude-3-opus-20240229", "", "legacy scheme"},
		{"build", "claude-opus-5-5", "opus-5", ""},   // by family
		{"build", "claude-fable-5-2", "fable-5", ""}, // by family
		{"build", "claude-opus-6", "opus-5", ""},     // by family: the newest Opus
		{"build", "claude-haiku-5", "haiku-4.5", ""}, // by family
		{"build", "claude-mythos-5", "", "no rate-limit table"},
		{"build", "claude-sonnet-4-5x", "", ""},
		{"build", "claude-sonnet-4-5-2025", "sonnet-4.x", ""}, // by family
		{"build", "claude-opus-3", "", ""},                    // older than every Opus listed here
		{"build", "gpt-4o", "", ""},
		{"build", "", "", ""},
		{"tier-1", "claude-opus-4-20250514", "opus-4.x", ""},
		{"tier-1", "claude-4-opus-20250514", "opus-4.x", ""},
		{"tier-1", "claude-opus-4-0", "opus-4.x", ""},
		{"tier-1", "claude-opus-4-1", "opus-4.x", ""},
		{"tier-1", "claude-opus-4-1@20250805", "opus-4.x", ""},
		{"tier-1", "anthropic.claude-opus-4-1-20250805-v1:0", "opus-4.x", ""},
		{"tier-1", "claude-sonnet-4-20250514", "sonnet-4.x", ""},
		{"tier-1", "claude-3-7-sonnet-latest", "sonnet-3.7", ""},
		{"tier-1", "claude-3-5-sonnet-20240620", "sonnet-3.5", ""},
		{"tier-1", "claude-3-5-sonnet-20241022", "sonnet-3.5", ""},
		{"tier-1", "claude-3-sonnet-20240229", "sonnet-3", ""},
		{"tier-1", "claude-3-haiku-20240307", "haiku-3", ""},
		{"tier-1", "claude-3-opus-latest", "opus-3", ""},
		{"tier-1", "claude-opus-5", "", "current scheme"},
		{"tier-1", "claude-fable-5", "", "current scheme"},
	} {
		p, err := Lookup(Anthropic, tc.tier, tc.model)
		if tc.class == "" {
			var le *LookupError
			if !errors.Is(err, ErrUnknownModel) || !errors.As(err, &le) {
				t.Errorf("Lookup(%s, %q) = %s, %v; want ErrUnknownModel", tc.tier, tc.model, p.Class.Name, err)
				continue
			}
			if !strings.Contains(err.Error(), tc.hint) || len(le.Known) == 0 {
				t.Errorf("Lookup(%s, %q) error %q; want hint %q and a known list", tc.tier, tc.model, err, tc.hint)
			}
			continue
		}
		if err != nil || p.Class.Name != tc.class {
			t.Errorf("Lookup(%s, %q) = %s, %v; want %s", tc.tier, tc.model, p.Class.Name, err, tc.class)
		}
	}
}

// TestSDKModels checks that every model constant of anthropic-sdk-go v2.15.0
// has a class or an explicit reason for having none.
func TestSDKModels(t *testing.T) {
	sdk := []string{
		anthropic.ModelClaudeFable5_2, anthropic.ModelClaudeMythos5_2, anthropic.ModelClaudeHaiku5_5,
		anthropic.ModelClaudeSonnet5_5, anthropic.ModelClaudeFable5_1, anthropic.ModelClaudeOpus5_5,
		anthropic.ModelClaudeMythos5_1, anthropic.ModelClaudeSonnet5, anthropic.ModelClaudeFable5,
		anthropic.ModelClaudeMythos5, anthropic.ModelClaudeOpus5, anthropic.ModelClaudeOpus4_8,
		anthropic.ModelClaudeOpus4_7, anthropic.ModelClaudeMythosPreview, anthropic.ModelClaudeOpus4_6,
		anthropic.ModelClaudeSonnet4_6, anthropic.ModelClaudeHaiku4_5, anthropic.ModelClaudeHaiku4_5_20251001,
		anthropic.ModelClaudeOpus4_5, anthropic.ModelClaudeOpus4_5_20251101, anthropic.ModelClaudeSonnet4_6,
		anthropic.ModelClaudeSonnet4_5_20250929,
	}
	for _, m := range sdk {
		_, err := Lookup(Anthropic, "build", m) // the current scheme
		if errors.Is(err, ErrUnknownModel) {
			_, err = Lookup(Anthropic, "tier-1", m) // the legacy one
		}
		if err == nil {
			continue
		}
		var le *LookupError
		if !errors.As(err, &le) || le.Hint == "" {
			t.Errorf("Lookup(%s) = %v; want a class or an explained unknown", m, err)
		}
	}
}

func TestLookupErrors(t *testing.T) {
	for _, tc := range []struct {
		p           Provider
		tier, model string
		want        error
		msg         string
	}{
		{"azure", "tier-1", "x", ErrUnknownProvider, `tier: unknown provider "azure" (known: anthropic; openai)`},
		{Anthropic, "gold", "claude-opus-5", ErrUnknownTier, `tier: unknown tier "gold" for anthropic (known: start; build; scale; tier-1; tier-2; tier-3; tier-4)`},
		{Anthropic, "tier-5", "claude-opus-5", ErrUnknownTier, ""},
		{OpenAI, "start", "gpt-4o", ErrUnknownTier, ""},
		{OpenAI, "tier-1", "gpt-4o", ErrUnknownModel, `tier: unknown model "gpt-4o" for openai: the embedded openai table has no per-model limits; give them in Config`},
	} {
		_, err := Lookup(tc.p, tc.tier, tc.model)
		if !errors.Is(err, tc.want) {
			t.Errorf("Lookup(%s, %s, %s) = %v; want %v", tc.p, tc.tier, tc.model, err, tc.want)
		}
		if tc.msg != "" && err.Error() != tc.msg {
			t.Errorf("Lookup(%s, %s, %s) error\n got %s\nwant %s", tc.p, tc.tier, tc.model, err, tc.msg)
		}
	}
	long := strings.Repeat("x", 10_000)
	if _, err := Lookup(Anthropic, long, "m"); err == nil || len(err.Error()) > 500 {
		t.Errorf("Lookup with a 10 kB tier name: error of %d bytes", len(fmt.Sprint(err)))
	}
}

func TestTierNames(t *testing.T) {
	for _, name := range []string{"build", "Build", " BUILD ", "Tier 2", "tier_2", "TIER-2", "2", "tier2"} {
		if _, err := Lookup(Anthropic, name, "claude-haiku-4-5"); err != nil {
			t.Errorf("Lookup(%q) = %v", name, err)
		}
	}
}

func TestEmbeddedDataParses(t *testing.T) {
	if _, err := loadCatalog(); err != nil {
		t.Fatal(err)
	}
}

// TestParseProviderData checks that the data checks catch the mistakes a
// table update can make, and that a class added to the OpenAI file (a data
// change) becomes a preset.
func TestParseProviderData(t *testing.T) {
	const base = `{"provider":"openai","sources":{"s":{"as_of":"2026","url":"https://example.com"}},
	"schemes":[{"name":"usage-tiers","tiers":[{"name":"tier-1"},{"name":"tier-2"}],
	"classes":[{"name":"gpt-x","source":"s","models":["gpt-x"],"context_window":128000,
	"limits":{"tier-1":{"rpm":500,"tpm":30000,"rpd":10000},"tier-2":{"rpm":5000,"tpm":450000}}}]}]}`
	pd, err := parseProviderData([]byte(base))
	if err != nil {
		t.Fatalf("parseProviderData(base) = %v", err)
	}
	cat := &catalog{providers: map[Provider]*providerData{OpenAI: pd}}
	p, err := cat.lookup(OpenAI, "Tier 1", "gpt-x-2026-01-01")
	if err == nil {
		t.Errorf("lookup matched a non-date suffix: %+v", p)
	}
	p, err = cat.lookup(OpenAI, "Tier 1", "GPT-X")
	if err != nil || p.Budget != (Budget{RPM: 500, TPM: 30000, RPD: 10000}) {
		t.Errorf("lookup(gpt-x) = %+v, %v", p.Budget, err)
	}
	for name, bad := range map[string]string{
		"unknown field":   strings.Replace(base, `"context_window"`, `"context_windw"`, 1),
		"unknown source":  strings.Replace(base, `"source":"s"`, `"source":"t"`, 1),
		"missing tier":    strings.Replace(base, `,"tier-2":{"rpm":5000,"tpm":450000}`, ``, 1),
		"extra tier":      strings.Replace(base, `"tier-2":{"rpm"`, `"tier-3":{"rpm"`, 1),
		"negative limit":  strings.Replace(base, `"rpm":500`, `"rpm":-500`, 1),
		"empty limits":    strings.Replace(base, `{"rpm":5000,"tpm":450000}`, `{}`, 1),
		"duplicate tier":  strings.Replace(base, `{"name":"tier-2"}`, `{"name":"Tier 1"}`, 1),
		"duplicate model": strings.Replace(base, `"models":["gpt-x"]`, `"models":["gpt-x","gpt-x"]`, 1),
		"not canonical":   strings.Replace(base, `"models":["gpt-x"]`, `"models":["GPT-X"]`, 1),
		"no window":       strings.Replace(base, `"context_window":128000`, `"context_window":0`, 1),
		"no as_of":        strings.Replace(base, `"as_of":"2026",`, ``, 1),
		"no schemes":      `{"provider":"openai","schemes":[]}`,
		"not json":        `{`,
	} {
		if _, err := parseProviderData([]byte(bad)); err == nil {
			t.Errorf("parseProviderData(%s) = nil error", name)
		}
	}
}

func TestMatchModel(t *testing.T) {
	for _, tc := range []struct {
		n, alias string
		want     bool
	}{
		{"claude-opus-4", "claude-opus-4", true},
		{"claude-opus-4-20250514", "claude-opus-4", true},
		{"claude-opus-4@20250514", "claude-opus-4", true},
		{"claude-opus-4-20250514-v1:0", "claude-opus-4", true},
		{"claude-opus-4-latest", "claude-opus-4", true},
		{"claude-opus-4-1", "claude-opus-4", false},
		{"claude-opus-4-5", "claude-opus-4", false},
		{"claude-opus-4-2025051", "claude-opus-4", false},
		{"claude-opus-4-20250514x", "claude-opus-4", false},
		{"claude-opus-4x", "claude-opus-4", false},
		{"claude-opus", "claude-opus-4", false},
		{"claude-opus-4-", "claude-opus-4", false},
	} {
		if got := matchModel(tc.n, tc.alias); got != tc.want {
			t.Errorf("matchModel(%q, %q) = %v; want %v", tc.n, tc.alias, got, tc.want)
		}
	}
}

func TestLookupTier(t *testing.T) {
	ti, err := LookupTier(Anthropic, "Tier 1")
	if err != nil {
		t.Fatal(err)
	}
	if ti.Name != "tier-1" || ti.CountTokensRPM <= 0 {
		t.Fatalf("LookupTier(Anthropic, Tier 1) = %+v; want tier-1 with a count_tokens limit", ti)
	}
	if _, err := LookupTier(Anthropic, "tier-9"); !errors.Is(err, ErrUnknownTier) {
		t.Fatalf("LookupTier(tier-9) = %v; want ErrUnknownTier", err)
	}
	if _, err := LookupTier(Provider("nobody"), "tier-1"); !errors.Is(err, ErrUnknownTier) {
		t.Fatalf("LookupTier(unknown provider) = %v; want ErrUnknownTier", err)
	}
}

// TestByFamily: a model the tables do not list is mapped to its family's
// class, and says so; a listed one does not.
func TestByFamily(t *testing.T) {
	p, err := Lookup(Anthropic, "build", "claude-opus-5-5")
	if err != nil || !p.ByFamily || p.Class.Name != "opus-5" || p.Budget.RPM == 0 {
		t.Fatalf("Lookup(claude-opus-5-5) = %+v, %v; want opus-5 by family", p.Class.Name, err)
	}
	if p, err := Lookup(Anthropic, "build", "claude-opus-5"); err != nil || p.ByFamily {
		t.Fatalf("Lookup(claude-opus-5) = ByFamily %v, %v; want a listed model", p.ByFamily, err)
	}
	c := &Config{Provider: Anthropic, Tier: "build"}
	if r, err := c.Resolve("claude-sonnet-5-1"); err != nil || !r.ByFamily || r.Pool != "current/sonnet-5" {
		t.Fatalf("Resolve(claude-sonnet-5-1) = %+v, %v; want current/sonnet-5 by family", r, err)
	}
}
