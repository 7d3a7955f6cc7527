// Command ratekeeper plans and runs LLM workloads inside their rate limits.
//
//	ratekeeper plan [flags] WORKLOAD.jsonl   how long a workload takes under a budget
//
// Run `ratekeeper help` for the flags.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratekeeper:", err)
		os.Exit(1)
	}
}
