package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/ratekeeper/ratekeeper/batch"
	"github.com/ratekeeper/ratekeeper/tier"
)

// The routes run can take (--mode).
const (
	modeRealtime = "realtime"
	modeBatch    = "batch"
	modeAuto     = "auto"
)

// chooseMode resolves --mode auto as plan does: the live endpoint if the
// workload surely finishes within --within under the budget (outputs at
// max_tokens), Message Batches otherwise. It returns the mode and the one
// line that says why.
func chooseMode(f *runFlags, p tier.Provider, jobs []job, cfg *tier.Config) (string, string) {
	if f.mode != modeAuto {
		return f.mode, ""
	}
	at := f.budget.tier
	if f.budget.config != "" {
		at = "--config " + f.budget.config
	}
	models, _ := totalsOf(jobs)
	row := planAt(at, cfg, models)
	bound, floor := time.Duration(row.Minimum), time.Duration(row.Floor)
	need := fmt.Sprintf("up to %s at %s", roundDur(bound), at)
	if bound == 0 {
		need = fmt.Sprintf("no wait at %s (the work fits in its buckets at once)", at)
	} else if row.Binding != "" {
		need += fmt.Sprintf(" (%s binds; at least %s without output)", row.Binding, roundDur(floor))
	}
	switch {
	case p == tier.OpenAI:
		return modeRealtime, "mode: realtime (OpenAI's Batch API is not supported yet); the live endpoint needs " + need
	case len(row.Missing) > 0:
		return modeRealtime, "mode: realtime: the budget has no limits for " + strings.Join(row.Missing, ", ") + " to plan with"
	case bound <= f.within:
		return modeRealtime, fmt.Sprintf("mode: realtime: the live endpoint needs %s, within --within %s", need, f.within)
	}
	return modeBatch, fmt.Sprintf("mode: batch: the live endpoint may need %s, more than --within %s; Message Batches have their own limits and cost half as much", need, f.within)
}

// batchLimits are the Message Batches limits of the budget's tier (zero,
// meaning the API's per-batch limits only, when it names none).
func batchLimits(p tier.Provider, cfg *tier.Config) tier.BatchLimits {
	if ti, err := tier.LookupTier(p, cfg.Tier); err == nil && p == tier.Anthropic {
		return ti.Batches
	}
	return tier.BatchLimits{}
}

