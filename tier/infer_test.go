package tier

import (
	"errors"
	"net/http"
	"testing"
)

func obsOf(rpm, itpm, otpm int64) Observation {
	o := newObservation(Anthropic)
	for d, v := range map[Dimension]int64{RPM: rpm, ITPM: itpm, OTPM: otpm} {
		if v > 0 {
			o.Dims[d] = DimensionObservation{Present: true, Limit: v, Remaining: v}
		}
	}
	return o
}

func TestInfer(t *testing.T) {
	for _, tc := range []struct {
		model string
		obs   Observation
		want  []string // scheme/tier
	}{
		{"claude-sonnet-4-5-20250929", obsOf(5000, 5_000_000, 1_000_000), []string{"current/build"}},
		{"claude-sonnet-4-5", obsOf(50, 30_000, 8_000), []string{"legacy/tier-1"}},
		{"claude-sonnet-4-5", obsOf(0, 30_000, 0), []string{"legacy/tier-1"}},
		{"claude-3-5-haiku", obsOf(2000, 200_000, 40_000), []string{"current/build", "legacy/tier-3"}},
		{"claude-haiku-4-5", obsOf(2000, 1_000_000, 200_000), []string{"legacy/tier-3"}},
		{"claude-sonnet-4-5", obsOf(5000, 200_000, 1_000_000), nil}, // workspace-capped: no preset
		{"claude-sonnet-4-5", obsOf(0, 0, 0), nil},
		{"claude-opus-4-1", obsOf(4000, 2_000_000, 400_000), []string{"legacy/tier-4"}},
	} {
		in, err := Infer(Anthropic, tc.obs, tc.model)
		if err != nil {
			t.Errorf("Infer(%s) = %v", tc.model, err)
			continue
		}
		var got []string
		for _, p := range in.Matches {
			got = append(got, p.Class.Scheme+"/"+p.Tier.Name)
		}
		if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) || (len(got) > 1 && got[1] != tc.want[1]) {
			t.Errorf("Infer(%s, %+v) = %v; want %v", tc.model, tc.obs.Limits(), got, tc.want)
		}
	}
	if _, err := Infer(Anthropic, obsOf(1, 1, 1), "gpt-4o"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("Infer(gpt-4o) = %v", err)
	}
	if _, err := Infer("azure", obsOf(1, 1, 1), "x"); !errors.Is(err, ErrUnknownProvider) {
		t.Errorf("Infer(azure) = %v", err)
	}
	if _, err := Infer(OpenAI, Observation{}, "gpt-4o"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("Infer(openai) = %v", err)
	}
}

func TestInferString(t *testing.T) {
	in, _ := Infer(Anthropic, obsOf(5000, 5_000_000, 1_000_000), "claude-sonnet-4-5")
	const want = "claude-sonnet-4-5 limits (rpm 5000, itpm 5000000, otpm 1000000) match anthropic build (Sonnet 4.x)"
	if in.String() != want {
		t.Errorf("String() = %q; want %q", in, want)
	}
	in, _ = Infer(Anthropic, obsOf(1, 0, 0), "claude-sonnet-4-5")
	if in.String() != "claude-sonnet-4-5 limits (rpm 1) match no preset" {
		t.Errorf("String() = %q", in)
	}
}

func TestCompare(t *testing.T) {
	h := http.Header{}
	h.Set("anthropic-ratelimit-requests-limit", "5000")
	h.Set("anthropic-ratelimit-input-tokens-limit", "200000")
	h.Set("anthropic-ratelimit-output-tokens-limit", "1000000")
	obs, err := parseAnthropicHeaders(h, t0)
	if err != nil {
		t.Fatal(err)
	}
	b := Budget{RPM: 5000, ITPM: 5_000_000, OTPM: 1_000_000, TPM: 7}
	got := Compare(b, obs)
	if len(got) != 1 || got[0] != (Mismatch{ITPM, 5_000_000, 200_000}) {
		t.Errorf("Compare = %v", got)
	}
	if s := got[0].String(); s != "input_tokens_per_minute: configured 5000000, server reports 200000" {
		t.Errorf("String() = %q", s)
	}
	if got := Compare(Budget{RPM: 5000}, obs); len(got) != 2 || got[0].Dimension != ITPM || got[0].Configured != 0 {
		t.Errorf("Compare(rpm only) = %v", got)
	}
	if got := Compare(Budget{RPM: 5000, ITPM: 200_000, OTPM: 1_000_000}, obs); got != nil {
		t.Errorf("Compare(equal) = %v", got)
	}
}
