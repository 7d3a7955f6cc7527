package tier

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DimensionObservation is what one response's headers said about one limit.
// Its fields are meaningful only when Present; the parsers set Remaining to
// -1 whenever the remaining header is absent or malformed.
type DimensionObservation struct {
	// Present reports whether any of the limit, remaining or reset headers
	// parsed.
	Present bool
	// Limit is the limit (requests or tokens per period); 0 when absent.
	// A limit reported as 0 (some proxies do) is indistinguishable from an
	// absent one and never a usable limit.
	Limit int64
	// Remaining is what is left; -1 when absent.
	Remaining int64
	// Reset is when the limit will be fully replenished; zero when absent.
	// OpenAI's relative durations ("6m0s") are resolved against the `now`
	// given to the parser.
	Reset time.Time
	// Rounded reports that Remaining may be rounded to the nearest thousand
	// (Anthropic's token headers), so it is accurate to ±500.
	Rounded bool
}

// PriorityObservation holds Anthropic's Priority Tier headers
// (anthropic-priority-{input,output}-tokens-*).
type PriorityObservation struct {
	Input, Output DimensionObservation
}

// Observation is what one response's rate-limit headers said. The zero value
// means "nothing observed" except that its Remaining fields are 0, not -1:
// use the parsers to build one.
type Observation struct {
	Provider Provider

	// Dims holds the per-dimension limits: RPM, ITPM and OTPM for Anthropic
	// (the requests, input-tokens and output-tokens headers); RPM and TPM
	// for OpenAI (its requests and tokens headers, which describe the limit
	// currently binding, usually the per-minute one).
	Dims [NumDimensions]DimensionObservation

	// Tokens is Anthropic's combined anthropic-ratelimit-tokens-*: the most
	// restrictive token limit in effect (a workspace limit when one applies,
	// else input plus output). Informational.
	Tokens DimensionObservation

	// Priority holds Anthropic's Priority Tier headers, when present.
	Priority PriorityObservation

	// Project holds OpenAI's project-level headers
	// (x-ratelimit-*-project-{requests,tokens}) at RPM and TPM.
	Project [NumDimensions]DimensionObservation

	// UsageBasedTokens holds OpenAI's x-ratelimit-*-tokens_usage_based
	// headers, when present.
	UsageBasedTokens DimensionObservation

	// RetryAfter is how long the server asked the client to wait, from
	// retry-after-ms or retry-after (seconds or an HTTP date, resolved
	// against now and never negative). Zero when absent.
	RetryAfter    time.Duration
	HasRetryAfter bool

	// RequestID is the request-id (Anthropic) or x-request-id (OpenAI)
	// header, empty when absent.
	RequestID string
	// WorkspaceID is Anthropic's anthropic-workspace-id header: the
	// workspace the request counted against. Empty when absent.
	WorkspaceID string
}

// Empty reports whether o carries no limit and no retry-after.
func (o Observation) Empty() bool {
	if o.HasRetryAfter || o.Tokens.Present || o.Priority.Input.Present || o.Priority.Output.Present || o.UsageBasedTokens.Present {
		return false
	}
	for d := range NumDimensions {
		if o.Dims[d].Present || o.Project[d].Present {
			return false
		}
	}
	return true
}

// ErrBadHeader is matched by every *HeaderError.
var ErrBadHeader = errors.New("tier: malformed rate-limit header")

// HeaderProblem describes one header that could not be used.
type HeaderProblem struct {
	Header string // canonical lower-case name, e.g. "anthropic-ratelimit-requests-limit"
	Value  string // the value, cut to at most 64 bytes
	Reason string // e.g. "not an integer", "negative"
}

// HeaderError lists the headers that could not be parsed. The Observation
// returned with it still holds every header that parsed. It matches
// ErrBadHeader.
type HeaderError struct {
	Problems []HeaderProblem
}

// Error lists every problem: header, quoted value and reason.
func (e *HeaderError) Error() string {
	var b strings.Builder
	b.WriteString(ErrBadHeader.Error())
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s %s", p.Header, strconv.Quote(p.Value), p.Reason)
	}
	return b.String()
}

// Is reports whether target is ErrBadHeader.
func (e *HeaderError) Is(target error) bool { return target == ErrBadHeader }

