package tier

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Validate checks the provider, the tier, every override, and every
// configured model's budget; two entries that name models of the same
// shared pool (e.g. "claude-sonnet-4-5" and "claude-sonnet-4-6") are an
// error. It returns the first problem as a *FieldError (matching
// ErrInvalidBudget) or nil.
func (c *Config) Validate() error {
	if c.Provider != Anthropic && c.Provider != OpenAI {
		return &FieldError{"provider", fmt.Sprintf("%s is not a known provider (anthropic, openai)", quote(string(c.Provider)))}
	}
	if err := checkTier(c.Provider, c.Tier, "tier"); err != nil {
		return err
	}
	for _, o := range []struct {
		name string
		o    Override
	}{{"defaults.", c.Defaults}, {"workspace.", c.Workspace}} {
		if err := checkOverride(o.o, o.name); err != nil {
			return err
		}
	}
	if err := checkWorkspaceOnlyLimits(c.Workspace, "workspace."); err != nil {
		return err
	}
	if tier := c.tierOf(ModelConfig{}); tier != "" {
		// The defaults and workspace apply to every class of the tier.
		if err := c.checkTierClasses(tier); err != nil {
			return err
		}
	}
	pools := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(c.Models)) {
		m := c.Models[k]
		prefix := "models." + k + "."
		if strings.TrimSpace(k) == "" {
			return &FieldError{"models", "empty model name"}
		}
		if err := checkTier(c.Provider, m.Tier, prefix+"tier"); err != nil {
			return err
		}
		if err := checkOverride(m.Override, prefix); err != nil {
			return err
		}
		if err := checkOverride(m.Workspace, prefix+"workspace."); err != nil {
			return err
		}
		if err := checkWorkspaceOnlyLimits(m.Workspace, prefix+"workspace."); err != nil {
			return err
		}
		if _, err := c.budgetFor(k, m, prefix); err != nil {
			return err
		}
		if pool := c.poolOf(k, m); pool != "" && !strings.HasSuffix(pool, "/") {
			if other, ok := pools[pool]; ok {
				return &FieldError{"models." + k, fmt.Sprintf("shares one rate-limit pool (%s) with models.%s; configure the pool once", pool, other)}
			}
			pools[pool] = k
		}
	}
	return nil
}

func checkTier(p Provider, tier, field string) error {
	if tier == "" || strings.EqualFold(tier, "none") {
		return nil
	}
	cat, err := loadCatalog()
	if err != nil {
		return err
	}
	if _, _, err := cat.providers[p].findTier(tier); err != nil {
		return &FieldError{field, err.Error()}
	}
	return nil
}

func checkOverride(o Override, prefix string) error {
	for d := range NumDimensions {
		if p := o.limit(d); p != nil && (*p < 0 || *p > MaxLimit) {
			return &FieldError{prefix + d.Field(), fmt.Sprintf("%d is outside [0, %d]", *p, int64(MaxLimit))}
		}
	}
	if o.Headroom != nil && (math.IsNaN(*o.Headroom) || *o.Headroom < 0 || *o.Headroom >= 1) {
		return &FieldError{prefix + "headroom", fmt.Sprintf("%v is outside [0, 1)", *o.Headroom)}
	}
	if o.Burst != nil && (*o.Burst < 0 || *o.Burst > maxBurst) {
		return &FieldError{prefix + "burst", fmt.Sprintf("%v is outside [0, %v]", *o.Burst, maxBurst)}
	}
	return nil
}

func checkWorkspaceOnlyLimits(ws Override, prefix string) error {
	_, err := capWorkspace(Budget{}, Override{Burst: ws.Burst, Headroom: ws.Headroom}, prefix)
	return err
}

// checkTierClasses checks that Defaults and Workspace give a valid budget for
// every class of tier, so that a bad default fails at load time rather than
// at the first call of a model.
func (c *Config) checkTierClasses(tier string) error {
	cat, err := loadCatalog()
	if err != nil {
		return err
	}
	s, t, err := cat.providers[c.Provider].findTier(tier)
	if err != nil {
		return err
	}
	for _, row := range s.classes {
		if _, err := c.budgetFor(row.class.Name, ModelConfig{}, ""); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return &FieldError{fe.Field, fmt.Sprintf("with the %s preset for %s: %s", t.Name, row.class.Display, fe.Reason)}
			}
			return err
		}
	}
	return nil
}
