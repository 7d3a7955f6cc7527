package ratekeeper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ratekeeper/ratekeeper/internal/aimd"
	"github.com/ratekeeper/ratekeeper/internal/usage"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// MiddlewareNext is the rest of a middleware chain; it has the type of
// option.MiddlewareNext in anthropic-sdk-go and openai-go.
type MiddlewareNext = func(*http.Request) (*http.Response, error)

// route says which API a request calls.
type route uint8

const (
	passThrough route = iota
	anthropicMessages
	openAIChat
)

func routeOf(req *http.Request) route {
	if req.Method != http.MethodPost || req.Body == nil || req.Body == http.NoBody {
		return passThrough
	}
	p := strings.TrimSuffix(req.URL.Path, "/")
	switch {
	case strings.HasSuffix(p, "/v1/messages"):
		return anthropicMessages
	case strings.HasSuffix(p, "/chat/completions"):
		return openAIChat
	}
	return passThrough
}

// maxErrorBody bounds what is read of an error response, and
// errorBodyTimeout how long reading it may take: a refusal whose body never
// ends must not hold the call (or its retry) until the context's deadline.
const (
	maxErrorBody     = 1 << 20
	errorBodyTimeout = 10 * time.Second
)

// readErrorBody reads what it can of an error response's body, within
// maxErrorBody and errorBodyTimeout (or until ctx ends: the body is closed
// then, which ends a transport's read), and closes it.
func readErrorBody(ctx context.Context, body io.ReadCloser) []byte {
	timer := time.AfterFunc(errorBodyTimeout, func() { body.Close() })
	stop := context.AfterFunc(ctx, func() { body.Close() })
	b, _ := io.ReadAll(io.LimitReader(body, maxErrorBody))
	timer.Stop()
	stop()
	body.Close()
	return b
}

// Middleware admits each Messages (POST /v1/messages) or Chat Completions
// (POST …/chat/completions) request through the budget of its model, sends
// it, settles the reservation at the usage the response reports (JSON or
// streamed), syncs the budget from the rate-limit headers, and retries
// refusals as RetryPolicy says. Other requests (count_tokens, models,
// batches, files) pass through untouched.
//
// Its type is that of option.Middleware in anthropic-sdk-go and openai-go:
//
//	client := anthropic.NewClient(
//		option.WithMiddleware(keeper.Middleware),
//		option.WithMaxRetries(0), // the Keeper owns retries
//	)
//
// Refusals that no wait or retry can fix come back at once as errors the
// SDK returns as they are (with WithMaxRetries(0)): a *limiter.LimitError
// (ErrTooLarge, or ErrLimited beyond the deadline or max wait), a
// *tokencount.TooLargeError (context window, body size), a
// *tokencount.MalformedError, or an *Error (spend limit, exhausted quota,
// retry-after beyond the ceiling). A response whose retries ran out is
// returned as the server sent it, marked x-should-retry: false so that an
// SDK with retries left does not start over.
//
// A streamed response settles when the caller reads it to the end or
// closes it: always close streams.
func (k *Keeper) Middleware(req *http.Request, next MiddlewareNext) (*http.Response, error) {
	rt := routeOf(req)
	if rt == passThrough {
		return k.passOn(req, next)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("ratekeeper: reading the request body: %w", err)
	}
	var est tokencount.Estimate
	if rt == anthropicMessages {
		est, err = k.est.EstimateAnthropic(body)
	} else {
		est, err = k.est.EstimateOpenAI(body)
	}
	if err != nil {
		return nil, err
	}
	p, err := k.pool(est.Model)
	if err != nil {
		return nil, err
	}
	out := est.OutputReserve
	if p.outActual.Load() {
		out = est.OutputExpected
	}
	c := &call{k: k, req: req, next: next, body: body, rt: rt, est: est, p: p, id: k.calls.Add(1),
		cost: limiter.Cost{Requests: 1, InputTokens: est.InputTokens, OutputTokens: out, Priority: PriorityFrom(req.Context())}}
	p.ramping(time.Now())
	if _, first := k.mapped.LoadAndDelete(est.Model); first {
		k.emit(req.Context(), c.event(Mapped, 0))
	}
	if c.unsure() {
		c.countInput(req.Context())
	}
	return c.run()
}

// Transport returns an http.RoundTripper that applies Middleware to every
// request before base (http.DefaultTransport when nil), for clients other
// than the two SDKs.
func (k *Keeper) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{k, base}
}

type roundTripper struct {
	k    *Keeper
	base http.RoundTripper
}

func (t roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.k.Middleware(req, t.base.RoundTrip)
}

// call is one request through the retry loop.
type call struct {
	k    *Keeper
	req  *http.Request
	next MiddlewareNext
	body []byte
	rt   route
	est  tokencount.Estimate
	p    *pool
	cost limiter.Cost
	// id is the call's Event.CallID.
	id uint64
	// sentGen is the pool's overload pause generation when the attempt in
	// flight was sent.
	sentGen uint64
	// admittedAt and net are the instant the attempt in flight was sent
	// and the pool's net charge then (see sync).
	admittedAt time.Time
	net        [tier.NumDimensions]int64
}

