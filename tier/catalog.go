package tier

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

//go:embed data/*.json
var dataFS embed.FS

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

// ClassOf returns the Anthropic class of model in the current scheme, or in
// the legacy scheme when the current one does not list it. The error is a
// *LookupError matching ErrUnknownModel.
func ClassOf(model string) (Class, error) {
	cat, err := loadCatalog()
	if err != nil {
		return Class{}, err
	}
	pd := cat.providers[Anthropic]
	for _, s := range pd.schemes {
		if row := s.findClass(model); row != nil {
			return row.class.clone(), nil
		}
	}
	return Class{}, pd.unknownModel(model, pd.schemes)
}

// Presets returns every row of p's tables: for each scheme, each class, each
// tier, in the order of the embedded data. It returns nil for an unknown
// provider.
func Presets(p Provider) []Preset {
	cat, err := loadCatalog()
	if err != nil {
		return nil
	}
	pd := cat.providers[p]
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
	cat, err := loadCatalog()
	if err != nil {
		return nil
	}
	pd := cat.providers[p]
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

type catalog struct {
	providers map[Provider]*providerData
}

type providerData struct {
	provider        Provider
	schemes         []*scheme
	unmapped        []unmappedModels
	maxRequestBytes int64
}

type scheme struct {
	name    string
	tiers   []TierInfo
	classes []classRow
}

type classRow struct {
	class       Class
	limits      map[string]Budget // by canonical tier name
	longContext map[string]Budget
}

type unmappedModels struct {
	models []string
	reason string
}

var loadCatalog = sync.OnceValues(func() (*catalog, error) {
	cat := &catalog{providers: map[Provider]*providerData{}}
	for _, p := range providers() {
		data, err := dataFS.ReadFile("data/" + string(p) + ".json")
		if err != nil {
			return nil, fmt.Errorf("tier: embedded data: %w", err)
		}
		pd, err := parseProviderData(data)
		if err != nil {
			return nil, fmt.Errorf("tier: embedded data/%s.json: %w", p, err)
		}
		if pd.provider != p {
			return nil, fmt.Errorf("tier: embedded data/%s.json: provider is %q", p, pd.provider)
		}
		cat.providers[p] = pd
	}
	return cat, nil
})

// JSON shape of data/*.json.

type fileJSON struct {
	Provider      Provider              `json:"provider"`
	Notes         []string              `json:"notes"`
	Sources       map[string]sourceJSON `json:"sources"`
	RequestLimits *struct {
		Source           string `json:"source"`
		MessagesBytes    int64  `json:"messages_bytes"`
		CountTokensBytes int64  `json:"count_tokens_bytes"`
		BatchBytes       int64  `json:"batch_bytes"`
		FilesBytes       int64  `json:"files_bytes"`
	} `json:"request_limits"`
	Schemes  []schemeJSON `json:"schemes"`
	Unmapped []struct {
		Models []string `json:"models"`
		Reason string   `json:"reason"`
	} `json:"unmapped_models"`
}

type sourceJSON struct {
	AsOf  string `json:"as_of"`
	URL   string `json:"url"`
	Notes string `json:"notes"`
}

type schemeJSON struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Dimensions  []string    `json:"dimensions"`
	Tiers       []tierJSON  `json:"tiers"`
	Classes     []classJSON `json:"classes"`
}

type tierJSON struct {
	Name        string `json:"name"`
	Display     string `json:"display"`
	Requirement string `json:"requirement"`
	Spend       *struct {
		Source            string `json:"source"`
		MonthlyCapUSD     int64  `json:"monthly_cap_usd"`
		CreditPurchaseUSD int64  `json:"credit_purchase_usd"`
	} `json:"spend"`
	Batches *struct {
		Source              string `json:"source"`
		RPM                 int64  `json:"rpm"`
		QueuedRequests      int64  `json:"queued_requests"`
		MaxRequestsPerBatch int64  `json:"max_requests_per_batch"`
		MaxBatchBytes       int64  `json:"max_batch_bytes"`
	} `json:"batches"`
	CountTokens *struct {
		Source string `json:"source"`
		RPM    int64  `json:"rpm"`
	} `json:"count_tokens"`
}

