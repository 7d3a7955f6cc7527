package tokencount

import "github.com/ratekeeper/ratekeeper/tier"

// Margin configures the safety margin added to input estimates, as a fraction of the
// calibrated estimate. Underestimates cause 429s; overestimates only cost throughput
// (a reservation holds budget while the call is in flight). Zero fields take the
// defaults shown.
//
// The margin is learned per content kind: request structure (messages, blocks, tools),
// Latin-script words, punctuation and whitespace (code, JSON, markup), digits, CJK,
// other scripts (Cyrillic, Greek, Arabic, ...), emoji and other symbols, and images and
// documents. A kind's share of a request is the part of its estimate that the kind's
// features account for, and a request's margin is the average of its kinds' margins
// weighted by these shares. So familiar content gets the margin its kind has earned,
// content of a kind never observed gets Initial, and an underestimate of one kind
// widens the margins of requests made of it, not everyone's.
//
// A kind's learned margin is chosen so that at most 1−Quantile of its requests are
// underestimated by more than Tolerance, judged on leave-one-out errors of the model's
// recent observations (at most 128), each weighted by the kind's share of it. An error
// more than 4 robust sigmas above the kind's median counts as that bound, so that one
// outlier among familiar content cannot carry the quantile. Until a kind has the weight
// of about 20 observations its figure is shrunk toward the model's overall one (but not
// below Initial if its own errors exceed Initial), and Initial weighs like one
// observation of the kind. One observation can raise a kind's margin, hence any
// request's, to at most 1.5 times what it was plus 0.02, and never above Max; margins
// fall as fast as the errors allow.
type Margin struct {
	// Initial is the margin before any observation, and that of content of a kind never
	// observed (default 0.15). As observations accumulate it gives way to the learned
	// margins: it weighs like one observation of each kind, and until the model has 10
	// observations it stands in for the missing ones in the model's overall figure.
	Initial float64
	// Quantile is the share of each kind's requests that must not be underestimated by
	// more than Tolerance (default 0.95).
	Quantile float64
	// Tolerance is the relative underestimate that is accepted (default 0.04: the
	// server corrects its own ITPM charge during the request, and buckets have slack).
	// A negative value means none: the margin then covers the Quantile of all
	// underestimates.
	Tolerance float64
	// Min is the smallest margin (default 0.01).
	Min float64
	// Max is the largest margin (default 1.0, or Initial or Min if larger). New fails
	// if Max is below Initial or Min, or above 10.
	Max float64
}

// OutputPolicy selects the output-token reservation. The zero OutputPolicy reserves
// max_tokens (times n), the worst case.
type OutputPolicy struct {
	// Learned reserves a learned quantile of the model's recent actual output per
	// choice, times (1 + Headroom), capped at max_tokens; until MinSamples outputs have
	// been observed it reserves max_tokens.
	Learned bool
	// Quantile of recent outputs to reserve (default 0.9).
	Quantile float64
	// Headroom is added on top of the quantile (default 0.1).
	Headroom float64
	// MinSamples is the number of observations before the learned value is used
	// (default 20).
	MinSamples int64
}

// ReserveLearned returns an output policy that reserves the q-quantile of the model's
// recent outputs (with the default headroom and minimum sample count).
func ReserveLearned(q float64) OutputPolicy { return OutputPolicy{Learned: true, Quantile: q} }

// Stats are a model's estimation error statistics over its most recent observations
// (at most 128): errors are (estimate − actual)/actual of the InputTokens that were
// issued, margin included, so that positive means over-reserved. The margins are those
// that estimates get now.
type Stats struct {
	// Observations is the number of input observations so far.
	Observations int64
	// Window is the number of recent observations the figures below cover.
	Window int
	// MeanError is the mean relative error (bias).
	MeanError float64
	// MeanAbsError is the mean absolute relative error.
	MeanAbsError float64
	// P95AbsError is the 95th percentile of the absolute relative error.
	P95AbsError float64
	// UnderestimateRate is the fraction of estimates below the actual count.
	UnderestimateRate float64
	// BadUnderestimateRate is the fraction of estimates more than 5% below it.
	BadUnderestimateRate float64
	// Margin is the safety margin of a request with the recent observations' average
	// content mix; Margin.Initial before the first observation.
	Margin float64
	// MaxMargin is the widest margin of any content kind: what a request made entirely
	// of the least certain kind gets. A kind never observed has Margin.Initial.
	MaxMargin float64
	// OutputObservations is the number of output observations so far.
	OutputObservations int64
}

// Option configures an Estimator.
type Option func(*config)

type config struct {
	counter    Counter // nil in heuristic mode
	counterSet bool    // WithCounter was given, to refuse a nil Counter
	output     OutputPolicy
	margin     Margin
	limits     map[string]Limits
}

// A Counter counts the tokens of a text with a vocabulary (package tokencount/bpe
// provides tiktoken's). Its counts should be close to o200k_base's: the priors assume
// so; calibration corrects the rest. It must be safe for concurrent use.
type Counter interface {
	Count(text string) int64
}

// WithCounter counts the text of every request with c as well as with the
// character-class heuristic, into Features.BPETokens, and makes that count the basis of
// the estimate instead of the heuristic's. Calibration still applies, so estimates
// converge to the server's counts. New fails if c is nil. For example, with package
// tokencount/bpe:
//
//	c, err := bpe.Load(bpe.O200K)
//	...
//	e, err := tokencount.New(tokencount.WithCounter(c))
func WithCounter(c Counter) Option {
	return func(cfg *config) { cfg.counter, cfg.counterSet = c, true }
}

// WithOutputPolicy sets the output reservation policy (default: the zero OutputPolicy,
// which reserves max_tokens).
func WithOutputPolicy(p OutputPolicy) Option { return func(c *config) { c.output = p } }

// WithMargin sets the safety margin policy.
func WithMargin(m Margin) Option { return func(c *config) { c.margin = m } }

// WithModelLimits overrides the built-in limits for model IDs that start with prefix
// (the longest matching prefix wins over the built-in table), e.g. to give
// "claude-sonnet-4" a 200k window when the 1M-context beta is not used.
func WithModelLimits(prefix string, l Limits) Option {
	return func(c *config) {
		if c.limits == nil {
			c.limits = map[string]Limits{}
		}
		c.limits[prefix] = l
	}
}

// Stats returns the error statistics of the model's calibration for the provider's
// API. A dated snapshot shares its model's calibration ("claude-sonnet-4-5-20250929"
// is "claude-sonnet-4-5"); a model never estimated has zero Stats.
func (e *Estimator) Stats(provider tier.Provider, model string) Stats {
	e.mu.RLock()
	cal := e.cals[calKey{provider, calibrationKey(model)}]
	e.mu.RUnlock()
	if cal == nil {
		return Stats{}
	}
	return cal.stats()
}
