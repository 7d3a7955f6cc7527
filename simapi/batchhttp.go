package simapi

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// batchesPath is the collection of Message Batches.
const batchesPath = "/v1/messages/batches"

// isBatchPath reports whether p is a Message Batches route.
func isBatchPath(p string) bool {
	return p == batchesPath || strings.HasPrefix(p, batchesPath+"/")
}

// batchHandler serves one batch route for an authenticated key; id is the batch id in the
// path, if any. It writes the answer and says what it was, for the ledger.
type batchHandler func(w http.ResponseWriter, r *http.Request, reqID, key, id string) batchAnswer

// serveBatches serves the Message Batches routes. The key is checked first (401), then
// Config.BatchRPM, which every call with a key spends, whatever the route answers.
func (s *Server) serveBatches(w http.ResponseWriter, r *http.Request) {
	reqID := s.requestID()
	w.Header().Set("request-id", reqID)
	key := anthropicKey(r)
	if key == "" {
		s.ledger.batchCall("", batchRejected)
		writeAnthropicError(w, reqID, http.StatusUnauthorized, "authentication_error", "x-api-key header is required", nil)
		return
	}
	if ok, wait := s.batches.allowRPM(key, s.cfg.BatchRPM, s.cfg.Burst); !ok {
		s.ledger.batchCall(key, batchRateLimited)
		w.Header().Set("retry-after", strconv.FormatInt(retryAfterSeconds(wait), 10))
		w.Header().Set("x-should-retry", "true")
		writeAnthropicError(w, reqID, http.StatusTooManyRequests, "rate_limit_error", fmt.Sprintf(
			"This request would exceed your organization's rate limit of %s Message Batches API requests per minute. "+
				"For details, refer to: https://docs.claude.com/en/api/rate-limits.", fmtInt(s.cfg.BatchRPM)), nil)
		return
	}
	id, action, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, batchesPath), "/"), "/")
	var routes map[string]batchHandler
	switch {
	case id == "" && action == "":
		routes = map[string]batchHandler{http.MethodPost: s.createBatch, http.MethodGet: s.listBatches}
	case id != "" && action == "":
		routes = map[string]batchHandler{http.MethodGet: s.getBatch, http.MethodDelete: s.deleteBatch}
	case id != "" && action == "results":
		routes = map[string]batchHandler{http.MethodGet: s.batchResults}
	case id != "" && action == "cancel":
		routes = map[string]batchHandler{http.MethodPost: s.cancelBatch}
	default:
		s.ledger.batchCall(key, batchRejected)
		writeAnthropicError(w, reqID, http.StatusNotFound, "not_found_error",
			fmt.Sprintf("Not found: %s %s", r.Method, r.URL.Path), nil)
		return
	}
	h := routes[r.Method]
	if h == nil {
		s.ledger.batchCall(key, batchRejected)
		writeAnthropicError(w, reqID, http.StatusMethodNotAllowed, "invalid_request_error", "Method Not Allowed", nil)
		return
	}
	s.ledger.batchCall(key, h(w, r, reqID, key, id))
}

// batchError writes an Anthropic error and returns batchRejected.
func batchError(w http.ResponseWriter, reqID string, status int, typ, msg string) batchAnswer {
	writeAnthropicError(w, reqID, status, typ, msg, nil)
	return batchRejected
}

// notFound answers a batch id that key does not have.
func notFound(w http.ResponseWriter, reqID, id string) batchAnswer {
	return batchError(w, reqID, http.StatusNotFound, "not_found_error", "No Message Batch found with id "+id+".")
}

