package tokencount

import (
	"bytes"
	"fmt"

	"github.com/ratekeeper/ratekeeper/tier"
)

// The Message Batches API's limits on one batch, checked when it is created:
// "either 100,000 Message requests or 256 MB in size, whichever is reached
// first" (https://docs.claude.com/en/api/creating-message-batches; the API
// reference gives the requests array minItems 1, maxItems 100000). Both are
// in the rate-limit fact sheet, api-rate-limits.md §6, with the docs
// versions they were read from. They are constants, so that callers can size
// with them; tier's catalog has them as data per tier (where batches are
// split), and TestBatchLimitsAgreeWithCatalog keeps the two in step.
const (
	// MaxBatchRequests is the most requests one batch may hold.
	MaxBatchRequests = 100_000
	// MaxBatchBytes is the size limit of a create body: 256 MB, taken as
	// MiB (like the Messages limit) so that only bodies that surely exceed
	// it are refused.
	MaxBatchBytes = 256 << 20
)

// BatchEstimate is the pre-send cost of a Message Batches create body: of
// each request, and of the whole batch. Its tokens are drawn from the batch
// limits while the batch is processed, not from the Messages API's
// per-minute budgets.
type BatchEstimate struct {
	// Items are the batch's requests in body order: Items[i] is requests[i].
	// Requests beyond MaxBatchRequests are counted but not read, so Items
	// holds at most MaxBatchRequests.
	Items []BatchItem
	// Requests is the number of requests in the body.
	Requests int
	// InputTokens and OutputReserve are the sums of the Items'
	// Estimate.InputTokens and Estimate.OutputReserve, saturated at
	// math.MaxInt64.
	InputTokens   int64
	OutputReserve int64
	// BodyBytes is the size of the body.
	BodyBytes int64
}

// BatchItem is one request of a batch.
type BatchItem struct {
	// CustomID is the request's custom_id, JSON escapes decoded; empty when
	// it has none or it is not a string.
	CustomID string
	// Estimate is the estimate of the request's params, made as
	// EstimateAnthropic makes it of a Messages body, except that the
	// Messages API's request size limit does not apply (the batch's
	// MaxBatchBytes does). It is zero when the params could not be
	// estimated.
	Estimate Estimate
	// Err is why the API would refuse the request, a *BatchItemError; nil
	// when it would not.
	Err error
}

// EstimateAnthropicBatch estimates a Message Batches create body (POST
// /v1/messages/batches, what anthropic-sdk-go's Messages.Batches.New sends):
//
//	{"requests":[{"custom_id":"…","params":{…a Messages body…}}, …]}
//
// Each request's params are estimated as EstimateAnthropic estimates a
// Messages body (see BatchItem.Estimate), read in place: nothing of the body
// is copied but the custom_ids, and the time and memory it takes grow
// linearly with the body.
//
// The error is the first reason the API would refuse the batch at creation,
// checked in this order:
//
//   - its size: a body above MaxBatchBytes is a *TooLargeError
//     (WhatBodyBytes), refused before it is read;
//   - its shape: not JSON, not an object, no "requests" array or an empty
//     one: a *MalformedError;
//   - more than MaxBatchRequests requests: a *TooLargeError
//     (WhatBatchRequests);
//   - the requests, in order: a *BatchItemError naming the request's index
//     and custom_id, wrapping a *MalformedError (the request is not an
//     object; its custom_id is missing, does not match ^[a-zA-Z0-9_-]{1,64}$
//     or repeats an earlier request's; its params are missing or malformed)
//     or a *TooLargeError (its params exceed their model's context window or
//     output bound). Only the first bad request is returned; each bad
//     request's BatchItem.Err says what is wrong with it.
//
// Whatever the error, the BatchEstimate holds what could be read, so that a
// caller can report on a batch it will not send: all of it, except after a
// body too large (only BodyBytes) or a syntax error (the body is not valid
// JSON), which stops the reading (the requests before it; the error is a
// *BatchItemError when it is inside a request).
func (e *Estimator) EstimateAnthropicBatch(body []byte) (BatchEstimate, error) {
	p := batchParser{e: e, l: lexer{b: body}, b: BatchEstimate{BodyBytes: int64(len(body))}}
	if p.b.BodyBytes > MaxBatchBytes {
		return p.b, &TooLargeError{What: WhatBodyBytes, Need: p.b.BodyBytes, Limit: MaxBatchBytes}
	}
	// A capacity hint, not a count: a custom_id key per request, unless
	// escaped, or text that quotes one; at most MaxBatchRequests are kept.
	n := min(bytes.Count(body, []byte(`"custom_id"`)), MaxBatchRequests)
	p.b.Items, p.ids = make([]BatchItem, 0, n), make(map[string]int, n)
	err := p.parse()
	return p.b, err
}

// batchParser reads one create body.
type batchParser struct {
	e *Estimator
	l lexer
	b BatchEstimate
	// ids holds the index of the first request with each valid custom_id.
	ids map[string]int
	// first is the first bad request's *BatchItemError.
	first error
}

