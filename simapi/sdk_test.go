package simapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/ratekeeper/ratekeeper/internal/simtok"
)

// bodyRecorder is an SDK middleware that keeps the last request body.
type bodyRecorder struct {
	mu   sync.Mutex
	last []byte
}

func (b *bodyRecorder) middleware(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	if req.Body != nil {
		data, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(data))
		b.mu.Lock()
		b.last = data
		b.mu.Unlock()
	}
	return next(req)
}

func (b *bodyRecorder) body() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// testAnthropic runs non-streaming, streaming and count_tokens calls through the real SDK.
func testAnthropic(t *testing.T, s *Server, opts ...aoption.RequestOption) {
	t.Helper()
	rec := &bodyRecorder{}
	opts = append(opts, aoption.WithAPIKey("key-a"), aoption.WithMaxRetries(0),
		aoption.WithMiddleware(rec.middleware), aoption.WithHeader("x-sim-output-tokens", "37"))
	client := anthropic.NewClient(opts...)
	ctx := context.Background()
	params := anthropic.MessageNewParams{
		Model:     anthropic.ModelClaudeSonnet4_6,
		MaxTokens: 256,
		System:    []anthropic.TextBlockParam{{Text: "You are terse."}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("What is a quaternion?"))},
	}

	msg, err := client.Messages.New(ctx, params)
	if err != nil {
		t.Fatalf("Messages.New: %v", err)
	}
	want, err := simtok.CountAnthropicRequest(rec.body())
	if err != nil {
		t.Fatal(err)
	}
	if msg.Usage.InputTokens != want || msg.Usage.OutputTokens != 37 || msg.StopReason != "end_turn" {
		t.Errorf("Messages.New usage = in %d out %d stop %q; want in %d out 37 end_turn",
			msg.Usage.InputTokens, msg.Usage.OutputTokens, msg.StopReason, want)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text == "" {
		t.Errorf("Messages.New content = %+v; want one text block", msg.Content)
	}

	stream := client.Messages.NewStreaming(ctx, params)
	var acc anthropic.Message
	events := map[string]int{}
	for stream.Next() {
		ev := stream.Current()
		events[ev.Type]++
		if err := acc.Accumulate(ev); err != nil {
			t.Fatalf("Accumulate: %v", err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	_ = stream.Close()
	if acc.Usage.InputTokens != want || acc.Usage.OutputTokens != 37 {
		t.Errorf("stream usage = in %d out %d; want in %d out 37", acc.Usage.InputTokens, acc.Usage.OutputTokens, want)
	}
	for _, typ := range []string{"message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"} {
		if events[typ] == 0 {
			t.Errorf("stream had no %s event; events %v", typ, events)
		}
	}

	n, err := client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{
		Model:    params.Model,
		System:   anthropic.MessageCountTokensParamsSystemUnion{OfTextBlockArray: params.System},
		Messages: params.Messages,
	})
	if err != nil {
		t.Fatalf("CountTokens: %v", err)
	}
	if n.InputTokens != want {
		t.Errorf("CountTokens = %d; want %d (same as the Messages charge)", n.InputTokens, want)
	}

	c := s.Ledger().Counts("key-a", "sonnet-4")
	if c.Admitted != 2 || c.Total() != 2 {
		t.Errorf("ledger counts = %+v; want 2 admitted", c)
	}
	if got := s.Ledger().Usage("key-a", "sonnet-4", OutputTokens); got != 74 {
		t.Errorf("ledger output = %d; want 74", got)
	}
	if got := s.Ledger().Usage("key-a", "", InputTokens); got != 2*want {
		t.Errorf("ledger input = %d; want %d", got, 2*want)
	}

	// A 429 through the SDK: a spend-limited key.
	s.SetSpendLimited("key-a", true)
	_, err = client.Messages.New(ctx, params)
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("spend-limited Messages.New err = %v; want a 429 *anthropic.Error", err)
	}
	if ra := apiErr.Response.Header.Get("retry-after"); ra != "" {
		t.Errorf("spend-limit 429 has retry-after %q; want none", ra)
	}
	s.SetSpendLimited("key-a", false)
}

func TestAnthropicSDKLoopback(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	url, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	testAnthropic(t, s, aoption.WithBaseURL(url))
}

func TestAnthropicSDKTransport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{PerTokenLatency: 50 * time.Millisecond}) // instant in the bubble
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testAnthropic(t, s, aoption.WithBaseURL("http://simapi.test/"),
			aoption.WithHTTPClient(&http.Client{Transport: s.Transport()}))
	})
}

// testOpenAI runs non-streaming and streaming chat completions through the real SDK.
func testOpenAI(t *testing.T, s *Server, opts ...ooption.RequestOption) {
	t.Helper()
	rec := &bodyRecorder{}
	opts = append(opts, ooption.WithAPIKey("key-o"), ooption.WithMaxRetries(0),
		ooption.WithMiddleware(rec.middleware), ooption.WithHeader("x-sim-output-tokens", "21"))
	client := openai.NewClient(opts...)
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		//lint:ignore SA1019 a model the SDK still names and the simulator must serve
		Model:               openai.ChatModelGPT4o,
		MaxCompletionTokens: openai.Int(100),
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("Be terse."),
			openai.UserMessage("Say hello."),
		},
	}
	cc, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatalf("Chat.Completions.New: %v", err)
	}
	want, err := simtok.CountOpenAIRequest(rec.body())
	if err != nil {
		t.Fatal(err)
	}
	if cc.Usage.PromptTokens != want || cc.Usage.CompletionTokens != 21 || cc.Usage.TotalTokens != want+21 {
		t.Errorf("usage = %+v; want prompt %d completion 21", cc.Usage, want)
	}
	if len(cc.Choices) != 1 || cc.Choices[0].FinishReason != "stop" {
		t.Errorf("choices = %+v", cc.Choices)
	}

	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	_ = stream.Close()
	sw, _ := simtok.CountOpenAIRequest(rec.body())
	if acc.Usage.PromptTokens != sw || acc.Usage.CompletionTokens != 21 {
		t.Errorf("stream usage = %+v; want prompt %d completion 21", acc.Usage, sw)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content == "" {
		t.Errorf("stream choices = %+v", acc.Choices)
	}
	if c := s.Ledger().Counts("key-o", "gpt-4o"); c.Admitted != 2 {
		t.Errorf("ledger counts = %+v; want 2 admitted", c)
	}
	if got := s.Ledger().Usage("key-o", "gpt-4o", Tokens); got != want+sw+42 {
		t.Errorf("ledger tokens = %d; want %d", got, want+sw+42)
	}

	s.SetSpendLimited("key-o", true)
	_, err = client.Chat.Completions.New(ctx, params)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != "insufficient_quota" {
		t.Fatalf("spend-limited err = %v; want 429 insufficient_quota", err)
	}
	s.SetSpendLimited("key-o", false)
}

func TestOpenAISDKLoopback(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	url, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	testOpenAI(t, s, ooption.WithBaseURL(url+"/v1"))
}

func TestOpenAISDKTransport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testOpenAI(t, s, ooption.WithBaseURL("http://simapi.test/v1"),
			ooption.WithHTTPClient(&http.Client{Transport: s.Transport()}))
	})
}