// createBatch serves POST /v1/messages/batches.
func (s *Server) createBatch(w http.ResponseWriter, r *http.Request, reqID, key, _ string) batchAnswer {
	maxBytes := s.cfg.MaxBatchBytes
	if maxBytes == 0 {
		maxBytes = DefaultMaxBatchBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return batchError(w, reqID, http.StatusRequestEntityTooLarge, "request_too_large", "Request exceeds the maximum allowed number of bytes.")
		}
		return batchError(w, reqID, http.StatusBadRequest, "invalid_request_error", "could not read the request body")
	}
	maxRequests := s.cfg.MaxBatchRequests
	if maxRequests == 0 {
		maxRequests = DefaultMaxBatchRequests
	}
	reqs, msg := parseBatchCreate(body, maxRequests)
	if msg != "" {
		return batchError(w, reqID, http.StatusBadRequest, "invalid_request_error", msg)
	}
	items := make([]batchItem, len(reqs))
	ids := make([]string, len(reqs)) // for the ledger
	for i, req := range reqs {
		items[i], ids[i] = s.batchItem(req, r.Header), req.CustomID
	}
	latency := s.cfg.BatchLatency
	switch {
	case latency == 0:
		latency = DefaultBatchLatency
	case latency < 0:
		latency = 0
	}

	n := int64(len(items))

	// Hold the queue room and take the submission numbers at once, decide the outcomes
	// with no lock held (Config.BatchOutcome is the caller's code), then add the batch.
	q := s.batches
	q.mu.Lock()
	now := time.Now()
	if q.closed {
		q.mu.Unlock()
		http.Error(w, "simapi: server closed", http.StatusServiceUnavailable)
		return batchRejected
	}
	if limit := s.cfg.BatchQueue; limit > 0 {
		if queued := s.queuedLocked(key, now); queued+n > limit {
			wait, ok := s.queueWaitLocked(key, queued, n, limit, now)
			q.mu.Unlock()
			return queueFull(w, reqID, queued, n, limit, wait, ok)
		}
	}
	q.seq++
	b := &batch{
		id:      fmt.Sprintf("msgbatch_sim%016x", q.seq),
		seq:     q.seq,
		key:     key,
		created: now,
		expires: now.Add(batchTTL),
		latency: latency,
		items:   items,
		counts:  requestCounts{Processing: n},
	}
	q.reserved[key] += n
	nth := s.ledger.batchCreated(BatchRecord{ID: b.id, Key: key, Created: now, Requests: len(items), Bytes: int64(len(body))}, ids)
	q.mu.Unlock()

	for i := range b.items {
		it := &b.items[i]
		it.submission = nth[i]
		if f := s.cfg.BatchOutcome; f != nil && it.errType == "" {
			it.cue = f(it.customID, it.submission)
		}
	}

	q.mu.Lock()
	q.reserved[key] -= n
	q.byID[b.id] = b
	q.byKey[key] = append(q.byKey[key], b)
	s.armLocked(b, now) // nothing is due at creation
	v := b.jsonLocked(r)
	q.mu.Unlock()
	writeJSON(w, http.StatusOK, v)
	return batchCreated
}

// queueFull answers a create refused because key's processing queue, holding queued
// requests, has no room for n more under limit: 429 with a retry-after of wait if ok,
// else (the batch alone is above the limit) with x-should-retry false.
func queueFull(w http.ResponseWriter, reqID string, queued, n, limit int64, wait time.Duration, ok bool) batchAnswer {
	msg := fmt.Sprintf("This request would exceed your organization's limit of %s batch requests in the processing queue: "+
		"%s are queued and the batch holds %s.", fmtInt(limit), fmtInt(queued), fmtInt(n))
	if ok {
		w.Header().Set("retry-after", strconv.FormatInt(retryAfterSeconds(wait), 10))
		w.Header().Set("x-should-retry", "true")
	} else {
		msg += " The batch alone is larger than the queue: split it."
		w.Header().Set("x-should-retry", "false")
	}
	writeAnthropicError(w, reqID, http.StatusTooManyRequests, "rate_limit_error", msg, nil)
	return batchQueueFull
}

// lockEnded is lockBatch for the routes that need a batch that has ended: it returns key's
// batch id with batchStore.mu held, for the caller to unlock. It answers 404 when key has no
// batch id, and 400 ("Message Batch {id} " then why) when the batch is still processing,
// and returns nil and that answer, the lock released.
func (s *Server) lockEnded(w http.ResponseWriter, reqID, key, id, why string) (*batch, batchAnswer) {
	b, _ := s.lockBatch(key, id)
	if b == nil {
		return nil, notFound(w, reqID, id)
	}
	if b.ended.IsZero() {
		s.batches.mu.Unlock()
		return nil, batchError(w, reqID, http.StatusBadRequest, "invalid_request_error", "Message Batch "+id+" "+why)
	}
	return b, batchOK
}