type limitsJSON struct {
	RPM  int64 `json:"rpm"`
	ITPM int64 `json:"itpm"`
	OTPM int64 `json:"otpm"`
	TPM  int64 `json:"tpm"`
	RPD  int64 `json:"rpd"`
	TPD  int64 `json:"tpd"`
}

func (l limitsJSON) budget() Budget {
	return Budget{RPM: l.RPM, ITPM: l.ITPM, OTPM: l.OTPM, TPM: l.TPM, RPD: l.RPD, TPD: l.TPD}
}

type classJSON struct {
	Name            string                `json:"name"`
	Display         string                `json:"display"`
	Source          string                `json:"source"`
	Models          []string              `json:"models"`
	CacheReadsCount bool                  `json:"cache_reads_count"`
	ContextWindow   int64                 `json:"context_window"`
	Limits          map[string]limitsJSON `json:"limits"`
	LongContext     *struct {
		Source      string                `json:"source"`
		Window      int64                 `json:"window"`
		AboveTokens int64                 `json:"above_tokens"`
		Beta        string                `json:"beta"`
		Limits      map[string]limitsJSON `json:"limits"`
	} `json:"long_context"`
	Notes string `json:"notes"`
}

// parseProviderData decodes and checks one data file: every reference
// resolves, every tier of a scheme has a row in every class, every budget is
// valid, and no model or tier name is claimed twice.
func parseProviderData(data []byte) (*providerData, error) {
	var f fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if f.Provider == "" {
		return nil, fmt.Errorf("provider is missing")
	}
	source := func(id, where string) (Source, error) {
		s, ok := f.Sources[id]
		if !ok {
			return Source{}, fmt.Errorf("%s: unknown source %q", where, id)
		}
		if s.AsOf == "" || s.URL == "" {
			return Source{}, fmt.Errorf("source %q: as_of and url are required", id)
		}
		return Source{ID: id, AsOf: s.AsOf, URL: s.URL, Notes: s.Notes}, nil
	}
	pd := &providerData{provider: f.Provider}
	if rl := f.RequestLimits; rl != nil {
		if _, err := source(rl.Source, "request_limits"); err != nil {
			return nil, err
		}
		pd.maxRequestBytes = rl.MessagesBytes
	}
	tierNames := map[string]string{} // normalized → scheme
	if len(f.Schemes) == 0 {
		return nil, fmt.Errorf("no schemes")
	}
	for _, sj := range f.Schemes {
		s := &scheme{name: sj.Name}
		if sj.Name == "" {
			return nil, fmt.Errorf("scheme without a name")
		}
		if len(sj.Tiers) == 0 {
			return nil, fmt.Errorf("scheme %s: no tiers", sj.Name)
		}
		for _, tj := range sj.Tiers {
			where := "scheme " + sj.Name + " tier " + tj.Name
			n := normalizeTier(tj.Name)
			if n == "" || tierNames[n] != "" {
				return nil, fmt.Errorf("%s: empty or duplicate tier name", where)
			}
			tierNames[n] = sj.Name
			ti := TierInfo{Provider: f.Provider, Scheme: sj.Name, Name: tj.Name, Display: tj.Display, Requirement: tj.Requirement}
			if sp := tj.Spend; sp != nil {
				src, err := source(sp.Source, where+" spend")
				if err != nil {
					return nil, err
				}
				ti.MonthlySpendCapUSD, ti.CreditPurchaseUSD, ti.SpendSource = sp.MonthlyCapUSD, sp.CreditPurchaseUSD, src
			}
			if bj := tj.Batches; bj != nil {
				src, err := source(bj.Source, where+" batches")
				if err != nil {
					return nil, err
				}
				ti.Batches = BatchLimits{RPM: bj.RPM, QueuedRequests: bj.QueuedRequests,
					MaxRequestsPerBatch: bj.MaxRequestsPerBatch, MaxBatchBytes: bj.MaxBatchBytes, Source: src}
			}
			if cj := tj.CountTokens; cj != nil {
				src, err := source(cj.Source, where+" count_tokens")
				if err != nil {
					return nil, err
				}
				ti.CountTokensRPM, ti.CountTokensSource = cj.RPM, src
			}
			for _, v := range []int64{ti.MonthlySpendCapUSD, ti.CreditPurchaseUSD, ti.Batches.RPM, ti.Batches.QueuedRequests,
				ti.Batches.MaxRequestsPerBatch, ti.Batches.MaxBatchBytes, ti.CountTokensRPM} {
				if v < 0 {
					return nil, fmt.Errorf("%s: negative number %d", where, v)
				}
			}
			s.tiers = append(s.tiers, ti)
		}
		models := map[string]string{}
		classNames := map[string]bool{}
		for _, cj := range sj.Classes {
			where := "scheme " + sj.Name + " class " + cj.Name
			if cj.Name == "" || classNames[normalizeModel(cj.Name)] {
				return nil, fmt.Errorf("%s: empty or duplicate class name", where)
			}
			classNames[normalizeModel(cj.Name)] = true
			src, err := source(cj.Source, where)
			if err != nil {
				return nil, err
			}
			if len(cj.Models) == 0 {
				return nil, fmt.Errorf("%s: no models", where)
			}
			if cj.ContextWindow <= 0 {
				return nil, fmt.Errorf("%s: context_window must be positive", where)
			}
			row := classRow{
				class: Class{Provider: f.Provider, Scheme: sj.Name, Name: cj.Name, Display: cj.Display,
					Models: cj.Models, CacheReadsCount: cj.CacheReadsCount, ContextWindow: cj.ContextWindow,
					Source: src, Notes: cj.Notes},
				limits: map[string]Budget{},
			}
			for _, m := range cj.Models {
				n := normalizeModel(m)
				if n != m {
					return nil, fmt.Errorf("%s: model %q is not in canonical form %q", where, m, n)
				}
				if other := models[n]; other != "" {
					return nil, fmt.Errorf("%s: model %q is also in class %s", where, m, other)
				}
				models[n] = cj.Name
			}
			for name, l := range cj.Limits {
				if !slices.ContainsFunc(s.tiers, func(t TierInfo) bool { return t.Name == name }) {
					return nil, fmt.Errorf("%s: limits for unknown tier %q", where, name)
				}
				b := l.budget()
				if err := b.Validate(); err != nil {
					return nil, fmt.Errorf("%s tier %s: %w", where, name, err)
				}
				row.limits[name] = b
			}
			for _, t := range s.tiers {
				if _, ok := row.limits[t.Name]; !ok {
					return nil, fmt.Errorf("%s: no limits for tier %s", where, t.Name)
				}
			}
			if lc := cj.LongContext; lc != nil {
				if _, err := source(lc.Source, where+" long_context"); err != nil {
					return nil, err
				}
				if lc.Window <= cj.ContextWindow || lc.AboveTokens <= 0 || lc.Beta == "" {
					return nil, fmt.Errorf("%s: long_context needs window > context_window, above_tokens and beta", where)
				}
				row.class.LongContext = &LongContext{Window: lc.Window, AboveTokens: lc.AboveTokens, Beta: lc.Beta}
				row.longContext = map[string]Budget{}
				for name, l := range lc.Limits {
					if _, ok := row.limits[name]; !ok {
						return nil, fmt.Errorf("%s: long_context limits for unknown tier %q", where, name)
					}
					b := l.budget()
					if err := b.Validate(); err != nil {
						return nil, fmt.Errorf("%s long_context tier %s: %w", where, name, err)
					}
					row.longContext[name] = b
				}
			}
			s.classes = append(s.classes, row)
		}
		pd.schemes = append(pd.schemes, s)
	}
	for _, u := range f.Unmapped {
		for _, m := range u.Models {
			for _, s := range pd.schemes {
				if s.findClass(m) != nil {
					return nil, fmt.Errorf("unmapped model %q has a class in scheme %s", m, s.name)
				}
			}
		}
		if u.Reason == "" {
			return nil, fmt.Errorf("unmapped models %v: reason is required", u.Models)
		}
		pd.unmapped = append(pd.unmapped, unmappedModels{models: u.Models, reason: u.Reason})
	}
	return pd, nil
}

