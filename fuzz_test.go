package ratekeeper

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Body modes of FuzzMiddleware.
const (
	bodyWhole     = iota // the bytes, then EOF
	bodyCut              // half the bytes, then io.ErrUnexpectedEOF
	bodyEndless          // the bytes, then a Read that blocks until Close
	bodyReadError        // the bytes, then a read error
	numBodyModes
)

// fuzzBody serves a response body in one of the modes above.
type fuzzBody struct {
	r      *bytes.Reader
	mode   uint8
	closed chan struct{}
	once   sync.Once
}

func newFuzzBody(b []byte, mode uint8) *fuzzBody {
	if mode == bodyCut {
		b = b[:len(b)/2]
	}
	return &fuzzBody{r: bytes.NewReader(b), mode: mode, closed: make(chan struct{})}
}

func (b *fuzzBody) Read(p []byte) (int, error) {
	if b.r.Len() > 0 {
		return b.r.Read(p)
	}
	switch b.mode {
	case bodyCut:
		return 0, io.ErrUnexpectedEOF
	case bodyEndless:
		<-b.closed
		return 0, errors.New("closed")
	case bodyReadError:
		return 0, errors.New("connection reset by peer")
	}
	return 0, io.EOF
}

func (b *fuzzBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// FuzzMiddleware answers one call with whatever status, headers and body
// the fuzzer makes up (JSON, truncated JSON, SSE that never ends, SSE with
// no message_delta), to every attempt the Keeper makes, and checks what
// must hold whatever the server says: no panic, every reservation settled
// exactly once and every concurrency slot released once the caller has
// read the body (or closed an endless one), and no bucket frozen for longer
// than MaxRetryAfter (plus two of its periods: a freeze ends at the call's
// need, and a settlement's debt is at most one capacity).
func FuzzMiddleware(f *testing.F) {
	f.Add(uint16(200), "anthropic-ratelimit-requests-limit: 50\nanthropic-ratelimit-requests-remaining: 49", []byte(okAnthropic), uint8(bodyWhole), false)
	f.Add(uint16(429), "anthropic-ratelimit-requests-remaining: 0\nanthropic-ratelimit-requests-reset: 9999-12-31T23:59:59Z", []byte(`{"type":"error","error":{"type":"rate_limit_error","message":"x"}}`), uint8(bodyWhole), false)
	f.Add(uint16(429), "retry-after: 0\nanthropic-ratelimit-input-tokens-remaining: 0\nanthropic-ratelimit-input-tokens-reset: 2100-01-01T00:00:00Z", []byte(`{}`), uint8(bodyCut), false)
	f.Add(uint16(200), "content-type: text/event-stream", []byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":99999999999999999,\"output_tokens\":1}}}\n\n"), uint8(bodyEndless), false)
	f.Add(uint16(200), "content-type: text/event-stream", []byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), uint8(bodyWhole), false)
	f.Add(uint16(200), "", []byte(`{"usage":{"input_tokens":99999999999999999,"output_tokens":99999999999999999}}`), uint8(bodyReadError), false)
	f.Add(uint16(529), "retry-after: 99999999999", []byte(`{"type":"error","error":{"type":"overloaded_error","message":"x"}}`), uint8(bodyWhole), false)
	f.Add(uint16(429), "x-ratelimit-remaining-requests: 0\nx-ratelimit-reset-requests: 2562047h", []byte(`{"error":{"message":"Please try again in 9999999h.","code":"rate_limit_exceeded"}}`), uint8(bodyWhole), true)
	f.Add(uint16(200), "x-ratelimit-limit-tokens: 1\nx-ratelimit-remaining-tokens: 0\nx-ratelimit-reset-tokens: 1ms", []byte(`{"usage":{"prompt_tokens":9223372036854775807,"completion_tokens":3}}`), uint8(bodyWhole), true)
	f.Fuzz(func(t *testing.T, status uint16, headers string, body []byte, mode uint8, openai bool) {
		status = 100 + status%500
		mode %= numBodyModes
		h := http.Header{}
		for line := range strings.SplitSeq(headers, "\n") {
			if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) != "" {
				h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
			}
		}
		synctest.Test(t, func(t *testing.T) {
			policy := DefaultRetryPolicy
			policy.MaxAttempts, policy.MaxRateLimited = 3, 3
			var k *Keeper
			req, model := testAnthropicReq, "claude-sonnet-4-5"
			if openai {
				k, req, model = testOpenAIKeeper(t, WithRetry(policy)), testOpenAIReq, "gpt-4o"
			} else {
				k = testAnthropicKeeper(t, WithRetry(policy))
			}
			var bodies []*fuzzBody
			next := func(*http.Request) (*http.Response, error) {
				b := newFuzzBody(body, mode)
				bodies = append(bodies, b)
				return &http.Response{StatusCode: int(status), Header: h.Clone(), Body: b}, nil
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			res, err := k.Middleware(req(ctx), next)
			if err == nil {
				if mode == bodyEndless && status < 300 {
					_, _ = io.ReadFull(res.Body, make([]byte, len(body)))
				} else {
					_, _ = io.Copy(io.Discard, res.Body)
				}
				res.Body.Close()
			}
			if n := k.open.Load(); n != 0 {
				t.Errorf("%d reservations left unsettled (negative: settled twice)", n)
			}
			if n := k.gate.InFlight(); n != 0 {
				t.Errorf("%d concurrency slots still held", n)
			}
			checkNotFrozen(t, k, model, false)
			for _, b := range bodies[:max(len(bodies)-1, 0)] {
				select {
				case <-b.closed:
				default:
					t.Errorf("the body of a refused attempt was not closed")
				}
			}
		})
	})
}
