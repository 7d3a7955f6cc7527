package tier

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrBadErrorBody is matched by the error of [ParseErrorBody] when the body
// is not a recognizable JSON error object.
var ErrBadErrorBody = errors.New("tier: unrecognized error body")

// APIError is a parsed error response (or streaming error event) of the
// Claude or OpenAI API. It implements error.
type APIError struct {
	Provider Provider
	// Status is the HTTP status code (0 or 200 for an error event inside a
	// stream).
	Status int
	// Type is the error type: Anthropic's error.type ("rate_limit_error",
	// "overloaded_error", …) or OpenAI's error.type ("tokens", "requests",
	// "insufficient_quota", …).
	Type string
	// Code is OpenAI's error.code ("rate_limit_exceeded",
	// "insufficient_quota") or Anthropic's details.error_code
	// ("enforced_spend_limit_reached").
	Code    string
	Message string
	// RequestID is Anthropic's request_id, empty when absent.
	RequestID string

	// SpendLimit reports a spend limit: Anthropic's 429 with
	// enforced_spend_limit_reached (the tier's monthly cap), or its 400
	// "You have reached your specified API usage limits" (a limit the user
	// set). Retrying fails until access resumes.
	SpendLimit bool
	// InsufficientQuota reports OpenAI's insufficient_quota: a 429 that no
	// retry will fix.
	InsufficientQuota bool
	// TooLarge reports a single request larger than the whole limit
	// (OpenAI's "Request too large"): retrying never helps.
	TooLarge bool

	// RetryHint is the wait the message suggests ("Please try again in
	// 408ms"); zero when the message has none.
	RetryHint time.Duration

	// Dimension, when HasDimension, is the limit the message names ("…
	// input tokens per minute", "on tokens per min (TPM)").
	Dimension    Dimension
	HasDimension bool
	// Limit, Used and Requested are the numbers the message quotes
	// ("Limit 40000, Used 39485, Requested 787", "rate limit of 30,000
	// input tokens per minute"); zero when absent.
	Limit, Used, Requested int64
}

// Error describes e in one line, with the message cut to 200 bytes.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s API error", e.Provider)
	if e.Status != 0 {
		fmt.Fprintf(&b, " %d", e.Status)
	}
	if e.Type != "" {
		b.WriteString(" " + e.Type)
	}
	if e.Code != "" && e.Code != e.Type {
		b.WriteString(" (" + e.Code + ")")
	}
	if e.Message != "" {
		msg := e.Message
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		b.WriteString(": " + msg)
	}
	return b.String()
}

// Overloaded reports whether e is an overload (Anthropic's 529 /
// overloaded_error) rather than a quota problem: back off, do not charge
// quota.
func (e *APIError) Overloaded() bool {
	return e.Status == 529 || e.Type == "overloaded_error"
}

// RateLimited reports whether e is a retryable rate-limit refusal: a 429
// (or rate_limit_error / rate_limit_exceeded) that is not a spend limit,
// an exhausted quota, or a request too large for any limit.
func (e *APIError) RateLimited() bool {
	if e.SpendLimit || e.InsufficientQuota || e.TooLarge {
		return false
	}
	return e.Status == 429 || e.Type == "rate_limit_error" || e.Code == "rate_limit_exceeded"
}

// MaxErrorBody is the most of an error response body ParseErrorBody reads,
// and what a client of it should read: 1 MiB.
const MaxErrorBody = 1 << 20

