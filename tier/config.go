package tier

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// ErrNoConfig is matched by the error of [ConfigFromEnv] when the variable
// is unset or empty.
var ErrNoConfig = errors.New("tier: no configuration")

// maxConfigBytes bounds what LoadConfig reads.
const maxConfigBytes = 1 << 20

// Override changes some fields of a [Budget]. A nil field leaves the
// budget's value alone; a non-nil field replaces it (zero removes a limit).
// The zero Override changes nothing.
//
// In JSON an Override is a budget object whose fields are all optional, e.g.
// {"itpm":200000,"burst":"10s"}.
type Override struct {
	RPM, ITPM, OTPM, TPM, RPD, TPD *int64
	Burst                          *time.Duration
	Headroom                       *float64
}

// Apply returns b with o's non-nil fields replacing b's. It does not
// validate the result.
func (o Override) Apply(b Budget) Budget {
	for d := range NumDimensions {
		if p := o.limit(d); p != nil {
			b.setLimit(d, *p)
		}
	}
	if o.Burst != nil {
		b.Burst = *o.Burst
	}
	if o.Headroom != nil {
		b.Headroom = *o.Headroom
	}
	return b
}

// IsZero reports whether o changes nothing.
func (o Override) IsZero() bool { return o == Override{} }

func (o Override) limit(d Dimension) *int64 {
	switch d {
	case RPM:
		return o.RPM
	case ITPM:
		return o.ITPM
	case OTPM:
		return o.OTPM
	case TPM:
		return o.TPM
	case RPD:
		return o.RPD
	case TPD:
		return o.TPD
	}
	return nil
}

func (b *Budget) setLimit(d Dimension, v int64) { *b = b.WithLimit(d, v) }

// capWorkspace lowers b to the workspace limits in ws: each limit becomes
// the lower of the organization's and the workspace's (a workspace limit of
// 0 caps nothing). A workspace cannot set burst or headroom. prefix names
// ws in errors.
func capWorkspace(b Budget, ws Override, prefix string) (Budget, error) {
	if ws.Burst != nil {
		return b, &FieldError{prefix + "burst", "a workspace caps limits only; set burst in defaults or on the model"}
	}
	if ws.Headroom != nil {
		return b, &FieldError{prefix + "headroom", "a workspace caps limits only; set headroom in defaults or on the model"}
	}
	for d := range NumDimensions {
		p := ws.limit(d)
		if p == nil || *p == 0 {
			continue
		}
		v, org := *p, b.Limit(d)
		if v < 0 {
			return b, &FieldError{prefix + d.Field(), fmt.Sprintf("%d is negative", v)}
		}
		if org == 0 || v < org {
			b.setLimit(d, v)
		}
	}
	return b, nil
}

// ModelConfig is the configuration of one model (or model class) in a
// [Config].
type ModelConfig struct {
	// Tier names the preset tier for this model, overriding Config.Tier.
	// Empty inherits Config.Tier; "none" means no preset: the budget is
	// built from Override alone.
	Tier string
	// Override changes the preset's limits, burst and headroom (after
	// Config.Defaults).
	Override Override
	// Workspace caps the limits for a workspace whose limits are lower than
	// the organization's (after Config.Workspace).
	Workspace Override
}

// Config is a budget configuration for one provider: a preset tier, shared
// defaults, workspace caps and per-model budgets. The zero Config is
// invalid (it has no provider).
//
// The budget of a model is computed as: the preset of (tier, model), then
// Defaults, then the model's Override, then Workspace and the model's
// Workspace caps; then it is validated. See [Config.Budget].
//
// JSON form (unknown fields are rejected):
//
//	{
//	  "provider": "anthropic",
//	  "tier": "build",
//	  "defaults": {"burst": "10s", "headroom": 0.1},
//	  "workspace": {"itpm": 200000},
//	  "models": {
//	    "claude-sonnet-4-5": {"otpm": 50000},
//	    "claude-opus-5-5": {"tier": "none", "rpm": 500, "itpm": 400000, "otpm": 80000}
//	  }
//	}
type Config struct {
	Provider  Provider
	Tier      string   // preset tier, e.g. "build" or "tier-2"; empty or "none" for no preset
	Defaults  Override // applied to every model's budget
	Workspace Override // workspace caps applied to every model's budget
	// Models holds per-model settings keyed by model ID, alias or class
	// name. A model that is not listed gets the preset of Tier plus
	// Defaults and Workspace.
	Models map[string]ModelConfig
}

// Budget returns the budget for model: the entry of Models that names model
// (exactly, or through the model's class: "claude-sonnet-4-5-20250929"
// uses the "claude-sonnet-4-5" entry), else the preset of Tier. The result
// is validated; errors are *FieldError values naming the offending field,
// or a *LookupError when model has neither an entry nor a preset.
func (c *Config) Budget(model string) (Budget, error) {
	key, m, ok := c.entryFor(model)
	if !ok {
		if c.Tier == "" || strings.EqualFold(c.Tier, "none") {
			return Budget{}, &LookupError{Provider: c.Provider, Name: model, Known: slices.Sorted(maps.Keys(c.Models)),
				Hint: "no tier preset and no models entry for it", Err: ErrUnknownModel}
		}
		p, err := c.preset(c.Tier, model)
		if err != nil {
			return Budget{}, err
		}
		if p.Budget == (Budget{}) {
			return Budget{}, &LookupError{Provider: c.Provider, Name: model, Known: slices.Sorted(maps.Keys(c.Models)),
				Hint: fmt.Sprintf("the embedded %s table has no per-model limits; add a models entry", c.Provider), Err: ErrUnknownModel}
		}
		return c.budgetFor(model, ModelConfig{}, "")
	}
	return c.budgetFor(key, m, "models."+key+".")
}

