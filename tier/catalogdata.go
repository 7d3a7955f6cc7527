package tier

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
)

//go:embed data/*.json
var dataFS embed.FS

type catalog struct {
	providers map[Provider]*providerData
}

type providerData struct {
	provider        Provider
	schemes         []*scheme
	unmapped        []unmappedModels
	maxRequestBytes int64
	windows         windows
}

// windows are the largest context windows of a provider's models, by the
// longest prefix of the model ID that the table lists.
type windows struct {
	def      int64    // for an ID no prefix matches
	prefixes []window // longest first, so that the first match is the longest
}

type window struct {
	prefix string
	tokens int64
}

// newWindows orders the table's prefixes, longest first (ties by name, so
// that the order does not depend on the map's).
func newWindows(def int64, prefixes map[string]int64) windows {
	w := windows{def: def}
	for p, v := range prefixes {
		w.prefixes = append(w.prefixes, window{p, v})
	}
	slices.SortFunc(w.prefixes, func(a, b window) int {
		if n := cmp.Compare(len(b.prefix), len(a.prefix)); n != 0 {
			return n
		}
		return strings.Compare(a.prefix, b.prefix)
	})
	return w
}

// of returns model's window. It is on the path of every estimate: a scan of
// a short slice, no map.
func (w windows) of(model string) int64 {
	for _, e := range w.prefixes {
		if strings.HasPrefix(model, e.prefix) {
			return e.tokens
		}
	}
	return w.def
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
	ContextWindows *struct {
		Source   string           `json:"source"`
		Default  int64            `json:"default"`
		Prefixes map[string]int64 `json:"prefixes"`
	} `json:"context_windows"`
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
	if cw := f.ContextWindows; cw != nil {
		if _, err := source(cw.Source, "context_windows"); err != nil {
			return nil, err
		}
		if cw.Default < 0 {
			return nil, fmt.Errorf("context_windows: negative default")
		}
		for p, w := range cw.Prefixes {
			if p == "" || w <= 0 {
				return nil, fmt.Errorf("context_windows: prefix %q: a non-empty prefix and a positive window are required", p)
			}
		}
		pd.windows = newWindows(cw.Default, cw.Prefixes)
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
				if w := pd.windows.of(m); w > 0 && w < cj.ContextWindow {
					return nil, fmt.Errorf("%s: model %q has a context window of %d in context_windows, below the class's %d", where, m, w, cj.ContextWindow)
				}
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
				for _, m := range cj.Models {
					if w := pd.windows.of(m); w < lc.Window {
						return nil, fmt.Errorf("%s: model %q has a context window of %d in context_windows, below the long-context window %d", where, m, w, lc.Window)
					}
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