type anthropicErrorJSON struct {
	Type  string `json:"type"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Details *struct {
			ErrorCode string `json:"error_code"`
		} `json:"details"`
	} `json:"error"`
	Details *struct {
		ErrorCode string `json:"error_code"`
	} `json:"details"`
	RequestID string `json:"request_id"`
}

type openAIErrorJSON struct {
	Error *struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
	} `json:"error"`
}

// ParseErrorBody parses the JSON body of an error response of provider
// (Anthropic: {"type":"error","error":{"type":…,"message":…},"request_id":…};
// OpenAI: {"error":{"message":…,"type":…,"code":…}}). Unknown fields are
// ignored, so new error types and details parse.
//
// When the body is empty, not JSON, larger than 1 MiB, or lacks an error
// object, ParseErrorBody returns an *APIError carrying only Provider and
// Status, together with an error matching ErrBadErrorBody. An unknown
// provider gives a *LookupError matching ErrUnknownProvider.
func ParseErrorBody(provider Provider, status int, body []byte) (*APIError, error) {
	e := &APIError{Provider: provider, Status: status}
	if provider != Anthropic && provider != OpenAI {
		return e, &LookupError{Provider: provider, Name: string(provider), Known: []string{string(Anthropic), string(OpenAI)}, Err: ErrUnknownProvider}
	}
	if len(body) > MaxErrorBody {
		return e, fmt.Errorf("%w: body is larger than %d bytes", ErrBadErrorBody, MaxErrorBody)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return e, fmt.Errorf("%w: empty body", ErrBadErrorBody)
	}
	switch provider {
	case Anthropic:
		var j anthropicErrorJSON
		if err := json.Unmarshal(body, &j); err != nil {
			return e, fmt.Errorf("%w: %v", ErrBadErrorBody, err)
		}
		if j.Error == nil {
			return e, fmt.Errorf("%w: no error object", ErrBadErrorBody)
		}
		e.Type, e.Message, e.RequestID = j.Error.Type, j.Error.Message, j.RequestID
		if d := j.Error.Details; d != nil && d.ErrorCode != "" {
			e.Code = d.ErrorCode
		} else if d := j.Details; d != nil {
			e.Code = d.ErrorCode
		}
		e.SpendLimit = e.Code == "enforced_spend_limit_reached" ||
			strings.Contains(e.Message, "You have reached your specified API usage limits")
	case OpenAI:
		var j openAIErrorJSON
		if err := json.Unmarshal(body, &j); err != nil {
			return e, fmt.Errorf("%w: %v", ErrBadErrorBody, err)
		}
		if j.Error == nil {
			return e, fmt.Errorf("%w: no error object", ErrBadErrorBody)
		}
		e.Type, e.Message = j.Error.Type, j.Error.Message
		e.Code = rawCode(j.Error.Code)
		e.InsufficientQuota = e.Code == "insufficient_quota" || e.Type == "insufficient_quota"
		e.TooLarge = strings.Contains(e.Message, "Request too large")
	}
	parseMessage(e)
	return e, nil
}

// rawCode renders OpenAI's code, which is a string, a number or null.
func rawCode(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

var (
	// "Please try again in 408ms." / "in 1.5s" / "in 6m0s" / "in 20 seconds"
	tryAgainRE = regexp.MustCompile(`(?i)(?:try again|retry after|retry) in ([0-9][0-9.]*(?:ns|us|µs|ms|s|m|h)(?:[0-9][0-9.]*(?:ns|us|µs|ms|s|m|h))*)\b`)
	secondsRE  = regexp.MustCompile(`(?i)(?:try again|retry after|retry) (?:in )?([0-9]+(?:\.[0-9]+)?) ?(seconds?|milliseconds?)\b`)
	// "Limit 40000, Used 39485, Requested 787"
	limitRE     = regexp.MustCompile(`\bLimit ([0-9][0-9,]*)`)
	usedRE      = regexp.MustCompile(`\bUsed ([0-9][0-9,]*)`)
	requestedRE = regexp.MustCompile(`\bRequested ([0-9][0-9,]*)`)
	// "rate limit of 30,000 input tokens per minute" / "of 40,000 input tokens per minute"
	anthropicLimitRE = regexp.MustCompile(`(?i)\bof ([0-9][0-9,]*) (input tokens|output tokens|requests|tokens) per minute`)
	// "on tokens per min (TPM)"
	openAIDimRE = regexp.MustCompile(`\((RPM|TPM|RPD|TPD)\)`)
)

// parseMessage fills the fields that only the message text carries.
func parseMessage(e *APIError) {
	msg := e.Message
	if len(msg) > 4096 {
		msg = msg[:4096]
	}
	if m := tryAgainRE.FindStringSubmatch(msg); m != nil {
		if d, err := time.ParseDuration(m[1]); err == nil && d >= 0 {
			e.RetryHint = d
		}
	} else if m := secondsRE.FindStringSubmatch(msg); m != nil {
		if f, err := strconv.ParseFloat(m[1], 64); err == nil {
			if strings.HasPrefix(strings.ToLower(m[2]), "milli") {
				f /= 1000
			}
			if d, err := secondsToDuration(f); err == nil {
				e.RetryHint = d
			}
		}
	}
	number := func(re *regexp.Regexp) int64 {
		m := re.FindStringSubmatch(msg)
		if m == nil {
			return 0
		}
		n, err := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
		if err != nil || n > MaxLimit {
			return 0
		}
		return n
	}
	e.Limit, e.Used, e.Requested = number(limitRE), number(usedRE), number(requestedRE)
	if m := openAIDimRE.FindStringSubmatch(msg); m != nil {
		e.Dimension, e.HasDimension = map[string]Dimension{"RPM": RPM, "TPM": TPM, "RPD": RPD, "TPD": TPD}[m[1]], true
	}
	if m := anthropicLimitRE.FindStringSubmatch(msg); m != nil {
		if e.Limit == 0 {
			e.Limit = number(anthropicLimitRE)
		}
		switch strings.ToLower(m[2]) {
		case "input tokens":
			e.Dimension, e.HasDimension = ITPM, true
		case "output tokens":
			e.Dimension, e.HasDimension = OTPM, true
		case "requests":
			e.Dimension, e.HasDimension = RPM, true
		}
	}
}
