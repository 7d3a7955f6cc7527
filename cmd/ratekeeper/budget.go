package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
)

// budgetFlags say whose limits to keep: --provider, --tier or --config.
type budgetFlags struct {
	provider string
	tier     string
	config   string
}

func (b *budgetFlags) register(fs *pflag.FlagSet, defaultTier string) {
	fs.StringVar(&b.provider, "provider", "anthropic", "the API: anthropic (Messages bodies) or openai (Chat Completions bodies)")
	fs.StringVar(&b.tier, "tier", defaultTier, "the usage tier whose preset limits to keep (anthropic: start, build, scale, or tier-1…tier-4; see: ratekeeper tiers)")
	fs.StringVar(&b.config, "config", "", "a tier.Config JSON `file` with the budgets (overrides --tier; needed for openai, whose limits are per model)")
}

// providerOf checks --provider.
func (b *budgetFlags) providerOf() (tier.Provider, error) {
	switch p := tier.Provider(strings.ToLower(b.provider)); p {
	case tier.Anthropic, tier.OpenAI:
		return p, nil
	}
	return "", usageErr("--provider %q: want anthropic or openai", b.provider)
}

// load returns the budget configuration: --config's file, or the preset
// of --tier.
func (b *budgetFlags) load() (*tier.Config, error) {
	p, err := b.providerOf()
	if err != nil {
		return nil, err
	}
	if b.config != "" {
		c, err := tier.LoadConfigFile(b.config)
		if err != nil {
			return nil, usageErr("--config: %w", err)
		}
		if c.Provider != p {
			return nil, usageErr("--config %s is for provider %q, but --provider is %q", b.config, c.Provider, p)
		}
		return c, nil
	}
	if p == tier.OpenAI {
		return nil, usageErr("OpenAI publishes its limits per model and account: give them with --config FILE (a tier.Config, e.g. {\"provider\":\"openai\",\"models\":{\"gpt-4o-mini\":{\"rpm\":500,\"tpm\":200000}}})")
	}
	return &tier.Config{Provider: p, Tier: b.tier}, nil
}

// simFlags configure the simulated API (--simulate).
type simFlags struct {
	scale        float64
	burst        time.Duration
	overload     []string
	overloadProb float64
	seed         uint64
	latency      time.Duration
	batchLatency time.Duration
	// batches are the Message Batches limits the simulated API enforces
	// (set from the budget's tier, not a flag).
	batches tier.BatchLimits
}

func (s *simFlags) register(fs *pflag.FlagSet) {
	fs.Float64Var(&s.scale, "sim-scale", 1, "simulated API: multiply every limit by this factor (a simulated minute's worth of work then passes in 60/scale seconds)")
	fs.DurationVar(&s.burst, "sim-burst", 0, "simulated API: enforce the per-minute limits over this interval, like a server with sub-minute buckets (0: a full minute)")
	fs.StringArrayVar(&s.overload, "sim-overload", nil, "simulated API: answer 529 overloaded during `START+DURATION` after it starts (e.g. 20s+5s); repeatable")
	fs.Float64Var(&s.overloadProb, "sim-overload-prob", 0, "simulated API: the probability that a request is answered 529 overloaded")
	fs.DurationVar(&s.batchLatency, "sim-batch-latency", 30*time.Second, "simulated API: how long a Message Batch takes to process")
	fs.Uint64Var(&s.seed, "sim-seed", 0, "simulated API: seed of its output lengths and overload draws")
	fs.DurationVar(&s.latency, "sim-token-latency", 0, "simulated API: generation time per output token (0: 10µs)")
}

// windows parses --sim-overload.
func (s *simFlags) windows() ([]simapi.Window, error) {
	var ws []simapi.Window
	for _, o := range s.overload {
		start, dur, ok := strings.Cut(o, "+")
		a, err1 := time.ParseDuration(start)
		d, err2 := time.ParseDuration(dur)
		if !ok || err1 != nil || err2 != nil || a < 0 || d <= 0 {
			return nil, usageErr("--sim-overload %q: want START+DURATION, e.g. 20s+5s", o)
		}
		ws = append(ws, simapi.Window{Start: a, End: a + d})
	}
	return ws, nil
}

// scaleBudget multiplies b's limits by f (at least 1 where limited).
func scaleBudget(b tier.Budget, f float64) tier.Budget {
	s := func(v int64) int64 {
		if v == 0 {
			return 0
		}
		return max(1, int64(float64(v)*f))
	}
	b.RPM, b.ITPM, b.OTPM, b.TPM, b.RPD, b.TPD = s(b.RPM), s(b.ITPM), s(b.OTPM), s(b.TPM), s(b.RPD), s(b.TPD)
	return b
}

// pinned returns a Config that gives each model exactly its budget in bs,
// for a Keeper whose budgets are the simulated server's.
func pinned(p tier.Provider, bs map[string]tier.Budget) *tier.Config {
	c := &tier.Config{Provider: p, Tier: "none", Models: make(map[string]tier.ModelConfig, len(bs))}
	for m, b := range bs {
		c.Models[m] = tier.ModelConfig{Tier: "none", Override: tier.Override{
			RPM: &b.RPM, ITPM: &b.ITPM, OTPM: &b.OTPM, TPM: &b.TPM, RPD: &b.RPD, TPD: &b.TPD,
			Burst: &b.Burst, Headroom: &b.Headroom,
		}}
	}
	return c
}

// server starts the simulated API with one class per model, limited by its
// budget in bs, and returns its base URL.
func (s *simFlags) server(p tier.Provider, bs map[string]tier.Budget) (*simapi.Server, string, error) {
	if s.scale <= 0 {
		return nil, "", usageErr("--sim-scale must be > 0")
	}
	var classes []simapi.Class
	for m, b := range bs {
		classes = append(classes, simapi.Class{Name: m, Provider: p, Prefixes: []string{m},
			Limits: simapi.Limits{RPM: b.RPM, ITPM: b.ITPM, OTPM: b.OTPM, TPM: b.TPM}})
	}
	srv, err := s.serverOf(classes)
	if err != nil {
		return nil, "", err
	}
	url, err := srv.Start()
	if err != nil {
		srv.Close()
		return nil, "", fmt.Errorf("simulated API: %w", err)
	}
	return srv, url, nil
}
