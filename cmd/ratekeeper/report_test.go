package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// reportT0 is the synthetic runs' first instant.
var reportT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// reportAt is reportT0 plus s seconds.
func reportAt(s float64) time.Time { return reportT0.Add(time.Duration(s * float64(time.Second))) }

// reportOK is a succeeded record of model, queued at q, sent at s and done at
// d (seconds after reportT0), that used in input and out output tokens.
func reportOK(model string, q, s, d float64, in, out int64) Record {
	return Record{Model: model, Status: statusSucceeded, Attempts: 1, QueuedAt: reportAt(q), SentAt: reportAt(s), DoneAt: reportAt(d),
		Usage: &Usage{InputTokens: in, OutputTokens: out}}
}

// TestReportFormat: --report's file name picks the format by its extension,
// and any other name is a usage error that says which names it takes.
func TestReportFormat(t *testing.T) {
	for path, want := range map[string]string{"r.html": "html", "out/R.HTM": "html", "chart.svg": "svg", "a.b.Svg": "svg"} {
		if got, err := reportFormat(path); err != nil || got != want {
			t.Errorf("reportFormat(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
	for _, path := range []string{"report", "report.png", "report.html.gz", "", "svg"} {
		_, err := reportFormat(path)
		if err == nil || exitCode(err) != exitUsage || !strings.Contains(err.Error(), ".svg") {
			t.Errorf("reportFormat(%q): error %v (exit code %d), want a usage error naming the extensions", path, err, exitCode(err))
		}
	}
	if err := writeReport(io.Discard, "pdf", "t", nil, nil); err == nil {
		t.Error("writeReport with format pdf succeeded")
	}
}

// TestReportUsageSeries: the trailing-minute sums are exact at each
// sample, the window being (t-60s, t]: requests at SentAt, tokens at
// DoneAt from succeeded records only, cache writes counted as input.
func TestReportUsageSeries(t *testing.T) {
	recs := []Record{
		reportOK("m", 0, 0, 5, 100, 10),
		reportOK("m", 0, 10, 12, 200, 20),
		reportOK("m", 0, 30, 61, 400, 40),
		reportOK("m", 0, 70, 75, 800, 80),
		// Failed: a request sent (counted in rpm), no tokens.
		{Model: "m", Status: statusFailed, QueuedAt: reportAt(0), SentAt: reportAt(20), DoneAt: reportAt(25), RateLimited: 3},
		// Never sent: counts nothing.
		{Model: "m", Status: statusInvalid, QueuedAt: reportAt(0), DoneAt: reportAt(1)},
		// Never queued: counts nothing, though its times are set.
		{Model: "m", Status: statusSucceeded, SentAt: reportAt(1), DoneAt: reportAt(2), Usage: &Usage{InputTokens: 1e6, OutputTokens: 1e6}},
	}
	recs[1].Usage.CacheCreationInputTokens = 50
	recs[1].Usage.CacheReadInputTokens = 1000 // not counted
	// Samples at 0, 10, …, 80 s.
	for _, c := range []struct {
		dim  string
		want []float64
	}{
		// Sent at 0, 10, 20, 30, 70.
		{reportDimRequests, []float64{1, 2, 3, 4, 4, 4, 3, 3, 2}},
		// Done at 5 (100), 12 (250), 61 (400), 75 (800).
		{reportDimInput, []float64{0, 100, 350, 350, 350, 350, 350, 650, 1200}},
		{reportDimOutput, []float64{0, 10, 30, 30, 30, 30, 30, 60, 120}},
		{reportDimTokens, []float64{0, 110, 380, 380, 380, 380, 380, 710, 1320}},
		{"rpd", []float64{0, 0, 0, 0, 0, 0, 0, 0, 0}},
	} {
		got := usageSeries(recs, c.dim, reportT0, 10*time.Second, 9)
		if !slices.Equal(got, c.want) {
			t.Errorf("usageSeries(%s) = %v, want %v", c.dim, got, c.want)
		}
	}
	// The window holds t and not t-60s: at 60 s the request sent at 0 has
	// left it; at 59.999 s it has not.
	if got := usageSeries(recs, reportDimRequests, reportAt(59.999), time.Millisecond, 2); !slices.Equal(got, []float64{4, 3}) {
		t.Errorf("usageSeries around 60 s = %v, want [4 3]", got)
	}
	if got := usageSeries(recs, reportDimRequests, reportT0, time.Second, 0); len(got) != 0 {
		t.Errorf("usageSeries with n = 0 = %v, want none", got)
	}
}

// TestReportConcurrencySeries: waiting is queued-to-sent (queued-to-done
// when never sent), in flight is sent-to-done, each half-open.
func TestReportConcurrencySeries(t *testing.T) {
	recs := []Record{
		reportOK("m", 0, 2, 5, 1, 1),
		reportOK("m", 0, 4, 6, 1, 1),
		reportOK("m", 1, 1, 3, 1, 1), // sent as soon as queued: never waiting
		{Model: "m", Status: statusInvalid, QueuedAt: reportAt(0), DoneAt: reportAt(3)},                     // refused after waiting
		{Model: "m", Status: statusInvalid},                                                                 // never queued
		{Model: "m", Status: statusFailed, QueuedAt: reportAt(5), SentAt: reportAt(4), DoneAt: reportAt(2)}, // the clock went back: nothing
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

// reportElem is an element of a parsed SVG: its name, attributes and
// character data (its own and its children's).
type reportElem struct {
	name  string
	attr  map[string]string
	text  string
	inner []*reportElem
}

// reportParseSVG parses doc strictly as XML and returns its root element.
func reportParseSVG(t *testing.T, doc string) *reportElem {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	d.Strict = true
	var root *reportElem
	var stack []*reportElem
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v\n%s", err, doc)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &reportElem{name: tok.Name.Local, attr: map[string]string{}}
			for _, a := range tok.Attr {
				e.attr[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.inner = append(p.inner, e)
			} else if root == nil {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			for _, e := range stack {
				e.text += string(tok)
			}
		}
	}
	if root == nil || root.name != "svg" {
		t.Fatalf("the document's root is not <svg>:\n%s", doc)
	}
	return root
}

// all returns the elements under e (e included) that match.
func (e *reportElem) all(match func(*reportElem) bool) []*reportElem {
	var out []*reportElem
	if match(e) {
		out = append(out, e)
	}
	for _, c := range e.inner {
		out = append(out, c.all(match)...)
	}
	return out
}

// reportHasClass matches the elements with class c.
func reportHasClass(c string) func(*reportElem) bool {
	return func(e *reportElem) bool { return slices.Contains(strings.Fields(e.attr["class"]), c) }
}

// reportRender renders recs in format and fails the test on an error.
func reportRender(t *testing.T, format, title string, recs []Record, limits map[string]reportLimits) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeReport(&b, format, title, recs, limits); err != nil {
		t.Fatalf("writeReport(%s): %v", format, err)
	}
	return b.String()
}

// reportSVGOf returns the <svg> element an HTML report embeds.
func reportSVGOf(t *testing.T, page string) string {
	t.Helper()
	i, j := strings.Index(page, "<svg"), strings.LastIndex(page, "</svg>")
	if i < 0 || j < i || strings.Count(page, "<svg") != 1 {
		t.Fatalf("the page does not embed one <svg>:\n%s", page)
	}
	return page[i : j+len("</svg>")]
}

// reportRun2 is a small run of an Anthropic model (RPM, ITPM and OTPM
// limits) and an OpenAI one (RPM and TPM), with a 429 and a 529.
func reportRun2() ([]Record, map[string]reportLimits) {
	recs := []Record{
		reportOK("gpt-4o", 0, 1, 3, 1000, 100),
		reportOK("claude-sonnet-4-5", 0, 0, 2, 300, 30),
		reportOK("claude-sonnet-4-5", 0, 5, 9, 500, 50),
		reportOK("claude-sonnet-4-5", 0, 20, 80, 700, 70),
		{Model: "claude-sonnet-4-5", Status: statusFailed, Attempts: 4, RateLimited: 3, Overloaded: 1, QueuedAt: reportAt(0), SentAt: reportAt(30), DoneAt: reportAt(90)},
		{ID: "line-6", Status: statusInvalid, Error: &RecordError{Type: "malformed"}},
	}
	recs[3].RateLimited = 1
	limits := map[string]reportLimits{
		"claude-sonnet-4-5": {RPM: 1000, ITPM: 450000, OTPM: 90000},
		"gpt-4o":            {RPM: 500, TPM: 30000},
		"unused-model":      {RPM: 1},
	}
	return recs, limits
}

// TestReportSVG: one panel per model and limited dimension, models sorted,
// plus the concurrency panel; limit lines labelled with the limit; the
// panel's peak is the trailing-minute maximum computed by hand; the markers
// of 429s and 529s and their counts; the subtitle's totals.
func TestReportSVG(t *testing.T) {
	recs, limits := reportRun2()
	doc := reportRender(t, "svg", "run <requests.jsonl>", recs, limits)
	if !strings.HasPrefix(doc, "<?xml") {
		t.Errorf("the SVG document does not begin with an XML declaration: %.40q", doc)
	}
	root := reportParseSVG(t, doc)
	var got []string
	for _, p := range root.all(reportHasClass("usage")) {
		got = append(got, p.attr["data-model"]+"/"+p.attr["data-dim"])
	}
	want := []string{"claude-sonnet-4-5/rpm", "claude-sonnet-4-5/itpm", "claude-sonnet-4-5/otpm", "gpt-4o/rpm", "gpt-4o/tpm"}
	if !slices.Equal(got, want) {
		t.Errorf("usage panels %v, want %v", got, want)
	}
	if n := len(root.all(reportHasClass("panel"))); n != len(want)+1 {
		t.Errorf("%d panels, want %d (and the concurrency panel)", n, len(want)+1)
	}
	conc := root.all(reportHasClass("concurrency"))
	if len(conc) != 1 {
		t.Fatalf("%d concurrency panels, want 1", len(conc))
	}
	// By hand: sonnet sent at 0, 5, 20, 30 → at most 4 in a minute; input
	// done at 2 (300), 9 (500), 80 (700) → at most 800 in a minute (2 and 9
	// together; 80 is alone, 2 and 9 having left the window by 62 and 69).
	wantPeak := map[string]string{"claude-sonnet-4-5/rpm": "4", "claude-sonnet-4-5/itpm": "800", "claude-sonnet-4-5/otpm": "80", "gpt-4o/rpm": "1", "gpt-4o/tpm": "1100"}
	wantLimit := map[string]string{"claude-sonnet-4-5/rpm": "1,000", "claude-sonnet-4-5/itpm": "450,000", "claude-sonnet-4-5/otpm": "90,000", "gpt-4o/rpm": "500", "gpt-4o/tpm": "30,000"}
	for _, p := range root.all(reportHasClass("usage")) {
		key := p.attr["data-model"] + "/" + p.attr["data-dim"]
		if p.attr["data-peak"] != wantPeak[key] {
			t.Errorf("%s: peak %s, want %s", key, p.attr["data-peak"], wantPeak[key])
		}
		if v, _ := strconv.ParseFloat(wantPeak[key], 64); !strings.Contains(p.text, "peak "+reportHuman(v)+" ·") {
			t.Errorf("%s: the heading does not say the peak %s: %q", key, reportHuman(v), p.text)
		}
		lines, labels := p.all(reportHasClass("limit")), p.all(reportHasClass("limit-label"))
		if len(lines) != 1 || len(labels) != 1 || labels[0].text != "limit "+wantLimit[key]+"/min" {
			t.Errorf("%s: %d limit lines, labels %v; want one, labelled limit %s/min", key, len(lines), labels, wantLimit[key])
		}
		if !strings.Contains(p.text, "run average") {
			t.Errorf("%s: the heading does not say the run's average: %q", key, p.text)
		}
		series := p.all(reportHasClass("series"))
		if len(series) != 1 || strings.Count(series[0].attr["d"], "L") < 199 {
			t.Errorf("%s: the usage line is not one path of at least 200 points", key)
		}
	}
	c := conc[0]
	if c.attr["data-429"] != "2" || c.attr["data-529"] != "1" || c.attr["data-peak-waiting"] != "4" || c.attr["data-peak-in-flight"] != "2" {
		t.Errorf("concurrency panel %v, want 2 requests with 429s, 1 with 529s, at most 4 waiting and 2 in flight", c.attr)
	}
	if n429, n529 := len(c.all(reportHasClass("mark-429"))), len(c.all(reportHasClass("mark-529"))); n429 != 2 || n529 != 1 {
		t.Errorf("%d 429 markers and %d 529 markers, want 2 and 1", n429, n529)
	}
	for _, s := range []string{"in flight (peak 2)", "waiting (peak 4)", "429 rate limited: 2 requests (4 answers)", "529 overloaded: 1 request (1 answer)"} {
		if !strings.Contains(c.text, s) {
			t.Errorf("the concurrency legend lacks %q: %q", s, c.text)
		}
	}
	if len(c.all(reportHasClass("in-flight"))) != 1 || len(c.all(reportHasClass("waiting"))) != 1 {
		t.Error("the concurrency panel lacks its in-flight or waiting area")
	}
	titles, subtitles := root.all(reportHasClass("title")), root.all(reportHasClass("subtitle"))
	if len(titles) != 1 || titles[0].text != "run <requests.jsonl>" {
		t.Errorf("title %v, want run <requests.jsonl>", titles)
	}
	if want := "6 requests: 4 succeeded, 1 failed, 1 invalid · wall time 1m30s · 2,500 input, 250 output tokens"; len(subtitles) != 1 || subtitles[0].text != want {
		t.Errorf("subtitle %v, want %q", subtitles, want)
	}
	// 90 s: ticks in seconds, every 10.
	var ticks []string
	for _, e := range c.all(reportHasClass("tick")) {
		ticks = append(ticks, e.text)
	}
	if want := []string{"0s", "10s", "20s", "30s", "40s", "50s", "60s", "70s", "80s", "90s"}; !slices.Equal(ticks, want) {
		t.Errorf("time ticks %v, want %v", ticks, want)
	}
}

// TestReportUnlimitedModel: a model with no limits gets its requests and
// tokens charted with no limit line.
func TestReportUnlimitedModel(t *testing.T) {
	root := reportParseSVG(t, reportRender(t, "svg", "t", []Record{reportOK("local", 0, 1, 2, 10, 1)}, nil))
	var dims []string
	for _, p := range root.all(reportHasClass("usage")) {
		dims = append(dims, p.attr["data-dim"])
		if len(p.all(reportHasClass("limit"))) != 0 || !strings.Contains(p.text, reportNoLimit) {
			t.Errorf("%s: a limit line, or no %q", p.attr["data-dim"], reportNoLimit)
		}
	}
	if want := []string{reportDimRequests, reportDimInput, reportDimOutput}; !slices.Equal(dims, want) {
		t.Errorf("panels %v, want %v", dims, want)
	}
}

// TestReportHTML: the page embeds the chart and the summary table, loads
// nothing from elsewhere, and escapes a model name and a title made of
// markup.
func TestReportHTML(t *testing.T) {
	recs, limits := reportRun2()
	const evil = `<b>&"x"</b>`
	recs = append(recs, reportOK(evil, 0, 1, 2, 5, 5))
	limits[evil] = reportLimits{RPM: 7}
	page := reportRender(t, "html", "title "+evil, recs, limits)
	if !strings.HasPrefix(page, "<!DOCTYPE html>") {
		t.Errorf("the page does not begin with <!DOCTYPE html>: %.40q", page)
	}
	if strings.Contains(page, evil) || strings.Contains(page, "<b>") {
		t.Errorf("the page carries %s unescaped", evil)
	}
	for _, bad := range []string{"<script", "<link", "@import", "url(", "src=", "href="} {
		if strings.Contains(page, bad) {
			t.Errorf("the page has %q: it should load nothing", bad)
		}
	}
	if n := strings.Count(page, "&lt;b&gt;&amp;&#34;x&#34;&lt;/b&gt;"); n < 3 { // the <title>, the table, the chart
		t.Errorf("the escaped model name appears %d times, want at least 3", n)
	}
	root := reportParseSVG(t, reportSVGOf(t, page))
	found := false
	for _, p := range root.all(reportHasClass("usage")) {
		if p.attr["data-model"] == evil {
			found = true
			if !strings.Contains(p.text, evil) {
				t.Errorf("the heading of %s's panel: %q", evil, p.text)
			}
		}
	}
	if !found {
		t.Errorf("no panel of %s", evil)
	}
	for _, s := range []string{"<table>", "<td>claude-sonnet-4-5</td><td>4</td><td>3</td><td>1</td><td>0</td>", "<td>(none)</td><td>1</td><td>0</td><td>0</td><td>1</td>", "RPM\u00a01,000 · ITPM\u00a0450,000 · OTPM\u00a090,000", `<tr class="total"><td>all models</td><td>7</td>`} {
		if !strings.Contains(page, s) {
			t.Errorf("the summary table lacks %q", s)
		}
	}
}

// TestReportEdgeCases: nothing to chart, all invalid, a single record,
// identical timestamps, times that go backwards, a long run and text XML
// cannot carry: neither format panics and the SVG stays well-formed.
func TestReportEdgeCases(t *testing.T) {
	same := reportOK("m", 0, 0, 0, 10, 10)
	long := reportOK("m", 0, 3000, 7200, 10, 10)
	cases := map[string][]Record{
		"none":        nil,
		"all invalid": {{Status: statusInvalid, Line: 1}, {Status: statusInvalid, Line: 2, Model: "m"}},
		"one":         {reportOK("m", 0, 0.5, 1.5, 10, 10)},
		"identical":   {same, same, same},
		"backwards":   {reportOK("m", 10, 5, 1, 10, 10), reportOK("m", 10, 12, 11, -5, -1), {Model: "m", Status: statusFailed, QueuedAt: reportAt(3)}},
		"long":        {reportOK("m", 0, 1, 2, 10, 10), long},
		"bad text":    {reportOK("m\x00\xff\ufffe", 0, 1, 2, 10, 10), {Model: "\x1b[31m", Status: statusInvalid}},
		"huge":        {reportOK("m", 0, 1, 2, 1<<62, 1<<62), reportOK("m", 0, 1, 2, 1<<62, 1<<62)},
	}
	cases["far apart"] = []Record{reportOK("m", 0, 1, 2, 1, 1), {Model: "m", Status: statusSucceeded, QueuedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), DoneAt: time.Date(9999, 1, 1, 0, 0, 1, 0, time.UTC)}}
	limits := map[string]reportLimits{"m": {RPM: 5, ITPM: 100, OTPM: 100}}
	for name, recs := range cases {
		t.Run(name, func(t *testing.T) {
			svg := reportRender(t, "svg", "edge \x00 "+name, recs, limits)
			root := reportParseSVG(t, svg)
			reportParseSVG(t, reportSVGOf(t, reportRender(t, "html", name, recs, limits)))
			if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
				t.Errorf("the SVG has a NaN or Inf")
			}
			if sub := root.all(reportHasClass("subtitle")); len(sub) != 1 || !strings.HasPrefix(sub[0].text, groupDigits(int64(len(recs)))+" request") {
				t.Errorf("subtitle %v does not count the %d records", sub, len(recs))
			}
			panels := root.all(reportHasClass("panel"))
			switch name {
			case "none", "all invalid":
				if len(panels) != 0 || len(root.all(reportHasClass("empty"))) != 1 {
					t.Errorf("%d panels and no note that there is nothing to chart", len(panels))
				}
			default:
				if len(panels) != 4 {
					t.Errorf("%d panels, want 4", len(panels))
				}
			}
		})
	}
	// The long run's time axis is in minutes.
	root := reportParseSVG(t, reportRender(t, "svg", "long", cases["long"], limits))
	var ticks []string
	for _, e := range root.all(reportHasClass("concurrency"))[0].all(reportHasClass("tick")) {
		ticks = append(ticks, e.text)
	}
	if want := []string{"0min", "20min", "40min", "60min", "80min", "100min", "120min"}; !slices.Equal(ticks, want) {
		t.Errorf("ticks of a 2-hour run %v, want %v", ticks, want)
	}
}

// TestReportHuman: the axes' units.
func TestReportHuman(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 0.5: "0.5", 0.30000000000000004: "0.3", 999: "999", 1000: "1k", 1500: "1.5k", 450000: "450k", 1.25e6: "1.25M", 312.45: "312", 3e9: "3G", -2000: "-2k"} {
		if got := reportHuman(v); got != want {
			t.Errorf("human(%v) = %q, want %q", v, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 450000: "450,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := groupDigits(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
	ticks, top := reportNiceTicks(99000)
	if top != 100000 || len(ticks) != 5 || ticks[4].label != "100k" {
		t.Errorf("niceTicks(99000) = %v, %v; want 0, 25k, 50k, 75k, 100k", ticks, top)
	}
}

// TestReportMarksEachRefusedAttempt: a record that lists its attempts has
// its 429s and 529s marked when each attempt left, not when it ended.
func TestReportMarksEachRefusedAttempt(t *testing.T) {
	rec := reportOK("claude-sonnet-4-5", 0, 10, 90, 100, 10)
	rec.Attempts, rec.RateLimited, rec.Overloaded = 4, 2, 1
	rec.Tries = []Try{{At: reportAt(10), Status: 429}, {At: reportAt(30), Status: 529}, {At: reportAt(50), Status: 429}, {At: reportAt(70), Status: 200}}
	recs := []Record{rec, reportOK("claude-sonnet-4-5", 0, 0, 2, 10, 1)}
	limits := map[string]reportLimits{"claude-sonnet-4-5": {RPM: 1000, ITPM: 450000, OTPM: 90000}}
	root := reportParseSVG(t, reportRender(t, "svg", "run", recs, limits))
	rep := newReportRun(recs, limits)
	xs := func(class string) []string {
		var x []string
		for _, m := range root.all(reportHasClass(class)) {
			x = append(x, m.attr["x1"])
		}
		return x
	}
	at := func(s ...float64) []string {
		var x []string
		for _, v := range s {
			x = append(x, reportNum(rep.xAt(reportAt(v))))
		}
		return x
	}
	if got, want := xs("mark-429"), at(10, 50); !slices.Equal(got, want) {
		t.Errorf("429 markers at x %v, want %v (10 s and 50 s)", got, want)
	}
	if got, want := xs("mark-529"), at(30); !slices.Equal(got, want) {
		t.Errorf("529 markers at x %v, want %v (30 s)", got, want)
	}
}