var errDurationRange = errors.New("out of range")

// parseAnthropicHeaders reads the Claude API's headers (see ParseHeaders).
func parseAnthropicHeaders(h http.Header, now time.Time) (Observation, error) {
	p := &headerParser{h: h, now: now}
	o := newObservation(Anthropic)
	dim := func(kind string, rounded bool) DimensionObservation {
		pre := "anthropic-ratelimit-" + kind + "-"
		return p.dim(pre+"limit", pre+"remaining", pre+"reset", true, rounded)
	}
	o.Dims[RPM] = dim("requests", false)
	o.Tokens = dim("tokens", true)
	o.Dims[ITPM] = dim("input-tokens", true)
	o.Dims[OTPM] = dim("output-tokens", true)
	pri := func(kind string) DimensionObservation {
		pre := "anthropic-priority-" + kind + "-tokens-"
		return p.dim(pre+"limit", pre+"remaining", pre+"reset", true, true)
	}
	o.Priority.Input = pri("input")
	o.Priority.Output = pri("output")
	o.RetryAfter, o.HasRetryAfter = p.retryAfter()
	o.RequestID, _ = p.get("request-id")
	o.WorkspaceID, _ = p.get("anthropic-workspace-id")
	return o, p.err()
}

// parseOpenAIHeaders reads the OpenAI API's headers (see ParseHeaders).
func parseOpenAIHeaders(h http.Header, now time.Time) (Observation, error) {
	p := &headerParser{h: h, now: now}
	o := newObservation(OpenAI)
	dim := func(kind string) DimensionObservation {
		return p.dim("x-ratelimit-limit-"+kind, "x-ratelimit-remaining-"+kind, "x-ratelimit-reset-"+kind, false, false)
	}
	o.Dims[RPM] = dim("requests")
	o.Dims[TPM] = dim("tokens")
	o.Project[RPM] = dim("project-requests")
	o.Project[TPM] = dim("project-tokens")
	o.UsageBasedTokens = dim("tokens_usage_based")
	o.RetryAfter, o.HasRetryAfter = p.retryAfter()
	o.RequestID, _ = p.get("x-request-id")
	return o, p.err()
}

// ParseHeaders reads provider p's rate-limit headers into an Observation.
//
// For Anthropic: anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset},
// anthropic-priority-{input,output}-tokens-*, retry-after-ms, retry-after,
// request-id and anthropic-workspace-id; resets are RFC 3339 instants. For
// OpenAI: x-ratelimit-{limit,remaining,reset}-{requests,tokens}, the
// -project- and _usage_based variants, retry-after-ms, retry-after and
// x-request-id; resets are durations such as "6m0s" or "20ms" (bare numbers
// are seconds), resolved against now, which also resolves an HTTP-date
// retry-after.
//
// Missing headers leave their fields absent. Malformed, negative or
// enormous values (above MaxLimit) are reported in a *HeaderError matching
// ErrBadHeader, and the returned Observation still holds every header that
// parsed (Azure's "-1" values are reported as negative and ignored). For an
// unknown provider it returns a *LookupError matching ErrUnknownProvider.
// ParseHeaders never panics.
func ParseHeaders(p Provider, h http.Header, now time.Time) (Observation, error) {
	switch p {
	case Anthropic:
		return parseAnthropicHeaders(h, now)
	case OpenAI:
		return parseOpenAIHeaders(h, now)
	}
	return newObservation(p), &LookupError{Provider: p, Name: string(p), Known: []string{string(Anthropic), string(OpenAI)}, Err: ErrUnknownProvider}
}

func newObservation(p Provider) Observation {
	absent := DimensionObservation{Remaining: -1}
	o := Observation{Provider: p, Tokens: absent, UsageBasedTokens: absent}
	o.Priority.Input, o.Priority.Output = absent, absent
	for d := range NumDimensions {
		o.Dims[d], o.Project[d] = absent, absent
	}
	return o
}

// Limits returns the limits o observed as a Budget (zero where absent), for
// comparison with a configured budget.
func (o Observation) Limits() Budget {
	var b Budget
	for d := range NumDimensions {
		if o.Dims[d].Present {
			b.setLimit(d, o.Dims[d].Limit)
		}
	}
	return b
}
