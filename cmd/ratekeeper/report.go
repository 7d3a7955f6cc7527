package main

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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

// The chart's layout, in SVG user units (pixels): every panel is a plot
// reportPlotH high between reportLeft and reportRight, under a heading.
const (
	reportWidth   = 1200.0
	reportLeft    = 84.0
	reportRight   = 1170.0
	reportPlotW   = reportRight - reportLeft
	reportPlotH   = 120.0
	reportPanelH  = reportPlotH + 44 // a usage panel: its heading, plot and tick labels
	reportTop     = 84.0             // the first panel's top, under the title and subtitle
	reportGap     = 26.0             // between two panels
	reportFont    = `system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif`
	reportMaxName = 60 // the model names in headings are cut to this many characters at most
)

// The chart's colours (the Okabe–Ito palette, legible to colour-blind
// readers), grey levels, and the limit line's dashes.
const (
	reportColorUsage   = "#0072B2" // the usage lines, and calls in flight
	reportColorLimit   = "#D55E00" // the limit lines
	reportColorWaiting = "#E69F00" // calls waiting
	reportColor429     = "#CC0000" // markers of 429s
	reportColor529     = "#7B3294" // markers of 529s
	reportColorText    = "#222222"
	reportColorMuted   = "#555555"
	reportColorGrid    = "#E6E6E6"
	reportColorFrame   = "#BBBBBB"
	reportDash         = "7 4"
	reportNoLimit      = "no limit given"
)

// svg draws the whole chart as one <svg> element: a heading, a panel per
// model and limited dimension, and the concurrency panel.
func (rep *reportRun) svg(title string) string {
	type usagePanel struct {
		model, dim string
		limit      int64
	}
	var panels []usagePanel
	for _, m := range rep.models {
		l := rep.limits[m]
		dims := []struct {
			dim   string
			limit int64
		}{{reportDimRequests, l.RPM}, {reportDimInput, l.ITPM}, {reportDimOutput, l.OTPM}, {reportDimTokens, l.TPM}}
		n := len(panels)
		for _, d := range dims {
			if d.limit > 0 {
				panels = append(panels, usagePanel{m, d.dim, d.limit})
			}
		}
		if len(panels) == n { // no limit known: what the model used, unbounded
			for _, d := range dims[:3] {
				panels = append(panels, usagePanel{m, d.dim, 0})
			}
		}
	}
	height := reportTop + 40
	if len(rep.timed) > 0 {
		height = reportTop + float64(len(panels))*(reportPanelH+reportGap) + reportPlotH + 120
	}
	s := &reportSVG{}
	s.printf(`<svg xmlns="http://www.w3.org/2000/svg" class="ratekeeper-report" width="%s" height="%s" viewBox="0 0 %s %s" font-family="%s" font-size="12" fill="%s">`+"\n",
		reportNum(reportWidth), reportNum(height), reportNum(reportWidth), reportNum(height), reportEsc(reportFont), reportColorText)
	s.printf(`<title>%s</title>`+"\n", reportEsc(title))
	s.printf(`<rect width="100%%" height="100%%" fill="#FFFFFF"/>` + "\n")
	s.printf(`<text class="title" x="%s" y="32" font-size="20" font-weight="bold">%s</text>`+"\n", reportNum(reportLeft), reportEsc(title))
	s.printf(`<text class="subtitle" x="%s" y="56" font-size="13" fill="%s">%s</text>`+"\n", reportNum(reportLeft), reportColorMuted, reportEsc(rep.subtitle()))
	if len(rep.timed) == 0 {
		s.printf(`<text class="empty" x="%s" y="%s" font-size="13" fill="%s">No request was queued: there is nothing to chart.</text>`+"\n",
			reportNum(reportLeft), reportNum(reportTop+14), reportColorMuted)
		s.printf("</svg>\n")
		return s.String()
	}
	ticks := rep.timeTicks()
	top := reportTop
	for i, p := range panels {
		series := usageSeries(rep.modelRecs(p.model), p.dim, rep.start, rep.step, reportSamples)
		rep.usagePanel(s, fmt.Sprintf("panel-%d", i), top, p.model, p.dim, p.limit, series, ticks)
		top += reportPanelH + reportGap
	}
	rep.concurrencyPanel(s, top, ticks)
	s.printf("</svg>\n")
	return s.String()
}

