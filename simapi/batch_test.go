package simapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/ratekeeper/ratekeeper/internal/simtok"
)

// batchSDK returns the real SDK client for key, served in-process by s, without retries
// unless opts add them.
func batchSDK(s *Server, key string, opts ...aoption.RequestOption) anthropic.Client {
	return anthropic.NewClient(append([]aoption.RequestOption{
		aoption.WithAPIKey(key), aoption.WithMaxRetries(0),
		aoption.WithBaseURL("http://simapi.test/"),
		aoption.WithHTTPClient(&http.Client{Transport: s.Transport()}),
	}, opts...)...)
}

// batchOf returns a create with one small Messages request per custom_id.
func batchOf(ids ...string) anthropic.MessageBatchNewParams {
	var p anthropic.MessageBatchNewParams
	for i, id := range ids {
		p.Requests = append(p.Requests, anthropic.MessageBatchNewParamsRequest{
			CustomID: id,
			Params: anthropic.MessageBatchNewParamsRequestParams{
				Model:     anthropic.ModelClaudeSonnet4_6,
				MaxTokens: int64(50 + i),
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Summarise item " + id))},
			},
		})
	}
	return p
}

// apiStatus returns the status and error type of an SDK error, or 0 and "".
func apiStatus(err error) (int, string) {
	var e *anthropic.Error
	if !errors.As(err, &e) {
		return 0, ""
	}
	var body struct{ Error struct{ Type string } }
	_ = json.Unmarshal([]byte(e.RawJSON()), &body)
	return e.StatusCode, body.Error.Type
}

// results reads every result line of batch id, in the order served.
func results(t *testing.T, c anthropic.Client, id string) []anthropic.MessageBatchIndividualResponse {
	t.Helper()
	stream := c.Messages.Batches.ResultsStreaming(context.Background(), id, anthropic.MessageBatchResultsParams{})
	defer stream.Close()
	var out []anthropic.MessageBatchIndividualResponse
	for stream.Next() {
		out = append(out, stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("ResultsStreaming(%s): %v", id, err)
	}
	return out
}

func TestBatchLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const latency = 8 * time.Minute
		s, _ := newSim(t, Config{BatchLatency: latency})
		rec := &bodyRecorder{}
		c := batchSDK(s, "k", aoption.WithMiddleware(rec.middleware))
		ctx := context.Background()
		ids := []string{"alpha", "bravo", "charlie", "delta"}
		start := time.Now()

		b, err := c.Messages.Batches.New(ctx, batchOf(ids...))
		if err != nil {
			t.Fatalf("Batches.New: %v", err)
		}
		var sent struct {
			Requests []struct {
				CustomID string          `json:"custom_id"`
				Params   json.RawMessage `json:"params"`
			}
		}
		if err := json.Unmarshal(rec.body(), &sent); err != nil || len(sent.Requests) != len(ids) {
			t.Fatalf("the SDK sent %s (%v)", rec.body(), err)
		}
		if b.Type != "message_batch" || b.ProcessingStatus != anthropic.MessageBatchProcessingStatusInProgress ||
			len(b.ID) < len("msgbatch_x") || b.ID[:9] != "msgbatch_" {
			t.Errorf("created batch = %s", b.RawJSON())
		}
		if rc := b.RequestCounts; rc.Processing != 4 || rc.Succeeded+rc.Errored+rc.Canceled+rc.Expired != 0 {
			t.Errorf("created request_counts = %+v; want 4 processing", rc)
		}
		if !b.CreatedAt.Equal(start) || !b.ExpiresAt.Equal(start.Add(24*time.Hour)) || !b.EndedAt.IsZero() ||
			!b.CancelInitiatedAt.IsZero() || !b.ArchivedAt.IsZero() || b.ResultsURL != "" {
			t.Errorf("created batch times or results_url = %s", b.RawJSON())
		}
		if early := c.Messages.Batches.ResultsStreaming(ctx, b.ID, anthropic.MessageBatchResultsParams{}); early.Next() ||
			!is(early.Err(), 400, "invalid_request_error") {
			t.Errorf("results before the end: %v; want 400 invalid_request_error", early.Err())
		}

		// Item i of 4 is processed at latency*(i+1)/4: half-way, two are done.
		time.Sleep(latency / 2)
		got, err := c.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{})
		if err != nil {
			t.Fatalf("Batches.Get: %v", err)
		}
		if rc := got.RequestCounts; got.ProcessingStatus != "in_progress" || rc.Processing != 2 || rc.Succeeded != 2 {
			t.Errorf("half-way batch = %s; want in_progress, 2 processing, 2 succeeded", got.RawJSON())
		}
		if q := s.BatchQueue("k"); q != 2 {
			t.Errorf("BatchQueue = %d half-way; want 2", q)
		}

		time.Sleep(latency / 2)
		got, err = c.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{})
		if err != nil {
			t.Fatalf("Batches.Get: %v", err)
		}
		if got.ProcessingStatus != "ended" || got.RequestCounts.Succeeded != 4 || got.RequestCounts.Processing != 0 ||
			!got.EndedAt.Equal(start.Add(latency)) || got.ResultsURL != "http://simapi.test/v1/messages/batches/"+b.ID+"/results" {
			t.Errorf("ended batch = %s", got.RawJSON())
		}

		lines := results(t, c, b.ID)
		var order []string
		for _, l := range lines {
			order = append(order, l.CustomID)
		}
		if slices.Equal(order, ids) {
			t.Errorf("results in submission order %v; want another order", order)
		}
		if sorted := slices.Sorted(slices.Values(order)); !slices.Equal(sorted, []string{"alpha", "bravo", "charlie", "delta"}) {
			t.Fatalf("results for %v; want one per custom_id", order)
		}
		for _, l := range lines {
			i := slices.Index(ids, l.CustomID)
			params := sent.Requests[i].Params
			in, err := simtok.CountAnthropicRequest(params)
			if err != nil {
				t.Fatal(err)
			}
			out := s.OutputTokens(nil, params, int64(50+i))
			m := l.Result.AsSucceeded().Message
			if l.Result.Type != "succeeded" || m.Usage.InputTokens != in || m.Usage.OutputTokens != out ||
				m.Usage.ServiceTier != "batch" || string(m.Model) != string(anthropic.ModelClaudeSonnet4_6) ||
				len(m.Content) != 1 || m.Content[0].Text == "" || m.ID == "" {
				t.Errorf("result %s = %s; want succeeded, usage in %d out %d", l.CustomID, l.RawJSON(), in, out)
			}
		}
		// A batch is not charged to the live Messages buckets.
		if u := s.Ledger().Usage("", "", Requests); u != 0 {
			t.Errorf("Messages requests charged = %d; want 0", u)
		}

		recs := s.Ledger().Batches("k")
		if len(recs) != 1 || recs[0].ID != b.ID || recs[0].Requests != 4 || recs[0].Bytes != int64(len(rec.body())) ||
			!recs[0].Created.Equal(start) || !recs[0].Ended.Equal(start.Add(latency)) {
			t.Errorf("Ledger.Batches = %+v", recs)
		}
		if subs := s.Ledger().BatchSubmissions("k"); len(subs) != 4 || subs["alpha"] != 1 || subs["delta"] != 1 {
			t.Errorf("BatchSubmissions = %v; want each custom_id once", subs)
		}

		del, err := c.Messages.Batches.Delete(ctx, b.ID, anthropic.MessageBatchDeleteParams{})
		if err != nil || del.ID != b.ID || del.Type != "message_batch_deleted" {
			t.Fatalf("Batches.Delete = %+v, %v", del, err)
		}
		if _, err := c.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{}); !is(err, 404, "not_found_error") {
			t.Errorf("Get after Delete: %v; want 404 not_found_error", err)
		}
		// Calls: create, results (400, before the end), 2 gets, results, delete, get (404).
		if bc := s.Ledger().BatchCounts("k"); bc != (BatchCounts{Calls: 7, Created: 1, OK: 4, Rejected: 2}) {
			t.Errorf("BatchCounts = %+v", bc)
		}
		if len(s.Ledger().Batches("k")) != 1 {
			t.Error("Delete removed the ledger's record")
		}
	})
}

