package simapi

import (
	"encoding/json"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ratekeeper/ratekeeper/tier"
)

func TestMinimumTimeFor(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	full := BucketSize{Limit: 60, Capacity: 60} // 1 per second
	tests := []struct {
		name string
		used int64
		b    BucketSize
		down []Window
		want time.Duration
	}{
		{"nothing used", 0, full, nil, 0},
		{"nothing used, down at the start", 0, full, []Window{{0, 2 * time.Minute}}, 0},
		{"within a full bucket", 60, full, nil, 0},
		{"beyond a full bucket", 90, full, nil, 30 * time.Second},
		// Sub-minute capacity: 5 at once, the other 60 at 1/s.
		{"5 s bucket", 65, BucketSize{Limit: 60, Capacity: 5}, nil, time.Minute},
		// Down at the start: the bucket is full already, nothing is kept.
		{"down at the start", 70, full, []Window{{0, 2 * time.Minute}}, 2*time.Minute + 10*time.Second},
		{"within a full bucket, down at the start", 30, full, []Window{{0, 2 * time.Minute}}, 2 * time.Minute},
		// Up [0, 1m): 60 + 60 = 120. Down [1m, 1m30s): regains 30. Then
		// 30 at once and the last 50 at 1/s.
		{"down in the middle", 200, full, []Window{{time.Minute, 90 * time.Second}}, 2*time.Minute + 20*time.Second},
		// A window longer than the bucket takes to fill keeps only a full bucket.
		{"long window in the middle", 200, full, []Window{{time.Minute, 4 * time.Minute}}, 4*time.Minute + 20*time.Second},
		{"overlapping windows", 70, full, []Window{{30 * time.Second, 2 * time.Minute}, {0, time.Minute}}, 2*time.Minute + 10*time.Second},
		{"done before a later window", 90, full, []Window{{5 * time.Minute, 6 * time.Minute}}, 30 * time.Second},
	}
	for _, tt := range tests {
		l := newLedger()
		l.chargeAt(at, "k", "c", InputTokens, tt.used)
		got := l.MinimumTimeFor("k", "c", map[Dimension]BucketSize{InputTokens: tt.b}, tt.down)
		if got != tt.want {
			t.Errorf("%s: MinimumTimeFor(used %d, %+v, down %v) = %v; want %v", tt.name, tt.used, tt.b, tt.down, got, tt.want)
		}
	}
}

// TestMinimumTimeForAgreesWithMinimumTime: with full-minute buckets and no
// windows both give the same answer (to the rounding of a nanosecond).
func TestMinimumTimeForAgreesWithMinimumTime(t *testing.T) {
	l := newLedger()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.chargeAt(at, "k", "c", InputTokens, 123_457)
	l.chargeAt(at, "k", "c", OutputTokens, 31_337)
	l.chargeAt(at, "k", "c", Requests, 251)
	limits := map[Dimension]int64{Requests: 50, InputTokens: 30_000, OutputTokens: 8_000}
	sizes := map[Dimension]BucketSize{}
	for d, n := range limits {
		sizes[d] = BucketSize{Limit: n, Capacity: float64(n)}
	}
	a, b := l.MinimumTime("k", "c", limits), l.MinimumTimeFor("k", "c", sizes, nil)
	if d := a - b; d < -1 || d > 1 {
		t.Errorf("MinimumTime = %v, MinimumTimeFor = %v", a, b)
	}
}