// subtitle says what the run was: its requests, their outcomes, its wall
// time and the tokens it used.
func (rep *reportRun) subtitle() string {
	n := len(rep.recs)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s succeeded, %s failed, %s invalid", groupDigits(int64(n)), reportPlural(n, "request", "requests"),
		groupDigits(int64(rep.succeeded)), groupDigits(int64(rep.failed)), groupDigits(int64(rep.invalid)))
	if rep.other > 0 {
		fmt.Fprintf(&b, ", %s other", groupDigits(int64(rep.other)))
	}
	if len(rep.timed) > 0 {
		fmt.Fprintf(&b, " · wall time %s", reportDuration(rep.span))
	}
	fmt.Fprintf(&b, " · %s input, %s output tokens", groupDigits(rep.input), groupDigits(rep.output))
	return b.String()
}

// reportTick is one tick of an axis: its value (for the time axis, in
// seconds since the run's start) and its label.
type reportTick struct {
	v     float64
	label string
}

// timeTicks returns the time axis's ticks, in seconds since rep.start, at
// a nice interval of seconds, minutes or hours (by timeUnit).
func (rep *reportRun) timeTicks() []reportTick {
	unit, secs := rep.timeUnit()
	span := rep.shown.Seconds() / secs
	step := reportNiceStep(span / 10)
	var ticks []reportTick
	for k := 0.0; k*step <= span*(1+1e-9) && len(ticks) < 100; k++ {
		v := k * step
		ticks = append(ticks, reportTick{v * secs, reportTrim(v) + unit})
	}
	return ticks
}

// timeUnit is the time axis's unit, "s", "min" or "h", by the run's length,
// and its length in seconds.
func (rep *reportRun) timeUnit() (string, float64) {
	switch {
	case rep.shown <= 3*time.Minute:
		return "s", 1
	case rep.shown <= 3*time.Hour:
		return "min", 60
	}
	return "h", 3600
}

// xAt is the abscissa of instant t (clamped to the plot).
func (rep *reportRun) xAt(t time.Time) float64 {
	return reportLeft + reportPlotW*min(max(float64(t.Sub(rep.start))/float64(rep.shown), 0), 1)
}

// reportX is the abscissa of the i-th sample.
func reportX(i int) float64 {
	return reportLeft + reportPlotW*float64(i)/float64(reportSamples-1)
}

// reportFrame draws a plot's background, its vertical scale from 0 to yMax
// (ticks labelled in human units) and its time grid, the plot's top edge
// at top.
func reportFrame(s *reportSVG, top float64, yTicks []reportTick, yMax float64, ticks []reportTick, shown time.Duration) {
	bottom := top + reportPlotH
	s.printf(`<rect class="plot" x="%s" y="%s" width="%s" height="%s" fill="#FFFFFF" stroke="%s"/>`+"\n",
		reportNum(reportLeft), reportNum(top), reportNum(reportPlotW), reportNum(reportPlotH), reportColorFrame)
	for _, t := range yTicks {
		y := bottom - reportPlotH*t.v/yMax
		if t.v > 0 {
			s.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`+"\n", reportNum(reportLeft), reportNum(y), reportNum(reportRight), reportNum(y), reportColorGrid)
		}
		s.printf(`<text x="%s" y="%s" text-anchor="end" font-size="11" fill="%s">%s</text>`+"\n", reportNum(reportLeft-6), reportNum(y+4), reportColorMuted, reportEsc(t.label))
	}
	for _, t := range ticks {
		x := reportLeft + reportPlotW*min(t.v/shown.Seconds(), 1)
		if t.v > 0 {
			s.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`+"\n", reportNum(x), reportNum(top), reportNum(x), reportNum(bottom), reportColorGrid)
		}
	}
}

