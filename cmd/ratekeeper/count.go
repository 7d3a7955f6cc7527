package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"

	"github.com/spf13/cobra"

	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// countLong is the help text of `ratekeeper count`.
const countLong = `Estimate one request as ratekeeper prices it before sending: the model, the
input tokens (the calibrated estimate, the safety margin and what is
reserved), the output reservation (max_tokens, the thinking budget), the
body's size, whether it fits the model's context window, and, at the tier
(--tier or --config), its share of each per-minute limit: the largest share
binds, and says how many such requests a minute the tier admits.

Input (FILE, or - or nothing for stdin), one of:
  - a Messages body: {"model":…,"max_tokens":…,"messages":[…]}
  - a batch line: {"custom_id":"…","params":{…a Messages body…}}
  - a Message Batches create body: {"requests":[…batch lines…]}. It prints the
    batch's totals instead (requests, bytes, input and output reservations,
    the requests per model, the largest request), the requests over their
    model's context window by index and custom_id, whether the batch fits
    the API's 100,000 requests and 256 MB, and the tier's batch limits. A
    bad request (malformed, custom_id missing, repeated or not of the form
    ^[a-zA-Z0-9_-]{1,64}$) is an error (exit 2), naming it.
  - with --provider openai, a Chat Completions body, or {"custom_id":"…","body":{…}}
    (and an optional "url":"/v1/chat/completions")
  - plain text: anything that does not start with '{'. It becomes a body with
    one user message of that text, the --model, and max_tokens 1024.
Input that starts with '{' is read as JSON; a malformed body, or one that can
never be sent (too large for the API or the context window), is an error
(exit 2). For a file of many requests, use ratekeeper plan.

The estimate is the estimator's prior (no response has calibrated it): a
real run learns from the usage each response reports.`

// countMaxInput bounds what `ratekeeper count` reads: the Message Batches
// size limit, the largest body any endpoint it estimates takes, so that
// the reader refuses only what no such API takes and the estimator says
// what is too large below it (a Messages body above 32 MiB).
const countMaxInput = tokencount.MaxBatchBytes

// countDefaultOpenAIModel is the model of plain text with --provider openai
// when --model is not given.
const countDefaultOpenAIModel = "gpt-4o-mini"

// countTextMaxTokens is the max_tokens of the body built from plain text.
const countTextMaxTokens = 1024

// countFlags are the flags of `ratekeeper count`.
type countFlags struct {
	budget       budgetFlags
	model        string
	modelChanged bool
	asJSON       bool
}

// newCountCmd is `ratekeeper count`.
func newCountCmd(e *env) *cobra.Command {
	var f countFlags
	cmd := &cobra.Command{
		Use:   "count [flags] [FILE|-]",
		Short: "Estimate the tokens and the rate-limit share of one request",
		Long:  countLong,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			f.modelChanged = c.Flags().Changed("model")
			return countRequest(e, &f, fileArg(args))
		},
	}
	fs := cmd.Flags()
	f.budget.register(fs, "tier-1")
	fs.StringVar(&f.model, "model", "claude-sonnet-4-6", "the model of a plain-text input (with --provider openai: gpt-4o-mini unless given); a JSON body names its own")
	fs.BoolVar(&f.asJSON, "json", false, "print the estimate as a JSON object")
	return cmd
}

// countError is an error of `ratekeeper count` in plain words that still
// matches the error it explains (errors.Is with tokencount.ErrTooLarge,
// tokencount.ErrMalformed or errMalformed).
type countError struct {
	msg string
	err error
}

// Error returns the plain-words message.
func (e *countError) Error() string { return e.msg }

// Unwrap returns the explained error.
func (e *countError) Unwrap() error { return e.err }

// countUsageErr is a usage error (exit 2) saying msg and matching err.
func countUsageErr(err error, format string, args ...any) error {
	return &exitError{exitUsage, &countError{msg: fmt.Sprintf(format, args...), err: err}}
}

// countRequest reads the request in the named file, estimates it and
// prints the result.
func countRequest(e *env, f *countFlags, name string) error {
	p, err := f.budget.providerOf()
	if err != nil {
		return err
	}
	in, err := openInput(name, e.stdin)
	if err != nil {
		return err
	}
	defer in.Close()
	if name == "-" {
		name = "stdin"
	}
	tooLarge := countUsageErr(tokencount.ErrTooLarge, "%s: more than %s bytes: no API takes a request that large", name, groupDigits(countMaxInput))
	if fi, err := statOf(in); err == nil && fi.Mode().IsRegular() && fi.Size() > countMaxInput {
		return tooLarge // not worth reading
	}
	data, err := io.ReadAll(io.LimitReader(in, countMaxInput+1))
	if err != nil {
		return usageErr("reading %s: %w", name, err)
	}
	if len(data) > countMaxInput {
		return tooLarge
	}
	if trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))); len(trimmed) > 0 && trimmed[0] == '{' && isBatchCreate(trimmed) {
		switch {
		case p != tier.Anthropic:
			return usageErr("the input is a Message Batches create body, which is Claude's: drop --provider %s", p)
		case f.modelChanged:
			return usageErr("--model %s applies to plain-text input only: each request of a batch names its model", f.model)
		}
		return countBatch(e, f, trimmed)
	}
	res, body, err := countInput(data, p, f)
	if err != nil {
		return err
	}
	est, err := tokencount.New()
	if err != nil {
		return err
	}
	var es tokencount.Estimate
	if p == tier.OpenAI {
		es, err = est.EstimateOpenAI(body)
	} else {
		es, err = est.EstimateAnthropic(body)
	}
	if err != nil {
		return countEstimateErr(err)
	}
	res.fill(es)
	if err := res.limit(p, f); err != nil {
		return err
	}
	if f.asJSON {
		return writeJSON(e.stdout, res)
	}
	return writeCount(e.stdout, res)
}

