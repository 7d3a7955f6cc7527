package simapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
)

// call sends one request of any method through c and reads the whole reply.
func call(t *testing.T, c *http.Client, method, path, key, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, "http://simapi.test"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return reply{res.StatusCode, res.Header, string(b)}
}

// errorType returns error.type and error.message of an Anthropic error body.
func errorType(body string) (typ, msg string) {
	var e struct {
		Type  string
		Error struct{ Type, Message string }
	}
	if json.Unmarshal([]byte(body), &e) != nil || e.Type != "error" {
		return "", ""
	}
	return e.Error.Type, e.Error.Message
}

// batchBody is a create body with one valid request per custom_id.
func batchBody(ids ...string) string {
	var reqs []string
	for _, id := range ids {
		reqs = append(reqs, fmt.Sprintf(`{"custom_id":%q,"params":%s}`, id, msgBody(20, "hi "+id)))
	}
	return `{"requests":[` + strings.Join(reqs, ",") + `]}`
}

func TestBatchCreateRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newSim(t, Config{MaxBatchRequests: 3, MaxBatchBytes: 2000})
		long := strings.Repeat("x", 65)
		for _, tc := range []struct {
			name, body string
			status     int
			typ, msg   string
		}{
			{"not JSON", `{"requests":`, 400, "invalid_request_error", "not valid JSON"},
			{"not an object", `[]`, 400, "invalid_request_error", "not valid JSON"},
			{"no requests", `{}`, 400, "invalid_request_error", "requests: Field required"},
			{"requests not a list", `{"requests":{}}`, 400, "invalid_request_error", "valid list"},
			{"empty", `{"requests":[]}`, 400, "invalid_request_error", "at least 1 item"},
			{"too many", batchBody("a", "b", "c", "d"), 400, "invalid_request_error", "at most 3 items"},
			{"duplicate custom_id", batchBody("a", "b", "a"), 400, "invalid_request_error", "requests.2.custom_id"},
			{"custom_id with a space", batchBody("a b"), 400, "invalid_request_error", "should match pattern"},
			{"custom_id too long", batchBody(long), 400, "invalid_request_error", "should match pattern"},
			{"empty custom_id", batchBody(""), 400, "invalid_request_error", "should match pattern"},
			{"custom_id not a string", `{"requests":[{"custom_id":7,"params":{}}]}`, 400, "invalid_request_error", "valid string"},
			{"no custom_id", `{"requests":[{"params":{}}]}`, 400, "invalid_request_error", "custom_id: Field required"},
			{"no params", `{"requests":[{"custom_id":"a"}]}`, 400, "invalid_request_error", "params: Field required"},
			{"params not an object", `{"requests":[{"custom_id":"a","params":"x"}]}`, 400, "invalid_request_error", "valid dictionary"},
			{"too many bytes", batchBody("a", "b", strings.Repeat("c", 64)) + strings.Repeat(" ", 2000), 413, "request_too_large", "maximum allowed number of bytes"},
		} {
			r := call(t, c, http.MethodPost, "/v1/messages/batches", "k", tc.body)
			typ, msg := errorType(r.body)
			if r.status != tc.status || typ != tc.typ || !strings.Contains(msg, tc.msg) || r.header.Get("request-id") == "" {
				t.Errorf("%s: %d %s; want %d %s containing %q", tc.name, r.status, r.body, tc.status, tc.typ, tc.msg)
			}
		}
		if got := s.Ledger().BatchCounts("k"); got.Rejected != 15 || got.Created != 0 || len(s.Ledger().Batches("")) != 0 {
			t.Errorf("BatchCounts = %+v, %d batches; want 15 rejected, none created", got, len(s.Ledger().Batches("")))
		}
		if r := call(t, c, http.MethodPost, "/v1/messages/batches", "k", batchBody("a", "b", "c")); r.status != 200 {
			t.Errorf("3 requests within limits: %d %s", r.status, r.body)
		}
		// Through the SDK, a 400 is an *anthropic.Error.
		sdk := batchSDK(s, "k")
		_, err := sdk.Messages.Batches.New(context.Background(), batchOf("dup", "dup"))
		if !is(err, 400, "invalid_request_error") {
			t.Errorf("SDK create with a duplicate custom_id: %v; want 400", err)
		}
	})
}

