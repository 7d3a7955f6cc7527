package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ratekeeper/ratekeeper/tier"
)

// tiersLong is the help text of `ratekeeper tiers`.
const tiersLong = `Print the rate-limit tables embedded in ratekeeper (package tier), the
presets that --tier selects: for each tier, in order, each model class with
its requests, input tokens and output tokens per minute (RPM, ITPM, OTPM),
its context window and the model IDs that share its pool; then the tier's
Message Batches and token-counting limits, and where every number comes from
(the docs version and its date).

Anthropic has two schemes: the current one (Start, Build, Scale; 2026) and the
legacy one (Tier 1 to Tier 4; 2025). OpenAI publishes its per-model limits per
organization, so its table has the tier ladder only: give your numbers with
--config on the other commands.

--json prints a JSON array with one object per tier (every key always
present; 0 means not limited or not published, null an absent object).`

// tiersOpenAINote is the line that says why OpenAI's table has no classes.
const tiersOpenAINote = "OpenAI publishes its per-model limits (RPM, RPD, TPM, TPD) on each organization's limits page; none ship here: give yours with --config FILE (a tier.Config)."

// tiersSource is a tier.Source in --json output.
type tiersSource struct {
	ID    string `json:"id"`
	AsOf  string `json:"as_of"`
	URL   string `json:"url"`
	Notes string `json:"notes"`
}

// tiersBatches is a tier's Message Batches limits in --json output.
type tiersBatches struct {
	RPM                 int64        `json:"rpm"`
	QueuedRequests      int64        `json:"queued_requests"`
	MaxRequestsPerBatch int64        `json:"max_requests_per_batch"`
	MaxBatchBytes       int64        `json:"max_batch_bytes"`
	Source              *tiersSource `json:"source"`
}

// tiersLongContext is a class's long-context mode and its limits at one
// tier, in --json output.
type tiersLongContext struct {
	Window      int64  `json:"window"`
	AboveTokens int64  `json:"above_tokens"`
	Beta        string `json:"beta"`
	RPM         int64  `json:"rpm"`
	ITPM        int64  `json:"itpm"`
	OTPM        int64  `json:"otpm"`
}

// tiersClass is one class of one tier in --json output.
type tiersClass struct {
	Class           string            `json:"class"`
	Display         string            `json:"display"`
	Models          []string          `json:"models"`
	RPM             int64             `json:"rpm"`
	ITPM            int64             `json:"itpm"`
	OTPM            int64             `json:"otpm"`
	TPM             int64             `json:"tpm"`
	RPD             int64             `json:"rpd"`
	TPD             int64             `json:"tpd"`
	CacheReadsCount bool              `json:"cache_reads_count"`
	ContextWindow   int64             `json:"context_window"`
	LongContext     *tiersLongContext `json:"long_context"`
	MaxRequestBytes int64             `json:"max_request_bytes"`
	Source          *tiersSource      `json:"source"`
	Notes           string            `json:"notes"`
}

// tiersTier is one tier in --json output.
type tiersTier struct {
	Provider           string        `json:"provider"`
	Scheme             string        `json:"scheme"`
	Tier               string        `json:"tier"`
	Display            string        `json:"display"`
	Requirement        string        `json:"requirement"`
	MonthlySpendCapUSD int64         `json:"monthly_spend_cap_usd"`
	CreditPurchaseUSD  int64         `json:"credit_purchase_usd"`
	SpendSource        *tiersSource  `json:"spend_source"`
	Batches            *tiersBatches `json:"batches"`
	CountTokensRPM     int64         `json:"count_tokens_rpm"`
	CountTokensSource  *tiersSource  `json:"count_tokens_source"`
	Classes            []tiersClass  `json:"classes"`
	Note               string        `json:"note"`
}

// newTiersCmd is `ratekeeper tiers`.
func newTiersCmd(e *env) *cobra.Command {
	var (
		b      budgetFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "tiers [flags]",
		Short: "Print the preset rate-limit tables, tier by tier",
		Long:  tiersLong,
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			p, err := b.providerOf()
			if err != nil {
				return err
			}
			tiers := tiersOf(p)
			if asJSON {
				return writeJSON(e.stdout, tiers)
			}
			return writeTiers(e.stdout, p, tiers)
		},
	}
	cmd.Flags().StringVar(&b.provider, "provider", "anthropic", "the API whose tables to print: anthropic or openai")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array, one object per tier")
	return cmd
}

