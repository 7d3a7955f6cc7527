package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ratekeeper/ratekeeper/internal/redistest"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/limiter/redisstore"
	"github.com/ratekeeper/ratekeeper/limiter/storetest"
	"github.com/ratekeeper/ratekeeper/tier"
)

// spreadKeys returns n keys named by name(i, j), key i owned by master
// i mod (number of masters), as rdb's cluster sees it: the first j for
// which name(i, j) hashes to that master's slots.
func spreadKeys(t *testing.T, rdb *redis.ClusterClient, n int, name func(i, j int) string) []string {
	t.Helper()
	ctx := context.Background()
	//lint:ignore SA1019 go-redis routes a ClusterClient by CLUSTER SLOTS; the test spreads keys by the view it uses
	slots, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	var masters []string
	for _, s := range slots {
		if len(s.Nodes) > 0 && !slices.Contains(masters, s.Nodes[0].Addr) {
			masters = append(masters, s.Nodes[0].Addr)
		}
	}
	slices.Sort(masters)
	keys := make([]string, n)
	for i := range keys {
		want := masters[i%len(masters)]
		for j := 0; keys[i] == ""; j++ {
			if j == 1000 {
				t.Fatalf("no key name(%d, j < 1000) lands on master %s", i, want)
			}
			m, err := redistest.MasterOf(ctx, rdb, name(i, j))
			if err != nil {
				t.Fatal(err)
			}
			if m == want {
				keys[i] = name(i, j)
			}
		}
	}
	return keys
}

// requireMasters checks that keys land on at least two slots owned by two
// distinct masters, computing each key's slot with CLUSTER KEYSLOT.
func requireMasters(t *testing.T, rdb *redis.ClusterClient, keys []string) {
	t.Helper()
	ctx := context.Background()
	slots := map[int64]bool{}
	masters := map[string]int{}
	for _, k := range keys {
		slot, err := rdb.ClusterKeySlot(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		m, err := redistest.MasterOf(ctx, rdb, k)
		if err != nil {
			t.Fatal(err)
		}
		slots[slot] = true
		masters[m]++
	}
	if len(slots) < 2 || len(masters) < 2 {
		t.Fatalf("%d keys on %d slots of %d masters (%v); want at least two of each", len(keys), len(slots), len(masters), masters)
	}
	t.Logf("%d keys on %d slots of %d masters", len(keys), len(slots), len(masters))
}

func deleteKeys(t *testing.T, rdb redis.Cmdable, keys ...string) {
	t.Cleanup(func() {
		for _, k := range keys {
			rdb.Del(context.Background(), k)
		}
	})
}

// TestClusterConformance runs the suite through a *redis.ClusterClient:
// each case's keys hash to their own slots, spread over the masters.
func TestClusterConformance(t *testing.T) {
	rdb := redistest.ClusterClient(t)
	var (
		mu   sync.Mutex // guards used
		used []string
	)
	storetest.Run(t, func(t *testing.T, now func() time.Time) limiter.Store {
		s, err := redisstore.New(rdb, redisstore.WithTestClock(now), redisstore.WithFailClosed(), slowMachine)
		if err != nil {
			t.Fatal(err)
		}
		rec := &keyRecorder{Store: s}
		t.Cleanup(func() {
			rec.keys.Range(func(k, _ any) bool {
				mu.Lock()
				used = append(used, k.(string))
				mu.Unlock()
				rdb.Del(context.Background(), k.(string))
				return true
			})
		})
		return rec
	})
	requireMasters(t, rdb, used)
}

// TestClusterDifferential is TestDifferential through a
// *redis.ClusterClient, each seed on a budget of its own, the budgets
// spread over every master.
func TestClusterDifferential(t *testing.T) {
	rdb := redistest.ClusterClient(t)
	prefix := fmt.Sprintf("ratekeeper-test:%x", rand.Uint64())
	keys := spreadKeys(t, rdb, 8, func(i, j int) string { return fmt.Sprintf("%s:%d:%d", prefix, i, j) })
	requireMasters(t, rdb, keys)
	deleteKeys(t, rdb, keys...)
	for seed := range uint64(len(keys)) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			differential(t, rdb, keys[seed], seed)
		})
	}
}

// TestClusterMultiProcess is TestMultiProcess through *redis.ClusterClient
// clients, on two budgets owned by two masters at once.
func TestClusterMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test in -short mode")
	}
	t.Parallel()
	addrs := redistest.ClusterOptions(t).Addrs
	rdb := redistest.ClusterClient(t)
	prefix := fmt.Sprintf("ratekeeper-test:%x", rand.Uint64())
	keys := spreadKeys(t, rdb, 2, func(i, j int) string {
		return redisstore.Key(prefix, "sk-test-multiprocess", fmt.Sprintf("shared-%d-%d", i, j))
	})
	requireMasters(t, rdb, keys)
	deleteKeys(t, rdb, keys...)
	all := runProcesses(t, keys, helperClusterEnv+"=1", redistest.ClusterEnv+"="+strings.Join(addrs, ","))
	for k := range keys {
		t.Run(fmt.Sprint("budget", k), func(t *testing.T) { checkLedger(t, all[k]) })
	}
}

