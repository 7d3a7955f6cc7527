package ratekeeper_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
)

// The two reference strategies of the macro benchmark, written
// independently of the repository's limiter: a FIFO line under a mutex and
// a condition variable over plain token buckets.

// macroLevel is a token bucket of limit per minute holding at most capacity
// less pending, kept as its level at an instant (at, last): raw(now) is that
// level plus the refill since, not yet capped, so that "full for a while"
// is measurable. pending is output that a server charging it as generated
// has yet to charge: while it is outstanding, the server's bucket cannot
// refill above capacity − pending, since those tokens are still in it.
type macroLevel struct {
	limit, capacity float64 // per minute; limit 0 means not limited
	pending         float64
	at              float64 // the level at last, ≤ capacity − pending
	last            time.Time
}

func newMacroLevel(limit, capacity float64, now time.Time) macroLevel {
	return macroLevel{limit: limit, capacity: capacity, at: capacity, last: now}
}

func (l *macroLevel) raw(now time.Time) float64 {
	return l.at + now.Sub(l.last).Seconds()*l.limit/60
}

// top is the most the level can hold now.
func (l *macroLevel) top() float64 { return l.capacity - l.pending }

// add moves the level to now and adds d (negative to take), capping it as a
// bucket does.
func (l *macroLevel) add(now time.Time, d float64) {
	if l.limit <= 0 {
		return
	}
	l.at = min(l.top(), min(l.top(), l.raw(now))+d)
	l.last = now
}

// addPending moves the level to now and changes pending by d.
func (l *macroLevel) addPending(now time.Time, d float64) {
	if l.limit <= 0 {
		return
	}
	l.at = min(l.top(), l.raw(now))
	l.last = now
	l.pending += d
	l.at = min(l.at, l.top())
}

// macroEpsilon absorbs the rounding of two float computations of one level: a
// cost fits when the level exceeds it by macroEpsilon.
const macroEpsilon = 1e-3

// wait is how long until cost fits (0 if it does now) by the server's rule:
// the level must hold the cost, or be full if the cost is larger than the
// capacity. While pending output keeps the bucket from holding that much,
// it is an hour: the end of a response wakes the line earlier.
func (l *macroLevel) wait(now time.Time, cost float64) time.Duration {
	if l.limit <= 0 {
		return 0
	}
	n := min(cost, l.capacity)
	if n > l.top() {
		return time.Hour
	}
	short := n + macroEpsilon - l.raw(now)
	if short <= 0 {
		return 0
	}
	return max(1, time.Duration(math.Ceil(short/(l.limit/60)*float64(time.Second))))
}

// macroLine is a FIFO of waiting calls: only the head may act, as soon as its
// whole cost fits (fits returns how long until it does, 0 when it does
// now); it is woken by a timer for that instant and by any change that may
// let it go sooner (a refund). Retries may take the head of the line again.
// Its methods hold mu.
type macroLine struct {
	mu      sync.Mutex
	cond    *sync.Cond
	waiting []*int // tickets, head first
}

func newMacroLine() *macroLine {
	l := &macroLine{}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// enter waits for the caller's turn and for fits to report 0, then calls
// take, all under mu. front puts the caller at the head of the line.
func (l *macroLine) enter(front bool, fits func(now time.Time) time.Duration, take func(now time.Time)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	me := new(int)
	if front {
		l.waiting = slices.Insert(l.waiting, 0, me)
	} else {
		l.waiting = append(l.waiting, me)
	}
	for {
		if l.waiting[0] == me {
			now := time.Now()
			d := fits(now)
			if d <= 0 {
				take(now)
				l.waiting = l.waiting[1:]
				l.cond.Broadcast()
				return
			}
			t := time.AfterFunc(d, l.wake)
			l.cond.Wait()
			t.Stop()
			continue
		}
		l.cond.Wait()
	}
}

func (l *macroLine) wake() {
	l.mu.Lock()
	l.cond.Broadcast()
	l.mu.Unlock()
}

// change runs f under mu and wakes the line.
func (l *macroLine) change(f func(now time.Time)) {
	l.mu.Lock()
	f(time.Now())
	l.cond.Broadcast()
	l.mu.Unlock()
}

// macroWithBody gives req a fresh copy of body.
func macroWithBody(req *http.Request, body []byte) *http.Request {
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.ContentLength = int64(len(body))
	return r
}

func macroReadBody(req *http.Request) ([]byte, error) {
	if req.Body == nil {
		return nil, nil
	}
	defer req.Body.Close()
	return io.ReadAll(req.Body)
}

func macroDiscard(res *http.Response) {
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
}

func macroIsMessages(req *http.Request) bool {
	return req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/v1/messages")
}

// macroOnEnd wraps a response body so that f runs once, at its end (EOF) or
// when it is closed, whichever comes first.
type macroOnEnd struct {
	io.ReadCloser
	once sync.Once
	f    func()
}

func (b *macroOnEnd) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.f)
	}
	return n, err
}