// countInput reads data as a request of provider p (see countLong) and
// returns the result to fill in and the body to estimate.
func countInput(data []byte, p tier.Provider, f *countFlags) (*countResult, []byte, error) {
	res := &countResult{Provider: string(p), Shares: []countShare{}, Notes: []string{}}
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(trimmed) == 0 {
		return nil, nil, usageErr("the input is empty: give a request body, a batch line or some text")
	}
	if trimmed[0] != '{' {
		model := f.model
		if p == tier.OpenAI && !f.modelChanged {
			model = countDefaultOpenAIModel
		}
		type message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		}
		var body []byte
		var err error
		if p == tier.OpenAI {
			body, err = json.Marshal(struct {
				Model     string    `json:"model"`
				MaxTokens int       `json:"max_completion_tokens"`
				Messages  []message `json:"messages"`
			}{model, countTextMaxTokens, []message{{"user", string(data)}}})
		} else {
			body, err = json.Marshal(struct {
				Model     string    `json:"model"`
				MaxTokens int       `json:"max_tokens"`
				Messages  []message `json:"messages"`
			}{model, countTextMaxTokens, []message{{"user", string(data)}}})
		}
		if err != nil {
			return nil, nil, err
		}
		res.Input = "text"
		res.Notes = append(res.Notes, fmt.Sprintf("the input is plain text: estimated as a body with one user message of it (%s bytes), model %s and max_tokens %d",
			groupDigits(int64(len(data))), model, countTextMaxTokens))
		return res, body, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var first json.RawMessage
	if err := dec.Decode(&first); err == nil {
		if rest := bytes.TrimSpace(trimmed[dec.InputOffset():]); len(rest) > 0 {
			return nil, nil, countUsageErr(errMalformed, "the input holds more than one JSON value: count estimates one request (for a file of requests, use ratekeeper plan)")
		}
		trimmed = first
	}
	q := parseRequest(1, trimmed, p)
	if q.err != nil {
		msg := q.err.Error()
		if s, ok := bytes.CutPrefix([]byte(msg), []byte(errMalformed.Error()+": ")); ok {
			msg = string(s)
		}
		return nil, nil, countUsageErr(q.err, "the input is not a request: %s", msg)
	}
	res.Input = "body"
	if q.id != "line-1" {
		res.Input, res.CustomID = "batch_line", q.id
	}
	if f.modelChanged && q.model != f.model {
		return nil, nil, usageErr("the body's model is %q: --model %s applies to plain-text input only", q.model, f.model)
	}
	return res, q.body, nil
}

// statOf is in's file information, when in is a file.
func statOf(in io.Reader) (fs.FileInfo, error) {
	if f, ok := in.(interface{ Stat() (fs.FileInfo, error) }); ok {
		return f.Stat()
	}
	return nil, errors.ErrUnsupported
}

// countEstimateErr says in plain words why the estimator refused a body
// (or one request of a batch, which it names).
func countEstimateErr(err error) error {
	return countUsageErr(err, "%s", countEstimateWords(err))
}

// countEstimateWords is countEstimateErr's message.
func countEstimateWords(err error) string {
	if bi, ok := errors.AsType[*tokencount.BatchItemError](err); ok {
		id := ""
		if bi.CustomID != "" {
			id = fmt.Sprintf(" (custom_id %q)", bi.CustomID)
		}
		return fmt.Sprintf("batch request %d%s: %s", bi.Index, id, countEstimateWords(bi.Err))
	}
	if m, ok := errors.AsType[*tokencount.MalformedError](err); ok {
		where := ""
		if m.Path != "" {
			where = " at " + m.Path
		}
		return fmt.Sprintf("the request body is malformed%s: %s (byte %d of the body)", where, m.Reason, m.Offset)
	}
	if t, ok := errors.AsType[*tokencount.TooLargeError](err); ok {
		model := ""
		if t.Model != "" {
			model = " for " + t.Model
		}
		switch t.What {
		case tokencount.WhatContextWindow:
			return fmt.Sprintf("the request can never be sent%s: its input estimate plus max_tokens is %s tokens, more than the %s-token context window",
				model, groupDigits(t.Need), groupDigits(t.Limit))
		case tokencount.WhatBodyBytes:
			return fmt.Sprintf("the request can never be sent%s: its body is %s bytes, more than the API's %s-byte limit",
				model, groupDigits(t.Need), groupDigits(t.Limit))
		case tokencount.WhatOutputTokens:
			return fmt.Sprintf("the request can never be sent%s: max_tokens × n is %s tokens, more than any budget holds (%s)",
				model, groupDigits(t.Need), groupDigits(t.Limit))
		}
	}
	return err.Error()
}

