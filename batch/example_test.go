package batch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"sort"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/ratekeeper/ratekeeper/batch"
	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
)

// A workload of three requests through the Message Batches API (here the
// simulated one, whose batches take 50 ms), two requests a batch.
func Example() {
	srv, err := simapi.New(simapi.Config{BatchLatency: 50 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	url, err := srv.Start()
	if err != nil {
		log.Fatal(err)
	}
	client := anthropic.NewClient(option.WithAPIKey("sk-example"), option.WithBaseURL(url))

	var reqs []batch.Request
	for i, text := range []string{"a lighthouse", "a harbour", "a storm"} {
		reqs = append(reqs, batch.Request{
			CustomID: fmt.Sprintf("doc-%d", i+1),
			Params:   json.RawMessage(fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Describe %s in one line."}]}`, text)),
		})
	}
	r, err := batch.New(client, batch.Options{
		Limits: tier.BatchLimits{MaxRequestsPerBatch: 2},
		Poll:   20 * time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}
	var lines []string
	sum, err := r.Run(context.Background(), reqs, func(res batch.Result) error {
		lines = append(lines, fmt.Sprintf("%s: %s", res.CustomID, res.Type))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	sort.Strings(lines) // results come in the order the batches give them
	for _, l := range lines {
		fmt.Println(l)
	}
	fmt.Printf("%d batches, %d submitted\n", sum.Batches, sum.Submitted)
	// Output:
	// doc-1: succeeded
	// doc-2: succeeded
	// doc-3: succeeded
	// 2 batches, 3 submitted
}
