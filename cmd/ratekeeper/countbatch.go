package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// isBatchCreate reports whether data, which starts with '{', is a Message
// Batches create body: an object with a top-level "requests" member (the
// estimator says whether it is the array it must be).
func isBatchCreate(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return false
		}
		if key == "requests" {
			return true
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

// countBatchShown is how many requests over their context window the text
// output lists (--json lists them all).
const countBatchShown = 10

// countBatchResult is the estimate of a Message Batches create body;
// --json prints it.
type countBatchResult struct {
	Provider string `json:"provider"`
	Input    string `json:"input"` // "batch"
	// Requests is the number of requests; Estimated how many were
	// estimated (all, or the first tokencount.MaxBatchRequests).
	Requests  int   `json:"requests"`
	Estimated int   `json:"estimated"`
	BodyBytes int64 `json:"body_bytes"`
	// InputTokens and OutputTokens are the sums over the requests that fit
	// their context window.
	InputTokens  countBatchInput  `json:"input_tokens"`
	OutputTokens countBatchOutput `json:"output_tokens"`
	// Models counts the requests per model, by model ID.
	Models []countBatchModel `json:"models"`
	// Largest is the request with the largest input reservation, nil when
	// none fits its context window.
	Largest *countBatchItem `json:"largest"`
	// OverContextWindow are the requests whose input estimate plus
	// max_tokens exceeds their model's context window, in body order.
	OverContextWindow []countBatchItem `json:"over_context_window"`
	Limits            countBatchLimits `json:"limits"`
	// Tier is the tier's batch limits, nil when there are none (Notes say
	// why).
	Tier *countBatchTier `json:"tier"`
	// Fits is true when the API would create the batch: every request fits
	// its context window, and the batch fits Limits.
	Fits  bool     `json:"fits"`
	Notes []string `json:"notes"`
}

// countBatchInput is the batch's input estimate: without margins (Point)
// and reserved.
type countBatchInput struct {
	Point    int64 `json:"point"`
	Reserved int64 `json:"reserved"`
}

// countBatchOutput is the batch's output reservation.
type countBatchOutput struct {
	Reserved int64 `json:"reserved"`
}

// countBatchModel is how many requests of the batch ask one model.
type countBatchModel struct {
	Model    string `json:"model"`
	Requests int    `json:"requests"`
}

// countBatchItem is one request of the batch: Needed (its input estimate
// plus max_tokens) against Window, its model's context window;
// InputReserved and BodyBytes are zero for a request over its window,
// which is not estimated.
type countBatchItem struct {
	Index         int    `json:"index"`
	CustomID      string `json:"custom_id"`
	Model         string `json:"model"`
	Needed        int64  `json:"needed"`
	Window        int64  `json:"window"`
	InputReserved int64  `json:"input_reserved,omitempty"`
	BodyBytes     int64  `json:"body_bytes,omitempty"`
}

// countBatchLimits are the API's limits on one batch, and whether the
// batch fits them.
type countBatchLimits struct {
	MaxRequests int64 `json:"max_requests"`
	MaxBytes    int64 `json:"max_bytes"`
	Fits        bool  `json:"fits"`
}

// countBatchTier is the tier's Message Batches limits: RPM over all batch
// endpoints, and the requests its processing queue holds, of which the
// batch takes QueueShare.
type countBatchTier struct {
	Name           string  `json:"name"`
	RPM            int64   `json:"rpm"`
	QueuedRequests int64   `json:"queued_requests"`
	QueueShare     float64 `json:"queue_share"`
}

// countBatch estimates the create body data and prints the result. A bad
// request other than one over its context window is an error, as a bad
// body is.
func countBatch(e *env, f *countFlags, data []byte) error {
	est, err := tokencount.New()
	if err != nil {
		return err
	}
	b, err := est.EstimateAnthropicBatch(data)
	for _, it := range b.Items {
		if it.Err != nil && !overWindow(it.Err) {
			return countEstimateErr(it.Err)
		}
	}
	if tl, ok := errors.AsType[*tokencount.TooLargeError](err); err != nil && !overWindow(err) && !(ok && tl.What == tokencount.WhatBatchRequests) {
		return countEstimateErr(err)
	}
	r := &countBatchResult{Provider: string(tier.Anthropic), Input: "batch", Requests: b.Requests, Estimated: len(b.Items), BodyBytes: b.BodyBytes,
		Models: []countBatchModel{}, OverContextWindow: []countBatchItem{}, Notes: []string{}}
	r.fill(b)
	if err := r.tier(f); err != nil {
		return err
	}
	if f.asJSON {
		return writeJSON(e.stdout, r)
	}
	return writeCountBatch(e.stdout, r)
}

// overWindow reports whether err says a request exceeds its context window.
func overWindow(err error) bool {
	tl, ok := errors.AsType[*tokencount.TooLargeError](err)
	return ok && tl.What == tokencount.WhatContextWindow
}

// fill records the estimate b.
func (r *countBatchResult) fill(b tokencount.BatchEstimate) {
	models := map[string]int{}
	for i, it := range b.Items {
		if tl, ok := errors.AsType[*tokencount.TooLargeError](it.Err); ok {
			models[tl.Model]++
			r.OverContextWindow = append(r.OverContextWindow, countBatchItem{Index: i, CustomID: it.CustomID, Model: tl.Model, Needed: tl.Need, Window: tl.Limit})
			continue
		}
		es := it.Estimate
		models[es.Model]++
		r.InputTokens.Point += es.PointTokens
		if r.Largest == nil || es.InputTokens > r.Largest.InputReserved {
			r.Largest = &countBatchItem{Index: i, CustomID: it.CustomID, Model: es.Model, Needed: es.PointTokens + es.MaxTokens,
				Window: es.MaxInputTokens, InputReserved: es.InputTokens, BodyBytes: es.BodyBytes}
		}
	}
	r.InputTokens.Reserved, r.OutputTokens.Reserved = b.InputTokens, b.OutputReserve
	for _, m := range slices.Sorted(maps.Keys(models)) {
		r.Models = append(r.Models, countBatchModel{Model: m, Requests: models[m]})
	}
	r.Limits = countBatchLimits{MaxRequests: tokencount.MaxBatchRequests, MaxBytes: tokencount.MaxBatchBytes,
		Fits: r.Requests <= tokencount.MaxBatchRequests && r.BodyBytes <= tokencount.MaxBatchBytes}
	r.Fits = r.Limits.Fits && len(r.OverContextWindow) == 0
	if r.Estimated < r.Requests {
		r.Notes = append(r.Notes, fmt.Sprintf("only the first %s requests are estimated: the API refuses a batch of more", groupDigits(int64(r.Estimated))))
	}
	if r.BodyBytes > 256_000_000 && r.BodyBytes <= tokencount.MaxBatchBytes {
		r.Notes = append(r.Notes, "the body is above 256,000,000 bytes: if the API's 256 MB means decimal megabytes, it refuses the batch")
	}
	if len(r.OverContextWindow) > 0 {
		r.Notes = append(r.Notes, "context windows are the largest each model offers (long-context configurations included): a request over one can never succeed")
	}
}

// tier records the Message Batches limits of --tier or --config's tier.
func (r *countBatchResult) tier(f *countFlags) error {
	cfg, err := f.budget.load()
	if err != nil {
		return err
	}
	if cfg.Tier == "" {
		r.Notes = append(r.Notes, "the configuration names no tier: no batch limits to compare with")
		return nil
	}
	t, err := tier.LookupTier(tier.Anthropic, cfg.Tier)
	if err != nil {
		return usageErr("--tier %q: %w", cfg.Tier, err)
	}
	if t.Batches == (tier.BatchLimits{}) {
		r.Notes = append(r.Notes, fmt.Sprintf("tier %s publishes no batch limits", t.Name))
		return nil
	}
	r.Tier = &countBatchTier{Name: t.Name, RPM: t.Batches.RPM, QueuedRequests: t.Batches.QueuedRequests}
	if q := t.Batches.QueuedRequests; q > 0 {
		r.Tier.QueueShare = math.Round(float64(r.Requests)/float64(q)*1e6) / 1e6
		if int64(r.Requests) > q {
			r.Notes = append(r.Notes, fmt.Sprintf("more requests than the %s processing queue holds (%s): the API takes the batch only when the queue has room", t.Name, groupDigits(q)))
		}
	}
	return nil
}

// writeCountBatch prints r as text.
func writeCountBatch(w io.Writer, r *countBatchResult) error {
	var b strings.Builder
	line := func(key, format string, args ...any) {
		fmt.Fprintf(&b, "%-10s%s\n", key+":", fmt.Sprintf(format, args...))
	}
	more := strings.Repeat(" ", 10)
	line("input", "a Message Batches create body, %s %s, %s bytes", groupDigits(int64(r.Requests)), plural(r.Requests, "request"), groupDigits(r.BodyBytes))
	var models []string
	for _, m := range r.Models {
		models = append(models, fmt.Sprintf("%s (%s)", m.Model, groupDigits(int64(m.Requests))))
	}
	line("models", "%s", strings.Join(models, ", "))
	of := ""
	if n := r.Estimated - len(r.OverContextWindow); n < r.Requests {
		of = fmt.Sprintf(", of the %s %s that fit", groupDigits(int64(n)), plural(n, "request"))
	}
	line("tokens", "input %s reserved (estimate %s + margins%s)", groupDigits(r.InputTokens.Reserved), groupDigits(r.InputTokens.Point), of)
	b.WriteString(more + fmt.Sprintf("output %s reserved (the requests' max_tokens%s)\n", groupDigits(r.OutputTokens.Reserved), of))
	if l := r.Largest; l != nil {
		line("largest", "requests[%d] (custom_id %q, %s): input %s reserved, %s bytes", l.Index, l.CustomID, l.Model, groupDigits(l.InputReserved), groupDigits(l.BodyBytes))
	}
	if n := len(r.OverContextWindow); n == 0 {
		line("context", "every request fits its model's context window")
	} else {
		line("context", "%d %s over %s model's context window:", n, plural(n, "request"), map[bool]string{true: "its", false: "their"}[n == 1])
		for _, it := range r.OverContextWindow[:min(n, countBatchShown)] {
			fmt.Fprintf(&b, "%s  requests[%d] (custom_id %q, %s): %s of %s tokens (estimate + max_tokens)\n",
				more, it.Index, it.CustomID, it.Model, groupDigits(it.Needed), groupDigits(it.Window))
		}
		if n > countBatchShown {
			fmt.Fprintf(&b, "%s  and %d more (--json lists them all)\n", more, n-countBatchShown)
		}
	}
	fit := "fits"
	if !r.Limits.Fits {
		fit = "does not fit"
	}
	line("limits", "%s of %s requests, %s of %s bytes: %s", groupDigits(int64(r.Requests)), groupDigits(r.Limits.MaxRequests),
		groupDigits(r.BodyBytes), groupDigits(r.Limits.MaxBytes), fit)
	if t := r.Tier; t != nil {
		line("tier", "%s: %s RPM over all batch endpoints; this batch is %s of the %s requests its processing queue holds",
			t.Name, groupDigits(t.RPM), countPercent(t.QueueShare), groupDigits(t.QueuedRequests))
	}
	b.WriteString("\n")
	var why []string
	if n := len(r.OverContextWindow); n > 0 {
		why = append(why, fmt.Sprintf("%d %s over %s context window", n, plural(n, "request"), map[bool]string{true: "its", false: "their"}[n == 1]))
	}
	if r.Requests > tokencount.MaxBatchRequests {
		why = append(why, fmt.Sprintf("more than %s requests", groupDigits(tokencount.MaxBatchRequests)))
	}
	if r.BodyBytes > tokencount.MaxBatchBytes {
		why = append(why, fmt.Sprintf("more than %s bytes", groupDigits(tokencount.MaxBatchBytes)))
	}
	if len(why) == 0 {
		line("verdict", "the API would create this batch")
	} else {
		line("verdict", "the API would refuse this batch: %s", strings.Join(why, "; "))
	}
	writeNotes(&b, r.Notes)
	_, err := io.WriteString(w, b.String())
	return err
}

// plural is word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
