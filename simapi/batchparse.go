package simapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"

	"github.com/ratekeeper/ratekeeper/tier"
)

// customIDPattern is what a batch request's custom_id must match.
var customIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// batchRequest is one entry of a batch create body.
type batchRequest struct {
	CustomID string
	Params   json.RawMessage // a JSON object, not otherwise checked
}

// parseBatchCreate validates a batch create body, {"requests": [{"custom_id": …,
// "params": {…}}, …]}, holding at most maxRequests requests, and returns its requests, or
// an invalid_request_error message. It checks the envelope only: each custom_id (its
// pattern, and that no two are equal) and that params is an object. What params hold is
// checked when the request is processed, as the real API does.
func parseBatchCreate(body []byte, maxRequests int64) ([]batchRequest, string) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, "The request body is not valid JSON."
	}
	raw, present := top["requests"]
	if !present {
		return nil, "requests: Field required"
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, "requests: Input should be a valid list"
	}
	switch n := int64(len(list)); {
	case n == 0:
		return nil, "requests: List should have at least 1 item after validation, not 0"
	case n > maxRequests:
		return nil, fmt.Sprintf("requests: List should have at most %d items after validation, not %d", maxRequests, n)
	}
	out := make([]batchRequest, len(list))
	seen := make(map[string]int, len(list))
	for i, e := range list {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(e, &m); err != nil || m == nil {
			return nil, fmt.Sprintf("requests.%d: Input should be a valid dictionary", i)
		}
		id, ok := rawString(m["custom_id"])
		switch {
		case m["custom_id"] == nil:
			return nil, fmt.Sprintf("requests.%d.custom_id: Field required", i)
		case !ok:
			return nil, fmt.Sprintf("requests.%d.custom_id: Input should be a valid string", i)
		case !customIDPattern.MatchString(id):
			return nil, fmt.Sprintf("requests.%d.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'", i)
		}
		if j, dup := seen[id]; dup {
			return nil, fmt.Sprintf("requests.%d.custom_id: %q is also the custom_id of requests.%d; custom_id must be unique within a batch", i, id, j)
		}
		seen[id] = i
		params, present := m["params"]
		if !present {
			return nil, fmt.Sprintf("requests.%d.params: Field required", i)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(params, &obj); err != nil || obj == nil {
			return nil, fmt.Sprintf("requests.%d.params: Input should be a valid dictionary", i)
		}
		out[i] = batchRequest{CustomID: id, Params: params}
	}
	return out, ""
}

// batchItem decides at creation what the params of req make of it when it is processed:
// an invalid_request_error (malformed params) or not_found_error (unknown model) result,
// or the Message POST /v1/messages would answer them with header, whose
// x-sim-output-tokens, if any, applies. It charges nothing.
func (s *Server) batchItem(req batchRequest, header http.Header) batchItem {
	it := batchItem{customID: req.CustomID}
	m, msg := parseMessages(req.Params, true)
	if msg != "" {
		it.errType, it.errMsg = "invalid_request_error", msg
		return it
	}
	if _, found := classFor(s.classes, tier.Anthropic, m.Model); !found {
		it.errType, it.errMsg = "not_found_error", "model: "+m.Model
		return it
	}
	input, err := s.InputTokens(tier.Anthropic, req.Params)
	if err != nil {
		it.errType, it.errMsg = "invalid_request_error", err.Error()
		return it
	}
	it.model, it.input, it.maxTokens = m.Model, input, m.MaxTokens
	it.output = s.OutputTokens(header, req.Params, m.MaxTokens)
	return it
}
