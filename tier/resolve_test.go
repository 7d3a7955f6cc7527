package tier

import (
	"errors"
	"testing"
)

func TestResolve(t *testing.T) {
	v := int64(123_000)
	c := &Config{
		Provider: Anthropic,
		Tier:     "build",
		Models: map[string]ModelConfig{
			"claude-haiku-4-5": {Override: Override{ITPM: &v}},
			"my-finetune":      {Tier: "none", Override: Override{RPM: &v}},
		},
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := c.Resolve("claude-sonnet-4-5-20250929")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Resolve("claude-sonnet-4-5")
	if err != nil {
		t.Fatal(err)
	}
	if a.Pool != b.Pool || a.Class == nil || a.Pool != a.Class.Scheme+"/"+a.Class.Name {
		t.Fatalf("dated and undated Sonnet 4.5 resolve to %q and %q (class %v)", a.Pool, b.Pool, a.Class)
	}
	want, _ := Lookup(Anthropic, "build", "claude-sonnet-4-5")
	if a.Budget != want.Budget {
		t.Fatalf("budget %+v; want the preset %+v", a.Budget, want.Budget)
	}
	h, err := c.Resolve("claude-haiku-4-5-20251001")
	if err != nil || h.Budget.ITPM != v {
		t.Fatalf("Resolve(haiku) = %+v, %v; want the override ITPM %d", h, err, v)
	}
	f, err := c.Resolve("my-finetune")
	if err != nil || f.Pool != "model/my-finetune" || f.Class != nil || f.Budget.RPM != v {
		t.Fatalf("Resolve(my-finetune) = %+v, %v", f, err)
	}
	if _, err := c.Resolve("gpt-4o"); !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("Resolve(unknown) = %v; want ErrUnknownModel", err)
	}
}

func TestWithLimit(t *testing.T) {
	b := Budget{RPM: 1, ITPM: 2, OTPM: 3, TPM: 4, RPD: 5, TPD: 6, Headroom: 0.5}
	for d := range NumDimensions {
		got := b.WithLimit(d, 100)
		for e := range NumDimensions {
			want := b.Limit(e)
			if e == d {
				want = 100
			}
			if got.Limit(e) != want {
				t.Fatalf("WithLimit(%v, 100).Limit(%v) = %d; want %d", d, e, got.Limit(e), want)
			}
		}
		if got.Headroom != 0.5 {
			t.Fatalf("WithLimit lost Headroom")
		}
	}
}
