package simtok

import (
	"sync"
	"testing"
)

// TestCountWith: the request counters with another TextCounter count every
// text with it, keep the framing and the image prices, and with nil are
// the plain ones.
func TestCountWith(t *testing.T) {
	perByte := func(s string) int64 { return int64(len(s)) }
	anthropic := `{"model":"claude-sonnet-4-5","system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"Hello, world"},` +
		`{"type":"tool_use","id":"t","name":"get","input":{"q":"x"}},{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]}],` +
		`"tools":[{"name":"get","description":"Get it.","input_schema":{"type":"object"}}]}`
	want := int64(RequestOverhead +
		len("Be brief.") + MessageOverhead +
		MessageOverhead + len("user") + len("Hello, world") +
		BlockOverhead + len("get") + len(`{"q":"x"}`) +
		BlockOverhead + URLImageTokens +
		ToolsOverhead + ToolOverhead + len("get") + len("Get it.") + len(`{"type":"object"}`))
	if got, err := CountAnthropicRequestWith([]byte(anthropic), perByte); err != nil || got != want {
		t.Errorf("CountAnthropicRequestWith(per byte) = %d, %v; want %d", got, err, want)
	}
	openai := `{"model":"gpt-4o","messages":[{"role":"user","name":"ann","content":[{"type":"text","text":"Hello"}]}],` +
		`"tools":[{"type":"function","function":{"name":"f"}}]}`
	wantOpenAI := int64(RequestOverhead + MessageOverhead + len("user") + len("ann") + len("Hello") +
		ToolOverhead + len(`{"function":{"name":"f"},"type":"function"}`))
	if got, err := CountOpenAIRequestWith([]byte(openai), perByte); err != nil || got != wantOpenAI {
		t.Errorf("CountOpenAIRequestWith(per byte) = %d, %v; want %d", got, err, wantOpenAI)
	}
	for _, c := range []struct {
		name      string
		with      func([]byte, TextCounter) (int64, error)
		plain     func([]byte) (int64, error)
		body      string
		wantError bool
	}{
		{"anthropic", CountAnthropicRequestWith, CountAnthropicRequest, anthropic, false},
		{"openai", CountOpenAIRequestWith, CountOpenAIRequest, openai, false},
		{"anthropic malformed", CountAnthropicRequestWith, CountAnthropicRequest, `[]`, true},
	} {
		a, errA := c.with([]byte(c.body), nil)
		b, errB := c.plain([]byte(c.body))
		if a != b || (errA != nil) != c.wantError || (errB != nil) != c.wantError {
			t.Errorf("%s: with nil = %d, %v; plain = %d, %v", c.name, a, errA, b, errB)
		}
	}
}

// TestCountWithConcurrent: one counter, many goroutines (go test -race).
func TestCountWithConcurrent(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	count := func(s string) int64 {
		mu.Lock()
		seen[s]++
		mu.Unlock()
		return CountText(s)
	}
	body := []byte(`{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"the same text"}]}`)
	want, _ := CountAnthropicRequest(body)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got, err := CountAnthropicRequestWith(body, count); err != nil || got != want {
				t.Errorf("CountAnthropicRequestWith = %d, %v; want %d", got, err, want)
			}
		})
	}
	wg.Wait()
	if seen["the same text"] != 8 {
		t.Errorf("the counter saw the prompt %d times; want 8", seen["the same text"])
	}
}
