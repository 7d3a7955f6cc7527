package redisstore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ratekeeper/ratekeeper/internal/redistest"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/limiter/redisstore"
	"github.com/ratekeeper/ratekeeper/tier"
)

// The budget the processes share: 2 requests, 500 input tokens and 150
// output tokens per second, each with a minute's capacity. Requests bind.
var sharedBudget = tier.Budget{RPM: 120, ITPM: 30000, OTPM: 9000}

const (
	helperEnv        = "RATEKEEPER_REDISSTORE_HELPER"
	helperKeyEnv     = "RATEKEEPER_REDISSTORE_KEY" // comma-separated
	helperUntilEnv   = "RATEKEEPER_REDISSTORE_UNTIL"
	helperStartEnv   = "RATEKEEPER_REDISSTORE_START"
	helperClusterEnv = "RATEKEEPER_REDISSTORE_CLUSTER"
	processes        = 4
	goroutines       = 4
)

// admission is one admitted call: which budget it drew on (an index into
// the keys), when it acted (µs of Redis TIME: the decision's instant plus
// its delay) and what it used.
type admission struct {
	key                   int
	at                    int64
	requests, input, used int64
}

// TestMultiProcess runs several OS processes (this test binary, re-executed)
// that hammer one budget through Redis, and checks that the union of their
// admissions never exceeds the budget in any window.
func TestMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test in -short mode")
	}
	t.Parallel()
	opt := redistest.Options(t)
	key := redisstore.Key(redistest.Prefix(t), "sk-test-multiprocess", "shared")
	all := runProcesses(t, []string{key}, "REDIS_URL="+urlOf(opt))
	checkLedger(t, all[0])
}

// runProcesses runs the processes of a multi-process test, with env added
// to theirs, on the budgets under keys (each goroutine of a process draws
// on one of them, in turn), and returns the admissions of each budget
// sorted by instant.
func runProcesses(t *testing.T, keys []string, env ...string) [][]admission {
	// The processes start together, once all of them are up, and run 2.5 s.
	start := time.Now().Add(2 * time.Second)
	until := start.Add(2500 * time.Millisecond)
	var (
		mu   sync.Mutex
		all  = make([][]admission, len(keys))
		errs []error
		wg   sync.WaitGroup
	)
	for p := range processes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), helperEnv+"=1", helperKeyEnv+"="+strings.Join(keys, ","),
				helperStartEnv+"="+strconv.FormatInt(start.UnixNano(), 10),
				helperUntilEnv+"="+strconv.FormatInt(until.UnixNano(), 10))
			cmd.Env = append(cmd.Env, env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			var got []admission
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				var a admission
				if _, perr := fmt.Sscanf(sc.Text(), "ADMIT %d %d %d %d %d", &a.key, &a.at, &a.requests, &a.input, &a.used); perr == nil && a.key >= 0 && a.key < len(keys) {
					got = append(got, a)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("process %d: %v\n%s%s", p, err, out, stderr.Bytes()))
			}
			if len(got) == 0 {
				errs = append(errs, fmt.Errorf("process %d admitted nothing\n%s%s", p, out, stderr.Bytes()))
			}
			for _, a := range got {
				all[a.key] = append(all[a.key], a)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for k := range all {
		if len(all[k]) == 0 {
			t.Fatalf("nothing admitted on budget %d", k)
		}
		slices.SortFunc(all[k], func(a, b admission) int { return int(a.at - b.at) })
	}
	return all
}

