package ratekeeper_test

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/internal/redistest"
	"github.com/ratekeeper/ratekeeper/limiter/redisstore"
	"github.com/ratekeeper/ratekeeper/simapi"
)

var (
	macro          = flag.Bool("macro", false, "run the macro benchmark (TestMacro) and print its table")
	macroOut       = flag.String("macro.out", "", "with -macro, also write the table as Markdown to this `file`")
	macroSeeds     = flag.Int("macro.seeds", 3, "with -macro, the number of seeds per scenario and strategy")
	macroTrace     = flag.Bool("macro.trace", false, "with -macro, log the Keeper's retries, refusals and learned bursts")
	macroScenarios = flag.String("macro.scenarios", "", "with -macro, a comma-separated list of the scenarios to run (default all)")
)

// macroClass is the server's class of model (Tier 1 Sonnet 4.x: 50 RPM,
// 30k ITPM, 8k OTPM, the sim's default and the tier-1 preset alike).
const macroClass = "sonnet-4"

// macroScenario is a server configuration and a workload.
type macroScenario struct {
	name, about string
	cfg         simapi.Config // Seed is set per run
	workload    func(seed uint64) *macroWorkload
	// clients is the number of processes that share the API key (1 unless
	// set): each has its own client and its own limiter, and gets every
	// clients-th worker.
	clients int
	// redis makes the ratekeeper processes share their budget through a
	// redisstore.Store on a real redis-server.
	redis bool
	// oracleFloor is the least efficiency the oracle must reach in every
	// run (0.9 unless set): below it the harness, not a limiter, is wrong.
	oracleFloor float64
	// no429 says ratekeeper, with and without counting, must meet no 429:
	// one process sees every call against minute buckets it knows.
	no429 bool
	// max429, when not 0, is the most 429s ratekeeper may meet, as a
	// fraction of its calls over all seeds: where a rare one is explained.
	max429 float64
}

func macroScenarioList() []macroScenario {
	reserve := simapi.OutputReserveMaxTokens
	mixed := macroMixedWorkload
	return []macroScenario{
		{name: "documented", about: "60 s buckets; OTPM reserves max_tokens on admission and refunds the rest at the end (2025 docs)",
			cfg: simapi.Config{OutputPolicy: reserve}, workload: mixed, no429: true},
		{name: "otpm-actual", about: "60 s buckets; OTPM counts only the output generated (2026 docs)",
			cfg: simapi.Config{OutputPolicy: simapi.OutputActual}, workload: mixed, no429: true},
		{name: "sub-minute-5s", about: "buckets of 5 s (limit × 5/60), as documented",
			cfg: simapi.Config{OutputPolicy: reserve, Burst: 5 * time.Second}, workload: mixed},
		{name: "sub-minute-1s", about: "buckets of 1 s (limit / 60, at least 1), as documented",
			cfg: simapi.Config{OutputPolicy: reserve, Burst: time.Second}, workload: mixed,
			// Buckets of 1 s (1 request, 500 input and 133 output tokens)
			// cannot store what one dimension regains while a call waits
			// for another, so no FIFO sender reaches the fluid minimum:
			// the oracle makes 0.87–0.90 of it.
			oracleFloor: 0.85},
		{name: "input-bound", about: "48 prompts of 2k–20k tokens (prose in two scripts, Go, JSON, CSV), max_tokens 64–256; the server counts text with tiktoken cl100k_base",
			// Not no429: an estimate may fall short of the server's BPE
			// count before the margin converges (1 429 in 240 calls with
			// counting, 2–4 without, in docs/macro.md).
			// TestMacro loads the vocabulary (or fails) before any run.
			cfg: simapi.Config{OutputPolicy: reserve, TextCounter: func(s string) int64 {
				c, _ := macroCL100K()
				return c(s)
			}},
			workload: func(seed uint64) *macroWorkload {
				c, _ := macroCL100K()
				return macroInputBoundWorkload(seed, c)
			}},
		{name: "overload", about: "as documented, and every call is answered 529 during [0, 2m) and [6m, 8m)",
			cfg: simapi.Config{OutputPolicy: reserve, OverloadWindows: []simapi.Window{
				{Start: 0, End: 2 * time.Minute}, {Start: 6 * time.Minute, End: 8 * time.Minute}}},
			// Not no429: a rare OTPM 429 is seen (1–2 in 768 calls, in 4 of
			// 51 runs of 3 seeds, at 465f656 as after it), right after the
			// second window, when the learned output accounting flips (the
			// README's known limits). At most 1 in 200 is asserted.
			workload: mixed, max429: 0.005},
		{name: "shared-headers", about: "as documented, two processes (32 workers each) share the key; each limiter has the whole budget and learns the rest from headers",
			cfg: simapi.Config{OutputPolicy: reserve}, workload: mixed, clients: 2},
		{name: "shared-redis", about: "as documented, four processes (16 workers each) share the key; ratekeeper's share one redisstore budget on a real redis-server",
			// Not no429: one 429 in 1280 calls has been seen, at the start,
			// when four processes begin at once; at most 1 in 1000 is asserted.
			cfg: simapi.Config{OutputPolicy: reserve}, workload: mixed, clients: 4, redis: true, max429: 0.001},
	}
}

