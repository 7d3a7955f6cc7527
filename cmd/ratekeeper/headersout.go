package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ratekeeper/ratekeeper/tier"
)

// headersLimits lists the limits obs reports, in a fixed order. now is the
// Date header (hasDate) or the clock.
func headersLimits(p tier.Provider, obs tier.Observation, now time.Time, hasDate bool) []headersLimit {
	type row struct {
		name, headers string
		d             tier.DimensionObservation
	}
	var rows []row
	if p == tier.OpenAI {
		rows = []row{
			{"requests", "x-ratelimit-*-requests", obs.Dims[tier.RPM]},
			{"tokens", "x-ratelimit-*-tokens", obs.Dims[tier.TPM]},
			{"project_requests", "x-ratelimit-*-project-requests", obs.Project[tier.RPM]},
			{"project_tokens", "x-ratelimit-*-project-tokens", obs.Project[tier.TPM]},
			{"tokens_usage_based", "x-ratelimit-*-tokens_usage_based", obs.UsageBasedTokens},
		}
	} else {
		rows = []row{
			{"requests", "anthropic-ratelimit-requests-*", obs.Dims[tier.RPM]},
			{"input_tokens", "anthropic-ratelimit-input-tokens-*", obs.Dims[tier.ITPM]},
			{"output_tokens", "anthropic-ratelimit-output-tokens-*", obs.Dims[tier.OTPM]},
			{"tokens", "anthropic-ratelimit-tokens-*", obs.Tokens},
			{"priority_input_tokens", "anthropic-priority-input-tokens-*", obs.Priority.Input},
			{"priority_output_tokens", "anthropic-priority-output-tokens-*", obs.Priority.Output},
		}
	}
	out := []headersLimit{}
	for _, r := range rows {
		if !r.d.Present {
			continue
		}
		l := headersLimit{Name: r.name, Headers: r.headers, Limit: r.d.Limit, Rounded: r.d.Rounded}
		if r.d.Remaining >= 0 {
			v := r.d.Remaining
			l.Remaining = &v
		}
		if !r.d.Reset.IsZero() {
			// OpenAI's resets are durations after the response: without a
			// Date header only the duration is known.
			if hasDate || p == tier.OpenAI {
				l.ResetIn = r.d.Reset.Sub(now).String()
			}
			if hasDate || p != tier.OpenAI {
				l.Reset = r.d.Reset.UTC().Format(time.RFC3339Nano)
			}
		}
		out = append(out, l)
	}
	return out
}

// headersInfer matches the limits obs reports against the presets: those of
// model when the tables know it, else those of every class. It returns nil
// when nothing can be inferred, and says why in notes.
func headersInfer(p tier.Provider, obs tier.Observation, model string, notes *[]string) *headersInference {
	compared := map[string]int64{}
	var parts []string
	for d := range tier.NumDimensions {
		if o := obs.Dims[d]; o.Present && o.Limit > 0 {
			compared[d.Field()] = o.Limit
			parts = append(parts, d.Field()+" "+groupDigits(o.Limit))
		}
	}
	if len(compared) == 0 {
		return nil
	}
	if p == tier.OpenAI {
		*notes = append(*notes, "OpenAI's tables carry no per-model limits, so no tier is inferred from these.")
		return nil
	}
	in := &headersInference{Compared: compared, Matches: []headersMatch{}}
	var matches []tier.Preset
	if model != "" {
		if inf, err := tier.Infer(p, obs, model); err == nil {
			in.Model, matches = model, inf.Matches
		} else {
			*notes = append(*notes, fmt.Sprintf("the body's model %q is not in the tables: its limits are matched against every class", model))
		}
	}
	if in.Model == "" {
		seen := map[string]bool{}
		for _, pr := range tier.Presets(p) {
			if seen[pr.Class.Name] {
				continue
			}
			seen[pr.Class.Name] = true
			inf, err := tier.Infer(p, obs, pr.Class.Name)
			if err != nil {
				continue
			}
			for _, m := range inf.Matches {
				if !slices.ContainsFunc(matches, func(x tier.Preset) bool {
					return x.Tier.Name == m.Tier.Name && x.Class.Name == m.Class.Name
				}) {
					matches = append(matches, m)
				}
			}
		}
	}
	tierRank, classRank := map[string]int{}, map[string]int{}
	for i, t := range tier.Tiers(p) {
		tierRank[t.Name] = i
	}
	for i, pr := range tier.Presets(p) {
		if _, ok := classRank[pr.Class.Scheme+"/"+pr.Class.Name]; !ok {
			classRank[pr.Class.Scheme+"/"+pr.Class.Name] = i
		}
	}
	slices.SortStableFunc(matches, func(a, b tier.Preset) int {
		return cmp.Or(cmp.Compare(tierRank[a.Tier.Name], tierRank[b.Tier.Name]),
			cmp.Compare(classRank[a.Class.Scheme+"/"+a.Class.Name], classRank[b.Class.Scheme+"/"+b.Class.Name]))
	})
	var groups []string
	for i := 0; i < len(matches); {
		t := matches[i].Tier
		var classes []string
		for ; i < len(matches) && matches[i].Tier.Name == t.Name; i++ {
			classes = append(classes, matches[i].Class.Name)
			in.Matches = append(in.Matches, headersMatch{Tier: t.Name, TierDisplay: t.Display, Scheme: t.Scheme, Class: matches[i].Class.Name})
		}
		groups = append(groups, fmt.Sprintf("%s (%s, %s scheme) for %s", t.Display, t.Name, t.Scheme, strings.Join(classes, ", ")))
	}
	s := strings.Join(parts, ", ")
	if in.Model != "" {
		s = in.Model + ": " + s
	}
	if len(groups) == 0 {
		in.Summary = s + " match no preset (a workspace limit, a custom tier, or numbers the tables do not know)"
	} else {
		in.Summary = s + " match " + strings.Join(groups, "; ")
	}
	return in
}

