package tier_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ratekeeper/ratekeeper/tier"
)

func ExampleLookup() {
	p, err := tier.Lookup(tier.Anthropic, "build", "claude-sonnet-4-5-20250929")
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Class.Display, "in", p.Tier.Display)
	fmt.Printf("RPM %d, ITPM %d, OTPM %d\n", p.Budget.RPM, p.Budget.ITPM, p.Budget.OTPM)
	fmt.Println("cache reads count toward ITPM:", p.Class.CacheReadsCount)
	fmt.Println("context window:", p.Class.ContextWindow, "max request bytes:", p.MaxRequestBytes)
	fmt.Println("as of", p.Class.Source.AsOf, "from", p.Class.Source.URL)

	_, err = tier.Lookup(tier.Anthropic, "gold", "claude-sonnet-4-5")
	fmt.Println(errors.Is(err, tier.ErrUnknownTier), err)
	// Output:
	// Sonnet 4.x in Build
	// RPM 5000, ITPM 5000000, OTPM 1000000
	// cache reads count toward ITPM: false
	// context window: 200000 max request bytes: 33554432
	// as of 2026 from https://platform.claude.com/docs/en/api/rate-limits
	// true tier: unknown tier "gold" for anthropic (known: start; build; scale; tier-1; tier-2; tier-3; tier-4)
}

// A preset with a field overridden: "build tier, but our workspace is
// capped at 200k ITPM", with a 10 s burst.
func ExampleOverride_Apply() {
	p, err := tier.Lookup(tier.Anthropic, "build", "claude-sonnet-4-6")
	if err != nil {
		panic(err)
	}
	b := tier.Override{
		ITPM:  new(int64(200_000)),
		Burst: new(10 * time.Second),
	}.Apply(p.Budget)
	if err := b.Validate(); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", b)
	fmt.Printf("ITPM bucket holds %.0f tokens\n", b.Capacity(tier.ITPM))
	// Output:
	// {RPM:5000 ITPM:200000 OTPM:1000000 TPM:0 RPD:0 TPD:0 Burst:10s Headroom:0}
	// ITPM bucket holds 33333 tokens
}

func ExampleLoadConfig() {
	c, err := tier.LoadConfig(strings.NewReader(`{
		"provider": "anthropic",
		"tier": "build",
		"defaults": {"burst": "10s"},
		"workspace": {"itpm": 200000},
		"models": {
			"claude-opus-5-5": {"tier": "none", "rpm": 500, "itpm": 400000, "otpm": 80000}
		}
	}`))
	if err != nil {
		panic(err)
	}
	for _, model := range []string{"claude-sonnet-4-5-20250929", "claude-opus-5-5"} {
		b, err := c.Budget(model)
		fmt.Printf("%s: %+v %v\n", model, b, err)
	}

	_, err = tier.LoadConfig(strings.NewReader(`{"provider":"anthropic","tier":"build","defaults":{"burst":10}}`))
	var fe *tier.FieldError
	if errors.As(err, &fe) {
		fmt.Printf("field %s: %s\n", fe.Field, fe.Reason)
	}
	// Output:
	// claude-sonnet-4-5-20250929: {RPM:5000 ITPM:200000 OTPM:1000000 TPM:0 RPD:0 TPD:0 Burst:10s Headroom:0} <nil>
	// claude-opus-5-5: {RPM:500 ITPM:200000 OTPM:80000 TPM:0 RPD:0 TPD:0 Burst:10s Headroom:0} <nil>
	// field defaults.burst: got a JSON number, want a string
}

func ExampleParseHeaders() {
	now := time.Date(2026, 3, 12, 8, 30, 5, 0, time.UTC)
	h := http.Header{}
	h.Set("retry-after", "23")
	h.Set("anthropic-ratelimit-requests-limit", "50")
	h.Set("anthropic-ratelimit-requests-remaining", "47")
	h.Set("anthropic-ratelimit-input-tokens-limit", "30000")
	h.Set("anthropic-ratelimit-input-tokens-remaining", "0")
	h.Set("anthropic-ratelimit-input-tokens-reset", "2026-03-12T08:30:28Z")
	h.Set("anthropic-ratelimit-output-tokens-limit", "8000")
	h.Set("anthropic-ratelimit-output-tokens-remaining", "eight thousand")

	obs, err := tier.ParseHeaders(tier.Anthropic, h, now)
	fmt.Println("error:", err)
	itpm := obs.Dims[tier.ITPM]
	fmt.Printf("ITPM %d of %d left, full in %v\n", itpm.Remaining, itpm.Limit, itpm.Reset.Sub(now))
	fmt.Println("OTPM remaining:", obs.Dims[tier.OTPM].Remaining)
	fmt.Println("retry after:", obs.RetryAfter)

	in, err := tier.Infer(tier.Anthropic, obs, "claude-sonnet-4-6")
	fmt.Println(in, err)

	configured, _ := tier.Lookup(tier.Anthropic, "build", "claude-sonnet-4-6")
	for _, m := range tier.Compare(configured.Budget, obs) {
		fmt.Println(m)
	}
	// Output:
	// error: tier: malformed rate-limit header: anthropic-ratelimit-output-tokens-remaining: "eight thousand" is not an integer
	// ITPM 0 of 30000 left, full in 23s
	// OTPM remaining: -1
	// retry after: 23s
	// claude-sonnet-4-6 limits (rpm 50, itpm 30000, otpm 8000) match anthropic tier-1 (Sonnet 4.x) <nil>
	// requests_per_minute: configured 5000, server reports 50
	// input_tokens_per_minute: configured 5000000, server reports 30000
	// output_tokens_per_minute: configured 1000000, server reports 8000
}

func ExampleParseHeaders_openAI() {
	now := time.Date(2025, 5, 26, 12, 0, 0, 0, time.UTC)
	h := http.Header{}
	h.Set("x-ratelimit-limit-requests", "60")
	h.Set("x-ratelimit-remaining-requests", "59")
	h.Set("x-ratelimit-reset-requests", "1s")
	h.Set("x-ratelimit-limit-tokens", "150000")
	h.Set("x-ratelimit-remaining-tokens", "149984")
	h.Set("x-ratelimit-reset-tokens", "6m0s")

	obs, err := tier.ParseHeaders(tier.OpenAI, h, now)
	if err != nil {
		panic(err)
	}
	for _, d := range []tier.Dimension{tier.RPM, tier.TPM} {
		o := obs.Dims[d]
		fmt.Printf("%s: %d/%d, reset at %s\n", d, o.Remaining, o.Limit, o.Reset.Format(time.TimeOnly))
	}
	// Output:
	// requests_per_minute: 59/60, reset at 12:00:01
	// tokens_per_minute: 149984/150000, reset at 12:06:00
}

func ExampleParseErrorBody() {
	body := []byte(`{"error":{"message":"Rate limit reached for gpt-3.5-turbo-0125 in organization org-x on tokens per min (TPM): Limit 40000, Used 39485, Requested 787. Please try again in 408ms.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`)
	e, err := tier.ParseErrorBody(tier.OpenAI, 429, body)
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Code, e.RateLimited(), e.RetryHint, e.Dimension, e.Limit, e.Used, e.Requested)

	e, _ = tier.ParseErrorBody(tier.Anthropic, 429, []byte(`{"type":"error","error":{"type":"rate_limit_error","message":"monthly spend cap reached","details":{"error_code":"enforced_spend_limit_reached"}}}`))
	fmt.Println(e.SpendLimit, e.RateLimited())
	// Output:
	// rate_limit_exceeded true 408ms tokens_per_minute 40000 39485 787
	// true false
}
