package tier

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
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

type overrideJSON struct {
	RPM      *int64   `json:"rpm,omitempty"`
	ITPM     *int64   `json:"itpm,omitempty"`
	OTPM     *int64   `json:"otpm,omitempty"`
	TPM      *int64   `json:"tpm,omitempty"`
	RPD      *int64   `json:"rpd,omitempty"`
	TPD      *int64   `json:"tpd,omitempty"`
	Burst    *string  `json:"burst,omitempty"`
	Headroom *float64 `json:"headroom,omitempty"`
}

// modelJSON repeats overrideJSON's fields rather than embedding it, so that
// decoding errors name "itpm", not "overrideJSON.itpm".
type modelJSON struct {
	Tier      string          `json:"tier,omitempty"`
	RPM       *int64          `json:"rpm,omitempty"`
	ITPM      *int64          `json:"itpm,omitempty"`
	OTPM      *int64          `json:"otpm,omitempty"`
	TPM       *int64          `json:"tpm,omitempty"`
	RPD       *int64          `json:"rpd,omitempty"`
	TPD       *int64          `json:"tpd,omitempty"`
	Burst     *string         `json:"burst,omitempty"`
	Headroom  *float64        `json:"headroom,omitempty"`
	Workspace json.RawMessage `json:"workspace,omitempty"`
}

func (m *modelJSON) override() *overrideJSON {
	return &overrideJSON{RPM: m.RPM, ITPM: m.ITPM, OTPM: m.OTPM, TPM: m.TPM, RPD: m.RPD, TPD: m.TPD, Burst: m.Burst, Headroom: m.Headroom}
}

// configJSON keeps the nested objects raw and decodes each on its own, so
// that every error can be prefixed with the path of its object.
type configJSON struct {
	Provider  Provider                   `json:"provider"`
	Tier      string                     `json:"tier,omitempty"`
	Defaults  json.RawMessage            `json:"defaults,omitempty"`
	Workspace json.RawMessage            `json:"workspace,omitempty"`
	Models    map[string]json.RawMessage `json:"models,omitempty"`
}

// decodeAt decodes the raw object at path (e.g. "models.x.") into v,
// prefixing the path to any *FieldError. Absent or null raw leaves v alone.
func decodeAt(raw json.RawMessage, v any, path string) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := decodeStrict(raw, v); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			if fe.Field == "" {
				return &FieldError{strings.TrimSuffix(path, "."), fe.Reason}
			}
			return &FieldError{path + fe.Field, fe.Reason}
		}
		return err
	}
	return nil
}

func decodeOverride(raw json.RawMessage, path string) (Override, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return Override{}, nil
	}
	var j overrideJSON
	if err := decodeAt(raw, &j, path); err != nil {
		return Override{}, err
	}
	return j.override(path)
}

func (j *overrideJSON) override(prefix string) (Override, error) {
	if j == nil {
		return Override{}, nil
	}
	o := Override{RPM: j.RPM, ITPM: j.ITPM, OTPM: j.OTPM, TPM: j.TPM, RPD: j.RPD, TPD: j.TPD, Headroom: j.Headroom}
	if j.Burst != nil {
		d, err := parseBurst(j.Burst, prefix+"burst")
		if err != nil {
			return Override{}, err
		}
		o.Burst = &d
	}
	return o, nil
}

func overrideToJSON(o Override) *overrideJSON {
	if o.IsZero() {
		return nil
	}
	j := &overrideJSON{RPM: o.RPM, ITPM: o.ITPM, OTPM: o.OTPM, TPM: o.TPM, RPD: o.RPD, TPD: o.TPD, Headroom: o.Headroom}
	if o.Burst != nil {
		s := o.Burst.String()
		j.Burst = &s
	}
	return j
}

