package ratekeeper_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/simapi"
)

// TestOutputReservationFollowsTheServer: against a server that charges
// output as it is generated, the Keeper learns it from the headers and
// reserves the output the model's responses lead it to expect rather than
// max_tokens; against one that charges max_tokens on admission it keeps
// reserving max_tokens.
func TestOutputReservationFollowsTheServer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy simapi.OutputPolicy
		actual bool
	}{
		{"charged as generated", simapi.OutputActual, true},
		{"charged at max_tokens", simapi.OutputReserveMaxTokens, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newSim(t, simapi.Config{OutputPolicy: tc.policy})
				var mu sync.Mutex
				var reserved []int64
				k := newKeeper(t, ratekeeper.WithObserver(func(e ratekeeper.Event) {
					if e.Kind == ratekeeper.Admitted {
						mu.Lock()
						reserved = append(reserved, e.Cost.OutputTokens)
						mu.Unlock()
					}
				}))
				client := anthropicClient(s, k, apiKey)
				for range 40 {
					stream := client.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
						Model:     model,
						MaxTokens: 1000,
						Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say something."))},
					}, aoption.WithHeader("x-sim-output-tokens", "100"))
					for stream.Next() {
					}
					if err := stream.Err(); err != nil {
						t.Fatal(err)
					}
					stream.Close()
				}
				last := reserved[len(reserved)-1]
				if tc.actual && last > 200 {
					t.Fatalf("reserved %v output tokens; want about the 100 generated once it learned", reserved)
				}
				if !tc.actual && last != 1000 {
					t.Fatalf("reserved %v output tokens; want max_tokens, 1000, throughout", reserved)
				}
			})
		})
	}
}
