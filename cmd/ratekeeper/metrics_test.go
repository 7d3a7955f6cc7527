package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/tier"
)

// TestServeMetrics: -metrics-addr serves the Keeper's Prometheus metrics
// over HTTP until the run ends.
func TestServeMetrics(t *testing.T) {
	k, err := ratekeeper.New(ratekeeper.WithTier(tier.Anthropic, "tier-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Limiter("claude-sonnet-4-5"); err != nil {
		t.Fatal(err)
	}
	stop, addr, err := serveMetrics("127.0.0.1:0", k)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`ratekeeper_budget_limit{dimension="requests_per_minute",pool=`, "ratekeeper_admitted_total", "go_goroutines"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	stop()
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("/metrics still served after stop")
	}
	if _, _, err := serveMetrics("256.0.0.1:1", k); err == nil {
		t.Error("serveMetrics on a bad address succeeded")
	}
}