// MarshalJSON encodes c in the form [LoadConfig] reads.
func (c Config) MarshalJSON() ([]byte, error) {
	type modelOut struct {
		Tier string `json:"tier,omitempty"`
		*overrideJSON
		Workspace *overrideJSON `json:"workspace,omitempty"`
	}
	type configOut struct {
		Provider  Provider            `json:"provider"`
		Tier      string              `json:"tier,omitempty"`
		Defaults  *overrideJSON       `json:"defaults,omitempty"`
		Workspace *overrideJSON       `json:"workspace,omitempty"`
		Models    map[string]modelOut `json:"models,omitempty"`
	}
	j := configOut{Provider: c.Provider, Tier: c.Tier, Defaults: overrideToJSON(c.Defaults), Workspace: overrideToJSON(c.Workspace)}
	if len(c.Models) > 0 {
		j.Models = make(map[string]modelOut, len(c.Models))
		for k, m := range c.Models {
			j.Models[k] = modelOut{Tier: m.Tier, overrideJSON: overrideToJSON(m.Override), Workspace: overrideToJSON(m.Workspace)}
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes c strictly (unknown fields are errors) without
// validating it; [LoadConfig] decodes and validates. Errors are *FieldError
// values naming the field by its path, e.g. "models.claude-sonnet-4-5.burst".
func (c *Config) UnmarshalJSON(data []byte) error {
	var j configJSON
	if err := decodeStrict(data, &j); err != nil {
		return err
	}
	out := Config{Provider: j.Provider, Tier: j.Tier}
	var err error
	if out.Defaults, err = decodeOverride(j.Defaults, "defaults."); err != nil {
		return err
	}
	if out.Workspace, err = decodeOverride(j.Workspace, "workspace."); err != nil {
		return err
	}
	if len(j.Models) > 0 { // an empty object decodes as a nil map
		out.Models = make(map[string]ModelConfig, len(j.Models))
		for _, k := range slices.Sorted(maps.Keys(j.Models)) {
			prefix := "models." + k + "."
			var mj modelJSON
			if err := decodeAt(j.Models[k], &mj, prefix); err != nil {
				return err
			}
			m := ModelConfig{Tier: mj.Tier}
			if m.Override, err = mj.override().override(prefix); err != nil {
				return err
			}
			if m.Workspace, err = decodeOverride(mj.Workspace, prefix+"workspace."); err != nil {
				return err
			}
			out.Models[k] = m
		}
	}
	*c = out
	return nil
}

// LoadConfig reads a JSON configuration (at most 1 MiB) from r and
// validates it (see [Config.Validate]). Errors are *FieldError values
// matching ErrInvalidBudget, or the reader's error.
func LoadConfig(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("tier: reading config: %w", err)
	}
	if len(data) > maxConfigBytes {
		return nil, &FieldError{"", fmt.Sprintf("config is larger than %d bytes", maxConfigBytes)}
	}
	return parseConfig(data)
}

func parseConfig(data []byte) (*Config, error) {
	var c Config
	if err := c.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// LoadConfigFile reads and validates the JSON configuration in the file at
// path (see [LoadConfig]).
func LoadConfigFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tier: %w", err)
	}
	defer f.Close()
	c, err := LoadConfig(f)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, &FieldError{fe.Field, path + ": " + fe.Reason}
		}
		return nil, err
	}
	return c, nil
}

// ConfigFromEnv reads and validates the JSON configuration held in the
// environment variable name (see [LoadConfig]). When the variable is unset
// or empty the error matches ErrNoConfig.
func ConfigFromEnv(name string) (*Config, error) {
	v := os.Getenv(name)
	if strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%w: environment variable %s is unset or empty", ErrNoConfig, name)
	}
	c, err := parseConfig([]byte(v))
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, &FieldError{fe.Field, "$" + name + ": " + fe.Reason}
		}
		return nil, err
	}
	return c, nil
}

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

// Budgets returns the budget of every entry of Models, keyed like Models.
func (c *Config) Budgets() (map[string]Budget, error) {
	out := make(map[string]Budget, len(c.Models))
	for _, k := range slices.Sorted(maps.Keys(c.Models)) {
		b, err := c.budgetFor(k, c.Models[k], "models."+k+".")
		if err != nil {
			return nil, err
		}
		out[k] = b
	}
	return out, nil
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
