package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ratekeeper/ratekeeper/tier"
)

// headersLong is the help text of `ratekeeper headers`.
const headersLong = `Explain a captured set of API response headers: the status, each rate limit
(limit, remaining, and when it resets, as an RFC 3339 instant and relative
to the response's Date header), the retry-after wait, the tier whose preset
limits match, the Priority Tier headers, the error the body carries, and any
header that could not be used.

Input (FILE, or - or nothing for stdin) is either:
  - a raw HTTP response, as curl -i or curl -D - print it:
        HTTP/1.1 429 Too Many Requests
        Date: Thu, 12 Mar 2026 08:30:05 GMT
        retry-after: 23
        anthropic-ratelimit-input-tokens-limit: 30000
        ...
        (a blank line, then the body, if any)
  - or header lines alone, "Name: value", one a line.
Header names are case-insensitive; LF or CRLF line ends; a line that starts
with white space continues the previous header.

The provider is detected from the header names (anthropic-* or
x-ratelimit-*) unless --provider is given. The tier is inferred from the
limits: against the response body's model when it names one, else against
every class of the tables. Input that is not headers is an error (exit 2);
headers whose values are malformed are reported, not refused.`

// headersFlags are the flags of `ratekeeper headers`.
type headersFlags struct {
	provider string
	asJSON   bool
}

// newHeadersCmd is `ratekeeper headers`.
func newHeadersCmd(e *env) *cobra.Command {
	var f headersFlags
	cmd := &cobra.Command{
		Use:   "headers [flags] [FILE|-]",
		Short: "Explain captured rate-limit response headers",
		Long:  headersLong,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return explainHeaders(e, &f, fileArg(args))
		},
	}
	cmd.Flags().StringVar(&f.provider, "provider", "", "the API that answered: anthropic or openai (default: detected from the header names)")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the explanation as a JSON object")
	return cmd
}

// explainHeaders reads the capture in the named file and prints its
// explanation.
func explainHeaders(e *env, f *headersFlags, name string) error {
	var p tier.Provider
	if f.provider != "" {
		var err error
		if p, err = (&budgetFlags{provider: f.provider}).providerOf(); err != nil {
			return err
		}
	}
	in, err := openInput(name, e.stdin)
	if err != nil {
		return err
	}
	defer in.Close()
	if name == "-" {
		name = "stdin"
	}
	data, err := io.ReadAll(io.LimitReader(in, headersMaxInput+1))
	if err != nil {
		return usageErr("reading %s: %w", name, err)
	}
	if len(data) > headersMaxInput {
		return usageErr("%s: %w: more than %d bytes", name, errHeadersInput, headersMaxInput)
	}
	c, err := headersParse(data)
	if err != nil {
		return usageErr("%s: %w", name, err)
	}
	rep := headersExplain(c, p)
	if f.asJSON {
		return writeJSON(e.stdout, rep)
	}
	return writeHeadersReport(e.stdout, rep)
}

// headersReport is the explanation of one capture; --json prints it.
type headersReport struct {
	// Provider is the API the headers were read as; ProviderFrom says how it
	// was chosen: "flag", "headers" (the header names) or "default".
	Provider     string `json:"provider"`
	ProviderFrom string `json:"provider_from"`
	// Status is the status code, 0 when the input had no status line.
	Status     int    `json:"status"`
	StatusText string `json:"status_text"`
	// Date is the Date header as RFC 3339, empty when absent or unparsable.
	Date        string `json:"date"`
	RequestID   string `json:"request_id"`
	WorkspaceID string `json:"workspace_id"`
	// ShouldRetry is Anthropic's x-should-retry header; nil when absent.
	ShouldRetry *bool `json:"should_retry"`
	// Model is the model the response body names, empty when none.
	Model string `json:"model"`
	// Limits lists every limit the headers report, in a fixed order.
	Limits []headersLimit `json:"limits"`
	// RetryAfter is the wait the server asked for; nil when absent.
	RetryAfter *headersRetry `json:"retry_after"`
	// Inference is the tier the limits match; nil for OpenAI (no presets)
	// or when no limit was reported.
	Inference *headersInference `json:"inference"`
	// Error is the error the body carries; nil when the status is not an
	// error or the body is not an error object (then BodyProblem says why).
	Error       *headersAPIError `json:"error"`
	BodyProblem string           `json:"body_problem"`
	// Problems are the headers that could not be used.
	Problems []tier.HeaderProblem `json:"header_problems"`
	// Notes say what else the headers show, in plain words.
	Notes []string `json:"notes"`
}

// headersLimit is one limit the headers report.
type headersLimit struct {
	// Name says which limit: requests, input_tokens, output_tokens, tokens,
	// priority_input_tokens, priority_output_tokens, project_requests,
	// project_tokens or tokens_usage_based.
	Name string `json:"name"`
	// Headers is the header family, e.g. "anthropic-ratelimit-requests-*".
	Headers string `json:"headers"`
	// Limit is 0 when absent or unusable.
	Limit int64 `json:"limit"`
	// Remaining is nil when absent or unusable; Rounded says it may be
	// rounded to the nearest thousand.
	Remaining *int64 `json:"remaining"`
	Rounded   bool   `json:"rounded"`
	// Reset is when the limit is fully replenished (RFC 3339), empty when
	// absent; ResetIn is that instant relative to the Date header (a Go
	// duration, negative when past), empty without a Date header.
	Reset   string `json:"reset"`
	ResetIn string `json:"reset_in"`
}