// entry is one admission of the failover test.
type entry struct {
	store, key int
	at         int64 // µs: Redis TIME, or the local clock in fallback
	fallback   bool
}

// ledgerStore records every admission of one replica's Store.
type ledgerStore struct {
	*redisstore.Store
	i    int
	keys []string
	mu   *sync.Mutex // guards *log
	log  *[]entry
}

func (s *ledgerStore) Reserve(ctx context.Context, key string, req limiter.ReserveRequest) (limiter.ReserveResult, error) {
	res, now, err := s.ReserveAt(ctx, key, req)
	if err == nil && res.OK {
		s.mu.Lock()
		*s.log = append(*s.log, entry{s.i, slices.Index(s.keys, key), now + res.Delay.Microseconds(), res.Seq < 0})
		s.mu.Unlock()
	}
	return res, err
}

// TestClusterFailover kills (SIGKILL) the master that owns a budget's slot
// in the middle of a run of several replicas (stores in this process, each
// with its own cluster client, each serving two budgets on two masters),
// lets the cluster promote its replica, and checks, counting admissions:
// every replica stays within its fallback share while degraded, every one
// returns to shared mode, and in no window does a budget admit more than
// its capacity plus its refill over the window plus, for each replica that
// answered from its fallback in the window, that replica's share of the
// same.
//
// The kill comes at an instant when the replica has every write of the
// master (no call in flight, replication acknowledged): Redis replication
// is asynchronous, and a crash can lose the master's last writes, an
// overshoot that TestKeyVanishes bounds.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("failover test in -short mode")
	}
	const (
		replicas = 3
		workers  = 2 // per replica and budget
	)
	c := redistest.StartCluster(t)
	ctx := context.Background()
	probe := redis.NewClusterClient(c.Options())
	defer probe.Close()
	keys := spreadKeys(t, probe, 2, func(i, j int) string {
		return redisstore.Key("ratekeeper-test", "sk-ant-api03-failover-secret", fmt.Sprintf("pool-%d-%d", i, j))
	})
	requireMasters(t, probe, keys)
	victim, err := c.MasterOf(ctx, keys[0])
	if err != nil {
		t.Fatal(err)
	}
	// 10 requests/s, 50 at once.
	budget := tier.Budget{RPM: 600, Burst: 5 * time.Second}
	capacity, rate := budget.Capacity(tier.RPM), float64(budget.RPM)/60e6 // per µs
	share := 1.0 / replicas

	type change struct {
		degraded bool
		err      error
	}
	var (
		mu      sync.Mutex // guards log and changes
		log     []entry
		changes [replicas][]change
		stores  [replicas]*ledgerStore
		lims    [replicas][]*limiter.Limiter
	)
	for i := range replicas {
		opt := c.Options()
		opt.ContextTimeoutEnabled = true
		// go-redis routes a slot to the address it last learned until
		// it reloads the cluster's layout: on a MOVED reply, or after
		// this interval (a minute by default). A dead master sends no
		// MOVED; see the package documentation.
		opt.ClusterStateReloadInterval = 500 * time.Millisecond
		rdb := redis.NewClusterClient(opt)
		t.Cleanup(func() { rdb.Close() })
		s, err := redisstore.New(rdb,
			redisstore.WithFallbackShare(share),
			redisstore.WithTimeout(500*time.Millisecond),
			redisstore.WithProbeBackoff(20*time.Millisecond, 100*time.Millisecond),
			redisstore.WithOnStateChange(func(degraded bool, err error) {
				mu.Lock()
				changes[i] = append(changes[i], change{degraded, err})
				mu.Unlock()
			}))
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = &ledgerStore{Store: s, i: i, keys: keys, mu: &mu, log: &log}
		for _, k := range keys {
			l, err := limiter.New(budget, limiter.WithStore(stores[i], k))
			if err != nil {
				t.Fatal(err)
			}
			lims[i] = append(lims[i], l)
		}
	}
	// count returns the number of admissions that match f.
	count := func(f func(entry) bool) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, e := range log {
			if f(e) {
				n++
			}
		}
		return n
	}
	// await polls cond until it holds, for at most 30 s.
	await := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not happen within 30 s", what)
			}
		}
	}

	var (
		pause    sync.RWMutex // held by every call; the kill takes it whole
		stop     atomic.Bool
		wg       sync.WaitGroup
		failures atomic.Int64
		ferr     atomic.Value
	)
	for i := range replicas {
		for k := range keys {
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						pause.RLock()
						r, err := lims[i][k].Allow(ctx, limiter.Cost{Requests: 1})
						if err == nil {
							err = r.Commit(limiter.Cost{Requests: 1})
						}
						pause.RUnlock()
						if err != nil && !errors.Is(err, limiter.ErrLimited) {
							failures.Add(1)
							ferr.Store(err)
						}
						time.Sleep(time.Millisecond)
					}
				}()
			}
		}
	}
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()

	// Shared mode until both budgets are spent and refilling.
	for k := range keys {
		await(fmt.Sprintf("spending budget %d", k), func() bool {
			return count(func(e entry) bool { return e.key == k && !e.fallback }) > int(capacity)
		})
	}
	pause.Lock()
	if err := c.Replicate(ctx, keys[0]); err != nil {
		pause.Unlock()
		t.Fatal(err)
	}
	c.Kill(victim)
	killed := time.Now()
	pause.Unlock()

	// Every replica degrades, then makes an admission through Redis on
	// the killed master's budget again: the replica took over.
	for i := range replicas {
		await(fmt.Sprintf("replica %d degrading", i), func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(changes[i]) > 0
		})
	}
	for i := range replicas {
		await(fmt.Sprintf("replica %d admitting through Redis on budget 0 after the kill", i), func() bool {
			return count(func(e entry) bool {
				return e.store == i && e.key == 0 && !e.fallback && e.at > killed.UnixMicro()
			}) > 0
		})
	}
	recovered := time.Since(killed)
	for i, s := range stores {
		await(fmt.Sprintf("replica %d back in shared mode", i), func() bool { return !s.Degraded() })
	}
	promoted, err := c.MasterOf(ctx, keys[0])
	if err != nil || promoted == victim {
		t.Fatalf("master of budget 0 = %s, %v; want the replica of %s", promoted, err, victim)
	}
	time.Sleep(200 * time.Millisecond) // shared again
	stop.Store(true)
	wg.Wait()

	if n := failures.Load(); n > 0 {
		t.Fatalf("%d calls failed; last: %v", n, ferr.Load())
	}
	mu.Lock()
	entries := slices.Clone(log)
	chs := changes
	mu.Unlock()
	// tol absorbs the few µs between the instant a fallback admission
	// records (read before the fallback's own clock) and its own.
	const tol = 0.01
	for i := range replicas {
		ch := chs[i]
		if len(ch) < 2 || !ch[0].degraded || !errors.Is(ch[0].err, redisstore.ErrUnavailable) || ch[len(ch)-1].degraded {
			t.Errorf("replica %d: state changes %+v; want degraded with ErrUnavailable, then recovered", i, ch)
		}
		for k := range keys {
			var fb []entry
			for _, e := range entries {
				if e.store == i && e.key == k && e.fallback {
					fb = append(fb, e)
				}
			}
			slices.SortFunc(fb, func(a, b entry) int { return int(a.at - b.at) })
			if k == 0 && len(fb) == 0 {
				t.Errorf("replica %d admitted nothing from its fallback on budget 0", i)
			}
			// Within its share: share × (capacity + refill) in every window.
			for a := range fb {
				for b := a; b < len(fb); b++ {
					w := float64(fb[b].at - fb[a].at)
					if n := float64(b - a + 1); n > share*(capacity+rate*w)+tol {
						t.Fatalf("replica %d, budget %d: %.0f admitted from the fallback in %v; its share allows %.3f",
							i, k, n, time.Duration(w)*time.Microsecond, share*(capacity+rate*w))
					}
				}
			}
			t.Logf("replica %d, budget %d: %d admitted from the fallback, %d state changes", i, k, len(fb), len(ch))
		}
	}
	for k := range keys {
		var es []entry
		shared := 0
		for _, e := range entries {
			if e.key == k {
				es = append(es, e)
				if !e.fallback {
					shared++
				}
			}
		}
		slices.SortFunc(es, func(a, b entry) int { return int(a.at - b.at) })
		worst := -capacity
		for a := range es {
			var inFallback [replicas]bool
			for b := a; b < len(es); b++ {
				if es[b].fallback {
					inFallback[es[b].store] = true
				}
				w := float64(es[b].at - es[a].at)
				bound := capacity + rate*w
				for _, f := range inFallback {
					if f {
						bound += share * (capacity + rate*w)
					}
				}
				n := float64(b - a + 1)
				worst = max(worst, n-bound)
				if n > bound+tol {
					t.Fatalf("budget %d: %.0f admitted in the %v from %d; the bound is %.3f",
						k, n, time.Duration(w)*time.Microsecond, es[a].at, bound)
				}
			}
		}
		t.Logf("budget %d: %d admissions (%d through Redis); closest approach to the bound %.3f", k, len(es), shared, worst)
	}
	t.Logf("killed %s; every replica admitted through %s %v later", victim, promoted, recovered.Round(time.Millisecond))

	// The killed master comes back empty and rejoins as a replica.
	if err := c.Restart(victim); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.Wait(wctx); err != nil {
		t.Fatal(err)
	}
	if m, err := c.MasterOf(ctx, keys[0]); err != nil || m != promoted {
		t.Fatalf("after the restart, master of budget 0 = %s, %v; want %s still", m, err, promoted)
	}
}
