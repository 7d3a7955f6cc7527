package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ratekeeper/ratekeeper"
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
	mode           string
	within         time.Duration
	batchPoll      time.Duration
	batchSize      int64
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
	fs.StringVar(&f.mode, "mode", modeRealtime, "the route: realtime (the live endpoint), batch (Message Batches: half the price, results within 24 h) or auto (batch when realtime would not finish --within)")
	fs.DurationVar(&f.within, "within", time.Hour, "with --mode auto: the wall time the live endpoint must finish within")
	fs.Int64Var(&f.batchSize, "batch-size", 0, "with --mode batch: the most requests in one batch (default: the tier's limit, 100,000); smaller batches return their results sooner")
	fs.DurationVar(&f.batchPoll, "batch-poll", 5*time.Second, "with --mode batch: the first wait before a batch is retrieved again (it doubles, up to a minute)")
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
	switch f.mode {
	case modeRealtime, modeBatch, modeAuto:
	default:
		return usageErr("--mode %q: realtime, batch or auto", f.mode)
	}
	if f.within <= 0 || f.batchPoll <= 0 || f.batchSize < 0 {
		return usageErr("--within and --batch-poll must be > 0, and --batch-size ≥ 0")
	}
	p, err := f.budget.providerOf()
	if err != nil {
		return err
	}
	if p == tier.OpenAI && f.mode == modeBatch {
		return usageErr("--mode batch: OpenAI's Batch API is not supported yet; use --mode realtime")
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
	limits := batchLimits(p, cfg)

	if f.simulate {
		f.sim.batches = limits
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
		// The summary's minimum and the ETA know the server's sub-minute
		// buckets (the Keeper, given cfg, does not: it learns them).
		for m, b := range budgets {
			b.Burst = f.sim.burst
			budgets[m] = b
		}
	}
	r.url = endpoint(p, f.baseURL)
	mode, why := chooseMode(f, p, jobs, cfg)
	if why != "" {
		fmt.Fprintln(e.stderr, why)
	}

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

	if mode == modeBatch {
		if f.report != "" {
			fmt.Fprintln(e.stderr, "--report: not drawn for Message Batches: the live endpoint's limits it charts do not apply to them")
		}
		return r.runBatch(ctx, jobs, limits, len(reqs), skipped, unknown)
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