func (c *call) provider() tier.Provider {
	if c.rt == openAIChat {
		return tier.OpenAI
	}
	return tier.Anthropic
}

func (c *call) event(kind EventKind, attempt int) Event {
	return Event{Kind: kind, CallID: c.id, Provider: c.provider(), Model: c.est.Model, Pool: c.p.name, Attempt: attempt}
}

func (c *call) run() (*http.Response, error) {
	k, ctx := c.k, c.req.Context()
	policy := k.retry
	limited, failures := 0, 0
	var h held
	defer func() {
		if h.on {
			if p := recover(); p != nil {
				h.release(c)
				panic(p)
			}
		}
	}()
	for attempt := 1; ; attempt++ {
		res, r, ticket, err := c.attempt(ctx, &attempt, &failures)
		if err != nil {
			return nil, err
		}
		h.hold(ticket, r)
		now := time.Now()
		obs, herr := tier.ParseHeaders(c.provider(), res.Header, now) // bad fields are skipped
		c.distrust(ctx, attempt, &obs, herr, now)
		c.sync(ctx, attempt, &obs, res.StatusCode < 300)
		if res.StatusCode < 300 {
			c.checkTier(ctx, attempt, &obs)
		}

		if res.StatusCode < 300 {
			h.on = false
			c.settleOnRead(res, r, ticket, attempt)
			return res, nil
		}
		errBody := readErrorBody(ctx, res.Body)
		res.Body = io.NopCloser(bytes.NewReader(errBody))
		apiErr, _ := tier.ParseErrorBody(c.provider(), res.StatusCode, errBody)
		retryAfter := obs.RetryAfter
		if !obs.HasRetryAfter && apiErr != nil {
			retryAfter = apiErr.RetryHint
		}
		overloaded := res.StatusCode == 529 || res.StatusCode == http.StatusServiceUnavailable ||
			apiErr != nil && apiErr.Type == "overloaded_error"
		c.refused(r, res.StatusCode, overloaded)
		outcome := aimd.Neutral
		if overloaded {
			outcome = aimd.Overload
		}
		k.gate.Release(ticket, outcome)
		h.on = false

		// A 429's wait is the longest hold the server asked for: its
		// retry-after, or the reset of a dimension it refused.
		rateLimited := res.StatusCode == http.StatusTooManyRequests
		var fz freezePlan
		wait := retryAfter
		if rateLimited {
			fz = c.planFreeze(&obs, apiErr, retryAfter, now)
			wait = max(wait, fz.longest)
		}
		if fatal := c.fatal(res.StatusCode, apiErr, wait, policy); fatal != nil {
			if rateLimited && errors.Is(fatal, ErrRetryAfterTooLong) {
				// The budget learns the refusal, for at most MaxRetryAfter.
				c.freeze(ctx, attempt, &fz)
			}
			e := c.event(Failed, attempt)
			e.Status, e.Err = res.StatusCode, fatal
			k.emit(ctx, e)
			return nil, fatal
		}
		retryable := retryableStatus(res.StatusCode)
		if rateLimited {
			limited++
		} else if retryable {
			failures++
		}
		if !retryable || rateLimited && limited > policy.MaxRateLimited || !rateLimited && failures >= policy.MaxAttempts {
			res.Header.Set("X-Should-Retry", "false")
			if retryable {
				e := c.event(Failed, attempt)
				e.Status = res.StatusCode
				k.emit(ctx, e)
			}
			return res, nil
		}
		e := c.event(Retried, attempt)
		e.Status = res.StatusCode
		var backoff time.Duration
		if rateLimited {
			var enforced bool
			e.Dimension, enforced = c.freeze(ctx, attempt, &fz)
			e.HasDimension = true
			if !enforced {
				backoff = policy.backoff(limited, min(wait, policy.MaxRetryAfter))
			}
		} else if overloaded {
			// The whole pool pauses, not only this call: the next
			// attempts of every call wait for it, holding their slots,
			// so an outage meets one probe per pause, not every call's
			// own retries.
			backoff = c.p.pause(c.sentGen, policy, retryAfter)
			e.Wait = backoff
			k.emit(ctx, e)
			continue
		} else {
			backoff = policy.backoff(failures, retryAfter)
		}
		e.Wait = backoff
		k.emit(ctx, e)
		if err := sleep(ctx, backoff); err != nil {
			return nil, err
		}
	}
}

// distrust drops what the headers say that cannot be right before it
// touches the budget: a reset that is not in the future (a stale or skewed
// clock; the bucket is not "full since" anything we can use). Unparsable
// headers were already left out by the parser. Both are logged at debug.
func (c *call) distrust(ctx context.Context, attempt int, obs *tier.Observation, herr error, now time.Time) {
	if herr != nil {
		c.k.debug(ctx, "ratekeeper: ignored malformed rate-limit headers", c, attempt, slog.String("error", herr.Error()))
	}
	for d := range tier.NumDimensions {
		o := &obs.Dims[d]
		if o.Present && !o.Reset.IsZero() && !o.Reset.After(now) {
			c.k.debug(ctx, "ratekeeper: ignored a reset in the past", c, attempt,
				slog.String("dimension", d.String()), slog.Time("reset", o.Reset))
			o.Reset = time.Time{}
		}
	}
}

