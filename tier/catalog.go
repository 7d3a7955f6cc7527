package tier

import (
	"slices"
)

// Source says where a table came from.
type Source struct {
	ID    string // the reference's label, e.g. "V-B" (late 2025 Anthropic docs)
	AsOf  string // when the table was current, as precisely as the reference dates it, e.g. "late 2025"
	URL   string // the page the numbers were read from
	Notes string // caveats, possibly empty
}

// LongContext describes a long-context mode of a class: requests above
// AboveTokens input tokens, allowed up to Window tokens when the Beta header
// is sent, count against separate limits (see [Preset.LongContext]).
type LongContext struct {
	Window      int64  // the long context window, in tokens (e.g. 1,000,000)
	AboveTokens int64  // requests above this many tokens use the long-context limits
	Beta        string // the anthropic-beta value that enables it, e.g. "context-1m-2025-08-07"
}

// Class is a model class: a set of models that share one rate-limit pool
// under one scheme of tiers. Classes are per scheme because providers regroup
// models when they change schemes.
type Class struct {
	Provider Provider
	Scheme   string   // "current" or "legacy" (Anthropic), "usage-tiers" (OpenAI)
	Name     string   // stable identifier, e.g. "sonnet-4.x"
	Display  string   // the docs' name, e.g. "Sonnet 4.x"
	Models   []string // model IDs and aliases that map to the class; dated IDs match by prefix

	// CacheReadsCount reports whether cache_read_input_tokens count toward
	// ITPM for this class (the docs' † or * mark). When false only
	// input_tokens and cache_creation_input_tokens count.
	CacheReadsCount bool

	// ContextWindow is the standard context window, in tokens.
	ContextWindow int64
	// LongContext is the long-context mode, nil when none is published.
	LongContext *LongContext

	Source Source // where the class's limits come from
	Notes  string // caveats, possibly empty
}

// BatchLimits are the Message Batches limits of a tier, shared across all
// models. The zero value means "not published".
type BatchLimits struct {
	RPM                 int64 // requests per minute across all batch endpoints
	QueuedRequests      int64 // batch requests in the processing queue (not yet processed)
	MaxRequestsPerBatch int64 // requests in one batch
	MaxBatchBytes       int64 // size of one batch, in bytes
	Source              Source
}

// TierInfo describes one tier of a provider, independent of models.
type TierInfo struct {
	Provider    Provider
	Scheme      string // "current" (Start/Build/Scale), "legacy" (Tier 1–4) or "usage-tiers" (OpenAI)
	Name        string // canonical name, e.g. "build" or "tier-2"
	Display     string // e.g. "Build"
	Requirement string // how an account reaches the tier, when published

	// MonthlySpendCapUSD is the monthly spend cap in US dollars (Anthropic's
	// "Max Usage per Month", OpenAI's "Monthly usage limit"); zero when none
	// is published.
	MonthlySpendCapUSD int64
	// CreditPurchaseUSD is the credit purchase that reaches the tier, in US
	// dollars; zero when not published.
	CreditPurchaseUSD int64
	SpendSource       Source

	Batches BatchLimits

	// CountTokensRPM is the requests-per-minute limit of the token counting
	// endpoint, separate from the Messages limits; zero when not published.
	CountTokensRPM    int64
	CountTokensSource Source
}

// Preset is one row of the embedded tables: the limits of one model class in
// one tier, with what an estimator needs to know about the class.
type Preset struct {
	Tier  TierInfo
	Class Class
	// Budget holds the published limits (RPM, ITPM, OTPM for Anthropic);
	// Burst and Headroom are zero.
	Budget Budget
	// LongContext holds the separate limits for long-context requests (see
	// [Class.LongContext]); zero when none are published for this tier.
	LongContext Budget
	// MaxRequestBytes is the largest Messages request body, in bytes; zero
	// when not published.
	MaxRequestBytes int64
	// ByFamily reports that the tables do not list the model: it was
	// mapped to the class of its family (claude-opus-5-5 → Opus 5, the
	// newest class of the family not newer than the model). A model launch
	// then works at once, on its family's numbers; the response headers
	// correct the limits if the new model's differ.
	ByFamily bool
}

// Lookup returns the preset for model in the named tier of provider p.
//
// Tier names are matched ignoring case, spaces, '-' and '_' ("Build",
// "tier 2", "TIER_2", and "2" for "tier-2"). The tier selects the scheme:
// Anthropic's "start", "build" and "scale" are the current scheme, "tier-1"
// to "tier-4" the legacy one. Model may be a model ID, a dated or
// platform-qualified ID ("claude-sonnet-4-5-20250929",
// "anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5@20250929"),
// or a class name ("sonnet-4.x").
//
// The error is a *LookupError matching ErrUnknownProvider, ErrUnknownTier or
// ErrUnknownModel; it lists what exists. OpenAI's embedded table has no
// per-model rows, so every OpenAI model is unknown: configure its numbers
// with [Config].
func Lookup(p Provider, tier, model string) (Preset, error) {
	cat, err := loadCatalog()
	if err != nil {
		return Preset{}, err
	}
	return cat.lookup(p, tier, model)
}

// Presets returns every row of p's tables: for each scheme, each class, each
// tier, in the order of the embedded data. It returns nil for an unknown
// provider.
func Presets(p Provider) []Preset {
	pd := known(p)
	if pd == nil {
		return nil
	}
	var out []Preset
	for _, s := range pd.schemes {
		for i := range s.classes {
			for _, t := range s.tiers {
				out = append(out, pd.preset(s, &s.classes[i], t))
			}
		}
	}
	return out
}

// Tiers returns p's tiers, current scheme first. It returns nil for an
// unknown provider.
func Tiers(p Provider) []TierInfo {
	pd := known(p)
	if pd == nil {
		return nil
	}
	var out []TierInfo
	for _, s := range pd.schemes {
		out = append(out, s.tiers...)
	}
	return out
}

// LookupTier returns provider p's tier named name (as Lookup reads tier
// names: "Tier 2", "tier-2" and "2" are one tier). The error matches
// ErrUnknownTier for a tier p does not have.
func LookupTier(p Provider, name string) (TierInfo, error) {
	cat, err := loadCatalog()
	if err != nil {
		return TierInfo{}, err
	}
	pd := cat.providers[p]
	if pd == nil {
		return TierInfo{}, &LookupError{Provider: p, Name: name, Err: ErrUnknownTier}
	}
	_, t, err := pd.findTier(name)
	return t, err
}

func (c Class) clone() Class {
	c.Models = slices.Clone(c.Models)
	if c.LongContext != nil {
		lc := *c.LongContext
		c.LongContext = &lc
	}
	return c
}

// The parsed catalog. It is immutable once built.

// JSON shape of data/*.json.

// known returns provider p's tables, nil for a provider without any (or if
// the embedded data could not be read, which its tests rule out).
func known(p Provider) *providerData {
	cat, err := loadCatalog()
	if err != nil {
		return nil
	}
	return cat.providers[p]
}
