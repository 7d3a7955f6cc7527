package tokencount

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ratekeeper/ratekeeper/tier"
)

// batchBody builds a create body from custom_id and params pairs.
func batchBody(pairs ...string) []byte {
	var b strings.Builder
	b.WriteString(`{"requests":[`)
	for i := 0; i < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"custom_id":%s,"params":%s}`, pairs[i], pairs[i+1])
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

const (
	paramsHi    = `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`
	paramsLong  = `{"model":"claude-haiku-4-5","max_tokens":2000,"system":"Be brief.","messages":[{"role":"user","content":"Summarize the causes of the French Revolution in three sentences."}]}`
	paramsWide  = `{"model":"claude-3-haiku-20240307","max_tokens":250000,"messages":[{"role":"user","content":"hi"}]}`
	paramsBadFi = `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":5}]}`
)

// TestBatchEstimate: every request is estimated exactly as its params are as
// a Messages body, in order, and the totals are their sums.
func TestBatchEstimate(t *testing.T) {
	e := mustNew(t)
	params := []string{paramsHi, paramsLong, `{"model":"claude-opus-4-1","max_tokens":7,"thinking":{"type":"enabled","budget_tokens":3},"messages":[]}`}
	body := batchBody(`"a"`, params[0], `"req_\u0042-2"`, params[1], `"c"`, params[2])
	got, err := e.EstimateAnthropicBatch(body)
	if err != nil {
		t.Fatalf("EstimateAnthropicBatch = %v", err)
	}
	want := BatchEstimate{Requests: 3, BodyBytes: int64(len(body))}
	for i, id := range []string{"a", "req_B-2", "c"} {
		est, err := e.EstimateAnthropic([]byte(params[i]))
		if err != nil {
			t.Fatal(err)
		}
		want.Items = append(want.Items, BatchItem{CustomID: id, Estimate: est})
		want.InputTokens += est.InputTokens
		want.OutputReserve += est.OutputReserve
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EstimateAnthropicBatch (-want +got):\n%s", diff)
	}
}