// headersRetry is the retry-after wait.
type headersRetry struct {
	Seconds  float64 `json:"seconds"`
	Duration string  `json:"duration"`
	// Until is the Date header plus the wait (RFC 3339), empty without a
	// Date header.
	Until string `json:"until"`
}

// headersInference is the tier that the reported limits match.
type headersInference struct {
	// Model is the model the limits were matched against; empty when
	// every class of the tables was tried.
	Model string `json:"model"`
	// Compared holds the reported limits that were compared (rpm, itpm,
	// otpm…).
	Compared map[string]int64 `json:"compared"`
	// Matches are the presets with exactly those limits.
	Matches []headersMatch `json:"matches"`
	// Summary says the same in one line.
	Summary string `json:"summary"`
}

// headersMatch is one preset whose limits equal the reported ones.
type headersMatch struct {
	Tier        string `json:"tier"`
	TierDisplay string `json:"tier_display"`
	Scheme      string `json:"scheme"`
	Class       string `json:"class"`
}

// headersAPIError is the parsed error body.
type headersAPIError struct {
	Type      string `json:"type"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	// Kind is rate_limited, spend_limit, insufficient_quota, too_large,
	// overloaded or other; Meaning says what to do, in plain words.
	Kind    string `json:"kind"`
	Meaning string `json:"meaning"`
	// RetryHint is the wait the message suggests, empty when none.
	RetryHint string `json:"retry_hint"`
	// Dimension is the limit the message names, empty when none.
	Dimension string `json:"dimension"`
	Limit     int64  `json:"limit"`
	Used      int64  `json:"used"`
	Requested int64  `json:"requested"`
}

// headersDetect guesses the provider from the header names: anthropic-*
// or request-id for Anthropic, x-ratelimit-*, openai-* or x-request-id for
// OpenAI. It reports false when nothing says.
func headersDetect(h http.Header) (tier.Provider, bool) {
	weak := tier.Provider("")
	for k := range h {
		k = strings.ToLower(k)
		switch {
		case strings.HasPrefix(k, "anthropic-"):
			return tier.Anthropic, true
		case strings.HasPrefix(k, "x-ratelimit-"), strings.HasPrefix(k, "openai-"):
			return tier.OpenAI, true
		case k == "request-id":
			weak = tier.Anthropic
		case k == "x-request-id" && weak == "":
			weak = tier.OpenAI
		}
	}
	return weak, weak != ""
}

// headersExplain builds the explanation of c as provider p ("" to detect
// it).
func headersExplain(c *headersCapture, p tier.Provider) *headersReport {
	rep := &headersReport{Status: c.status, StatusText: c.statusText, Limits: []headersLimit{},
		Problems: []tier.HeaderProblem{}, Notes: []string{}}
	switch {
	case p != "":
		rep.ProviderFrom = "flag"
	default:
		var ok bool
		if p, ok = headersDetect(c.header); ok {
			rep.ProviderFrom = "headers"
		} else {
			p, rep.ProviderFrom = tier.Anthropic, "default"
		}
	}
	rep.Provider = string(p)

	// The Date header is the parser's now; without it, relative values
	// (OpenAI's resets, retry-after) are resolved against the clock.
	now, hasDate := time.Now(), false
	if d := c.header.Get("Date"); d != "" {
		if t, err := http.ParseTime(d); err == nil {
			now, hasDate = t.UTC(), true
			rep.Date = now.Format(time.RFC3339)
		} else {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the Date header %q is not an HTTP date: resets are shown as instants only", headersCut(d)))
		}
	}
	obs, err := tier.ParseHeaders(p, c.header, now)
	if he, ok := errors.AsType[*tier.HeaderError](err); ok {
		rep.Problems = append(rep.Problems, he.Problems...)
	}
	rep.RequestID, rep.WorkspaceID = obs.RequestID, obs.WorkspaceID
	if v := strings.ToLower(strings.TrimSpace(c.header.Get("X-Should-Retry"))); v == "true" || v == "false" {
		b := v == "true"
		rep.ShouldRetry = &b
	}
	var body struct {
		Model string `json:"model"`
	}
	if len(c.body) > 0 && json.Unmarshal(c.body, &body) == nil {
		rep.Model = body.Model
	}

	rep.Limits = headersLimits(p, obs, now, hasDate)
	if obs.HasRetryAfter {
		r := &headersRetry{Seconds: obs.RetryAfter.Seconds(), Duration: obs.RetryAfter.String()}
		if hasDate {
			r.Until = now.Add(obs.RetryAfter).Format(time.RFC3339Nano)
		}
		rep.RetryAfter = r
	}
	rep.Inference = headersInfer(p, obs, rep.Model, &rep.Notes)
	if c.status >= 400 || (c.status == 0 && len(c.body) > 0) {
		ae, berr := tier.ParseErrorBody(p, c.status, c.body)
		switch {
		case berr == nil:
			rep.Error = headersErrorOf(ae)
		case c.status >= 400:
			rep.BodyProblem = headersBodyProblem(berr)
			if ae.Overloaded() || ae.RateLimited() {
				rep.Error = headersErrorOf(ae)
			}
		}
	}
	rep.Notes = append(rep.Notes, headersNotes(p, obs, c)...)
	return rep
}

// headersBodyProblem says in plain words why a body is not an error
// object.
func headersBodyProblem(err error) string {
	return strings.TrimPrefix(err.Error(), tier.ErrBadErrorBody.Error()+": ")
}
