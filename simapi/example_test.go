package simapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
)

func Example() {
	s, err := simapi.New(simapi.Config{Classes: []simapi.Class{{
		Name: "sonnet", Provider: tier.Anthropic, Prefixes: []string{"claude-sonnet-4"},
		Limits: simapi.Limits{RPM: 1, ITPM: 30_000, OTPM: 8_000},
	}}})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	client := &http.Client{Transport: s.Transport()} // or s.Start() for a loopback URL

	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, "http://sim/v1/messages", strings.NewReader(
			`{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"Hello"}]}`))
		req.Header.Set("x-api-key", "key-1")
		req.Header.Set("x-sim-output-tokens", "12")
		res, err := client.Do(req)
		if err != nil {
			panic(err)
		}
		var msg struct {
			Usage struct {
				InputTokens  int64 `json:"input_tokens"`
				OutputTokens int64 `json:"output_tokens"`
			}
		}
		_ = json.NewDecoder(res.Body).Decode(&msg)
		res.Body.Close()
		fmt.Println(res.StatusCode, res.Header.Get("retry-after"), msg.Usage.InputTokens, msg.Usage.OutputTokens)
	}
	fmt.Printf("%+v\n", s.Ledger().Counts("key-1", "sonnet"))
	// Output:
	// 200  13 12
	// 429 60 0 0
	// {Admitted:1 RateLimited:1 Overloaded:0 SpendLimited:0 Rejected:0}
}

// Test your own code against a server that limits like your tier, here
// through the real anthropic-sdk-go and ratekeeper's Keeper.
func ExampleTierClasses() {
	classes, err := simapi.TierClasses("build")
	if err != nil {
		panic(err)
	}
	s, err := simapi.New(simapi.Config{Classes: classes, Burst: 5 * time.Second})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	keeper, err := ratekeeper.New(ratekeeper.WithTier(tier.Anthropic, "build"), ratekeeper.WithCountTokens(0))
	if err != nil {
		panic(err)
	}
	client := anthropic.NewClient(
		option.WithBaseURL("http://sim.invalid/"), option.WithAPIKey("sk-ant-test"),
		option.WithHTTPClient(&http.Client{Transport: s.Transport()}),
		option.WithMiddleware(keeper.Middleware), option.WithMaxRetries(0))
	msg, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))},
	}, option.WithHeader("x-sim-output-tokens", "7"))
	if err != nil {
		panic(err)
	}
	fmt.Println(msg.StopReason, msg.Usage.OutputTokens, s.Ledger().Counts("sk-ant-test", "sonnet-4.x").Admitted)
	// Output:
	// end_turn 7 1
}
