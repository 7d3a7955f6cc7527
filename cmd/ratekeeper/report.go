package main

import (
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// reportLimits are the per-minute limits of one model's budget, for the
// chart's limit lines (0 = not limited).
type reportLimits struct{ RPM, ITPM, OTPM, TPM int64 }

// The dimensions usageSeries sums, as the report's panels name them.
const (
	reportDimRequests = "rpm"  // requests, counted at SentAt
	reportDimInput    = "itpm" // input tokens, counted at DoneAt
	reportDimOutput   = "otpm" // output tokens, counted at DoneAt
	reportDimTokens   = "tpm"  // input and output tokens together (OpenAI), at DoneAt
)

// reportWindow is the trailing window the usage lines sum over: the limits
// are per minute.
const reportWindow = time.Minute

// reportSamples is the number of instants every line of the chart is
// sampled at, from the first instant of the run to the last.
const reportSamples = 401

// reportMaxTokens bounds one record's token count, as the budget does
// (tier.MaxLimit), so that sums of garbage cannot overflow.
const reportMaxTokens = 1 << 40

// reportFormat maps the --report file name to writeReport's format: "html"
// for .html and .htm, "svg" for .svg (in any case).
func reportFormat(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".html", ".htm":
		return "html", nil
	case ".svg":
		return "svg", nil
	}
	return "", usageErr("--report %q: the file name must end in .html, .htm (a page with the chart and a summary table) or .svg (the chart alone)", path)
}

// writeReport draws recs as a chart: format "svg" (one standalone SVG
// document) or "html" (a self-contained HTML page embedding the SVG and a
// small summary table; nothing is fetched from the network). limits gives
// the limit lines of each model; a model without limits gets panels of
// requests, input and output tokens with no limit line.
func writeReport(w io.Writer, format string, title string, recs []Record, limits map[string]reportLimits) error {
	if title == "" {
		title = "ratekeeper run"
	}
	rep := newReportRun(recs, limits)
	var doc string
	switch format {
	case "svg":
		doc = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + rep.svg(title)
	case "html":
		var b strings.Builder
		err := reportPage.Execute(&b, reportPageData{
			Title: reportClean(title),
			SVG:   template.HTML(rep.svg(title)), // every text in it went through reportEsc
			Rows:  rep.summaryRows(),
		})
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		doc = b.String()
	default:
		return fmt.Errorf("report: unknown format %q (want html or svg)", format)
	}
	if _, err := io.WriteString(w, doc); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// reportInput is the input a usage counts toward ITPM (and TPM):
// Anthropic's input_tokens exclude the cache writes, which count, and the
// cache reads, which count only on some older classes (the record does not
// say which, so they are left out); OpenAI's prompt_tokens include the
// cached tokens and report no cache writes.
func reportInput(u *Usage) int64 {
	return min(max(u.InputTokens, 0), reportMaxTokens) + min(max(u.CacheCreationInputTokens, 0), reportMaxTokens)
}

// reportOutput is the output a usage counts toward OTPM (and TPM).
func reportOutput(u *Usage) int64 {
	return min(max(u.OutputTokens, 0), reportMaxTokens)
}

// usageSeries returns the trailing-minute usage of dimension dim
// (reportDimRequests "rpm", reportDimInput "itpm", reportDimOutput "otpm"
// or reportDimTokens "tpm") at the n instants start, start+step, …: at each
// instant t, the sum of what recs used in (t-60s, t]. A request
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
		if dim == reportDimRequests {
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
		case reportDimInput:
			v = reportInput(r.Usage)
		case reportDimOutput:
			v = reportOutput(r.Usage)
		case reportDimTokens:
			v = reportInput(r.Usage) + reportOutput(r.Usage)
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

// reportRun is what the chart is drawn from: the records, the run's time
// range and its totals.
type reportRun struct {
	recs   []Record
	timed  []Record // the records that were queued (QueuedAt set)
	models []string // the models of timed, sorted, "" left out
	limits map[string]reportLimits
	// start is the earliest instant of a timed record (its QueuedAt, unless
	// the clock went back), span the time to the latest (a DoneAt), and
	// shown the span the time axis shows: span, or a second when it is
	// shorter.
	start       time.Time
	span, shown time.Duration
	step        time.Duration // between two of the reportSamples instants
	// The records' statuses and the tokens the succeeded ones used.
	succeeded, failed, invalid, other int
	input, output                     int64
}

// newReportRun sorts recs out for the chart.
func newReportRun(recs []Record, limits map[string]reportLimits) *reportRun {
	rep := &reportRun{recs: recs, limits: limits}
	var end time.Time
	models := map[string]bool{}
	for _, r := range recs {
		switch r.Status {
		case statusSucceeded:
			rep.succeeded++
			if r.Usage != nil {
				rep.input += reportInput(r.Usage)
				rep.output += reportOutput(r.Usage)
			}
		case statusFailed:
			rep.failed++
		case statusInvalid:
			rep.invalid++
		default:
			rep.other++
		}
		if r.QueuedAt.IsZero() {
			continue
		}
		rep.timed = append(rep.timed, r)
		if r.Model != "" {
			models[r.Model] = true
		}
		for _, t := range []time.Time{r.QueuedAt, r.SentAt, r.DoneAt} {
			if t.IsZero() {
				continue
			}
			if rep.start.IsZero() || t.Before(rep.start) {
				rep.start = t
			}
			if end.IsZero() || t.After(end) {
				end = t
			}
		}
	}
	for m := range models {
		rep.models = append(rep.models, m)
	}
	slices.Sort(rep.models)
	rep.span = end.Sub(rep.start)
	rep.shown = max(rep.span, time.Second)
	rep.step = rep.shown / (reportSamples - 1)
	return rep
}