// countResult is the estimate of one request; --json prints it.
type countResult struct {
	Provider string `json:"provider"`
	// Input is what the input was: body, batch_line or text; CustomID is
	// a batch line's custom_id.
	Input    string `json:"input"`
	CustomID string `json:"custom_id"`
	Model    string `json:"model"`
	// InputTokens are the estimate without margin (Point), the margin
	// (a fraction) and what is reserved (Reserved ≈ Point × (1+Margin)).
	InputTokens countInputTokens `json:"input_tokens"`
	// OutputTokens is the output reservation.
	OutputTokens countOutputTokens `json:"output_tokens"`
	BodyBytes    int64             `json:"body_bytes"`
	Stream       bool              `json:"stream"`
	// Context is the context-window check.
	Context countContext `json:"context"`
	// Limits is the budget at the tier, nil when there is none (LimitsNote
	// says why).
	Limits     *countLimits `json:"limits"`
	LimitsNote string       `json:"limits_note"`
	// Shares are the request's share of each limit; Binding names the
	// dimension (its field, e.g. "otpm") whose share is the largest, and
	// PerMinute is how many such requests a minute the budget admits.
	Shares    []countShare `json:"shares"`
	Binding   string       `json:"binding"`
	PerMinute int64        `json:"requests_per_minute"`
	// Fits is false when the request alone exceeds a limit: it can never
	// be admitted.
	Fits  bool     `json:"fits"`
	Notes []string `json:"notes"`
}

// countInputTokens is the input estimate.
type countInputTokens struct {
	Point    int64   `json:"point"`
	Margin   float64 `json:"margin"`
	Reserved int64   `json:"reserved"`
}

// countOutputTokens is the output reservation.
type countOutputTokens struct {
	MaxTokens      int64 `json:"max_tokens"`
	ThinkingBudget int64 `json:"thinking_budget"`
	Choices        int64 `json:"choices"`
	Reserved       int64 `json:"reserved"`
}

// countContext is the context-window check: Needed (the input estimate
// plus max_tokens) against Window, the model's standard window (the
// estimator's largest when the tables have no class for it).
type countContext struct {
	Needed int64 `json:"needed"`
	Window int64 `json:"window"`
	// MaxWindow is the largest window any configuration of the model offers
	// (the long-context beta), as the estimator knows it.
	MaxWindow int64 `json:"max_window"`
	Fits      bool  `json:"fits"`
	// LongContext is the anthropic-beta value a request above Window
	// needs, and LongContextWindow the window it opens; empty and 0 when
	// the class has no long-context mode.
	LongContext       string `json:"long_context_beta"`
	LongContextWindow int64  `json:"long_context_window"`
}

// countLimits is the budget the request is measured against.
type countLimits struct {
	// From is "tier" or "config"; Tier is the tier's name (or the config
	// file's); Pool is the rate-limit pool (e.g. "legacy/sonnet-4.x").
	From string `json:"from"`
	Tier string `json:"tier"`
	Pool string `json:"pool"`
	RPM  int64  `json:"rpm"`
	ITPM int64  `json:"itpm"`
	OTPM int64  `json:"otpm"`
	TPM  int64  `json:"tpm"`
	RPD  int64  `json:"rpd"`
	TPD  int64  `json:"tpd"`
}

// countShare is the request's share of one limit.
type countShare struct {
	Dimension string  `json:"dimension"`
	Limit     int64   `json:"limit"`
	Cost      int64   `json:"cost"`
	Share     float64 `json:"share"`
	// Admits is how many such requests the limit alone admits per its
	// period (a minute or a day).
	Admits int64  `json:"admits"`
	Period string `json:"period"`
}

// fill records the estimate es.
func (r *countResult) fill(es tokencount.Estimate) {
	r.Model = es.Model
	r.InputTokens = countInputTokens{Point: es.PointTokens, Margin: math.Round(es.Margin*1e4) / 1e4, Reserved: es.InputTokens}
	r.OutputTokens = countOutputTokens{MaxTokens: es.MaxTokens, ThinkingBudget: es.ThinkingBudget, Choices: es.Choices, Reserved: es.OutputReserve}
	r.BodyBytes, r.Stream = es.BodyBytes, es.Stream
	r.Context = countContext{Needed: es.PointTokens + es.MaxTokens, Window: es.MaxInputTokens, MaxWindow: es.MaxInputTokens}
	r.Context.Fits = r.Context.Needed <= r.Context.Window
}
