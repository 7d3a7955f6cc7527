package main

// Helpers shared by the tiers, headers, count and simulate subcommands: digit
// grouping, aligned tables and indented JSON.

import (
	"encoding/json"
	"io"
	"strconv"
	"text/tabwriter"
)

// groupDigits writes n with thousands separators: 2000000 → "2,000,000".
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	if neg {
		out = append(out, '-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// groupOrDash is groupDigits, or "-" for 0 (not limited, not published).
func groupOrDash(n int64) string {
	if n == 0 {
		return "-"
	}
	return groupDigits(n)
}

// newTable returns a tabwriter for left-aligned columns two spaces apart.
// The caller must Flush it.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// writeJSON writes v as indented JSON followed by a newline, without
// escaping <, > and & (the output is for people and jq, not HTML).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
