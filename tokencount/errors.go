package tokencount

import (
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed is matched (with errors.Is) by every error that reports a request body
// that is not valid JSON or does not have the shape of the API's request. The concrete
// error is a *MalformedError.
var ErrMalformed = errors.New("tokencount: malformed request body")

// ErrTooLarge is matched (with errors.Is) by every error that reports a request that
// can never succeed because of its size. The concrete error is a *TooLargeError.
var ErrTooLarge = errors.New("tokencount: request too large")

// MalformedError reports a request body that cannot be estimated. It matches
// ErrMalformed.
type MalformedError struct {
	// Path locates the offending value, in a JSONPath-like form such as
	// "messages[2].content[0].source"; it is empty for syntax errors.
	Path string
	// Offset is the byte offset in the body where the problem was found.
	Offset int
	// Reason says what is wrong, e.g. "expected string or array".
	Reason string
}

// Error implements error.
func (e *MalformedError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("tokencount: malformed request body: %s: %s (at byte %d)", e.Path, e.Reason, e.Offset)
	}
	return fmt.Sprintf("tokencount: malformed request body: %s (at byte %d)", e.Reason, e.Offset)
}

// Unwrap returns ErrMalformed.
func (e *MalformedError) Unwrap() error { return ErrMalformed }

// What values of TooLargeError.
const (
	// WhatContextWindow: estimated input tokens plus max_tokens exceed the model's
	// context window.
	WhatContextWindow = "context_window"
	// WhatBodyBytes: the request body exceeds the API's request size limit.
	WhatBodyBytes = "body_bytes"
	// WhatOutputTokens: max_tokens × n (the output the request may produce
	// over all choices) exceeds MaxOutputTokens, more than any budget holds.
	WhatOutputTokens = "output_tokens"
	// WhatBatchRequests: a Message Batches create body holds more than
	// MaxBatchRequests requests.
	WhatBatchRequests = "batch_requests"
)

// TooLargeError reports a request that can never succeed, whatever the rate-limit
// budget: it matches ErrTooLarge.
type TooLargeError struct {
	// What names the exceeded limit: WhatContextWindow, WhatBodyBytes,
	// WhatOutputTokens or WhatBatchRequests.
	What string
	// Model is the request's model ID (empty when the body was not parsed).
	Model string
	// Need is the request's size: tokens (input estimate without safety margin plus
	// max_tokens) for WhatContextWindow, bytes for WhatBodyBytes, max_tokens × n
	// for WhatOutputTokens (math.MaxInt64 when the product overflows), requests
	// for WhatBatchRequests.
	Need int64
	// Limit is the limit that Need exceeds, in the same unit.
	Limit int64
}

// Error implements error.
func (e *TooLargeError) Error() string {
	unit := "tokens"
	switch e.What {
	case WhatBodyBytes:
		unit = "bytes"
	case WhatBatchRequests:
		unit = "requests"
	}
	if e.Model != "" {
		return fmt.Sprintf("tokencount: request too large for %s: %s needs %d %s, limit %d", e.Model, e.What, e.Need, unit, e.Limit)
	}
	return fmt.Sprintf("tokencount: request too large: %s needs %d %s, limit %d", e.What, e.Need, unit, e.Limit)
}

// Unwrap returns ErrTooLarge.
func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// BatchItemError reports a request of a Message Batches create body that the
// API would refuse, and with it the whole batch. It unwraps to Err, so it
// matches what Err matches (ErrMalformed or ErrTooLarge), and errors.As finds
// Err's *MalformedError or *TooLargeError through it as well as the
// *BatchItemError itself.
type BatchItemError struct {
	// Index is the request's position in the body's "requests" array, from 0.
	Index int
	// CustomID is the request's custom_id as sent (JSON escapes decoded); empty
	// when it has none or it is not a string.
	CustomID string
	// Err says what is wrong. A *MalformedError locates the problem in the
	// whole create body: its Path starts with the request's, as in
	// "requests[3].params.messages[0].content" or "requests[3].custom_id", and
	// its Offset counts from the start of the body. A *TooLargeError is a
	// params body that can never succeed (its model's context window, its
	// output bound).
	Err error
}

// Error implements error.
func (e *BatchItemError) Error() string {
	id := ""
	if e.CustomID != "" {
		s := e.CustomID
		if len(s) > 64 { // not a valid one: enough of it to recognise
			s = s[:64] + "…"
		}
		id = fmt.Sprintf(" (custom_id %q)", s)
	}
	what := "invalid"
	if e.Err != nil {
		what = strings.TrimPrefix(e.Err.Error(), "tokencount: ")
	}
	return fmt.Sprintf("tokencount: batch request %d%s: %s", e.Index, id, what)
}

// Unwrap returns Err.
func (e *BatchItemError) Unwrap() error { return e.Err }
