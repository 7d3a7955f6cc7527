package ratekeeper

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ratekeeper/ratekeeper/tier"
)

// BenchmarkMiddleware is one whole Messages call through the Keeper with a
// next handler that answers at once: routing, pricing, admission, the
// header sync and the settlement, without a network. The budget is so
// large that nothing waits.
func BenchmarkMiddleware(b *testing.B) {
	big := int64(tier.MaxLimit)
	k, err := New(WithConfig(&tier.Config{Provider: tier.Anthropic, Tier: "build",
		Defaults: tier.Override{RPM: &big, ITPM: &big, OTPM: &big}}), WithCountTokens(0))
	if err != nil {
		b.Fatal(err)
	}
	const body = `{"model":"claude-sonnet-4-6","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	h := http.Header{}
	h.Set("anthropic-ratelimit-requests-limit", "1099511627776")
	h.Set("anthropic-ratelimit-requests-remaining", "1099511627000")
	next := func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: h.Clone(), Body: io.NopCloser(strings.NewReader(okAnthropic))}, nil
	}
	run := func(b *testing.B) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, "https://api.anthropic.com/v1/messages", strings.NewReader(body))
		res, err := k.Middleware(req, next)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			run(b)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				run(b)
			}
		})
	})
}