func (b *macroOnEnd) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.f)
	return err
}

// macroOracle is the ceiling: it knows the server's exact buckets (sub-minute
// capacity included), every request's true input count (the server's own
// counter) and true output length (the server's own draw), and the
// server's output policy. It sends in arrival order, the head of the line
// as soon as it fits by the server's own rule, and settles at actual when
// the response ends: with OutputReserveMaxTokens it reserves max_tokens and
// gives back the rest; with OutputActual it charges the true output at
// once and, until the response ends, keeps the bucket from refilling above
// what the server's can hold while it generates. After a 529 it pauses the
// line (0.5 s·2ⁿ, capped at 8 s) and retries the same call first; it never
// gives up. It is safe for concurrent use.
type macroOracle struct {
	srv        *simapi.Server
	reserve    bool // the server reserves max_tokens on admission
	line       *macroLine
	rateLimits atomic.Int64 // 429s seen: a bug in the oracle or the harness
	first429   atomic.Value // string: when and why

	// Guarded by line.mu:
	req, in, out macroLevel
	pauseUntil   time.Time
	overloads    int // 529s in a row
}

func newMacroOracle(srv *simapi.Server, cfg simapi.Config, class string) *macroOracle {
	b, _ := srv.Buckets(class)
	now := time.Now()
	lv := func(d simapi.Dimension) macroLevel {
		return newMacroLevel(float64(b[d].Limit), b[d].Capacity, now)
	}
	return &macroOracle{
		srv:     srv,
		reserve: cfg.OutputPolicy == simapi.OutputReserveMaxTokens,
		line:    newMacroLine(),
		req:     lv(simapi.Requests),
		in:      lv(simapi.InputTokens),
		out:     lv(simapi.OutputTokens),
	}
}

type macroOracleCost struct {
	input, output, maxTokens float64
}

// Middleware is the oracle as an anthropic-sdk-go middleware.
func (o *macroOracle) Middleware(req *http.Request, next aoption.MiddlewareNext) (*http.Response, error) {
	if !macroIsMessages(req) {
		return next(req)
	}
	body, err := macroReadBody(req)
	if err != nil {
		return nil, err
	}
	var p struct {
		MaxTokens int64 `json:"max_tokens"`
	}
	_ = json.Unmarshal(body, &p)
	in, err := o.srv.InputTokens(tier.Anthropic, body)
	if err != nil {
		return next(macroWithBody(req, body)) // the server will refuse it
	}
	c := macroOracleCost{input: float64(in), output: float64(o.srv.OutputTokens(req.Header, body, p.MaxTokens)), maxTokens: float64(p.MaxTokens)}
	// The output check and debit: max_tokens reserved, or 1 token checked
	// and the true output charged (and pending until the response ends).
	outCheck, outTake := c.maxTokens, c.maxTokens
	if !o.reserve {
		outCheck, outTake = 1, c.output
	}
	take := func(now time.Time) {
		o.req.add(now, -1)
		o.in.add(now, -c.input)
		o.out.add(now, -outTake)
		if !o.reserve {
			o.out.addPending(now, c.output)
		}
	}
	refund := func(now time.Time) {
		if !o.reserve {
			o.out.addPending(now, -c.output)
		}
		o.req.add(now, 1)
		o.in.add(now, c.input)
		o.out.add(now, outTake)
	}
	for front := false; ; front = true {
		o.line.enter(front, func(now time.Time) time.Duration {
			if now.Before(o.pauseUntil) {
				return o.pauseUntil.Sub(now)
			}
			return max(o.req.wait(now, 1), o.in.wait(now, c.input), o.out.wait(now, outCheck))
		}, take)
		res, err := next(macroWithBody(req, body))
		if err != nil {
			o.line.change(refund)
			return nil, err
		}
		switch res.StatusCode {
		case http.StatusOK:
			o.line.change(func(time.Time) { o.overloads = 0 })
			res.Body = &macroOnEnd{ReadCloser: res.Body, f: func() {
				o.line.change(func(now time.Time) {
					if o.reserve {
						o.out.add(now, c.maxTokens-c.output)
					} else {
						o.out.addPending(now, -c.output)
					}
				})
			}}
			return res, nil
		case 529:
			macroDiscard(res)
			o.line.change(func(now time.Time) {
				refund(now)
				o.overloads++
				o.pauseUntil = now.Add(min(8*time.Second, 500*time.Millisecond<<min(o.overloads-1, 5)))
			})
		case http.StatusTooManyRequests:
			if o.rateLimits.Add(1) == 1 {
				b, _ := io.ReadAll(res.Body)
				o.first429.Store(fmt.Sprintf("at %v, cost %+v: %s", time.Now(), c, b))
			}
			wait, _ := strconv.Atoi(res.Header.Get("retry-after"))
			macroDiscard(res)
			o.line.change(func(now time.Time) {
				refund(now)
				o.pauseUntil = now.Add(time.Duration(max(wait, 1)) * time.Second)
			})
		default:
			o.line.change(refund)
			return res, nil
		}
	}
}

