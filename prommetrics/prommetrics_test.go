package prommetrics_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/prommetrics"
	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
)

const apiKey = "sk-ant-prom-test"

// run sends calls through k against a simulated API with 5 s buckets
// (so that some are refused), half of them streamed.
func run(t *testing.T, k *ratekeeper.Keeper) *simapi.Server {
	t.Helper()
	s, err := simapi.New(simapi.Config{Burst: 5 * time.Second, CountTokensRPM: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	client := anthropic.NewClient(option.WithBaseURL("http://sim.invalid/"), option.WithAPIKey(apiKey),
		option.WithHTTPClient(&http.Client{Transport: s.Transport()}), option.WithMiddleware(k.Middleware),
		option.WithMaxRetries(0), option.WithRequestTimeout(time.Hour))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 4 {
				p := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: int64(200 + 100*i),
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(strings.Repeat(fmt.Sprintf("word%d ", g), 300)))}}
				if i%2 == 0 {
					if _, err := client.Messages.New(context.Background(), p); err != nil {
						t.Error(err)
					}
					continue
				}
				st := client.Messages.NewStreaming(context.Background(), p)
				for st.Next() {
				}
				if err := st.Err(); err != nil {
					t.Error(err)
				}
				st.Close()
			}
		})
	}
	wg.Wait()
	return s
}

// TestCollectorMatchesTheLedger: after a simulated run, the scraped
// counters agree with what the simulated API recorded.
func TestCollectorMatchesTheLedger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratekeeper.New(ratekeeper.WithTier(tier.Anthropic, "tier-1"))
		if err != nil {
			t.Fatal(err)
		}
		s := run(t, k)
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(prommetrics.New(k))
		c := s.Ledger().Counts(apiKey, "sonnet-4")
		pool := k.Metrics(context.Background()).Pools[0].Pool
		get := func(name string, labels ...string) float64 {
			t.Helper()
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			var sum float64
			for _, mf := range mfs {
				if mf.GetName() != name {
					continue
				}
			metrics:
				for _, m := range mf.GetMetric() {
					have := map[string]string{}
					for _, lp := range m.GetLabel() {
						have[lp.GetName()] = lp.GetValue()
					}
					for i := 0; i+1 < len(labels); i += 2 {
						if have[labels[i]] != labels[i+1] {
							continue metrics
						}
					}
					switch {
					case m.Counter != nil:
						sum += m.Counter.GetValue()
					case m.Gauge != nil:
						sum += m.Gauge.GetValue()
					case m.Histogram != nil:
						sum += float64(m.Histogram.GetSampleCount())
					}
				}
			}
			return sum
		}
		if got := get("ratekeeper_admitted_total", "pool", pool); got != float64(c.Admitted+c.RateLimited) {
			t.Errorf("admitted_total %v; the server saw %d admitted and %d refused (each attempt sent)", got, c.Admitted, c.RateLimited)
		}
		t.Logf("server: %+v; scraped: admitted %v, 429s %v, input %v", c, get("ratekeeper_admitted_total"),
			get("ratekeeper_rate_limited_total"), get("ratekeeper_used_units_total", "dimension", tier.ITPM.String()))
		if c.RateLimited == 0 {
			t.Fatal("no 429 in the run: the test is too weak")
		}
		if got := get("ratekeeper_rate_limited_total"); got != float64(c.RateLimited) {
			t.Errorf("rate_limited_total %v; the server sent %d 429s", got, c.RateLimited)
		}
		for d, sd := range map[tier.Dimension]simapi.Dimension{tier.ITPM: simapi.InputTokens, tier.OTPM: simapi.OutputTokens} {
			if got, want := get("ratekeeper_used_units_total", "dimension", d.String()), float64(s.Ledger().Usage(apiKey, "sonnet-4", sd)); got != want {
				t.Errorf("used_units_total{%v} %v; the server charged %v", d, got, want)
			}
		}
		if got := get("ratekeeper_wait_seconds", "pool", pool); got != float64(c.Admitted+c.RateLimited) {
			t.Errorf("wait_seconds has %v observations; want one per admission", got)
		}
		if got := get("ratekeeper_budget_limit", "dimension", tier.RPM.String()); got != 50 {
			t.Errorf("budget_limit{RPM} %v; want 50", got)
		}
		// Every metric passes the registry's lint (names, help, types).
		if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
			t.Errorf("lint: %v %v", problems, err)
		}
	})
}

// TestCardinality: a thousand model IDs of one class are one pool: the
// series do not grow with them.
func TestCardinality(t *testing.T) {
	k, err := ratekeeper.New(ratekeeper.WithTier(tier.Anthropic, "tier-1"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(prommetrics.New(k))
	if _, err := k.Limiter("claude-sonnet-4-5"); err != nil {
		t.Fatal(err)
	}
	one := testutil.CollectAndCount(prommetrics.New(k))
	for i := range 1000 {
		if _, err := k.Limiter(fmt.Sprintf("claude-sonnet-4-5-2026%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := testutil.CollectAndCount(prommetrics.New(k)); n != one {
		t.Fatalf("%d series after 1,000 model IDs of one class; %d with one", n, one)
	}
}

// TestDashboardNamesExist: every ratekeeper metric the Grafana dashboard
// queries is one the collector describes.
func TestDashboardNamesExist(t *testing.T) {
	b, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	k, err := ratekeeper.New(ratekeeper.WithTier(tier.Anthropic, "tier-1"))
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *prometheus.Desc, 64)
	prommetrics.New(k).Describe(ch)
	close(ch)
	known := map[string]bool{}
	for d := range ch {
		known[regexp.MustCompile(`fqName: "([^"]+)"`).FindStringSubmatch(d.String())[1]] = true
	}
	names := regexp.MustCompile(`ratekeeper_[a-z_]+`).FindAllString(string(b), -1)
	if len(names) < 10 {
		t.Fatalf("only %d metric names in the dashboard", len(names))
	}
	for _, n := range names {
		if base := strings.TrimSuffix(n, "_bucket"); !known[base] {
			t.Errorf("the dashboard queries %s, which the collector does not describe", n)
		}
	}
}
