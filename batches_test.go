package ratekeeper_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// arrival is a request the batch server saw, at its clock.
type arrival struct {
	Method, Path string
	Body         string
	At           time.Time
}

// batchServer is a stand-in for the Message Batches endpoints (simapi has
// none yet): it records what arrives and answers each batch call with a
// MessageBatch (a deleted one for DELETE), a list with one, results with
// none, and models with an empty list. refuse429, when set, is how many
// retrieve calls it answers 429 first.
type batchServer struct {
	mu        sync.Mutex
	seen      []arrival
	refuse429 int
}

func (s *batchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil { // nil in a client's request without one, served in process
		body, _ = io.ReadAll(r.Body)
	}
	s.mu.Lock()
	s.seen = append(s.seen, arrival{r.Method, r.URL.Path, string(body), time.Now()})
	refuse := r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/messages/batches/msgbatch_") && s.refuse429 > 0
	if refuse {
		s.refuse429--
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	const batch = `{"id":"msgbatch_01","type":"message_batch","processing_status":"in_progress",` +
		`"request_counts":{"processing":2,"succeeded":0,"errored":0,"canceled":0,"expired":0},` +
		`"created_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-02T00:00:00Z","ended_at":null,` +
		`"archived_at":null,"cancel_initiated_at":null,"results_url":null}`
	switch {
	case refuse:
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"type":"error","error":{"type":"rate_limit_error","message":"batch rate limit"}}`)
	case r.URL.Path == "/v1/models":
		io.WriteString(w, `{"data":[],"has_more":false,"first_id":null,"last_id":null}`)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/messages/batches":
		io.WriteString(w, `{"data":[`+batch+`],"has_more":false,"first_id":"msgbatch_01","last_id":"msgbatch_01"}`)
	case strings.HasSuffix(r.URL.Path, "/results"):
		w.Header().Set("Content-Type", "application/x-jsonl")
	case r.Method == http.MethodDelete:
		io.WriteString(w, `{"id":"msgbatch_01","type":"message_batch_deleted"}`)
	default:
		io.WriteString(w, batch)
	}
}

func (s *batchServer) arrivals() []arrival {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]arrival(nil), s.seen...)
}

// batchClient is the documented setup against s, served in process (so
// that it runs in a synctest bubble) or, with real, over loopback by an
// httptest.Server.
func batchClient(t *testing.T, s *batchServer, k *ratekeeper.Keeper, real bool) anthropic.Client {
	t.Helper()
	opts := []aoption.RequestOption{aoption.WithAPIKey(apiKey), aoption.WithMiddleware(k.Middleware), aoption.WithMaxRetries(0)}
	if real {
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		opts = append(opts, aoption.WithBaseURL(srv.URL+"/"), aoption.WithHTTPClient(srv.Client()))
	} else {
		rt := roundTripper(func(r *http.Request) (*http.Response, error) {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, r)
			return rec.Result(), nil
		})
		opts = append(opts, aoption.WithBaseURL("http://batches.invalid/"), aoption.WithHTTPClient(&http.Client{Transport: rt}))
	}
	return anthropic.NewClient(opts...)
}

// batchRequest is a request of a batch asking m for maxTokens.
func batchRequest(id string, m anthropic.Model, maxTokens int64) anthropic.MessageBatchNewParamsRequest {
	return anthropic.MessageBatchNewParamsRequest{CustomID: id, Params: anthropic.MessageBatchNewParamsRequestParams{
		Model: m, MaxTokens: maxTokens,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Name a prime number."))},
	}}
}

// TestBatchCreateRefusedBeforeSending: a batch the API would refuse comes
// back from Messages.Batches.New as the estimator's typed error, naming the
// bad request, and the server sees nothing.
func TestBatchCreateRefusedBeforeSending(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reqs  []anthropic.MessageBatchNewParamsRequest
		index int
		id    string
		is    error
		what  string // a *tokencount.TooLargeError's
		path  string // a *tokencount.MalformedError's
	}{
		{"context window", []anthropic.MessageBatchNewParamsRequest{batchRequest("ok", model, 100), batchRequest("wide", "claude-3-haiku-20240307", 250_000)},
			1, "wide", tokencount.ErrTooLarge, tokencount.WhatContextWindow, ""},
		{"custom_id repeated", []anthropic.MessageBatchNewParamsRequest{batchRequest("a", model, 100), batchRequest("b", model, 100), batchRequest("a", model, 100)},
			2, "a", tokencount.ErrMalformed, "", "requests[2].custom_id"},
		{"custom_id invalid", []anthropic.MessageBatchNewParamsRequest{batchRequest("q 1", model, 100)},
			0, "q 1", tokencount.ErrMalformed, "", "requests[0].custom_id"},
		{"no model", []anthropic.MessageBatchNewParamsRequest{batchRequest("a", model, 100), batchRequest("b", "", 100)},
			1, "b", tokencount.ErrMalformed, "", "requests[1].params.model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s batchServer
			client := batchClient(t, &s, newKeeper(t), true)
			_, err := client.Messages.Batches.New(context.Background(), anthropic.MessageBatchNewParams{Requests: tc.reqs})
			item, ok := errors.AsType[*tokencount.BatchItemError](err)
			if !ok || item.Index != tc.index || item.CustomID != tc.id || !errors.Is(err, tc.is) {
				t.Fatalf("Batches.New = %v; want a *tokencount.BatchItemError for request %d (%q) matching %v", err, tc.index, tc.id, tc.is)
			}
			if tl, ok := errors.AsType[*tokencount.TooLargeError](err); tc.what != "" && (!ok || tl.What != tc.what) {
				t.Errorf("error %v; want a *tokencount.TooLargeError %s", err, tc.what)
			}
			if m, ok := errors.AsType[*tokencount.MalformedError](err); tc.path != "" && (!ok || m.Path != tc.path) {
				t.Errorf("error %v; want a *tokencount.MalformedError at %s", err, tc.path)
			}
			if seen := s.arrivals(); len(seen) != 0 {
				t.Errorf("the server saw %+v; want nothing sent", seen)
			}
		})
	}
	// A batch without requests is refused as a whole.
	var s batchServer
	client := batchClient(t, &s, newKeeper(t), true)
	_, err := client.Messages.Batches.New(context.Background(), anthropic.MessageBatchNewParams{})
	if m, ok := errors.AsType[*tokencount.MalformedError](err); !ok || m.Path != "requests" {
		t.Errorf("Batches.New of no requests = %v; want a *tokencount.MalformedError at requests", err)
	}
	if len(s.arrivals()) != 0 {
		t.Error("the server saw the empty batch")
	}
}

// TestBatchCreateSent: a good batch is sent once, as the SDK wrote it, and
// charges nothing to the Messages budget of its model.
func TestBatchCreateSent(t *testing.T) {
	var s batchServer
	k := newKeeper(t)
	client := batchClient(t, &s, k, true)
	ctx := context.Background()
	before, err := k.Remaining(ctx, string(model))
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: []anthropic.MessageBatchNewParamsRequest{
		batchRequest("q-1", model, 1000), batchRequest("q-2", model, 2000)}})
	if err != nil {
		t.Fatalf("Batches.New = %v", err)
	}
	if b.ID != "msgbatch_01" || b.RequestCounts.Processing != 2 {
		t.Errorf("Batches.New = %+v; want the server's batch", b)
	}
	seen := s.arrivals()
	if len(seen) != 1 || seen[0].Method != http.MethodPost || seen[0].Path != "/v1/messages/batches" {
		t.Fatalf("the server saw %+v; want one create", seen)
	}
	var sent struct {
		Requests []struct {
			CustomID string          `json:"custom_id"`
			Params   json.RawMessage `json:"params"`
		} `json:"requests"`
	}
	if err := json.Unmarshal([]byte(seen[0].Body), &sent); err != nil || len(sent.Requests) != 2 || sent.Requests[1].CustomID != "q-2" {
		t.Errorf("the server got %s (%v); want the SDK's two requests", seen[0].Body, err)
	}
	after, err := k.Remaining(ctx, string(model))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []tier.Dimension{tier.RPM, tier.ITPM, tier.OTPM} {
		if a, b := after.Buckets[d], before.Buckets[d]; a.Outstanding != 0 || a.Level < b.Level {
			t.Errorf("%v after the batch: %+v, before %+v; want nothing charged", d, a, b)
		}
	}
}

// TestBatchRPM: every batch endpoint waits for the one batch budget, in
// order; other endpoints do not.
func TestBatchRPM(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s batchServer
		client := batchClient(t, &s, newKeeper(t, ratekeeper.WithBatchRPM(2)), false)
		ctx := context.Background()
		start := time.Now()
		calls := []func() error{
			func() error {
				_, err := client.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: []anthropic.MessageBatchNewParamsRequest{batchRequest("a", model, 10)}})
				return err
			},
			func() error {
				_, err := client.Messages.Batches.Get(ctx, "msgbatch_01", anthropic.MessageBatchGetParams{})
				return err
			},
			func() error {
				_, err := client.Messages.Batches.List(ctx, anthropic.MessageBatchListParams{})
				return err
			},
			func() error {
				_, err := client.Messages.Batches.Cancel(ctx, "msgbatch_01", anthropic.MessageBatchCancelParams{})
				return err
			},
			func() error {
				st := client.Messages.Batches.ResultsStreaming(ctx, "msgbatch_01", anthropic.MessageBatchResultsParams{})
				for st.Next() {
				}
				return st.Err()
			},
			func() error {
				_, err := client.Messages.Batches.Delete(ctx, "msgbatch_01", anthropic.MessageBatchDeleteParams{})
				return err
			},
		}
		for i, call := range calls {
			if err := call(); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		// A call elsewhere, while the batch budget is spent, goes at once.
		sent := time.Now()
		if _, err := client.Models.List(ctx, anthropic.ModelListParams{}); err != nil {
			t.Fatal(err)
		}
		seen := s.arrivals()
		var got []string
		for _, a := range seen {
			got = append(got, a.Method+" "+a.Path)
		}
		want := []string{"POST /v1/messages/batches", "GET /v1/messages/batches/msgbatch_01", "GET /v1/messages/batches",
			"POST /v1/messages/batches/msgbatch_01/cancel", "GET /v1/messages/batches/msgbatch_01/results",
			"DELETE /v1/messages/batches/msgbatch_01", "GET /v1/models"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("the server saw (-want +got):\n%s", diff)
		}
		// 2 a minute: the first two at once, then one every 30 s.
		for i, a := range seen[:len(calls)] {
			if d, min := a.At.Sub(start), time.Duration(max(i-1, 0))*30*time.Second; d < min {
				t.Errorf("batch call %d sent after %v; want at least %v", i, d, min)
			}
		}
		if d := seen[len(calls)].At.Sub(sent); d != 0 {
			t.Errorf("the models call waited %v; want it not to wait for the batch budget", d)
		}
	})
}

// TestBatchRPMDefault: without WithBatchRPM the tier's published batch RPM
// applies (tier-1: 50 a minute); WithBatchRPM(0) turns the budget off.
func TestBatchRPMDefault(t *testing.T) {
	info, err := tier.LookupTier(tier.Anthropic, "tier-1")
	if err != nil || info.Batches.RPM != 50 {
		t.Fatalf("tier-1 batch limits %+v, %v; the test assumes 50 RPM", info.Batches, err)
	}
	for _, tc := range []struct {
		name string
		opts []ratekeeper.Option
		wait bool
	}{{"tier", nil, true}, {"off", []ratekeeper.Option{ratekeeper.WithBatchRPM(0)}, false}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var s batchServer
				client := batchClient(t, &s, newKeeper(t, tc.opts...), false)
				start := time.Now()
				for i := range 60 {
					if _, err := client.Messages.Batches.Get(context.Background(), fmt.Sprintf("msgbatch_%d", i), anthropic.MessageBatchGetParams{}); err != nil {
						t.Fatal(err)
					}
				}
				if waited := time.Since(start) > 0; waited != tc.wait {
					t.Errorf("60 retrievals took %v; want waiting %v", time.Since(start), tc.wait)
				}
			})
		})
	}
}

// TestBatchRetried: with the SDK's retries off, a batch call refused with
// 429 is retried after its retry-after, through the batch budget again.
func TestBatchRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := batchServer{refuse429: 1}
		client := batchClient(t, &s, newKeeper(t, ratekeeper.WithBatchRPM(1)), false)
		start := time.Now()
		if _, err := client.Messages.Batches.Get(context.Background(), "msgbatch_01", anthropic.MessageBatchGetParams{}); err != nil {
			t.Fatalf("Batches.Get = %v; want the retry to succeed", err)
		}
		seen := s.arrivals()
		if len(seen) != 2 {
			t.Fatalf("the server saw %d calls; want the refused one and its retry", len(seen))
		}
		// The retry waits for the retry-after (1 s) and for the next place in
		// a budget of 1 a minute.
		if d := seen[1].At.Sub(start); d < time.Minute {
			t.Errorf("the retry was sent after %v; want it to wait for the batch budget", d)
		}
	})
}