// attempt waits for admission and a concurrency slot, then sends, retrying
// connection failures; *n is the attempt number, advanced for each of those
// retries so that events never repeat one. On error the reservation and the
// slot are already released.
func (c *call) attempt(ctx context.Context, n *int, failures *int) (*http.Response, *limiter.Reservation, aimd.Ticket, error) {
	k := c.k
	policy := k.retry
	var h held
	defer func() {
		if h.on {
			if p := recover(); p != nil {
				h.release(c)
				panic(p)
			}
		}
	}()
	for {
		start := time.Now()
		// The overload pause, then a concurrency slot, then the budget: a
		// call holds no budget while it waits for the service or for a
		// slot. Units reserved by a call not yet sent are units the
		// server's bucket may overflow meanwhile: after a two-minute outage
		// the calls admitted behind the pause held 25k output tokens
		// against a bucket of 8k, and the server refused them together.
		if _, err := c.p.paused(ctx); err != nil {
			return nil, nil, aimd.Ticket{}, err
		}
		ticket, err := k.gate.Acquire(ctx)
		if err != nil {
			return nil, nil, aimd.Ticket{}, err
		}
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if k.maxWait > 0 {
			wctx, cancel = context.WithTimeout(ctx, k.maxWait)
		}
		r, err := c.wait(wctx)
		cancel()
		if err != nil {
			k.gate.Release(ticket, aimd.Neutral)
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, nil, aimd.Ticket{}, ctxErr
			}
			e := c.event(Refused, *n)
			var le *limiter.LimitError
			if errors.As(err, &le) {
				e.Dimension, e.HasDimension = le.Dimension, true
			}
			e.Err = err
			k.emit(ctx, e)
			return nil, nil, aimd.Ticket{}, err
		}
		h.hold(ticket, r)
		gen, err := c.p.paused(ctx) // a pause that began meanwhile
		if err != nil {
			h.on = false // never sent: the slot and the whole reservation come back
			k.gate.Release(ticket, aimd.Neutral)
			c.settle(r, nil)
			return nil, nil, aimd.Ticket{}, err
		}
		c.sentGen = gen
		// What the server's counts will be compared with: as of now, when
		// the call goes out (not its admission, which a pause may precede
		// by seconds).
		c.admittedAt = time.Now()
		for d := range c.net {
			c.net[d] = c.p.net[d].Load()
		}
		e := c.event(Admitted, *n)
		e.Wait, e.Cost = time.Since(start), c.cost
		k.emit(ctx, e)

		req := c.req.Clone(ctx)
		req.Body = io.NopCloser(bytes.NewReader(c.body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(c.body)), nil }
		req.ContentLength = int64(len(c.body))
		res, err := c.send(req)
		h.on = false // from here on, every path settles or hands off
		if err == nil {
			return res, r, ticket, nil
		}
		k.gate.Release(ticket, aimd.Neutral)
		if notSent(err) {
			c.settle(r, nil)
		} else {
			// It may have reached the server (a timeout or a cancellation
			// mid-flight usually has): keep the charge.
			c.settle(r, &c.cost)
		}
		*failures++
		if ctx.Err() != nil || *failures >= policy.MaxAttempts {
			return nil, nil, aimd.Ticket{}, err
		}
		e = c.event(Retried, *n)
		e.Err, e.Wait = err, policy.backoff(*failures, 0)
		k.emit(ctx, e)
		if err := sleep(ctx, e.Wait); err != nil {
			return nil, nil, aimd.Ticket{}, err
		}
		*n++
	}
}

// held is what an attempt holds between admission and the hand-off of the
// response: a concurrency slot and a reservation. If the next handler or
// an observer panics meanwhile, release settles them (charging the whole
// reservation, since the request may have gone out) before the panic goes
// on, so that no slot is lost for good.
type held struct {
	on     bool
	ticket aimd.Ticket
	r      *limiter.Reservation
}

func (h *held) hold(t aimd.Ticket, r *limiter.Reservation) { *h = held{true, t, r} }

func (h *held) release(c *call) {
	if h.on {
		h.on = false
		c.k.gate.Release(h.ticket, aimd.Neutral)
		c.settle(h.r, &c.cost)
	}
}

// wait waits in the budget's line for admission. Nothing is debited while
// the call waits, so a 429 that lowers the budget meanwhile simply makes
// the line wait longer: nobody holds a place computed on the old levels.
func (c *call) wait(ctx context.Context) (*limiter.Reservation, error) {
	r, err := c.p.lim.Wait(ctx, c.cost)
	if err == nil {
		c.k.open.Add(1)
		c.p.charge(c.cost.PerDimension(), 1)
	}
	return r, err
}

