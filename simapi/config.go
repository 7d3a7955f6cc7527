package simapi

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ratekeeper/ratekeeper/tier"
)

// Limits are the per-minute limits of one model class. A zero field means that dimension
// is not limited. Anthropic classes use RPM, ITPM and OTPM; OpenAI classes use RPM and TPM
// (input plus output tokens).
type Limits struct {
	RPM  int64 // requests per minute
	ITPM int64 // input tokens per minute
	OTPM int64 // output tokens per minute
	TPM  int64 // tokens per minute (OpenAI)
}

// Class is a model class: the models whose IDs start with one of Prefixes share its
// limits (per API key). Among all classes of a provider the longest matching prefix wins;
// a model that matches none is answered with 404, as the real APIs do.
type Class struct {
	Name string
	// Provider is the API that serves the class, and so its route and
	// limits: tier.Anthropic classes are served on /v1/messages and
	// /v1/messages/count_tokens and limited by RPM, ITPM and OTPM;
	// tier.OpenAI classes on /v1/chat/completions, limited by RPM and TPM.
	// It is required.
	Provider tier.Provider
	Prefixes []string
	Limits   Limits
}

// OutputPolicy says how the server charges output tokens against OTPM (Anthropic) or TPM
// (OpenAI).
type OutputPolicy int

const (
	// OutputActual charges only the output actually generated, as it is produced (the
	// 2026 Anthropic documentation). Admission needs at least 1 output token available.
	// It is the zero value.
	OutputActual OutputPolicy = iota
	// OutputReserveMaxTokens reserves max_tokens at admission and refunds the unused part
	// when the response ends (the 2025 Anthropic documentation; OpenAI's "max of
	// max_tokens and the estimate" is close to it).
	OutputReserveMaxTokens
)

// Window is a span of time, as offsets from the server's creation, during which every
// generation request is answered with an overload error. Start is inclusive, End exclusive.
type Window struct {
	Start, End time.Duration
}

// DefaultPerTokenLatency is the generation delay per output token when
// Config.PerTokenLatency is zero.
const DefaultPerTokenLatency = 10 * time.Microsecond

// MaxOutputTokens is the largest max_tokens (or max_completion_tokens) the server accepts.
const MaxOutputTokens = 128_000

// DefaultOpenAIMaxTokens is the output bound used on the OpenAI route when a request sets
// neither max_tokens nor max_completion_tokens.
const DefaultOpenAIMaxTokens = 1024

