package simapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/ratekeeper/ratekeeper/tier"
)

// messagesRequest is what the server needs from a Messages request.
type messagesRequest struct {
	Model     string
	MaxTokens int64
	Stream    bool
}

// parseMessages validates an Anthropic Messages (or count_tokens, when generate is false)
// body and returns the fields the server uses, or an invalid_request_error message.
func parseMessages(body []byte, generate bool) (messagesRequest, string) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return messagesRequest{}, "The request body is not valid JSON."
	}
	var req messagesRequest
	var ok bool
	if req.Model, ok = rawString(m["model"]); !ok || req.Model == "" {
		return req, "model: Field required"
	}
	switch n := rawArrayLen(m["messages"]); {
	case n < 0:
		return req, "messages: Field required"
	case n == 0:
		return req, "messages: at least one message is required"
	}
	if !generate {
		return req, ""
	}
	if _, present := m["max_tokens"]; !present {
		return req, "max_tokens: Field required"
	}
	if req.MaxTokens, ok = rawInt(m["max_tokens"]); !ok {
		return req, "max_tokens: Input should be a valid integer"
	}
	if req.MaxTokens < 1 {
		return req, "max_tokens: Input should be greater than or equal to 1"
	}
	if req.MaxTokens > MaxOutputTokens {
		return req, fmt.Sprintf("max_tokens: %d > %d, which is the maximum allowed number of output tokens for %s",
			req.MaxTokens, MaxOutputTokens, req.Model)
	}
	if req.Stream, ok = rawBool(m["stream"]); !ok {
		return req, "stream: Input should be a valid boolean"
	}
	return req, ""
}

// anthropicKey returns the API key of an Anthropic request: x-api-key, or a bearer token.
func anthropicKey(r *http.Request) string {
	if k := r.Header.Get("x-api-key"); k != "" {
		return k
	}
	return bearer(r)
}

// readAnthropic does the checks common to both Anthropic routes. On failure it has written
// the error response and returns ok false.
func (s *Server) readAnthropic(w http.ResponseWriter, r *http.Request, reqID string, generate bool) (key string, body []byte, req messagesRequest, cl *Class, input int64, ok bool) {
	fail := func(key, class string, status int, typ, msg string) {
		s.ledger.outcome(key, class, Rejected)
		writeAnthropicError(w, reqID, status, typ, msg, nil)
	}
	if r.Method != http.MethodPost {
		fail("", "", http.StatusMethodNotAllowed, "invalid_request_error", "Method Not Allowed")
		return
	}
	if key = anthropicKey(r); key == "" {
		fail("", "", http.StatusUnauthorized, "authentication_error", "x-api-key header is required")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			fail(key, "", http.StatusRequestEntityTooLarge, "request_too_large", "Request exceeds the maximum allowed number of bytes.")
		} else {
			fail(key, "", http.StatusBadRequest, "invalid_request_error", "could not read the request body")
		}
		return
	}
	req, msg := parseMessages(body, generate)
	if msg != "" {
		fail(key, "", http.StatusBadRequest, "invalid_request_error", msg)
		return
	}
	cl, found := classFor(s.classes, tier.Anthropic, req.Model)
	if !found {
		fail(key, "", http.StatusNotFound, "not_found_error", "model: "+req.Model)
		return
	}
	input, err = s.InputTokens(tier.Anthropic, body)
	if err != nil {
		s.setRateHeaders(w.Header(), key, cl)
		fail(key, cl.Name, http.StatusBadRequest, "invalid_request_error", err.Error())
		return
	}
	return key, body, req, cl, input, true
}