// giveBack settles a reservation whose slot went unused (the call takes a
// new place in line, or the server refused it with a 429) by keeping its
// whole charge, not by refunding it. A refund adds the cost to the current
// level, but while calls wait in line that level is a debt, and the units
// come back without the capacity bound the server's bucket applies: they
// would have overflowed a small bucket before the next call's turn. With a
// sub-minute capacity (one request) each refund let a later call act at the
// same instant as one already placed, and the server refused one of the
// two. Keeping the charge errs the safe way: the header sync only lowers
// levels, so the unused slot is lost once.
func (c *call) giveBack(r *limiter.Reservation) { c.settle(r, &c.cost) }

// refused settles the reservation of an attempt the server answered with
// an error status, at what the server kept of it:
//
//   - 429: the whole charge stays (giveBack), though Anthropic charged
//     nothing: the safe side while calls wait in line.
//   - An overload (529, 503, overloaded_error) is decided before admission:
//     nothing was charged and everything is refunded — except, for OpenAI,
//     the request, since OpenAI counts unsuccessful requests.
//   - Any other status (4xx, 5xx) came from a server that may have admitted
//     the call and counted its input, but generated nothing: the request
//     and the input stay charged, the output reservation is refunded.
func (c *call) refused(r *limiter.Reservation, status int, overloaded bool) {
	switch {
	case status == http.StatusTooManyRequests:
		c.giveBack(r)
	case overloaded && c.rt == anthropicMessages:
		c.settle(r, nil)
	case overloaded:
		c.settle(r, &limiter.Cost{Requests: c.cost.Requests})
	default:
		c.settle(r, &limiter.Cost{Requests: c.cost.Requests, InputTokens: c.cost.InputTokens})
	}
}

// settle commits r at used, or cancels it (a refund) when used is nil. Every
// reservation the call takes is settled here, exactly once.
func (c *call) settle(r *limiter.Reservation, used *limiter.Cost) {
	c.p.charge(r.Cost().PerDimension(), -1)
	if used == nil {
		r.Cancel()
	} else {
		_ = r.Commit(*used) // used is bounded: it cannot be invalid
		c.p.charge(used.PerDimension(), 1)
	}
	c.k.open.Add(-1)
}

// send calls the rest of the chain. A nil response without an error is a
// broken chain, reported as an error; a response with nil Header or Body
// (hand-built by another middleware) gets empty ones.
func (c *call) send(req *http.Request) (*http.Response, error) {
	res, err := c.next(req)
	switch {
	case err != nil:
		if res != nil && res.Body != nil {
			res.Body.Close()
		}
		return nil, err
	case res == nil:
		return nil, errors.New("ratekeeper: the next handler returned no response and no error")
	}
	if res.Header == nil {
		res.Header = http.Header{}
	}
	if res.Body == nil {
		res.Body = http.NoBody
	}
	return res, nil
}

// retryableStatus reports the statuses worth another attempt: 429 (after
// the budget's wait), 408, 409 and 5xx (after a backoff).
func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500 ||
		status == http.StatusRequestTimeout || status == http.StatusConflict
}

// notSent reports errors that prove the request never left: a failed dial.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// fatal returns the *Error for refusals that no retry fixes, or nil. wait is
// the longest the server asked to wait (retry-after, "try again in", or for
// a 429 the reset of a refused dimension): beyond policy.MaxRetryAfter the
// call fails.
func (c *call) fatal(status int, apiErr *tier.APIError, wait time.Duration, policy RetryPolicy) error {
	e := &Error{Status: status, API: apiErr, RetryAfter: wait}
	switch {
	case apiErr != nil && apiErr.SpendLimit:
		e.Err = ErrSpendLimit
	case apiErr != nil && apiErr.InsufficientQuota:
		e.Err = ErrQuotaExhausted
	case apiErr != nil && apiErr.TooLarge:
		e.Err = ErrRequestTooLarge
	case retryableStatus(status) && wait > policy.MaxRetryAfter:
		e.Err = ErrRetryAfterTooLong
	default:
		return nil
	}
	return e
}

// need is the call's cost in dimension d.
func (c *call) need(d tier.Dimension) int64 { return c.cost.PerDimension()[d] }

// minimalNeed is the least the call can cost in dimension d: its need, with
// the input estimate taken without its safety margin.
func (c *call) minimalNeed(d tier.Dimension) int64 {
	least := c.cost
	least.InputTokens = min(least.InputTokens, c.est.PointTokens)
	return least.PerDimension()[d]
}

// freezePlan is what a 429 asks of the budget: the dimensions to freeze
// and, per dimension, how long nothing may refill (unbounded, as the
// server said it; freeze bounds it).
type freezePlan struct {
	frozen  []tier.Dimension
	hold    [tier.NumDimensions]time.Duration
	longest time.Duration
}

