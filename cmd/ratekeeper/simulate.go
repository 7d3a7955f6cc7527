package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
)

// simulateLong is the help text of `ratekeeper simulate`.
const simulateLong = `Serve the simulated Claude Messages API (and OpenAI Chat Completions API)
that ratekeeper's tests run against, on --addr, until Ctrl-C. It refuses like
the real service: 429 rate_limit_error with retry-after when a bucket is
empty, 529 overloaded_error during --sim-overload windows, and every response
carries the anthropic-ratelimit-* (OpenAI: x-ratelimit-*) headers. No
network beyond the listener, no API key needed: every key gets its own
buckets.

Limits: with --provider anthropic and --tier (default tier-2), every class
of that tier's presets (see ratekeeper tiers), so every model of the tier
works; with --config, one class per model of the config (for an Anthropic
config with a preset tier, the tier's other classes too, under its defaults
and workspace caps). --sim-scale multiplies every limit. OpenAI has no
presets: give its models with --config.

Routes: POST /v1/messages (JSON or stream: true),
POST /v1/messages/count_tokens, POST /v1/chat/completions. Models map to a
class by their longest matching prefix; unknown models get 404.

It prints the address (with --addr 127.0.0.1:0, the port the system chose),
the limits of each class and a curl command to try it.`

// simulateFlags are the flags of `ratekeeper simulate`.
type simulateFlags struct {
	addr   string
	budget budgetFlags
	sim    simFlags
}

