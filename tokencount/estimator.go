package tokencount

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/ratekeeper/ratekeeper/tier"
)

// Estimate is the pre-send cost of one request. The zero Estimate is empty: Observe
// ignores it.
type Estimate struct {
	Provider tier.Provider // the API whose request format the body follows
	// Model is the request's model ID, as sent.
	Model string
	// InputTokens is the input-token cost to reserve: the calibrated estimate plus the
	// safety margin, rounded up.
	InputTokens int64
	// PointTokens is the calibrated central estimate, without margin.
	PointTokens int64
	// Margin is the relative safety margin applied: InputTokens ≈ PointTokens·(1+Margin).
	// It depends on the request's content (see Margin).
	Margin float64
	// MaxTokens is the request's max_tokens (OpenAI: max_completion_tokens or
	// max_tokens), per choice; 0 when the request sets none.
	MaxTokens int64
	// ThinkingBudget is thinking.budget_tokens (Anthropic); 0 when absent.
	ThinkingBudget int64
	// Choices is the number of completions requested (OpenAI n); 1 otherwise.
	Choices int64
	// OutputReserve is the output-token cost to reserve for all choices, by the
	// Estimator's OutputPolicy; the limiter reconciles it with the actual usage.
	OutputReserve int64
	// OutputExpected is what the model's recent outputs say this request
	// will produce, for all choices: the learned quantile of the
	// OutputPolicy (0.9 and a tenth more unless it says otherwise), capped
	// at max_tokens, or OutputReserve until enough outputs were observed.
	// It is the reservation for a server that charges output as it is
	// generated rather than max_tokens on admission.
	OutputExpected int64
	// MaxInputTokens is the most input the server can count for this request
	// (input, cache writes and cache reads together): the model's context
	// window, or DefaultMaxInputTokens when the window is unknown. A usage
	// report above it cannot be true.
	MaxInputTokens int64
	// MaxOutputTokens is the most output the request can produce over all
	// choices: max_tokens (or the model's default output limit when the
	// request sets none) × Choices. A usage report above it cannot be true.
	MaxOutputTokens int64
	// Stream reports whether the request asks for a streamed response.
	Stream bool
	// BodyBytes is the size of the request body.
	BodyBytes int64
	// Features are the content counts the estimate was computed from; Observe learns
	// from them.
	Features Features
}

// maxModels bounds the number of per-model calibrators an Estimator keeps; requests for
// further models share one calibrator per provider.
const maxModels = 64

// Estimator estimates the token cost of API requests before they are sent and learns
// from the usage that responses report. It is safe for concurrent use by multiple
// goroutines.
type Estimator struct {
	cfg config
	// maxBody is, per provider, the body size above which no model's
	// request can succeed (maxBodyAny), read once: the catalog and the
	// overrides do not change.
	maxBody struct{ anthropic, openAI int64 }

	mu   sync.RWMutex // guards cals
	cals map[calKey]*calibrator
}

type calKey struct {
	provider tier.Provider
	model    string
}

// New returns an Estimator. By default it uses the character-class heuristic (no
// vocabulary is loaded), reserves max_tokens for output, and starts with a 15% margin
// that it never raises above 100%. It fails if a Margin or OutputPolicy field is out of
// range.
func New(opts ...Option) (*Estimator, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.margin.Initial == 0 {
		c.margin.Initial = 0.15
	}
	if c.margin.Quantile == 0 {
		c.margin.Quantile = 0.95
	}
	if c.margin.Min == 0 {
		c.margin.Min = 0.01
	}
	if c.margin.Max == 0 {
		c.margin.Max = max(1, c.margin.Initial, c.margin.Min)
	}
	switch {
	case c.margin.Tolerance == 0:
		c.margin.Tolerance = 0.04
	case c.margin.Tolerance < 0:
		c.margin.Tolerance = 0
	}
	m := c.margin
	if !(m.Initial >= 0 && m.Initial <= 10) || !(m.Quantile > 0 && m.Quantile < 1) || !(m.Min >= 0 && m.Min <= 10) || !(m.Tolerance <= 1) || !(m.Max >= m.Initial && m.Max >= m.Min && m.Max <= 10) {
		return nil, fmt.Errorf("tokencount: invalid margin %+v", m)
	}
	p := &c.output
	if p.Quantile == 0 {
		p.Quantile = 0.9
	}
	if p.Headroom == 0 {
		p.Headroom = 0.1
	}
	if p.MinSamples == 0 {
		p.MinSamples = 20
	}
	if !(p.Quantile > 0 && p.Quantile <= 1) || !(p.Headroom >= 0) || p.MinSamples < 0 {
		return nil, fmt.Errorf("tokencount: invalid output policy %+v", *p)
	}
	for prefix, l := range c.limits {
		if l.ContextWindow < 0 || l.MaxBodyBytes < 0 {
			return nil, fmt.Errorf("tokencount: negative limits for %q", prefix)
		}
	}
	if c.counterSet && c.counter == nil {
		return nil, errors.New("tokencount: WithCounter(nil)")
	}
	e := &Estimator{cfg: c, cals: map[calKey]*calibrator{}}
	e.maxBody.anthropic, e.maxBody.openAI = e.maxBodyAny(tier.Anthropic), e.maxBodyAny(tier.OpenAI)
	return e, nil
}

