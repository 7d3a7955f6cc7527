package ratekeeper

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ratekeeper/ratekeeper/tier"
)

// TestRouteOf pins which API and endpoint each request is routed to: a
// model call needs a POST with a body, a batch create is one even without a
// body (the API refuses it, and so does the Keeper, at once), and every other
// call under the batch path shares the batch budget.
func TestRouteOf(t *testing.T) {
	for _, tc := range []struct {
		method, url string
		body        bool
		want        route
	}{
		{"POST", "https://api.anthropic.com/v1/messages", true, route{tier.Anthropic, messages}},
		{"POST", "https://api.anthropic.com/v1/messages/", true, route{tier.Anthropic, messages}},
		{"POST", "http://proxy/anthropic/v1/messages", true, route{tier.Anthropic, messages}},
		{"POST", "https://api.anthropic.com/v1/messages", false, route{}},
		{"GET", "https://api.anthropic.com/v1/messages", true, route{}},
		{"POST", "https://api.openai.com/v1/chat/completions", true, route{tier.OpenAI, messages}},
		{"POST", "https://api.openai.com/v1/chat/completions", false, route{}},
		{"POST", "https://api.anthropic.com/v1/messages/count_tokens", true, route{tier.Anthropic, countTokens}},
		{"GET", "https://api.anthropic.com/v1/messages/count_tokens", false, route{}},
		{"POST", "https://api.anthropic.com/v1/messages/batches", true, route{tier.Anthropic, batchCreate}},
		{"POST", "https://api.anthropic.com/v1/messages/batches", false, route{tier.Anthropic, batchCreate}},
		{"GET", "https://api.anthropic.com/v1/messages/batches", false, route{tier.Anthropic, batches}},
		{"GET", "https://api.anthropic.com/v1/messages/batches/msgbatch_1/results", false, route{tier.Anthropic, batches}},
		{"POST", "https://api.anthropic.com/v1/messages/batches/msgbatch_1/cancel", false, route{tier.Anthropic, batches}},
		{"DELETE", "https://api.anthropic.com/v1/messages/batches/msgbatch_1", false, route{tier.Anthropic, batches}},
		{"GET", "https://api.anthropic.com/v1/models", false, route{}},
		{"POST", "https://api.anthropic.com/v1/files", true, route{}},
	} {
		var req *http.Request
		if tc.body {
			req = httptest.NewRequest(tc.method, tc.url, strings.NewReader("{}"))
		} else {
			req = httptest.NewRequest(tc.method, tc.url, nil)
		}
		if got := routeOf(req); got != tc.want {
			t.Errorf("%s %s (body %v): route %+v, want %+v", tc.method, tc.url, tc.body, got, tc.want)
		}
	}
}