// planFreeze reads a 429: each dimension the headers show short of this
// call's need (or the one the message names, else RPM) may not admit the
// call again before the retry-after, or the dimension's reset when the
// server sent no retry-after or the call is larger than the bucket (it
// needs the server's bucket full). The holds are what the server asked,
// unbounded: the caller compares the longest with MaxRetryAfter.
func (c *call) planFreeze(obs *tier.Observation, apiErr *tier.APIError, retryAfter time.Duration, now time.Time) freezePlan {
	var fz freezePlan
	for d := range tier.NumDimensions {
		o := obs.Dims[d]
		if o.Present && o.Remaining >= 0 && o.Remaining < c.need(d) {
			fz.frozen = append(fz.frozen, d)
		}
	}
	if len(fz.frozen) == 0 && apiErr != nil && apiErr.HasDimension {
		fz.frozen = append(fz.frozen, apiErr.Dimension)
	}
	if len(fz.frozen) == 0 {
		fz.frozen = append(fz.frozen, tier.RPM)
	}
	capacity := c.p.lim.Budget()
	for _, d := range fz.frozen {
		hold := retryAfter
		reset := obs.Dims[d].Reset // in the future, or zero (distrust)
		if hold == 0 && reset.IsZero() {
			hold = c.k.retry.BaseBackoff
		}
		if !reset.IsZero() && (hold == 0 || float64(c.need(d)) > capacity.Capacity(d)) {
			hold = max(hold, reset.Sub(now))
		}
		fz.hold[d] = hold
		fz.longest = max(fz.longest, hold)
	}
	return fz
}

// freeze imposes a 429 on the budget as fz says, each hold bounded by
// RetryPolicy.MaxRetryAfter: after it, exactly this call's need (at most a
// full bucket) is back, so the retry fits then. It returns the first
// dimension frozen, and whether the budget now makes the retry wait (false
// when no frozen dimension is limited by the budget, or the store failed:
// the caller must wait itself).
func (c *call) freeze(ctx context.Context, attempt int, fz *freezePlan) (dim tier.Dimension, enforced bool) {
	capacity := c.p.lim.Budget()
	var clamps [tier.NumDimensions]limiter.ClampTarget
	for _, d := range fz.frozen {
		enforced = enforced || capacity.Limit(d) > 0
		hold := min(fz.hold[d], c.k.retry.MaxRetryAfter)
		need := min(c.need(d), int64(capacity.Capacity(d)))
		clamps[d] = limiter.ClampTarget{Set: true, Remaining: need, Hold: hold}
	}
	if err := c.p.lim.ClampAll(ctx, clamps); err != nil {
		enforced = false
	}
	for _, d := range fz.frozen {
		c.p.cutShare(d)
	}
	c.shrinkBurst(ctx, attempt)
	return fz.frozen[0], enforced
}

// sync imposes the server's view from one response's headers: lower each
// bucket to the remaining the server reports (another client may share the
// key; rounded counts are taken 500 lower), and learn the limits.
//
// ok reports a successful response: only its counts can show other clients
// (a refusal's show the server's view, which the clamp imposes).
func (c *call) sync(ctx context.Context, attempt int, obs *tier.Observation, ok bool) [tier.NumDimensions]limiter.ClampTarget {
	lim := c.p.lim
	b := lim.Budget()
	learned := b
	for d := range tier.NumDimensions {
		o := obs.Dims[d]
		if !o.Present || o.Limit <= 0 || o.Limit == b.Limit(d) || o.Limit > tier.MaxLimit {
			continue
		}
		c.p.mu.Lock()
		conf := c.p.configured.Limit(d)
		c.p.mu.Unlock()
		if c.k.strict && conf > 0 && o.Limit > conf {
			continue
		}
		// A limit this very call could not fit in is not the server's:
		// it would make every later call like it impossible, and no
		// response would come to correct it.
		if floor := c.minimalNeed(d); o.Limit < floor {
			e := c.event(Bounded, attempt)
			e.Dimension, e.HasDimension, e.Limit = d, true, o.Limit
			e.Err = fmt.Errorf("%w: a %v limit of %d, below the %d this call needs: ignored", ErrImplausible, d, o.Limit, floor)
			c.k.emit(ctx, e)
			continue
		}
		v := o.Limit
		learned = learned.WithLimit(d, v)
		if err := learned.Validate(); err != nil {
			learned = learned.WithLimit(d, b.Limit(d))
			continue
		}
		e := c.event(Synced, attempt)
		e.Dimension, e.HasDimension, e.Limit = d, true, v
		c.k.emit(ctx, e)
	}
	if burst, ok := c.learnBurst(obs, learned); ok {
		learned.Burst = burst
		e := c.event(Synced, attempt)
		e.Burst = burst
		c.k.emit(ctx, e)
	}
	if learned != b {
		_ = lim.SetBudget(learned)
	}
	var clamps [tier.NumDimensions]limiter.ClampTarget
	for d := range tier.NumDimensions {
		o := obs.Dims[d]
		if !o.Present || o.Remaining < 0 || learned.Limit(d) == 0 {
			continue
		}
		rem := o.Remaining
		if o.Rounded {
			rem = max(rem-500, 0)
		}
		// The count is as of the server's decision on this call, and the
		// bucket refilled since: the count plus that refill bounds what is
		// left now from above. (What this process sent meanwhile is already
		// off the local level; subtracting it again would count twice the
		// calls sent with this one that the server decided first.)
		refill := float64(learned.Limit(d)) * float64(max(time.Since(c.admittedAt), 0)) / float64(d.Period())
		clamps[d] = limiter.ClampTarget{Set: true, Remaining: rem + int64(refill)}
	}
	var rem *limiter.Remaining
	if ok && time.Since(c.admittedAt) <= freshFor {
		if r, err := lim.Remaining(ctx); err == nil {
			rem = &r
		}
	}
	c.p.learnShare(lim, &clamps, obs, rem)
	if rem != nil && c.rt == anthropicMessages {
		c.learnOutput(ctx, attempt, &clamps, rem)
	}
	_ = lim.ClampAll(ctx, clamps)
	return clamps
}