// runBatch sends the jobs through the Message Batches API: the same
// records in --out, and the same --resume, as the live route. The batches'
// state is kept beside --out (FILE.batches), so a resumed run waits for
// the batches it had submitted instead of submitting their items again.
func (r *runner) runBatch(ctx context.Context, jobs []job, limits tier.BatchLimits, total, skipped, unknown int) error {
	f, e := r.f, r.e
	state := ""
	if f.out != "" {
		state = f.out + ".batches"
		if !f.resume {
			if err := os.Remove(state); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("--out: %w", err)
			}
		}
	}
	r.progress = newProgress(e.stderr, f, nil, r.budgets)
	start := time.Now()
	byID := map[string]*job{}
	var reqs []batch.Request
	for i := range jobs {
		j := &jobs[i]
		if j.err == nil {
			var body []byte
			if body, j.err = withoutStream(j.body); j.err == nil {
				byID[j.id] = j
				reqs = append(reqs, batch.Request{CustomID: j.id, Params: body})
				continue
			}
		}
		r.finish(j, j.invalid()) // reported with its line, before anything is submitted
	}
	if f.batchSize > 0 && (limits.MaxRequestsPerBatch == 0 || f.batchSize < limits.MaxRequestsPerBatch) {
		limits.MaxRequestsPerBatch = f.batchSize
	}
	opts := batch.Options{Limits: limits, State: state, Poll: f.batchPoll}
	if !f.quiet {
		last := batch.Progress{Items: -1}
		opts.Progress = func(p batch.Progress) {
			if p.Done == last.Done && p.Batches == last.Batches && p.QueueFull == last.QueueFull && p.Pending == last.Pending {
				return
			}
			last = p
			full := ""
			if p.QueueFull {
				full = " · waiting for room in the processing queue"
			}
			fmt.Fprintf(r.progress, "batches: %d/%d done · %d in %d batches processing · %d to submit%s · %s elapsed\n",
				p.Done, p.Items, p.Processing, p.Batches, p.Pending, full, time.Since(start).Round(time.Second))
		}
	}
	client := anthropic.NewClient(option.WithAPIKey(r.key), option.WithBaseURL(strings.TrimSuffix(r.url, "/v1/messages")))
	runner, err := batch.New(client, opts)
	if err != nil {
		return withCode(exitUsage, err)
	}
	var sum batch.Summary
	for {
		sum, err = runner.Run(ctx, reqs, func(res batch.Result) error {
			j := byID[res.CustomID]
			if j == nil {
				return nil // a result of an earlier run's item that this file no longer has
			}
			rec := batchRecord(j, res, start)
			r.finish(j, &rec)
			return nil
		})
		// Items the API would refuse are recorded as invalid, and the rest
		// sent: nothing has been submitted yet.
		var bad *batch.InvalidError
		if !errors.As(err, &bad) {
			break
		}
		drop := map[int]bool{}
		for _, it := range bad.Items {
			drop[it.Index] = true
			j := byID[reqs[it.Index].CustomID]
			j.err = it.Err
			r.finish(j, j.invalid())
		}
		keep := reqs[:0]
		for i, q := range reqs {
			if !drop[i] {
				keep = append(keep, q)
			}
		}
		reqs = keep
	}
	if cerr := r.out.close(true); cerr != nil {
		fmt.Fprintf(e.stderr, "ratekeeper: %v\n", cerr)
	}
	interrupted := ctx.Err() != nil
	s := r.summarize(total, skipped, unknown, interrupted)
	s.Mode, s.Batches, s.Resubmitted, s.Efficiency = modeBatch, sum.Batches+sum.Adopted, sum.Resubmitted, 0
	s.Wall = duration(time.Since(start))
	if interrupted {
		s.NotSent, s.MaybeSent = 0, total-skipped-s.Recorded
	}
	if perr := s.print(e.stdout, f.json); perr != nil {
		return perr
	}
	switch {
	case interrupted:
		return withCode(exitInterrupted, fmt.Errorf("interrupted: %d of %d requests recorded; the submitted batches go on: collect them with --resume", skipped+s.Recorded, total))
	case err != nil:
		return err
	case s.Failed+s.Invalid > 0:
		return withCode(exitFailed, fmt.Errorf("%d of %d requests failed or were invalid", s.Failed+s.Invalid, total))
	}
	return nil
}

// batchRecord is the --out record of a batch result.
func batchRecord(j *job, res batch.Result, start time.Time) Record {
	now := time.Now()
	rec := Record{ID: j.id, Line: j.line, Model: j.model, Attempts: res.Submissions, BatchID: res.BatchID,
		Estimate: &Usage{InputTokens: j.est.InputTokens, OutputTokens: j.est.OutputReserve},
		QueuedAt: start, DoneAt: now, LatencyMS: now.Sub(start).Milliseconds()}
	switch res.Type {
	case batch.Succeeded:
		rec.Status, rec.HTTPStatus, rec.Response = statusSucceeded, 200, res.Message
		var m struct {
			Usage *Usage `json:"usage"`
		}
		if json.Unmarshal(res.Message, &m) == nil {
			rec.Usage = m.Usage
		}
	case batch.Errored:
		var e struct {
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		json.Unmarshal(res.Error, &e)
		rec.Status, rec.Error = statusFailed, &RecordError{Type: res.ErrorType, Message: e.Error.Message}
	default:
		rec.Status = statusFailed
		rec.Error = &RecordError{Type: string(res.Type), Message: "the batch ended without processing the request (" + string(res.Type) + ")"}
	}
	return rec
}

// withoutStream drops "stream" from a Messages body: a batch item is
// never streamed.
func withoutStream(body []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	if _, ok := m["stream"]; !ok {
		return body, nil
	}
	delete(m, "stream")
	return json.Marshal(m)
}
