package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// limit measures the request against the budget of --tier or --config:
// the context window of its class, and its share of each limit.
func (r *countResult) limit(p tier.Provider, f *countFlags) error {
	r.Fits = true
	if r.Context.Window == tokencount.DefaultMaxInputTokens {
		r.Notes = append(r.Notes, fmt.Sprintf("the estimator does not know %s's context window: it assumes at most %s tokens", r.Model, groupDigits(tokencount.DefaultMaxInputTokens)))
	}
	if p == tier.OpenAI && f.budget.config == "" {
		r.LimitsNote = "OpenAI publishes its limits per model and account: give them with --config FILE to see this request's share"
		return nil
	}
	cfg, err := f.budget.load()
	if err != nil {
		return err
	}
	res, err := cfg.Resolve(r.Model)
	if errors.Is(err, tier.ErrUnknownTier) {
		return usageErr("--tier %q: %w", cfg.Tier, err)
	}
	if err != nil {
		r.LimitsNote = fmt.Sprintf("no budget for %s: %v", r.Model, err)
		return nil
	}
	b := res.Budget
	r.Limits = &countLimits{From: "tier", Tier: cfg.Tier, Pool: res.Pool,
		RPM: b.RPM, ITPM: b.ITPM, OTPM: b.OTPM, TPM: b.TPM, RPD: b.RPD, TPD: b.TPD}
	if f.budget.config != "" {
		r.Limits.From, r.Limits.Tier = "config", f.budget.config
	} else if t, err := tier.LookupTier(p, cfg.Tier); err == nil {
		r.Limits.Tier = t.Name
	}
	if res.ByFamily {
		r.Notes = append(r.Notes, fmt.Sprintf("the tables do not list %s: it is budgeted as its family's class (%s)", r.Model, res.Pool))
	}
	if c := res.Class; c != nil && c.ContextWindow > 0 {
		r.Context.Window = c.ContextWindow
		r.Context.Fits = r.Context.Needed <= c.ContextWindow
		if lc := c.LongContext; lc != nil {
			r.Context.LongContext, r.Context.LongContextWindow = lc.Beta, lc.Window
		}
		if !r.Context.Fits {
			if lc := c.LongContext; lc != nil && r.Context.Needed <= lc.Window {
				r.Notes = append(r.Notes, fmt.Sprintf("above the standard %s-token window: send it with anthropic-beta: %s (up to %s tokens), under the long-context limits",
					groupDigits(c.ContextWindow), lc.Beta, groupDigits(lc.Window)))
			} else {
				r.Notes = append(r.Notes, fmt.Sprintf("above the %s-token window of the tables' %s class; the estimator allows up to %s for %s (a long-context configuration): check that yours has it",
					groupDigits(c.ContextWindow), c.Name, groupDigits(r.Context.MaxWindow), r.Model))
			}
		}
	}
	r.share(b)
	return nil
}

// share computes the request's share of each limit of b and the binding
// one: the dimension that admits the fewest such requests per minute.
func (r *countResult) share(b tier.Budget) {
	in, out := r.InputTokens.Reserved, r.OutputTokens.Reserved
	cost := [tier.NumDimensions]int64{tier.RPM: 1, tier.ITPM: in, tier.OTPM: out, tier.TPM: in + out, tier.RPD: 1, tier.TPD: in + out}
	best := math.Inf(1)
	for d := range tier.NumDimensions {
		lim := b.Limit(d)
		if lim <= 0 || cost[d] <= 0 {
			continue
		}
		s := countShare{Dimension: d.Field(), Limit: lim, Cost: cost[d], Share: math.Round(float64(cost[d])/float64(lim)*1e6) / 1e6,
			Admits: lim / cost[d], Period: "minute"}
		if d.Period() != time.Minute {
			s.Period = "day"
		}
		r.Shares = append(r.Shares, s)
		if cost[d] > lim {
			r.Fits = false
		}
		rate := float64(lim) / float64(cost[d]) / d.Period().Minutes()
		if rate < best {
			best, r.Binding = rate, d.Field()
		}
	}
	if r.Binding != "" {
		r.PerMinute = int64(best)
	}
}

// countDimNames are the long names of the dimensions, by field.
var countDimNames = map[string]string{
	"rpm": "requests per minute", "itpm": "input tokens per minute", "otpm": "output tokens per minute",
	"tpm": "tokens per minute", "rpd": "requests per day", "tpd": "tokens per day",
}