// TestBatchErrors: what the API refuses at creation is a typed error that
// names the request and locates the problem in the whole body.
func TestBatchErrors(t *testing.T) {
	e := mustNew(t)
	long := `"` + strings.Repeat("x", 65) + `"`
	for _, tc := range []struct {
		name string
		body string
		is   error
		// index and custom_id of the *BatchItemError; index -1: none.
		index int
		id    string
		// path of the *MalformedError (empty: none); at is what the body
		// holds at its Offset.
		path, at string
		what     string // of the *TooLargeError
	}{
		{name: "not json", body: `{"requests":[{"custom_id":"a",]}`, is: ErrMalformed, index: 0, id: "a", path: "requests[0]", at: `]}`},
		{name: "not an object", body: `[]`, is: ErrMalformed, index: -1, at: `[]`},
		{name: "no requests", body: `{"reqs":[]}`, is: ErrMalformed, index: -1, path: "requests"},
		{name: "requests not an array", body: `{"requests":{}}`, is: ErrMalformed, index: -1, path: "requests", at: `{}}`},
		{name: "empty", body: `{"requests": []}`, is: ErrMalformed, index: -1, path: "requests", at: `[]}`},
		{name: "request not an object", body: `{"requests":[` + `{"custom_id":"a","params":` + paramsHi + `}, "b"]}`, is: ErrMalformed, index: 1, path: "requests[1]", at: `"b"]}`},
		{name: "no custom_id", body: `{"requests":[{"params":` + paramsHi + `}]}`, is: ErrMalformed, index: 0, path: "requests[0].custom_id", at: `{"params"`},
		{name: "custom_id a number", body: string(batchBody(`7`, paramsHi)), is: ErrMalformed, index: 0, path: "requests[0].custom_id", at: `7,`},
		{name: "custom_id empty", body: string(batchBody(`""`, paramsHi)), is: ErrMalformed, index: 0, path: "requests[0].custom_id", at: `"",`},
		{name: "custom_id with a space", body: string(batchBody(`"a b"`, paramsHi)), is: ErrMalformed, index: 0, id: "a b", path: "requests[0].custom_id", at: `"a b"`},
		{name: "custom_id too long", body: string(batchBody(long, paramsHi)), is: ErrMalformed, index: 0, id: strings.Repeat("x", 65), path: "requests[0].custom_id", at: long},
		{name: "custom_id twice", body: string(batchBody(`"a"`, paramsHi, `"b"`, paramsHi, `"a"`, paramsLong)), is: ErrMalformed, index: 2, id: "a", path: "requests[2].custom_id", at: `"a","params":` + paramsLong},
		{name: "no params", body: `{"requests":[{"custom_id":"a"}]}`, is: ErrMalformed, index: 0, id: "a", path: "requests[0].params", at: `{"custom_id"`},
		{name: "params missing model", body: string(batchBody(`"a"`, paramsHi, `"b"`, `{"max_tokens":1,"messages":[]}`)), is: ErrMalformed, index: 1, id: "b",
			path: "requests[1].params.model", at: `{"max_tokens":1`},
		{name: "params bad content", body: string(batchBody(`"a"`, paramsBadFi)), is: ErrMalformed, index: 0, id: "a", path: "requests[0].params.messages[0].content", at: `5}]}`},
		{name: "context window", body: string(batchBody(`"a"`, paramsHi, `"wide"`, paramsWide)), is: ErrTooLarge, index: 1, id: "wide", what: WhatContextWindow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			_, err := e.EstimateAnthropicBatch(body)
			if !errors.Is(err, tc.is) {
				t.Fatalf("EstimateAnthropicBatch(%s) = %v; want one matching %v", body, err, tc.is)
			}
			item, isItem := errors.AsType[*BatchItemError](err)
			switch {
			case tc.index < 0 && isItem:
				t.Errorf("error %v names a request; want one about the whole body", err)
			case tc.index >= 0 && !isItem:
				t.Errorf("error %v (%T) is no *BatchItemError", err, err)
			case isItem && (item.Index != tc.index || item.CustomID != tc.id):
				t.Errorf("error names request %d (custom_id %q); want %d (%q)", item.Index, item.CustomID, tc.index, tc.id)
			}
			if m, ok := errors.AsType[*MalformedError](err); ok {
				if m.Path != tc.path {
					t.Errorf("Path %q; want %q (%v)", m.Path, tc.path, err)
				}
				if m.Offset < 0 || m.Offset > len(body) || !bytes.HasPrefix(body[m.Offset:], []byte(tc.at)) {
					t.Errorf("Offset %d points at %.20q; want %.20q", m.Offset, body[min(max(m.Offset, 0), len(body)):], tc.at)
				}
			}
			if tl, ok := errors.AsType[*TooLargeError](err); ok != (tc.what != "") || ok && tl.What != tc.what {
				t.Errorf("error %v; want a *TooLargeError %q", err, tc.what)
			}
		})
	}
}

