package tier

import (
	"fmt"
	"strings"
)

// Mismatch is one dimension where a configured budget disagrees with the
// limit the server reported.
type Mismatch struct {
	Dimension  Dimension
	Configured int64 // the configured limit; 0 when the budget does not limit the dimension
	Observed   int64 // the limit in the response headers
}

// String returns e.g. "input_tokens_per_minute: configured 5000000, server
// reports 200000".
func (m Mismatch) String() string {
	return fmt.Sprintf("%s: configured %d, server reports %d", m.Dimension, m.Configured, m.Observed)
}

// Compare returns the dimensions where b's limit differs from a limit obs
// reports, in Dimension order; nil when they agree. Dimensions that obs does
// not report, or reports as 0, are not compared. Compare compares limits
// only, not burst or headroom.
func Compare(b Budget, obs Observation) []Mismatch {
	var out []Mismatch
	for d := range NumDimensions {
		o := obs.Dims[d]
		if !o.Present || o.Limit <= 0 {
			continue
		}
		if c := b.Limit(d); c != o.Limit {
			out = append(out, Mismatch{Dimension: d, Configured: c, Observed: o.Limit})
		}
	}
	return out
}

// Inference is the result of [Infer].
type Inference struct {
	Model string
	// Observed holds the limits the headers reported (zero where absent).
	Observed Budget
	// Matches are the presets for Model whose limits equal every reported
	// limit, current scheme first. Several tiers can match when their
	// numbers coincide (Haiku 3.5 in Build and in Tier 3); none match when
	// the headers show workspace limits, a custom tier, or limits the
	// embedded tables do not know.
	Matches []Preset
}

// String describes the inference in one line, e.g. `claude-sonnet-4-5
// limits (rpm 5000, itpm 5000000, otpm 1000000) match anthropic build
// (Sonnet 4.x)`.
func (in Inference) String() string {
	var lim []string
	for d := range NumDimensions {
		if v := in.Observed.Limit(d); v > 0 {
			lim = append(lim, fmt.Sprintf("%s %d", d.Field(), v))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s limits (%s) ", in.Model, strings.Join(lim, ", "))
	if len(in.Matches) == 0 {
		b.WriteString("match no preset")
		return b.String()
	}
	b.WriteString("match ")
	for i, p := range in.Matches {
		if i > 0 {
			b.WriteString(" or ")
		}
		fmt.Fprintf(&b, "%s %s (%s)", p.Tier.Provider, p.Tier.Name, p.Class.Display)
	}
	return b.String()
}

// Infer finds the tiers of provider p whose preset for model has exactly the
// limits that obs reports ("these limits match Anthropic Build for Sonnet
// 4.x"). Only dimensions that obs reports with a positive limit are
// compared; with none, Matches is empty. The error is a *LookupError when
// p is unknown or no scheme lists model.
func Infer(p Provider, obs Observation, model string) (Inference, error) {
	in := Inference{Model: model, Observed: obs.Limits()}
	cat, err := loadCatalog()
	if err != nil {
		return in, err
	}
	pd := cat.providers[p]
	if pd == nil {
		_, err := cat.lookup(p, "", model)
		return in, err
	}
	found := false
	for _, s := range pd.schemes {
		row := s.findClass(model)
		if row == nil {
			continue
		}
		found = true
		for _, t := range s.tiers {
			if limitsMatch(row.limits[t.Name], obs) {
				in.Matches = append(in.Matches, pd.preset(s, row, t))
			}
		}
	}
	if !found {
		return in, pd.unknownModel(model, pd.schemes)
	}
	return in, nil
}

func limitsMatch(b Budget, obs Observation) bool {
	compared := 0
	for d := range NumDimensions {
		o := obs.Dims[d]
		if !o.Present || o.Limit <= 0 {
			continue
		}
		if b.Limit(d) != o.Limit {
			return false
		}
		compared++
	}
	return compared > 0
}