// writeCount prints r as text.
func writeCount(w io.Writer, r *countResult) error {
	var b strings.Builder
	line := func(key, format string, args ...any) {
		fmt.Fprintf(&b, "%-10s%s\n", key+":", fmt.Sprintf(format, args...))
	}
	what := map[string]string{"body": "a request body", "batch_line": "a batch line", "text": "plain text"}[r.Input]
	if r.CustomID != "" {
		what += fmt.Sprintf(" (custom_id %q)", r.CustomID)
	}
	line("input", "%s, %s bytes of body%s", what, groupDigits(r.BodyBytes), map[bool]string{true: ", streamed"}[r.Stream])
	line("model", "%s", r.Model)
	in := r.InputTokens
	line("tokens", "input %s reserved (estimate %s + %.0f%% margin)", groupDigits(in.Reserved), groupDigits(in.Point), in.Margin*100)
	out := r.OutputTokens
	o := fmt.Sprintf("output %s reserved (max_tokens %s", groupDigits(out.Reserved), groupDigits(out.MaxTokens))
	if out.MaxTokens == 0 {
		o = fmt.Sprintf("output %s reserved (no max_tokens: the model's default output limit", groupDigits(out.Reserved))
	}
	if out.Choices > 1 {
		o += fmt.Sprintf(" × %d choices", out.Choices)
	}
	if out.ThinkingBudget > 0 {
		o += ", of which thinking " + groupDigits(out.ThinkingBudget)
	}
	b.WriteString(strings.Repeat(" ", 10) + o + ")\n")
	c := r.Context
	fit := "fits"
	if !c.Fits {
		fit = "does not fit"
	}
	ctx := fmt.Sprintf("%s of %s tokens (estimate + max_tokens): %s", groupDigits(c.Needed), groupDigits(c.Window), fit)
	if c.LongContext != "" {
		ctx += fmt.Sprintf(" (up to %s with anthropic-beta: %s)", groupDigits(c.LongContextWindow), c.LongContext)
	}
	line("context", "%s", ctx)
	if l := r.Limits; l != nil {
		from := l.Tier
		if l.From == "config" {
			from = "--config " + l.Tier
		}
		var lim []string
		for _, s := range r.Shares {
			lim = append(lim, groupDigits(s.Limit)+" "+strings.ToUpper(s.Dimension))
		}
		line("limits", "%s, pool %s: %s", from, l.Pool, strings.Join(lim, ", "))
		b.WriteString("\n")
		tw := newTable(&b)
		fmt.Fprintln(tw, "LIMIT\tPER PERIOD\tTHIS REQUEST\tSHARE\tADMITS")
		for _, s := range r.Shares {
			admits := groupDigits(s.Admits) + " a " + s.Period
			if s.Cost > s.Limit {
				admits += "  <- larger than the whole limit"
			} else if s.Dimension == r.Binding {
				admits += "  <- binds"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", strings.ToUpper(s.Dimension), groupDigits(s.Limit), groupDigits(s.Cost),
				countPercent(s.Share), admits)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		b.WriteString("\n")
		switch {
		case !r.Fits:
			line("verdict", "this request alone exceeds a limit: it can never be admitted at %s", from)
		case r.Binding != "":
			line("verdict", "%s binds (%s): %s admits %s such requests a minute", strings.ToUpper(r.Binding), countDimNames[r.Binding], from, groupDigits(r.PerMinute))
		}
	} else {
		line("limits", "%s", r.LimitsNote)
	}
	writeNotes(&b, r.Notes)
	_, err := io.WriteString(w, b.String())
	return err
}

// countPercent writes a share as a percentage with two significant
// decimals where it is small.
func countPercent(s float64) string {
	p := s * 100
	switch {
	case p == 0:
		return "0%"
	case p < 0.01:
		return "<0.01%"
	case p < 1:
		return fmt.Sprintf("%.2f%%", p)
	}
	return fmt.Sprintf("%.1f%%", p)
}

// writeNotes appends the notes of a count report, one per line, after a
// "notes:" header; nothing when there are none.
func writeNotes(b *strings.Builder, notes []string) {
	if len(notes) == 0 {
		return
	}
	b.WriteString("notes:\n")
	for _, n := range notes {
		fmt.Fprintf(b, "  - %s\n", n)
	}
}