// getBatch serves GET /v1/messages/batches/{id}.
func (s *Server) getBatch(w http.ResponseWriter, r *http.Request, reqID, key, id string) batchAnswer {
	b, _ := s.lockBatch(key, id)
	if b == nil {
		return notFound(w, reqID, id)
	}
	v := b.jsonLocked(r)
	s.batches.mu.Unlock()
	writeJSON(w, http.StatusOK, v)
	return batchOK
}

// cancelBatch serves POST /v1/messages/batches/{id}/cancel: the batch is canceling for
// batchCancelDelay, then its unprocessed requests are canceled and it ends. Canceling a
// canceling batch changes nothing; an ended batch cannot be canceled (400).
func (s *Server) cancelBatch(w http.ResponseWriter, r *http.Request, reqID, key, id string) batchAnswer {
	b, now := s.lockBatch(key, id)
	if b == nil {
		return notFound(w, reqID, id)
	}
	q := s.batches
	if !b.ended.IsZero() {
		q.mu.Unlock()
		return batchError(w, reqID, http.StatusBadRequest, "invalid_request_error",
			"Message Batch "+id+" has already ended and cannot be canceled.")
	}
	if b.canceled.IsZero() {
		b.canceled, b.cancelDue = now, now.Add(batchCancelDelay)
		s.armLocked(b, now)
	}
	v := b.jsonLocked(r)
	q.mu.Unlock()
	writeJSON(w, http.StatusOK, v)
	return batchOK
}

// deleteBatch serves DELETE /v1/messages/batches/{id}; only an ended batch can be deleted.
func (s *Server) deleteBatch(w http.ResponseWriter, _ *http.Request, reqID, key, id string) batchAnswer {
	b, refused := s.lockEnded(w, reqID, key, id, "is still processing: cancel it, and delete it once it has ended.")
	if b == nil {
		return refused
	}
	q := s.batches
	delete(q.byID, id)
	q.byKey[key] = slices.DeleteFunc(q.byKey[key], func(x *batch) bool { return x == b })
	q.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "type": "message_batch_deleted"})
	return batchOK
}

// batchResults serves GET /v1/messages/batches/{id}/results: one JSON line per request,
// ordered by a hash of the custom_id, so deterministically but not in submission order.
// A batch that has not ended has no results yet (400).
func (s *Server) batchResults(w http.ResponseWriter, r *http.Request, reqID, key, id string) batchAnswer {
	b, refused := s.lockEnded(w, reqID, key, id, "has not ended yet: its results are available once processing_status is ended.")
	if b == nil {
		return refused
	}
	items := b.items // settled: they no longer change
	s.batches.mu.Unlock()

	order := make([]int, len(items))
	hashes := make([]uint64, len(items))
	for i := range items {
		order[i] = i
		h := fnv.New64a()
		h.Write([]byte(items[i].customID))
		hashes[i] = h.Sum64()
	}
	slices.SortFunc(order, func(a, b int) int {
		if hashes[a] != hashes[b] {
			return cmp.Compare(hashes[a], hashes[b])
		}
		return strings.Compare(items[a].customID, items[b].customID)
	})
	w.Header().Set("Content-Type", "application/x-jsonl")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw) // one value per line
	for _, i := range order {
		if err := enc.Encode(map[string]any{"custom_id": items[i].customID, "result": items[i].resultJSON()}); err != nil {
			return batchOK // the client went away
		}
	}
	_ = bw.Flush()
	return batchOK
}

// resultJSON is the result object of a settled request.
func (it *batchItem) resultJSON() map[string]any {
	switch it.result {
	case resultSucceeded:
		return map[string]any{"type": "succeeded", "message": message(it.msgID, it.model, it.input, it.output, it.maxTokens, "batch")}
	case resultErrored:
		typ, msg := it.errType, it.errMsg
		if typ == "" { // valid params, errored on cue: a failure on the server's side
			typ, msg = "api_error", "Internal server error"
		}
		return map[string]any{"type": "errored", "error": map[string]any{
			"type": "error", "error": map[string]any{"type": typ, "message": msg}}}
	case resultCanceled:
		return map[string]any{"type": "canceled"}
	case resultExpired:
		return map[string]any{"type": "expired"}
	}
	return map[string]any{"type": "processing"} // not reached: results are served once ended
}