// TestBatchReportsEveryRequest: with bad requests the estimate is still
// complete, each request says its own problem, and the error is the first.
func TestBatchReportsEveryRequest(t *testing.T) {
	e := mustNew(t)
	body := batchBody(`"ok"`, paramsHi, `"wide"`, paramsWide, `"bad id"`, paramsLong, `"ok"`, paramsBadFi)
	b, err := e.EstimateAnthropicBatch(body)
	if b.Requests != 4 || len(b.Items) != 4 {
		t.Fatalf("%d requests, %d items; want 4", b.Requests, len(b.Items))
	}
	if err == nil || err != b.Items[1].Err {
		t.Errorf("error %v; want the first bad request's, %v", err, b.Items[1].Err)
	}
	ok, _ := e.EstimateAnthropic([]byte(paramsHi))
	long, _ := e.EstimateAnthropic([]byte(paramsLong))
	for i, want := range []struct {
		est  Estimate
		is   error
		what string
	}{{ok, nil, ""}, {Estimate{}, ErrTooLarge, WhatContextWindow}, {long, ErrMalformed, "custom_id"}, {Estimate{}, ErrMalformed, "not unique"}} {
		it := b.Items[i]
		if diff := cmp.Diff(want.est, it.Estimate); diff != "" {
			t.Errorf("requests[%d] estimate (-want +got):\n%s", i, diff)
		}
		if !errors.Is(it.Err, want.is) || want.is != nil && !strings.Contains(it.Err.Error(), want.what) {
			t.Errorf("requests[%d].Err = %v; want %v about %s", i, it.Err, want.is, want.what)
		}
		if ie, ok := errors.AsType[*BatchItemError](it.Err); want.is != nil && (!ok || ie.Index != i) {
			t.Errorf("requests[%d].Err = %#v; want a *BatchItemError with Index %d", i, it.Err, i)
		}
	}
	// The last request repeats the first's custom_id (reported before its
	// bad content); the totals cover what could be estimated.
	if s := b.Items[3].Err.Error(); !strings.Contains(s, `batch request 3 (custom_id "ok")`) {
		t.Errorf("requests[3].Err says %q", s)
	}
	if b.InputTokens != ok.InputTokens+long.InputTokens || b.OutputReserve != ok.OutputReserve+long.OutputReserve {
		t.Errorf("totals %d in, %d out; want the sums of the estimated requests", b.InputTokens, b.OutputReserve)
	}
}

// TestBatchLimits: more than MaxBatchRequests requests, or a body above
// MaxBatchBytes, is refused; the estimate still counts every request.
func TestBatchLimits(t *testing.T) {
	e := mustNew(t)
	var b bytes.Buffer
	b.WriteString(`{"requests":[`)
	for i := range MaxBatchRequests + 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"custom_id":"r%d","params":{"model":"claude-haiku-4-5","max_tokens":1,"messages":[]}}`, i)
	}
	b.WriteString(`]}`)
	est, err := e.EstimateAnthropicBatch(b.Bytes())
	if tl, ok := errors.AsType[*TooLargeError](err); !ok || tl.What != WhatBatchRequests || tl.Need != MaxBatchRequests+2 || tl.Limit != MaxBatchRequests {
		t.Errorf("%d requests: error %v; want a *TooLargeError for %d requests", MaxBatchRequests+2, err, MaxBatchRequests+2)
	}
	if est.Requests != MaxBatchRequests+2 || len(est.Items) != MaxBatchRequests {
		t.Errorf("%d requests and %d items; want %d and %d", est.Requests, len(est.Items), MaxBatchRequests+2, MaxBatchRequests)
	}

	// At the limit, the same requests are one batch.
	body := b.Bytes()
	cut := bytes.Index(body, []byte(fmt.Sprintf(`,{"custom_id":"r%d"`, MaxBatchRequests)))
	atLimit := append(body[:cut:cut], "]}"...)
	if est, err := e.EstimateAnthropicBatch(atLimit); err != nil || est.Requests != MaxBatchRequests {
		t.Errorf("%d requests: %d, %v; want accepted", MaxBatchRequests, est.Requests, err)
	}

	// A body above the size limit is refused before it is read.
	big := append(batchBody(`"a"`, paramsHi), bytes.Repeat([]byte(" "), MaxBatchBytes)...)
	est, err = e.EstimateAnthropicBatch(big)
	if tl, ok := errors.AsType[*TooLargeError](err); !ok || tl.What != WhatBodyBytes || tl.Need != int64(len(big)) || tl.Limit != MaxBatchBytes {
		t.Errorf("a %d-byte body: %v; want a *TooLargeError for its bytes", len(big), err)
	}
	if est.Requests != 0 || est.BodyBytes != int64(len(big)) {
		t.Errorf("a %d-byte body: %+v; want only its size", len(big), est)
	}
}

// TestBatchParamsSizeLimit: the Messages API's 32 MiB request limit is not
// one of a batch's requests; the batch's own limit bounds them.
func TestBatchParamsSizeLimit(t *testing.T) {
	e := mustNew(t)
	params := `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` +
		strings.Repeat("A", 32<<20) + `"}}]}]}`
	if _, err := e.EstimateAnthropic([]byte(params)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("EstimateAnthropic of %d bytes = %v; want the Messages limit", len(params), err)
	}
	b, err := e.EstimateAnthropicBatch(batchBody(`"pdf"`, params))
	if err != nil || b.Items[0].Estimate.BodyBytes != int64(len(params)) {
		t.Errorf("EstimateAnthropicBatch = %v; want the request accepted with its %d bytes", err, len(params))
	}
}

