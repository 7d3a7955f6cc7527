package main

import (
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"
)

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