// headersErrorOf describes a parsed error body.
func headersErrorOf(ae *tier.APIError) *headersAPIError {
	e := &headersAPIError{Type: ae.Type, Code: ae.Code, Message: ae.Message, RequestID: ae.RequestID,
		Limit: ae.Limit, Used: ae.Used, Requested: ae.Requested}
	switch {
	case ae.SpendLimit:
		e.Kind, e.Meaning = "spend_limit", "a spend limit is reached (the tier's monthly cap, or a limit set in the Console): retrying fails until access resumes or the limit is raised"
	case ae.InsufficientQuota:
		e.Kind, e.Meaning = "insufficient_quota", "the account has no quota left (plan and billing): no retry will fix it"
	case ae.TooLarge:
		e.Kind, e.Meaning = "too_large", "the request alone is larger than the whole limit: retrying never helps; make it smaller"
	case ae.Overloaded():
		e.Kind, e.Meaning = "overloaded", "the API is overloaded, which is not a quota problem: back off and retry; nothing was charged"
	case ae.RateLimited():
		e.Kind, e.Meaning = "rate_limited", "a rate limit refused the request: retry after the wait (retry-after, or the reset of the exhausted limit)"
	default:
		e.Kind, e.Meaning = "other", "an error that is not about rate limits: retrying the same request will not help"
		if ae.Status >= 500 {
			e.Meaning = "a server error that is not about rate limits: a retry may succeed"
		}
	}
	if ae.RetryHint > 0 {
		e.RetryHint = ae.RetryHint.String()
	}
	if ae.HasDimension {
		e.Dimension = ae.Dimension.String()
	}
	return e
}

// headersNotes says in plain words what else the capture shows.
func headersNotes(p tier.Provider, obs tier.Observation, c *headersCapture) []string {
	var notes []string
	if obs.Empty() {
		notes = append(notes, "no usable rate-limit headers: nothing here says how much of any limit is left")
	}
	if p == tier.Anthropic {
		in, out := obs.Dims[tier.ITPM], obs.Dims[tier.OTPM]
		switch t := obs.Tokens; {
		case t.Present && !in.Present && !out.Present:
			notes = append(notes, "only the combined anthropic-ratelimit-tokens-* limit is reported (the form before input and output tokens were limited apart): the input and output limits are unknown")
		case t.Present && t.Limit > 0 && in.Limit > 0 && out.Limit > 0 && t.Limit < in.Limit+out.Limit:
			notes = append(notes, fmt.Sprintf("the combined token limit (%s) is below input + output (%s): a workspace limit appears to apply",
				groupDigits(t.Limit), groupDigits(in.Limit+out.Limit)))
		}
		if obs.Priority.Input.Present || obs.Priority.Output.Present {
			notes = append(notes, "anthropic-priority-* headers: Priority Tier token limits, apart from the standard ones")
		}
		if obs.WorkspaceID != "" {
			notes = append(notes, "anthropic-workspace-id: the request counted against that workspace, whose limits may be below the organization's")
		}
	}
	if p == tier.OpenAI && (obs.Dims[tier.RPM].Present || obs.Dims[tier.TPM].Present) {
		notes = append(notes, "OpenAI's x-ratelimit-* headers describe the limit currently binding, usually the per-minute one")
	}
	for _, l := range headersLimits(p, obs, time.Time{}, false) {
		if l.Limit == 0 {
			notes = append(notes, "a limit shown as - was absent, malformed or 0 (which Azure OpenAI and some proxies send): it says nothing of the real limit")
			break
		}
	}
	if c.status == 429 {
		for _, l := range headersLimits(p, obs, time.Time{}, false) {
			if l.Remaining != nil && *l.Remaining == 0 && l.Limit > 0 {
				notes = append(notes, fmt.Sprintf("%s is exhausted (0 left): it is what refused the request", strings.ReplaceAll(l.Name, "_", " ")))
			}
		}
	}
	return notes
}

