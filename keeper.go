package ratekeeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ratekeeper/ratekeeper/internal/account"
	"github.com/ratekeeper/ratekeeper/internal/aimd"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// A Keeper keeps the calls of one account (one API key) to one provider
// inside their rate limits. It owns one limiter per rate-limit pool (for
// Anthropic: per model class), an estimator that prices each request before
// it is sent, a concurrency gate that shrinks when the service is
// overloaded, and the retry loop.
//
// Plug it into a client with [Keeper.Middleware] (anthropic-sdk-go and
// openai-go) or [Keeper.Transport] (any http.Client).
//
// A Keeper is safe for concurrent use by multiple goroutines. It starts no
// goroutines and needs no Close.
type Keeper struct {
	cfg     *tier.Config
	strict  bool
	est     *tokencount.Estimator
	store   limiter.Store
	account string
	maxWait time.Duration
	retry   RetryPolicy
	gate    *aimd.Gate
	logger  *slog.Logger
	observe func(Event)

	// countRPM is what WithCountTokens asked (countDefault unless set);
	// counter budgets the count_tokens calls (nil: no counting), and
	// countPaused is until when counting is off after a failure (Unix ns).
	countRPM    int64
	counter     *limiter.Limiter
	countPaused atomic.Int64

	// batchRPM is what WithBatchRPM asked (countDefault unless set), and
	// batcher budgets the calls to the batch endpoints (nil: none).
	batchRPM int64
	batcher  *limiter.Limiter

	// ramp is WithRampUp's duration.
	ramp time.Duration

	// calls numbers the calls, for Event.CallID.
	calls atomic.Uint64
	// mapped holds the models budgeted by family not yet announced by a
	// Mapped event (model → pool name), unannounced how many: calls look
	// at mapped only while it is not 0.
	mapped      sync.Map
	unannounced atomic.Int64

	// open counts the reservations admitted and not yet settled: the calls
	// in flight. Every path of a call settles what it admitted (a test
	// checks that it returns to zero whatever the server answers).
	open atomic.Int64

	mu    sync.Mutex // guards pools and models
	pools map[string]*pool
	// models caches the pool of each model ID seen.
	models map[string]*pool
}

// Option configures a Keeper.
type Option func(*Keeper) error

// WithTier budgets every model by the preset of the named tier of provider
// p, such as (tier.Anthropic, "build") or (tier.Anthropic, "tier-2"). It is
// shorthand for WithConfig(&tier.Config{Provider: p, Tier: name}).
func WithTier(p tier.Provider, name string) Option {
	return WithConfig(&tier.Config{Provider: p, Tier: name})
}

// WithConfig budgets models by c (presets, defaults, workspace caps and
// per-model overrides; see tier.Config). c is validated by New and must not
// be changed afterwards.
func WithConfig(c *tier.Config) Option {
	return func(k *Keeper) error {
		if c == nil {
			return errors.New("ratekeeper: WithConfig(nil)")
		}
		k.cfg = c
		return nil
	}
}

// WithStrictBudgets keeps the configured limits as ceilings: limits learned
// from response headers may lower a budget but never raise it. Without it,
// the server's limits replace the configured ones in both directions.
func WithStrictBudgets() Option {
	return func(k *Keeper) error { k.strict = true; return nil }
}

// WithEstimator prices requests with e instead of a default
// tokencount.Estimator (the fast heuristic, calibrated from usage,
// reserving max_tokens for output).
func WithEstimator(e *tokencount.Estimator) Option {
	return func(k *Keeper) error { k.est = e; return nil }
}

// WithStore keeps the budgets in s, under keys derived from account and the
// pool name, so that every process using the same store and account shares
// them. account identifies the API key without revealing it: pass
// [AccountID] of the key, never the key.
func WithStore(s limiter.Store, account string) Option {
	return func(k *Keeper) error {
		if s == nil {
			return errors.New("ratekeeper: WithStore(nil, …)")
		}
		k.store, k.account = s, account
		return nil
	}
}

// WithMaxWait bounds how long one attempt waits for admission; beyond it
// the call fails at once with a *limiter.LimitError matching
// limiter.ErrLimited. The request's context deadline bounds it too. Zero
// means no bound but the context's.
func WithMaxWait(d time.Duration) Option {
	return func(k *Keeper) error {
		if d < 0 {
			return fmt.Errorf("ratekeeper: negative max wait %v", d)
		}
		k.maxWait = d
		return nil
	}
}

