package simapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// fuzzRequest serves one request in-process and checks that the server answers with a
// known status and stays consistent.
func fuzzRequest(t *testing.T, s *Server, path, authHeader, key string, body []byte) {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set(authHeader, key)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	switch w.Code {
	case 200, 400, 404, 413, 429, 503, 529:
	default:
		t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
	}
}

func fuzzServer(t *testing.T) *Server {
	s, err := New(Config{PerTokenLatency: -1, Burst: time.Second, OutputPolicy: OutputReserveMaxTokens})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func FuzzMessages(f *testing.F) {
	for _, seed := range []string{
		`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"claude-haiku-4-5","max_tokens":3,"stream":true,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"text","text":"x"},{"type":"image","source":{"type":"url","url":"u"}}]}],"tools":[{"name":"t","input_schema":{"type":"object"}}]}`,
		`{"model":"claude-opus-4-7","max_tokens":128000,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"n","input":{}}]}]}`,
		`{"model":"","max_tokens":-1,"messages":[]}`,
		`{`, `null`, `[]`, `{"model":5}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s := fuzzServer(t)
		fuzzRequest(t, s, "/v1/messages", "x-api-key", "k", body)
		fuzzRequest(t, s, "/v1/messages/count_tokens", "x-api-key", "k", body)
		if u := s.Ledger().Usage("", "", Requests); u > 1 {
			t.Fatalf("%d requests charged for one call", u)
		}
	})
}

func FuzzChatCompletions(f *testing.F) {
	for _, seed := range []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","n":3,"max_completion_tokens":20,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`,
		`{"model":"o3","messages":[{"role":"tool","tool_call_id":"c","content":"r"}],"tools":[{"type":"function","function":{"name":"f"}}]}`,
		`{`, `{"model":"gpt-4o","n":1e9,"messages":[1]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s := fuzzServer(t)
		fuzzRequest(t, s, "/v1/chat/completions", "Authorization", "Bearer k", body)
	})
}

// FuzzBucket checks the bucket invariants under random operations: the level never
// exceeds the capacity, a refusal always names a positive wait, and token conservation
// holds: what is taken between two takes at t1 <= t2 is at most the capacity, plus the
// refill over t2-t1, plus the debt left after the second.
func FuzzBucket(f *testing.F) {
	f.Add(int64(60), int64(1000), []byte{1, 2, 3, 200, 7})
	f.Add(int64(5000), int64(30_000), []byte{0, 0, 0, 255, 255})
	f.Fuzz(func(t *testing.T, limit, burstMillis int64, ops []byte) {
		if limit <= 0 || limit > 1e9 || burstMillis < 0 || burstMillis > 60_000 {
			return
		}
		now := time.Unix(0, 0)
		b := newBucket(limit, time.Duration(burstMillis)*time.Millisecond, now)
		type take struct {
			at    time.Time
			n     float64
			after float64 // level after the take
		}
		var taken []take
		for i, op := range ops {
			now = now.Add(time.Duration(op) * 37 * time.Millisecond)
			b.advance(now)
			cost := float64(int64(op)*int64(i+1)%(limit+2) + 1)
			ok, wait, never := b.check(cost)
			switch {
			case ok:
				b.take(cost)
				taken = append(taken, take{now, cost, b.level})
			case never && cost <= float64(limit):
				t.Fatalf("cost %v within limit %d refused forever", cost, limit)
			case wait <= 0:
				t.Fatalf("refused with wait %v", wait)
			}
			if b.level > b.capacity+1e-9 {
				t.Fatalf("level %v above capacity %v", b.level, b.capacity)
			}
		}
		for i := range taken {
			var sum float64
			for j := i; j < len(taken); j++ {
				sum += taken[j].n
				bound := b.capacity + float64(limit)*taken[j].at.Sub(taken[i].at).Minutes() + max(0, -taken[j].after)
				if sum > bound+1e-6*max(1, bound) {
					t.Fatalf("took %v between takes %d and %d; bound %v", sum, i, j, bound)
				}
			}
		}
	})
}
