package bpe_test

import (
	"fmt"

	"github.com/ratekeeper/ratekeeper/tokencount"
	"github.com/ratekeeper/ratekeeper/tokencount/bpe"
)

var _ tokencount.Counter = (*bpe.Counter)(nil)

func Example() {
	c, err := bpe.Load(bpe.O200K)
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Count("Hello, world!"))
	// Output: 4
}

// An Estimator counts text with a Counter as well as with its heuristic.
func Example_estimator() {
	c, err := bpe.Load(bpe.O200K)
	if err != nil {
		panic(err)
	}
	e, err := tokencount.New(tokencount.WithCounter(c))
	if err != nil {
		panic(err)
	}
	est, err := e.EstimateOpenAI([]byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"Hello, world!"}]}`))
	if err != nil {
		panic(err)
	}
	fmt.Println("BPE tokens of the text:", est.Features.BPETokens)
	// Output: BPE tokens of the text: 4
}