// WithRetry replaces DefaultRetryPolicy.
func WithRetry(p RetryPolicy) Option {
	return func(k *Keeper) error {
		if err := p.validate(); err != nil {
			return err
		}
		k.retry = p
		return nil
	}
}

// WithRampUp starts every pool slowly: with a tenth of each bucket and of
// its refill, growing linearly to the whole budget over d. It is for the
// server's acceleration limits (429s after a sharp increase in usage,
// documented without numbers): a new deployment, or a pipeline that goes
// from idle to full speed, ramps up instead of bursting a whole bucket at
// once. Off by default; a few minutes is a reasonable d.
func WithRampUp(d time.Duration) Option {
	return func(k *Keeper) error {
		if d < 0 {
			return fmt.Errorf("ratekeeper: negative ramp-up %v", d)
		}
		k.ramp = d
		return nil
	}
}

// WithMaxConcurrency bounds the calls in flight (default 256). The bound
// halves when the service reports overload and grows back as calls succeed;
// it never goes below 1.
func WithMaxConcurrency(n int) Option {
	return func(k *Keeper) error {
		if n < 1 {
			return fmt.Errorf("ratekeeper: max concurrency %d < 1", n)
		}
		k.gate = aimd.New(1, n)
		return nil
	}
}

// WithLogger logs every event (see Event) to l: admissions at Debug,
// header syncs and retries at Info, refusals and failures at Warn. Nothing
// is logged without it. API keys never appear.
func WithLogger(l *slog.Logger) Option {
	return func(k *Keeper) error { k.logger = l; return nil }
}

// WithObserver calls f with every event, synchronously, from the goroutine
// of the call; f must be fast and safe for concurrent use. Given several
// times, every f is called, in order.
func WithObserver(f func(Event)) Option {
	return func(k *Keeper) error {
		if f == nil {
			return errors.New("ratekeeper: WithObserver(nil)")
		}
		if prev := k.observe; prev != nil {
			k.observe = func(e Event) { prev(e); f(e) }
		} else {
			k.observe = f
		}
		return nil
	}
}

// New returns a Keeper. It needs a budget: WithTier or WithConfig.
func New(opts ...Option) (*Keeper, error) {
	k := &Keeper{
		countRPM: countDefault,
		batchRPM: countDefault,
		retry:    DefaultRetryPolicy,
		pools:    map[string]*pool{},
		models:   map[string]*pool{},
	}
	for _, o := range opts {
		if err := o(k); err != nil {
			return nil, err
		}
	}
	if k.cfg == nil {
		return nil, errors.New("ratekeeper: no budget: use WithTier or WithConfig")
	}
	if err := k.cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ratekeeper: %w", err)
	}
	if k.cfg.Provider == tier.OpenAI && len(k.cfg.Models) == 0 {
		// Every call would fail: OpenAI publishes no table of limits per
		// tier and model that could be embedded.
		return nil, fmt.Errorf("ratekeeper: %w: OpenAI limits are per model and per organization, and no table of them can be embedded: "+
			"give each model's limits in Config.Models (see the README)", tier.ErrUnknownModel)
	}
	if k.est == nil {
		est, err := tokencount.New()
		if err != nil {
			return nil, fmt.Errorf("ratekeeper: %w", err)
		}
		k.est = est
	}
	if k.store == nil {
		k.store = limiter.NewMemoryStore()
	}
	if k.gate == nil {
		k.gate = aimd.New(1, 256)
	}
	if err := k.setupCounting(); err != nil {
		return nil, err
	}
	if err := k.setupBatches(); err != nil {
		return nil, err
	}
	return k, nil
}

// AccountID returns a stable, non-reversible identifier of an API key for
// store keys and logs: the first 16 hex digits of its SHA-256.
func AccountID(apiKey string) string { return account.ID(apiKey) }

// Limiter returns the limiter of model's pool, creating it on first use.
// The error matches tier.ErrUnknownModel when the configuration has no
// budget for model.
func (k *Keeper) Limiter(model string) (*limiter.Limiter, error) {
	p, err := k.pool(model)
	if err != nil {
		return nil, err
	}
	return p.lim, nil
}

// Remaining returns the state of the budget of model's pool.
func (k *Keeper) Remaining(ctx context.Context, model string) (limiter.Remaining, error) {
	p, err := k.pool(model)
	if err != nil {
		return limiter.Remaining{}, err
	}
	return p.lim.Remaining(ctx)
}

// ConcurrencyLimit returns the current bound on calls in flight.
func (k *Keeper) ConcurrencyLimit() int { return k.gate.Limit() }
