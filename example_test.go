package ratekeeper_test

// The README's snippets, compiled and run: each example is one snippet
// with its imports, against the simulated API instead of the real one.

import (
	"context"
	"fmt"
	"net/http"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
)

// The openai-go setup: OpenAI publishes limits per model, so the
// configuration gives them.
func ExampleKeeper_Middleware_openai() {
	sim, _ := simapi.New(simapi.Config{})
	defer sim.Close()

	rpm, tpm := int64(500), int64(30_000)
	keeper, err := ratekeeper.New(ratekeeper.WithConfig(&tier.Config{
		Provider: tier.OpenAI,
		Models:   map[string]tier.ModelConfig{"gpt-4o": {Tier: "none", Override: tier.Override{RPM: &rpm, TPM: &tpm}}},
	}))
	if err != nil {
		panic(err)
	}
	client := openai.NewClient(ooption.WithMiddleware(keeper.Middleware), ooption.WithMaxRetries(0),
		ooption.WithAPIKey("sk-example"), ooption.WithBaseURL("http://sim.invalid/v1/"),
		ooption.WithHTTPClient(&http.Client{Transport: sim.Transport()}))

	res, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")},
	})
	if err != nil {
		panic(err)
	}
	rem, _ := keeper.Remaining(context.Background(), "gpt-4o")
	fmt.Printf("%s %.0f\n", res.Choices[0].FinishReason, rem.Buckets[tier.RPM].Level)
	// Output:
	// stop 499
}

// Priorities: a batch job's calls marked Background leave the headroom to
// interactive ones.
func ExampleWithPriority() {
	sim, _ := simapi.New(simapi.Config{})
	defer sim.Close()

	headroom := 0.2
	keeper, err := ratekeeper.New(ratekeeper.WithConfig(&tier.Config{
		Provider: tier.Anthropic, Tier: "tier-1", Defaults: tier.Override{Headroom: &headroom}}))
	if err != nil {
		panic(err)
	}
	client := anthropic.NewClient(option.WithMiddleware(keeper.Middleware), option.WithMaxRetries(0),
		option.WithAPIKey("sk-ant-example"), option.WithBaseURL("http://sim.invalid/"),
		option.WithHTTPClient(&http.Client{Transport: sim.Transport()}))

	ctx := ratekeeper.WithPriority(context.Background(), limiter.Background)
	_, err = client.Messages.New(ctx, anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 64,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Summarise the report."))},
	})
	fmt.Println(err, ratekeeper.PriorityFrom(ctx) == limiter.Background)
	// Output:
	// <nil> true
}