// Config configures a Server. The zero Config is valid: default classes, full-minute
// buckets, OutputActual, no overload, DefaultPerTokenLatency, seed 0.
type Config struct {
	// Classes are the model classes and their limits. Nil means DefaultClasses().
	Classes []Class

	// Burst sets sub-minute enforcement: every bucket holds limit*Burst/1m (at least 1)
	// and refills continuously at limit per minute. Zero means a full minute (capacity =
	// limit). With Burst = 1s, 60 RPM is enforced as 1 request per second. A request
	// larger than the sub-minute capacity but within the per-minute limit is admitted
	// only when the bucket is full, and drives it into debt; a request larger than the
	// per-minute limit is always refused.
	Burst time.Duration

	// OutputPolicy says how output tokens are charged. The zero value is OutputActual.
	OutputPolicy OutputPolicy

	// MaxConcurrent is the number of generation requests that may be in flight at once,
	// over all keys; one more is answered with an overload error (529 on the Anthropic
	// route, 503 on the OpenAI route). Zero means unlimited.
	MaxConcurrent int

	// OverloadWindows are spans of time during which generation requests are overloaded.
	OverloadWindows []Window

	// OverloadProbability is the chance, in [0, 1], that an otherwise admissible
	// generation request is overloaded. Draws come from an RNG seeded with Seed.
	OverloadProbability float64

	// Seed varies the output lengths and the overload draws. Output lengths depend only on
	// the request body and Seed.
	Seed uint64

	// PerTokenLatency is the generation time per output token. Zero means
	// DefaultPerTokenLatency; a negative value means no delay. All delays are timers, so
	// they are instant inside a testing/synctest bubble.
	PerTokenLatency time.Duration

	// BaseLatency is added once before the first output token. Zero means none.
	BaseLatency time.Duration

	// ExactRemaining turns off the rounding of the anthropic-ratelimit-*-tokens-remaining
	// headers to the nearest thousand (the documented behaviour, and the default).
	ExactRemaining bool

	// SpendLimitedKeys are API keys whose spend limit is exhausted: the Anthropic route
	// answers 429 with error_code enforced_spend_limit_reached and no retry-after; the
	// OpenAI route answers 429 insufficient_quota. See also Server.SetSpendLimited.
	SpendLimitedKeys []string

	// CountTokensRPM limits POST /v1/messages/count_tokens per key, independently of the
	// Messages limits. Zero means unlimited.
	CountTokensRPM int64

	// TextCounter counts the tokens of the text in requests (prompts, roles, tool
	// definitions, documents) on every route; images and PDFs are priced as before. Nil
	// means simtok.CountText. Give another vocabulary (a BPE encoding, say) to measure a
	// client whose estimator counts differently from the server. It must be
	// deterministic and safe for concurrent use.
	TextCounter func(text string) int64

	// BatchRPM limits the calls to the Message Batches endpoints (create, retrieve, list,
	// results, cancel and delete together) per key: one bucket refilled continuously,
	// shaped by Burst like the others. Zero means unlimited.
	BatchRPM int64

	// BatchQueue is how many batch requests one key may have in the processing queue:
	// the items of its batches not yet processed (their request_counts.processing). A
	// create that would take the queue above it is answered 429. Zero means unlimited.
	BatchQueue int64

	// MaxBatchRequests is the most requests one batch may hold. Zero means
	// DefaultMaxBatchRequests.
	MaxBatchRequests int64

	// MaxBatchBytes is the largest batch create body, in bytes; a bigger one is answered
	// 413. Zero means DefaultMaxBatchBytes.
	MaxBatchBytes int64

	// BatchLatency is how long a batch takes to process: its request i of n is processed
	// at created + BatchLatency*(i+1)/n, so request_counts move and the batch ends at
	// created + BatchLatency. Zero means DefaultBatchLatency; a negative value means
	// every request is processed 1ns after creation (the create still answers
	// in_progress). A batch still processing 24 hours after creation expires: its
	// remaining requests end expired.
	BatchLatency time.Duration

	// BatchOutcome decides what becomes of each batch request whose params are valid:
	// submission is 1 the first time this key submitted customID in a batch the server
	// accepted, 2 the second time, and so on. Nil means every such request succeeds.
	// Requests with invalid params always end errored (invalid_request_error, or
	// not_found_error for an unknown model) and are not asked about. It is called when the
	// batch is created, once per request, with no lock held; the outcome shows when the
	// request is processed (a request canceled or expired first ends so instead). It must
	// be safe for concurrent use.
	BatchOutcome func(customID string, submission int) BatchOutcome
}

// DefaultBatchLatency is the processing time of a batch when Config.BatchLatency is zero.
const DefaultBatchLatency = time.Minute

// DefaultMaxBatchRequests is the most requests in one batch when Config.MaxBatchRequests
// is zero: the documented limit.
const DefaultMaxBatchRequests = 100_000

// DefaultMaxBatchBytes is the largest batch create body when Config.MaxBatchBytes is
// zero: the documented 256 MB.
const DefaultMaxBatchBytes = 256_000_000

// DefaultClasses returns the default class table: Anthropic 3.x/4.x classes at Tier 1
// (late-2025 documentation), the 5.x classes at Start (2026), and OpenAI classes at
// roughly Tier 1. It returns a new slice on every call.
func DefaultClasses() []Class {
	a := func(name string, rpm, itpm, otpm int64, prefixes ...string) Class {
		return Class{Name: name, Provider: tier.Anthropic, Prefixes: prefixes, Limits: Limits{RPM: rpm, ITPM: itpm, OTPM: otpm}}
	}
	o := func(name string, rpm, tpm int64, prefixes ...string) Class {
		return Class{Name: name, Provider: tier.OpenAI, Prefixes: prefixes, Limits: Limits{RPM: rpm, TPM: tpm}}
	}
	return []Class{
		a("opus-4", 50, 30_000, 8_000, "claude-opus-4"),
		a("sonnet-4", 50, 30_000, 8_000, "claude-sonnet-4"),
		a("haiku-4", 50, 50_000, 10_000, "claude-haiku-4"),
		a("sonnet-3-7", 50, 20_000, 8_000, "claude-3-7-sonnet"),
		a("haiku-3-5", 50, 50_000, 10_000, "claude-3-5-haiku"),
		a("haiku-3", 50, 50_000, 10_000, "claude-3-haiku"),
		a("opus-5", 1_000, 2_000_000, 400_000, "claude-opus-5"),
		a("sonnet-5", 1_000, 2_000_000, 400_000, "claude-sonnet-5"),
		a("haiku-5", 1_000, 2_000_000, 400_000, "claude-haiku-5"),
		a("fable-5", 1_000, 500_000, 100_000, "claude-fable-5"),
		a("mythos-5", 1_000, 500_000, 100_000, "claude-mythos"),
		o("gpt-4o", 500, 30_000, "gpt-4o"),
		o("gpt-4o-mini", 500, 200_000, "gpt-4o-mini"),
		o("gpt-4.1", 500, 30_000, "gpt-4.1"),
		o("gpt-4.1-mini", 500, 200_000, "gpt-4.1-mini", "gpt-4.1-nano"),
		o("gpt-5", 500, 500_000, "gpt-5", "gpt-6"),
		o("gpt-5-mini", 500, 500_000, "gpt-5-mini", "gpt-5-nano", "gpt-5.4-mini", "gpt-5.4-nano"),
		o("o-series", 500, 30_000, "o1", "o3"),
		o("o4-mini", 1_000, 100_000, "o4-mini", "o3-mini", "o1-mini"),
	}
}

