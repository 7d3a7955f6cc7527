package simapi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
)

func TestBatchCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newSim(t, Config{BatchLatency: 10 * time.Minute})
		c := batchSDK(s, "k")
		ctx := context.Background()
		ids := []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"}
		b, err := c.Messages.Batches.New(ctx, batchOf(ids...))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		// One request a minute: three are done at 3m30s.
		time.Sleep(3*time.Minute + 30*time.Second)
		got, err := c.Messages.Batches.Cancel(ctx, b.ID, anthropic.MessageBatchCancelParams{})
		if err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if got.ProcessingStatus != "canceling" || !got.CancelInitiatedAt.Equal(time.Now()) || got.RequestCounts.Succeeded != 3 ||
			got.RequestCounts.Processing != 7 {
			t.Errorf("canceling batch = %s", got.RawJSON())
		}
		// Canceling again changes nothing.
		again, err := c.Messages.Batches.Cancel(ctx, b.ID, anthropic.MessageBatchCancelParams{})
		if err != nil || !again.CancelInitiatedAt.Equal(got.CancelInitiatedAt) {
			t.Errorf("second Cancel = %v, %v; want the same cancel_initiated_at", again, err)
		}
		time.Sleep(batchCancelDelay)
		got, err = c.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{})
		if err != nil {
			t.Fatal(err)
		}
		if rc := got.RequestCounts; got.ProcessingStatus != "ended" || rc.Succeeded != 3 || rc.Canceled != 7 || rc.Processing != 0 ||
			!got.EndedAt.Equal(got.CancelInitiatedAt.Add(batchCancelDelay)) {
			t.Errorf("canceled batch = %s; want ended, 3 succeeded, 7 canceled", got.RawJSON())
		}
		canceled := 0
		for _, l := range results(t, c, b.ID) {
			if l.Result.Type == "canceled" {
				canceled++
			}
		}
		if canceled != 7 {
			t.Errorf("%d canceled results; want 7", canceled)
		}
		if _, err := c.Messages.Batches.Cancel(ctx, b.ID, anthropic.MessageBatchCancelParams{}); !is(err, 400, "invalid_request_error") {
			t.Errorf("Cancel of an ended batch: %v; want 400", err)
		}
		if q := s.BatchQueue("k"); q != 0 {
			t.Errorf("BatchQueue = %d after the cancel; want 0", q)
		}
		if recs := s.Ledger().Batches("k"); !recs[0].Ended.Equal(start.Add(3*time.Minute + 30*time.Second + batchCancelDelay)) {
			t.Errorf("ledger Ended = %v", recs[0].Ended)
		}
	})
}

func TestBatchExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newSim(t, Config{BatchLatency: 48 * time.Hour})
		c := batchSDK(s, "k")
		b, err := c.Messages.Batches.New(context.Background(), batchOf("first", "second"))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(25 * time.Hour)
		// The timer has ended the batch, with nobody looking.
		recs := s.Ledger().Batches("k")
		if !recs[0].Ended.Equal(b.ExpiresAt) {
			t.Errorf("ledger Ended = %v; want the expiry %v", recs[0].Ended, b.ExpiresAt)
		}
		got, _ := c.Messages.Batches.Get(context.Background(), b.ID, anthropic.MessageBatchGetParams{})
		// "first" is due at 24h, the expiry itself: processed. "second" expires.
		if rc := got.RequestCounts; got.ProcessingStatus != "ended" || rc.Succeeded != 1 || rc.Expired != 1 {
			t.Errorf("expired batch = %s", got.RawJSON())
		}
	})
}

func TestBatchCloseStopsTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{BatchLatency: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		c := batchSDK(s, "k")
		if _, err := c.Messages.Batches.New(context.Background(), batchOf("a", "b")); err != nil {
			t.Fatal(err)
		}
		s.Close()
		time.Sleep(2 * time.Hour) // a timer left running would fire here and end the batch
		if recs := s.Ledger().Batches("k"); !recs[0].Ended.IsZero() {
			t.Errorf("a batch ended after Close: %+v", recs[0])
		}
		if _, err := c.Messages.Batches.List(context.Background(), anthropic.MessageBatchListParams{}); !errors.Is(err, ErrClosed) {
			t.Errorf("List after Close: %v; want ErrClosed", err)
		}
	})
}

func TestBatchConfig(t *testing.T) {
	for _, cfg := range []Config{{BatchRPM: -1}, {BatchQueue: -1}, {MaxBatchRequests: -1}, {MaxBatchBytes: -1}} {
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "negative") {
			t.Errorf("New(%+v) = %v; want a negative-limit error", cfg, err)
		}
	}
	for o, want := range map[BatchOutcome]string{BatchSucceeded: "succeeded", BatchErrored: "errored", BatchExpired: "expired", 9: "BatchOutcome(9)"} {
		if o.String() != want {
			t.Errorf("BatchOutcome(%d).String() = %q; want %q", int(o), o.String(), want)
		}
	}
}