// entryFor finds the Models entry for model: exact key first, then a key
// whose preset class is model's class.
func (c *Config) entryFor(model string) (string, ModelConfig, bool) {
	if m, ok := c.Models[model]; ok {
		return model, m, true
	}
	for _, k := range slices.Sorted(maps.Keys(c.Models)) {
		if strings.EqualFold(k, model) {
			return k, c.Models[k], true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Models)) {
		m := c.Models[k]
		tier := c.tierOf(m)
		if tier == "" {
			continue
		}
		pk, err1 := c.preset(tier, k)
		pm, err2 := c.preset(tier, model)
		if err1 == nil && err2 == nil && pk.Class.Name != "" && pk.Class.Scheme == pm.Class.Scheme && pk.Class.Name == pm.Class.Name {
			return k, m, true
		}
	}
	return "", ModelConfig{}, false
}

func (c *Config) tierOf(m ModelConfig) string {
	t := m.Tier
	if t == "" {
		t = c.Tier
	}
	if strings.EqualFold(t, "none") {
		return ""
	}
	return t
}

// poolOf names the shared pool of an entry ("" when it has no preset class).
func (c *Config) poolOf(key string, m ModelConfig) string {
	tier := c.tierOf(m)
	if tier == "" {
		return ""
	}
	p, err := c.preset(tier, key)
	if err != nil {
		return ""
	}
	return p.Class.Scheme + "/" + p.Class.Name
}

// preset looks up (tier, model). For a provider whose tier has no
// per-model rows (OpenAI) it returns a zero Preset and no error: the tier is
// metadata only.
func (c *Config) preset(tier, model string) (Preset, error) {
	cat, err := loadCatalog()
	if err != nil {
		return Preset{}, err
	}
	pd := cat.providers[c.Provider]
	if pd == nil {
		return Preset{}, &LookupError{Provider: c.Provider, Name: string(c.Provider), Err: ErrUnknownProvider}
	}
	s, _, err := pd.findTier(tier)
	if err != nil {
		return Preset{}, err
	}
	if len(s.classes) == 0 {
		return Preset{}, nil
	}
	return cat.lookup(c.Provider, tier, model)
}

func (c *Config) budgetFor(model string, m ModelConfig, prefix string) (Budget, error) {
	var b Budget
	if tier := c.tierOf(m); tier != "" {
		p, err := c.preset(tier, model)
		if err != nil {
			field := strings.TrimSuffix(prefix, ".")
			if field == "" {
				field = "tier"
			}
			return Budget{}, &FieldError{field, err.Error() + `; set "tier": "none" and give the limits by hand`}
		}
		b = p.Budget
	}
	b = c.Defaults.Apply(b)
	b = m.Override.Apply(b)
	var err error
	if b, err = capWorkspace(b, c.Workspace, "workspace."); err != nil {
		return Budget{}, err
	}
	if b, err = capWorkspace(b, m.Workspace, prefix+"workspace."); err != nil {
		return Budget{}, err
	}
	if err := b.Validate(); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			field := prefix + fe.Field
			if fe.Field == "budget" {
				field = strings.TrimSuffix(prefix, ".")
				if field == "" {
					field = "budget"
				}
			}
			return Budget{}, &FieldError{field, fe.Reason}
		}
		return Budget{}, err
	}
	return b, nil
}

// Resolution says where a model's calls are budgeted.
type Resolution struct {
	// Pool names the rate-limit pool: models that resolve to the same Pool
	// share one budget. It is "<scheme>/<class>" for a model with a preset
	// class (e.g. "current/sonnet-4.x"), else "model/<Models key>".
	Pool string
	// Budget is the pool's budget, as Budget(model) returns it.
	Budget Budget
	// Class is the model's preset class; nil when the model's entry has no
	// preset (tier "none").
	Class *Class
	// ByFamily reports that the tables do not list the model and it was
	// budgeted as its family's class (see Preset.ByFamily).
	ByFamily bool
}

// Resolve returns the pool and budget of model. The error is that of
// Budget(model).
func (c *Config) Resolve(model string) (Resolution, error) {
	b, err := c.Budget(model)
	if err != nil {
		return Resolution{}, err
	}
	key, m := model, ModelConfig{}
	if k, mc, ok := c.entryFor(model); ok {
		key, m = k, mc
	}
	r := Resolution{Budget: b, Pool: "model/" + key}
	if tier := c.tierOf(m); tier != "" {
		if p, err := c.preset(tier, key); err == nil && p.Class.Name != "" {
			r.Pool = p.Class.Scheme + "/" + p.Class.Name
			cl := p.Class.clone()
			r.Class = &cl
			r.ByFamily = p.ByFamily
		}
	}
	return r, nil
}
