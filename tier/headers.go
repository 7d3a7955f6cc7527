package tier

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/textproto"
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

// headerParser accumulates problems while parsing one header set.
type headerParser struct {
	h        http.Header
	now      time.Time
	problems []HeaderProblem
}

func (p *headerParser) fail(name, value, reason string) {
	if len(value) > 64 {
		value = value[:64]
	}
	p.problems = append(p.problems, HeaderProblem{Header: name, Value: value, Reason: reason})
}

func (p *headerParser) err() error {
	if len(p.problems) == 0 {
		return nil
	}
	return &HeaderError{Problems: p.problems}
}

// get returns the first value of header name (lower case), trimmed; ok is
// false when it is absent or blank. Keys that are not in canonical form
// (a map literal with lower-case keys) are found too.
func (p *headerParser) get(name string) (string, bool) {
	vs := p.h[textproto.CanonicalMIMEHeaderKey(name)]
	if len(vs) == 0 {
		for k, v := range p.h {
			if len(v) > 0 && strings.EqualFold(k, name) {
				vs = v
				break
			}
		}
	}
	if len(vs) == 0 {
		return "", false
	}
	v := strings.TrimSpace(vs[0])
	return v, v != ""
}

// count parses a non-negative integer header no larger than MaxLimit.
func (p *headerParser) count(name string) (int64, bool) {
	v, ok := p.get(name)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange):
		p.fail(name, v, "is out of range")
	case err != nil:
		p.fail(name, v, "is not an integer")
	case n < 0:
		p.fail(name, v, "is negative")
	case n > MaxLimit:
		p.fail(name, v, fmt.Sprintf("exceeds %d", int64(MaxLimit)))
	default:
		return n, true
	}
	return 0, false
}

// resetRFC3339 parses an absolute RFC 3339 instant.
func (p *headerParser) resetRFC3339(name string) (time.Time, bool) {
	v, ok := p.get(name)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		p.fail(name, v, "is not an RFC 3339 time")
		return time.Time{}, false
	}
	return t, true
}

// resetRelative parses OpenAI's reset: a Go duration ("6m0s", "20ms"), a
// bare number of seconds ("1.5"), or, failing those, an RFC 3339 instant.
func (p *headerParser) resetRelative(name string) (time.Time, bool) {
	v, ok := p.get(name)
	if !ok {
		return time.Time{}, false
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		if s, err2 := strconv.ParseFloat(v, 64); err2 == nil {
			d, err = secondsToDuration(s)
		} else if t, err3 := time.Parse(time.RFC3339, v); err3 == nil {
			return t, true
		}
	}
	switch {
	case err != nil:
		p.fail(name, v, "is not a duration such as \"6m0s\" or \"20ms\"")
	case d < 0:
		p.fail(name, v, "is negative")
	default:
		return p.now.Add(d), true
	}
	return time.Time{}, false
}

var errDurationRange = errors.New("out of range")

// secondsToDuration converts s seconds to a Duration, rejecting NaN,
// infinities and values beyond the Duration range.
func secondsToDuration(s float64) (time.Duration, error) {
	if math.IsNaN(s) || math.IsInf(s, 0) || math.Abs(s) >= float64(math.MaxInt64)/float64(time.Second) {
		return 0, errDurationRange
	}
	return time.Duration(s * float64(time.Second)), nil
}

// dim parses one limit/remaining/reset triple.
func (p *headerParser) dim(limit, remaining, reset string, rfc3339, rounded bool) DimensionObservation {
	o := DimensionObservation{Remaining: -1}
	if n, ok := p.count(limit); ok {
		o.Limit, o.Present = n, true
	}
	if n, ok := p.count(remaining); ok {
		o.Remaining, o.Present, o.Rounded = n, true, rounded
	}
	var t time.Time
	var ok bool
	if rfc3339 {
		t, ok = p.resetRFC3339(reset)
	} else {
		t, ok = p.resetRelative(reset)
	}
	if ok {
		o.Reset, o.Present = t, true
	}
	return o
}

// retryAfter parses retry-after-ms (milliseconds) and retry-after (seconds
// or an HTTP date), preferring the first that parses, as the official SDKs do.
func (p *headerParser) retryAfter() (time.Duration, bool) {
	if v, ok := p.get("retry-after-ms"); ok {
		ms, err := strconv.ParseFloat(v, 64)
		var d time.Duration
		if err == nil {
			d, err = secondsToDuration(ms / 1000)
		}
		switch {
		case err != nil:
			p.fail("retry-after-ms", v, "is not a number of milliseconds")
		case d < 0:
			p.fail("retry-after-ms", v, "is negative")
		default:
			return d, true
		}
	}
	v, ok := p.get("retry-after")
	if !ok {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		d, err := secondsToDuration(s)
		switch {
		case err != nil:
			p.fail("retry-after", v, "is out of range")
		case d < 0:
			p.fail("retry-after", v, "is negative")
		default:
			return d, true
		}
		return 0, false
	}
	t, err := http.ParseTime(v)
	if err != nil {
		p.fail("retry-after", v, "is neither seconds nor an HTTP date")
		return 0, false
	}
	return max(t.Sub(p.now), 0), true
}

// ParseAnthropicHeaders reads the Claude API's rate-limit headers
// (anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset},
// anthropic-priority-{input,output}-tokens-*, retry-after-ms, retry-after,
// request-id, anthropic-workspace-id) into an Observation. Resets are RFC
// 3339 instants; now resolves an HTTP-date retry-after.
//
// Missing headers leave their fields absent. Malformed, negative or
// enormous values (above MaxLimit) are reported in a *HeaderError matching
// ErrBadHeader, and the returned Observation still holds every header that
// parsed. ParseAnthropicHeaders never panics.
func ParseAnthropicHeaders(h http.Header, now time.Time) (Observation, error) {
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

// ParseOpenAIHeaders reads the OpenAI API's rate-limit headers
// (x-ratelimit-{limit,remaining,reset}-{requests,tokens}, the -project-
// and _usage_based variants, retry-after-ms, retry-after, x-request-id)
// into an Observation. Resets are durations such as "6m0s" or "20ms"
// (bare numbers are seconds), resolved against now.
//
// Errors are as for [ParseAnthropicHeaders]: a *HeaderError listing the
// unusable headers, with every good field still in the Observation. Azure's
// "-1" values are reported as negative and ignored.
func ParseOpenAIHeaders(h http.Header, now time.Time) (Observation, error) {
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

// ParseHeaders dispatches to [ParseAnthropicHeaders] or
// [ParseOpenAIHeaders]. For an unknown provider it returns a *LookupError
// matching ErrUnknownProvider.
func ParseHeaders(p Provider, h http.Header, now time.Time) (Observation, error) {
	switch p {
	case Anthropic:
		return ParseAnthropicHeaders(h, now)
	case OpenAI:
		return ParseOpenAIHeaders(h, now)
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