// writeHeadersReport prints rep as text.
func writeHeadersReport(w io.Writer, rep *headersReport) error {
	var b strings.Builder
	line := func(key, format string, args ...any) {
		fmt.Fprintf(&b, "%-14s%s\n", key+":", fmt.Sprintf(format, args...))
	}
	if rep.Status != 0 {
		line("status", "%s", strings.TrimSpace(fmt.Sprintf("%d %s", rep.Status, rep.StatusText)))
	} else {
		line("status", "none (no status line)")
	}
	from := map[string]string{"flag": "--provider", "headers": "from the header names", "default": "the default: nothing in the headers says"}[rep.ProviderFrom]
	line("provider", "%s (%s)", rep.Provider, from)
	if rep.Date != "" {
		line("date", "%s", rep.Date)
	} else if rep.Provider == string(tier.OpenAI) {
		line("date", "none: resets are shown relative to the response only")
	} else {
		line("date", "none: resets are shown as instants only")
	}
	if rep.RequestID != "" {
		line("request id", "%s", rep.RequestID)
	}
	if rep.WorkspaceID != "" {
		line("workspace", "%s", rep.WorkspaceID)
	}
	if rep.Model != "" {
		line("model", "%s (from the body)", rep.Model)
	}
	rounded := false
	if len(rep.Limits) > 0 {
		b.WriteString("\n")
		tw := newTable(&b)
		fmt.Fprintln(tw, "LIMIT\tPER PERIOD\tREMAINING\tRESETS\tHEADERS")
		for _, l := range rep.Limits {
			rem := "-"
			if l.Remaining != nil {
				rem = groupDigits(*l.Remaining)
				if l.Rounded {
					rem = "~" + rem
					rounded = true
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", strings.ReplaceAll(l.Name, "_", " "), groupOrDash(l.Limit), rem, headersResetText(l), l.Headers)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		b.WriteString("\n")
	}
	if r := rep.RetryAfter; r != nil {
		if r.Until != "" {
			line("retry after", "%s (until %s)", r.Duration, r.Until)
		} else {
			line("retry after", "%s", r.Duration)
		}
	} else if rep.Status >= 400 {
		line("retry after", "none")
	}
	if rep.ShouldRetry != nil {
		line("should retry", "%s (x-should-retry: %t)", map[bool]string{true: "yes", false: "no"}[*rep.ShouldRetry], *rep.ShouldRetry)
	}
	if in := rep.Inference; in != nil {
		line("tier", "%s", in.Summary)
	}
	if e := rep.Error; e != nil {
		what := e.Type
		if e.Code != "" && e.Code != e.Type {
			what = strings.TrimPrefix(what+" ("+e.Code+")", " ")
		}
		if what == "" {
			what = "status " + fmt.Sprint(rep.Status)
		}
		line("error", "%s: %s", what, e.Meaning)
		if e.Message != "" {
			line("  message", "%s", e.Message)
		}
		var says []string
		if e.Dimension != "" {
			says = append(says, "the limit is "+strings.ReplaceAll(e.Dimension, "_", " "))
		}
		for _, q := range []struct {
			name string
			v    int64
		}{{"limit", e.Limit}, {"used", e.Used}, {"requested", e.Requested}} {
			if q.v > 0 {
				says = append(says, q.name+" "+groupDigits(q.v))
			}
		}
		if e.RetryHint != "" {
			says = append(says, "try again in "+e.RetryHint)
		}
		if len(says) > 0 {
			line("  it says", "%s", strings.Join(says, ", "))
		}
	}
	if rep.BodyProblem != "" {
		line("body", "not an API error object: %s", rep.BodyProblem)
	}
	if len(rep.Problems) > 0 {
		b.WriteString("header problems (these values were ignored):\n")
		for _, pr := range rep.Problems {
			fmt.Fprintf(&b, "  %s: %q %s\n", pr.Header, pr.Value, pr.Reason)
		}
	}
	if len(rep.Notes) > 0 || rounded {
		b.WriteString("notes:\n")
		for _, n := range rep.Notes {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
		if rounded {
			b.WriteString("  - ~: the API rounds the tokens remaining to the nearest thousand\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// headersResetText is a limit's reset as text: the instant and, when the
// Date header allows, how far from the response it is.
func headersResetText(l headersLimit) string {
	rel := ""
	if l.ResetIn != "" {
		switch d, _ := time.ParseDuration(l.ResetIn); {
		case d == 0:
			rel = "now"
		case d < 0:
			rel = (-d).String() + " ago"
		default:
			rel = "in " + d.String()
		}
	}
	switch {
	case l.Reset != "" && rel != "":
		return l.Reset + " (" + rel + ")"
	case l.Reset != "":
		return l.Reset
	case rel != "":
		return rel + " (after the response)"
	}
	return "-"
}
