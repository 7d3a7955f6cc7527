package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ratekeeper/ratekeeper/internal/bucket"
	"github.com/ratekeeper/ratekeeper/internal/redistest"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/limiter/redisstore"
	"github.com/ratekeeper/ratekeeper/limiter/storetest"
	"github.com/ratekeeper/ratekeeper/tier"
)

// keyRecorder remembers the keys a store was asked about, to delete them
// when the test ends.
type keyRecorder struct {
	limiter.Store
	keys sync.Map
}

func (k *keyRecorder) Reserve(ctx context.Context, key string, req limiter.ReserveRequest) (limiter.ReserveResult, error) {
	k.keys.Store(key, true)
	return k.Store.Reserve(ctx, key, req)
}

func (k *keyRecorder) Lower(ctx context.Context, key string, req limiter.LowerRequest) error {
	k.keys.Store(key, true)
	return k.Store.Lower(ctx, key, req)
}

func (k *keyRecorder) Settle(ctx context.Context, key string, req limiter.SettleRequest) error {
	k.keys.Store(key, true)
	return k.Store.Settle(ctx, key, req)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) limiter.Store {
		rdb := redistest.Client(t)
		s, err := redisstore.New(rdb, redisstore.WithTestClock(now), redisstore.WithFailClosed(), slowMachine)
		if err != nil {
			t.Fatal(err)
		}
		rec := &keyRecorder{Store: s}
		t.Cleanup(func() {
			rec.keys.Range(func(k, _ any) bool {
				rdb.Del(context.Background(), k.(string))
				return true
			})
		})
		return rec
	})
}

func TestKey(t *testing.T) {
	const apiKey = "sk-ant-api03-secret"
	k := redisstore.Key("rk", apiKey, "claude-sonnet")
	// SHA-256("sk-ant-api03-secret"), first 8 bytes.
	if !strings.HasPrefix(k, "rk:{") || !strings.HasSuffix(k, ":claude-sonnet}") || len(k) != len("rk:{")+16+len(":claude-sonnet}") {
		t.Fatalf("Key = %q; want rk:{<16 hex>:claude-sonnet}", k)
	}
	if strings.Contains(k, "secret") || strings.Contains(k, apiKey) {
		t.Fatalf("Key = %q contains the API key", k)
	}
	if k2 := redisstore.Key("rk", apiKey, "claude-sonnet"); k2 != k {
		t.Fatalf("Key is not deterministic: %q, %q", k, k2)
	}
	if k2 := redisstore.Key("rk", apiKey+"x", "claude-sonnet"); k2 == k {
		t.Fatalf("two API keys share the key %q", k)
	}
}

func TestNewInvalid(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	for _, c := range []struct {
		name string
		rdb  redis.Scripter
		opts []redisstore.Option
	}{
		{"nil client", nil, nil},
		{"zero timeout", rdb, []redisstore.Option{redisstore.WithTimeout(0)}},
		{"zero share", rdb, []redisstore.Option{redisstore.WithFallbackShare(0)}},
		{"share above 1", rdb, []redisstore.Option{redisstore.WithFallbackShare(1.5)}},
		{"empty back-off", rdb, []redisstore.Option{redisstore.WithProbeBackoff(time.Second, time.Millisecond)}},
	} {
		if _, err := redisstore.New(c.rdb, c.opts...); !errors.Is(err, redisstore.ErrInvalidConfig) {
			t.Errorf("New(%s) = %v; want ErrInvalidConfig", c.name, err)
		}
	}
}

// deadAddr returns an address where nothing listens.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// slowMachine is the timeout of tests that must not degrade: generous, for
// loaded CI machines.
var slowMachine = redisstore.WithTimeout(10 * time.Second)

var lim3 = limiter.Limits{
	tier.RPM:  {Capacity: 60, Refill: 60, Period: 60e6},
	tier.ITPM: {Capacity: 6000, Refill: 6000, Period: 60e6},
	tier.OTPM: {Capacity: 600, Refill: 600, Period: 60e6},
}

