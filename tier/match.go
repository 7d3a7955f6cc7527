package tier

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

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