// TestBatchRepeatedRequestsKey: of two "requests" arrays the last counts,
// as encoding/json (and so the API) reads it.
func TestBatchRepeatedRequestsKey(t *testing.T) {
	e := mustNew(t)
	body := `{"requests":[{"custom_id":"a","params":{}}],"requests":[{"custom_id":"a","params":` + paramsHi + `}]}`
	b, err := e.EstimateAnthropicBatch([]byte(body))
	if err != nil || b.Requests != 1 || len(b.Items) != 1 || b.Items[0].Estimate.Model != "claude-sonnet-4-5" {
		t.Errorf("EstimateAnthropicBatch = %+v, %v; want the last array's one request", b, err)
	}
}

// TestBatchAllocsLinear: reading a batch allocates a bounded amount per
// request, whatever the batch's size: nothing per request grows with the
// batch (no copy of the body, no scan of earlier requests).
func TestBatchAllocsLinear(t *testing.T) {
	e := mustNew(t)
	body := func(n int) []byte {
		pairs := make([]string, 0, 2*n)
		for i := range n {
			pairs = append(pairs, fmt.Sprintf(`"r%d"`, i), paramsLong)
		}
		return batchBody(pairs...)
	}
	small, large := body(1_000), body(10_000)
	allocs := func(b []byte) float64 {
		return testing.AllocsPerRun(3, func() {
			if _, err := e.EstimateAnthropicBatch(b); err != nil {
				t.Fatal(err)
			}
		})
	}
	a, b := allocs(small), allocs(large)
	if per1, per10 := a/1_000, b/10_000; per10 > per1*1.1 || per10 > 4 {
		t.Errorf("allocations per request: %.2f for 1,000 requests, %.2f for 10,000; want a few, not growing", per1, per10)
	}
}