func TestFailClosed(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: deadAddr(t), MaxRetries: -1})
	defer rdb.Close()
	var changes int
	s, err := redisstore.New(rdb, redisstore.WithFailClosed(),
		redisstore.WithOnStateChange(func(bool, error) { changes++ }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		res, err := s.Reserve(ctx, "k", limiter.ReserveRequest{Limits: lim3, Cost: [6]int64{1, 1, 1}})
		var e *redisstore.Error
		if !errors.As(err, &e) || !errors.Is(err, redisstore.ErrUnavailable) || e.Op != "reserve" || res.OK {
			t.Fatalf("Reserve = %+v, %v; want an *Error matching ErrUnavailable and nothing admitted", res, err)
		}
	}
	if err := s.Settle(ctx, "k", limiter.SettleRequest{Limits: lim3, Delta: [6]int64{1}}); !errors.Is(err, redisstore.ErrUnavailable) {
		t.Fatalf("Settle = %v; want ErrUnavailable", err)
	}
	if err := s.Lower(ctx, "k", limiter.LowerRequest{Limits: lim3, Dims: [6]bool{true, true}}); !errors.Is(err, redisstore.ErrUnavailable) {
		t.Fatalf("Lower = %v; want ErrUnavailable", err)
	}
	if _, err := s.Snapshot(ctx, "k", lim3); !errors.Is(err, redisstore.ErrUnavailable) {
		t.Fatalf("Snapshot = %v; want ErrUnavailable", err)
	}
	if s.Degraded() || changes != 0 {
		t.Fatalf("a fail-closed store degraded (Degraded %v, %d changes)", s.Degraded(), changes)
	}
}

func TestCallerContextIsNotAFault(t *testing.T) {
	rdb := redistest.Client(t)
	s, err := redisstore.New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Reserve(ctx, redistest.Prefix(t)+":k", limiter.ReserveRequest{Limits: lim3, Cost: [6]int64{1}})
	if !errors.Is(err, context.Canceled) || errors.Is(err, redisstore.ErrUnavailable) {
		t.Fatalf("Reserve(cancelled ctx) = %v; want context.Canceled", err)
	}
	if s.Degraded() {
		t.Fatal("the caller's cancellation degraded the store")
	}
}

// TestFallbackLower checks that a degraded store lowers every selected
// dimension of its fallback at once, to the fallback share of the server's
// counts.
func TestFallbackLower(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: deadAddr(t), MaxRetries: -1})
	defer rdb.Close()
	clock := storetest.NewClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	s, err := redisstore.New(rdb, redisstore.WithFallbackShare(0.5), redisstore.WithTestClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := limiter.LowerRequest{
		Limits: lim3,
		Dims:   [6]bool{tier.RPM: true, tier.ITPM: true, tier.OTPM: true},
		Level:  [6]float64{tier.RPM: 20, tier.ITPM: 1000, tier.OTPM: 100},
		Hold:   [6]time.Duration{tier.OTPM: 2 * time.Second},
	}
	if err := s.Lower(ctx, "k", req); err != nil || !s.Degraded() {
		t.Fatalf("Lower = %v, Degraded %v; want the fallback", err, s.Degraded())
	}
	snap, err := s.Snapshot(ctx, "k", lim3)
	if err != nil {
		t.Fatal(err)
	}
	// Halves: 10, 500, and 50 less what half of 10/s refills in 2 s.
	if got, want := [3]float64(snap.Level[:3]), [3]float64{10, 500, 40}; got != want {
		t.Fatalf("fallback levels (RPM, ITPM, OTPM) = %v; want %v", got, want)
	}
}

