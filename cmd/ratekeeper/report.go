package main

import (
	"slices"
	"sort"
	"time"
)

// The dimensions usageSeries sums, as the report's panels name them.
const (
	dimRequests = "rpm"  // requests, counted at SentAt
	dimInput    = "itpm" // input tokens, counted at DoneAt
	dimOutput   = "otpm" // output tokens, counted at DoneAt
	dimTokens   = "tpm"  // input and output tokens together (OpenAI), at DoneAt
)

// reportWindow is the trailing window the usage lines sum over: the limits
// are per minute.
const reportWindow = time.Minute

// reportMaxTokens bounds one record's token count, as the budget does
// (tier.MaxLimit), so that sums of garbage cannot overflow.
const reportMaxTokens = 1 << 40

// inputTokens is the input a usage counts toward ITPM (and TPM):
// Anthropic's input_tokens exclude the cache writes, which count, and the
// cache reads, which count only on some older classes (the record does not
// say which, so they are left out); OpenAI's prompt_tokens include the
// cached tokens and report no cache writes.
func inputTokens(u *Usage) int64 {
	return min(max(u.InputTokens, 0), reportMaxTokens) + min(max(u.CacheCreationInputTokens, 0), reportMaxTokens)
}

// outputTokens is the output a usage counts toward OTPM (and TPM).
func outputTokens(u *Usage) int64 {
	return min(max(u.OutputTokens, 0), reportMaxTokens)
}

// usageSeries returns the trailing-minute usage of dimension dim (dimRequests,
// dimInput, dimOutput or dimTokens) at the n instants start, start+step, …:
// at each instant t, the sum of what recs used in (t-60s, t]. A request
// counts 1 at its SentAt (records never sent count nothing; retries are not
// seen); tokens count at DoneAt, from the Usage of succeeded records.
// Records never queued (zero QueuedAt) and unknown dimensions count nothing.
func usageSeries(recs []Record, dim string, start time.Time, step time.Duration, n int) []float64 {
	if n <= 0 {
		return nil
	}
	type event struct {
		at time.Time
		v  int64
	}
	var ev []event
	for _, r := range recs {
		if r.QueuedAt.IsZero() {
			continue
		}
		if dim == dimRequests {
			if !r.SentAt.IsZero() {
				ev = append(ev, event{r.SentAt, 1})
			}
			continue
		}
		if r.Status != statusSucceeded || r.Usage == nil || r.DoneAt.IsZero() {
			continue
		}
		var v int64
		switch dim {
		case dimInput:
			v = inputTokens(r.Usage)
		case dimOutput:
			v = outputTokens(r.Usage)
		case dimTokens:
			v = inputTokens(r.Usage) + outputTokens(r.Usage)
		}
		if v > 0 {
			ev = append(ev, event{r.DoneAt, v})
		}
	}
	slices.SortFunc(ev, func(a, b event) int { return a.at.Compare(b.at) })
	sums := make([]int64, len(ev)+1) // sums[i] is the total of ev[:i]
	for i, e := range ev {
		sums[i+1] = sums[i] + e.v
	}
	upTo := func(t time.Time) int64 { // the total of the events at or before t
		return sums[sort.Search(len(ev), func(i int) bool { return ev[i].at.After(t) })]
	}
	out := make([]float64, n)
	for i := range out {
		t := start.Add(time.Duration(i) * step)
		out[i] = float64(upTo(t) - upTo(t.Add(-reportWindow)))
	}
	return out
}

// reportSpans is a set of half-open intervals [start, end) that counts how
// many hold an instant.
type reportSpans struct{ starts, ends []time.Time }

// add adds [a, b); an empty or negative interval is left out.
func (s *reportSpans) add(a, b time.Time) {
	if a.Before(b) {
		s.starts, s.ends = append(s.starts, a), append(s.ends, b)
	}
}

// sort sorts the intervals' ends, for at.
func (s *reportSpans) sort() {
	slices.SortFunc(s.starts, time.Time.Compare)
	slices.SortFunc(s.ends, time.Time.Compare)
}

// at is the number of intervals that hold t: those begun at or before t,
// less those ended at or before it (each ends after it begins).
func (s *reportSpans) at(t time.Time) int {
	upTo := func(ts []time.Time) int { return sort.Search(len(ts), func(i int) bool { return ts[i].After(t) }) }
	return upTo(s.starts) - upTo(s.ends)
}

// concurrencySeries returns, at the n instants start, start+step, …, how
// many of recs were waiting (QueuedAt ≤ t < SentAt, or QueuedAt ≤ t <
// DoneAt for a record never sent) and how many were in flight (SentAt ≤ t
// < DoneAt). Records never queued count nothing, nor do empty or negative
// intervals.
func concurrencySeries(recs []Record, start time.Time, step time.Duration, n int) (waiting, inFlight []int) {
	if n <= 0 {
		return nil, nil
	}
	var wait, fly reportSpans
	for _, r := range recs {
		switch {
		case r.QueuedAt.IsZero():
		case r.SentAt.IsZero():
			wait.add(r.QueuedAt, r.DoneAt)
		default:
			wait.add(r.QueuedAt, r.SentAt)
			fly.add(r.SentAt, r.DoneAt)
		}
	}
	wait.sort()
	fly.sort()
	waiting, inFlight = make([]int, n), make([]int, n)
	for i := range n {
		t := start.Add(time.Duration(i) * step)
		waiting[i], inFlight[i] = wait.at(t), fly.at(t)
	}
	return waiting, inFlight
}
