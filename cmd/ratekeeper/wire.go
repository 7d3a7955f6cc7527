package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// errNotSent is returned by the wire for an attempt it did not send
// because the run is stopping.
var errNotSent = errors.New("not sent: the run is stopping")

// wire is the transport under the Keeper: every attempt it carries is one
// that goes on the network. It counts a request's attempts and their
// answers, and writes the request's journal mark before its first attempt
// leaves (see outFile).
type wire struct {
	base http.RoundTripper
	out  *outFile
	// answered, when set, is told the status of every answer: the
	// progress display counts 429s and 529s from the same place as the
	// records and the summary.
	answered func(status int)
}

// attempts is one request's account of its attempts, carried by its
// context.
type attempts struct {
	id   string
	line int
	// onSend is called when the first attempt leaves.
	onSend func()

	mu          sync.Mutex
	stopping    bool // the run stops: send nothing that has not been sent
	sentAt      time.Time
	n           int
	rateLimited int
	overloaded  int
	tries       []Try
	// spans are the durations of the attempts before the last, up to
	// their response headers; lastStart is when the last attempt began.
	spans     time.Duration
	lastStart time.Time
	lastSpan  time.Duration
}

type attemptsKey struct{}

func withAttempts(ctx context.Context, a *attempts) context.Context {
	return context.WithValue(ctx, attemptsKey{}, a)
}

// stop marks the request as stopping and reports whether it was sent.
func (a *attempts) stop() (sent bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopping = true
	return a.n > 0
}

// onWire is the time the request spent sending and being answered, up to
// done: every attempt's span, the last one up to done.
func (a *attempts) onWire(done time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == 0 {
		return 0
	}
	return a.spans + done.Sub(a.lastStart)
}

func (w *wire) RoundTrip(req *http.Request) (*http.Response, error) {
	a, _ := req.Context().Value(attemptsKey{}).(*attempts)
	if a == nil || strings.HasSuffix(req.URL.Path, "/count_tokens") {
		return w.base.RoundTrip(req) // the Keeper's own calls
	}
	a.mu.Lock()
	if a.n == 0 {
		if a.stopping {
			a.mu.Unlock()
			closeBody(req)
			return nil, errNotSent
		}
		now := time.Now()
		if err := w.out.markSent(a.id, a.line, now); err != nil {
			a.mu.Unlock()
			closeBody(req)
			return nil, err // nothing is sent that the journal does not know of
		}
		if a.onSend != nil {
			a.onSend()
		}
	} else {
		a.spans += a.lastSpan
	}
	a.n++
	start := time.Now()
	if a.n == 1 {
		a.sentAt = start // after the journal's sync: when it goes on the wire
	}
	a.lastStart = start
	a.mu.Unlock()

	resp, err := w.base.RoundTrip(req)

	a.mu.Lock()
	a.lastSpan = time.Since(start)
	try := Try{At: start}
	if resp != nil {
		try.Status = resp.StatusCode
	}
	a.tries = append(a.tries, try)
	if resp != nil {
		switch resp.StatusCode {
		case http.StatusTooManyRequests:
			a.rateLimited++
		case 529, http.StatusServiceUnavailable:
			a.overloaded++
		}
	}
	a.mu.Unlock()
	if resp != nil && w.answered != nil {
		w.answered(resp.StatusCode)
	}
	return resp, err
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