// reportTimeLabels writes the time axis's tick labels with their baseline at y.
func reportTimeLabels(s *reportSVG, y float64, ticks []reportTick, shown time.Duration) {
	for i, t := range ticks {
		x := reportLeft + reportPlotW*min(t.v/shown.Seconds(), 1)
		anchor := "middle"
		if i == len(ticks)-1 && x > reportRight-12 {
			anchor = "end"
		}
		s.printf(`<text class="tick" x="%s" y="%s" text-anchor="%s" font-size="11" fill="%s">%s</text>`+"\n", reportNum(x), reportNum(y), anchor, reportColorMuted, reportEsc(t.label))
	}
}

// reportDims names the dimensions in the panels' headings.
var reportDims = map[string]string{
	reportDimRequests: "requests per minute (trailing 60 s, at sending)",
	reportDimInput:    "input tokens per minute (trailing 60 s, at completion)",
	reportDimOutput:   "output tokens per minute (trailing 60 s, at completion)",
	reportDimTokens:   "input + output tokens per minute (trailing 60 s, at completion)",
}

// usagePanel draws one model's usage in one dimension: the trailing-minute
// line, the limit (if any) as a dashed line, and in the heading the peak
// and the run's average rate.
func (rep *reportRun) usagePanel(s *reportSVG, id string, top float64, model, dim string, limit int64, series []float64, ticks []reportTick) {
	peak := slices.Max(series)
	total := rep.total(model, dim)
	avg := "n/a"
	if rep.span > 0 {
		avg = reportHuman(total/rep.span.Minutes()) + "/min"
	}
	yTicks, yMax := reportNiceTicks(max(peak, float64(limit)) * 1.1)
	s.printf(`<g class="panel usage" id="%s" data-model="%s" data-dim="%s" data-limit="%d" data-peak="%s">`+"\n", id, reportEsc(model), dim, limit, reportNum(peak))
	s.printf(`<title>%s: %s</title>`+"\n", reportEsc(model), reportDims[dim])
	note := fmt.Sprintf("peak %s · run average %s", reportHuman(peak), avg)
	if limit == 0 {
		note += " · " + reportNoLimit
	}
	// The heading's model name is cut to leave the note its room, by
	// generous widths per character (bold 13 px, 13 px, 12 px).
	room := int((reportPlotW - 7.5*float64(utf8.RuneCountInString(reportDims[dim])+3) - 7*float64(utf8.RuneCountInString(note)) - 16) / 8.5)
	s.printf(`<text class="heading" x="%s" y="%s" font-size="13"><tspan font-weight="bold">%s</tspan> · %s</text>`+"\n",
		reportNum(reportLeft), reportNum(top+14), reportEsc(reportCut(model, max(min(room, reportMaxName), 12))), reportDims[dim])
	s.printf(`<text class="note" x="%s" y="%s" text-anchor="end" fill="%s">%s</text>`+"\n", reportNum(reportRight), reportNum(top+14), reportColorMuted, reportEsc(note))
	plotTop := top + 24
	bottom := plotTop + reportPlotH
	reportFrame(s, plotTop, yTicks, yMax, ticks, rep.shown)
	y := func(v float64) float64 { return bottom - reportPlotH*min(max(v, 0), yMax)/yMax }
	var d strings.Builder
	for i, v := range series {
		if i == 0 {
			d.WriteString("M")
		} else {
			d.WriteString(" L")
		}
		d.WriteString(reportNum(reportX(i)) + "," + reportNum(y(v)))
	}
	s.printf(`<path class="series" d="%s" fill="none" stroke="%s" stroke-width="1.6" stroke-linejoin="round"/>`+"\n", d.String(), reportColorUsage)
	if limit > 0 {
		ly := y(float64(limit))
		s.printf(`<line class="limit" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.4" stroke-dasharray="%s"/>`+"\n",
			reportNum(reportLeft), reportNum(ly), reportNum(reportRight), reportNum(ly), reportColorLimit, reportDash)
		labelY := ly - 4 // above the line, or under it when the plot's top is too close
		if labelY-plotTop < 12 {
			labelY = ly + 13
		}
		s.printf(`<text class="limit-label" x="%s" y="%s" fill="%s" stroke="#FFFFFF" stroke-width="3" paint-order="stroke" font-size="11" font-weight="bold">limit %s/min</text>`+"\n",
			reportNum(reportLeft+6), reportNum(labelY), reportColorLimit, groupDigits(limit))
	}
	reportTimeLabels(s, bottom+15, ticks, rep.shown)
	s.printf("</g>\n")
}

