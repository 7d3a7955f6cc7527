package simapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// batchJSON is a MessageBatch as the API shows it.
type batchJSON struct {
	ID                string        `json:"id"`
	Type              string        `json:"type"`
	ProcessingStatus  string        `json:"processing_status"`
	RequestCounts     requestCounts `json:"request_counts"`
	EndedAt           *string       `json:"ended_at"`
	CreatedAt         string        `json:"created_at"`
	ExpiresAt         string        `json:"expires_at"`
	ArchivedAt        *string       `json:"archived_at"`
	CancelInitiatedAt *string       `json:"cancel_initiated_at"`
	ResultsURL        *string       `json:"results_url"`
}

// apiTime is t in RFC 3339 with fractional seconds, in UTC, or nil when t is zero.
func apiTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// jsonLocked returns b as answered to r: its results_url is on r's scheme and host.
// batchStore.mu must be held.
func (b *batch) jsonLocked(r *http.Request) batchJSON {
	v := batchJSON{
		ID:                b.id,
		Type:              "message_batch",
		ProcessingStatus:  b.status(),
		RequestCounts:     b.counts,
		EndedAt:           apiTime(b.ended),
		CreatedAt:         *apiTime(b.created),
		ExpiresAt:         *apiTime(b.expires),
		CancelInitiatedAt: apiTime(b.canceled),
	}
	if !b.ended.IsZero() {
		scheme := r.URL.Scheme
		if scheme == "" {
			scheme = "http"
			if r.TLS != nil {
				scheme = "https"
			}
		}
		host := r.Host
		if host == "" {
			host = r.URL.Host
		}
		u := scheme + "://" + host + batchesPath + "/" + b.id + "/results"
		v.ResultsURL = &u
	}
	return v
}

// batchSeq returns the creation order encoded in a batch id, for the list cursors: a
// cursor stays valid after its batch is deleted.
func batchSeq(id string) (uint64, bool) {
	hex, ok := strings.CutPrefix(id, "msgbatch_sim")
	if !ok || len(hex) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(hex, 16, 64)
	return n, err == nil
}

// listBatches serves GET /v1/messages/batches: key's batches, newest first, a page at a
// time. limit is 1 to 1000 (default 20); after_id gives the page of batches older than
// that one, before_id the page of those newer (the closest to it), as pagination.Page of
// the SDK asks for them; has_more says whether more exist in that direction.
func (s *Server) listBatches(w http.ResponseWriter, r *http.Request, reqID, key, _ string) batchAnswer {
	query := r.URL.Query()
	limit := 20
	if v := query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			return batchError(w, reqID, http.StatusBadRequest, "invalid_request_error", "limit: Input should be a valid integer")
		case n < 1:
			return batchError(w, reqID, http.StatusBadRequest, "invalid_request_error", "limit: Input should be greater than or equal to 1")
		case n > 1000:
			return batchError(w, reqID, http.StatusBadRequest, "invalid_request_error", "limit: Input should be less than or equal to 1000")
		}
		limit = n
	}
	cursor := func(name string) (seq uint64, set bool, ok bool) {
		v := query.Get(name)
		if v == "" {
			return 0, false, true
		}
		seq, ok = batchSeq(v)
		return seq, true, ok
	}
	after, hasAfter, ok := cursor("after_id")
	if !ok {
		return batchError(w, reqID, http.StatusBadRequest, "invalid_request_error", "after_id: not a Message Batch id")
	}
	before, hasBefore, ok := cursor("before_id")
	if !ok {
		return batchError(w, reqID, http.StatusBadRequest, "invalid_request_error", "before_id: not a Message Batch id")
	}

	q := s.batches
	q.mu.Lock()
	now := time.Now()
	var sel []*batch // oldest first
	for _, b := range q.byKey[key] {
		s.advanceLocked(b, now)
		if (!hasAfter || b.seq < after) && (!hasBefore || b.seq > before) {
			sel = append(sel, b)
		}
	}
	more := len(sel) > limit
	if hasBefore {
		sel = sel[:min(limit, len(sel))] // the closest newer ones
	} else {
		sel = sel[max(0, len(sel)-limit):] // the newest ones
	}
	data := make([]batchJSON, len(sel))
	for i, b := range slices.Backward(sel) {
		data[len(sel)-1-i] = b.jsonLocked(r)
	}
	q.mu.Unlock()

	page := map[string]any{"data": data, "has_more": more, "first_id": nil, "last_id": nil}
	if len(data) > 0 {
		page["first_id"], page["last_id"] = data[0].ID, data[len(data)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
	return batchOK
}
