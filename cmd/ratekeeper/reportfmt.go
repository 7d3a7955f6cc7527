package main

import (
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

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