// modelRecs returns the timed records of model.
func (rep *reportRun) modelRecs(model string) []Record {
	var out []Record
	for _, r := range rep.timed {
		if r.Model == model {
			out = append(out, r)
		}
	}
	return out
}

// total is what model's records used in dimension dim over the whole run,
// counted as usageSeries counts it.
func (rep *reportRun) total(model, dim string) float64 {
	var t float64
	for _, r := range rep.timed {
		if r.Model != model {
			continue
		}
		if dim == reportDimRequests {
			if !r.SentAt.IsZero() {
				t++
			}
			continue
		}
		if r.Status != statusSucceeded || r.Usage == nil || r.DoneAt.IsZero() {
			continue
		}
		switch dim {
		case reportDimInput:
			t += float64(reportInput(r.Usage))
		case reportDimOutput:
			t += float64(reportOutput(r.Usage))
		case reportDimTokens:
			t += float64(reportInput(r.Usage) + reportOutput(r.Usage))
		}
	}
	return t
}

// concurrencyPanel draws the calls waiting and in flight as stacked steps,
// with the 429s and 529s as ticks under the plot, and the time axis's
// caption.
func (rep *reportRun) concurrencyPanel(s *reportSVG, top float64, ticks []reportTick) {
	waiting, inFlight := concurrencySeries(rep.timed, rep.start, rep.step, reportSamples)
	peakWait, peakFly, peakAll := 0, 0, 0
	for i := range waiting {
		peakWait, peakFly, peakAll = max(peakWait, waiting[i]), max(peakFly, inFlight[i]), max(peakAll, waiting[i]+inFlight[i])
	}
	var n429, a429, n529, a529 int
	for _, r := range rep.timed {
		if r.RateLimited > 0 {
			n429, a429 = n429+1, a429+r.RateLimited
		}
		if r.Overloaded > 0 {
			n529, a529 = n529+1, a529+r.Overloaded
		}
	}
	s.printf(`<g class="panel concurrency" id="panel-concurrency" data-peak-waiting="%d" data-peak-in-flight="%d" data-429="%d" data-529="%d">`+"\n", peakWait, peakFly, n429, n529)
	s.printf(`<text class="heading" x="%s" y="%s" font-size="13"><tspan font-weight="bold">Concurrency</tspan> · calls waiting (for the budget or a slot) and in flight, all models; 429s and 529s at the time their request ended</text>`+"\n",
		reportNum(reportLeft), reportNum(top+14))
	s.printf(`<text class="legend" x="%s" y="%s">`, reportNum(reportLeft), reportNum(top+32))
	s.printf(`<tspan fill="%s" font-size="14">■</tspan> in flight (peak %s)   `, reportColorUsage, groupDigits(int64(peakFly)))
	s.printf(`<tspan fill="%s" font-size="14">■</tspan> waiting (peak %s)   `, reportColorWaiting, groupDigits(int64(peakWait)))
	s.printf(`<tspan fill="%s" font-weight="bold">|</tspan> 429 rate limited: %s %s (%s %s)   `, reportColor429,
		groupDigits(int64(n429)), reportPlural(n429, "request", "requests"), groupDigits(int64(a429)), reportPlural(a429, "answer", "answers"))
	s.printf(`<tspan fill="%s" font-weight="bold">|</tspan> 529 overloaded: %s %s (%s %s)`, reportColor529,
		groupDigits(int64(n529)), reportPlural(n529, "request", "requests"), groupDigits(int64(a529)), reportPlural(a529, "answer", "answers"))
	s.printf("</text>\n")
	plotTop := top + 42
	bottom := plotTop + reportPlotH
	yTicks, yMax := reportNiceTicks(float64(peakAll) * 1.08)
	reportFrame(s, plotTop, yTicks, yMax, ticks, rep.shown)
	y := func(v int) float64 { return bottom - reportPlotH*min(max(float64(v), 0), yMax)/yMax }
	// steps draws the value at sample i from sample i to sample i+1: the
	// upper edge of an area left to right; with lower, back along it.
	steps := func(upper, lower func(i int) int) string {
		var d strings.Builder
		d.WriteString("M" + reportNum(reportX(0)) + "," + reportNum(y(lower(0))))
		for i := range reportSamples {
			d.WriteString(" L" + reportNum(reportX(i)) + "," + reportNum(y(upper(i))))
			d.WriteString(" L" + reportNum(reportX(min(i+1, reportSamples-1))) + "," + reportNum(y(upper(i))))
		}
		for i := reportSamples - 1; i >= 0; i-- {
			d.WriteString(" L" + reportNum(reportX(min(i+1, reportSamples-1))) + "," + reportNum(y(lower(i))))
			d.WriteString(" L" + reportNum(reportX(i)) + "," + reportNum(y(lower(i))))
		}
		d.WriteString(" Z")
		return d.String()
	}
	zero := func(int) int { return 0 }
	fly := func(i int) int { return inFlight[i] }
	all := func(i int) int { return inFlight[i] + waiting[i] }
	s.printf(`<path class="in-flight" d="%s" fill="%s" fill-opacity="0.6" stroke="%s" stroke-width="1"/>`+"\n", steps(fly, zero), reportColorUsage, reportColorUsage)
	s.printf(`<path class="waiting" d="%s" fill="%s" fill-opacity="0.45" stroke="%s" stroke-width="1"/>`+"\n", steps(all, fly), reportColorWaiting, reportColorWaiting)
	// The markers' strip: a row of 429s, a row of 529s.
	row429, row529 := bottom+4, bottom+16
	s.printf(`<text x="%s" y="%s" text-anchor="end" font-size="10" fill="%s">429</text>`+"\n", reportNum(reportLeft-6), reportNum(row429+9), reportColor429)
	s.printf(`<text x="%s" y="%s" text-anchor="end" font-size="10" fill="%s">529</text>`+"\n", reportNum(reportLeft-6), reportNum(row529+9), reportColor529)
	for _, r := range rep.timed {
		if r.DoneAt.IsZero() {
			continue
		}
		x := reportNum(rep.xAt(r.DoneAt))
		if r.RateLimited > 0 {
			s.printf(`<line class="mark-429" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.2"/>`+"\n", x, reportNum(row429), x, reportNum(row429+10), reportColor429)
		}
		if r.Overloaded > 0 {
			s.printf(`<line class="mark-529" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.2"/>`+"\n", x, reportNum(row529), x, reportNum(row529+10), reportColor529)
		}
	}
	reportTimeLabels(s, bottom+44, ticks, rep.shown)
	unit, _ := rep.timeUnit()
	s.printf(`<text class="axis-caption" x="%s" y="%s" text-anchor="middle" fill="%s">time since the first request was queued (%s)</text>`+"\n",
		reportNum(reportLeft+reportPlotW/2), reportNum(bottom+64), reportColorMuted, unit)
	s.printf("</g>\n")
}

