package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// summary is what run prints at the end (and, with --json, its JSON).
type summary struct {
	// Requests is the number of requests in the file; AlreadyRecorded of
	// them were skipped (--resume), Recorded got a record in this run.
	// Mode is the route: realtime (the live endpoint) or batch.
	Mode            string `json:"mode"`
	Requests        int    `json:"requests"`
	AlreadyRecorded int    `json:"already_recorded"`
	Recorded        int    `json:"recorded"`
	Succeeded       int    `json:"succeeded"`
	Failed          int    `json:"failed"`
	Invalid         int    `json:"invalid"`
	// ByReason counts the failed and invalid requests by error type.
	ByReason map[string]int `json:"by_reason,omitempty"`
	// MaybeSent counts the requests that may have been sent without an
	// answer recorded: cut off in this run, or left so by an earlier one.
	MaybeSent int `json:"may_have_been_sent"`
	// NotSent counts the requests this run did not send (it was stopped).
	NotSent int `json:"not_sent"`
	// Attempts, RateLimited and Overloaded count what the server was sent
	// and answered: attempts, 429s, 529s (OpenAI: 503s).
	Attempts    int `json:"attempts"`
	RateLimited int `json:"rate_limited_429"`
	Overloaded  int `json:"overloaded_529"`
	// Batches counts the Message Batches this run waited for, and
	// Resubmitted the items submitted again (expired, server errors).
	Batches     int `json:"batches,omitempty"`
	Resubmitted int `json:"resubmitted,omitempty"`
	// Wall is the time from the first request queued to the last done;
	// Minimum the theoretical minimum for what succeeded under the budget,
	// starting with full buckets (Binding says which model's which limit
	// sets it); Efficiency is Minimum/Wall, 0 when no limit binds.
	Wall       duration `json:"wall_time"`
	Minimum    duration `json:"theoretical_minimum"`
	Binding    string   `json:"binding,omitempty"`
	Efficiency float64  `json:"efficiency"`
	Tokens     Usage    `json:"tokens"`
	// Interrupted reports that the run was stopped before its end.
	Interrupted bool `json:"interrupted"`
}

// duration marshals as a Go duration string ("1m12.5s").
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Round(time.Millisecond).String())
}

func (r *runner) summarize(requests, skipped, unknown int, interrupted bool) summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := summary{Mode: modeRealtime, Requests: requests, AlreadyRecorded: skipped, Recorded: len(r.records),
		MaybeSent: unknown + r.interrupted, Interrupted: interrupted, ByReason: map[string]int{}}
	var first, last time.Time
	totals := map[string]*[tier.NumDimensions]int64{}
	for _, rec := range r.records {
		switch rec.Status {
		case statusSucceeded:
			s.Succeeded++
		case statusFailed:
			s.Failed++
		case statusInvalid:
			s.Invalid++
		}
		if rec.Error != nil {
			s.ByReason[rec.Error.Type]++
		}
		s.Attempts += rec.Attempts
		s.RateLimited += rec.RateLimited
		s.Overloaded += rec.Overloaded
		if rec.Attempts > 0 {
			if first.IsZero() || rec.QueuedAt.Before(first) {
				first = rec.QueuedAt
			}
			if rec.DoneAt.After(last) {
				last = rec.DoneAt
			}
		}
		if u := rec.Usage; u != nil && rec.Status == statusSucceeded {
			s.Tokens.InputTokens += u.InputTokens
			s.Tokens.OutputTokens += u.OutputTokens
			s.Tokens.CacheCreationInputTokens += u.CacheCreationInputTokens
			s.Tokens.CacheReadInputTokens += u.CacheReadInputTokens
			t := totals[rec.Model]
			if t == nil {
				t = new([tier.NumDimensions]int64)
				totals[rec.Model] = t
			}
			addCost(t, limiter.Cost{Requests: 1, InputTokens: u.InputTokens + u.CacheCreationInputTokens, OutputTokens: u.OutputTokens})
		}
	}
	s.NotSent = requests - skipped - s.Recorded - s.MaybeSent
	if !first.IsZero() {
		s.Wall = duration(last.Sub(first))
	}
	for m, t := range totals {
		if floor, d, ok := minimumTime(r.budgets[m], *t); ok && duration(floor) > s.Minimum {
			s.Minimum, s.Binding = duration(floor), m+" "+d.String()
		}
	}
	if s.Wall > 0 && s.Minimum > 0 {
		s.Efficiency = float64(s.Minimum) / float64(s.Wall)
	}
	return s
}