// macroStrategies are the strategies, each run in every scenario.
var macroStrategies = []string{"sdk", "xrate-rpm", "cookbook", "oracle", "ratekeeper", "ratekeeper-nocount"}

var macroStrategyAbout = map[string]string{
	"sdk":                "no limiter, the SDK's own retries (2, 0.5 s·2ⁿ)",
	"xrate-rpm":          "an RPM-only golang.org/x/time/rate limiter (50/min, burst 50), the SDK's retries",
	"cookbook":           "the OpenAI cookbook processor: chars/4 + max_tokens against one budget of ITPM+OTPM (38k/min) plus 50 RPM, no refunds, no headers, a 15 s pause after a 429, 5 attempts",
	"oracle":             "knows the server's buckets, true counts and output policy; FIFO, settles at actual (the ceiling)",
	"ratekeeper":         "the README's setup: ratekeeper.New(WithTier(tier.Anthropic, \"tier-1\")), Keeper.Middleware, WithMaxRetries(0)",
	"ratekeeper-nocount": "the same with WithCountTokens(0): no exact counts from count_tokens while estimates are unsure",
}

// macroResult is what one run measured.
type macroResult struct {
	calls, succeeded, failed int
	attempts                 int64 // POST /v1/messages sent to the server
	counts                   simapi.Counts
	wall, floor              time.Duration
	requestCap               float64         // the capacity of the server's request bucket
	lat                      []time.Duration // of the calls that succeeded
	firstErr                 string
	oracle429                int64
	oracleFirst429           string
}

// efficiency is the theoretical minimum ÷ wall time (0 when the minimum is 0).
func (r *macroResult) efficiency() float64 {
	if r.wall <= 0 || r.floor <= 0 {
		return 0
	}
	return float64(r.floor) / float64(r.wall)
}

