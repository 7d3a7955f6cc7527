package ratekeeper_test

import (
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"golang.org/x/time/rate"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/internal/simapi"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

var macro = flag.Bool("macro", false, "run the macro benchmark (TestMacro) and print its table")

// TestMacro drives one mixed workload (64 goroutines × 4 calls, half of
// them streamed) through the real anthropic-sdk-go against the simulated
// API, under three server behaviours, with three strategies:
//
//   - sdk: no limiter, the SDK's own retries (2, 0.5 s·2ⁿ);
//   - xrate-rpm: an RPM-only golang.org/x/time/rate middleware, SDK retries;
//   - ratekeeper: the Keeper's middleware, SDK retries off, reserving
//     max_tokens for output;
//   - ratekeeper-learned-output: the same, reserving a learned 90th
//     percentile of output instead (tokencount.ReserveLearned).
//
// Time is simulated (testing/synctest), so wall times are exact and
// reproducible. Run: go test -run TestMacro -macro -v .
func TestMacro(t *testing.T) {
	if !*macro {
		t.Skip("the macro benchmark runs with -macro")
	}
	scenarios := []struct {
		name string
		cfg  simapi.Config
	}{
		{"documented", simapi.Config{}},
		{"sub-minute", simapi.Config{Burst: time.Second}},
		{"overload-2m", simapi.Config{OverloadWindows: []simapi.Window{{Start: 0, End: 2 * time.Minute}}}},
	}
	strategies := []string{"sdk", "xrate-rpm", "ratekeeper", "ratekeeper-learned-output"}
	var rows []string
	for _, sc := range scenarios {
		for _, st := range strategies {
			var row string
			synctest.Test(t, func(t *testing.T) {
				row = macroRun(t, sc.name, sc.cfg, st)
			})
			rows = append(rows, row)
		}
	}
	t.Logf("\n| scenario | strategy | calls | failed | 429s | 529s | wall time | theoretical min | wall/min | p50 | p95 | p99 |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n%s", strings.Join(rows, "\n"))
}

func macroRun(t *testing.T, scenario string, cfg simapi.Config, strategy string) string {
	s := newSim(t, cfg)
	opts := []aoption.RequestOption{
		aoption.WithBaseURL("http://sim.invalid/"),
		aoption.WithHTTPClient(&http.Client{Transport: s.Transport()}),
		aoption.WithAPIKey(apiKey),
		aoption.WithRequestTimeout(24 * time.Hour),
	}
	switch strategy {
	case "xrate-rpm":
		lim := rate.NewLimiter(rate.Limit(50.0/60), 50)
		opts = append(opts, aoption.WithMiddleware(func(req *http.Request, next aoption.MiddlewareNext) (*http.Response, error) {
			if strings.HasSuffix(req.URL.Path, "/v1/messages") {
				if err := lim.Wait(req.Context()); err != nil {
					return nil, err
				}
			}
			return next(req)
		}))
	case "ratekeeper", "ratekeeper-learned-output":
		var kopts []ratekeeper.Option
		if strategy == "ratekeeper-learned-output" {
			est, err := tokencount.New(tokencount.WithOutputPolicy(tokencount.ReserveLearned(0.9)))
			if err != nil {
				t.Fatal(err)
			}
			kopts = append(kopts, ratekeeper.WithEstimator(est))
		}
		k := newKeeper(t, kopts...)
		opts = append(opts, aoption.WithMiddleware(k.Middleware), aoption.WithMaxRetries(0))
	}
	client := anthropic.NewClient(opts...)

	const goroutines, calls = 64, 4
	start := time.Now()
	res := anthropicWorkload(client, goroutines, calls)
	wall := time.Since(start)
	lat, failed := res.lat, res.failed.Load()
	if failed != 0 {
		t.Logf("%s/%s: %d calls failed, e.g. %.200s", scenario, strategy, failed, res.firstErr())
	}
	c := s.Ledger().Counts(apiKey, "sonnet-4")

	// The theoretical minimum: each bucket (full at the start) must regain
	// what the admitted calls took beyond its capacity.
	floor := s.Ledger().MinimumTime(apiKey, "sonnet-4", sonnetLimits)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(time.Second)
	}
	ratio := "-"
	if floor > 0 {
		ratio = fmt.Sprintf("%.2f", float64(wall)/float64(floor))
	}
	return fmt.Sprintf("| %s | %s | %d | %d | %d | %d | %v | %v | %s | %v | %v | %v |",
		scenario, strategy, goroutines*calls, failed, c.RateLimited, c.Overloaded,
		wall.Round(time.Second), floor.Round(time.Second), ratio, pct(0.5), pct(0.95), pct(0.99))
}