// FuzzEstimateAnthropicBatch: no input panics; errors are the typed ones and
// locate what they report within the body; an accepted batch is valid JSON
// whose every request is what EstimateAnthropic makes of its params.
func FuzzEstimateAnthropicBatch(f *testing.F) {
	f.Add(batchBody(`"a"`, paramsHi, `"b"`, paramsLong))
	f.Add(batchBody(`"a"`, paramsHi, `"a"`, paramsHi))
	f.Add(batchBody(`"x y"`, paramsBadFi, `"w"`, paramsWide))
	f.Add(batchBody(`"\u0041"`, `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"iVBORw0KGgo="}}]}]}`))
	f.Add([]byte(`{"requests":[],"requests":[1,{"custom_id":null}]}`))
	f.Add([]byte(`{"requests":[{"custom_id":"a","params":`))
	e := mustNew(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := e.EstimateAnthropicBatch(body)
		if b.Requests < len(b.Items) || len(b.Items) > MaxBatchRequests || b.BodyBytes != int64(len(body)) {
			t.Fatalf("%d requests, %d items, %d bytes of %d", b.Requests, len(b.Items), b.BodyBytes, len(body))
		}
		var in, out int64
		for i, it := range b.Items {
			if it.Estimate == (Estimate{}) {
				if it.Err == nil {
					t.Fatalf("requests[%d] has neither an estimate nor an error", i)
				}
			} else {
				checkEstimate(t, it.Estimate, nil)
			}
			in, out = in+it.Estimate.InputTokens, out+it.Estimate.OutputReserve
		}
		if b.InputTokens != in || b.OutputReserve != out {
			t.Fatalf("totals %d, %d; want the sums %d, %d", b.InputTokens, b.OutputReserve, in, out)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v matches neither ErrMalformed nor ErrTooLarge", err)
			}
			if ie, ok := errors.AsType[*BatchItemError](err); ok && (ie.Index > len(b.Items) || ie.Index >= b.Requests) {
				t.Fatalf("error names request %d of %d", ie.Index, b.Requests)
			}
			if m, ok := errors.AsType[*MalformedError](err); ok && (m.Offset < 0 || m.Offset > len(body)) {
				t.Fatalf("error at byte %d of %d", m.Offset, len(body))
			}
			return
		}
		if !json.Valid(body) || b.Requests == 0 || b.Requests != len(b.Items) {
			t.Fatalf("accepted %q as %d requests", body, b.Requests)
		}
		var top map[string]json.RawMessage
		var reqs []map[string]json.RawMessage
		if json.Unmarshal(body, &top) != nil || json.Unmarshal(top["requests"], &reqs) != nil || len(reqs) != b.Requests {
			t.Fatalf("encoding/json reads %q otherwise", body)
		}
		seen := map[string]bool{}
		for i, r := range reqs {
			it := b.Items[i]
			var id string
			if json.Unmarshal(r["custom_id"], &id) != nil || id != it.CustomID || !validCustomID(id) || seen[id] {
				t.Fatalf("requests[%d]: custom_id %q accepted as %q", i, r["custom_id"], it.CustomID)
			}
			seen[id] = true
			want, err := e.EstimateAnthropic(r["params"])
			if err != nil || cmp.Diff(want, it.Estimate) != "" {
				t.Fatalf("requests[%d]: %+v; EstimateAnthropic says %+v, %v", i, it.Estimate, want, err)
			}
		}
	})
}

// BenchmarkEstimateAnthropicBatch compares a create body of n requests with
// EstimateAnthropic on each request's params, in the same run: the batch's
// cost per request should not grow with n.
func BenchmarkEstimateAnthropicBatch(b *testing.B) {
	e := mustNew(b)
	for _, n := range []int{1_000, 100_000} {
		pairs := make([]string, 0, 2*n)
		for i := range n {
			pairs = append(pairs, fmt.Sprintf(`"r%d"`, i), paramsLong)
		}
		body := batchBody(pairs...)
		b.Run(fmt.Sprintf("requests=%d/method=batch", n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.EstimateAnthropicBatch(body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("requests=%d/method=each", n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			params := []byte(paramsLong)
			for b.Loop() {
				for range n {
					if _, err := e.EstimateAnthropic(params); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// TestBatchLimitsAgreeWithCatalog: the batch limits are constants here
// (callers size buffers and checks with them) and data in tier's catalog
// (per tier, where the Runner splits batches): they must say the same. The
// catalog's size is the smaller reading of "256 MB", that batches are built
// to; the refusal here takes the larger.
func TestBatchLimitsAgreeWithCatalog(t *testing.T) {
	n := 0
	for _, ti := range tier.Tiers(tier.Anthropic) {
		b := ti.Batches
		if b.MaxRequestsPerBatch == 0 {
			continue // not published for this tier
		}
		n++
		if b.MaxRequestsPerBatch != MaxBatchRequests || b.MaxBatchBytes > MaxBatchBytes || b.MaxBatchBytes < MaxBatchBytes*95/100 {
			t.Errorf("tier %s: batches of %d requests, %d bytes; tokencount refuses above %d, %d",
				ti.Name, b.MaxRequestsPerBatch, b.MaxBatchBytes, MaxBatchRequests, MaxBatchBytes)
		}
	}
	if n == 0 {
		t.Fatal("no tier publishes batch limits")
	}
}
