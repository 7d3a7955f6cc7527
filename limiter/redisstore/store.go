package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ratekeeper/ratekeeper/internal/account"
	"github.com/ratekeeper/ratekeeper/limiter"
)

//go:embed bucket.lua
var bucketLua string

// script is the one Lua script behind every decision. It holds no mutable
// state of its own beyond its SHA-1, computed once.
var script = redis.NewScript(bucketLua)

// Defaults of the options.
const (
	// DefaultTimeout bounds each Redis call. A round trip on a local
	// network takes well under a millisecond; 100 ms leaves room for a
	// busy server without making a dead one expensive.
	DefaultTimeout = 100 * time.Millisecond
	// DefaultFallbackShare is the share of the budget a process may use
	// on its own while Redis is unreachable: right for four replicas.
	DefaultFallbackShare = 0.25
	// DefaultProbeMin and DefaultProbeMax bound the back-off between
	// attempts to reach Redis again after a failure; it doubles from the
	// first to the second.
	DefaultProbeMin = 100 * time.Millisecond
	DefaultProbeMax = 5 * time.Second
)

// idleMargin is how long, in milliseconds, a budget's key outlives the
// instant its buckets would all be full again.
const idleMargin = 10_000

var (
	// ErrUnavailable is matched by an *Error: Redis could not be reached,
	// timed out, or answered with an error.
	ErrUnavailable = errors.New("redis unavailable")
	// ErrInvalidConfig is matched by the errors of New about an option
	// out of range or a nil client.
	ErrInvalidConfig = errors.New("redisstore: invalid configuration")

	errBadReply = errors.New("unexpected reply from the ratekeeper script")
)

// Error is a failure of Redis during one operation of the store. It matches
// ErrUnavailable and the underlying error (a network error, a
// context.DeadlineExceeded from the per-call timeout, a redis.Error) with
// errors.Is and errors.As. With the default fail-open behaviour the store
// answers from its local fallback instead of returning it; with
// WithFailClosed it is returned.
type Error struct {
	// Op is the Store method: "reserve", "settle", "lower" or "snapshot".
	Op string
	// Err is what go-redis reported.
	Err error
}

// Error describes the failure without the key of the budget.
func (e *Error) Error() string {
	return "redisstore: " + e.Op + ": " + ErrUnavailable.Error() + ": " + e.Err.Error()
}

// Unwrap returns ErrUnavailable and the underlying error.
func (e *Error) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// Key returns the Redis key of the budget that apiKey draws on in pool (a
// model class or any name of a limit pool, such as "claude-sonnet"):
// prefix:{h:pool}, where h is the first 16 hex digits of the SHA-256 of
// apiKey (ratekeeper.AccountID). The API key never appears in clear; the
// braces are a Redis Cluster hash tag, so everything of one budget lives in
// one slot. Pass the result to limiter.WithStore. pool should not contain
// braces.
func Key(prefix, apiKey, pool string) string {
	return prefix + ":{" + account.ID(apiKey) + ":" + pool + "}"
}

// Store is a limiter.Store whose budgets live in Redis, shared by every
// process that uses the same keys. Each decision is one round trip: one
// Lua script (EVALSHA, falling back to EVAL) that reads the budget's hash,
// runs the bucket arithmetic on Redis's clock (TIME) and writes the hash
// back.
//
// When Redis fails (an error or a timeout), a Store answers from a local
// limiter.MemoryStore holding a share of each budget (WithFallbackShare),
// reports it (Degraded, WithOnStateChange, WithLogger) and tries Redis
// again on a later call, after a back-off; WithFailClosed returns the error
// instead. See the package documentation.
//
// A Store is safe for concurrent use by multiple goroutines and, through
// Redis, by any number of processes. It starts no goroutines and needs no
// Close; closing the Redis client is the caller's business.
type Store struct {
	rdb        redis.Scripter
	timeout    time.Duration
	share      float64
	failClosed bool
	probeMin   time.Duration
	probeMax   time.Duration
	logger     *slog.Logger
	onChange   func(degraded bool, err error)
	fallback   *limiter.MemoryStore

	// now, when set (WithClock, simulations and tests), replaces Redis
	// TIME in the script and the local clock of the fallback.
	now func() time.Time
	// since is the clock of the back-off (time.Now; tests may replace it).
	since func() time.Time

	degraded atomic.Bool // mirrors state.degraded for lock-free reads
	enc      atomic.Pointer[encodedLimits]

	mu sync.Mutex // guards the fields below
	// down reports that Redis failed and has not answered since.
	down bool
	// retryAt is when the next call may try Redis; probing, that one is.
	retryAt time.Time
	probing bool
	backoff time.Duration
}