// tiersSourceOf converts s, or returns nil when s names nothing.
func tiersSourceOf(s tier.Source) *tiersSource {
	if s == (tier.Source{}) {
		return nil
	}
	return &tiersSource{ID: s.ID, AsOf: s.AsOf, URL: s.URL, Notes: s.Notes}
}

// tiersOf collects p's tables tier by tier, in the order of tier.Tiers, each
// tier's classes in the order of tier.Presets.
func tiersOf(p tier.Provider) []tiersTier {
	presets := tier.Presets(p)
	out := []tiersTier{}
	for _, t := range tier.Tiers(p) {
		tt := tiersTier{
			Provider: string(t.Provider), Scheme: t.Scheme, Tier: t.Name, Display: t.Display,
			Requirement: t.Requirement, MonthlySpendCapUSD: t.MonthlySpendCapUSD, CreditPurchaseUSD: t.CreditPurchaseUSD,
			SpendSource: tiersSourceOf(t.SpendSource), CountTokensRPM: t.CountTokensRPM,
			CountTokensSource: tiersSourceOf(t.CountTokensSource), Classes: []tiersClass{},
		}
		if bl := t.Batches; bl != (tier.BatchLimits{}) {
			tt.Batches = &tiersBatches{RPM: bl.RPM, QueuedRequests: bl.QueuedRequests, MaxRequestsPerBatch: bl.MaxRequestsPerBatch,
				MaxBatchBytes: bl.MaxBatchBytes, Source: tiersSourceOf(bl.Source)}
		}
		for _, pr := range presets {
			if pr.Tier.Name != t.Name || pr.Tier.Scheme != t.Scheme {
				continue
			}
			c, lim := pr.Class, pr.Budget
			tc := tiersClass{
				Class: c.Name, Display: c.Display, Models: append([]string{}, c.Models...),
				RPM: lim.RPM, ITPM: lim.ITPM, OTPM: lim.OTPM, TPM: lim.TPM, RPD: lim.RPD, TPD: lim.TPD,
				CacheReadsCount: c.CacheReadsCount, ContextWindow: c.ContextWindow, MaxRequestBytes: pr.MaxRequestBytes,
				Source: tiersSourceOf(c.Source), Notes: c.Notes,
			}
			if lc := c.LongContext; lc != nil && pr.LongContext != (tier.Budget{}) {
				tc.LongContext = &tiersLongContext{Window: lc.Window, AboveTokens: lc.AboveTokens, Beta: lc.Beta,
					RPM: pr.LongContext.RPM, ITPM: pr.LongContext.ITPM, OTPM: pr.LongContext.OTPM}
			}
			tt.Classes = append(tt.Classes, tc)
		}
		if len(tt.Classes) == 0 && p == tier.OpenAI {
			tt.Note = tiersOpenAINote
		}
		out = append(out, tt)
	}
	return out
}

// tiersSchemeNames says what each scheme's tiers are called.
var tiersSchemeNames = map[string]string{
	"current":     "current scheme, Start/Build/Scale",
	"legacy":      "legacy scheme, Tier 1-4",
	"usage-tiers": "usage tiers, Free and Tier 1-5",
}