// is reports whether err is an API error of that status and type.
func is(err error, status int, typ string) bool {
	st, ty := apiStatus(err)
	return st == status && ty == typ
}

func TestBatchResultsBeforeEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newSim(t, Config{})
		c := batchSDK(s, "k")
		b, err := c.Messages.Batches.New(context.Background(), batchOf("a"))
		if err != nil {
			t.Fatal(err)
		}
		stream := c.Messages.Batches.ResultsStreaming(context.Background(), b.ID, anthropic.MessageBatchResultsParams{})
		if stream.Next() || !is(stream.Err(), 400, "invalid_request_error") {
			t.Errorf("results of an in-progress batch: %v; want 400 invalid_request_error", stream.Err())
		}
		_, err = c.Messages.Batches.Delete(context.Background(), b.ID, anthropic.MessageBatchDeleteParams{})
		if !is(err, 400, "invalid_request_error") {
			t.Errorf("Delete of an in-progress batch: %v; want 400 invalid_request_error", err)
		}
		time.Sleep(DefaultBatchLatency)
		if len(results(t, c, b.ID)) != 1 {
			t.Error("no result after DefaultBatchLatency")
		}
	})
}

func TestBatchLoopback(t *testing.T) {
	s, err := New(Config{BatchLatency: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	url, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	c := anthropic.NewClient(aoption.WithAPIKey("k"), aoption.WithBaseURL(url), aoption.WithMaxRetries(0))
	ctx := context.Background()
	b, err := c.Messages.Batches.New(ctx, batchOf("one", "two"))
	if err != nil {
		t.Fatal(err)
	}
	for b.ProcessingStatus != "ended" {
		time.Sleep(time.Millisecond) // a negative BatchLatency ends the batch 1ns after creation
		if b, err = c.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{}); err != nil {
			t.Fatal(err)
		}
	}
	if want := url + "/v1/messages/batches/" + b.ID + "/results"; b.ResultsURL != want {
		t.Errorf("results_url = %q; want %q", b.ResultsURL, want)
	}
	if n := len(results(t, c, b.ID)); n != 2 {
		t.Errorf("%d results; want 2", n)
	}
}

func TestBatchOtherKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newSim(t, Config{BatchLatency: time.Second})
		a, other := batchSDK(s, "key-a"), batchSDK(s, "key-b")
		ctx := context.Background()
		b, err := a.Messages.Batches.New(ctx, batchOf("x"))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		_, err = other.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{})
		if !is(err, 404, "not_found_error") {
			t.Errorf("another key's Get: %v; want 404 not_found_error", err)
		}
		stream := other.Messages.Batches.ResultsStreaming(ctx, b.ID, anthropic.MessageBatchResultsParams{})
		if stream.Next() || !is(stream.Err(), 404, "not_found_error") {
			t.Errorf("another key's results: %v; want 404", stream.Err())
		}
		if _, err := other.Messages.Batches.Cancel(ctx, b.ID, anthropic.MessageBatchCancelParams{}); !is(err, 404, "not_found_error") {
			t.Errorf("another key's Cancel: %v; want 404", err)
		}
		if _, err := other.Messages.Batches.Delete(ctx, b.ID, anthropic.MessageBatchDeleteParams{}); !is(err, 404, "not_found_error") {
			t.Errorf("another key's Delete: %v; want 404", err)
		}
		page, err := other.Messages.Batches.List(ctx, anthropic.MessageBatchListParams{})
		if err != nil || len(page.Data) != 0 || page.HasMore {
			t.Errorf("another key's List = %v, %v; want empty", page, err)
		}
		if _, err := a.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{}); err != nil {
			t.Errorf("the owner's Get: %v", err)
		}
	})
}

