package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

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
	s.printf(`<text class="heading" x="%s" y="%s" font-size="13"><tspan font-weight="bold">Concurrency</tspan> · calls waiting (for the budget or a slot) and in flight, all models; 429s and 529s at the time their attempt left</text>`+"\n",
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
	mark := func(at time.Time, limited, overloaded bool) {
		x := reportNum(rep.xAt(at))
		if limited {
			s.printf(`<line class="mark-429" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.2"/>`+"\n", x, reportNum(row429), x, reportNum(row429+10), reportColor429)
		}
		if overloaded {
			s.printf(`<line class="mark-529" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.2"/>`+"\n", x, reportNum(row529), x, reportNum(row529+10), reportColor529)
		}
	}
	for _, r := range rep.timed {
		switch {
		case len(r.Tries) > 0: // each refusal at the time its attempt left
			for _, t := range r.Tries {
				if !t.At.IsZero() {
					mark(t.At, t.Status == http.StatusTooManyRequests, t.Status == 529 || t.Status == http.StatusServiceUnavailable)
				}
			}
		case !r.DoneAt.IsZero(): // a record without its attempts: at its end
			mark(r.DoneAt, r.RateLimited > 0, r.Overloaded > 0)
		}
	}
	reportTimeLabels(s, bottom+44, ticks, rep.shown)
	unit, _ := rep.timeUnit()
	s.printf(`<text class="axis-caption" x="%s" y="%s" text-anchor="middle" fill="%s">time since the first request was queued (%s)</text>`+"\n",
		reportNum(reportLeft+reportPlotW/2), reportNum(bottom+64), reportColorMuted, unit)
	s.printf("</g>\n")
}
