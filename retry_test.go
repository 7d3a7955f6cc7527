package ratekeeper

// What the retry loop decides, pinned reply by reply for both kinds of
// call: a budgeted Messages call and a call passed on (models, files,
// count_tokens). They pin today's behaviour, so that the one loop both go
// through keeps it, differences included.

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// step is one scripted answer of the next handler: a status (0: the
// connection failed with err) and a Retry-After in seconds ("" for none).
type step struct {
	status     int
	retryAfter string
	body       string
	err        error
}

var (
	dialFailed = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	cut        = io.ErrUnexpectedEOF // after the request went out
)

const (
	overloadBody = `{"type":"error","error":{"type":"overloaded_error","message":"x"}}`
	limitBody    = `{"type":"error","error":{"type":"rate_limit_error","message":"x"}}`
	apiErrBody   = `{"type":"error","error":{"type":"api_error","message":"x"}}`
	invalidBody  = `{"type":"error","error":{"type":"invalid_request_error","message":"x"}}`
)

// script answers with steps in order, then 200 with ok; it records when
// each attempt was sent.
type script struct {
	steps []step
	ok    string
	sent  []time.Time
}

func (s *script) next(req *http.Request) (*http.Response, error) {
	s.sent = append(s.sent, time.Now())
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
	}
	n := len(s.sent) - 1
	if n >= len(s.steps) {
		return testResp(200, http.Header{"Content-Type": {"application/json"}}, s.ok), nil
	}
	st := s.steps[n]
	if st.status == 0 {
		return nil, st.err
	}
	h := http.Header{}
	if st.retryAfter != "" {
		h.Set("Retry-After", st.retryAfter)
	}
	body := st.body
	if body == "" {
		body = apiErrBody
	}
	return testResp(st.status, h, body), nil
}

// gaps are the times between the attempts sent.
func (s *script) gaps() []time.Duration {
	var g []time.Duration
	for i := 1; i < len(s.sent); i++ {
		g = append(g, s.sent[i].Sub(s.sent[i-1]))
	}
	return g
}

type outcomeWant struct {
	sends  int
	status int    // of the response returned (0: an error)
	final  string // its X-Should-Retry
	err    error  // matched by errors.Is when status is 0
}

func checkOutcome(t *testing.T, s *script, res *http.Response, err error, want outcomeWant) {
	t.Helper()
	if len(s.sent) != want.sends {
		t.Errorf("%d attempts sent; want %d", len(s.sent), want.sends)
	}
	if want.status == 0 {
		if err == nil {
			res.Body.Close()
			t.Fatalf("got status %d; want an error matching %v", res.StatusCode, want.err)
		}
		if !errors.Is(err, want.err) {
			t.Errorf("err = %v; want %v", err, want.err)
		}
		return
	}
	if err != nil {
		t.Fatalf("err = %v; want status %d", err, want.status)
	}
	drain(res)
	if res.StatusCode != want.status {
		t.Errorf("status %d; want %d", res.StatusCode, want.status)
	}
	if got := res.Header.Get("X-Should-Retry"); got != want.final {
		t.Errorf("X-Should-Retry %q; want %q", got, want.final)
	}
}

