package otelmetrics_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/otelmetrics"
	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
)

const apiKey = "sk-ant-otel-test"

// TestRecorderMatchesTheLedger: after a simulated run with 5 s buckets, a
// manual reader's counters and histograms agree with what the simulated
// API recorded.
func TestRecorderMatchesTheLedger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		rec, err := otelmetrics.New(provider.Meter("ratekeeper"))
		if err != nil {
			t.Fatal(err)
		}
		k, err := ratekeeper.New(ratekeeper.WithTier(tier.Anthropic, "tier-1"), ratekeeper.WithObserver(rec.Observe))
		if err != nil {
			t.Fatal(err)
		}
		reg, err := rec.Watch(k)
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Unregister()

		s, err := simapi.New(simapi.Config{Burst: 5 * time.Second, CountTokensRPM: 100})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		client := anthropic.NewClient(option.WithBaseURL("http://sim.invalid/"), option.WithAPIKey(apiKey),
			option.WithHTTPClient(&http.Client{Transport: s.Transport()}), option.WithMiddleware(k.Middleware),
			option.WithMaxRetries(0), option.WithRequestTimeout(time.Hour))
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 4 {
					p := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: int64(200 + 100*i),
						Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(strings.Repeat(fmt.Sprintf("w%d ", g), 300)))}}
					if _, err := client.Messages.New(context.Background(), p); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()

		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		sums := map[string]int64{}
		var waits uint64
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				switch d := m.Data.(type) {
				case metricdata.Sum[int64]:
					for _, p := range d.DataPoints {
						name := m.Name
						if dim, ok := p.Attributes.Value("dimension"); ok {
							name += "{" + dim.AsString() + "}"
						}
						sums[name] += p.Value
					}
				case metricdata.Histogram[float64]:
					if m.Name == "ratekeeper.wait" {
						for _, p := range d.DataPoints {
							waits += p.Count
						}
					}
				}
			}
		}
		c := s.Ledger().Counts(apiKey, "sonnet-4")
		t.Logf("server %+v; recorded %v, %d waits", c, sums, waits)
		if c.RateLimited == 0 {
			t.Fatal("no 429 in the run: the test is too weak")
		}
		if got := sums["ratekeeper.admitted"]; got != c.Admitted+c.RateLimited {
			t.Errorf("ratekeeper.admitted %d; the server saw %d attempts", got, c.Admitted+c.RateLimited)
		}
		var limited int64
		for name, v := range sums {
			if strings.HasPrefix(name, "ratekeeper.rate_limited") {
				limited += v
			}
		}
		if limited != c.RateLimited {
			t.Errorf("ratekeeper.rate_limited %d; the server sent %d 429s", limited, c.RateLimited)
		}
		if got, want := sums["ratekeeper.used.units{"+tier.ITPM.String()+"}"], s.Ledger().Usage(apiKey, "sonnet-4", simapi.InputTokens); got != want {
			t.Errorf("used input tokens %d; the server charged %d", got, want)
		}
		if waits != uint64(c.Admitted+c.RateLimited) {
			t.Errorf("%d wait observations; want one per admission", waits)
		}
	})
}
