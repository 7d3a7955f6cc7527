package usage

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/ratekeeper/ratekeeper/tier"
)

const anthropicStream = `event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","usage":{"input_tokens":25,"cache_creation_input_tokens":3,"cache_read_input_tokens":7,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":10}}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}

event: message_stop
data: {"type":"message_stop"}

`

const openAIStream = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\r\n\r\n" +
	"data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11,\"prompt_tokens_details\":{\"cached_tokens\":4}}}\r\n\r\n" +
	"data: [DONE]\r\n\r\n"

// kind is how a test reads a body: as a provider's JSON object or stream.
type kind struct {
	p      tier.Provider
	stream bool
}

var (
	anthropicJSON = kind{tier.Anthropic, false}
	anthropicSSE  = kind{tier.Anthropic, true}
	openAIJSON    = kind{tier.OpenAI, false}
	openAISSE     = kind{tier.OpenAI, true}
	// kinds numbers them for the fuzzer, as they were numbered before.
	kinds = [...]kind{anthropicJSON, anthropicSSE, openAIJSON, openAISSE}
)

// read passes body through a Reader, one byte at a time, and returns what
// came out and what was reported.
func read(t *testing.T, k kind, body string, closeEarly int) (string, Usage, int, error) {
	t.Helper()
	var got Usage
	var gotErr error
	calls := 0
	r := NewReader(io.NopCloser(strings.NewReader(body)), k.p, k.stream, func(u Usage, err error) {
		got, gotErr = u, err
		calls++
	})
	var out []byte
	var err error
	if closeEarly > 0 {
		out = make([]byte, closeEarly)
		_, err = io.ReadFull(iotest.OneByteReader(r), out)
	} else {
		out, err = io.ReadAll(iotest.OneByteReader(r))
	}
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	r.Close()
	return string(out), got, calls, gotErr
}

func TestReader(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kind  kind
		body  string
		early int
		want  Usage
	}{
		{"anthropic stream", anthropicSSE, anthropicStream, 0,
			Usage{InputTokens: 25, OutputTokens: 15, CacheCreationInputTokens: 3, CacheReadInputTokens: 7, Input: true, Final: true}},
		{"anthropic stream closed before message_stop", anthropicSSE, anthropicStream, strings.Index(anthropicStream, "event: message_stop"),
			Usage{InputTokens: 25, OutputTokens: 15, CacheCreationInputTokens: 3, CacheReadInputTokens: 7, Input: true}},
		{"anthropic stream closed after message_start", anthropicSSE, anthropicStream, strings.Index(anthropicStream, "event: content_block_start"),
			Usage{InputTokens: 25, OutputTokens: 1, CacheCreationInputTokens: 3, CacheReadInputTokens: 7, Input: true}},
		{"anthropic overload mid-stream", anthropicSSE, anthropicStream[:strings.Index(anthropicStream, "event: message_delta")] +
			"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n", 0,
			Usage{InputTokens: 25, OutputTokens: 1, CacheCreationInputTokens: 3, CacheReadInputTokens: 7, Input: true, ErrorType: "overloaded_error"}},
		{"anthropic JSON", anthropicJSON, `{"id":"msg_1","type":"message","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":11,"output_tokens":7,"cache_read_input_tokens":3}}`, 0,
			Usage{InputTokens: 11, OutputTokens: 7, CacheReadInputTokens: 3, Input: true, Final: true}},
		{"anthropic error JSON", anthropicJSON, `{"type":"error","error":{"type":"rate_limit_error","message":"x"}}`, 0, Usage{}},
		{"openai stream", openAISSE, openAIStream, 0,
			Usage{InputTokens: 9, OutputTokens: 2, CacheReadInputTokens: 4, Input: true, Final: true}},
		{"openai stream without usage", openAISSE, "data: {\"choices\":[]}\n\ndata: [DONE]\n\n", 0, Usage{}},
		{"openai JSON", openAIJSON, `{"id":"c","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}`, 0,
			Usage{InputTokens: 12, OutputTokens: 5, Input: true, Final: true}},
		{"garbage", anthropicSSE, "data: {not json\n\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":-5}}}\n", 0, Usage{}},
		{"truncated JSON", openAIJSON, `{"usage":{"prompt_tokens":12`, 0, Usage{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, got, calls, err := read(t, tc.kind, tc.body, tc.early)
			want := tc.body
			if tc.early > 0 {
				want = tc.body[:tc.early]
			}
			if out != want {
				t.Fatalf("the body was changed in passing")
			}
			if calls != 1 || err != nil {
				t.Fatalf("done called %d times with %v; want once with nil", calls, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("usage (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadErrorReported(t *testing.T) {
	var gotErr error
	r := NewReader(io.NopCloser(iotest.TimeoutReader(strings.NewReader(anthropicStream))), tier.Anthropic, true, func(_ Usage, err error) { gotErr = err })
	buf := make([]byte, 10)
	r.Read(buf)
	_, err := r.Read(buf)
	if !errors.Is(err, iotest.ErrTimeout) || !errors.Is(gotErr, iotest.ErrTimeout) {
		t.Fatalf("read error %v reported as %v", err, gotErr)
	}
}

func TestLongLineSkipped(t *testing.T) {
	long := "data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"" + strings.Repeat("x", 2*maxBuffer) + "\"}}\n"
	body := "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n" + long +
		"data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}\ndata: {\"type\":\"message_stop\"}\n"
	var got Usage
	r := NewReader(io.NopCloser(strings.NewReader(body)), tier.Anthropic, true, func(u Usage, _ error) { got = u })
	n, _ := io.Copy(io.Discard, r)
	if n != int64(len(body)) || got != (Usage{InputTokens: 3, OutputTokens: 9, Input: true, Final: true}) {
		t.Fatalf("copied %d of %d, usage %+v", n, len(body), got)
	}
}

func FuzzReader(f *testing.F) {
	f.Add(uint8(1), []byte(anthropicStream))
	f.Add(uint8(3), []byte(openAIStream))
	f.Add(uint8(0), []byte(`{"usage":{"input_tokens":1}}`))
	f.Fuzz(func(t *testing.T, n uint8, body []byte) {
		var got Usage
		calls := 0
		k := kinds[n%4]
		r := NewReader(io.NopCloser(bytes.NewReader(body)), k.p, k.stream, func(u Usage, _ error) { got = u; calls++ })
		out, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(out, body) || calls != 1 {
			t.Fatalf("passed %d of %d bytes, err %v, done called %d times", len(out), len(body), err, calls)
		}
		if got.InputTokens < 0 || got.OutputTokens < 0 || got.CacheReadInputTokens < 0 || got.CacheCreationInputTokens < 0 {
			t.Fatalf("negative usage %+v", got)
		}
	})
}

// TestJSONTooLarge: a JSON body above the buffer reports no usage (rather
// than a usage spliced from non-contiguous pieces), and passes unchanged.
func TestJSONTooLarge(t *testing.T) {
	body := `{"usage":{"input_tokens":5,"output_tokens":6},"pad":"` + strings.Repeat("x", maxBuffer) + `"}` + `{"usage":{"input_tokens":7}}`
	var got Usage
	r := NewReader(io.NopCloser(strings.NewReader(body)), tier.Anthropic, false, func(u Usage, _ error) { got = u })
	out, _ := io.ReadAll(r)
	if string(out) != body || got != (Usage{}) {
		t.Fatalf("passed %d of %d bytes; usage %+v, want none", len(out), len(body), got)
	}
}