// EstimateAnthropic estimates a Claude Messages API request body (POST /v1/messages).
// It returns an error matching ErrMalformed for invalid JSON or a body without model,
// messages or max_tokens, and one matching ErrTooLarge (a *TooLargeError) for a body
// above the API's size limit or a request whose input estimate plus max_tokens exceeds
// the model's context window. Unknown content block types are counted as text.
func (e *Estimator) EstimateAnthropic(body []byte) (Estimate, error) {
	return e.estimate(tier.Anthropic, body, true)
}

// EstimateOpenAI estimates an OpenAI Chat Completions request body
// (POST /v1/chat/completions), with the same errors as EstimateAnthropic (max_tokens is
// optional there).
func (e *Estimator) EstimateOpenAI(body []byte) (Estimate, error) {
	return e.estimate(tier.OpenAI, body, true)
}

// estimate estimates a request body of provider p. sizeLimit applies the
// API's request size limit (Limits.MaxBodyBytes) to body; it is off for the
// params of a batch request, which are not a request of their own.
func (e *Estimator) estimate(p tier.Provider, body []byte, sizeLimit bool) (Estimate, error) {
	table, parse, maxBody := modelsOf(p), parseAnthropic, e.maxBody.anthropic
	if p == tier.OpenAI {
		parse, maxBody = parseOpenAI, e.maxBody.openAI
	}
	// The size check needs no parse; the model-specific limit is checked again below.
	if sizeLimit && maxBody > 0 && int64(len(body)) > maxBody {
		return Estimate{}, &TooLargeError{What: WhatBodyBytes, Need: int64(len(body)), Limit: maxBody}
	}
	var r request
	r.text.init(e.cfg.counter)
	if err := parse(body, &r); err != nil {
		return Estimate{}, err
	}
	info := lookupModel(table, r.model)
	limits := e.limits(p, r.model)
	f := r.text.f
	for _, img := range r.images {
		f.ImageTokens += info.image.tokens(img.w, img.h, img.lowDetail)
	}

	est := Estimate{
		Provider:       p,
		Model:          r.model,
		MaxTokens:      r.maxTokens,
		ThinkingBudget: r.thinkingBudget,
		Choices:        r.choices,
		Stream:         r.stream,
		BodyBytes:      int64(len(body)),
		Features:       f,
	}
	if sizeLimit && limits.MaxBodyBytes > 0 && est.BodyBytes > limits.MaxBodyBytes {
		return Estimate{}, &TooLargeError{What: WhatBodyBytes, Model: r.model, Need: est.BodyBytes, Limit: limits.MaxBodyBytes}
	}
	cal := e.calibrator(p, r.model, info)
	x := f.vector()
	point, margin := cal.predict(&x)
	est.PointTokens = satInt(math.Ceil(point))
	est.Margin = margin
	est.InputTokens = satInt(math.Ceil(point * (1 + margin)))
	// Each choice holds the whole prompt and its own output in the window.
	if w := limits.ContextWindow; w > 0 && satAdd(est.PointTokens, est.MaxTokens) > w {
		return Estimate{}, &TooLargeError{What: WhatContextWindow, Model: r.model, Need: satAdd(est.PointTokens, est.MaxTokens), Limit: w}
	}
	est.MaxInputTokens = limits.ContextWindow
	if est.MaxInputTokens == 0 {
		est.MaxInputTokens = DefaultMaxInputTokens
	}
	perChoice := est.MaxTokens
	if perChoice == 0 {
		perChoice = info.defaultMaxOutput
	}
	est.MaxOutputTokens = satMul(perChoice, est.Choices)
	if est.MaxOutputTokens > MaxOutputTokens {
		return Estimate{}, &TooLargeError{What: WhatOutputTokens, Model: r.model, Need: est.MaxOutputTokens, Limit: MaxOutputTokens}
	}
	est.OutputReserve = e.outputReserve(cal, &est, perChoice)
	est.OutputExpected = min(e.outputExpected(cal, &est, perChoice), est.OutputReserve)
	return est, nil
}

