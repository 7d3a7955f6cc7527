package simapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ratekeeper/ratekeeper/tier"
)

// chatRequest is what the server needs from a Chat Completions request.
type chatRequest struct {
	Model        string
	MaxTokens    int64 // max_completion_tokens, else max_tokens, else DefaultOpenAIMaxTokens
	N            int64
	Stream       bool
	IncludeUsage bool
}

// parseChat validates a Chat Completions body, returning an error message if invalid.
func parseChat(body []byte) (chatRequest, string) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return chatRequest{}, "We could not parse the JSON body of your request."
	}
	req := chatRequest{MaxTokens: DefaultOpenAIMaxTokens, N: 1}
	var ok bool
	if req.Model, ok = rawString(m["model"]); !ok || req.Model == "" {
		return req, "you must provide a model parameter"
	}
	switch n := rawArrayLen(m["messages"]); {
	case n < 0:
		return req, "Missing required parameter: 'messages'."
	case n == 0:
		return req, "Invalid 'messages': empty array. Expected an array with minimum length 1."
	}
	for _, f := range []string{"max_tokens", "max_completion_tokens"} {
		raw, present := m[f]
		if !present || string(raw) == "null" {
			continue
		}
		n, ok := rawInt(raw)
		if !ok || n < 1 || n > MaxOutputTokens {
			return req, fmt.Sprintf("Invalid '%s': expected an integer between 1 and %d.", f, MaxOutputTokens)
		}
		req.MaxTokens = n
	}
	if raw, present := m["n"]; present && string(raw) != "null" {
		n, ok := rawInt(raw)
		if !ok || n < 1 || n > 128 {
			return req, "Invalid 'n': expected an integer between 1 and 128."
		}
		req.N = n
	}
	if req.Stream, ok = rawBool(m["stream"]); !ok {
		return req, "Invalid type for 'stream': expected a boolean."
	}
	if raw, present := m["stream_options"]; present && string(raw) != "null" {
		var so struct {
			IncludeUsage bool `json:"include_usage"`
		}
		if json.Unmarshal(raw, &so) != nil {
			return req, "Invalid 'stream_options': expected an object."
		}
		req.IncludeUsage = so.IncludeUsage
	}
	return req, ""
}

// chatCompletions serves POST /v1/chat/completions.
func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	reqID := s.requestID()
	w.Header().Set("x-request-id", reqID)
	reject := func(key, class string, status int, typ, code, msg string) {
		s.ledger.outcome(key, class, Rejected)
		writeOpenAIError(w, status, typ, code, msg)
	}
	if r.Method != http.MethodPost {
		reject("", "", http.StatusMethodNotAllowed, "invalid_request_error", "", "Method Not Allowed")
		return
	}
	key := bearer(r)
	if key == "" {
		reject("", "", http.StatusUnauthorized, "invalid_request_error", "",
			"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth.")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			reject(key, "", http.StatusRequestEntityTooLarge, "invalid_request_error", "", "Request too large.")
		} else {
			reject(key, "", http.StatusBadRequest, "invalid_request_error", "", "Could not read the request body.")
		}
		return
	}
	req, msg := parseChat(body)
	if msg != "" {
		reject(key, "", http.StatusBadRequest, "invalid_request_error", "", msg)
		return
	}
	cl, found := classFor(s.classes, tier.OpenAI, req.Model)
	if !found {
		reject(key, "", http.StatusNotFound, "invalid_request_error", "model_not_found",
			fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", req.Model))
		return
	}
	input, err := s.InputTokens(tier.OpenAI, body)
	if err != nil {
		s.setRateHeaders(w.Header(), key, cl)
		reject(key, cl.Name, http.StatusBadRequest, "invalid_request_error", "", err.Error())
		return
	}
	a, ref := s.admit(key, cl, input, req.MaxTokens, req.N)
	if ref != nil {
		s.ledger.outcome(key, cl.Name, ref.outcome)
		s.setRateHeaders(w.Header(), key, cl)
		switch ref.outcome {
		case SpendLimited:
			writeOpenAIError(w, http.StatusTooManyRequests, "insufficient_quota", "insufficient_quota",
				"You exceeded your current quota, please check your plan and billing details.")
		case Overloaded:
			writeOpenAIError(w, http.StatusServiceUnavailable, "server_error", "",
				"The server is overloaded or not ready yet.")
		default:
			typ, unit := "tokens", "tokens per min (TPM)"
			if ref.dim == "requests per min (RPM)" {
				typ, unit = "requests", ref.dim
			}
			writeOpenAIError(w, http.StatusTooManyRequests, typ, "rate_limit_exceeded", fmt.Sprintf(
				"Rate limit reached for %s in organization org-sim on %s: Limit %d, Used %d, Requested %d. "+
					"Please try again in %s. Visit https://platform.openai.com/account/rate-limits to learn more.",
				req.Model, unit, ref.limit, max(0, ref.limit-ref.level), ref.need, openAIDuration(ref.wait)))
		}
		return
	}
	s.ledger.outcome(key, cl.Name, Admitted)
	n := s.OutputTokens(r.Header, body, req.MaxTokens)
	finish := "stop"
	if n == req.MaxTokens {
		finish = "length"
	}
	id := "chatcmpl-sim" + reqID[len("req_sim"):]
	created := time.Now().Unix()
	usage := map[string]any{
		"prompt_tokens":             a.input,
		"completion_tokens":         n * req.N,
		"total_tokens":              a.input + n*req.N,
		"prompt_tokens_details":     map[string]any{"cached_tokens": 0, "audio_tokens": 0},
		"completion_tokens_details": map[string]any{"reasoning_tokens": 0, "audio_tokens": 0},
	}
	if !req.Stream {
		produced := s.generate(r.Context(), a, n, nil)
		s.finish(a, produced)
		if produced < n {
			return
		}
		choices := make([]any, req.N)
		for i := range choices {
			choices[i] = map[string]any{"index": i, "finish_reason": finish, "logprobs": nil,
				"message": map[string]any{"role": "assistant", "content": filler(n, 0), "refusal": nil}}
		}
		s.setRateHeaders(w.Header(), key, cl)
		writeJSON(w, http.StatusOK, map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": req.Model,
			"system_fingerprint": "fp_sim", "choices": choices, "usage": usage,
		})
		return
	}

	h := w.Header()
	s.setRateHeaders(h, key, cl)
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	write := func(s string) error {
		if _, err := io.WriteString(w, s); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		return nil
	}
	chunk := func(choices []any, u any) error {
		c := map[string]any{"id": id, "object": "chat.completion.chunk", "created": created,
			"model": req.Model, "system_fingerprint": "fp_sim", "choices": choices}
		if req.IncludeUsage {
			c["usage"] = u
		}
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		return write("data: " + string(b) + "\n\n")
	}
	each := func(delta map[string]any, finish any) []any {
		cs := make([]any, req.N)
		for i := range cs {
			cs[i] = map[string]any{"index": i, "delta": delta, "logprobs": nil, "finish_reason": finish}
		}
		return cs
	}
	if err := chunk(each(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil), nil); err != nil {
		s.finish(a, 0)
		return
	}
	var sent int64
	produced := s.generate(r.Context(), a, n, func(k int64) error {
		text := filler(k, sent)
		sent += k
		return chunk(each(map[string]any{"content": text}, nil), nil)
	})
	s.finish(a, produced)
	if produced < n {
		return
	}
	if chunk(each(map[string]any{}, finish), nil) != nil {
		return
	}
	if req.IncludeUsage && chunk([]any{}, usage) != nil {
		return
	}
	_ = write("data: [DONE]\n\n")
}