// freshFor is how soon after its admission a response must come for its
// counts to be evidence of other clients: a count is as of the server's
// decision, and what another client took since cannot be told from the
// refill credited for the interval (headers at a stream's start come in
// time; a long call's at its end do not).
const freshFor = 2 * time.Second

// How the share of a budget shared with clients this process cannot see
// moves (AIMD): each response grows it by shareGrow, up to 1; a 429 cuts it
// by shareCut, at most once per shareCutEvery.
const (
	shareGrow     = 0.002
	shareCut      = 0.9
	shareCutEvery = 2 * time.Second
)

// learnShare moves, per per-minute dimension, the share of the refill
// that the Limiter counts on (Limiter.SetShare), for a key shared with
// clients this process cannot see. Between two corrections by the
// headers, the local bucket refills at the whole rate while the server's
// serves every client: a share of it is what this process may spend.
// Evidence that others take some: a fresh count below the local level
// (the share drops by that gap, as a fraction of the limit), and a 429
// (see cutShare). Each response grows the share back a little, so that
// it returns to the whole when the others stop.
//
// rem is the local levels before the clamp when the response is fresh
// (see freshFor), else nil.
func (p *pool) learnShare(lim *limiter.Limiter, clamps *[tier.NumDimensions]limiter.ClampTarget, obs *tier.Observation, rem *limiter.Remaining) {
	fresh := rem != nil
	b := lim.Budget()
	for d := range tier.TPM + 1 {
		limit := b.Limit(d)
		if !clamps[d].Set || limit == 0 {
			continue
		}
		p.mu.Lock()
		share := p.learned[d]
		p.mu.Unlock()
		if fresh {
			gap := rem.Buckets[d].Level - float64(clamps[d].Remaining)
			if obs.Dims[d].Rounded {
				gap -= 1000 // the count may be 500 either way, and was taken 500 low
			}
			// Estimates and rounding leave gaps of a few percent even
			// without other clients.
			// A bucket smaller than a minute's also reads below the
			// local level until the burst is learned: only under
			// full-minute enforcement is a gap another client.
			p.mu.Lock()
			if gap > foreignGap*float64(limit) && p.burst > 0.5 {
				p.foreignAt = time.Now()
			}
			p.mu.Unlock()
		}
		share = min(max(share+shareGrow, minShare), 1)
		p.mu.Lock()
		p.learned[d] = share
		p.applyShare(d, time.Now())
		p.mu.Unlock()
	}
}

// The output evidence (see learnOutput) is averaged with weight
// outputWeight per response; it switches the reservation to the expected
// output above outputToActual and back to max_tokens below
// outputToReserved (the safe side takes less evidence).
const (
	outputWeight     = 0.1
	outputToActual   = 0.5
	outputToReserved = 0.3
)

// learnOutput tells from fresh responses whether the server charges
// output tokens at max_tokens on admission (the 2025 documentation) or
// only as they are generated (2026), and makes the pool reserve
// accordingly: max_tokens, or the output the model's recent responses
// say to expect (tokencount.Estimate.OutputExpected). The evidence is the
// server's output-token count as of its decision on this call against the
// local level, as a fraction of the call's reservation: charged at
// admission, the reservation is in both, and the fraction is about 0;
// charged as generated, the server has not taken it yet, and the fraction
// is about 1 or more. Counts rounded to the thousand make one response
// noise for calls of a few hundred tokens: the fractions are averaged.
func (c *call) learnOutput(ctx context.Context, attempt int, clamps *[tier.NumDimensions]limiter.ClampTarget, rem *limiter.Remaining) {
	reserved := c.cost.OutputTokens
	if !clamps[tier.OTPM].Set || reserved < 16 {
		return
	}
	diff := float64(clamps[tier.OTPM].Remaining) - rem.Buckets[tier.OTPM].Level
	x := min(max(diff/float64(reserved), -2), 2) // one wild count moves the average a little
	p := c.p
	p.mu.Lock()
	if p.burst <= 0.5 {
		// Under sub-minute enforcement the local capacity is learned from
		// above and below, and the counts differ from the local level by
		// that too: no evidence either way.
		p.mu.Unlock()
		return
	}
	p.outEvidence += outputWeight * (x - p.outEvidence)
	was := p.outActual.Load()
	now := was
	switch {
	case p.outEvidence >= outputToActual:
		now = true
	case p.outEvidence <= outputToReserved:
		now = false
	}
	p.outActual.Store(now)
	p.mu.Unlock()
	if now != was {
		c.k.debug(ctx, "ratekeeper: output tokens are charged "+map[bool]string{true: "as generated", false: "at max_tokens"}[now]+
			"; reserving accordingly", c, attempt)
	}
}