// validate checks c and returns the effective class table.
func (c *Config) validate() ([]Class, error) {
	var errs []error
	classes := c.Classes
	if classes == nil {
		classes = DefaultClasses()
	}
	names := map[string]bool{}
	prefixes := map[string]bool{}
	for i, cl := range classes {
		if cl.Name == "" {
			errs = append(errs, fmt.Errorf("class %d: empty name", i))
		} else if names[cl.Name] {
			errs = append(errs, fmt.Errorf("class %q: duplicate name", cl.Name))
		}
		names[cl.Name] = true
		if cl.Provider != tier.Anthropic && cl.Provider != tier.OpenAI {
			errs = append(errs, fmt.Errorf("class %q: unknown provider %q (want tier.Anthropic or tier.OpenAI)", cl.Name, cl.Provider))
		}
		if len(cl.Prefixes) == 0 {
			errs = append(errs, fmt.Errorf("class %q: no model prefixes", cl.Name))
		}
		for _, p := range cl.Prefixes {
			k := string(cl.Provider) + "/" + p
			if strings.TrimSpace(p) == "" {
				errs = append(errs, fmt.Errorf("class %q: empty prefix", cl.Name))
			} else if prefixes[k] {
				errs = append(errs, fmt.Errorf("class %q: prefix %q used twice", cl.Name, p))
			}
			prefixes[k] = true
		}
		l := cl.Limits
		if l.RPM < 0 || l.ITPM < 0 || l.OTPM < 0 || l.TPM < 0 {
			errs = append(errs, fmt.Errorf("class %q: negative limit", cl.Name))
		}
	}
	if c.Burst < 0 || c.Burst > time.Minute {
		errs = append(errs, fmt.Errorf("burst %v outside [0, 1m]", c.Burst))
	}
	if c.OutputPolicy != OutputActual && c.OutputPolicy != OutputReserveMaxTokens {
		errs = append(errs, fmt.Errorf("unknown output policy %d", int(c.OutputPolicy)))
	}
	if c.MaxConcurrent < 0 {
		errs = append(errs, fmt.Errorf("negative MaxConcurrent %d", c.MaxConcurrent))
	}
	for _, w := range c.OverloadWindows {
		if w.Start < 0 || w.End <= w.Start {
			errs = append(errs, fmt.Errorf("overload window [%v, %v) is empty or negative", w.Start, w.End))
		}
	}
	if !(c.OverloadProbability >= 0 && c.OverloadProbability <= 1) {
		errs = append(errs, fmt.Errorf("overload probability %v outside [0, 1]", c.OverloadProbability))
	}
	if c.BaseLatency < 0 {
		errs = append(errs, fmt.Errorf("negative BaseLatency %v", c.BaseLatency))
	}
	if c.CountTokensRPM < 0 {
		errs = append(errs, fmt.Errorf("negative CountTokensRPM %d", c.CountTokensRPM))
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"BatchRPM", c.BatchRPM}, {"BatchQueue", c.BatchQueue}, {"MaxBatchRequests", c.MaxBatchRequests}, {"MaxBatchBytes", c.MaxBatchBytes}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("negative %s %d", f.name, f.v))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("simapi: invalid config: %w", err)
	}
	return classes, nil
}

// classFor returns the class of model for provider p: the longest matching prefix.
func classFor(classes []Class, p tier.Provider, model string) (*Class, bool) {
	var best *Class
	bestLen := -1
	for i := range classes {
		cl := &classes[i]
		if cl.Provider != p {
			continue
		}
		for _, pre := range cl.Prefixes {
			if len(pre) > bestLen && strings.HasPrefix(model, pre) {
				best, bestLen = cl, len(pre)
			}
		}
	}
	return best, best != nil
}
