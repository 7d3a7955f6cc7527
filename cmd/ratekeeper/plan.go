package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

const planLong = `Estimate a requests file (the input of ratekeeper run) with the same
estimator as run, and say how long it takes at the tier given and at every
tier, which limit binds, the tier needed to finish within --within, and
whether the Message Batches API is the better route.

The minimum wall time starts from full buckets and assumes the limit is
spent on nothing else. Output is unknown before the requests are sent: each
minimum is given with outputs at max_tokens (the bound: a tier that meets
--within this way surely does) and without output (the floor). Nothing is
sent.`

// planFlags are plan's flags.
type planFlags struct {
	budget budgetFlags
	within time.Duration
	json   bool
}

func newPlanCmd(e *env) *cobra.Command {
	f := &planFlags{}
	cmd := &cobra.Command{
		Use:   "plan [--tier T | --config F] [--within D] REQUESTS.jsonl",
		Short: "How long a requests file takes at each tier, live or batched",
		Long:  planLong,
		Args:  cobra.ExactArgs(1),
		RunE:  func(c *cobra.Command, args []string) error { return planRequests(e, f, args[0]) },
	}
	f.budget.register(cmd.Flags(), "tier-1")
	cmd.Flags().DurationVar(&f.within, "within", 0, "name the lowest tier that finishes within this `duration` (e.g. 2h)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the plan as JSON")
	return cmd
}

// planTotals are the estimated costs of a workload's requests, per model.
type planTotals struct {
	Requests int64 `json:"requests"`
	// InputTokens is the estimate without margin; Reserved with it.
	InputTokens    int64 `json:"input_tokens"`
	InputReserved  int64 `json:"input_reserved"`
	MaxOutputTotal int64 `json:"max_output_tokens"`
	Bytes          int64 `json:"bytes"`
}

// planRow is the minimum of a workload at one budget.
type planRow struct {
	Tier   string `json:"tier"`
	Scheme string `json:"scheme,omitempty"` // of the preset tier: current, legacy
	// Minimum is with outputs at max_tokens, Floor without output.
	Minimum duration `json:"minimum"`
	Floor   duration `json:"floor"`
	Binding string   `json:"binding,omitempty"`
	// Missing names the models that tier has no limits for.
	Missing []string `json:"missing_models,omitempty"`
}

// plan is the whole answer.
type plan struct {
	Requests int                    `json:"requests"`
	Invalid  []string               `json:"invalid,omitempty"`
	Models   map[string]*planTotals `json:"models"`
	Total    planTotals             `json:"total"`
	Given    planRow                `json:"given"`
	Tiers    []planRow              `json:"tiers,omitempty"`
	Within   duration               `json:"within,omitempty"`
	Enough   string                 `json:"tier_within,omitempty"`
	Batches  planBatches            `json:"batches"`
	Advice   string                 `json:"advice"`
}

// planBatches is the Message Batches route of the workload.
type planBatches struct {
	Batches int   `json:"batches"`
	Bytes   int64 `json:"bytes"`
	// Waves is how many times the processing queue must be filled (the
	// tier's limit on queued batch requests).
	Waves int `json:"queue_waves,omitempty"`
}