// Plausible reports whether a usage report for the request est describes could be
// true: input (the whole prompt, cache reads and writes included) at most
// est.MaxInputTokens and output at most est.MaxOutputTokens. A negative value means
// unknown and counts as plausible. Bounds of zero (an Estimate not made by an
// Estimator) accept anything.
func (est Estimate) Plausible(input, output int64) (inputOK, outputOK bool) {
	inputOK = est.MaxInputTokens <= 0 || input <= est.MaxInputTokens
	outputOK = est.MaxOutputTokens <= 0 || output <= est.MaxOutputTokens
	return inputOK, outputOK
}

// DefaultMaxInputTokens bounds the input of a request to a model whose
// context window the estimator does not know: twice the largest window of
// any model in its tables.
const DefaultMaxInputTokens = 2_000_000

// MaxOutputTokens bounds the output a request may ask for over all its
// choices (max_tokens × n): 2^40, the largest limit any budget can have
// (tier.MaxLimit). A request above it can never fit a budget and fails
// with a *TooLargeError (WhatOutputTokens).
const MaxOutputTokens = 1 << 40

// outputReserve applies the output policy to perChoice, the request's
// output bound per choice.
func (e *Estimator) outputReserve(cal *calibrator, est *Estimate, perChoice int64) int64 {
	pol := e.cfg.output
	if pol.Learned {
		if s := cal.state.Load(); s.outN >= pol.MinSamples {
			perChoice = min(perChoice, int64(math.Ceil(s.outQ*(1+pol.Headroom))))
		}
	}
	return satMul(perChoice, est.Choices)
}

// outputExpected is the learned output of est, as outputReserve computes it
// under a learned policy, with the configured policy's parameters.
func (e *Estimator) outputExpected(cal *calibrator, est *Estimate, perChoice int64) int64 {
	pol := e.cfg.output // its Quantile, Headroom and MinSamples hold the defaults when unset
	if s := cal.state.Load(); s.outN >= pol.MinSamples && s.outN > 0 {
		perChoice = min(perChoice, int64(math.Ceil(s.outQ*(1+pol.Headroom))))
	}
	return satMul(perChoice, est.Choices)
}

// Observe feeds the usage a response reported for a request estimated as est, so that
// later estimates for the same model converge to the server's counts. actualInput is
// the whole prompt as the server counted it — for Anthropic input_tokens +
// cache_creation_input_tokens + cache_read_input_tokens, for OpenAI prompt_tokens —
// and actualOutput the output tokens (all choices); a negative value means unknown and
// is ignored. So is a value that cannot be true, above est.MaxInputTokens or
// est.MaxOutputTokens (see Plausible): one garbage response must not skew every later
// estimate. Observe never blocks on estimates.
func (e *Estimator) Observe(est Estimate, actualInput, actualOutput int64) {
	if est.Provider != tier.Anthropic && est.Provider != tier.OpenAI {
		return
	}
	in, out := est.Plausible(actualInput, actualOutput)
	if !in {
		actualInput = -1
	}
	if !out {
		actualOutput = -1
	}
	cal := e.calibrator(est.Provider, est.Model, lookupModel(modelsOf(est.Provider), est.Model))
	if actualInput > 0 {
		x := est.Features.vector()
		cal.observeInput(&x, est.InputTokens, actualInput)
	}
	if actualOutput >= 0 { // for OutputExpected whatever the policy
		cal.observeOutput(float64(actualOutput)/float64(max(est.Choices, 1)), e.cfg.output.Quantile)
	}
}

// calibrator returns the model's calibrator, creating it on first use.
func (e *Estimator) calibrator(p tier.Provider, model string, info modelInfo) *calibrator {
	k := calKey{p, calibrationKey(model)}
	e.mu.RLock()
	c := e.cals[k]
	e.mu.RUnlock()
	if c != nil {
		return c
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c = e.cals[k]; c != nil {
		return c
	}
	if len(e.cals) >= maxModels {
		k.model = "*"
		if c = e.cals[k]; c != nil {
			return c
		}
	}
	mu, nu := priors(p, info, e.cfg.counter != nil)
	c = newCalibrator(mu, nu, e.cfg.margin)
	e.cals[k] = c
	return c
}

// limits returns the model's limits, with WithModelLimits overrides applied.
func (e *Estimator) limits(p tier.Provider, model string) Limits {
	l, best := tier.RequestLimitsOf(p, model), -1
	for prefix, o := range e.cfg.limits {
		if len(prefix) > best && strings.HasPrefix(model, prefix) {
			l, best = o, len(prefix)
		}
	}
	return l
}

// maxBodyAny is the largest body limit that can apply to any model of the table, so
// that oversized bodies are refused before parsing.
func (e *Estimator) maxBodyAny(p tier.Provider) int64 {
	m := tier.RequestLimitsOf(p, "").MaxBodyBytes // the provider's, for every model
	if m == 0 {
		return 0
	}
	for _, l := range e.cfg.limits {
		if l.MaxBodyBytes == 0 {
			return 0
		}
		m = max(m, l.MaxBodyBytes)
	}
	return m
}