func (cat *catalog) lookup(p Provider, tier, model string) (Preset, error) {
	pd := cat.providers[p]
	if pd == nil {
		known := make([]string, 0, len(cat.providers))
		for _, q := range providers() {
			known = append(known, string(q))
		}
		return Preset{}, &LookupError{Provider: p, Name: string(p), Known: known, Err: ErrUnknownProvider}
	}
	s, t, err := pd.findTier(tier)
	if err != nil {
		return Preset{}, err
	}
	row := s.findClass(model)
	byFamily := false
	if row == nil {
		if row = pd.familyClass(s, model); row == nil {
			return Preset{}, pd.unknownModel(model, []*scheme{s})
		}
		byFamily = true
	}
	pre := pd.preset(s, row, t)
	pre.ByFamily = byFamily
	return pre, nil
}

// familyClass returns the class of s for a model that no class lists but
// whose family does: the family is the model ID without its numbers
// ("claude-opus-5-5" and "claude-opus-4-8" are both "claude-opus"), and
// the class is the one that lists the highest version not above the
// model's. nil when no class shares the family, or every version it lists
// is newer (an old model, likely retired or on its own pool).
//
// Only Anthropic's IDs follow one pattern (family, then version); and a
// model another scheme lists is no new model but a tier of the wrong
// scheme: both keep ErrUnknownModel, whose hint says which scheme.
func (pd *providerData) familyClass(s *scheme, model string) *classRow {
	if pd.provider != Anthropic {
		return nil
	}
	for _, other := range pd.schemes {
		if other.findClass(model) != nil {
			return nil
		}
	}
	fam, ver := familyOf(normalizeModel(model))
	if fam == "" {
		return nil
	}
	var best *classRow
	var bestVer []int
	for i := range s.classes {
		row := &s.classes[i]
		for _, m := range row.class.Models {
			f, v := familyOf(m)
			if f != fam {
				continue
			}
			if slices.Compare(v, ver) <= 0 && (best == nil || slices.Compare(v, bestVer) > 0) {
				best, bestVer = row, v
			}
		}
	}
	return best
}