// cutShare answers a 429 on dimension d: more was sent than the server's
// bucket held, so others take more of it than the share leaves them — if
// others were seen within foreignFor (a 429 alone may be a bucket smaller
// than a minute's, which the burst learning answers).
func (p *pool) cutShare(d tier.Dimension) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if d >= tier.NumDimensions || now.Sub(p.cutAt[d]) < shareCutEvery || p.foreignAt.IsZero() || now.Sub(p.foreignAt) > foreignFor {
		return
	}
	p.cutAt[d] = now
	p.foreignAt = now // under saturation the counts read 0 and show no gap: the 429s are the evidence
	p.learned[d] = max(p.learned[d]*shareCut, minShare)
	p.applyShare(d, now)
}

// applyShare sets the Limiter's share of dimension d: the learned share
// (other clients) times the ramp (WithRampUp) at now. p.mu is held.
func (p *pool) applyShare(d tier.Dimension, now time.Time) {
	share := p.learned[d] * p.rampAt(now)
	if math.Abs(share-p.lim.Share(d)) > 1e-3 || share == 1 && p.lim.Share(d) != 1 {
		_ = p.lim.SetShare(d, max(share, 1e-3))
	}
}

// rampAt is the ramp's factor at now: from rampStart at the pool's birth
// to 1 after the ramp (1 without one).
func (p *pool) rampAt(now time.Time) float64 {
	if p.ramp <= 0 {
		return 1
	}
	return min(1, rampStart+(1-rampStart)*float64(now.Sub(p.born))/float64(p.ramp))
}

// rampStart is the share of its budget a pool starts with under
// WithRampUp.
const rampStart = 0.1

// ramping moves the ramp forward for a call: while it lasts, every call
// updates the shares (no goroutine does).
func (p *pool) ramping(now time.Time) {
	if p.ramp <= 0 || p.rampDone.Load() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for d := range tier.TPM + 1 {
		if p.lim.Budget().Limit(d) > 0 {
			p.applyShare(d, now)
		}
	}
	if now.Sub(p.born) >= p.ramp {
		p.rampDone.Store(true)
	}
}

// A gap above foreignGap of the limit is evidence of another client;
// it is taken as such for foreignFor.
const (
	foreignGap = 0.05
	foreignFor = 5 * time.Minute
)

// minShare is the least share of a budget learnShare leaves a process.
const minShare = 0.2

// learnBurst bounds the server's bucket capacity from one response: the
// bucket is full again at reset, so it holds at most remaining + limit ×
// (reset − now) / 1m (reset is rounded up and a rounded remaining may be 500
// low, so this is an upper bound). When the smallest bound seen is well
// under a minute's worth, the server enforces its per-minute limits over a
// shorter interval: the budget's Burst follows it down, so that the Keeper
// stops sending bursts the server refuses. Dimensions are assumed to share
// one enforcement interval, so the tightest dimension's bound is used (token
// counts, rounded to the thousand, bound it loosely). It returns the new
// Burst, if any.
func (c *call) learnBurst(obs *tier.Observation, b tier.Budget) (time.Duration, bool) {
	now := time.Now()
	bound := 0.0
	for d := range tier.TPM + 1 {
		o := obs.Dims[d]
		if !o.Present || o.Limit <= 0 || o.Remaining < 0 || o.Reset.IsZero() || b.Limit(d) == 0 {
			continue
		}
		rem := float64(o.Remaining)
		if o.Rounded {
			rem += 500
		}
		est := (rem + float64(o.Limit)*max(o.Reset.Sub(now), 0).Minutes()) / float64(o.Limit)
		if bound == 0 || est < bound {
			bound = est
		}
	}
	if bound <= 0 {
		return 0, false
	}
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.burst = min(p.burst, bound)
	return p.burstFor(b)
}

// shrinkBurst answers a 429 under sub-minute enforcement: the headers only
// bound the server's capacity from above (whole-second resets, rounded
// counts), so each 429 shrinks the learned burst by a quarter until the
// server stops refusing. Under full-minute enforcement it does nothing.
func (c *call) shrinkBurst(ctx context.Context, attempt int) {
	p := c.p
	b := p.lim.Budget()
	p.mu.Lock()
	if p.burst > 0.5 {
		p.mu.Unlock()
		return
	}
	p.burst *= 0.75
	burst, ok := p.burstFor(b)
	p.mu.Unlock()
	if ok {
		b.Burst = burst
		if p.lim.SetBudget(b) == nil {
			e := c.event(Synced, attempt)
			e.Burst = burst
			c.k.emit(ctx, e)
		}
	}
}

