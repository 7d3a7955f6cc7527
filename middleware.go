package ratekeeper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// MiddlewareNext is the rest of a middleware chain; it has the type of
// option.MiddlewareNext in anthropic-sdk-go and openai-go.
type MiddlewareNext = func(*http.Request) (*http.Response, error)

// maxErrorBody bounds what is read of an error response (what
// tier.ParseErrorBody reads), and errorBodyTimeout how long reading it may
// take: a refusal whose body never ends must not hold the call (or its
// retry) until the context's deadline.
const (
	maxErrorBody     = tier.MaxErrorBody
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
// refusals as RetryPolicy says.
//
// Other requests are not budgeted by tokens; they are sent as they are,
// with the same retries (a 429 waits its retry-after, an overload backs
// off), and some wait for a budget of their own first:
//
//   - count_tokens (POST …/v1/messages/count_tokens) waits for the
//     count_tokens budget (WithCountTokens);
//   - every Message Batches call (create, list, retrieve, results, cancel,
//     delete: any path under …/v1/messages/batches) waits for the batch
//     budget (WithBatchRPM, by default the tier's batch RPM). A create body
//     is first checked and estimated (tokencount.EstimateAnthropicBatch): a
//     batch the API would refuse is not sent, and comes back at once as a
//     *tokencount.BatchItemError naming the bad request's index and
//     custom_id (wrapping a *tokencount.MalformedError or
//     *tokencount.TooLargeError), or as one of those for the whole body
//     (no requests, more than 100,000, above 256 MB). A batch's tokens are
//     not charged to the Messages budgets: the API processes batches under
//     limits of their own;
//   - models, files and anything else pass through.
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
// *tokencount.MalformedError, a *tokencount.BatchItemError (a request of a
// batch), or an *Error (spend limit, exhausted quota, retry-after beyond
// the ceiling). A response whose retries ran out is
// returned as the server sent it, marked x-should-retry: false so that an
// SDK with retries left does not start over.
//
// A streamed response settles when the caller reads it to the end or
// closes it: always close streams.
func (k *Keeper) Middleware(req *http.Request, next MiddlewareNext) (*http.Response, error) {
	switch rt := routeOf(req); rt.endpoint {
	case messages:
		c, err := k.price(req, next, rt)
		if err != nil {
			return nil, err
		}
		return c.run()
	case batchCreate:
		return k.createBatch(req, next, rt)
	default:
		return k.passOn(req, next, rt)
	}
}

// price reads a budgeted request's body, estimates what it costs and finds
// the pool of its model: the call, ready to run. An input estimate that is
// unsure is counted by the server first (see countInput).
func (k *Keeper) price(req *http.Request, next MiddlewareNext, rt route) (*call, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("ratekeeper: reading the request body: %w", err)
	}
	var est tokencount.Estimate
	if rt.provider == tier.Anthropic {
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
	p.ramping(req.Context(), time.Now())
	if k.unannounced.Load() > 0 {
		if _, first := k.mapped.LoadAndDelete(est.Model); first {
			k.unannounced.Add(-1)
			c.emit(req.Context(), c.event(Mapped, 0))
		}
	}
	if c.unsure() {
		c.countInput(req.Context())
	}
	return c, nil
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
	// sentAt is when the attempt in flight was sent: the server's counts
	// in its response are as of about then (see sync).
	sentAt time.Time
	// held is what the attempt in flight holds (see releaseOnPanic).
	held held
}

func (c *call) event(kind EventKind, attempt int) Event {
	return Event{Kind: kind, CallID: c.id, Provider: c.rt.provider, Model: c.est.Model, Pool: c.p.name, Attempt: attempt}
}

// run sends the call through the retry loop: every attempt is admitted
// and sent, its response synced and, if refused, settled (try); decide
// says what follows, and act does it.
func (c *call) run() (*http.Response, error) {
	defer c.releaseOnPanic()
	return c.k.retry.loop(c.req.Context(), c, budgeted)
}

// try makes attempt n: admission, the send, and what the reply says. A
// success stays held (the slot and the reservation) until act hands it
// over; what a refusal or a failed connection holds is settled here.
func (c *call) try(ctx context.Context, n int) (reply, error) {
	if err := c.admit(ctx, n); err != nil {
		return reply{}, err
	}
	res, err := c.send(c.request(ctx))
	if err != nil {
		c.unanswered(err)
		return reply{err: err, ended: ctx.Err() != nil}, nil
	}
	return c.read(ctx, n, res), nil
}

// read syncs the budget from attempt n's response headers and, for a
// refusal, reads its error body, settles the attempt at what the server
// kept of it and releases its slot; for a 429 it plans the freeze.
func (c *call) read(ctx context.Context, n int, res *http.Response) reply {
	rp := reply{res: res, at: time.Now()}
	obs, herr := tier.ParseHeaders(c.rt.provider, res.Header, rp.at) // bad fields are skipped
	c.distrust(ctx, n, &obs, herr, rp.at)
	ok := res.StatusCode < 300
	c.sync(ctx, n, &obs, ok)
	if ok {
		c.checkTier(ctx, n, &obs)
		return rp
	}
	errBody := readErrorBody(ctx, res.Body)
	res.Body = io.NopCloser(bytes.NewReader(errBody))
	rp.apiErr, _ = tier.ParseErrorBody(c.rt.provider, res.StatusCode, errBody)
	rp.wait, rp.overloaded = retryAfter(&obs, rp.apiErr), overloaded(res.StatusCode, rp.apiErr)
	c.refused(res.StatusCode, rp.overloaded)
	if res.StatusCode == http.StatusTooManyRequests {
		// A 429's wait is the longest hold the server asked for: its
		// retry-after, or the reset of a dimension it refused.
		rp.plan = c.planFreeze(&obs, &rp)
		rp.wait = max(rp.wait, rp.plan.longest)
	}
	return rp
}

// act does what d asks of the call after attempt n: hands a success over
// (settled when its body is read), imposes a freeze, pauses the pool, and
// reports the attempt's end (Failed) or its retry (Retried).
func (c *call) act(ctx context.Context, n int, rp reply, d decision) decision {
	switch d.verdict {
	case respond:
		if rp.res.StatusCode < 300 {
			ticket, r := c.held.take()
			c.settleOnRead(rp.res, r, ticket, n)
		}
	case exhausted:
		e := c.event(Failed, n)
		e.Status = rp.res.StatusCode
		c.emit(ctx, e)
	case fail:
		if rp.res == nil {
			break // the connection's failure, returned as it is
		}
		if d.freeze {
			c.freeze(ctx, n, &rp.plan)
		}
		e := c.event(Failed, n)
		e.Status, e.Err = rp.res.StatusCode, d.err
		c.emit(ctx, e)
	case retry:
		e := c.event(Retried, n)
		if rp.res != nil {
			e.Status = rp.res.StatusCode
		} else {
			e.Err = rp.err
		}
		switch {
		case d.freeze:
			var enforced bool
			e.Dimension, enforced = c.freeze(ctx, n, &rp.plan)
			e.HasDimension = true
			if enforced {
				d.wait = 0 // the retry waits in the budget's line
			}
		case d.pause:
			d.wait = c.p.pause(c.sentGen, c.k.retry, d.wait)
		}
		e.Wait = d.wait
		c.emit(ctx, e)
	}
	return d
}

// request is the call's request for one attempt, with its own copy of the
// body.
func (c *call) request(ctx context.Context) *http.Request {
	req := c.req.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(c.body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(c.body)), nil }
	req.ContentLength = int64(len(c.body))
	return req
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