func (s summary) print(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	reasons := func(statusOf func(string) bool) string {
		var parts []string
		for k, n := range s.ByReason {
			if statusOf(k) {
				parts = append(parts, fmt.Sprintf("%s %d", k, n))
			}
		}
		sort.Strings(parts)
		if len(parts) == 0 {
			return ""
		}
		return " (" + strings.Join(parts, ", ") + ")"
	}
	all := func(string) bool { return true }
	fmt.Fprintf(w, "requests:    %d", s.Requests)
	if s.AlreadyRecorded > 0 {
		fmt.Fprintf(w, " (%d already recorded, skipped)", s.AlreadyRecorded)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "succeeded:   %d\n", s.Succeeded)
	fmt.Fprintf(w, "failed:      %d, invalid: %d%s\n", s.Failed, s.Invalid, reasons(all))
	if s.MaybeSent > 0 || s.NotSent > 0 {
		fmt.Fprintf(w, "unfinished:  %d not sent, %d may have been sent (continue with --resume)\n", s.NotSent, s.MaybeSent)
	}
	if s.Mode == modeBatch {
		fmt.Fprintf(w, "batches:     %d, %d submissions (%d resubmitted)\n", s.Batches, s.Attempts, s.Resubmitted)
		fmt.Fprintf(w, "wall time:   %v\n", time.Duration(s.Wall).Round(10*time.Millisecond))
		if s.Minimum > 0 {
			fmt.Fprintf(w, "live:        the live endpoint would need at least %v (bound by %s)\n", time.Duration(s.Minimum).Round(10*time.Millisecond), s.Binding)
		} else {
			fmt.Fprintln(w, "live:        the live endpoint could take it all at once (no limit binds)")
		}
	} else {
		fmt.Fprintf(w, "server:      %d attempts, %d answered 429, %d answered 529\n", s.Attempts, s.RateLimited, s.Overloaded)
		fmt.Fprintf(w, "wall time:   %v\n", time.Duration(s.Wall).Round(10*time.Millisecond))
	}
	switch {
	case s.Mode == modeBatch:
	case s.Minimum > 0:
		fmt.Fprintf(w, "minimum:     %v (bound by %s, from full buckets)\n", time.Duration(s.Minimum).Round(10*time.Millisecond), s.Binding)
		fmt.Fprintf(w, "efficiency:  %.2f\n", s.Efficiency)
	default:
		fmt.Fprintln(w, "minimum:     0 (the work fits in the buckets at once: no limit binds)")
	}
	fmt.Fprintf(w, "tokens:      %d input, %d output", s.Tokens.InputTokens, s.Tokens.OutputTokens)
	if s.Tokens.CacheCreationInputTokens+s.Tokens.CacheReadInputTokens > 0 {
		fmt.Fprintf(w, ", %d cache writes, %d cache reads", s.Tokens.CacheCreationInputTokens, s.Tokens.CacheReadInputTokens)
	}
	fmt.Fprintln(w)
	return nil
}

// writeReport draws this run's records to --report.
func (r *runner) writeReport(format string) error {
	limits := map[string]reportLimits{}
	for m, b := range r.budgets {
		limits[m] = reportLimits{RPM: b.RPM, ITPM: b.ITPM, OTPM: b.OTPM, TPM: b.TPM}
	}
	f, err := os.Create(r.f.report)
	if err != nil {
		return fmt.Errorf("--report: %w", err)
	}
	r.mu.Lock()
	recs := append([]Record(nil), r.records...)
	r.mu.Unlock()
	if err := writeReport(f, format, "ratekeeper run "+r.path, recs, limits); err != nil {
		f.Close()
		return fmt.Errorf("--report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--report: %w", err)
	}
	fmt.Fprintf(r.e.stderr, "report: %s\n", r.f.report)
	return nil
}
