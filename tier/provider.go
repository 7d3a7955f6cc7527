package tier

import (
	"errors"
	"strconv"
	"strings"
)

// Provider names an API whose limits this package knows.
type Provider string

// The providers with embedded presets and header parsers.
const (
	Anthropic Provider = "anthropic" // the Claude API
	OpenAI    Provider = "openai"    // the OpenAI API
)

// providers lists the known providers in a stable order.
func providers() []Provider { return []Provider{Anthropic, OpenAI} }

// Errors matched (with errors.Is) by every *LookupError.
var (
	ErrUnknownProvider = errors.New("tier: unknown provider")
	ErrUnknownTier     = errors.New("tier: unknown tier")
	ErrUnknownModel    = errors.New("tier: unknown model")
)

// LookupError says that a provider, tier or model is not in the embedded
// tables, and lists what is. It wraps ErrUnknownProvider, ErrUnknownTier or
// ErrUnknownModel.
type LookupError struct {
	Provider Provider // the provider asked for
	Name     string   // the provider, tier or model name that was not found
	Known    []string // what exists, e.g. tier names, or "class: model, model" entries
	Hint     string   // why the name is missing, when known; may be empty
	Err      error    // ErrUnknownProvider, ErrUnknownTier or ErrUnknownModel
}

// Error names what was not found and lists what exists.
func (e *LookupError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	b.WriteString(" ")
	b.WriteString(quote(e.Name))
	if e.Provider != "" && e.Err != ErrUnknownProvider {
		b.WriteString(" for ")
		b.WriteString(string(e.Provider))
	}
	if e.Hint != "" {
		b.WriteString(": ")
		b.WriteString(e.Hint)
	}
	if len(e.Known) > 0 {
		b.WriteString(" (known: ")
		b.WriteString(strings.Join(e.Known, "; "))
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns e.Err.
func (e *LookupError) Unwrap() error { return e.Err }

// quote quotes s for an error message, shortening it so that a hostile or
// enormous input cannot flood logs.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}