// familyOf splits a normalized model ID into its family (the words that
// are not numbers, joined by '-') and its version (the numbers, dates of
// eight digits left out).
func familyOf(n string) (family string, version []int) {
	if i := strings.IndexByte(n, '@'); i >= 0 {
		n = n[:i]
	}
	var words []string
	for _, part := range strings.Split(n, "-") {
		if part == "" {
			continue
		}
		if v, err := strconv.Atoi(part); err == nil {
			if len(part) < 8 {
				version = append(version, v)
			}
			continue
		}
		if part != "latest" {
			words = append(words, part)
		}
	}
	if len(words) < 2 { // "claude" alone is no family
		return "", nil
	}
	return strings.Join(words, "-"), version
}

// findTier returns the scheme and tier named by name.
func (pd *providerData) findTier(name string) (*scheme, TierInfo, error) {
	n := normalizeTier(name)
	var known []string
	for _, s := range pd.schemes {
		for _, t := range s.tiers {
			if normalizeTier(t.Name) == n {
				return s, t, nil
			}
			known = append(known, t.Name)
		}
	}
	return nil, TierInfo{}, &LookupError{Provider: pd.provider, Name: name, Known: known, Err: ErrUnknownTier}
}

func (pd *providerData) preset(s *scheme, row *classRow, t TierInfo) Preset {
	return Preset{
		Tier:            t,
		Class:           row.class.clone(),
		Budget:          row.limits[t.Name],
		LongContext:     row.longContext[t.Name],
		MaxRequestBytes: pd.maxRequestBytes,
	}
}