// TestModeMarker checks that a reservation settles where it was made: a
// cancel of a fallback reservation after Redis came back goes to the
// fallback, and a cancel of a Redis reservation while degraded is dropped.
func TestModeMarker(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true, MaxRetries: -1})
	defer rdb.Close()
	s, err := redisstore.New(rdb, redisstore.WithFallbackShare(0.5),
		redisstore.WithTimeout(200*time.Millisecond), redisstore.WithProbeBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const key = "marker"
	reserve := func(n int64) limiter.ReserveResult {
		t.Helper()
		res, err := s.Reserve(ctx, key, limiter.ReserveRequest{Limits: lim3, Cost: [6]int64{n}})
		if err != nil || !res.OK {
			t.Fatalf("Reserve(%d) = %+v, %v", n, res, err)
		}
		return res
	}
	level := func() float64 {
		t.Helper()
		snap, err := s.Snapshot(ctx, key, lim3)
		if err != nil {
			t.Fatal(err)
		}
		return snap.Level[tier.RPM]
	}
	cancel := func(res limiter.ReserveResult, n int64) {
		t.Helper()
		err := s.Settle(ctx, key, limiter.SettleRequest{Limits: lim3, Delta: [6]int64{n}, Undo: new(res.Undo())})
		if err != nil {
			t.Fatal(err)
		}
	}

	shared := reserve(10) // Redis: 50 of 60
	if shared.Seq <= 0 {
		t.Fatalf("a Redis reservation has Seq %d; want > 0", shared.Seq)
	}
	srv.Kill()
	local := reserve(5) // fallback: 25 of 30
	if !s.Degraded() || local.Seq >= 0 {
		t.Fatalf("after the kill: Degraded %v, Seq %d; want degraded and a negative Seq", s.Degraded(), local.Seq)
	}
	if got := level(); got < 25 || got > 26 {
		t.Fatalf("fallback level = %v; want 25", got)
	}
	time.Sleep(5 * time.Millisecond) // the probe is due: Redis is still down
	cancel(shared, 10)               // a Redis reservation: dropped, not refunded locally
	if got := level(); got < 25 || got > 26 {
		t.Fatalf("fallback level after cancelling a Redis reservation = %v; want 25", got)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if got := level(); got > 60 || s.Degraded() {
		// The restarted server is empty: a fresh, full budget.
		t.Fatalf("after the restart: level %v, Degraded %v; want shared mode again", got, s.Degraded())
	}
	again := reserve(20) // Redis: 40 of 60
	cancel(local, 5)     // a fallback reservation: goes back to the fallback
	if got := level(); got < 40 || got > 40.01 {
		t.Fatalf("Redis level after cancelling a fallback reservation = %v; want 40", got)
	}
	cancel(again, 20)
	if got := level(); got != 60 {
		t.Fatalf("Redis level after the exact cancel = %v; want 60", got)
	}
}

// TestDifferential feeds the same random operations, at the same instants,
// to a MemoryStore and to the Redis store, and requires the same decisions
// and the same levels, to the last bit.
func TestDifferential(t *testing.T) {
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t)
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			differential(t, rdb, prefix+fmt.Sprint(":", seed), seed)
		})
	}
}

func randomLimits(r *rand.Rand) limiter.Limits {
	var lim limiter.Limits
	periods := []float64{1e6, 60e6, 86400e6, 7e6}
	for d := range lim {
		if d > 0 && r.IntN(3) == 0 {
			continue // not limited
		}
		c := float64(1 + r.IntN(20000))
		refill := c
		if r.IntN(2) == 0 {
			refill = float64(1 + r.IntN(20000))
		}
		lim[d] = limiter.BucketLimit{Capacity: c, Refill: refill, Period: periods[r.IntN(len(periods))]}
	}
	return lim
}

type pending struct {
	cost     [6]int64
	mem, red limiter.Undo
}

