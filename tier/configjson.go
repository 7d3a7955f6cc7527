package tier

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

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