func TestBatchRoutes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newSim(t, Config{})
		for _, tc := range []struct {
			method, path, key string
			status            int
			typ               string
		}{
			{"POST", "/v1/messages/batches", "", 401, "authentication_error"},
			{"GET", "/v1/messages/batches/msgbatch_sim0000000000000001", "", 401, "authentication_error"},
			{"PUT", "/v1/messages/batches", "k", 405, "invalid_request_error"},
			{"POST", "/v1/messages/batches/x", "k", 405, "invalid_request_error"},
			{"GET", "/v1/messages/batches/x/cancel", "k", 405, "invalid_request_error"},
			{"GET", "/v1/messages/batches/x/other", "k", 404, "not_found_error"},
			{"GET", "/v1/messages/batches/x", "k", 404, "not_found_error"},
			{"POST", "/v1/messages/batches/x/cancel", "k", 404, "not_found_error"},
		} {
			r := call(t, c, tc.method, tc.path, tc.key, "")
			if typ, _ := errorType(r.body); r.status != tc.status || typ != tc.typ {
				t.Errorf("%s %s: %d %s; want %d %s", tc.method, tc.path, r.status, r.body, tc.status, tc.typ)
			}
		}
		// The batch routes count in their own ledger, not as Messages outcomes.
		if got := s.Ledger().BatchCounts(""); got.Calls != 8 || got.Rejected != 8 {
			t.Errorf("BatchCounts = %+v; want 8 rejected", got)
		}
		if got := s.Ledger().Counts("", ""); got.Total() != 0 {
			t.Errorf("Messages counts = %+v; want none", got)
		}
	})
}

func TestBatchQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newSim(t, Config{BatchQueue: 5, BatchLatency: time.Minute})
		if r := call(t, c, "POST", "/v1/messages/batches", "k", batchBody("a", "b", "c")); r.status != 200 {
			t.Fatalf("first batch: %d %s", r.status, r.body)
		}
		// 3 queued + 3 > 5: one request must be processed first, at 20s.
		r := call(t, c, "POST", "/v1/messages/batches", "k", batchBody("d", "e", "f"))
		typ, msg := errorType(r.body)
		if r.status != 429 || typ != "rate_limit_error" || !strings.Contains(msg, "processing queue") ||
			r.header.Get("retry-after") != "20" || r.header.Get("x-should-retry") != "true" {
			t.Errorf("second batch: %d retry-after %q %s; want 429 queue full, retry-after 20", r.status, r.header.Get("retry-after"), r.body)
		}
		// Another key has its own queue.
		if r := call(t, c, "POST", "/v1/messages/batches", "other", batchBody("d", "e", "f")); r.status != 200 {
			t.Errorf("other key: %d %s", r.status, r.body)
		}
		// A batch larger than the whole queue never fits: not to be retried.
		r = call(t, c, "POST", "/v1/messages/batches", "k", batchBody("1", "2", "3", "4", "5", "6"))
		if r.status != 429 || r.header.Get("retry-after") != "" || r.header.Get("x-should-retry") != "false" {
			t.Errorf("6 requests with a queue of 5: %d retry-after %q x-should-retry %q; want 429, none, false",
				r.status, r.header.Get("retry-after"), r.header.Get("x-should-retry"))
		}
		if subs := s.Ledger().BatchSubmissions("k"); len(subs) != 3 {
			t.Errorf("refused creates submitted something: %v", subs)
		}

		// The SDK, allowed to retry, waits the retry-after and is accepted once there is room.
		start := time.Now()
		sdk := batchSDK(s, "k", aoption.WithMaxRetries(2))
		b, err := sdk.Messages.Batches.New(context.Background(), batchOf("d", "e", "f"))
		if err != nil {
			t.Fatalf("SDK create with retries: %v", err)
		}
		if waited := time.Since(start); waited != 20*time.Second {
			t.Errorf("the SDK waited %v; want 20s", waited)
		}
		if got := s.BatchQueue("k"); got != 5 {
			t.Errorf("BatchQueue = %d; want 5 (2 left of the first, 3 new)", got)
		}
		if got := s.Ledger().BatchCounts("k"); got.QueueFull != 3 || got.Created != 2 {
			t.Errorf("BatchCounts = %+v; want 3 queue-full, 2 created", got)
		}
		recs := s.Ledger().Batches("k")
		if len(recs) != 2 || recs[1].ID != b.ID || !recs[1].Created.Equal(start.Add(20*time.Second)) {
			t.Errorf("Ledger.Batches = %+v", recs)
		}
	})
}

func TestBatchRPM(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newSim(t, Config{BatchRPM: 2})
		if r := call(t, c, "POST", "/v1/messages/batches", "k", batchBody("a")); r.status != 200 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		if r := call(t, c, "GET", "/v1/messages/batches", "k", ""); r.status != 200 {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		// One bucket for every batch endpoint: the third call waits 30s at 2 RPM.
		r := call(t, c, "GET", "/v1/messages/batches/x", "k", "")
		if typ, msg := errorType(r.body); r.status != 429 || typ != "rate_limit_error" || !strings.Contains(msg, "2 Message Batches API requests per minute") ||
			r.header.Get("retry-after") != "30" {
			t.Errorf("third call: %d retry-after %q %s; want 429, 30", r.status, r.header.Get("retry-after"), r.body)
		}
		if r.header.Get("anthropic-ratelimit-requests-limit") != "" {
			t.Error("a batch route sent the Messages rate-limit headers")
		}
		if r := call(t, c, "GET", "/v1/messages/batches", "other", ""); r.status != 200 {
			t.Errorf("other key: %d", r.status)
		}
		time.Sleep(30 * time.Second)
		if r := call(t, c, "GET", "/v1/messages/batches", "k", ""); r.status != 200 {
			t.Errorf("after 30s: %d %s", r.status, r.body)
		}
		if got := s.Ledger().BatchCounts("k"); got != (BatchCounts{Calls: 4, Created: 1, OK: 2, RateLimited: 1}) {
			t.Errorf("BatchCounts = %+v", got)
		}
		// Live Messages are not limited by BatchRPM.
		if r := do(t, c, "/v1/messages", "k", msgBody(5, "hi")); r.status != 200 {
			t.Errorf("Messages: %d", r.status)
		}
	})
}

func TestBatchRPMBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := newSim(t, Config{BatchRPM: 60, Burst: time.Second})
		call(t, c, "GET", "/v1/messages/batches", "k", "")
		if r := call(t, c, "GET", "/v1/messages/batches", "k", ""); r.status != 429 || r.header.Get("retry-after") != "1" {
			t.Errorf("second call within the second: %d retry-after %q; want 429, 1", r.status, r.header.Get("retry-after"))
		}
	})
}

func TestBatchOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		asked := map[string][]int{}
		s, _ := newSim(t, Config{BatchLatency: time.Minute, BatchOutcome: func(id string, n int) BatchOutcome {
			mu.Lock()
			asked[id] = append(asked[id], n)
			mu.Unlock()
			switch {
			case n > 1:
				return BatchSucceeded
			case strings.HasPrefix(id, "err"):
				return BatchErrored
			case strings.HasPrefix(id, "exp"):
				return BatchExpired
			}
			return BatchSucceeded
		}})
		c := batchSDK(s, "k")
		ctx := context.Background()
		b, err := c.Messages.Batches.New(ctx, batchOf("err-1", "exp-1", "ok-1"))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		got := map[string]anthropic.MessageBatchResultUnion{}
		for _, l := range results(t, c, b.ID) {
			got[l.CustomID] = l.Result
		}
		if e := got["err-1"].AsErrored().Error.Error; got["err-1"].Type != "errored" || e.Type != "api_error" || e.Message == "" {
			t.Errorf("err-1 = %s; want errored api_error", got["err-1"].RawJSON())
		}
		if got["exp-1"].Type != "expired" || got["ok-1"].Type != "succeeded" {
			t.Errorf("exp-1, ok-1 = %s, %s; want expired, succeeded", got["exp-1"].RawJSON(), got["ok-1"].RawJSON())
		}
		b, _ = c.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{})
		if rc := b.RequestCounts; rc.Errored != 1 || rc.Expired != 1 || rc.Succeeded != 1 {
			t.Errorf("request_counts = %+v", rc)
		}

		// Resubmitted, the same custom_ids are a second submission and succeed.
		b, err = c.Messages.Batches.New(ctx, batchOf("err-1", "exp-1"))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		for _, l := range results(t, c, b.ID) {
			if l.Result.Type != "succeeded" {
				t.Errorf("resubmitted %s = %s; want succeeded", l.CustomID, l.Result.RawJSON())
			}
		}
		want := map[string]int{"err-1": 2, "exp-1": 2, "ok-1": 1}
		if subs := s.Ledger().BatchSubmissions("k"); fmt.Sprint(subs) != fmt.Sprint(want) {
			t.Errorf("BatchSubmissions = %v; want %v", subs, want)
		}
		if fmt.Sprint(asked) != fmt.Sprint(map[string][]int{"err-1": {1, 2}, "exp-1": {1, 2}, "ok-1": {1}}) {
			t.Errorf("BatchOutcome calls = %v", asked)
		}
	})
}

func TestBatchInvalidParams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var called atomic.Int64
		s, c := newSim(t, Config{BatchOutcome: func(string, int) BatchOutcome { called.Add(1); return BatchSucceeded }})
		body := `{"requests":[
			{"custom_id":"no-model","params":{"model":"claude-nonesuch-1","max_tokens":5,"messages":[{"role":"user","content":"x"}]}},
			{"custom_id":"no-max","params":{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"x"}]}},
			{"custom_id":"no-messages","params":{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[]}},
			{"custom_id":"bad-block","params":{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":7}]}},
			{"custom_id":"fine","params":{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"x"}]}}]}`
		r := call(t, c, "POST", "/v1/messages/batches", "k", body)
		if r.status != 200 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		var b struct{ ID string }
		_ = json.Unmarshal([]byte(r.body), &b)
		time.Sleep(DefaultBatchLatency)
		want := map[string]string{"no-model": "not_found_error", "no-max": "invalid_request_error",
			"no-messages": "invalid_request_error", "bad-block": "invalid_request_error", "fine": ""}
		for _, l := range results(t, batchSDK(s, "k"), b.ID) {
			typ := l.Result.AsErrored().Error.Error.Type
			if w, ok := want[l.CustomID]; !ok || string(typ) != w || (w == "") != (l.Result.Type == "succeeded") {
				t.Errorf("%s = %s; want error %q", l.CustomID, l.Result.RawJSON(), w)
			}
		}
		if n := called.Load(); n != 1 {
			t.Errorf("BatchOutcome called %d times; want once, for the valid request", n)
		}
	})
}
