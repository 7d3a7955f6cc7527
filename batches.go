package ratekeeper

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// Message Batches.
//
// The batch endpoints — create (POST /v1/messages/batches), list, retrieve,
// results, cancel and delete (every path under it) — have limits of their
// own, shared across all models (tier.BatchLimits): one requests-per-minute
// limit over all of them, a queue of batch requests in processing, and a
// size per batch. A batch's tokens are processed under those limits, not
// the Messages API's per-minute ones, so nothing of a batch is charged to a
// model's pool. The Keeper checks a create body before it is sent (a batch
// the API would refuse is refused at once, with the request it is about),
// has every attempt at a batch endpoint wait for the batch budget
// (WithBatchRPM), and retries them as passOn retries what it sends.

// WithBatchRPM budgets the calls to the Message Batches endpoints (create,
// list, retrieve, results, cancel, delete) at rpm requests per minute,
// shared by all of them as the API's batch limit is: every attempt waits
// for its turn before it is sent. 0 turns the budget off (a create body is
// still checked, and calls are still retried); a negative rpm, like the
// default, takes the limit published for the configured Anthropic tier
// (tier.TierInfo.Batches.RPM; none for OpenAI, none when the tier
// publishes no limit or the configuration names no tier). Callers who
// reach the batch endpoints through the same API key by another path
// should leave room for those calls.
func WithBatchRPM(rpm int64) Option {
	return func(k *Keeper) error {
		if rpm > tier.MaxLimit {
			return fmt.Errorf("ratekeeper: batch rpm %d above %d", rpm, int64(tier.MaxLimit))
		}
		k.batchRPM = rpm
		return nil
	}
}

// setupBatches resolves batchRPM into the batch budget.
func (k *Keeper) setupBatches() (err error) {
	k.batcher, err = k.endpointBudget("batch", k.batchRPM, func(t tier.TierInfo) int64 { return t.Batches.RPM })
	return err
}

// createBatch checks a Message Batches create body and, if the API would
// take it, sends it as passOn sends. A body the API would refuse is
// returned at once as the estimator's error (a *tokencount.BatchItemError
// for a bad request, a *tokencount.MalformedError or *TooLargeError for
// the whole), and nothing is sent. Reading stops past the size limit, which
// is refused without reading the rest.
func (k *Keeper) createBatch(req *http.Request, next MiddlewareNext, rt route) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(req.Body, tokencount.MaxBatchBytes+1))
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("ratekeeper: reading the request body: %w", err)
		}
	}
	if _, err := k.est.EstimateAnthropicBatch(body); err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	out.ContentLength = int64(len(body))
	return k.passOn(out, next, rt)
}