// writeTiers prints the tables as text: per tier a heading, a table of its
// classes, its batch and token-counting limits; then the footnotes and the
// sources.
func writeTiers(w io.Writer, p tier.Provider, tiers []tiersTier) error {
	var sources []tiersSource
	seen := map[string]bool{}
	cite := func(s *tiersSource) string {
		if s == nil {
			return "-"
		}
		key := s.ID + "|" + s.URL
		if !seen[key] {
			seen[key] = true
			sources = append(sources, *s)
		}
		if s.ID != "" {
			return s.ID
		}
		return s.URL
	}
	cacheMark, sizes := false, map[int64]bool{}
	var b strings.Builder
	if !tiersHaveClasses(tiers) {
		if err := writeTiersLadder(&b, tiers, cite); err != nil {
			return err
		}
		tiers = nil
	}
	for i, t := range tiers {
		if i > 0 {
			b.WriteString("\n")
		}
		head := fmt.Sprintf("%s (%s; %s)", t.Display, t.Tier, tiersSchemeNames[t.Scheme])
		if t.Scheme == "" || tiersSchemeNames[t.Scheme] == "" {
			head = fmt.Sprintf("%s (%s; scheme %s)", t.Display, t.Tier, t.Scheme)
		}
		var facts []string
		if t.Requirement != "" {
			facts = append(facts, "reached with: "+t.Requirement)
		} else if t.CreditPurchaseUSD > 0 {
			facts = append(facts, "reached with a $"+groupDigits(t.CreditPurchaseUSD)+" credit purchase")
		}
		if t.MonthlySpendCapUSD > 0 {
			facts = append(facts, "monthly spend cap $"+groupDigits(t.MonthlySpendCapUSD))
		}
		if len(facts) > 0 {
			head += ": " + strings.Join(facts, ", ") + " [" + cite(t.SpendSource) + "]"
		}
		b.WriteString(head + "\n")
		if len(t.Classes) > 0 {
			tw := newTable(&b)
			fmt.Fprintln(tw, "  CLASS\tRPM\tITPM\tOTPM\tCONTEXT\tSOURCE\tMODELS")
			for _, c := range t.Classes {
				name := c.Class
				if c.CacheReadsCount {
					name += " *"
					cacheMark = true
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, groupOrDash(c.RPM), groupOrDash(c.ITPM), groupOrDash(c.OTPM),
					groupOrDash(c.ContextWindow), cite(c.Source), strings.Join(c.Models, ", "))
				if c.MaxRequestBytes > 0 {
					sizes[c.MaxRequestBytes] = true
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, c := range t.Classes {
				if lc := c.LongContext; lc != nil {
					var lim []string
					for _, l := range []struct {
						name string
						v    int64
					}{{"RPM", lc.RPM}, {"ITPM", lc.ITPM}, {"OTPM", lc.OTPM}} {
						if l.v > 0 {
							lim = append(lim, l.name+" "+groupDigits(l.v))
						}
					}
					fmt.Fprintf(&b, "  %s long context (above %s input tokens, up to %s, with anthropic-beta: %s): %s\n",
						c.Class, groupDigits(lc.AboveTokens), groupDigits(lc.Window), lc.Beta, strings.Join(lim, ", "))
				}
			}
		}
		if bl := t.Batches; bl != nil {
			fmt.Fprintf(&b, "  batches: %s RPM, %s requests queued, %s requests and %s bytes per batch [%s]\n",
				groupOrDash(bl.RPM), groupOrDash(bl.QueuedRequests), groupOrDash(bl.MaxRequestsPerBatch), groupOrDash(bl.MaxBatchBytes), cite(bl.Source))
		}
		if t.CountTokensRPM > 0 {
			fmt.Fprintf(&b, "  token counting: %s RPM [%s]\n", groupDigits(t.CountTokensRPM), cite(t.CountTokensSource))
		}
	}
	b.WriteString("\n")
	if p == tier.OpenAI {
		b.WriteString(tiersOpenAINote + "\n")
	}
	if cacheMark {
		b.WriteString("* cache_read_input_tokens count toward ITPM for this class (elsewhere only input and cache-creation tokens do).\n")
	}
	if p == tier.Anthropic {
		b.WriteString("Classes share one pool per organization; dated and platform IDs (claude-sonnet-4-5-20250929, anthropic.claude-sonnet-4-5-20250929-v1:0) match their alias.\n")
	}
	if len(sizes) == 1 {
		for n := range sizes {
			fmt.Fprintf(&b, "Request bodies: at most %s bytes.\n", groupDigits(n))
		}
	}
	if len(sources) > 0 {
		b.WriteString("Sources (stored copies of the docs, not fetched live; re-check before relying on a number):\n")
		tw := newTable(&b)
		for _, s := range sources {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.ID, s.AsOf, s.URL)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// tiersHaveClasses reports whether any tier lists a model class.
func tiersHaveClasses(tiers []tiersTier) bool {
	for _, t := range tiers {
		if len(t.Classes) > 0 {
			return true
		}
	}
	return false
}

// writeTiersLadder prints tiers that list no classes (OpenAI's) as one
// table: how each is reached and its monthly spend cap.
func writeTiersLadder(b *strings.Builder, tiers []tiersTier, cite func(*tiersSource) string) error {
	tw := newTable(b)
	fmt.Fprintln(tw, "TIER\tNAME\tSCHEME\tREACHED WITH\tMONTHLY SPEND CAP\tSOURCE")
	for _, t := range tiers {
		reached := t.Requirement
		if reached == "" && t.CreditPurchaseUSD > 0 {
			reached = "$" + groupDigits(t.CreditPurchaseUSD) + " credit purchase"
		}
		if reached == "" {
			reached = "-"
		}
		spend := "-"
		if t.MonthlySpendCapUSD > 0 {
			spend = "$" + groupDigits(t.MonthlySpendCapUSD)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Display, t.Tier, t.Scheme, reached, spend, cite(t.SpendSource))
	}
	return tw.Flush()
}
