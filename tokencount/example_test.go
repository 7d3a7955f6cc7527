package tokencount_test

import (
	"errors"
	"fmt"

	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

func Example() {
	e, err := tokencount.New()
	if err != nil {
		panic(err)
	}
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,
		"messages":[{"role":"user","content":"Summarize the plot of Hamlet in two sentences."}]}`)

	est, err := e.EstimateAnthropic(body)
	if err != nil {
		panic(err)
	}
	fmt.Println("reserve input ≥ point estimate:", est.InputTokens >= est.PointTokens)
	fmt.Println("reserve output:", est.OutputReserve)

	// After the response: feed back usage.input_tokens (+ cache tokens) and output_tokens.
	e.Observe(est, 21, 48)
	fmt.Println("observations:", e.Stats(tier.Anthropic, "claude-sonnet-4-5").Observations)
	// Output:
	// reserve input ≥ point estimate: true
	// reserve output: 1024
	// observations: 1
}

func ExampleEstimator_EstimateAnthropic_tooLarge() {
	e, _ := tokencount.New(tokencount.WithModelLimits("claude-haiku-4-5", tokencount.Limits{ContextWindow: 200_000}))
	body := []byte(`{"model":"claude-haiku-4-5","max_tokens":250000,"messages":[{"role":"user","content":"hi"}]}`)

	_, err := e.EstimateAnthropic(body)
	var tl *tokencount.TooLargeError
	if errors.As(err, &tl) {
		fmt.Println(errors.Is(err, tokencount.ErrTooLarge), tl.What, tl.Limit)
	}
	// Output: true context_window 200000
}

func ExampleEstimator_EstimateAnthropic_malformed() {
	e, _ := tokencount.New()
	_, err := e.EstimateAnthropic([]byte(`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":42}]}`))
	fmt.Println(errors.Is(err, tokencount.ErrMalformed))
	fmt.Println(err)
	// Output:
	// true
	// tokencount: malformed request body: messages[0].content: expected string or array of content blocks (at byte 82)
}

func ExampleReserveLearned() {
	e, _ := tokencount.New(tokencount.WithOutputPolicy(tokencount.ReserveLearned(0.9)))
	body := []byte(`{"model":"gpt-4o","max_tokens":4000,"messages":[{"role":"user","content":"Say hi."}]}`)
	for range 20 { // outputs of ~10 tokens
		est, _ := e.EstimateOpenAI(body)
		e.Observe(est, 12, 10)
	}
	est, _ := e.EstimateOpenAI(body)
	fmt.Println("reserve output:", est.OutputReserve)
	// Output: reserve output: 11
}