// A budgeted call retries every connection failure, fails with an *Error
// on what no retry fixes, and marks every refusal it returns final.
func TestBudgetedDecisions(t *testing.T) {
	five := func(s step) []step { return []step{s, s, s, s, s, s} }
	cases := []struct {
		name  string
		steps []step
		want  outcomeWant
	}{
		{"a cut connection is retried", []step{{err: cut}}, outcomeWant{sends: 2, status: 200}},
		{"a failed dial is retried", []step{{err: dialFailed}, {err: dialFailed}}, outcomeWant{sends: 3, status: 200}},
		{"connection failures run out", five(step{err: cut}), outcomeWant{sends: 6, err: cut}},
		{"a 400 is returned final", []step{{status: 400, body: invalidBody}}, outcomeWant{sends: 1, status: 400, final: "false"}},
		{"500s run out", five(step{status: 500}), outcomeWant{sends: 6, status: 500, final: "false"}},
		{"529s run out", five(step{status: 529, body: overloadBody}), outcomeWant{sends: 6, status: 529, final: "false"}},
		{"failures of both kinds share MaxAttempts", []step{{err: cut}, {status: 500}, {err: dialFailed}, {status: 529, body: overloadBody}, {status: 502}, {status: 503}},
			outcomeWant{sends: 6, status: 503, final: "false"}},
		{"a 429 is retried", []step{{status: 429, retryAfter: "2", body: limitBody}}, outcomeWant{sends: 2, status: 200}},
		{"a 429 beyond MaxRetryAfter fails", []step{{status: 429, retryAfter: "3600", body: limitBody}}, outcomeWant{sends: 1, err: ErrRetryAfterTooLong}},
		{"a 500 beyond MaxRetryAfter fails", []step{{status: 500, retryAfter: "3600"}}, outcomeWant{sends: 1, err: ErrRetryAfterTooLong}},
		{"a spend limit fails", []step{{status: 400, body: `{"type":"error","error":{"type":"invalid_request_error","message":"You have reached your specified API usage limits."}}`}},
			outcomeWant{sends: 1, err: ErrSpendLimit}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var seen events
				k := testAnthropicKeeper(t, WithObserver(seen.observe))
				s := &script{steps: tc.steps, ok: okAnthropic}
				res, err := k.Middleware(testAnthropicReq(context.Background()), s.next)
				checkOutcome(t, s, res, err, tc.want)
				if n := k.open.Load(); n != 0 {
					t.Errorf("%d reservations left open", n)
				}
				if n := k.gate.InFlight(); n != 0 {
					t.Errorf("%d slots left held", n)
				}
				failed := len(seen.of(Failed))
				wantFailed := 0
				if tc.want.final != "" && tc.want.status != 400 || errors.Is(tc.want.err, ErrRetryAfterTooLong) || errors.Is(tc.want.err, ErrSpendLimit) {
					wantFailed = 1
				}
				if failed != wantFailed {
					t.Errorf("%d Failed events; want %d", failed, wantFailed)
				}
			})
		})
	}
}

