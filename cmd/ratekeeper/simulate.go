package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
)

// simulate runs a workload through anthropic-sdk-go against the simulated
// API on loopback, with the Keeper (or, with -no-limiter, with the SDK's own
// retries only), and reports what the server saw.
func simulate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sim := fs.Bool("simulate", false, "run against the simulated API (the only mode without an API key)")
	tierName := fs.String("tier", "tier-1", "Anthropic tier whose preset budgets both the server and the Keeper")
	model := fs.String("model", string(anthropic.ModelClaudeSonnet4_6), "model of every call")
	scale := fs.Float64("scale", 10, "multiply every limit by this factor so that a simulated minute passes in 60/scale seconds")
	workers := fs.Int("concurrency", 32, "calls in flight from the client")
	burst := fs.Duration("server-burst", 0, "the simulated server enforces its per-minute limits over this interval (0: a full minute)")
	noLimiter := fs.Bool("no-limiter", false, "send without ratekeeper, with the SDK's default retries (for comparison)")
	verbose := fs.Bool("v", false, "log every retry and header sync to stderr")
	metricsAddr := fs.String("metrics-addr", "", "serve the Keeper's Prometheus metrics at http://`addr`/metrics while the run lasts (e.g. 127.0.0.1:9464)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*sim {
		return errors.New("run: only -simulate is supported: it needs no API key")
	}
	if fs.NArg() != 1 {
		return errors.New("run: want one workload file (- for standard input)")
	}
	if *scale <= 0 || *workers < 1 {
		return errors.New("run: -scale must be > 0 and -concurrency ≥ 1")
	}
	calls, err := openWorkload(fs.Arg(0), stdin)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	preset, err := tier.Lookup(tier.Anthropic, *tierName, *model)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	b := preset.Budget
	scaled := func(v int64) int64 { return int64(float64(v) * *scale) }
	b.RPM, b.ITPM, b.OTPM = scaled(b.RPM), scaled(b.ITPM), scaled(b.OTPM)

	server, err := simapi.New(simapi.Config{
		Classes: []simapi.Class{{Name: preset.Class.Name, Provider: simapi.Anthropic, Prefixes: []string{*model},
			Limits: simapi.Limits{RPM: b.RPM, ITPM: b.ITPM, OTPM: b.OTPM}}},
		Burst: *burst,
	})
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	defer server.Close()
	baseURL, err := server.Start()
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}

	const key = "sk-ant-simulated"
	opts := []option.RequestOption{option.WithBaseURL(baseURL + "/"), option.WithAPIKey(key)}
	if !*noLimiter {
		kopts := []ratekeeper.Option{ratekeeper.WithConfig(&tier.Config{
			Provider: tier.Anthropic,
			Models: map[string]tier.ModelConfig{*model: {Tier: "none", Override: tier.Override{
				RPM: &b.RPM, ITPM: &b.ITPM, OTPM: &b.OTPM}}},
		})}
		if *verbose {
			kopts = append(kopts, ratekeeper.WithLogger(slog.New(slog.NewTextHandler(stderr, nil))))
		}
		keeper, err := ratekeeper.New(kopts...)
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		opts = append(opts, option.WithMiddleware(keeper.Middleware), option.WithMaxRetries(0))
		if *metricsAddr != "" {
			stop, addr, err := serveMetrics(*metricsAddr, keeper)
			if err != nil {
				return fmt.Errorf("run: %w", err)
			}
			defer stop()
			fmt.Fprintf(stderr, "metrics:   http://%s/metrics\n", addr)
		}
	}
	client := anthropic.NewClient(opts...)

	strategy := "ratekeeper"
	if *noLimiter {
		strategy = "no limiter, SDK retries"
	}
	fmt.Fprintf(stdout, "workload:  %d calls, %d at a time, model %s\n", len(calls), *workers, *model)
	fmt.Fprintf(stdout, "budget:    %s preset x%g: %d RPM, %d ITPM, %d OTPM (%gx faster than at the tier)\n",
		*tierName, *scale, b.RPM, b.ITPM, b.OTPM, *scale)
	fmt.Fprintf(stdout, "strategy:  %s\n", strategy)

	start := time.Now()
	lat, failures := drive(ctx, client, *model, calls, *workers)
	wall := time.Since(start)

	c := server.Ledger().Counts(key, preset.Class.Name)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(time.Millisecond)
	}
	floor := server.Ledger().MinimumTime(key, preset.Class.Name, map[simapi.Dimension]int64{simapi.Requests: b.RPM, simapi.InputTokens: b.ITPM, simapi.OutputTokens: b.OTPM})
	fmt.Fprintf(stdout, "succeeded: %d of %d\n", len(lat), len(calls))
	fmt.Fprintf(stdout, "server:    %d admitted, %d rate limited (429), %d overloaded (529); %d input and %d output tokens\n",
		c.Admitted, c.RateLimited, c.Overloaded,
		server.Ledger().Usage(key, preset.Class.Name, simapi.InputTokens), server.Ledger().Usage(key, preset.Class.Name, simapi.OutputTokens))
	fmt.Fprintf(stdout, "wall time: %v (theoretical minimum %v)\n", wall.Round(10*time.Millisecond), floor.Round(10*time.Millisecond))
	fmt.Fprintf(stdout, "latency:   p50 %v, p95 %v, p99 %v\n", pct(0.5), pct(0.95), pct(0.99))
	if len(failures) > 0 {
		fmt.Fprintf(stdout, "first failure: %v\n", failures[0])
		return fmt.Errorf("run: %d of %d calls failed", len(failures), len(calls))
	}
	return nil
}

func openWorkload(name string, stdin io.Reader) ([]workloadCall, error) {
	if name == "-" {
		return readWorkload(stdin)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readWorkload(f)
}

// prompt makes text of roughly n input tokens.
func prompt(r *rand.Rand, n int64) string {
	vocab := strings.Fields("the of and to in is that for it as with was on be by at this from or an are which not have has but were can their all more one other into its also some than these only time such when may between used first two most after over many where those through each new because same while under")
	var sb strings.Builder
	for i := range n { // a short common word is about one token
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(vocab[r.IntN(len(vocab))])
	}
	return sb.String()
}

// drive sends every call with workers goroutines and returns the latencies
// of the calls that succeeded and the errors of the others.
func drive(ctx context.Context, client anthropic.Client, model string, calls []workloadCall, workers int) ([]time.Duration, []error) {
	var mu sync.Mutex
	var lat []time.Duration
	var errs []error
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c := calls[i]
				r := rand.New(rand.NewPCG(uint64(i), 7))
				params := anthropic.MessageNewParams{
					Model:     anthropic.Model(model),
					MaxTokens: max(c.MaxTokens, 1),
					Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt(r, c.InputTokens)))},
				}
				t0 := time.Now()
				var err error
				if c.Stream {
					stream := client.Messages.NewStreaming(ctx, params)
					for stream.Next() {
					}
					err = stream.Err()
					stream.Close()
				} else {
					_, err = client.Messages.New(ctx, params)
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("call %q: %w", c.ID, err))
				} else {
					lat = append(lat, time.Since(t0))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range calls {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return lat, errs
}