// Option configures a Store.
type Option func(*Store)

// WithTimeout bounds each Redis call by d (DefaultTimeout unless set); a
// call that takes longer counts as a failure of Redis. go-redis applies a
// context deadline to its network reads and writes only when the client's
// options say ContextTimeoutEnabled: true; without it, a hung server holds
// a call for the client's ReadTimeout (3 s by default) instead.
func WithTimeout(d time.Duration) Option { return func(s *Store) { s.timeout = d } }

// WithFallbackShare sets the share of each budget, in (0, 1], that this
// process may spend on its own while Redis is unreachable
// (DefaultFallbackShare unless set). With R replicas sharing a budget, 1/R
// keeps their sum within the budget.
func WithFallbackShare(share float64) Option { return func(s *Store) { s.share = share } }

// WithFailClosed makes every Redis failure an error returned to the caller
// (an *Error): nothing is admitted while Redis is unreachable. There is no
// fallback and no back-off: every call tries Redis.
func WithFailClosed() Option { return func(s *Store) { s.failClosed = true } }

// WithProbeBackoff sets how long a degraded Store waits before trying
// Redis again: min after the first failure, doubling up to max
// (DefaultProbeMin and DefaultProbeMax unless set). The first call after
// the back-off tries Redis; the others keep using the fallback meanwhile.
func WithProbeBackoff(min, max time.Duration) Option {
	return func(s *Store) { s.probeMin, s.probeMax = min, max }
}

// WithLogger makes the Store log its changes of mode (a warning when it
// degrades, with the Redis error; an info when it recovers). Without it the
// Store logs nothing. Keys and API keys are never logged.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.logger = l } }

// WithOnStateChange calls f each time the Store degrades to its fallback
// (degraded true, err the Redis failure) or returns to Redis (false, nil).
// f runs on the goroutine whose call observed the change, after the call's
// own work; it must not block and must not call the Store.
func WithOnStateChange(f func(degraded bool, err error)) Option {
	return func(s *Store) { s.onChange = f }
}

