package simapi

import (
	"context"
	"time"

	"github.com/ratekeeper/ratekeeper/tier"
)

// admission is an admitted generation request.
type admission struct {
	key   string
	class *Class
	input int64
	// reserved is the output reserved in the OTPM (Anthropic) or TPM (OpenAI) bucket
	// under OutputReserveMaxTokens.
	reserved int64
	// choices is the number of completions generated in parallel (OpenAI n); every
	// generated token is charged this many times.
	choices int64
}

// refusal says why a request was not admitted.
type refusal struct {
	outcome Outcome
	dim     string        // the bucket that needs the longest wait, for messages
	limit   int64         // its per-minute limit
	level   int64         // its remaining budget
	need    int64         // what the request needed from it
	wait    time.Duration // until every bucket could take the request
}

// stateLocked returns the buckets of (key, class), created full on first use and
// advanced to now. s.mu must be held.
func (s *Server) stateLocked(key string, cl *Class, now time.Time) *keyState {
	k := ledgerKey{key, cl.Name}
	st := s.buckets[k]
	if st == nil {
		l := cl.Limits
		st = &keyState{
			req: newBucket(l.RPM, s.cfg.Burst, now),
			in:  newBucket(l.ITPM, s.cfg.Burst, now),
			out: newBucket(l.OTPM, s.cfg.Burst, now),
			tok: newBucket(l.TPM, s.cfg.Burst, now),
		}
		s.buckets[k] = st
	}
	st.req.advance(now)
	st.in.advance(now)
	st.out.advance(now)
	st.tok.advance(now)
	return st
}

// overloadedLocked reports whether a new generation request is overloaded now.
// s.mu must be held.
func (s *Server) overloadedLocked(now time.Time) bool {
	since := now.Sub(s.created)
	for _, w := range s.cfg.OverloadWindows {
		if since >= w.Start && since < w.End {
			return true
		}
	}
	if s.cfg.MaxConcurrent > 0 && s.inflight >= s.cfg.MaxConcurrent {
		return true
	}
	return s.cfg.OverloadProbability > 0 && s.rng.Float64() < s.cfg.OverloadProbability
}

// admit runs admission for a generation request of input tokens and at most maxOut output
// tokens: overload first, then every bucket, all or nothing. A refusal charges nothing.
func (s *Server) admit(key string, cl *Class, input, maxOut, choices int64) (*admission, *refusal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.spend[key] {
		return nil, &refusal{outcome: SpendLimited}
	}
	if s.overloadedLocked(now) {
		return nil, &refusal{outcome: Overloaded}
	}
	st := s.stateLocked(key, cl, now)
	reserve := int64(0)
	if s.cfg.OutputPolicy == OutputReserveMaxTokens {
		reserve = maxOut * choices
	}
	type step struct {
		b          *bucket
		check      int64 // what must fit
		take       int64 // what is debited
		name, unit string
	}
	var steps []step
	if cl.Provider == tier.Anthropic {
		outCheck := reserve
		if reserve == 0 {
			outCheck = 1
		}
		steps = []step{
			{&st.req, 1, 1, "requests", "requests per minute"},
			{&st.in, input, input, "input_tokens", "input tokens per minute"},
			{&st.out, outCheck, reserve, "output_tokens", "output tokens per minute"},
		}
	} else {
		steps = []step{
			{&st.req, 1, 1, "requests", "requests per min (RPM)"},
			{&st.tok, input + reserve, input + reserve, "tokens", "tokens per min (TPM)"},
		}
	}
	var ref *refusal
	for _, sp := range steps {
		ok, wait, _ := sp.b.check(float64(sp.check))
		if ok {
			continue
		}
		if ref == nil || wait > ref.wait {
			ref = &refusal{outcome: RateLimited, dim: sp.unit, limit: int64(sp.b.limit),
				level: sp.b.remaining(), need: sp.check, wait: wait}
		}
	}
	if ref != nil {
		return nil, ref
	}
	for _, sp := range steps {
		sp.b.take(float64(sp.take))
	}
	s.inflight++
	s.ledger.charge(key, cl.Name, Requests, 1)
	s.ledger.charge(key, cl.Name, InputTokens, input)
	return &admission{key: key, class: cl, input: input, reserved: reserve, choices: choices}, nil
}

// produce charges n generated output tokens per choice.
func (s *Server) produce(a *admission, n int64) {
	if n <= 0 {
		return
	}
	n *= a.choices
	s.ledger.charge(a.key, a.class.Name, OutputTokens, n)
	if a.reserved > 0 {
		return // already reserved
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stateLocked(a.key, a.class, time.Now())
	if a.class.Provider == tier.Anthropic {
		st.out.take(float64(n))
	} else {
		st.tok.take(float64(n))
	}
}

// finish settles an admitted request that produced output tokens per choice: the unused
// reservation is refunded.
func (s *Server) finish(a *admission, produced int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if unused := a.reserved - produced*a.choices; unused > 0 {
		st := s.stateLocked(a.key, a.class, time.Now())
		if a.class.Provider == tier.Anthropic {
			st.out.give(float64(unused))
		} else {
			st.tok.give(float64(unused))
		}
	}
}

// generate produces n output tokens for a, step by step, sleeping the configured latency
// before each step and calling emit (if not nil) after it. It returns the tokens produced,
// which is less than n if ctx ends or emit fails.
func (s *Server) generate(ctx context.Context, a *admission, n int64, emit func(k int64) error) int64 {
	if !sleep(ctx, s.cfg.BaseLatency) {
		return 0
	}
	var done int64
	step := chunkTokens(n)
	for done < n {
		k := min(step, n-done)
		if !sleep(ctx, time.Duration(k)*s.latency) {
			return done
		}
		s.produce(a, k)
		done += k
		if emit != nil {
			if err := emit(k); err != nil {
				return done
			}
		}
	}
	return done
}