// unknownModel builds the error for a model that no class of schemes lists,
// explaining known-but-unmapped models and models that another scheme lists.
func (pd *providerData) unknownModel(model string, schemes []*scheme) error {
	e := &LookupError{Provider: pd.provider, Name: model, Err: ErrUnknownModel}
	n := normalizeModel(model)
	for _, u := range pd.unmapped {
		for _, m := range u.models {
			if matchModel(n, m) {
				e.Hint = u.reason
			}
		}
	}
	if e.Hint == "" && len(schemes) == 1 {
		for _, other := range pd.schemes {
			if other != schemes[0] && other.findClass(model) != nil {
				names := make([]string, len(other.tiers))
				for i, t := range other.tiers {
					names[i] = t.Name
				}
				e.Hint = fmt.Sprintf("the %s scheme (%s) has no row for it; the %s scheme (%s) has one",
					schemes[0].name, tierList(schemes[0]), other.name, strings.Join(names, ", "))
			}
		}
	}
	for _, s := range schemes {
		if len(s.classes) == 0 {
			e.Hint = fmt.Sprintf("the embedded %s table has no per-model limits; give them in Config", pd.provider)
		}
		for _, row := range s.classes {
			e.Known = append(e.Known, row.class.Name+": "+strings.Join(row.class.Models, ", "))
		}
	}
	return e
}

func tierList(s *scheme) string {
	names := make([]string, len(s.tiers))
	for i, t := range s.tiers {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// findClass returns the class of s that lists model, or nil.
func (s *scheme) findClass(model string) *classRow {
	n := normalizeModel(model)
	for i := range s.classes {
		row := &s.classes[i]
		if normalizeModel(row.class.Name) == n || strings.EqualFold(row.class.Display, strings.TrimSpace(model)) {
			return row
		}
		for _, m := range row.class.Models {
			if matchModel(n, m) {
				return row
			}
		}
	}
	return nil
}

// normalizeTier folds case and drops spaces, '-' and '_': "Tier 2" → "tier2".
// A bare number n means "tier n".
func normalizeTier(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		if r == ' ' || r == '-' || r == '_' {
			continue
		}
		b.WriteRune(r)
	}
	n := b.String()
	if n != "" && strings.Trim(n, "0123456789") == "" {
		n = "tier" + n
	}
	return n
}

// normalizeModel lower-cases model and strips platform prefixes such as
// "anthropic." or "us.anthropic." (Amazon Bedrock).
func normalizeModel(model string) string {
	m := strings.ToLower(strings.TrimSpace(model))
	if i := strings.Index(m, "claude-"); i > 0 && m[i-1] == '.' {
		m = m[i:]
	}
	return m
}

// matchModel reports whether the normalized model ID n is alias, or alias
// followed by a date stamp ("-20250929", "@20250929", "-20250929-v1:0") or
// "-latest".
func matchModel(n, alias string) bool {
	if n == alias {
		return true
	}
	if len(n) <= len(alias)+1 || n[:len(alias)] != alias {
		return false
	}
	sep, rest := n[len(alias)], n[len(alias)+1:]
	if sep != '-' && sep != '@' {
		return false
	}
	if rest == "latest" {
		return true
	}
	if len(rest) < 8 || strings.Trim(rest[:8], "0123456789") != "" {
		return false
	}
	return len(rest) == 8 || rest[8] == '-'
}
