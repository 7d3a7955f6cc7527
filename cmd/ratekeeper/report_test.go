package main

import (
	"slices"
	"testing"
	"time"
)

// reportT0 is the synthetic runs' first instant.
var reportT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// at is reportT0 plus s seconds.
func at(s float64) time.Time { return reportT0.Add(time.Duration(s * float64(time.Second))) }

// okRec is a succeeded record of model, queued at q, sent at s and done at
// d (seconds after reportT0), that used in input and out output tokens.
func okRec(model string, q, s, d float64, in, out int64) Record {
	return Record{Model: model, Status: statusSucceeded, Attempts: 1, QueuedAt: at(q), SentAt: at(s), DoneAt: at(d),
		Usage: &Usage{InputTokens: in, OutputTokens: out}}
}

// TestReportUsageSeries: the trailing-minute sums are exact at each
// sample, the window being (t-60s, t]: requests at SentAt, tokens at
// DoneAt from succeeded records only, cache writes counted as input.
func TestReportUsageSeries(t *testing.T) {
	recs := []Record{
		okRec("m", 0, 0, 5, 100, 10),
		okRec("m", 0, 10, 12, 200, 20),
		okRec("m", 0, 30, 61, 400, 40),
		okRec("m", 0, 70, 75, 800, 80),
		// Failed: a request sent (counted in rpm), no tokens.
		{Model: "m", Status: statusFailed, QueuedAt: at(0), SentAt: at(20), DoneAt: at(25), RateLimited: 3},
		// Never sent: counts nothing.
		{Model: "m", Status: statusInvalid, QueuedAt: at(0), DoneAt: at(1)},
		// Never queued: counts nothing, though its times are set.
		{Model: "m", Status: statusSucceeded, SentAt: at(1), DoneAt: at(2), Usage: &Usage{InputTokens: 1e6, OutputTokens: 1e6}},
	}
	recs[1].Usage.CacheCreationInputTokens = 50
	recs[1].Usage.CacheReadInputTokens = 1000 // not counted
	// Samples at 0, 10, …, 80 s.
	for _, c := range []struct {
		dim  string
		want []float64
	}{
		// Sent at 0, 10, 20, 30, 70.
		{dimRequests, []float64{1, 2, 3, 4, 4, 4, 3, 3, 2}},
		// Done at 5 (100), 12 (250), 61 (400), 75 (800).
		{dimInput, []float64{0, 100, 350, 350, 350, 350, 350, 650, 1200}},
		{dimOutput, []float64{0, 10, 30, 30, 30, 30, 30, 60, 120}},
		{dimTokens, []float64{0, 110, 380, 380, 380, 380, 380, 710, 1320}},
		{"rpd", []float64{0, 0, 0, 0, 0, 0, 0, 0, 0}},
	} {
		got := usageSeries(recs, c.dim, reportT0, 10*time.Second, 9)
		if !slices.Equal(got, c.want) {
			t.Errorf("usageSeries(%s) = %v, want %v", c.dim, got, c.want)
		}
	}
	// The window holds t and not t-60s: at 60 s the request sent at 0 has
	// left it; at 59.999 s it has not.
	if got := usageSeries(recs, dimRequests, at(59.999), time.Millisecond, 2); !slices.Equal(got, []float64{4, 3}) {
		t.Errorf("usageSeries around 60 s = %v, want [4 3]", got)
	}
	if got := usageSeries(recs, dimRequests, reportT0, time.Second, 0); len(got) != 0 {
		t.Errorf("usageSeries with n = 0 = %v, want none", got)
	}
}

// TestReportConcurrencySeries: waiting is queued-to-sent (queued-to-done
// when never sent), in flight is sent-to-done, each half-open.
func TestReportConcurrencySeries(t *testing.T) {
	recs := []Record{
		okRec("m", 0, 2, 5, 1, 1),
		okRec("m", 0, 4, 6, 1, 1),
		okRec("m", 1, 1, 3, 1, 1), // sent as soon as queued: never waiting
		{Model: "m", Status: statusInvalid, QueuedAt: at(0), DoneAt: at(3)},               // refused after waiting
		{Model: "m", Status: statusInvalid},                                               // never queued
		{Model: "m", Status: statusFailed, QueuedAt: at(5), SentAt: at(4), DoneAt: at(2)}, // the clock went back: nothing
	}
	waiting, inFlight := concurrencySeries(recs, reportT0, time.Second, 8)
	if want := []int{3, 3, 2, 1, 0, 0, 0, 0}; !slices.Equal(waiting, want) {
		t.Errorf("waiting = %v, want %v", waiting, want)
	}
	if want := []int{0, 1, 2, 1, 2, 1, 0, 0}; !slices.Equal(inFlight, want) {
		t.Errorf("in flight = %v, want %v", inFlight, want)
	}
	if w, f := concurrencySeries(recs, reportT0, time.Second, 0); len(w)+len(f) != 0 {
		t.Errorf("concurrencySeries with n = 0 = %v, %v", w, f)
	}
}