// TestMacro is the macro benchmark. Every strategy (macroStrategies) runs
// every scenario (macroScenarioList) with several seeds, each run in its
// own testing/synctest bubble, so that wall times are simulated, exact and
// fast: the real anthropic-sdk-go v2 client against the simulated API
// (simapi) through its in-process Transport, at Tier 1 Sonnet 4.x
// limits. Efficiency is the server's theoretical minimum for the usage it
// charged (Server.MinimumTime: its real bucket capacity, its overload
// windows) ÷ wall time. A seed varies the server's output lengths and the
// workload.
//
// Each run checks what must hold whatever the limiter does: the server
// never let more through than its buckets allow, every call is accounted
// for, every attempt reached the server's ledger. After the table, it
// asserts the claims the README makes that hold by construction, not by
// timing (macroCheckClaims): the oracle — which validates the harness —
// meets no 429 and reaches efficiency ≥ 0.9 in every run (0.85 with 1 s
// buckets, see macroScenarioList); the oracle and ratekeeper fail no call;
// ratekeeper meets no 429 where one process sees every call against
// minute buckets (macroScenario.no429), and at most a small fraction where
// a rare one is explained or seen (max429: overload, one Redis budget); a run whose calls filled the request bucket has a
// theoretical minimum above 0. Throughput (efficiency, ÷ oracle) beyond
// the oracle's floor is reported, not asserted: the table is for reading.
//
// Run: go test -run TestMacro -macro -v . [-macro.out=FILE] [-macro.seeds=N]
// [-macro.scenarios=documented,input-bound]
func TestMacro(t *testing.T) {
	if !*macro {
		t.Skip("the macro benchmark runs with -macro")
	}
	if _, err := macroCL100K(); err != nil {
		t.Fatal(err)
	}
	scenarios := macroScenarioList()
	if *macroScenarios != "" {
		want := strings.Split(*macroScenarios, ",")
		scenarios = slices.DeleteFunc(scenarios, func(sc macroScenario) bool { return !slices.Contains(want, sc.name) })
		if len(scenarios) == 0 {
			t.Fatalf("-macro.scenarios=%s matches none", *macroScenarios)
		}
	}
	seeds := max(1, *macroSeeds)
	var redisOpt *redis.Options
	if slices.ContainsFunc(scenarios, func(sc macroScenario) bool { return sc.redis }) {
		opt, err := redistest.Lookup()
		switch {
		case err == nil:
			redisOpt = opt
			// The root package has no other Redis user, and its TestMain
			// does not stop a private redis-server that Lookup may have
			// started: stop it here (with -count > 1 the next TestMacro
			// would then find it gone).
			t.Cleanup(redistest.Stop)
		case os.Getenv("CI") == "true":
			t.Fatalf("no Redis server for the shared-redis scenario: %v", err)
		default:
			t.Logf("no Redis server (%v): leaving out the scenarios that need one", err)
			scenarios = slices.DeleteFunc(scenarios, func(sc macroScenario) bool { return sc.redis })
		}
	}

	began := time.Now()
	results := make([][][]macroResult, len(scenarios)) // [scenario][strategy][seed]
	t.Run("runs", func(t *testing.T) {
		for i := range scenarios {
			sc := &scenarios[i]
			results[i] = make([][]macroResult, len(macroStrategies))
			for j, st := range macroStrategies {
				results[i][j] = make([]macroResult, seeds)
				for seed := range seeds {
					t.Run(fmt.Sprintf("%s/%s/seed=%d", sc.name, st, seed), func(t *testing.T) {
						t.Parallel()
						if sc.redis {
							// Real network I/O does not block durably, so a
							// goroutine that waits on Redis outside a call
							// (a subscription, say) would stop the bubble's
							// clock for good: fail loudly instead of hanging.
							watchdog := time.AfterFunc(3*time.Minute, func() {
								panic(fmt.Sprintf("TestMacro: %s/%s/seed=%d made no progress in 3 minutes of real time: "+
									"something waits on Redis outside the synctest bubble's calls", sc.name, st, seed))
							})
							defer watchdog.Stop()
						}
						synctest.Test(t, func(t *testing.T) {
							results[i][j][seed] = macroRun(t, sc, st, uint64(seed), redisOpt)
						})
					})
				}
			}
		}
	})
	elapsed := time.Since(began)

	table := macroTable(scenarios, results, seeds)
	t.Logf("%d runs in %v; counts summed over %d seeds\n%s", len(scenarios)*len(macroStrategies)*seeds, elapsed.Round(time.Second), seeds, table)
	macroCheckClaims(t, scenarios, results)
	if *macroOut != "" {
		var b strings.Builder
		fmt.Fprintf(&b, "<!-- made by: go test -run TestMacro -macro -macro.seeds=%d -macro.out=%s . -->\n\n", seeds, *macroOut)
		b.WriteString(table)
		fmt.Fprintf(&b, "\n%d seeds per row (the server's Config.Seed and the workload's RNG); calls, failed, 429s and 529s are summed over them. "+
			"Time is simulated (testing/synctest). Efficiency = theoretical minimum ÷ wall time, where the minimum is what the server "+
			"charged against its real buckets (sub-minute capacity and overload windows included; Server.MinimumTime); it can exceed 1 "+
			"by the debt a last request may leave. ÷ oracle is the ratio of medians. p50/p99: latency of the calls that succeeded, "+
			"waiting included.\n", seeds)
		b.WriteString("\nScenarios (Tier 1 Sonnet 4.x: 50 RPM, 30k ITPM, 8k OTPM; all but input-bound send 64 workers × 4 mixed calls, half streamed):\n\n")
		for _, sc := range scenarios {
			fmt.Fprintf(&b, "- **%s**: %s.\n", sc.name, sc.about)
		}
		b.WriteString("\nStrategies (with several processes, one oracle serves them all; every other strategy has one limiter per process, each with the whole budget):\n\n")
		for _, st := range macroStrategies {
			fmt.Fprintf(&b, "- **%s**: %s.\n", st, macroStrategyAbout[st])
		}
		if err := os.WriteFile(*macroOut, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// macroCheckClaims asserts what the README claims of the table and what
// holds by construction, not by timing:
//
//   - the oracle and ratekeeper (with and without counting) fail no call;
//   - the oracle meets no 429, and reaches its scenario's oracleFloor of
//     efficiency: below either, the harness is wrong;
//   - ratekeeper meets no 429 in the no429 scenarios, and at most the
//     scenario's max429 fraction of its calls in the others that set one;
//   - a run in which more calls succeeded than the server's request bucket
//     holds has a theoretical minimum above 0: each success was charged a
//     request, and the minimum is what its efficiency divides.
func macroCheckClaims(t *testing.T, scenarios []macroScenario, results [][][]macroResult) {
	t.Helper()
	for i, sc := range scenarios {
		for j, st := range macroStrategies {
			keeper := st == "ratekeeper" || st == "ratekeeper-nocount"
			var limited, calls int64
			for seed, r := range results[i][j] {
				run := fmt.Sprintf("%s/%s/seed=%d", sc.name, st, seed)
				limited, calls = limited+r.counts.RateLimited, calls+int64(r.calls)
				if (st == "oracle" || keeper) && r.failed != 0 {
					t.Errorf("%s: %d calls failed (e.g. %.200s); want 0", run, r.failed, r.firstErr)
				}
				if float64(r.succeeded) > r.requestCap && r.floor <= 0 {
					t.Errorf("%s: theoretical minimum %v with %d calls succeeded; want > 0", run, r.floor, r.succeeded)
				}
				switch {
				case st == "oracle":
					if r.oracle429 != 0 || r.counts.RateLimited != 0 {
						t.Errorf("%s: %d 429s (first %s); want 0: the harness is wrong", run, r.counts.RateLimited, r.oracleFirst429)
					}
					floor := cmp.Or(sc.oracleFloor, 0.9)
					if e := r.efficiency(); e < floor {
						t.Errorf("%s: efficiency %.3f (wall %v, minimum %v); want ≥ %v: the minimum or the harness is wrong",
							run, e, r.wall, r.floor, floor)
					}
				case keeper && sc.no429:
					if r.counts.RateLimited != 0 {
						t.Errorf("%s: %d 429s; want 0 (one process, minute buckets)", run, r.counts.RateLimited)
					}
				}
			}
			if keeper && sc.max429 > 0 && float64(limited) > sc.max429*float64(calls) {
				t.Errorf("%s/%s: %d 429s for %d calls; want at most %g of them", sc.name, st, limited, calls, sc.max429)
			}
		}
	}
}

// macroTable renders one row per scenario and strategy: counts summed over
// the seeds, efficiency as the median and the minimum over them, the ratio
// of medians to the oracle's, and latency percentiles over every call that
// succeeded.
func macroTable(scenarios []macroScenario, results [][][]macroResult, seeds int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| scenario | strategy | calls | failed | 429s | 529s | wall (median) | theoretical min (median) | efficiency median | efficiency min | ÷ oracle | p50 | p99 |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	oi := slices.Index(macroStrategies, "oracle")
	for i, sc := range scenarios {
		oracleMedian := macroMedian(results[i][oi], (*macroResult).efficiency)
		for j, st := range macroStrategies {
			rs := results[i][j]
			var calls, failed int
			var r429, r529 int64
			var lat []time.Duration
			for _, r := range rs {
				calls += r.calls
				failed += r.failed
				r429 += r.counts.RateLimited
				r529 += r.counts.Overloaded
				lat = append(lat, r.lat...)
			}
			slices.Sort(lat)
			effs := make([]float64, len(rs))
			for k := range rs {
				effs[k] = rs[k].efficiency()
			}
			med := macroMedian(rs, (*macroResult).efficiency)
			num := func(v float64) string {
				if v <= 0 {
					return "-" // nothing was charged
				}
				return fmt.Sprintf("%.2f", v)
			}
			ratio := "-"
			if oracleMedian > 0 && med > 0 {
				ratio = fmt.Sprintf("%.2f", med/oracleMedian)
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %v | %v | %s | %s | %s | %v | %v |\n",
				sc.name, st, calls, failed, r429, r529,
				time.Duration(macroMedian(rs, func(r *macroResult) float64 { return float64(r.wall) })).Round(time.Second),
				time.Duration(macroMedian(rs, func(r *macroResult) float64 { return float64(r.floor) })).Round(time.Second),
				num(med), num(slices.Min(effs)), ratio, macroPercentile(lat, 0.50), macroPercentile(lat, 0.99))
		}
	}
	return b.String()
}

// macroMedian is the median of f over rs (the lower middle one for an even count).
func macroMedian(rs []macroResult, f func(*macroResult) float64) float64 {
	v := make([]float64, len(rs))
	for i := range rs {
		v[i] = f(&rs[i])
	}
	slices.Sort(v)
	return v[(len(v)-1)/2]
}

func macroPercentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))].Round(time.Second)
}