// reportNiceStep rounds x up to 1, 2 or 5 times a power of ten (1 for x ≤ 0 or
// not finite).
func reportNiceStep(x float64) float64 {
	if !(x > 0) || math.IsInf(x, 0) {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(x)))
	switch f := x / mag; {
	case f <= 1:
		return mag
	case f <= 2:
		return 2 * mag
	case f <= 5:
		return 5 * mag
	}
	return 10 * mag
}

// reportNiceTicks returns a vertical scale's ticks, from 0 to at least top at a
// nice interval (3 to 5 of them), and the scale's maximum, the last tick.
// What the chart counts is whole (requests, tokens, calls): the scale goes
// to 4 at least, so that its ticks are whole numbers.
func reportNiceTicks(top float64) ([]reportTick, float64) {
	if math.IsNaN(top) || math.IsInf(top, 0) || top < 4 {
		top = 4
	}
	step := reportNiceStep(top / 4)
	if top/step <= 2 { // 0, 50k, 100k: halve to 25k
		step /= 2
	}
	n := math.Ceil(top/step - 1e-9)
	ticks := make([]reportTick, 0, int(n)+1)
	for k := 0.0; k <= n; k++ {
		ticks = append(ticks, reportTick{k * step, reportHuman(k * step)})
	}
	return ticks, n * step
}