func planRequests(e *env, f *planFlags, path string) error {
	p, err := f.budget.providerOf()
	if err != nil {
		return err
	}
	cfg, err := f.budget.load()
	if err != nil {
		return err
	}
	reqs, err := loadRequests(path, e.stdin, p)
	if err != nil {
		return err
	}
	est, err := tokencount.New()
	if err != nil {
		return err
	}
	jobs, _ := price(est, cfg, p, reqs)
	pl := plan{Requests: len(reqs), Models: map[string]*planTotals{}, Within: duration(f.within)}
	for _, j := range jobs {
		if j.err != nil {
			if errorsIsConfig(j.err) {
				return usageErr("%w", j.err)
			}
			pl.Invalid = append(pl.Invalid, fmt.Sprintf("line %d (%s): %v", j.line, j.id, j.err))
		}
	}
	pl.Models, pl.Total = totalsOf(jobs)
	if len(pl.Models) == 0 {
		return withCode(exitFailed, fmt.Errorf("%s: no valid request:\n%s", path, strings.Join(pl.Invalid, "\n")))
	}
	name := f.budget.tier
	if f.budget.config != "" {
		name = "--config " + f.budget.config
	}
	pl.Given = planAt(name, cfg, pl.Models)
	if f.budget.config == "" {
		for _, ti := range tier.Tiers(p) {
			row := planAt(ti.Name, &tier.Config{Provider: p, Tier: ti.Name}, pl.Models)
			row.Scheme = ti.Scheme
			pl.Tiers = append(pl.Tiers, row)
		}
		if f.within > 0 {
			scheme := ""
			if ti, err := tier.LookupTier(p, f.budget.tier); err == nil {
				scheme = ti.Scheme
			}
			for _, row := range pl.Tiers {
				if (scheme == "" || row.Scheme == scheme) && len(row.Missing) == 0 && time.Duration(row.Minimum) <= f.within {
					pl.Enough = row.Tier
					break // the tables list each scheme from its lowest tier
				}
			}
		}
	}
	pl.Batches, pl.Advice = batchRoute(p, f, &pl)
	if f.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(pl)
	}
	pl.print(e.stdout)
	return nil
}

// totalsOf sums the estimates of the valid jobs, per model and in all.
func totalsOf(jobs []job) (map[string]*planTotals, planTotals) {
	models := map[string]*planTotals{}
	var total planTotals
	for _, j := range jobs {
		if j.err != nil {
			continue
		}
		t := models[j.model]
		if t == nil {
			t = &planTotals{}
			models[j.model] = t
		}
		for _, t := range []*planTotals{t, &total} {
			t.Requests++
			t.InputTokens += j.est.PointTokens
			t.InputReserved += j.est.InputTokens
			t.MaxOutputTotal += j.est.MaxOutputTokens
			t.Bytes += int64(len(j.body))
		}
	}
	return models, total
}

// errorsIsConfig reports an error of the budget itself rather than of a
// request (an unknown tier).
func errorsIsConfig(err error) bool {
	return errors.Is(err, tier.ErrUnknownTier) || errors.Is(err, tier.ErrUnknownProvider)
}

