package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

const usage = `usage: ratekeeper COMMAND [flags] [args]

commands:
  run -simulate [flags] WORKLOAD.jsonl
        Run the workload through anthropic-sdk-go and ratekeeper against the
        simulated Claude API (started on loopback; no API key, no network),
        with limits scaled so that it takes seconds, and report what the
        server saw: 429s, 529s, failures, wall time, latency. Lines may also
        set "stream": true. Flags: -tier (tier-1) -model -scale (10)
        -concurrency (32) -server-burst -no-limiter -v.
  plan [budget flags] WORKLOAD.jsonl
        Admit every call of the workload (all arriving at once, in file order)
        through a limiter in simulated time and report when the last one may
        act, next to the theoretical minimum. Each line is a JSON object with
        "input_tokens" and "max_tokens" (and optionally "id").
  help  Show this text.

budget flags (0 = not limited):
  -rpm -itpm -otpm -tpm -rpd -tpd N    limits per minute / per day
  -burst DURATION                      sub-minute capacity (default: a full minute)
`

// run is the whole command; main only exits.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "plan":
		return plan(ctx, args[1:], stdin, stdout, stderr)
	case "run":
		return simulate(ctx, args[1:], stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func budgetFlags(fs *flag.FlagSet) *tier.Budget {
	b := new(tier.Budget)
	fs.Int64Var(&b.RPM, "rpm", 0, "requests per minute")
	fs.Int64Var(&b.ITPM, "itpm", 0, "input tokens per minute")
	fs.Int64Var(&b.OTPM, "otpm", 0, "output tokens per minute")
	fs.Int64Var(&b.TPM, "tpm", 0, "tokens per minute")
	fs.Int64Var(&b.RPD, "rpd", 0, "requests per day")
	fs.Int64Var(&b.TPD, "tpd", 0, "tokens per day")
	fs.DurationVar(&b.Burst, "burst", 0, "sub-minute bucket capacity, as refill time")
	return b
}

// workloadCall is one line of a workload file.
type workloadCall struct {
	ID          string `json:"id"`
	InputTokens int64  `json:"input_tokens"`
	MaxTokens   int64  `json:"max_tokens"`
	Stream      bool   `json:"stream"`
}

func readWorkload(r io.Reader) ([]workloadCall, error) {
	var calls []workloadCall
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var c workloadCall
		if err := json.Unmarshal(line, &c); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if c.InputTokens < 0 || c.MaxTokens < 0 {
			return nil, fmt.Errorf("line %d: negative token count", n)
		}
		calls = append(calls, c)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(calls) == 0 {
		return nil, errors.New("the workload has no calls")
	}
	return calls, nil
}

func plan(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	b := budgetFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("plan: want one workload file (- for standard input)")
	}
	in := stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	calls, err := readWorkload(in)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	// Simulated time: the store's clock stands still, every call asks at t0
	// and takes the next place in line.
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	store := limiter.NewMemoryStore(limiter.WithClock(func() time.Time { return t0 }))
	lim, err := limiter.New(*b, limiter.WithStore(store, "plan"))
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	var last time.Duration
	var total [tier.NumDimensions]int64
	for _, c := range calls {
		cost := limiter.Cost{Requests: 1, InputTokens: c.InputTokens, OutputTokens: c.MaxTokens}
		r, err := lim.Reserve(ctx, cost)
		if err != nil {
			return fmt.Errorf("plan: call %q: %w", c.ID, err)
		}
		last = max(last, r.Delay())
		v := cost.PerDimension()
		for d := range total {
			total[d] += v[d]
		}
	}
	// The theoretical minimum: each bucket must regain what its full
	// capacity does not cover.
	var floor time.Duration
	binding := "none"
	for d := range tier.NumDimensions {
		limit := b.Limit(d)
		if limit == 0 {
			continue
		}
		excess := float64(total[d]) - b.Capacity(d)
		if need := time.Duration(excess / float64(limit) * float64(d.Period())); need > floor {
			floor, binding = need, d.String()
		}
	}
	fmt.Fprintf(stdout, "calls:            %d\n", len(calls))
	fmt.Fprintf(stdout, "last call acts at: %v\n", last.Round(time.Millisecond))
	fmt.Fprintf(stdout, "theoretical min:   %v (bound by %s)\n", floor.Round(time.Millisecond), binding)
	return nil
}
