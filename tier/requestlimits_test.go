package tier

import (
	"strings"
	"testing"
)

// TestRequestLimitsOf pins the windows and body limits that the estimator
// refuses requests above, model by model.
func TestRequestLimitsOf(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		p     Provider
		model string
		want  RequestLimits
	}{
		{Anthropic, "claude-3-5-haiku-20241022", RequestLimits{200_000, 32 * mib}},
		{Anthropic, "claude-opus-4-1", RequestLimits{200_000, 32 * mib}},
		{Anthropic, "claude-opus-4-5-20251101", RequestLimits{200_000, 32 * mib}},
		{Anthropic, "claude-opus-4-6", RequestLimits{1_000_000, 32 * mib}},
		{Anthropic, "claude-sonnet-4-5-20250929", RequestLimits{1_000_000, 32 * mib}},
		{Anthropic, "claude-haiku-4-5", RequestLimits{200_000, 32 * mib}},
		{Anthropic, "claude-haiku-5", RequestLimits{1_000_000, 32 * mib}},
		{Anthropic, "claude-next-1", RequestLimits{1_000_000, 32 * mib}}, // unknown: the largest
		{Anthropic, "", RequestLimits{1_000_000, 32 * mib}},
		{OpenAI, "gpt-4", RequestLimits{ContextWindow: 8_192}},
		{OpenAI, "gpt-4-turbo-2024-04-09", RequestLimits{ContextWindow: 128_000}},
		{OpenAI, "gpt-4o-mini", RequestLimits{ContextWindow: 128_000}},
		{OpenAI, "gpt-4.1-nano", RequestLimits{ContextWindow: 1_047_576}},
		{OpenAI, "gpt-5-mini", RequestLimits{ContextWindow: 400_000}},
		{OpenAI, "o4-mini", RequestLimits{ContextWindow: 200_000}},
		{OpenAI, "gpt-next", RequestLimits{}}, // unknown: no check
		{"gemini", "gemini-3", RequestLimits{}},
	} {
		if got := RequestLimitsOf(tc.p, tc.model); got != tc.want {
			t.Errorf("RequestLimitsOf(%s, %q) = %+v, want %+v", tc.p, tc.model, got, tc.want)
		}
	}
}

// TestContextWindowsAgree checks the one catalog against itself: an
// unknown Anthropic model gets the largest window of any (it must not be
// refused for a size a known model accepts), and every model a class
// lists offers at least the class's window and its long-context window.
func TestContextWindowsAgree(t *testing.T) {
	cat, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	w := cat.providers[Anthropic].windows
	for _, e := range w.prefixes {
		if e.tokens > w.def {
			t.Errorf("prefix %q: window %d above the default %d", e.prefix, e.tokens, w.def)
		}
	}
	for _, pr := range Presets(Anthropic) {
		for _, m := range pr.Class.Models {
			got := RequestLimitsOf(Anthropic, m).ContextWindow
			if got < pr.Class.ContextWindow || (pr.Class.LongContext != nil && got < pr.Class.LongContext.Window) {
				t.Errorf("%s/%s: model %s window %d below the class's", pr.Class.Scheme, pr.Class.Name, m, got)
			}
		}
	}
}

// TestContextWindowsRefused: a table that contradicts itself is refused
// when loaded, naming what is wrong.
func TestContextWindowsRefused(t *testing.T) {
	data, err := dataFS.ReadFile("data/anthropic.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ from, to, want string }{
		{`"claude-sonnet-4": 1000000`, `"claude-sonnet-4": 300000`, "below the long-context window"},
		{`"claude-3": 200000`, `"claude-3": 100000`, "below the class's 200000"},
		{`"claude-3": 200000`, `"claude-3": 0`, "positive window"},
		{`"source": "models",`, `"source": "nowhere",`, `unknown source "nowhere"`},
	} {
		bad := strings.Replace(string(data), tc.from, tc.to, 1)
		if bad == string(data) {
			t.Fatalf("%q not in the data", tc.from)
		}
		if _, err := parseProviderData([]byte(bad)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s → %s: error %v, want one containing %q", tc.from, tc.to, err, tc.want)
		}
	}
}