// macroCountingTransport counts the Messages requests it passes to the server.
type macroCountingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *macroCountingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if macroIsMessages(req) {
		c.n.Add(1)
	}
	return c.next.RoundTrip(req)
}

// macroRun runs one scenario with one strategy and one seed. It must be
// called inside a synctest bubble.
func macroRun(t *testing.T, sc *macroScenario, strategy string, seed uint64, redisOpt *redis.Options) macroResult {
	cfg := sc.cfg
	cfg.Seed = seed
	if cfg.CountTokensRPM == 0 {
		cfg.CountTokensRPM = 100 // Tier 1's published count_tokens limit
	}
	s := newSim(t, cfg)
	w := sc.workload(seed)
	rt := &macroCountingTransport{next: s.Transport()}
	base := []aoption.RequestOption{
		aoption.WithBaseURL("http://sim.invalid/"),
		aoption.WithHTTPClient(&http.Client{Transport: rt}),
		aoption.WithAPIKey(apiKey),
		aoption.WithRequestTimeout(24 * time.Hour), // waiting for the budget counts in it
	}
	nclients := max(1, sc.clients)
	var orc *macroOracle
	if strategy == "oracle" {
		orc = newMacroOracle(s, cfg, macroClass) // one for all: the ceiling
	}
	var degraded atomic.Int64
	var account string
	var rdbs []*redis.Client
	keeper := strings.HasPrefix(strategy, "ratekeeper")
	if sc.redis && keeper {
		// One budget key per run, deleted at the end.
		account = ratekeeper.AccountID(fmt.Sprintf("%s/macro/%x", apiKey, rand.Uint64()))
		defer func() {
			ctx := context.Background()
			keys, err := rdbs[0].Keys(ctx, "ratekeeper:{"+account+"*").Result()
			if err != nil || len(keys) == 0 {
				t.Errorf("no budget of the run in Redis (%v): the processes did not share through it", err)
			} else {
				rdbs[0].Del(ctx, keys...)
			}
			for _, c := range rdbs {
				c.Close()
			}
		}()
	}
	clients := make([]anthropic.Client, nclients)
	for i := range clients {
		opts := slices.Clone(base)
		switch strategy {
		case "sdk":
		case "xrate-rpm":
			lim := rate.NewLimiter(rate.Limit(float64(sonnetLimits[simapi.Requests])/60), int(sonnetLimits[simapi.Requests]))
			opts = append(opts, aoption.WithMiddleware(func(req *http.Request, next aoption.MiddlewareNext) (*http.Response, error) {
				if macroIsMessages(req) {
					if err := lim.Wait(req.Context()); err != nil {
						return nil, err
					}
				}
				return next(req)
			}))
		case "cookbook":
			cb := newMacroCookbook(sonnetLimits[simapi.Requests], sonnetLimits[simapi.InputTokens]+sonnetLimits[simapi.OutputTokens])
			opts = append(opts, aoption.WithMiddleware(cb.Middleware), aoption.WithMaxRetries(0))
		case "oracle":
			opts = append(opts, aoption.WithMiddleware(orc.Middleware), aoption.WithMaxRetries(0))
		case "ratekeeper", "ratekeeper-nocount":
			var kopts []ratekeeper.Option
			if strategy == "ratekeeper-nocount" {
				kopts = append(kopts, ratekeeper.WithCountTokens(0))
			}
			if sc.redis {
				// Each process has its own Redis client and store. The
				// store takes the bubble's clock (WithClock): Redis TIME
				// would not follow the simulated time.
				rdb := redis.NewClient(redisOpt)
				rdbs = append(rdbs, rdb)
				st, err := redisstore.New(rdb, redisstore.WithClock(time.Now), redisstore.WithFallbackShare(1/float64(nclients)),
					redisstore.WithOnStateChange(func(down bool, _ error) {
						if down {
							degraded.Add(1)
						}
					}))
				if err != nil {
					t.Fatal(err)
				}
				kopts = append(kopts, ratekeeper.WithStore(st, account))
			}
			if *macroTrace {
				proc := i
				start := time.Now()
				kopts = append(kopts, ratekeeper.WithLogger(slog.New(macroTraceHandler{t: t, prefix: fmt.Sprintf("%s seed %d process %d", sc.name, seed, proc), start: start})))
				kopts = append(kopts, ratekeeper.WithObserver(func(e ratekeeper.Event) {
					if e.Kind == ratekeeper.Retried || e.Kind == ratekeeper.Refused || e.Kind == ratekeeper.Failed || e.Kind == ratekeeper.Synced && e.Burst > 0 {
						t.Logf("%s seed %d process %d at %v: %v status %d %v burst %v wait %v %v", sc.name, seed, proc,
							time.Since(start).Round(time.Millisecond), e.Kind, e.Status, e.Dimension, e.Burst, e.Wait, e.Err)
					}
				}))
			}
			k := newKeeper(t, kopts...)
			opts = append(opts, aoption.WithMiddleware(k.Middleware), aoption.WithMaxRetries(0))
		default:
			t.Fatalf("unknown strategy %q", strategy)
		}
		clients[i] = anthropic.NewClient(opts...)
	}

	var mu sync.Mutex
	res := macroResult{calls: w.calls()}
	start := time.Now()
	var wg sync.WaitGroup
	for i, calls := range w.workers {
		client := clients[i%nclients]
		wg.Go(func() {
			for _, c := range calls {
				t0 := time.Now()
				err := macroSend(client, c)
				mu.Lock()
				if err != nil {
					res.failed++
					if res.firstErr == "" {
						res.firstErr = err.Error()
					}
				} else {
					res.succeeded++
					res.lat = append(res.lat, time.Since(t0))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.wall = time.Since(start)
	res.attempts = rt.n.Load()
	res.counts = s.Ledger().Counts(apiKey, "")
	res.floor = s.MinimumTime(apiKey, macroClass)
	sizes, _ := s.Buckets(macroClass)
	res.requestCap = sizes[simapi.Requests].Capacity
	if orc != nil {
		res.oracle429 = orc.rateLimits.Load()
		res.oracleFirst429, _ = orc.first429.Load().(string)
	}
	if res.failed > 0 {
		t.Logf("%s/%s/seed=%d: %d of %d calls failed, e.g. %.160s", sc.name, strategy, seed, res.failed, res.calls, res.firstErr)
	}

	// What holds whatever the strategy.
	if res.succeeded+res.failed != res.calls {
		t.Errorf("%d succeeded + %d failed ≠ %d calls", res.succeeded, res.failed, res.calls)
	}
	if res.attempts != res.counts.Total() {
		t.Errorf("%d attempts sent, the server's ledger counts %d (%+v)", res.attempts, res.counts.Total(), res.counts)
	}
	if int64(res.succeeded) > res.counts.Admitted {
		t.Errorf("%d calls succeeded, the server admitted %d", res.succeeded, res.counts.Admitted)
	}
	if d := degraded.Load(); d != 0 {
		t.Errorf("the Redis store fell back to its local budget %d times: the run did not share through Redis", d)
	}
	macroCheckBounds(t, s, cfg, w, res.wall)
	return res
}

// macroCheckBounds asserts that the server never let through more than its
// buckets allow. Requests and input tokens are charged at admission: in any
// window of length w, at most max(capacity, the largest single charge) +
// limit × w/1m (a charge above a sub-minute capacity is admitted into a full
// bucket and leaves it in debt). Output is charged as it is generated, so it
// is bounded over the whole run, and only where the server reserves
// max_tokens on admission (with OutputActual a bucket may go into debt by
// any number of concurrent generations): capacity + limit × wall/1m, plus
// the debt one reservation above a sub-minute capacity may leave.
func macroCheckBounds(t *testing.T, s *simapi.Server, cfg simapi.Config, w *macroWorkload, wall time.Duration) {
	t.Helper()
	sizes, _ := s.Buckets(macroClass)
	l := s.Ledger()
	for _, d := range []simapi.Dimension{simapi.Requests, simapi.InputTokens} {
		b := sizes[d]
		var largest int64
		for _, c := range l.Charges() {
			if c.Dim == d && c.Key == apiKey {
				largest = max(largest, c.Amount)
			}
		}
		for _, win := range []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, time.Minute} {
			bound := max(b.Capacity, float64(largest)) + float64(b.Limit)*win.Minutes()
			if got := l.MaxWindowUsage(apiKey, macroClass, d, win); float64(got) > bound+macroEpsilon {
				t.Errorf("%v: %d in a %v window; buckets of %.1f at %d/min allow %.1f", d, got, win, b.Capacity, b.Limit, bound)
			}
		}
	}
	if cfg.OutputPolicy == simapi.OutputReserveMaxTokens {
		b := sizes[simapi.OutputTokens]
		bound := max(b.Capacity, float64(w.maxTokens())) + float64(b.Limit)*wall.Minutes()
		if got := l.Usage(apiKey, macroClass, simapi.OutputTokens); float64(got) > bound+macroEpsilon {
			t.Errorf("output_tokens: %d in %v; a bucket of %.1f at %d/min allows %.1f", got, wall, b.Capacity, b.Limit, bound)
		}
	}
}

// macroSend makes one call through client, reading a stream to its end.
func macroSend(client anthropic.Client, c macroCall) error {
	params := anthropic.MessageNewParams{
		Model:     model,
		MaxTokens: c.maxTokens,
		System:    []anthropic.TextBlockParam{{Text: "Answer briefly."}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(c.prompt))},
	}
	ctx := context.Background()
	if !c.stream {
		_, err := client.Messages.New(ctx, params)
		return err
	}
	stream := client.Messages.NewStreaming(ctx, params)
	defer stream.Close()
	var msg anthropic.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			return err
		}
	}
	return stream.Err()
}

// macroTraceHandler logs, under -macro.trace, what the Keeper says of its
// learning (the output accounting it concludes), with the simulated time.
type macroTraceHandler struct {
	t      *testing.T
	prefix string
	start  time.Time
}

func (h macroTraceHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h macroTraceHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "output tokens") {
		h.t.Logf("%s at %v: %s", h.prefix, time.Since(h.start).Round(time.Millisecond), r.Message)
	}
	return nil
}
func (h macroTraceHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h macroTraceHandler) WithGroup(string) slog.Handler      { return h }
