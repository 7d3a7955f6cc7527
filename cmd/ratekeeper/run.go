package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/internal/usage"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

const runLong = `Send every request of REQUESTS.jsonl through ratekeeper, inside the budget of
a tier, and record what became of each.

Input: one JSON object per line (blank lines are skipped):
  - a Claude Messages body: {"model": ..., "max_tokens": ..., "messages": [...]}
  - a Message Batches line: {"custom_id": "doc-17", "params": {<Messages body>}}
  - with --provider openai, a Chat Completions body, or a line of an OpenAI
    batch file: {"custom_id": ..., "method": "POST", "url": "/v1/chat/completions", "body": {...}}
A line without custom_id is named line-N (N its line number). Bodies may set
"stream": true: the stream is read and the message it assembles is recorded.

Where: the real API with ANTHROPIC_API_KEY (or OPENAI_API_KEY) and --base-url,
or --simulate: the embedded simulated API on loopback (no key, no network),
limited like --tier (default there: tier-2) and shaped by the --sim-* flags.

--out FILE gets one JSON line per request as soon as it completes: id, line,
status (succeeded, failed, invalid), usage, response (or error type and
message), attempts, 429s and 529s, estimate, times, waited_ms, latency_ms.
A request is marked in FILE.inflight (synced) before it is sent, so --resume
skips every id already in FILE, and reports the ones that may have been sent
without an answer recorded instead of sending them twice (--resend-unknown
sends them anyway; --retry-failed sends failed and invalid ones again).

Ctrl-C stops sending: calls not yet sent are withdrawn, calls in flight may
finish within --grace; a second Ctrl-C aborts them. Exit codes: 0 every
request succeeded; 1 some failed or were invalid; 2 bad usage; 3 interrupted;
4 any other error.`

// runFlags are run's flags.
type runFlags struct {
	budget         budgetFlags
	sim            simFlags
	simulate       bool
	baseURL        string
	concurrency    int
	out            string
	resume         bool
	retryFailed    bool
	resendUnknown  bool
	quiet          bool
	json           bool
	report         string
	grace          time.Duration
	progressEvery  time.Duration
	metricsAddr    string
	verbose        bool
	defaultTierSim string
	simChanged     bool
}

func newRunCmd(e *env) *cobra.Command {
	f := &runFlags{defaultTierSim: "tier-2"}
	cmd := &cobra.Command{
		Use:   "run [flags] REQUESTS.jsonl",
		Short: "Send a file of requests inside the rate limits, resumably",
		Long:  runLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if !c.Flags().Changed("tier") && f.budget.config == "" && f.simulate {
				f.budget.tier = f.defaultTierSim
			}
			c.Flags().Visit(func(fl *pflag.Flag) { f.simChanged = f.simChanged || strings.HasPrefix(fl.Name, "sim-") })
			return runRequests(c.Context(), e, f, args[0])
		},
	}
	fs := cmd.Flags()
	f.budget.register(fs, "tier-1")
	f.sim.register(fs)
	fs.BoolVar(&f.simulate, "simulate", false, "send to the embedded simulated API (no API key, no network)")
	fs.StringVar(&f.baseURL, "base-url", "", "the API's base URL (default https://api.anthropic.com, or https://api.openai.com/v1)")
	fs.IntVar(&f.concurrency, "concurrency", 32, "requests in flight at most")
	fs.StringVar(&f.out, "out", "", "write one JSON record per request to `FILE` as each completes")
	fs.BoolVar(&f.resume, "resume", false, "continue the run recorded in --out: skip the ids it has")
	fs.BoolVar(&f.retryFailed, "retry-failed", false, "with --resume: send again the requests recorded as failed or invalid")
	fs.BoolVar(&f.resendUnknown, "resend-unknown", false, "with --resume: send again the requests that may have been sent without an answer recorded")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress display")
	fs.BoolVar(&f.json, "json", false, "print the summary as JSON")
	fs.StringVar(&f.report, "report", "", "draw usage, limits and waiting calls over time to `FILE`.html or .svg")
	fs.DurationVar(&f.grace, "grace", 30*time.Second, "after Ctrl-C, how long the calls in flight may take to finish")
	fs.DurationVar(&f.progressEvery, "progress-interval", 10*time.Second, "when the output is not a terminal, print a progress line this often")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve the Keeper's Prometheus metrics at http://`addr`/metrics while the run lasts")
	fs.BoolVar(&f.verbose, "verbose", false, "log every retry, refusal and header sync to stderr")
	return cmd
}