// planAt is the minimum of the workload under cfg: the slowest model's.
func planAt(name string, cfg *tier.Config, models map[string]*planTotals) planRow {
	row := planRow{Tier: name}
	for _, m := range sortedKeys(models) {
		t := models[m]
		b, err := cfg.Budget(m)
		if err != nil {
			row.Missing = append(row.Missing, m)
			continue
		}
		var withOut, without [tier.NumDimensions]int64
		addCost(&withOut, limiter.Cost{Requests: t.Requests, InputTokens: t.InputTokens, OutputTokens: t.MaxOutputTotal})
		addCost(&without, limiter.Cost{Requests: t.Requests, InputTokens: t.InputTokens})
		if floor, d, ok := minimumTime(b, withOut); ok && duration(floor) > row.Minimum {
			row.Minimum, row.Binding = duration(floor), m+" "+strings.ToUpper(d.Field())
		}
		if floor, _, ok := minimumTime(b, without); ok {
			row.Floor = max(row.Floor, duration(floor))
		}
	}
	return row
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// batchRoute sizes the Message Batches route and says, in one sentence,
// which route is better.
func batchRoute(p tier.Provider, f *planFlags, pl *plan) (planBatches, string) {
	var b planBatches
	var lim tier.BatchLimits
	if ti, err := tier.LookupTier(p, f.budget.tier); err == nil {
		lim = ti.Batches
	}
	perBatch, bytesPer := lim.MaxRequestsPerBatch, lim.MaxBatchBytes
	if perBatch == 0 {
		perBatch, bytesPer = 100_000, 256_000_000 // the published limits of every Anthropic tier
	}
	// Each batch line is {"custom_id": ..., "params": body}: about 40 bytes more.
	b.Bytes = pl.Total.Bytes + 40*pl.Total.Requests
	b.Batches = int(max(ceilDiv(pl.Total.Requests, perBatch), ceilDiv(b.Bytes, bytesPer)))
	if lim.QueuedRequests > 0 {
		b.Waves = int(ceilDiv(pl.Total.Requests, lim.QueuedRequests))
	}
	live := time.Duration(pl.Given.Minimum)
	switch {
	case p == tier.OpenAI:
		return b, fmt.Sprintf("live: at least %s. OpenAI's Batch API (half the price, results within 24 h) is not supported by ratekeeper yet.", roundDur(live))
	case len(pl.Given.Missing) > 0:
		return b, "the budget given has no limits for " + strings.Join(pl.Given.Missing, ", ") + ": give them with --config"
	case f.within > 0 && live > f.within && pl.Enough == "":
		return b, fmt.Sprintf("Message Batches: the live endpoint needs at least %s at %s and no tier finishes within %s; a batch costs half as much and usually finishes within an hour (always within 24 h).", roundDur(live), pl.Given.Tier, f.within)
	case live > time.Hour:
		return b, fmt.Sprintf("Message Batches: the live endpoint needs at least %s at %s; a batch costs half as much and usually finishes within an hour (always within 24 h), under separate, larger limits.", roundDur(live), pl.Given.Tier)
	case f.within > 0 && live > f.within:
		return b, fmt.Sprintf("live at %s or above (at least %s at %s), or Message Batches at half the price if the results can wait up to 24 h.", pl.Enough, roundDur(live), pl.Given.Tier)
	}
	return b, fmt.Sprintf("live: at least %s at %s. Message Batches would cost half as much if the results can wait (usually within an hour, up to 24 h).", roundDur(live), pl.Given.Tier)
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute)
	case d >= time.Minute:
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

func (pl *plan) print(w io.Writer) {
	fmt.Fprintf(w, "requests:   %d", pl.Requests)
	if len(pl.Invalid) > 0 {
		fmt.Fprintf(w, " (%d invalid, not counted)", len(pl.Invalid))
	}
	fmt.Fprintln(w)
	for _, s := range pl.Invalid {
		fmt.Fprintf(w, "  %s\n", s)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "model\trequests\tinput tokens (with margin)\tmax output tokens\tbytes")
	for _, m := range sortedKeys(pl.Models) {
		t := pl.Models[m]
		fmt.Fprintf(tw, "%s\t%d\t%d (%d)\t%d\t%d\n", m, t.Requests, t.InputTokens, t.InputReserved, t.MaxOutputTotal, t.Bytes)
	}
	if len(pl.Models) > 1 {
		t := pl.Total
		fmt.Fprintf(tw, "total\t%d\t%d (%d)\t%d\t%d\n", t.Requests, t.InputTokens, t.InputReserved, t.MaxOutputTotal, t.Bytes)
	}
	tw.Flush()
	fmt.Fprintln(w)
	row := func(tw io.Writer, r planRow) {
		if len(r.Missing) > 0 {
			fmt.Fprintf(tw, "%s\t-\t-\tno limits for %s\n", r.Tier+schemeNote(r.Scheme), strings.Join(r.Missing, ", "))
			return
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Tier+schemeNote(r.Scheme), roundDur(time.Duration(r.Minimum)), roundDur(time.Duration(r.Floor)), orNone(r.Binding))
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "tier\tminimum (outputs at max_tokens)\twithout output\tbound by")
	row(tw, pl.Given)
	if len(pl.Tiers) > 0 {
		fmt.Fprintln(tw, "\t\t\t")
		for _, r := range pl.Tiers {
			row(tw, r)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	if pl.Within > 0 {
		if pl.Enough != "" {
			fmt.Fprintf(w, "within %s: %s is the lowest tier of the scheme of %s that surely does it\n", time.Duration(pl.Within), pl.Enough, pl.Given.Tier)
		} else if len(pl.Tiers) > 0 {
			fmt.Fprintf(w, "within %s: no tier surely does it on the live endpoint\n", time.Duration(pl.Within))
		}
	}
	fmt.Fprintf(w, "batches:    %d batch(es), %.1f MB", pl.Batches.Batches, float64(pl.Batches.Bytes)/1e6)
	if pl.Batches.Waves > 1 {
		fmt.Fprintf(w, ", %d waves of the processing queue", pl.Batches.Waves)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "route:      %s\n", pl.Advice)
}

func orNone(s string) string {
	if s == "" {
		return "nothing (fits in the buckets at once)"
	}
	return s
}

func schemeNote(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
