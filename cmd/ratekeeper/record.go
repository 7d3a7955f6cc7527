package main

import (
	"encoding/json"
	"time"
)

// Outcomes of a request, as Record.Status says them.
const (
	statusSucceeded = "succeeded" // the API answered 2xx
	statusFailed    = "failed"    // the API (or the network) refused it for good, after the retries
	statusInvalid   = "invalid"   // never sent: the line is malformed, the API would reject it, or it can never fit the budget
)

// Record is one line of --out: what became of one request. Times are
// wall-clock instants; durations are milliseconds.
type Record struct {
	// ID is the request's custom_id, or "line-N" for a line without one.
	ID string `json:"id"`
	// Line is the request's line number in the input file, from 1.
	Line int `json:"line"`
	// Status is succeeded, failed or invalid.
	Status string `json:"status"`
	// HTTPStatus is the last attempt's HTTP status; 0 when none answered.
	HTTPStatus int `json:"http_status,omitempty"`
	// Model is the request's model.
	Model string `json:"model,omitempty"`
	// Usage is the usage the response reported (succeeded only).
	Usage *Usage `json:"usage,omitempty"`
	// Response is the API's response body: the JSON message (for a
	// streamed request, the message the stream assembled).
	Response json.RawMessage `json:"response,omitempty"`
	// Error says why the request failed or is invalid.
	Error *RecordError `json:"error,omitempty"`
	// Attempts is the number of attempts sent; RateLimited and Overloaded
	// count the 429 and 529 (OpenAI: 503) answers among them.
	Attempts    int `json:"attempts"`
	RateLimited int `json:"rate_limited,omitempty"`
	Overloaded  int `json:"overloaded,omitempty"`
	// Tries lists the attempts when there was more than one: when each
	// left and the status it was answered (0: none, a connection error).
	Tries []Try `json:"tries,omitempty"`
	// BatchID is the Message Batch that answered the request (--mode
	// batch); Attempts then counts its submissions.
	BatchID string `json:"batch_id,omitempty"`
	// Estimate is what the request was priced at before it was sent:
	// input tokens (with the margin) and the output reservation.
	Estimate *Usage `json:"estimate,omitempty"`
	// QueuedAt is when the request was handed to the Keeper, SentAt when
	// its first attempt went on the wire, DoneAt when it ended.
	QueuedAt time.Time `json:"queued_at"`
	SentAt   time.Time `json:"sent_at,omitzero"`
	DoneAt   time.Time `json:"done_at"`
	// WaitedMS is the time spent not on the wire: waiting for the budget
	// and a concurrency slot, and the backoffs between attempts.
	WaitedMS int64 `json:"waited_ms"`
	// LatencyMS is the time from QueuedAt to DoneAt.
	LatencyMS int64 `json:"latency_ms"`
}

// Try is one attempt of a request.
type Try struct {
	At     time.Time `json:"at"`
	Status int       `json:"status,omitempty"`
}

// Usage is a request's token usage (or estimate). For OpenAI, InputTokens
// is prompt_tokens and OutputTokens completion_tokens.
type Usage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens,omitempty"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens,omitempty"`
}

// RecordError is why a request failed: the API's error type and message
// (rate_limit_error, overloaded_error, invalid_request_error…), or one of
// ratekeeper's: "malformed" (the line), "too_large" (it can never fit),
// "refused" (the budget could not take it in time), "connection" (no answer),
// "interrupted" (cancelled after it was sent).
type RecordError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}
