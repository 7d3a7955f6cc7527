package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ratekeeper/ratekeeper/internal/redistest"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/limiter/redisstore"
	"github.com/ratekeeper/ratekeeper/tier"
)

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// modeRecorder counts a replica's admissions by mode.
type modeRecorder struct {
	*redisstore.Store
	mu       sync.Mutex // guards the fields below
	fallback []time.Time
	shared   []time.Time
}

func (m *modeRecorder) Reserve(ctx context.Context, key string, req limiter.ReserveRequest) (limiter.ReserveResult, error) {
	res, err := m.Store.Reserve(ctx, key, req)
	if err == nil && res.OK {
		m.mu.Lock()
		if res.Seq < 0 {
			m.fallback = append(m.fallback, time.Now())
		} else {
			m.shared = append(m.shared, time.Now())
		}
		m.mu.Unlock()
	}
	return res, err
}

// TestFault kills Redis in the middle of a run of several replicas (here:
// stores in one process, each with its own client) and restarts it: every
// replica keeps working within its fallback share, nothing fails, and
// shared mode resumes.
func TestFault(t *testing.T) {
	const (
		replicas = 3
		workers  = 4
	)
	srv := redistest.Start(t)
	apiKey := "sk-ant-api03-fault-test-secret"
	key := redisstore.Key("ratekeeper-test", apiKey, "fault")
	budget := tier.Budget{RPM: 60, ITPM: 1_000_000, OTPM: 1_000_000} // 1 request/s, burst 60
	share := 1.0 / replicas

	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	type change struct {
		degraded bool
		err      error
	}
	var (
		cmu        sync.Mutex
		firstFault [replicas]time.Time
		changes    [replicas][]change
		stores     [replicas]*modeRecorder
		lims       [replicas]*limiter.Limiter
	)
	for i := range replicas {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
		t.Cleanup(func() { rdb.Close() })
		s, err := redisstore.New(rdb,
			redisstore.WithFallbackShare(share),
			redisstore.WithTimeout(250*time.Millisecond),
			redisstore.WithProbeBackoff(20*time.Millisecond, 100*time.Millisecond),
			redisstore.WithLogger(logger),
			redisstore.WithOnStateChange(func(degraded bool, err error) {
				cmu.Lock()
				if firstFault[i].IsZero() {
					firstFault[i] = time.Now()
				}
				changes[i] = append(changes[i], change{degraded, err})
				cmu.Unlock()
			}))
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = &modeRecorder{Store: s}
		lims[i], err = limiter.New(budget, limiter.WithStore(stores[i], key))
		if err != nil {
			t.Fatal(err)
		}
	}

	var (
		stop     atomic.Bool
		wg       sync.WaitGroup
		failures atomic.Int64
		ferr     atomic.Value
	)
	for i := range replicas {
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					r, err := lims[i].Allow(context.Background(), limiter.Cost{Requests: 1, InputTokens: 10, OutputTokens: 10})
					switch {
					case err == nil:
						if err := r.Commit(limiter.Cost{Requests: 1, InputTokens: 5, OutputTokens: 5}); err != nil {
							failures.Add(1)
							ferr.Store(err)
						}
					case !errors.Is(err, limiter.ErrLimited):
						failures.Add(1)
						ferr.Store(err)
					}
					time.Sleep(time.Millisecond)
				}
			}()
		}
	}

	time.Sleep(300 * time.Millisecond) // shared: the burst of 60 is spent
	srv.Kill()
	killed := time.Now()
	time.Sleep(700 * time.Millisecond) // degraded: each replica on its share
	restarted := time.Now()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	for i := range replicas {
		for !func() bool {
			cmu.Lock()
			defer cmu.Unlock()
			n := len(changes[i])
			return n > 0 && !changes[i][n-1].degraded
		}() {
			if time.Since(restarted) > 5*time.Second {
				t.Fatalf("replica %d did not return to shared mode within 5 s of the restart", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	time.Sleep(300 * time.Millisecond) // shared again: a fresh budget in the empty server
	stop.Store(true)
	wg.Wait()

	if n := failures.Load(); n > 0 {
		t.Fatalf("%d calls failed; last: %v", n, ferr.Load())
	}
	var sharedBefore, sharedAfter int
	for i, s := range stores {
		s.mu.Lock()
		fallback, shared := s.fallback, s.shared
		s.mu.Unlock()
		for _, at := range shared {
			switch {
			case at.Before(killed):
				sharedBefore++
			case at.After(restarted):
				sharedAfter++
			default:
				t.Errorf("replica %d: admitted through Redis at %v while it was down", i, at)
			}
		}
		cmu.Lock()
		ch, since := changes[i], firstFault[i]
		cmu.Unlock()
		if len(ch) < 2 || !ch[0].degraded || !errors.Is(ch[0].err, redisstore.ErrUnavailable) || ch[len(ch)-1].degraded {
			t.Errorf("replica %d: state changes %+v; want degraded with ErrUnavailable, then recovered", i, ch)
		}
		if s.Degraded() {
			t.Errorf("replica %d still degraded", i)
		}
		// Within its share: capacity/3 at once, then a third of the refill,
		// from the first fault (a loaded machine may time out before the
		// kill; the fallback keeps its state across episodes).
		if len(fallback) == 0 {
			t.Errorf("replica %d admitted nothing while Redis was down", i)
			continue
		}
		span := fallback[len(fallback)-1].Sub(since).Seconds()
		bound := share * (budget.Capacity(tier.RPM) + float64(budget.RPM)/60*span)
		if float64(len(fallback)) > bound+1e-9 {
			t.Errorf("replica %d admitted %d in fallback over %.2fs; its share allows %.2f", i, len(fallback), span, bound)
		}
		t.Logf("replica %d: %d admitted in fallback (share allows %.2f over %.2fs), state changes %d", i, len(fallback), bound, span, len(ch))
	}
	if sharedBefore > int(budget.Capacity(tier.RPM))+1 {
		t.Errorf("%d admitted through Redis before the kill; the budget allows about 60", sharedBefore)
	}
	if sharedAfter == 0 {
		t.Error("nothing admitted through Redis after the restart")
	}
	t.Logf("through Redis: %d before the kill, %d after the restart", sharedBefore, sharedAfter)
	if l := logs.String(); !strings.Contains(l, "local fallback") || !strings.Contains(l, "shared again") {
		t.Errorf("logs lack the change of mode:\n%s", l)
	} else if strings.Contains(l, apiKey) || strings.Contains(l, key) {
		t.Errorf("logs reveal the API key or the budget's key:\n%s", l)
	}
}