// checkLedger checks that the admissions of one budget, sorted by instant,
// exhausted the budget and never exceeded it in any window: at most
// capacity + rate × window per dimension.
func checkLedger(t *testing.T, all []admission) {
	t.Helper()
	var total int64
	for _, a := range all {
		total += a.requests
	}
	span := time.Duration(all[len(all)-1].at-all[0].at) * time.Microsecond
	t.Logf("%d processes × %d goroutines: %d admissions over %v", processes, goroutines, total, span)
	// The burst alone is the RPM capacity; more means refills were used.
	if total <= int64(sharedBudget.RPM) {
		t.Errorf("only %d admissions: the budget was never exhausted", total)
	}
	for _, dim := range []struct {
		name string
		d    tier.Dimension
		f    func(admission) int64
	}{
		{"requests", tier.RPM, func(a admission) int64 { return a.requests }},
		{"input tokens", tier.ITPM, func(a admission) int64 { return a.input }},
		{"output tokens", tier.OTPM, func(a admission) int64 { return a.used }},
	} {
		capacity := sharedBudget.Capacity(dim.d)
		perMicro := float64(sharedBudget.Limit(dim.d)) / float64(dim.d.Period()/time.Microsecond)
		worst := -capacity
		for i := range all {
			var sum int64
			for j := i; j < len(all); j++ {
				sum += dim.f(all[j])
				window := float64(all[j].at - all[i].at)
				if over := float64(sum) - (capacity + perMicro*window); over > worst {
					worst = over
				}
				if float64(sum) > capacity+perMicro*window+1e-6 {
					t.Fatalf("%s: %d admitted in the %v from %d; the budget allows %.3f",
						dim.name, sum, time.Duration(window)*time.Microsecond, all[i].at, capacity+perMicro*window)
				}
			}
		}
		t.Logf("%s: closest approach to the bound: %.3f units", dim.name, worst)
	}
}

func urlOf(opt *redis.Options) string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u // may carry credentials the options would need
	}
	return redistest.URL(opt)
}

// recorder is a limiter.Store that remembers the instant of its last
// admission; one per goroutine.
type recorder struct {
	*redisstore.Store
	at int64
}

func (r *recorder) Reserve(ctx context.Context, key string, req limiter.ReserveRequest) (limiter.ReserveResult, error) {
	res, now, err := r.ReserveAt(ctx, key, req)
	if err == nil && res.OK {
		r.at = now + int64(res.Delay/time.Microsecond)
		if res.Seq < 0 {
			return res, errors.New("admitted by the fallback: Redis failed during the test")
		}
	}
	return res, err
}

// TestHelperProcess is one process of TestMultiProcess; it does nothing in
// an ordinary run.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("helper process of TestMultiProcess")
	}
	ns, err := strconv.ParseInt(os.Getenv(helperUntilEnv), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	start, err := strconv.ParseInt(os.Getenv(helperStartEnv), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, ns))
	defer cancel()
	keys := strings.Split(os.Getenv(helperKeyEnv), ",")
	var rdb redis.UniversalClient
	if os.Getenv(helperClusterEnv) == "1" {
		opt := redistest.ClusterOptions(t)
		opt.PoolSize = goroutines
		rdb = redis.NewClusterClient(opt)
	} else {
		opt := redistest.Options(t)
		opt.PoolSize = goroutines
		rdb = redis.NewClient(opt)
	}
	defer rdb.Close()
	store, err := redisstore.New(rdb, redisstore.WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		out = bufio.NewWriter(os.Stdout)
		wg  sync.WaitGroup
	)
	defer out.Flush()
	time.Sleep(time.Until(time.Unix(0, start)))
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := &recorder{Store: store}
			k := g % len(keys)
			lim, err := limiter.New(sharedBudget, limiter.WithStore(rec, keys[k]))
			if err != nil {
				t.Error(err)
				return
			}
			r := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(g)))
			for ctx.Err() == nil {
				c := limiter.Cost{Requests: 1, InputTokens: 10 + r.Int64N(290), OutputTokens: 100}
				res, err := lim.Wait(ctx, c)
				if err != nil {
					if errors.Is(err, limiter.ErrLimited) || ctx.Err() != nil {
						return // the wait would outlive the run
					}
					t.Error(err)
					return
				}
				used := r.Int64N(101)
				if err := res.Commit(limiter.Cost{Requests: 1, InputTokens: c.InputTokens, OutputTokens: used}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				fmt.Fprintf(out, "ADMIT %d %d %d %d %d\n", k, rec.at, c.Requests, c.InputTokens, used)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, key := range keys {
		if strings.Contains(key, "sk-test") {
			t.Error("the key holds the API key in clear")
		}
	}
}
