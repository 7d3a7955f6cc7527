package tokencount

import (
	"errors"
	"fmt"
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
)

// TooLargeError reports a request that can never succeed, whatever the rate-limit
// budget: it matches ErrTooLarge.
type TooLargeError struct {
	// What names the exceeded limit: WhatContextWindow, WhatBodyBytes or
	// WhatOutputTokens.
	What string
	// Model is the request's model ID (empty when the body was not parsed).
	Model string
	// Need is the request's size: tokens (input estimate without safety margin plus
	// max_tokens) for WhatContextWindow, bytes for WhatBodyBytes, max_tokens × n
	// for WhatOutputTokens (math.MaxInt64 when the product overflows).
	Need int64
	// Limit is the limit that Need exceeds, in the same unit.
	Limit int64
}

// Error implements error.
func (e *TooLargeError) Error() string {
	unit := "tokens"
	if e.What == WhatBodyBytes {
		unit = "bytes"
	}
	if e.Model != "" {
		return fmt.Sprintf("tokencount: request too large for %s: %s needs %d %s, limit %d", e.Model, e.What, e.Need, unit, e.Limit)
	}
	return fmt.Sprintf("tokencount: request too large: %s needs %d %s, limit %d", e.What, e.Need, unit, e.Limit)
}

// Unwrap returns ErrTooLarge.
func (e *TooLargeError) Unwrap() error { return ErrTooLarge }
