package simapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzBatchCreate feeds arbitrary create bodies to the parser and to the route: the parser
// returns either an error message or requests that satisfy every envelope rule; the route
// answers 200, 400 or 413, and an accepted batch processes to the end, every request
// settled once, with results that encode.
func FuzzBatchCreate(f *testing.F) {
	for _, seed := range []string{
		batchBody("a", "b"),
		batchBody("a", "a"),
		`{"requests":[{"custom_id":"x","params":{"model":"claude-haiku-4-5","max_tokens":3,"messages":[{"role":"user","content":[{"type":"text","text":"t"}]}]}}]}`,
		`{"requests":[{"custom_id":"bad","params":{"model":"claude-nonesuch","max_tokens":0,"messages":[]}}]}`,
		`{"requests":[{"custom_id":"p","params":{"model":"claude-sonnet-4-5","max_tokens":1e9,"messages":[{"role":"user","content":7}],"stream":true}}]}`,
		`{"requests":[]}`, `{"requests":null}`, `{}`, `[]`, `{`, `null`,
		`{"requests":[{"custom_id":"` + string(make([]byte, 70)) + `","params":{}}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		const maxRequests = 50
		reqs, msg := parseBatchCreate(body, maxRequests)
		if msg == "" {
			if len(reqs) == 0 || len(reqs) > maxRequests {
				t.Fatalf("accepted %d requests", len(reqs))
			}
			seen := map[string]bool{}
			for _, r := range reqs {
				var obj map[string]json.RawMessage
				if !customIDPattern.MatchString(r.CustomID) || seen[r.CustomID] || json.Unmarshal(r.Params, &obj) != nil || obj == nil {
					t.Fatalf("accepted request %+v", r)
				}
				seen[r.CustomID] = true
			}
		}

		s, err := New(Config{MaxBatchRequests: maxRequests, BatchLatency: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		req := httptest.NewRequest(http.MethodPost, "/v1/messages/batches", bytes.NewReader(body))
		req.Header.Set("x-api-key", "k")
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		switch {
		case w.Code == 200 && msg != "", w.Code == 400 && msg == "":
			t.Fatalf("status %d, parser message %q", w.Code, msg)
		case w.Code != 200 && w.Code != 400 && w.Code != 413:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		case w.Code != 200:
			return
		}
		if got := s.BatchQueue("k"); got != int64(len(reqs)) {
			t.Fatalf("BatchQueue = %d; want %d", got, len(reqs))
		}
		q := s.batches
		q.mu.Lock()
		defer q.mu.Unlock()
		for _, b := range q.byID {
			s.advanceLocked(b, b.created.Add(2*time.Hour))
			c := b.counts
			if b.ended.IsZero() || c.Processing != 0 || c.Succeeded+c.Errored != int64(len(reqs)) || b.done != len(reqs) {
				t.Fatalf("after processing: %+v, ended %v", c, b.ended)
			}
			for i := range b.items {
				if _, err := json.Marshal(b.items[i].resultJSON()); err != nil {
					t.Fatalf("result %d: %v", i, err)
				}
			}
		}
	})
}