func (p *batchParser) parse() error {
	l := &p.l
	found := false
	arrayAt := 0
	err := l.object(func(key []byte) error {
		if string(key) != "requests" {
			if _, err := l.skip(); err != nil {
				return at(err, "%s", key)
			}
			return nil
		}
		if found { // the last one counts, as in encoding/json
			p.b = BatchEstimate{Items: p.b.Items[:0], BodyBytes: p.b.BodyBytes}
			clear(p.ids)
			p.first = nil
		}
		found = true
		if l.peek() != '[' {
			return at(l.fail("expected array of requests"), "requests")
		}
		arrayAt = l.i
		return at(l.array(p.request), "requests")
	})
	if err == nil {
		err = l.end()
	}
	switch {
	case err != nil:
		return err
	case !found:
		return &MalformedError{Path: "requests", Reason: "missing"}
	case p.b.Requests == 0:
		return &MalformedError{Path: "requests", Offset: arrayAt, Reason: "empty: a batch holds at least one request"}
	case p.b.Requests > MaxBatchRequests:
		return &TooLargeError{What: WhatBatchRequests, Need: int64(p.b.Requests), Limit: MaxBatchRequests}
	}
	return p.first
}

// request reads requests[i], at the lexer's position.
func (p *batchParser) request(i int) error {
	l := &p.l
	p.b.Requests++
	if i >= MaxBatchRequests {
		// Counted, not read: the batch is refused whatever the rest holds.
		_, err := l.skip()
		return syntaxErr(i, "", err)
	}
	start := l.i
	if l.peek() != '{' {
		if _, err := l.skip(); err != nil {
			return syntaxErr(i, "", err)
		}
		p.add(i, BatchItem{}, &MalformedError{Offset: start, Reason: "expected object"})
		return nil
	}
	var (
		id, params      []byte
		hasID, idString bool
		idAt, paramsAt  int
	)
	err := l.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "custom_id":
			hasID, idAt = true, l.i
			if idString = l.peek() == '"'; idString {
				id, err = l.str()
			} else {
				_, err = l.skip()
			}
		case "params":
			paramsAt = l.i
			params, err = l.skip()
		default:
			_, err = l.skip()
		}
		if err != nil {
			return at(err, "%s", key)
		}
		return nil
	})
	if bytes.IndexByte(id, '\\') >= 0 {
		id = unescape(nil, id)
	}
	it := BatchItem{CustomID: string(id)}
	if err != nil {
		return syntaxErr(i, it.CustomID, err)
	}

	var bad error
	switch {
	case !hasID:
		bad = &MalformedError{Path: "custom_id", Offset: start, Reason: "missing"}
	case !idString:
		bad = &MalformedError{Path: "custom_id", Offset: idAt, Reason: "expected string"}
	case !validCustomID(it.CustomID):
		bad = &MalformedError{Path: "custom_id", Offset: idAt, Reason: "must match ^[a-zA-Z0-9_-]{1,64}$"}
	default:
		if j, dup := p.ids[it.CustomID]; dup {
			bad = &MalformedError{Path: "custom_id", Offset: idAt, Reason: fmt.Sprintf("not unique: requests[%d] has it too", j)}
		} else {
			p.ids[it.CustomID] = i
		}
	}
	if params == nil {
		if bad == nil {
			bad = &MalformedError{Path: "params", Offset: start, Reason: "missing"}
		}
	} else if est, err := p.e.estimate(tier.Anthropic, params, false); err != nil {
		if m, ok := err.(*MalformedError); ok {
			m.Offset += paramsAt // from the start of the body, not of params
		}
		if bad == nil {
			bad = at(err, "params")
		}
	} else {
		it.Estimate = est
	}
	p.add(i, it, bad)
	return nil
}

// add appends requests[i], refused for bad (located within the request)
// unless bad is nil.
func (p *batchParser) add(i int, it BatchItem, bad error) {
	if bad != nil {
		it.Err = &BatchItemError{Index: i, CustomID: it.CustomID, Err: at(bad, "requests[%d]", i)}
		if p.first == nil {
			p.first = it.Err
		}
	}
	p.b.Items = append(p.b.Items, it)
	p.b.InputTokens = satAdd(p.b.InputTokens, it.Estimate.InputTokens)
	p.b.OutputReserve = satAdd(p.b.OutputReserve, it.Estimate.OutputReserve)
}

// syntaxErr reports err, a syntax error inside requests[i] (nil for none),
// as a *BatchItemError.
func syntaxErr(i int, id string, err error) error {
	if err == nil {
		return nil
	}
	return &BatchItemError{Index: i, CustomID: id, Err: at(err, "requests[%d]", i)}
}

// validCustomID reports whether id matches ^[a-zA-Z0-9_-]{1,64}$, the
// pattern the API requires of a custom_id.
func validCustomID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