// burstFor returns the Burst that p.burst calls for, if it is below b's;
// p.mu is held.
func (p *pool) burstFor(b tier.Budget) (time.Duration, bool) {
	current := b.Burst
	if current == 0 {
		current = time.Minute
	}
	if p.burst > 0.5 {
		return 0, false
	}
	burst := time.Duration(math.Ceil(p.burst*600)) * 100 * time.Millisecond // to 0.1 s, rounded up
	// Every per-minute bucket must still hold one unit.
	for d := range tier.TPM + 1 {
		if l := b.Limit(d); l > 0 {
			burst = max(burst, time.Duration(math.Ceil(float64(time.Minute)/float64(l))))
		}
	}
	if burst >= current {
		return 0, false
	}
	return burst, true
}

// settleOnRead wraps a successful response's body so that the reservation
// settles at the reported usage, the estimator learns, and the concurrency
// slot is released, once the body has been read or closed.
func (c *call) settleOnRead(res *http.Response, r *limiter.Reservation, ticket aimd.Ticket, attempt int) {
	kind := usage.AnthropicJSON
	stream := strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream")
	switch {
	case c.rt == anthropicMessages && stream:
		kind = usage.AnthropicSSE
	case c.rt == openAIChat && stream:
		kind = usage.OpenAISSE
	case c.rt == openAIChat:
		kind = usage.OpenAIJSON
	}
	ctx := context.WithoutCancel(c.req.Context())
	res.Body = usage.NewReader(res.Body, kind, func(u usage.Usage, _ error) {
		used, whole, implausible := c.used(u)
		c.settle(r, &used)
		if u.Input {
			out := int64(-1)
			if u.Final {
				out = u.OutputTokens
			}
			c.k.est.Observe(c.est, whole, out) // ignores what cannot be true
		}
		outcome := aimd.Success
		if u.ErrorType == "overloaded_error" {
			outcome = aimd.Overload
		} else {
			c.p.recovered()
		}
		c.k.gate.Release(ticket, outcome)
		if implausible != nil {
			e := c.event(Bounded, attempt)
			e.Cost, e.Err = used, implausible
			c.k.emit(ctx, e)
		}
		e := c.event(Settled, attempt)
		e.Cost, e.Reserved = used, r.Cost()
		c.k.emit(ctx, e)
	})
}

// used is what a response's usage says the call cost, as the budget counts
// it, with the whole input the server counted (for the estimator). A
// figure above what the request could have cost (input beyond the model's
// context window, output beyond max_tokens × n) is charged at that bound
// instead, and reported in the error.
func (c *call) used(u usage.Usage) (used limiter.Cost, whole int64, implausible error) {
	// Each count is at most MaxLimit (2^40), so sums cannot overflow.
	in, out := min(u.InputTokens, tier.MaxLimit), min(u.OutputTokens, tier.MaxLimit)
	created, read := min(u.CacheCreationInputTokens, tier.MaxLimit), min(u.CacheReadInputTokens, tier.MaxLimit)
	used = c.cost
	if u.Input {
		used.InputTokens = in
		whole = in
		if c.rt == anthropicMessages {
			used.InputTokens += created
			if c.p.cacheReads {
				used.InputTokens += read
			}
			whole += created + read
		}
	}
	if u.Final {
		used.OutputTokens = out
	} else {
		used.OutputTokens = max(used.OutputTokens, out)
	}
	inOK, outOK := c.est.Plausible(whole, used.OutputTokens)
	if !inOK {
		used.InputTokens = min(used.InputTokens, c.est.MaxInputTokens)
		implausible = fmt.Errorf("%w: %d input tokens reported for a request of at most %d (charged at the bound, not learned)",
			ErrImplausible, whole, c.est.MaxInputTokens)
	}
	if !outOK {
		e := fmt.Errorf("%w: %d output tokens reported for a request of at most %d (charged at the bound, not learned)",
			ErrImplausible, used.OutputTokens, c.est.MaxOutputTokens)
		used.OutputTokens = c.est.MaxOutputTokens
		implausible = errors.Join(implausible, e)
	}
	return used, whole, implausible
}

// paused waits out the pool's overload pause, if one is on, and returns
// the pause generation the attempt is sent in.
func (p *pool) paused(ctx context.Context) (uint64, error) {
	for {
		p.mu.Lock()
		until, gen := p.pauseUntil, p.pauseGen
		p.mu.Unlock()
		d := time.Until(until)
		if d <= 0 {
			return gen, nil
		}
		if err := sleep(ctx, d); err != nil {
			return 0, err
		}
	}
}

// pause answers an overload met by an attempt sent in generation gen: the
// pool pauses for the policy's backoff after the overloads in a row (at
// least retryAfter), counted once per pause, so that the calls in flight
// when the service went down do not escalate it together. It returns the
// pause from now.
func (p *pool) pause(gen uint64, policy RetryPolicy, retryAfter time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if gen == p.pauseGen {
		p.overloads++
		p.pauseGen++
		until := now.Add(policy.backoff(p.overloads, retryAfter))
		if until.After(p.pauseUntil) {
			p.pauseUntil = until
		}
	} else if until := now.Add(retryAfter); until.After(p.pauseUntil) {
		p.pauseUntil = until
	}
	return max(p.pauseUntil.Sub(now), 0)
}

// recovered ends the run of overloads: the service answered.
func (p *pool) recovered() {
	p.mu.Lock()
	p.overloads = 0
	p.mu.Unlock()
}
