package ratekeeper

import (
	"net/http"
	"strings"

	"github.com/ratekeeper/ratekeeper/tier"
)

// route is the API and endpoint a request calls: which provider's format its
// body and response follow (tier.Provider, the name tokencount, usage and
// the header parsers also take) and what the Keeper does with it. routeOf is
// the one place that reads a URL path; to add an endpoint, add it here and
// give it its treatment in Middleware (and, for a budget of its own,
// passBudget).
type route struct {
	provider tier.Provider // "" for an endpoint the Keeper does not know
	endpoint endpoint
}

// endpoint is what the Keeper does with a call.
type endpoint uint8

const (
	// other is any other call, passed on with retries and no budget.
	other endpoint = iota
	// messages is a model call with a body, priced and budgeted by its
	// model's pool: Anthropic POST /v1/messages, OpenAI POST
	// /v1/chat/completions.
	messages
	// countTokens is POST /v1/messages/count_tokens, passed on within the
	// count_tokens budget (WithCountTokens).
	countTokens
	// batchCreate is POST /v1/messages/batches: checked (even without a
	// body: the API refuses it), then passed on within the batch budget.
	batchCreate
	// batches is any other call under /v1/messages/batches (list,
	// retrieve, results, cancel, delete), passed on within the batch budget
	// (WithBatchRPM), which all batch endpoints share as the API's limit is.
	batches
)

// batchesPath is the path of the Message Batches endpoints, after the base
// URL's.
const batchesPath = "/v1/messages/batches"

func routeOf(req *http.Request) route {
	p := strings.TrimSuffix(req.URL.Path, "/")
	post := req.Method == http.MethodPost
	hasBody := req.Body != nil && req.Body != http.NoBody
	switch {
	case strings.HasSuffix(p, batchesPath) && post:
		return route{tier.Anthropic, batchCreate}
	case strings.HasSuffix(p, batchesPath) || strings.Contains(p, batchesPath+"/"):
		return route{tier.Anthropic, batches}
	case strings.HasSuffix(p, "/v1/messages/count_tokens") && post:
		return route{tier.Anthropic, countTokens}
	case strings.HasSuffix(p, "/v1/messages") && post && hasBody:
		return route{tier.Anthropic, messages}
	case strings.HasSuffix(p, "/chat/completions") && post && hasBody:
		return route{tier.OpenAI, messages}
	}
	return route{endpoint: other}
}
