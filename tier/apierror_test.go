package tier

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseErrorBody(t *testing.T) {
	for _, tc := range []struct {
		name     string
		p        Provider
		status   int
		body     string
		want     APIError // Provider and Status are filled in
		rl, over bool
	}{
		{"anthropic details inside error", Anthropic, 429,
			`{"type":"error","error":{"type":"rate_limit_error","message":"spend cap","details":{"error_code":"enforced_spend_limit_reached"}}}`,
			APIError{Type: "rate_limit_error", Code: "enforced_spend_limit_reached", Message: "spend cap", SpendLimit: true}, false, false},
		{"anthropic details at top level", Anthropic, 429,
			`{"type":"error","error":{"type":"rate_limit_error","message":"m"},"details":{"error_code":"enforced_spend_limit_reached"}}`,
			APIError{Type: "rate_limit_error", Code: "enforced_spend_limit_reached", Message: "m", SpendLimit: true}, false, false},
		{"anthropic user spend limit", Anthropic, 400,
			`{"type":"error","error":{"type":"invalid_request_error","message":"You have reached your specified API usage limits. You will regain access on 2026-08-01 at 00:00 UTC."}}`,
			APIError{Type: "invalid_request_error", Message: "You have reached your specified API usage limits. You will regain access on 2026-08-01 at 00:00 UTC.", SpendLimit: true}, false, false},
		{"anthropic 2025 wording", Anthropic, 429,
			`{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization (org) of 40,000 input tokens per minute."}}`,
			APIError{Type: "rate_limit_error", Message: "This request would exceed the rate limit for your organization (org) of 40,000 input tokens per minute.",
				Dimension: ITPM, HasDimension: true, Limit: 40000}, true, false},
		{"anthropic output tokens", Anthropic, 429,
			`{"type":"error","error":{"type":"rate_limit_error","message":"exceeds your organization's rate limit of 8,000 output tokens per minute"}}`,
			APIError{Type: "rate_limit_error", Message: "exceeds your organization's rate limit of 8,000 output tokens per minute",
				Dimension: OTPM, HasDimension: true, Limit: 8000}, true, false},
		{"anthropic stream error event", Anthropic, 200,
			`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			APIError{Type: "overloaded_error", Message: "Overloaded"}, false, true},
		{"anthropic new type", Anthropic, 402,
			`{"type":"error","error":{"type":"billing_error","message":"m","new_field":[1,2]},"request_id":"req_1"}`,
			APIError{Type: "billing_error", Message: "m", RequestID: "req_1"}, false, false},
		{"openai seconds hint", OpenAI, 429,
			`{"error":{"message":"Rate limit reached for gpt-4o on requests per day (RPD): Limit 10000, Used 10000, Requested 1. Please try again in 1m26.4s.","type":"requests","code":"rate_limit_exceeded"}}`,
			APIError{Type: "requests", Code: "rate_limit_exceeded", RetryHint: 86400 * time.Millisecond, Dimension: RPD, HasDimension: true,
				Limit: 10000, Used: 10000, Requested: 1,
				Message: "Rate limit reached for gpt-4o on requests per day (RPD): Limit 10000, Used 10000, Requested 1. Please try again in 1m26.4s."}, true, false},
		{"openai azure retry after", OpenAI, 429,
			`{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded call rate limit. Please retry after 20 seconds."}}`,
			APIError{Code: "429", RetryHint: 20 * time.Second,
				Message: "Requests to the ChatCompletions_Create Operation have exceeded call rate limit. Please retry after 20 seconds."}, true, false},
		{"openai numeric code", OpenAI, 429, `{"error":{"message":"m","type":null,"code":429}}`,
			APIError{Code: "429", Message: "m"}, true, false},
		{"openai quota by type only", OpenAI, 429, `{"error":{"message":"m","type":"insufficient_quota","code":null}}`,
			APIError{Type: "insufficient_quota", Message: "m", InsufficientQuota: true}, false, false},
	} {
		got, err := ParseErrorBody(tc.p, tc.status, []byte(tc.body))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		tc.want.Provider, tc.want.Status = tc.p, tc.status
		if *got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, *got, tc.want)
		}
		if got.RateLimited() != tc.rl || got.Overloaded() != tc.over {
			t.Errorf("%s: RateLimited, Overloaded = %v, %v; want %v, %v", tc.name, got.RateLimited(), got.Overloaded(), tc.rl, tc.over)
		}
	}
}

func TestParseErrorBodyBad(t *testing.T) {
	for _, body := range []string{"", "   ", "<html>502</html>", `{"message":"no error object"}`, `{"error":"a string"}`, `[]`, `null`} {
		for _, p := range []Provider{Anthropic, OpenAI} {
			got, err := ParseErrorBody(p, 502, []byte(body))
			if !errors.Is(err, ErrBadErrorBody) || got == nil || got.Status != 502 || got.Provider != p {
				t.Errorf("ParseErrorBody(%s, %q) = %+v, %v; want status-only APIError and ErrBadErrorBody", p, body, got, err)
			}
		}
	}
	if _, err := ParseErrorBody("azure", 429, []byte(`{}`)); !errors.Is(err, ErrUnknownProvider) {
		t.Errorf("unknown provider: %v", err)
	}
	big := `{"error":{"message":"` + strings.Repeat("a", MaxErrorBody) + `"}}`
	if _, err := ParseErrorBody(OpenAI, 429, []byte(big)); !errors.Is(err, ErrBadErrorBody) {
		t.Errorf("oversized body: %v", err)
	}
}

func TestAPIErrorString(t *testing.T) {
	e := &APIError{Provider: OpenAI, Status: 429, Type: "tokens", Code: "rate_limit_exceeded", Message: strings.Repeat("x", 300)}
	s := e.Error()
	if !strings.HasPrefix(s, "openai API error 429 tokens (rate_limit_exceeded): xxx") || len(s) > 260 {
		t.Errorf("Error() = %q", s)
	}
	var err error = e
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Error("errors.As failed")
	}
}
