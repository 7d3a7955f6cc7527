package simapi

import (
	"fmt"
	"sync"
	"time"
)

// Dimension is a quantity the ledger accounts for.
type Dimension int

const (
	// Requests counts admitted generation requests.
	Requests Dimension = iota
	// InputTokens counts input tokens as the server counts them (package simtok), charged
	// at admission.
	InputTokens
	// OutputTokens counts output tokens actually generated, charged as they are produced
	// (whatever the OutputPolicy, which only changes what the buckets reserve).
	OutputTokens
	// Tokens is InputTokens plus OutputTokens (OpenAI's TPM).
	Tokens
)

// String returns "requests", "input_tokens", "output_tokens" or "tokens".
func (d Dimension) String() string {
	switch d {
	case Requests:
		return "requests"
	case InputTokens:
		return "input_tokens"
	case OutputTokens:
		return "output_tokens"
	case Tokens:
		return "tokens"
	}
	return fmt.Sprintf("Dimension(%d)", int(d))
}

// Outcome is how the server answered a request.
type Outcome int

const (
	// Admitted: the request passed admission (200, including streams cut short).
	Admitted Outcome = iota
	// RateLimited: 429 rate_limit_error (Anthropic) or rate_limit_exceeded (OpenAI).
	RateLimited
	// Overloaded: 529 overloaded_error (Anthropic) or 503 (OpenAI).
	Overloaded
	// SpendLimited: 429 enforced_spend_limit_reached (Anthropic) or insufficient_quota
	// (OpenAI).
	SpendLimited
	// Rejected: any other error (400, 401, 404, 405, 413).
	Rejected
)

// Counts are the number of requests per outcome.
type Counts struct {
	Admitted, RateLimited, Overloaded, SpendLimited, Rejected int64
}

// Total is the number of requests counted.
func (c Counts) Total() int64 {
	return c.Admitted + c.RateLimited + c.Overloaded + c.SpendLimited + c.Rejected
}

func (c *Counts) add(o Outcome) {
	switch o {
	case Admitted:
		c.Admitted++
	case RateLimited:
		c.RateLimited++
	case Overloaded:
		c.Overloaded++
	case SpendLimited:
		c.SpendLimited++
	default:
		c.Rejected++
	}
}

// Charge is one entry of usage: Amount of dimension Dim at time At, for API key Key and
// model class Class. Dim is Requests, InputTokens or OutputTokens, never Tokens.
type Charge struct {
	At     time.Time
	Key    string
	Class  string
	Dim    Dimension
	Amount int64
}

type ledgerKey struct{ key, class string }

// Ledger records what the server admitted and refused and the usage it charged. Requests
// refused before their key or class was known are recorded under "" for the unknown part.
// In every query an empty key or class matches all. A Ledger is safe for concurrent use by
// multiple goroutines.
type Ledger struct {
	mu      sync.Mutex
	counts  map[ledgerKey]*Counts
	charges []Charge // in order of At

	batch batchLedger // the Message Batches endpoints, under a lock of its own
}

func newLedger() *Ledger {
	return &Ledger{counts: map[ledgerKey]*Counts{}, batch: newBatchLedger()}
}

func (l *Ledger) outcome(key, class string, o Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := ledgerKey{key, class}
	c := l.counts[k]
	if c == nil {
		c = &Counts{}
		l.counts[k] = c
	}
	c.add(o)
}

// charge records usage now. Taking the time under the lock keeps charges in time order.
func (l *Ledger) charge(key, class string, d Dimension, amount int64) {
	if amount == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.charges = append(l.charges, Charge{At: time.Now(), Key: key, Class: class, Dim: d, Amount: amount})
}

// chargeAt records usage at t, which must not be before the last charge (tests).
func (l *Ledger) chargeAt(t time.Time, key, class string, d Dimension, amount int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.charges = append(l.charges, Charge{At: t, Key: key, Class: class, Dim: d, Amount: amount})
}

func match(c *Charge, key, class string, d Dimension) bool {
	if (key != "" && c.Key != key) || (class != "" && c.Class != class) {
		return false
	}
	return c.Dim == d || (d == Tokens && (c.Dim == InputTokens || c.Dim == OutputTokens))
}

// Counts returns the outcomes recorded for key and class ("" matches all).
func (l *Ledger) Counts(key, class string) Counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	var total Counts
	for k, c := range l.counts {
		if (key == "" || k.key == key) && (class == "" || k.class == class) {
			total.Admitted += c.Admitted
			total.RateLimited += c.RateLimited
			total.Overloaded += c.Overloaded
			total.SpendLimited += c.SpendLimited
			total.Rejected += c.Rejected
		}
	}
	return total
}

// Usage returns the total of dimension d charged for key and class ("" matches all).
func (l *Ledger) Usage(key, class string, d Dimension) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for i := range l.charges {
		if match(&l.charges[i], key, class, d) {
			n += l.charges[i].Amount
		}
	}
	return n
}

// MaxWindowUsage returns the largest total of dimension d charged for key and class ("" matches
// all) within any half-open window [t, t+window) of time. It is exact: charges are
// instantaneous and positive, so the maximum is reached by a window that starts at a
// charge. It returns 0 when window <= 0 or nothing matches.
func (l *Ledger) MaxWindowUsage(key, class string, d Dimension, window time.Duration) int64 {
	if window <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var sel []Charge
	for i := range l.charges {
		if match(&l.charges[i], key, class, d) {
			sel = append(sel, l.charges[i])
		}
	}
	var best, sum int64
	j := 0
	for i := range sel {
		end := sel[i].At.Add(window)
		for j < len(sel) && sel[j].At.Before(end) {
			sum += sel[j].Amount
			j++
		}
		best = max(best, sum)
		sum -= sel[i].Amount
	}
	return best
}

// Charges returns a copy of all charges, in time order.
func (l *Ledger) Charges() []Charge {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Charge(nil), l.charges...)
}

// MinimumTime is the least time in which buckets of the given per-minute
// limits, full at the start, could have let through what key used of class:
// each bucket must regain what was charged beyond its capacity. It is the
// "theoretical minimum" that benchmarks compare wall time with; zero when
// every charge fits a full bucket. It assumes full-minute buckets and a
// server that is always up: under sub-minute enforcement or overload
// windows use MinimumTimeFor, or Server.MinimumTime, which knows both.
func (l *Ledger) MinimumTime(key, class string, limits map[Dimension]int64) time.Duration {
	var floor time.Duration
	for d, limit := range limits {
		if limit <= 0 {
			continue
		}
		used := l.Usage(key, class, d)
		if need := time.Duration(float64(used-limit) / float64(limit) * float64(time.Minute)); need > floor {
			floor = need
		}
	}
	return floor
}