// newSimulateCmd is `ratekeeper simulate`.
func newSimulateCmd(e *env) *cobra.Command {
	var f simulateFlags
	cmd := &cobra.Command{
		Use:   "simulate [flags]",
		Short: "Serve the simulated API, limited like a tier, until Ctrl-C",
		Long:  simulateLong,
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return simulate(c.Context(), e, &f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen on this `host:port` (port 0: any free port)")
	f.budget.register(fs, "tier-2")
	f.sim.register(fs)
	return cmd
}

// simulate serves the simulated API until ctx ends, then returns nil.
func simulate(ctx context.Context, e *env, f *simulateFlags) error {
	if _, _, err := net.SplitHostPort(f.addr); err != nil {
		return usageErr("--addr %q: %w", f.addr, err)
	}
	p, err := f.budget.providerOf()
	if err != nil {
		return err
	}
	classes, notes, err := simulateClasses(p, &f.budget, f.sim.scale)
	if err != nil {
		return err
	}
	f.sim.batches = batchLimits(p, &tier.Config{Provider: p, Tier: f.budget.tier})
	srv, err := f.sim.serverOf(classes)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("simulated API: %w", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	if err := writeSimBanner(e, p, base, f, classes, notes); err != nil {
		_ = hs.Close()
		<-served
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("simulated API: %w", err)
	}
	// Cut the connections, then the handlers (streams in flight end).
	_ = hs.Close()
	srv.Close()
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("simulated API: %w", err)
	}
	n := srv.Ledger().Counts("", "")
	word := "requests"
	if n.Total() == 1 {
		word = "request"
	}
	fmt.Fprintf(e.stdout, "stopped after %d %s (%d admitted, %d answered 429, %d overloaded, %d spend-limited, %d rejected)\n",
		n.Total(), word, n.Admitted, n.RateLimited, n.Overloaded, n.SpendLimited, n.Rejected)
	return nil
}

// simulateClasses returns the classes the simulated API serves (see
// simulateLong), with their limits multiplied by scale, and notes on what
// it does not simulate.
func simulateClasses(p tier.Provider, b *budgetFlags, scale float64) ([]simapi.Class, []string, error) {
	if scale <= 0 {
		return nil, nil, usageErr("--sim-scale must be > 0")
	}
	limits := func(bu tier.Budget) simapi.Limits {
		bu = scaleBudget(bu, scale)
		return simapi.Limits{RPM: bu.RPM, ITPM: bu.ITPM, OTPM: bu.OTPM, TPM: bu.TPM}
	}
	if p == tier.Anthropic && b.config == "" {
		classes, err := simapi.TierClasses(b.tier)
		if err != nil {
			return nil, nil, usageErr("--tier: %w", err)
		}
		for i := range classes {
			l := classes[i].Limits
			classes[i].Limits = limits(tier.Budget{RPM: l.RPM, ITPM: l.ITPM, OTPM: l.OTPM, TPM: l.TPM})
		}
		return classes, nil, nil
	}
	cfg, err := b.load()
	if err != nil {
		return nil, nil, err
	}
	var classes []simapi.Class
	var notes []string
	pools := map[string]bool{}
	add := func(key string, res tier.Resolution) {
		if pools[res.Pool] {
			return
		}
		pools[res.Pool] = true
		c := simapi.Class{Name: key, Provider: p, Prefixes: []string{key}, Limits: limits(res.Budget)}
		if res.Class != nil {
			c.Name, c.Prefixes = res.Class.Name, nil
			for _, m := range res.Class.Models {
				if !strings.Contains(m, " ") {
					c.Prefixes = append(c.Prefixes, m)
				}
			}
		}
		if res.Budget.RPD > 0 || res.Budget.TPD > 0 {
			notes = append(notes, c.Name+": its per-day limits (RPD, TPD) are not simulated")
		}
		if c.Limits == (simapi.Limits{}) {
			notes = append(notes, c.Name+": no per-minute limit: not limited")
		}
		classes = append(classes, c)
	}
	keys := make([]string, 0, len(cfg.Models))
	for k := range cfg.Models {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		res, err := cfg.Resolve(k)
		if err != nil {
			return nil, nil, usageErr("--config %s: model %q: %w", b.config, k, err)
		}
		add(k, res)
	}
	if p == tier.Anthropic && cfg.Tier != "" && !strings.EqualFold(cfg.Tier, "none") {
		t, err := tier.LookupTier(p, cfg.Tier)
		if err != nil {
			return nil, nil, usageErr("--config %s: %w", b.config, err)
		}
		for _, pr := range tier.Presets(p) {
			if pr.Tier.Name != t.Name || len(pr.Class.Models) == 0 {
				continue
			}
			if res, err := cfg.Resolve(pr.Class.Models[0]); err == nil {
				add(pr.Class.Name, res)
			}
		}
	}
	if len(classes) == 0 {
		return nil, nil, usageErr("--config %s lists no model and no preset tier: nothing to serve", b.config)
	}
	return classes, notes, nil
}

// serverOf creates the simulated API serving classes, shaped by the
// --sim-* flags (as simFlags.server does, without starting it).
func (s *simFlags) serverOf(classes []simapi.Class) (*simapi.Server, error) {
	if s.overloadProb < 0 || s.overloadProb > 1 {
		return nil, usageErr("--sim-overload-prob must be within [0, 1]")
	}
	ws, err := s.windows()
	if err != nil {
		return nil, err
	}
	srv, err := simapi.New(simapi.Config{
		Classes: classes, Burst: s.burst, OverloadWindows: ws, OverloadProbability: s.overloadProb,
		Seed: s.seed, PerTokenLatency: s.latency,
		BatchRPM: s.batches.RPM, BatchQueue: s.batches.QueuedRequests, MaxBatchRequests: s.batches.MaxRequestsPerBatch,
		MaxBatchBytes: s.batches.MaxBatchBytes, BatchLatency: s.batchLatency,
	})
	if err != nil {
		return nil, usageErr("simulated API: %w", err)
	}
	return srv, nil
}

// writeSimBanner prints where the simulated API listens, its limits per
// class, its overloads, and how to call it.
func writeSimBanner(e *env, p tier.Provider, base string, f *simulateFlags, classes []simapi.Class, notes []string) error {
	var b strings.Builder
	from := "tier " + f.budget.tier + " presets"
	if f.budget.config != "" {
		from = "--config " + f.budget.config
	}
	if f.sim.scale != 1 {
		from += fmt.Sprintf(", limits × %g", f.sim.scale)
	}
	name := map[tier.Provider]string{tier.Anthropic: "Claude", tier.OpenAI: "OpenAI"}[p]
	fmt.Fprintf(&b, "simulated %s API on %s (%s)\n\n", name, base, from)
	tw := newTable(&b)
	if p == tier.OpenAI {
		fmt.Fprintln(tw, "CLASS\tRPM\tTPM\tMODELS (by prefix)")
	} else {
		fmt.Fprintln(tw, "CLASS\tRPM\tITPM\tOTPM\tMODELS (by prefix)")
	}
	for _, c := range classes {
		if p == tier.OpenAI {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, groupOrDash(c.Limits.RPM), groupOrDash(c.Limits.TPM), strings.Join(c.Prefixes, ", "))
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, groupOrDash(c.Limits.RPM), groupOrDash(c.Limits.ITPM), groupOrDash(c.Limits.OTPM), strings.Join(c.Prefixes, ", "))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")
	hold := "a full minute"
	if f.sim.burst > 0 {
		hold = f.sim.burst.String() + " (--sim-burst)"
	}
	fmt.Fprintf(&b, "every API key has its own buckets; each holds %s of its per-minute limit and refills continuously\n", hold)
	ws, _ := f.sim.windows()
	for _, w := range ws {
		fmt.Fprintf(&b, "overloaded (529; OpenAI 503) from %s to %s after the start\n", w.Start, w.End)
	}
	if f.sim.overloadProb > 0 {
		fmt.Fprintf(&b, "overloaded at random: %g of requests\n", f.sim.overloadProb)
	}
	if p == tier.Anthropic {
		bl := f.sim.batches
		fmt.Fprintf(&b, "Message Batches at /v1/messages/batches: %s calls a minute, %s requests in the processing queue, %s a batch; a batch takes %s (--sim-batch-latency)\n",
			groupOrDash(bl.RPM), groupOrDash(bl.QueuedRequests), groupOrDash(cmp.Or(bl.MaxRequestsPerBatch, 100_000)), f.sim.batchLatency)
	}
	for _, n := range notes {
		b.WriteString("note: " + n + "\n")
	}
	model := simExampleModel(p, classes)
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	body, err := json.Marshal(struct {
		Model     string    `json:"model"`
		MaxTokens int       `json:"max_tokens"`
		Messages  []message `json:"messages"`
	}{model, 64, []message{{"user", "Hello"}}})
	if err != nil {
		return err
	}
	b.WriteString("\ntry it:\n")
	if p == tier.OpenAI {
		fmt.Fprintf(&b, "  curl -s %s/v1/chat/completions -H 'Authorization: Bearer sk-sim' -H 'content-type: application/json' -d '%s'\n", base, body)
		fmt.Fprintf(&b, "SDKs: OPENAI_BASE_URL=%s/v1 (any API key)\n", base)
	} else {
		fmt.Fprintf(&b, "  curl -s %s/v1/messages -H 'x-api-key: sk-sim' -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' -d '%s'\n", base, body)
		fmt.Fprintf(&b, "SDKs: ANTHROPIC_BASE_URL=%s (any API key)\n", base)
	}
	b.WriteString("Ctrl-C to stop.\n")
	_, err = fmt.Fprint(e.stdout, b.String())
	return err
}

// simExampleModel picks the model of the curl example: claude-sonnet-4-6
// (OpenAI: gpt-4o-mini) when a class serves it, else the first class's
// first model.
func simExampleModel(p tier.Provider, classes []simapi.Class) string {
	want := "claude-sonnet-4-6"
	if p == tier.OpenAI {
		want = countDefaultOpenAIModel
	}
	for _, c := range classes {
		for _, pre := range c.Prefixes {
			if strings.HasPrefix(want, pre) {
				return want
			}
		}
	}
	return classes[0].Prefixes[0]
}