// messages serves POST /v1/messages.
func (s *Server) messages(w http.ResponseWriter, r *http.Request) {
	reqID := s.requestID()
	w.Header().Set("request-id", reqID)
	key, body, req, cl, input, ok := s.readAnthropic(w, r, reqID, true)
	if !ok {
		return
	}
	a, ref := s.admit(key, cl, input, req.MaxTokens, 1)
	if ref != nil {
		s.ledger.outcome(key, cl.Name, ref.outcome)
		s.setRateHeaders(w.Header(), key, cl)
		switch ref.outcome {
		case SpendLimited:
			writeAnthropicError(w, reqID, http.StatusTooManyRequests, "rate_limit_error",
				"Your organization has reached its monthly spend limit. Access resumes when the limit resets or is raised.",
				map[string]any{"error_code": "enforced_spend_limit_reached"})
		case Overloaded:
			w.Header().Set("x-should-retry", "true")
			writeAnthropicError(w, reqID, 529, "overloaded_error", "Overloaded", nil)
		default:
			w.Header().Set("retry-after", strconv.FormatInt(retryAfterSeconds(ref.wait), 10))
			w.Header().Set("x-should-retry", "true")
			writeAnthropicError(w, reqID, http.StatusTooManyRequests, "rate_limit_error", fmt.Sprintf(
				"This request would exceed your organization's rate limit of %s %s (org: sim-org, model: %s). "+
					"For details, refer to: https://docs.claude.com/en/api/rate-limits.",
				fmtInt(ref.limit), ref.dim, req.Model), nil)
		}
		return
	}
	s.ledger.outcome(key, cl.Name, Admitted)
	n := s.OutputTokens(r.Header, body, req.MaxTokens)
	stop := stopReason(n, req.MaxTokens)
	msgID := messageID(reqID)
	usage := func(out int64) map[string]any { return messageUsage(a.input, out) }
	if !req.Stream {
		produced := s.generate(r.Context(), a, n, nil)
		s.finish(a, produced)
		if produced < n {
			return // the client went away or the server closed
		}
		s.setRateHeaders(w.Header(), key, cl)
		writeJSON(w, http.StatusOK, message(msgID, req.Model, a.input, n, req.MaxTokens, "standard"))
		return
	}

	h := w.Header()
	s.setRateHeaders(h, key, cl)
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(event string, data any) error {
		b, err := json.Marshal(data)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		return nil
	}
	err := errors.Join(
		send("message_start", map[string]any{"type": "message_start", "message": map[string]any{
			"id": msgID, "type": "message", "role": "assistant", "model": req.Model,
			"content": []any{}, "stop_reason": nil, "stop_sequence": nil, "usage": usage(1),
		}}),
		send("content_block_start", map[string]any{"type": "content_block_start", "index": 0,
			"content_block": map[string]any{"type": "text", "text": ""}}),
		send("ping", map[string]any{"type": "ping"}),
	)
	if err != nil {
		s.finish(a, 0)
		return
	}
	var sent, steps int64
	produced := s.generate(r.Context(), a, n, func(k int64) error {
		text := filler(k, sent)
		sent += k
		steps++
		if err := send("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "text_delta", "text": text}}); err != nil {
			return err
		}
		if steps%8 == 0 {
			return send("ping", map[string]any{"type": "ping"})
		}
		return nil
	})
	s.finish(a, produced)
	if produced < n {
		return // cut: no message_stop, as when a connection drops
	}
	_ = errors.Join(
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}),
		send("message_delta", map[string]any{"type": "message_delta",
			"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil}, "usage": usage(n)}),
		send("message_stop", map[string]any{"type": "message_stop"}),
	)
}

// countTokens serves POST /v1/messages/count_tokens. It is limited only by
// Config.CountTokensRPM, charges nothing to the Messages buckets, and records only its
// Rejected outcomes in the ledger.
func (s *Server) countTokens(w http.ResponseWriter, r *http.Request) {
	reqID := s.requestID()
	w.Header().Set("request-id", reqID)
	key, _, _, _, input, ok := s.readAnthropic(w, r, reqID, false)
	if !ok {
		return
	}
	if rpm := s.cfg.CountTokensRPM; rpm > 0 {
		s.mu.Lock()
		now := time.Now()
		b := s.counts[key]
		if b == nil {
			nb := newBucket(rpm, s.cfg.Burst, now)
			b = &nb
			s.counts[key] = b
		}
		b.advance(now)
		fits, wait, _ := b.check(1)
		if fits {
			b.take(1)
		}
		h := w.Header()
		h.Set("anthropic-ratelimit-requests-limit", strconv.FormatInt(rpm, 10))
		h.Set("anthropic-ratelimit-requests-remaining", strconv.FormatInt(b.remaining(), 10))
		h.Set("anthropic-ratelimit-requests-reset", resetTime(now, b.untilFull()))
		s.mu.Unlock()
		if !fits {
			h.Set("retry-after", strconv.FormatInt(retryAfterSeconds(wait), 10))
			writeAnthropicError(w, reqID, http.StatusTooManyRequests, "rate_limit_error", fmt.Sprintf(
				"This request would exceed your organization's rate limit of %s token counting requests per minute.", fmtInt(rpm)), nil)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"input_tokens": input})
}

// messageID returns the id of the message answered to the request reqID.
func messageID(reqID string) string { return "msg_sim" + reqID[len("req_sim"):] }

// stopReason is "max_tokens" when the output filled max_tokens, else "end_turn".
func stopReason(output, maxTokens int64) string {
	if output == maxTokens {
		return "max_tokens"
	}
	return "end_turn"
}

// messageUsage is the usage object of a message of input and output tokens.
func messageUsage(input, output int64) map[string]any {
	return map[string]any{
		"input_tokens":                input,
		"cache_creation_input_tokens": 0,
		"cache_read_input_tokens":     0,
		"output_tokens":               output,
	}
}

// message is a whole (non-streamed) Message of output tokens of filler text, as answered on
// service tier tier ("standard", or "batch" in batch results).
func message(id, model string, input, output, maxTokens int64, tier string) map[string]any {
	u := messageUsage(input, output)
	u["service_tier"] = tier
	return map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model,
		"content":       []any{map[string]any{"type": "text", "text": filler(output, 0)}},
		"stop_reason":   stopReason(output, maxTokens),
		"stop_sequence": nil,
		"usage":         u,
	}
}