// A call passed on retries only a connection that was never made, returns
// what no retry fixes as the server sent it (final only when its retries
// ran out or its wait is beyond MaxRetryAfter), and sleeps a 429's
// retry-after as the server sent it.
func TestPassedOnDecisions(t *testing.T) {
	six := func(s step) []step { return []step{s, s, s, s, s, s} }
	cases := []struct {
		name       string
		unreplayed bool // a POST body without GetBody
		steps      []step
		want       outcomeWant
		gaps       []time.Duration // exact, when set
	}{
		{"a cut connection is not resent", false, []step{{err: cut}}, outcomeWant{sends: 1, err: cut}, nil},
		{"a failed dial is retried", false, []step{{err: dialFailed}, {err: dialFailed}}, outcomeWant{sends: 3, status: 200}, nil},
		{"failed dials run out", false, six(step{err: dialFailed}), outcomeWant{sends: 6, err: dialFailed}, nil},
		{"a 404 is returned as sent", false, []step{{status: 404}}, outcomeWant{sends: 1, status: 404}, nil},
		{"a 400 is returned as sent", false, []step{{status: 400, body: invalidBody}}, outcomeWant{sends: 1, status: 400}, nil},
		{"a 429 sleeps its retry-after", false, []step{{status: 429, retryAfter: "3", body: limitBody}, {status: 429, retryAfter: "5", body: limitBody}},
			outcomeWant{sends: 3, status: 200}, []time.Duration{3 * time.Second, 5 * time.Second}},
		{"a 429 beyond MaxRetryAfter is returned final", false, []step{{status: 429, retryAfter: "3600", body: limitBody}},
			outcomeWant{sends: 1, status: 429, final: "false"}, nil},
		{"500s run out", false, six(step{status: 500}), outcomeWant{sends: 6, status: 500, final: "false"}, nil},
		{"529s back off and run out", false, six(step{status: 529, body: overloadBody}), outcomeWant{sends: 6, status: 529, final: "false"}, nil},
		{"a body that cannot be replayed is sent once", true, []step{{status: 500}}, outcomeWant{sends: 1, status: 500, final: "false"}, nil},
		{"nor is its failed dial retried", true, []step{{err: dialFailed}}, outcomeWant{sends: 1, err: dialFailed}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var seen events
				k := testAnthropicKeeper(t, WithObserver(seen.observe))
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://api.anthropic.com/v1/models", nil)
				if tc.unreplayed {
					req, _ = http.NewRequestWithContext(context.Background(), http.MethodPost, "https://api.anthropic.com/v1/files",
						io.MultiReader(strings.NewReader("{}")))
				}
				s := &script{steps: tc.steps, ok: `{"data":[]}`}
				res, err := k.Middleware(req, s.next)
				checkOutcome(t, s, res, err, tc.want)
				if tc.gaps != nil {
					g := s.gaps()
					if len(g) != len(tc.gaps) {
						t.Fatalf("gaps %v; want %v", g, tc.gaps)
					}
					for i := range g {
						if g[i] != tc.gaps[i] {
							t.Errorf("gaps %v; want %v", g, tc.gaps)
							break
						}
					}
				}
				if len(seen.all) != 0 {
					t.Errorf("events %+v; a call passed on reports none", seen.all)
				}
			})
		})
	}
}

// Event.Attempt counts every attempt once: the Admitted events number
// 1, 2, 3, … across connection failures, overloads and 429s, each
// attempt's Retried follows its Admitted, and no event goes back to an
// earlier attempt.
func TestEventAttemptsIncrease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen events
		k := testAnthropicKeeper(t, WithObserver(seen.observe))
		s := &script{ok: okAnthropic, steps: []step{
			{err: dialFailed},
			{status: 529, body: overloadBody},
			{status: 429, retryAfter: "2", body: limitBody},
			{err: cut},
			{status: 429, retryAfter: "1", body: limitBody},
			{status: 529, body: overloadBody},
			{err: dialFailed},
			{status: 429, body: limitBody},
		}}
		res, err := k.Middleware(testAnthropicReq(context.Background()), s.next)
		if err != nil {
			t.Fatal(err)
		}
		drain(res)
		const attempts = 9
		if len(s.sent) != attempts {
			t.Fatalf("%d attempts sent; want %d", len(s.sent), attempts)
		}
		var admitted, retried []int
		last := 0
		for _, e := range seen.all {
			if e.Attempt < last || e.Attempt < 1 || e.Attempt > attempts {
				t.Errorf("%v event of attempt %d after one of attempt %d", e.Kind, e.Attempt, last)
			}
			last = max(last, e.Attempt)
			switch e.Kind {
			case Admitted:
				admitted = append(admitted, e.Attempt)
			case Retried:
				retried = append(retried, e.Attempt)
				if len(admitted) == 0 || admitted[len(admitted)-1] != e.Attempt {
					t.Errorf("Retried of attempt %d; the last admitted is %v", e.Attempt, admitted)
				}
			}
		}
		for i, n := range admitted {
			if n != i+1 {
				t.Fatalf("admitted attempts %v; want 1, 2, … %d", admitted, attempts)
			}
		}
		if len(admitted) != attempts || len(retried) != attempts-1 {
			t.Errorf("admitted %v, retried %v; want %d and %d", admitted, retried, attempts, attempts-1)
		}
		if st := seen.of(Settled); len(st) != 1 || st[0].Attempt != attempts {
			t.Errorf("Settled %+v; want one, of attempt %d", st, attempts)
		}
	})
}