// macroCookbook is the OpenAI cookbook's api_request_parallel_processor.py as a
// middleware: two continuously refilled buckets that start full, one of
// requests per minute and one of tokens per minute; a request costs
// chars/4 of its text plus max_tokens (the cookbook counts the prompt with
// tiktoken; chars/4 is the common stand-in), taken on dispatch and never
// refunded; response headers are never read. Requests go in arrival order
// as soon as the head fits; after a 429 all dispatch pauses until 15 s
// after the last one (the cookbook recognizes a rate-limit error by its
// message or code; here the status says it); a failed attempt (any error)
// is retried ahead of new requests, up to 5 attempts in all. The cookbook
// advises setting its limits at 50–75% of the real ones; the benchmark
// gives it the whole budget, as the other strategies. It is safe for
// concurrent use.
type macroCookbook struct {
	line *macroLine
	// Guarded by line.mu:
	req, tok      macroLevel
	lastRateLimit time.Time
}

// newMacroCookbook budgets rpm requests and tpm tokens per minute.
func newMacroCookbook(rpm, tpm int64) *macroCookbook {
	now := time.Now()
	return &macroCookbook{line: newMacroLine(), req: newMacroLevel(float64(rpm), float64(rpm), now), tok: newMacroLevel(float64(tpm), float64(tpm), now)}
}

const (
	macroCookbookPause       = 15 * time.Second
	macroCookbookMaxAttempts = 5
)

// macroCookbookTokens is chars/4 of the text of a Messages body plus its
// max_tokens.
func macroCookbookTokens(body []byte) float64 {
	var p struct {
		MaxTokens int64           `json:"max_tokens"`
		System    json.RawMessage `json:"system"`
		Messages  []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	_ = json.Unmarshal(body, &p)
	chars := macroTextChars(p.System)
	for _, m := range p.Messages {
		chars += macroTextChars(m.Content)
	}
	return math.Ceil(float64(chars)/4) + float64(p.MaxTokens)
}

// macroTextChars counts the characters of a content field: a string or a list
// of blocks with text.
func macroTextChars(raw json.RawMessage) int {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return utf8.RuneCountInString(s)
	}
	var blocks []struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(raw, &blocks)
	n := 0
	for _, b := range blocks {
		n += utf8.RuneCountInString(b.Text)
	}
	return n
}

// Middleware is the cookbook processor as an anthropic-sdk-go middleware.
func (cb *macroCookbook) Middleware(req *http.Request, next aoption.MiddlewareNext) (*http.Response, error) {
	if !macroIsMessages(req) {
		return next(req)
	}
	body, err := macroReadBody(req)
	if err != nil {
		return nil, err
	}
	cost := macroCookbookTokens(body)
	if cost > cb.tok.capacity {
		// The cookbook would wait for it forever.
		return nil, fmt.Errorf("cookbook: a request of %.0f tokens never fits a budget of %.0f", cost, cb.tok.capacity)
	}
	for attempt := 1; ; attempt++ {
		cb.line.enter(attempt > 1, func(now time.Time) time.Duration {
			if pause := cb.lastRateLimit.Add(macroCookbookPause).Sub(now); !cb.lastRateLimit.IsZero() && pause > 0 {
				return pause
			}
			return max(cb.req.wait(now, 1), cb.tok.wait(now, cost))
		}, func(now time.Time) {
			cb.req.add(now, -1)
			cb.tok.add(now, -cost)
		})
		res, err := next(macroWithBody(req, body))
		failed := err != nil || res.StatusCode >= 400
		if !failed || attempt == macroCookbookMaxAttempts {
			return res, err
		}
		if err == nil {
			if res.StatusCode == http.StatusTooManyRequests {
				cb.line.change(func(now time.Time) { cb.lastRateLimit = now })
			}
			macroDiscard(res)
		}
	}
}
