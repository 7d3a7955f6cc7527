package ratekeeper

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// TestLearnBurst: headers that show a bucket full again within a second of
// a request bound the server's capacity far below a minute's worth, and the
// budget's Burst follows; headers of a full-minute bucket change nothing.
func TestLearnBurst(t *testing.T) {
	b := tier.Budget{RPM: 50, ITPM: 30_000, OTPM: 8_000}
	newCall := func() *call {
		lim, err := limiter.New(b)
		if err != nil {
			t.Fatal(err)
		}
		return &call{p: &pool{lim: lim, configured: b, burst: 1}}
	}
	obs := func(remaining int64, reset time.Duration) *tier.Observation {
		h := http.Header{}
		at := time.Now().Add(reset).UTC().Format(time.RFC3339)
		h.Set("anthropic-ratelimit-requests-limit", "50")
		h.Set("anthropic-ratelimit-requests-remaining", itoa(remaining))
		h.Set("anthropic-ratelimit-requests-reset", at)
		o, err := tier.ParseHeaders(tier.Anthropic, h, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return &o
	}

	// Full-minute enforcement: 10 requests used, full again in 12 s.
	c := newCall()
	if burst, ok := c.learnBurst(obs(40, 12*time.Second), b); ok {
		t.Fatalf("full-minute headers learned a burst of %v", burst)
	}
	// One-second enforcement: nothing remains, full again within 2 s: the
	// server holds at most 0 + 50 × 2 s/60 s ≈ 1.7 requests, under 2 s
	// worth; at 50 RPM a bucket must hold one request (1.2 s).
	c = newCall()
	burst, ok := c.learnBurst(obs(0, 2*time.Second), b)
	if !ok || burst < 1200*time.Millisecond || burst > 3*time.Second {
		t.Fatalf("learnBurst = %v, %v; want a burst between 1.2 s and 3 s", burst, ok)
	}
	// Bounds only tighten: a looser observation later changes nothing.
	if _, ok := c.learnBurst(obs(0, 2*time.Second), tier.Budget{RPM: 50, ITPM: 30_000, OTPM: 8_000, Burst: burst}); ok {
		t.Fatal("an equal bound lowered the burst again")
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
