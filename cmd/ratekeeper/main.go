// Command ratekeeper sends bulk LLM requests inside their rate limits, and
// plans, explains and diagnoses those limits.
//
//	ratekeeper run [flags] REQUESTS.jsonl   send every request, resumably (--simulate: no key)
//	ratekeeper plan [flags] REQUESTS.jsonl  how long they take at each tier, live or batched
//	ratekeeper count [FILE|-]              estimate one request
//	ratekeeper tiers                        the preset tables
//	ratekeeper simulate                     serve the simulated API
//	ratekeeper headers [FILE|-]             explain captured rate-limit headers
//	ratekeeper doctor                       check a key's limits
//
// Run `ratekeeper COMMAND --help` for the flags of each. Exit codes: 0
// success; 1 the run ended but some requests failed or were invalid; 2 bad
// usage, flags, configuration or input file; 3 interrupted (Ctrl-C): what
// completed is in --out, resume with --resume; 4 any other error.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := interrupts()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratekeeper:", err)
	}
	os.Exit(exitCode(err))
}

// interrupts returns a context that the first SIGINT or SIGTERM cancels
// (stop sending, let the calls in flight finish) and whose abort context
// (abortOf) the second cancels (give up on them).
func interrupts() (context.Context, context.CancelFunc) {
	abort, abortNow := context.WithCancel(context.Background())
	ctx, stop := context.WithCancel(withAbort(context.Background(), abort))
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		n := 0
		for range sig {
			n++
			if n == 1 {
				fmt.Fprintln(os.Stderr, "\nratekeeper: stopping (Ctrl-C again to abort at once)")
				stop()
				continue
			}
			abortNow()
			return
		}
	}()
	return ctx, func() { signal.Stop(sig); stop(); abortNow() }
}

type abortKey struct{}

// withAbort returns ctx carrying abort: the context whose end aborts the
// calls in flight after ctx itself has ended.
func withAbort(ctx, abort context.Context) context.Context {
	return context.WithValue(ctx, abortKey{}, abort)
}

// abortOf returns the abort context that ctx carries, or one that never
// ends.
func abortOf(ctx context.Context) context.Context {
	if a, ok := ctx.Value(abortKey{}).(context.Context); ok {
		return a
	}
	return context.Background()
}
