package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/internal/usage"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// send sends the jobs with f.concurrency workers until done or ctx ends.
func (r *runner) send(ctx context.Context, jobs []job) {
	abort, abortNow := context.WithCancel(abortOf(ctx))
	defer abortNow()
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(r.f.grace, abortNow) })
	defer stopGrace()

	next := make(chan *job)
	var wg sync.WaitGroup
	for range r.f.concurrency {
		wg.Go(func() {
			for j := range next {
				r.do(ctx, abort, j)
			}
		})
	}
	for i := range jobs {
		j := &jobs[i]
		if j.err != nil {
			r.finish(j, j.invalid())
			continue
		}
		select {
		case next <- j:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
}

// invalid is the record of a job that is never sent.
func (j *job) invalid() *Record {
	t := "malformed"
	if errors.Is(j.err, tokencount.ErrTooLarge) || errors.Is(j.err, limiter.ErrTooLarge) {
		t = "too_large"
	} else if _, ok := errors.AsType[*tier.LookupError](j.err); ok {
		t = "unknown_model"
	}
	now := time.Now()
	return &Record{ID: j.id, Line: j.line, Status: statusInvalid, Model: j.model,
		Error: &RecordError{Type: t, Message: j.err.Error()}, QueuedAt: now, DoneAt: now}
}

// do sends one job and records its outcome. A job withdrawn before it was
// sent (the run stops) gets no record: a resumed run sends it.
func (r *runner) do(stop, abort context.Context, j *job) {
	a := &attempts{id: j.id, line: j.line, onSend: r.progress.sent}
	ctx, cancel := context.WithCancel(withAttempts(abort, a))
	defer cancel()
	withdraw := context.AfterFunc(stop, func() {
		if !a.stop() {
			cancel()
		}
	})
	defer withdraw()
	if stop.Err() != nil {
		return
	}
	rec := &Record{ID: j.id, Line: j.line, Model: j.model, QueuedAt: time.Now(),
		Estimate: &Usage{InputTokens: j.est.InputTokens, OutputTokens: j.est.OutputReserve}}
	r.progress.queued(j)
	defer func() { r.progress.unqueued(a.stop()) }()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(j.body))
	if err != nil {
		j.err = err
		r.finish(j, j.invalid())
		return
	}
	req.Header.Set("content-type", "application/json")
	if r.provider == tier.OpenAI {
		req.Header.Set("authorization", "Bearer "+r.key)
	} else {
		req.Header.Set("x-api-key", r.key)
		req.Header.Set("anthropic-version", "2023-06-01")
	}
	resp, err := r.client.Do(req)
	var body []byte
	var used *Usage
	if err == nil {
		if resp.StatusCode/100 == 2 {
			// The usage, read in passing by the parser the Keeper settles with.
			resp.Body = usage.NewReader(resp.Body, r.provider, j.stream, func(u usage.Usage, _ error) {
				if u.Input || u.Final {
					used = &Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
						CacheCreationInputTokens: u.CacheCreationInputTokens, CacheReadInputTokens: u.CacheReadInputTokens}
				}
			})
		}
		if j.stream && resp.StatusCode/100 == 2 {
			body, err = assemble(r.provider, resp)
		} else {
			body, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		}
		resp.Body.Close()
		if err == nil && resp.StatusCode/100 == 2 && !json.Valid(body) {
			err = fmt.Errorf("%w: the API answered %d with a body that is not JSON", errBadResponse, resp.StatusCode)
		}
	}
	rec.DoneAt = time.Now()
	a.mu.Lock()
	rec.Attempts, rec.RateLimited, rec.Overloaded, rec.SentAt = a.n, a.rateLimited, a.overloaded, a.sentAt
	if a.n > 1 {
		rec.Tries = a.tries
	}
	a.mu.Unlock()
	rec.LatencyMS = rec.DoneAt.Sub(rec.QueuedAt).Milliseconds()
	rec.WaitedMS = max(0, (rec.DoneAt.Sub(rec.QueuedAt) - a.onWire(rec.DoneAt)).Milliseconds())

	if err != nil && (ctx.Err() != nil || errors.Is(err, errNotSent)) {
		if rec.Attempts == 0 {
			r.progress.withdrawn(j)
			return // withdrawn before it was sent: a resumed run sends it
		}
		r.mu.Lock()
		r.interrupted++
		r.mu.Unlock()
		fmt.Fprintf(r.progress, "line %d (%s): cut off after it was sent: it may have been processed (a resumed run reports it)\n", j.line, j.id)
		r.progress.withdrawn(j)
		return
	}
	switch {
	case err != nil:
		rec.Status = statusFailed
		rec.Error = classify(err)
		if resp != nil {
			rec.HTTPStatus = resp.StatusCode
		}
		if rec.Attempts == 0 {
			if rec.Error.Type == "too_large" {
				rec.Status = statusInvalid
			}
		}
	case resp.StatusCode/100 == 2:
		rec.Status = statusSucceeded
		rec.HTTPStatus = resp.StatusCode
		rec.Response = body
		rec.Usage = used
	default:
		rec.Status = statusFailed
		rec.HTTPStatus = resp.StatusCode
		rec.Error = &RecordError{Type: "http_" + fmt.Sprint(resp.StatusCode), Message: strings.TrimSpace(string(body))}
		if api, perr := tier.ParseErrorBody(r.provider, resp.StatusCode, body); perr == nil && api.Type != "" {
			rec.Error = &RecordError{Type: api.Type, Message: api.Message}
		}
		if len(rec.Error.Message) > 2000 {
			rec.Error.Message = rec.Error.Message[:2000] + "…"
		}
	}
	r.finish(j, rec)
}

// errBadResponse is what a 2xx answer that is not a response matches.
var errBadResponse = errors.New("bad response")

// classify names the error of a request that got no usable answer.
func classify(err error) *RecordError {
	t := "connection"
	var kerr *ratekeeper.Error
	var lerr *limiter.LimitError
	switch {
	case errors.Is(err, limiter.ErrTooLarge), errors.Is(err, tokencount.ErrTooLarge):
		t = "too_large"
	case errors.As(err, &kerr):
		t = "refused_by_server"
		if kerr.API != nil && kerr.API.Type != "" {
			t = kerr.API.Type
		}
	case errors.As(err, &lerr):
		t = "refused"
	case errors.Is(err, errStream):
		t = "stream"
	case errors.Is(err, errBadResponse):
		t = "bad_response"
	}
	msg := err.Error()
	// The URL in a *url.Error is the endpoint (no key); keep the message.
	return &RecordError{Type: t, Message: msg}
}

// finish records rec: --out, the summary, the progress display, and a line
// on stderr for a request that is invalid.
func (r *runner) finish(j *job, rec *Record) {
	if err := r.out.write(rec); err != nil {
		fmt.Fprintf(r.progress, "ratekeeper: %v\n", err)
	}
	if rec.Status == statusInvalid || (rec.Status == statusFailed && rec.Attempts == 0) {
		fmt.Fprintf(r.progress, "line %d (%s): %s: %s\n", rec.Line, rec.ID, rec.Error.Type, rec.Error.Message)
	}
	r.mu.Lock()
	r.records = append(r.records, *rec)
	r.mu.Unlock()
	r.progress.done(j, rec)
}