func TestServerBuckets(t *testing.T) {
	classes := oneClass(Limits{RPM: 50, ITPM: 30_000, OTPM: 8_000, TPM: 60_000})
	tests := []struct {
		burst time.Duration
		class string
		want  map[Dimension]BucketSize
	}{
		{0, "sonnet", map[Dimension]BucketSize{
			Requests: {50, 50}, InputTokens: {30_000, 30_000}, OutputTokens: {8_000, 8_000}}},
		{5 * time.Second, "sonnet", map[Dimension]BucketSize{
			Requests: {50, 50 * 5.0 / 60}, InputTokens: {30_000, 2_500}, OutputTokens: {8_000, 8_000 * 5.0 / 60}}},
		// At least 1.
		{time.Second, "sonnet", map[Dimension]BucketSize{
			Requests: {50, 1}, InputTokens: {30_000, 500}, OutputTokens: {8_000, 8_000.0 / 60}}},
		{0, "gpt", map[Dimension]BucketSize{Requests: {50, 50}, Tokens: {60_000, 60_000}}},
	}
	for _, tt := range tests {
		s, err := New(Config{Classes: classes, Burst: tt.burst})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := s.Buckets(tt.class)
		if !ok {
			t.Fatalf("Buckets(%q) not found", tt.class)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("burst %v: Buckets(%q) (-want +got):\n%s", tt.burst, tt.class, diff)
		}
		s.Close()
	}
	s, _ := New(Config{})
	defer s.Close()
	if _, ok := s.Buckets("no-such-class"); ok {
		t.Error("Buckets of an unknown class reported ok")
	}
	if got := s.MinimumTime("k", "no-such-class"); got != 0 {
		t.Errorf("MinimumTime of an unknown class = %v", got)
	}
}

// TestServerMinimumTime: the server's minimum uses its sub-minute capacity
// and its overload windows.
func TestServerMinimumTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newSim(t, Config{
			Classes:         oneClass(Limits{RPM: 60}),
			Burst:           5 * time.Second, // 5 requests
			OverloadWindows: []Window{{0, time.Minute}},
			PerTokenLatency: -1,
		})
		if r := do(t, c, "/v1/messages", "k", msgBody(5, "hi")); r.status != 529 {
			t.Fatalf("status %d during the overload window; want 529", r.status)
		}
		time.Sleep(time.Minute)
		for i := range 8 {
			if r := do(t, c, "/v1/messages", "k", msgBody(5, "hi")); r.status != 200 {
				t.Fatalf("request %d: status %d %s", i, r.status, r.body)
			}
			time.Sleep(time.Second)
		}
		// 8 requests: down for a minute, then 5 at once and 3 more at 1/s.
		if got, want := s.MinimumTime("k", "sonnet"), time.Minute+3*time.Second; got != want {
			t.Errorf("MinimumTime = %v; want %v", got, want)
		}
	})
}

// TestTextCounter: Config.TextCounter replaces simtok's text count in what
// admission charges, and InputTokens and OutputTokens say exactly what the
// server charges and generates.
func TestTextCounter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		perByte := func(s string) int64 { return int64(len(s)) }
		s, c := newSim(t, Config{Classes: oneClass(Limits{ITPM: 100_000}), TextCounter: perByte, Seed: 7, PerTokenLatency: -1})
		body := msgBody(500, "a prompt counted one token per byte")
		in, err := s.InputTokens(tier.Anthropic, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		// RequestOverhead 7, MessageOverhead 4, "user" 4, the prompt 35.
		if want := int64(7 + 4 + 4 + 35); in != want {
			t.Errorf("InputTokens = %d; want %d", in, want)
		}
		out := s.OutputTokens(http.Header{}, []byte(body), 500)
		r := do(t, c, "/v1/messages", "k", body)
		if r.status != 200 {
			t.Fatalf("status %d %s", r.status, r.body)
		}
		var m struct {
			Usage struct {
				InputTokens  int64 `json:"input_tokens"`
				OutputTokens int64 `json:"output_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(r.body), &m); err != nil {
			t.Fatal(err)
		}
		if m.Usage.InputTokens != in || m.Usage.OutputTokens != out {
			t.Errorf("usage %+v; want input %d (InputTokens), output %d (OutputTokens)", m.Usage, in, out)
		}
		if got := s.Ledger().Usage("k", "", InputTokens); got != in {
			t.Errorf("ledger input = %d; want %d", got, in)
		}
		h := http.Header{}
		h.Set("x-sim-output-tokens", "9999")
		if got := s.OutputTokens(h, []byte(body), 500); got != 500 {
			t.Errorf("OutputTokens with x-sim-output-tokens 9999 and max 500 = %d; want 500", got)
		}
		chat := `{"model":"gpt-4o","messages":[{"role":"user","content":"abc"}]}`
		if got, err := s.InputTokens(tier.OpenAI, []byte(chat)); err != nil || got != 7+4+4+3 {
			t.Errorf("InputTokens(tier.OpenAI) = %d, %v; want %d", got, err, 7+4+4+3)
		}
	})
}