// reportHuman formats v to 3 significant digits with a k, M or G suffix: 450k,
// 1.25M, 0.5.
func reportHuman(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case a >= 1e9:
		return reportTrim(reportSig3(v/1e9)) + "G"
	case a >= 1e6:
		return reportTrim(reportSig3(v/1e6)) + "M"
	case a >= 1e3:
		return reportTrim(reportSig3(v/1e3)) + "k"
	}
	return reportTrim(reportSig3(v))
}

// reportSig3 rounds v to 3 significant digits.
func reportSig3(v float64) float64 {
	if v == 0 {
		return 0
	}
	p := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

// reportTrim formats v with at most 3 decimals and no trailing zeros.
func reportTrim(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// reportPlural is one or many by n.
func reportPlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// reportDuration rounds d for reading: to the millisecond under a second,
// to the tenth of a second under an hour, to the second after.
func reportDuration(d time.Duration) string {
	switch {
	case d < time.Second && d > -time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Hour:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// reportNum formats a coordinate with at most one decimal.
func reportNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// reportClean replaces what XML 1.0 cannot carry (invalid UTF-8, control
// characters other than tab and newlines, U+FFFE and U+FFFF) with U+FFFD.
func reportClean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError, r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0xFFFE, r == 0xFFFF:
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// reportEsc escapes s as XML (and HTML) text or attribute value.
func reportEsc(s string) string {
	return template.HTMLEscapeString(reportClean(s))
}

// reportCut shortens s to at most n characters, ending it with "…" when cut.
func reportCut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// reportSVG accumulates an SVG document.
type reportSVG struct{ strings.Builder }

// printf appends a formatted piece; the caller escapes the text in it.
func (s *reportSVG) printf(format string, args ...any) { fmt.Fprintf(&s.Builder, format, args...) }

// reportRow is one line of the HTML page's summary table.
type reportRow struct {
	Model                                        string
	Total                                        bool // the row of all models
	Requests, Succeeded, Failed, Invalid         string
	RateLimited, Overloaded                      string
	Input, Output                                string
	LatencyP50, LatencyP95, WaitedP50, LimitText string
}

// summaryRows returns the summary table's rows: one per model present in
// the records (sorted; "(none)" for records without one) and, for more
// than one, the total.
func (rep *reportRun) summaryRows() []reportRow {
	byModel := map[string][]Record{}
	for _, r := range rep.recs {
		byModel[r.Model] = append(byModel[r.Model], r)
	}
	models := make([]string, 0, len(byModel))
	for m := range byModel {
		models = append(models, m)
	}
	slices.Sort(models)
	var rows []reportRow
	for _, m := range models {
		name, limits := m, reportLimitText(rep.limits[m])
		if m == "" {
			name, limits = "(none)", "–"
		}
		rows = append(rows, reportSummaryRow(name, byModel[m], limits))
	}
	if len(models) > 1 {
		all := reportSummaryRow("all models", rep.recs, "")
		all.Total = true
		rows = append(rows, all)
	}
	return rows
}

// reportSummaryRow sums recs up as one row of the summary table.
func reportSummaryRow(name string, recs []Record, limits string) reportRow {
	var ok, failed, invalid, rl, ov int
	var in, out int64
	var latency, waited []int64
	for _, r := range recs {
		switch r.Status {
		case statusSucceeded:
			ok++
			if r.Usage != nil {
				in, out = in+reportInput(r.Usage), out+reportOutput(r.Usage)
			}
		case statusFailed:
			failed++
		case statusInvalid:
			invalid++
		}
		rl, ov = rl+r.RateLimited, ov+r.Overloaded
		if !r.QueuedAt.IsZero() {
			latency, waited = append(latency, r.LatencyMS), append(waited, r.WaitedMS)
		}
	}
	return reportRow{
		Model:    reportClean(name),
		Requests: groupDigits(int64(len(recs))), Succeeded: groupDigits(int64(ok)), Failed: groupDigits(int64(failed)), Invalid: groupDigits(int64(invalid)),
		RateLimited: groupDigits(int64(rl)), Overloaded: groupDigits(int64(ov)),
		Input: groupDigits(in), Output: groupDigits(out),
		LatencyP50: reportPercentile(latency, 50), LatencyP95: reportPercentile(latency, 95), WaitedP50: reportPercentile(waited, 50),
		LimitText: limits,
	}
}

// reportPercentile is the p-th percentile (nearest rank) of the durations ms,
// in milliseconds, as a duration; "–" when there are none.
func reportPercentile(ms []int64, p int) string {
	if len(ms) == 0 {
		return "–"
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	i := max((p*len(s)+99)/100-1, 0)
	return reportDuration(time.Duration(s[i]) * time.Millisecond)
}

// reportLimitText says a model's limits in the summary table.
func reportLimitText(l reportLimits) string {
	var parts []string
	for _, d := range []struct {
		name string
		v    int64
	}{{"RPM", l.RPM}, {"ITPM", l.ITPM}, {"OTPM", l.OTPM}, {"TPM", l.TPM}} {
		if d.v > 0 {
			parts = append(parts, d.name+"\u00a0"+groupDigits(d.v)) // a line breaks between two, not inside one
		}
	}
	if len(parts) == 0 {
		return reportNoLimit
	}
	return strings.Join(parts, " · ")
}

// reportPageData is what reportPage is executed with.
type reportPageData struct {
	Title string
	SVG   template.HTML
	Rows  []reportRow
}

// reportPage is the HTML report: the chart inline and the summary table,
// styled by its own stylesheet (nothing is loaded from elsewhere).
var reportPage = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { margin: 16px 24px; font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; background: #fff; }
svg.ratekeeper-report { display: block; max-width: 100%; height: auto; }
h2 { font-size: 16px; margin: 24px 0 8px 84px; }
table { border-collapse: collapse; font-size: 13px; margin-left: 84px; max-width: calc(100% - 84px); }
th, td { padding: 4px 7px; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
th { background: #f4f4f4; font-weight: 600; vertical-align: bottom; }
th:first-child, td:first-child, .limits { text-align: left; }
td:first-child { white-space: normal; overflow-wrap: anywhere; min-width: 16em; max-width: 24em; }
td.limits { white-space: normal; }
tr.total td { font-weight: 600; border-top: 2px solid #bbb; }
p.note { font-size: 12px; color: #555; margin-left: 84px; max-width: 1000px; }
</style>
</head>
<body>
{{.SVG}}
<h2>Summary</h2>
<table>
<thead><tr><th>Model</th><th>Requests</th><th>Succeeded</th><th>Failed</th><th>Invalid</th><th>429s</th><th>529s</th><th>Input<br>tokens</th><th>Output<br>tokens</th><th>Latency<br>p50</th><th>Latency<br>p95</th><th>Waited<br>p50</th><th class="limits">Limits<br>per minute</th></tr></thead>
<tbody>
{{range .Rows}}<tr{{if .Total}} class="total"{{end}}><td>{{.Model}}</td><td>{{.Requests}}</td><td>{{.Succeeded}}</td><td>{{.Failed}}</td><td>{{.Invalid}}</td><td>{{.RateLimited}}</td><td>{{.Overloaded}}</td><td>{{.Input}}</td><td>{{.Output}}</td><td>{{.LatencyP50}}</td><td>{{.LatencyP95}}</td><td>{{.WaitedP50}}</td><td class="limits">{{.LimitText}}</td></tr>
{{end}}</tbody>
</table>
<p class="note">Usage lines sum the trailing 60 seconds: requests at the time they were first sent, tokens at the time their request ended (succeeded requests only; input tokens include cache writes, not cache reads). Latency is from queued to done; waited is the time not on the wire. 429s and 529s count answers.</p>
</body>
</html>
`))