// WithClock makes the Store take the time of every decision from now
// instead of Redis TIME (the script receives the instant as an argument)
// and runs its fallback on the same clock. It is for simulations, such as a
// benchmark inside a testing/synctest bubble whose fake clock Redis cannot
// see. Do not use it in production: processes that share a budget must
// agree on one clock, which Redis TIME gives them and their own clocks do
// not. A nil now means Redis TIME.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns a Store that keeps its budgets in rdb: a *redis.Client,
// *redis.ClusterClient, *redis.Ring or anything else that runs scripts.
// TLS, authentication and pool sizes are the client's options. It returns
// an error matching ErrInvalidConfig when an option is out of range.
func New(rdb redis.Scripter, opts ...Option) (*Store, error) {
	s := &Store{
		rdb:      rdb,
		timeout:  DefaultTimeout,
		share:    DefaultFallbackShare,
		probeMin: DefaultProbeMin,
		probeMax: DefaultProbeMax,
		since:    time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	switch {
	case rdb == nil:
		return nil, fmt.Errorf("%w: nil Redis client", ErrInvalidConfig)
	case s.timeout <= 0:
		return nil, fmt.Errorf("%w: timeout %v is not positive", ErrInvalidConfig, s.timeout)
	case !(s.share > 0 && s.share <= 1):
		return nil, fmt.Errorf("%w: fallback share %v is outside (0, 1]", ErrInvalidConfig, s.share)
	case s.probeMin <= 0 || s.probeMax < s.probeMin:
		return nil, fmt.Errorf("%w: probe back-off [%v, %v] is empty or not positive", ErrInvalidConfig, s.probeMin, s.probeMax)
	}
	clock := time.Now
	if s.now != nil {
		clock = s.now
	}
	s.fallback = limiter.NewMemoryStore(limiter.WithClock(clock))
	if s.logger != nil && !contextTimeouts(rdb) {
		s.logger.Warn("redisstore: the Redis client ignores context deadlines (ContextTimeoutEnabled is false); " +
			"a hung server holds each call for the client's ReadTimeout rather than the store's timeout")
	}
	return s, nil
}

// contextTimeouts reports whether rdb applies context deadlines to its
// network I/O; true when it cannot tell.
func contextTimeouts(rdb redis.Scripter) bool {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return true
}

var _ limiter.Store = (*Store)(nil)

// Degraded reports whether the Store is answering from its local fallback
// because Redis failed and has not answered since.
func (s *Store) Degraded() bool { return s.degraded.Load() }

// Reserve implements limiter.Store.
func (s *Store) Reserve(ctx context.Context, key string, req limiter.ReserveRequest) (limiter.ReserveResult, error) {
	res, _, err := s.reserve(ctx, key, req)
	return res, err
}

// reserve is Reserve that also returns the instant of the decision in µs
// of the deciding store's clock.
func (s *Store) reserve(ctx context.Context, key string, req limiter.ReserveRequest) (limiter.ReserveResult, int64, error) {
	if s.shared() {
		res, now, err := s.reserveShared(ctx, key, &req)
		if err = s.outcome(ctx, "reserve", err); err == nil {
			return res, now, nil
		} else if !errors.Is(err, errFallback) {
			return limiter.ReserveResult{}, 0, err
		}
	}
	now := s.localMicros()
	req.Limits = s.scale(&req.Limits)
	res, err := s.fallback.Reserve(ctx, key, req)
	if err != nil {
		return res, now, err
	}
	if res.OK {
		// Mark a reservation of the fallback: a negative Seq (Redis
		// sequence numbers start at the time in µs, memory ones at 0).
		res.Seq = -res.Seq - 1
	}
	return res, now, nil
}

// Settle implements limiter.Store. A cancel (req.Undo set) goes back to
// where its reservation was made: the fallback for a reservation made while
// degraded, Redis otherwise; a cancel of a Redis reservation while Redis is
// unreachable is dropped (its units come back when the bucket refills,
// which errs on the safe side). A commit (no Undo) goes to the current
// mode, so the difference of a reservation made in the other mode lands
// there (see the package documentation).
func (s *Store) Settle(ctx context.Context, key string, req limiter.SettleRequest) error {
	if req.Release != 0 {
		return s.release(ctx, key, &req)
	}
	if req.Undo != nil && req.Undo.Left < 0 {
		u := *req.Undo
		u.Left = -u.Left - 1
		req.Undo = &u
		req.Limits = s.scale(&req.Limits)
		return s.fallback.Settle(ctx, key, req)
	}
	if s.shared() {
		err := s.outcome(ctx, "settle", s.settleShared(ctx, key, &req))
		if !errors.Is(err, errFallback) {
			return err
		}
	}
	if req.Undo != nil {
		return nil
	}
	req.Limits = s.scale(&req.Limits)
	return s.fallback.Settle(ctx, key, req)
}

// Lower implements limiter.Store: one script call lowers every selected
// dimension. While degraded, the levels (the server's counts for the whole
// budget) are scaled by the fallback share.
func (s *Store) Lower(ctx context.Context, key string, req limiter.LowerRequest) error {
	if s.shared() {
		err := s.outcome(ctx, "lower", s.lowerShared(ctx, key, &req))
		if !errors.Is(err, errFallback) {
			return err
		}
	}
	req.Limits = s.scale(&req.Limits)
	for i := range req.Level {
		req.Level[i] *= s.share
	}
	return s.fallback.Lower(ctx, key, req)
}

// Snapshot implements limiter.Store. While degraded it returns the levels
// of the fallback, which hold only this process's share.
func (s *Store) Snapshot(ctx context.Context, key string, limits limiter.Limits) (limiter.Snapshot, error) {
	if s.shared() {
		snap, err := s.snapshotShared(ctx, key, &limits)
		if err = s.outcome(ctx, "snapshot", err); !errors.Is(err, errFallback) {
			return snap, err
		}
	}
	return s.fallback.Snapshot(ctx, key, s.scale(&limits))
}
