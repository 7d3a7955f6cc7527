package simapi

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ratekeeper/ratekeeper/tier"
)

// setRateHeaders writes the rate-limit headers of (key, class) as they stand now.
func (s *Server) setRateHeaders(h http.Header, key string, cl *Class) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	st := s.stateLocked(key, cl, now)
	if cl.Provider == tier.OpenAI {
		for _, d := range []struct {
			name string
			b    *bucket
		}{{"requests", &st.req}, {"tokens", &st.tok}} {
			if d.b.unlimited() {
				continue
			}
			h.Set("x-ratelimit-limit-"+d.name, strconv.FormatInt(int64(d.b.limit), 10))
			h.Set("x-ratelimit-remaining-"+d.name, strconv.FormatInt(d.b.remaining(), 10))
			h.Set("x-ratelimit-reset-"+d.name, openAIDuration(d.b.untilFull()))
		}
		return
	}
	set := func(name string, limit, remaining int64, untilFull time.Duration, round bool) {
		if round && !s.cfg.ExactRemaining {
			remaining = int64(math.Round(float64(remaining)/1000) * 1000)
		}
		p := "anthropic-ratelimit-" + name + "-"
		h.Set(p+"limit", strconv.FormatInt(limit, 10))
		h.Set(p+"remaining", strconv.FormatInt(remaining, 10))
		h.Set(p+"reset", resetTime(now, untilFull))
	}
	if !st.req.unlimited() {
		set("requests", int64(st.req.limit), st.req.remaining(), st.req.untilFull(), false)
	}
	var tl, tr int64
	var tu time.Duration
	for _, d := range []struct {
		name string
		b    *bucket
	}{{"input-tokens", &st.in}, {"output-tokens", &st.out}} {
		if d.b.unlimited() {
			continue
		}
		set(d.name, int64(d.b.limit), d.b.remaining(), d.b.untilFull(), true)
		tl += int64(d.b.limit)
		tr += d.b.remaining()
		tu = max(tu, d.b.untilFull())
	}
	if tl > 0 {
		// Without workspace limits the tokens-* headers show input plus output.
		set("tokens", tl, tr, tu, true)
	}
}

// resetTime is now+d in RFC 3339, rounded up to the second.
func resetTime(now time.Time, d time.Duration) string {
	t := now.Add(d).UTC()
	if t2 := t.Truncate(time.Second); t2.Before(t) {
		t = t2.Add(time.Second)
	}
	return t.Format(time.RFC3339)
}

// openAIDuration formats d the way OpenAI's x-ratelimit-reset-* headers do: a Go
// duration rounded to the millisecond ("20ms", "1.5s", "6m0s").
func openAIDuration(d time.Duration) string {
	if d > 0 && d < time.Millisecond {
		d = time.Millisecond
	}
	return d.Round(time.Millisecond).String()
}

// retryAfterSeconds is d in whole seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int64 {
	return max(1, int64(math.Ceil(d.Seconds())))
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeAnthropicError writes an Anthropic error body. details, if not nil, goes into
// error.details.
func writeAnthropicError(w http.ResponseWriter, reqID string, status int, typ, msg string, details map[string]any) {
	e := map[string]any{"type": typ, "message": msg}
	if details != nil {
		e["details"] = details
	}
	w.Header().Set("request-id", reqID)
	writeJSON(w, status, map[string]any{"type": "error", "error": e, "request_id": reqID})
}

// writeOpenAIError writes an OpenAI error body; an empty code is null.
func writeOpenAIError(w http.ResponseWriter, status int, typ, code, msg string) {
	var c any
	if code != "" {
		c = code
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": nil, "code": c,
	}})
}

// isOpenAIPath reports whether p looks like an OpenAI endpoint, to answer 404 in its shape.
func isOpenAIPath(p string) bool {
	for _, pre := range []string{"/v1/chat/", "/v1/responses", "/v1/embeddings", "/v1/completions"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	v := r.Header.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// filler returns the text of n output tokens (at most 256 words), starting at word offset
// off. The text is decoration: usage, not text, carries the token counts.
func filler(n, off int64) string {
	n = min(n, 256)
	const words = "the quick brown fox jumps over the lazy dog while simulated tokens flow "
	fields := strings.Fields(words)
	var b strings.Builder
	for i := range n {
		b.WriteByte(' ')
		b.WriteString(fields[(off+i)%int64(len(fields))])
	}
	return b.String()
}

// field decoding helpers for validation with API-like messages.

func rawString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func rawInt(raw json.RawMessage) (int64, bool) {
	var n int64
	if len(raw) == 0 || json.Unmarshal(raw, &n) != nil {
		return 0, false
	}
	return n, true
}

func rawBool(raw json.RawMessage) (bool, bool) {
	if len(raw) == 0 {
		return false, true
	}
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		return false, false
	}
	return b, true
}

// rawArrayLen returns the length of a JSON array, or -1 if raw is not an array.
func rawArrayLen(raw json.RawMessage) int {
	var a []json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &a) != nil || a == nil {
		return -1
	}
	return len(a)
}

func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