func differential(t *testing.T, rdb redis.Scripter, key string, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 42))
	clock := storetest.NewClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	mem := limiter.NewMemoryStore(limiter.WithClock(clock.Now))
	red, err := redisstore.New(rdb, redisstore.WithTestClock(clock.Now), redisstore.WithFailClosed(), slowMachine)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lim := randomLimits(r)
	var open []pending
	waiters := []limiter.Waiter{{ID: 1}, {ID: 2}, {ID: 1 << 52}}
	claims := 0
	defer func() {
		if claims == 0 {
			t.Errorf("no waiter was refused: the claims went untested")
		}
	}()
	var seqOffset int64
	var seqSet bool
	randomCost := func() (c [6]int64) {
		for d := range c {
			if r.IntN(4) > 0 {
				c[d] = r.Int64N(int64(max(lim[d].Capacity, 10)) * 6 / 5)
			}
		}
		return c
	}
	for step := range 400 {
		var op string
		switch x := r.IntN(100); {
		case x < 35:
			op = "reserve"
			req := limiter.ReserveRequest{Limits: lim, Cost: randomCost()}
			if r.IntN(4) == 0 {
				req.Floor = 0.25
			}
			// Waits stay below an hour: beyond 2^63 µs, bucket.Reserve's
			// int64 conversion of a wait overflows (reported), and such
			// waits only arise from absurd holds anyway.
			switch r.IntN(3) {
			case 0:
				req.MaxWait = time.Hour
			case 1:
				req.MaxWait = time.Duration(r.Int64N(int64(30 * time.Second)))
			}
			// Three waiters ask again and again, with the Since the
			// store gave them; they claim and release.
			wi := r.IntN(5)
			if wi < len(waiters) {
				req.Waiter = waiters[wi]
			}
			mr, merr := mem.Reserve(ctx, key, req)
			rr, rerr := red.Reserve(ctx, key, req)
			if merr != nil || rerr != nil {
				t.Fatalf("step %d: Reserve errors %v, %v", step, merr, rerr)
			}
			if mr.OK != rr.OK || mr.Delay != rr.Delay || mr.Dim != rr.Dim || mr.TooLarge != rr.TooLarge ||
				mr.Need != rr.Need || mr.Have != rr.Have || mr.Prev.Last != rr.Prev.Last || mr.Prev.Level != rr.Prev.Level ||
				mr.Prev.End != rr.Prev.End || mr.Prev.Peak != rr.Prev.Peak || mr.Since != rr.Since {
				t.Fatalf("step %d: Reserve(%+v)\nmemory %+v\nredis  %+v", step, req, mr, rr)
			}
			// Sequence numbers start apart (memory at 0, Redis at the
			// time) but must move together: one per mutation.
			if !seqSet {
				seqOffset, seqSet = rr.Seq-mr.Seq, true
			} else if rr.Seq-mr.Seq != seqOffset {
				t.Fatalf("step %d: Reserve Seq memory %d, redis %d; want %d apart", step, mr.Seq, rr.Seq, seqOffset)
			}
			if mr.OK {
				open = append(open, pending{req.Cost, mr.Undo(), rr.Undo()})
			}
			if wi < len(waiters) {
				if mr.OK {
					waiters[wi].Since = 0 // admitted: the next ask is a new waiter's
				} else if !mr.TooLarge {
					waiters[wi].Since = mr.Since
					claims++
				}
			}
		case x < 38:
			op = "release"
			w := waiters[r.IntN(len(waiters))]
			req := limiter.SettleRequest{Limits: lim, Release: w.ID}
			if err := errors.Join(mem.Settle(ctx, key, req), red.Settle(ctx, key, req)); err != nil {
				t.Fatalf("step %d: Release: %v", step, err)
			}
		case x < 50 && len(open) > 0:
			op = "commit"
			i := r.IntN(len(open))
			p := open[i]
			open = append(open[:i], open[i+1:]...)
			req := limiter.SettleRequest{Limits: lim}
			for d := range req.Delta {
				req.Delta[d] = p.cost[d] - r.Int64N(p.cost[d]*3/2+1)
			}
			if err := errors.Join(mem.Settle(ctx, key, req), red.Settle(ctx, key, req)); err != nil {
				t.Fatalf("step %d: Settle: %v", step, err)
			}
		case x < 65 && len(open) > 0:
			op = "cancel"
			i := len(open) - 1 // LIFO often restores exactly
			if r.IntN(2) == 0 {
				i = r.IntN(len(open))
			}
			p := open[i]
			open = append(open[:i], open[i+1:]...)
			mreq := limiter.SettleRequest{Limits: lim, Delta: p.cost, Undo: &p.mem}
			rreq := limiter.SettleRequest{Limits: lim, Delta: p.cost, Undo: &p.red}
			if err := errors.Join(mem.Settle(ctx, key, mreq), red.Settle(ctx, key, rreq)); err != nil {
				t.Fatalf("step %d: Cancel: %v", step, err)
			}
		case x < 72:
			op = "lower"
			// One dimension or several, each with its own target and
			// hold (none half of the time, as a sync has).
			req := limiter.LowerRequest{Limits: lim}
			req.Dims[r.IntN(6)] = true
			for d := range req.Dims {
				if r.IntN(3) == 0 {
					req.Dims[d] = true
				}
				req.Level[d] = float64(r.Int64N(20000)) - 1000
				if r.IntN(2) == 0 {
					req.Hold[d] = time.Duration(r.Int64N(int64(10 * time.Second)))
				}
			}
			if err := errors.Join(mem.Lower(ctx, key, req), red.Lower(ctx, key, req)); err != nil {
				t.Fatalf("step %d: Lower: %v", step, err)
			}
		case x < 75:
			op = "limits"
			lim = randomLimits(r)
		case x < 78:
			op = "backwards"
			clock.Advance(-time.Duration(r.Int64N(int64(5 * time.Second))))
		default:
			op = "advance"
			clock.Advance(time.Duration(r.Int64N(int64(3*time.Second))) / time.Microsecond * time.Microsecond)
		}
		ms, merr := mem.Snapshot(ctx, key, lim)
		rs, rerr := red.Snapshot(ctx, key, lim)
		if merr != nil || rerr != nil {
			t.Fatalf("step %d: Snapshot errors %v, %v", step, merr, rerr)
		}
		if !ms.At.Equal(rs.At) || ms.Level != rs.Level {
			t.Fatalf("step %d (after %s): Snapshot\nmemory %v %v\nredis  %v %v", step, op, ms.At, ms.Level, rs.At, rs.Level)
		}
	}
}