func TestBatchList(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newSim(t, Config{})
		c := batchSDK(s, "k")
		ctx := context.Background()
		var ids []string // oldest first
		for i := range 5 {
			b, err := c.Messages.Batches.New(ctx, batchOf(fmt.Sprint("r", i)))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, b.ID)
			time.Sleep(time.Second)
		}
		newest := slices.Clone(ids)
		slices.Reverse(newest)

		page, err := c.Messages.Batches.List(ctx, anthropic.MessageBatchListParams{Limit: anthropic.Int(2)})
		if err != nil {
			t.Fatal(err)
		}
		if got := batchIDs(page.Data); !slices.Equal(got, newest[:2]) || !page.HasMore || page.FirstID != newest[0] || page.LastID != newest[1] {
			t.Errorf("first page = %v has_more %v first %s last %s; want %v", got, page.HasMore, page.FirstID, page.LastID, newest[:2])
		}
		var all []string
		for b := range c.Messages.Batches.ListAutoPaging(ctx, anthropic.MessageBatchListParams{Limit: anthropic.Int(2)}).All() {
			all = append(all, b.ID)
		}
		if !slices.Equal(all, newest) {
			t.Errorf("ListAutoPaging = %v; want %v", all, newest)
		}
		page, err = c.Messages.Batches.List(ctx, anthropic.MessageBatchListParams{})
		if err != nil || !slices.Equal(batchIDs(page.Data), newest) || page.HasMore {
			t.Errorf("default page = %v, %v; want all 5, no more", batchIDs(page.Data), err)
		}
		// before_id pages towards the newest: the two just newer than ids[1].
		page, err = c.Messages.Batches.List(ctx, anthropic.MessageBatchListParams{BeforeID: anthropic.String(ids[1]), Limit: anthropic.Int(2)})
		if err != nil || !slices.Equal(batchIDs(page.Data), []string{ids[3], ids[2]}) || !page.HasMore {
			t.Errorf("before %s = %v has_more %v, %v; want %v", ids[1], batchIDs(page.Data), page.HasMore, err, []string{ids[3], ids[2]})
		}
		next, err := page.GetNextPage()
		if err != nil || next == nil || !slices.Equal(batchIDs(next.Data), []string{ids[4]}) || next.HasMore {
			t.Errorf("the page before that = %v, %v; want [%s]", next, err, ids[4])
		}
		for _, q := range []anthropic.MessageBatchListParams{
			{Limit: anthropic.Int(0)}, {Limit: anthropic.Int(1001)}, {AfterID: anthropic.String("nope")},
		} {
			if _, err := c.Messages.Batches.List(ctx, q); !is(err, 400, "invalid_request_error") {
				t.Errorf("List(%+v): %v; want 400", q, err)
			}
		}
	})
}

func batchIDs(bs []anthropic.MessageBatch) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.ID)
	}
	return out
}