// job is one request of a run, with its estimate.
type job struct {
	request
	est tokencount.Estimate
}

// runner is one run of the command.
type runner struct {
	e        *env
	f        *runFlags
	provider tier.Provider
	url      string // the endpoint
	key      string
	path     string // of the requests file
	client   *http.Client
	out      *outFile
	budgets  map[string]tier.Budget
	progress *progress

	mu      sync.Mutex
	records []Record // of this run
	// interrupted counts the requests cut off after they were sent.
	interrupted int
}

func runRequests(ctx context.Context, e *env, f *runFlags, path string) error {
	if f.concurrency < 1 {
		return usageErr("--concurrency must be ≥ 1")
	}
	if (f.retryFailed || f.resendUnknown) && !f.resume {
		return usageErr("--retry-failed and --resend-unknown go with --resume")
	}
	if f.resume && f.out == "" {
		return usageErr("--resume needs --out (the records of the run to continue)")
	}
	p, err := f.budget.providerOf()
	if err != nil {
		return err
	}
	reportFmt := ""
	if f.report != "" {
		if reportFmt, err = reportFormat(f.report); err != nil {
			return usageErr("--report: %w", err)
		}
	}
	r := &runner{e: e, f: f, provider: p, path: path}

	// The API: its key and URL, or the simulated one.
	var server *simapi.Server
	if !f.simulate {
		if f.simChanged {
			return usageErr("the --sim-* flags go with --simulate")
		}
		name := "ANTHROPIC_API_KEY"
		if p == tier.OpenAI {
			name = "OPENAI_API_KEY"
		}
		if r.key = strings.TrimSpace(e.getenv(name)); r.key == "" {
			return usageErr("no API key: set %s to send to the API, or add --simulate to send to the simulated API (no key, no network)", name)
		}
	}

	reqs, err := loadRequests(path, e.stdin, p)
	if err != nil {
		return err
	}
	cfg, err := f.budget.load()
	if err != nil {
		return err
	}
	est, err := tokencount.New()
	if err != nil {
		return err
	}
	jobs, budgets := price(est, cfg, p, reqs)
	for _, j := range jobs {
		if errors.Is(j.err, tier.ErrUnknownTier) || errors.Is(j.err, tier.ErrUnknownProvider) {
			return usageErr("%w", j.err)
		}
	}
	r.budgets = budgets

	if f.simulate {
		for m, b := range budgets {
			budgets[m] = scaleBudget(b, f.sim.scale)
		}
		var base string
		if server, base, err = f.sim.server(p, budgets); err != nil {
			return err
		}
		defer server.Close()
		if f.baseURL == "" {
			f.baseURL = base
			if p == tier.OpenAI {
				f.baseURL += "/v1"
			}
		}
		r.key = "sk-simulated"
		cfg = pinned(p, budgets)
	}
	r.url = endpoint(p, f.baseURL)

	// --out, and what an earlier run left in it.
	skipped, unknown := 0, 0
	var st *resumeState
	if f.out != "" {
		if r.out, st, err = openOut(f.out, f.resume); err != nil {
			return err
		}
		if st.torn {
			fmt.Fprintf(e.stderr, "resume: the last record of %s was cut off; it is removed and its request sent again\n", f.out)
		}
		keep := jobs[:0]
		for _, j := range jobs {
			if rec, ok := st.done[j.id]; ok && !(f.retryFailed && rec.Status != statusSucceeded) {
				skipped++
				continue
			}
			if m, ok := st.maybeSent[j.id]; ok && !f.resendUnknown {
				unknown++
				fmt.Fprintf(e.stderr, "resume: line %d (%s) may have been sent at %s without an answer recorded: not sent again (--resend-unknown sends it)\n",
					j.line, j.id, m.SentAt.Format(time.RFC3339))
				continue
			}
			keep = append(keep, j)
		}
		jobs = keep
		if f.resume {
			fmt.Fprintf(e.stderr, "resume: %d of %d requests already recorded in %s\n", skipped, len(reqs), f.out)
		}
	} else if !f.simulate {
		fmt.Fprintln(e.stderr, "warning: no --out: the responses are not kept")
	}

	var kopts []ratekeeper.Option
	kopts = append(kopts, ratekeeper.WithConfig(cfg), ratekeeper.WithEstimator(est), ratekeeper.WithMaxConcurrency(f.concurrency))
	r.progress = newProgress(e.stderr, f, jobs, budgets)
	kopts = append(kopts, ratekeeper.WithObserver(r.progress.observe))
	if f.verbose {
		kopts = append(kopts, ratekeeper.WithLogger(slog.New(slog.NewTextHandler(r.progress, nil))))
	}
	keeper, err := ratekeeper.New(kopts...)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if f.metricsAddr != "" {
		stop, addr, err := serveMetrics(f.metricsAddr, keeper)
		if err != nil {
			return err
		}
		defer stop()
		fmt.Fprintf(e.stderr, "metrics: http://%s/metrics\n", addr)
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = f.concurrency
	r.client = &http.Client{Transport: keeper.Transport(&wire{base: base, out: r.out, answered: r.progress.answered})}

	r.progress.start()
	r.send(ctx, jobs)
	r.progress.stop()

	settled := r.interrupted == 0 && unknown == 0
	if err := r.out.close(settled); err != nil {
		fmt.Fprintf(e.stderr, "ratekeeper: %v\n", err)
	}
	sum := r.summarize(len(reqs), skipped, unknown, ctx.Err() != nil)
	if err := sum.print(e.stdout, f.json); err != nil {
		return err
	}
	if f.report != "" {
		if err := r.writeReport(reportFmt); err != nil {
			return err
		}
	}
	switch {
	case ctx.Err() != nil:
		return withCode(exitInterrupted, fmt.Errorf("interrupted: %d of %d requests recorded; continue with --resume", skipped+sum.Recorded, len(reqs)))
	case sum.Failed+sum.Invalid > 0:
		return withCode(exitFailed, fmt.Errorf("%d of %d requests failed or were invalid", sum.Failed+sum.Invalid, len(reqs)))
	}
	return nil
}

// endpoint is the URL requests are posted to.
func endpoint(p tier.Provider, base string) string {
	if p == tier.OpenAI {
		if base == "" {
			base = "https://api.openai.com/v1"
		}
		return strings.TrimRight(base, "/") + "/chat/completions"
	}
	if base == "" {
		base = "https://api.anthropic.com"
	}
	return strings.TrimRight(base, "/") + "/v1/messages"
}

// price estimates every request, marking the ones that can never be sent,
// and resolves the budget of every model.
func price(est *tokencount.Estimator, cfg *tier.Config, p tier.Provider, reqs []request) ([]job, map[string]tier.Budget) {
	jobs := make([]job, len(reqs))
	bs := map[string]tier.Budget{}
	bad := map[string]error{}
	for i, q := range reqs {
		j := job{request: q}
		if j.err == nil {
			if p == tier.OpenAI {
				j.est, j.err = est.EstimateOpenAI(j.body)
			} else {
				j.est, j.err = est.EstimateAnthropic(j.body)
			}
		}
		if j.err == nil {
			if err, ok := bad[j.model]; ok {
				j.err = err
			} else if _, ok := bs[j.model]; !ok {
				b, err := cfg.Budget(j.model)
				if err != nil {
					bad[j.model] = err
					j.err = err
				} else {
					bs[j.model] = b
				}
			}
		}
		jobs[i] = j
	}
	return jobs, bs
}

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
			resp.Body = usage.NewReader(resp.Body, usageKind(r.provider, j.stream), func(u usage.Usage, _ error) {
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

// usageKind says how internal/usage reads a response body.
func usageKind(p tier.Provider, stream bool) usage.Kind {
	switch {
	case p == tier.OpenAI && stream:
		return usage.OpenAISSE
	case p == tier.OpenAI:
		return usage.OpenAIJSON
	case stream:
		return usage.AnthropicSSE
	}
	return usage.AnthropicJSON
}

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