// TestExpiry checks that a budget's key lives until its buckets would be
// full again, plus the margin, and that reading a budget creates nothing.
func TestExpiry(t *testing.T) {
	rdb := redistest.Client(t)
	key := redistest.Prefix(t) + ":expiry"
	s, err := redisstore.New(rdb, redisstore.WithFailClosed(), slowMachine)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Snapshot(ctx, key, lim3); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, key).Val(); n != 0 {
		t.Fatalf("Snapshot created the key")
	}
	// 30 of 60 requests: full again in 30 s.
	if _, err := s.Reserve(ctx, key, limiter.ReserveRequest{Limits: lim3, Cost: [6]int64{30}}); err != nil {
		t.Fatal(err)
	}
	ttl := rdb.PTTL(ctx, key).Val()
	if ttl < 30*time.Second || ttl > 41*time.Second {
		t.Fatalf("PTTL = %v; want 30 s plus a margin of 10 s", ttl)
	}
	fields := rdb.HKeys(ctx, key).Val()
	slices.Sort(fields)
	if want := []string{"exp", "l0", "l1", "l2", "l3", "l4", "l5", "last", "seq"}; !slices.Equal(fields, want) {
		t.Fatalf("hash fields %v; want %v", fields, want)
	}
	// 30 more: full again in 60 s; the expiry moves.
	if _, err := s.Reserve(ctx, key, limiter.ReserveRequest{Limits: lim3, Cost: [6]int64{30}}); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, key).Val(); ttl < 60*time.Second || ttl > 71*time.Second {
		t.Fatalf("PTTL = %v; want 60 s plus a margin of 10 s", ttl)
	}
}

// TestConformanceRing runs the suite through a *redis.Ring (one shard on
// the test server): the store accepts any go-redis client that runs
// scripts, not only *redis.Client.
func TestConformanceRing(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) limiter.Store {
		opt := redistest.Options(t)
		ring := redis.NewRing(&redis.RingOptions{
			Addrs:    map[string]string{"shard": opt.Addr},
			DB:       opt.DB,
			Password: opt.Password,
		})
		t.Cleanup(func() { ring.Close() })
		s, err := redisstore.New(ring, redisstore.WithTestClock(now), redisstore.WithFailClosed(), slowMachine)
		if err != nil {
			t.Fatal(err)
		}
		rec := &keyRecorder{Store: s}
		t.Cleanup(func() {
			rec.keys.Range(func(k, _ any) bool {
				ring.Del(context.Background(), k.(string))
				return true
			})
		})
		return rec
	})
}

// TestHashWithoutLine reads a budget written before the line's end and
// peaks were stored: missing fields are an empty line, and the first call
// placed in line adds them.
func TestHashWithoutLine(t *testing.T) {
	rdb := redistest.Client(t)
	key := redistest.Prefix(t) + ":oldhash"
	clock := storetest.NewClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	s, err := redisstore.New(rdb, redisstore.WithTestClock(clock.Now), redisstore.WithFailClosed(), slowMachine)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := clock.Now().UnixMicro()
	// RPM empty as of now; the rest full, as the old script wrote it.
	if err := rdb.HSet(ctx, key, "last", fmt.Sprint(now), "seq", "7", "l0", "0", "l1", "1e300", "l2", "1e300",
		"l3", "1e300", "l4", "1e300", "l5", "1e300", "exp", fmt.Sprint(now/1000+120_000)).Err(); err != nil {
		t.Fatal(err)
	}
	res, err := s.Reserve(ctx, key, limiter.ReserveRequest{Limits: lim3, Cost: [6]int64{1}, MaxWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	want := limiter.State{Last: now, Seq: 7, Level: [6]float64{0, bucket.Full, bucket.Full, bucket.Full, bucket.Full, bucket.Full}}
	if !res.OK || res.Delay != time.Second || res.Prev != want {
		t.Fatalf("Reserve = %+v; want OK after 1s from %+v", res, want)
	}
	got, err := rdb.HMGet(ctx, key, "end", "p0", "p1").Result()
	if err != nil {
		t.Fatal(err)
	}
	if wantF := []any{fmt.Sprint(now + 1e6), "1", nil}; !slices.Equal(got, wantF) {
		t.Fatalf("end, p0, p1 = %q; want %q", got, wantF)
	}
}
