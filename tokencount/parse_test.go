package tokencount

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ratekeeper/ratekeeper/tier"
)

func mustNew(t testing.TB, opts ...Option) *Estimator {
	t.Helper()
	e, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestAnthropicShapes(t *testing.T) {
	e := mustNew(t)
	png1000 := b64PNG(t, 1000, 1000)
	tests := []struct {
		name string
		body string
		want Features // compared on the structural fields only
		est  func(Estimate) string
	}{
		{
			name: "string system and content",
			body: `{"model":"claude-sonnet-4-5","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"Hello, world"}]}`,
			want: Features{Messages: 2},
		},
		{
			name: "blocks, tools, thinking, stream",
			body: `{"model":"claude-opus-4-1","max_tokens":2000,"stream":true,"thinking":{"type":"enabled","budget_tokens":1024},
				"system":[{"type":"text","text":"sys","cache_control":{"type":"ephemeral"}}],
				"tools":[{"name":"get_weather","description":"Weather.","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}},{"type":"web_search_20250305","name":"web_search","max_uses":3}],
				"tool_choice":{"type":"auto"},
				"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]},
					{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"tool_use","id":"t1","name":"get_weather","input":{"city":"Paris"}}]},
					{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","is_error":false,"content":[{"type":"text","text":"sunny"}]}]}]}`,
			want: Features{Messages: 4, Blocks: 3, Tools: 2},
			est: func(e Estimate) string {
				if !e.Stream || e.ThinkingBudget != 1024 || e.MaxTokens != 2000 {
					return "stream/thinking/max_tokens not read"
				}
				return ""
			},
		},
		{
			name: "images: base64, url",
			body: `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":[
				{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + png1000 + `"}},
				{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]}]}`,
			want: Features{Messages: 1, Blocks: 2, Images: 2, ImageTokens: 1334 + 1600},
		},
		{
			name: "documents: pdf, text, url",
			body: `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":[
				{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"` + base64.StdEncoding.EncodeToString(fakePDF(3)) + `"}},
				{"type":"document","source":{"type":"text","media_type":"text/plain","data":"plain text"},"title":"T"},
				{"type":"document","source":{"type":"url","url":"https://example.com/a.pdf"}}]}]}`,
			want: Features{Messages: 1, Blocks: 3, DocumentPages: 3 + defaultDocumentPages},
		},
		{
			name: "unknown block type counted as text",
			body: `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":[{"type":"hologram","payload":"abc def"}]}]}`,
			want: Features{Messages: 1, Blocks: 1},
			est: func(e Estimate) string {
				if e.Features.Words < 3 {
					return "unknown block's text not counted"
				}
				return ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			est, err := e.EstimateAnthropic([]byte(tt.body))
			if err != nil {
				t.Fatalf("EstimateAnthropic: %v", err)
			}
			got := Features{Messages: est.Features.Messages, Blocks: est.Features.Blocks, Tools: est.Features.Tools,
				Images: est.Features.Images, ImageTokens: est.Features.ImageTokens, DocumentPages: est.Features.DocumentPages}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("features (-want +got):\n%s", d)
			}
			if est.InputTokens <= est.PointTokens || est.PointTokens <= 0 {
				t.Errorf("InputTokens %d, PointTokens %d; want InputTokens > PointTokens > 0", est.InputTokens, est.PointTokens)
			}
			if tt.est != nil {
				if msg := tt.est(est); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
}

func TestStringAndBlockFormsAgree(t *testing.T) {
	e := mustNew(t)
	a, err := e.EstimateAnthropic([]byte(`{"model":"claude-sonnet-4-5","max_tokens":5,"system":"You are <terse> & kind.","messages":[{"role":"user","content":"héllo 世界 мир\n\tcode()"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.EstimateAnthropic([]byte(`{"model":"claude-sonnet-4-5","max_tokens":5,"system":[{"type":"text","text":"You are \u003cterse\u003e \u0026 kind."}],"messages":[{"role":"user","content":[{"type":"text","text":"h\u00e9llo \u4e16\u754c \u043c\u0438\u0440\n\tcode()"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a.Features, b.Features); d != "" {
		t.Errorf("string vs block/escaped forms differ (-string +blocks):\n%s", d)
	}
}

func TestOpenAIShapes(t *testing.T) {
	e := mustNew(t)
	body := `{"model":"gpt-4o","max_tokens":50,"max_completion_tokens":100,"n":3,"stream":true,
		"messages":[{"role":"system","content":"sys"},
			{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` + b64PNG(t, 1024, 1024) + `","detail":"high"}},{"type":"image_url","image_url":{"url":"https://x/y.png","detail":"low"}}]},
			{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
			{"role":"tool","tool_call_id":"c1","content":"42"}],
		"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"}}}]}`
	est, err := e.EstimateOpenAI([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	f := est.Features
	// 1024x1024 high: scaled to 768x768, 4 tiles: 85+4*170 = 765; low: 85.
	if f.Messages != 4 || f.Tools != 1 || f.Images != 2 || f.ImageTokens != 765+85 {
		t.Errorf("features = %+v; want 4 messages, 1 tool, 2 images, 850 image tokens", f)
	}
	if est.MaxTokens != 100 || est.Choices != 3 || est.OutputReserve != 300 || !est.Stream {
		t.Errorf("MaxTokens=%d Choices=%d OutputReserve=%d Stream=%v; want 100, 3, 300, true", est.MaxTokens, est.Choices, est.OutputReserve, est.Stream)
	}
	// No max tokens: the model's default output reservation.
	est, err = e.EstimateOpenAI([]byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}`))
	if err != nil || est.OutputReserve != 16384 {
		t.Errorf("OutputReserve = %d, %v; want 16384", est.OutputReserve, err)
	}
}

func TestMalformed(t *testing.T) {
	e := mustNew(t)
	tests := []struct {
		body, path string
	}{
		{``, ""},
		{`{`, ""},
		{`[]`, ""},
		{`{"model":"m","max_tokens":1,"messages":[]} x`, ""},
		{`{"model":"m","max_tokens":1}`, "messages"},
		{`{"max_tokens":1,"messages":[]}`, "model"},
		{`{"model":"m","messages":[]}`, "max_tokens"},
		{`{"model":"m","max_tokens":-1,"messages":[]}`, "max_tokens"},
		{`{"model":"m","max_tokens":1.5,"messages":[]}`, "max_tokens"},
		{`{"model":"m","max_tokens":1,"messages":{}}`, "messages"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":7}]}`, "messages[0].content"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"text":"x"}]}]}`, "messages[0].content[0].type"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image"}]}]}`, "messages[0].content[0].source"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"a\u12"}]}`, "messages[0].content"},
	}
	for _, tt := range tests {
		_, err := e.EstimateAnthropic([]byte(tt.body))
		var me *MalformedError
		if !errors.Is(err, ErrMalformed) || !errors.As(err, &me) {
			t.Errorf("EstimateAnthropic(%q) = %v; want ErrMalformed", tt.body, err)
			continue
		}
		if me.Path != tt.path {
			t.Errorf("EstimateAnthropic(%q): path %q; want %q (%v)", tt.body, me.Path, tt.path, err)
		}
	}
	if _, err := e.EstimateOpenAI([]byte(`{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":1}]}]}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("EstimateOpenAI(text: 1) = %v; want ErrMalformed", err)
	}
}

func TestTooLarge(t *testing.T) {
	e := mustNew(t, WithModelLimits("claude-tiny", Limits{ContextWindow: 1000, MaxBodyBytes: 1 << 20}))
	_, err := e.EstimateAnthropic([]byte(`{"model":"claude-tiny-1","max_tokens":990,"messages":[{"role":"user","content":"` + strings.Repeat("word ", 50) + `"}]}`))
	var tl *TooLargeError
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &tl) || tl.What != WhatContextWindow || tl.Limit != 1000 || tl.Need <= 1000 {
		t.Errorf("context window: err = %v; want *TooLargeError{What: context_window, Limit: 1000}", err)
	}
	if _, err := e.EstimateAnthropic([]byte(`{"model":"claude-tiny-1","max_tokens":10,"messages":[{"role":"user","content":"ok"}]}`)); err != nil {
		t.Errorf("small request: %v", err)
	}
	big := make([]byte, 32<<20+1)
	_, err = e.EstimateAnthropic(big)
	if !errors.As(err, &tl) || tl.What != WhatBodyBytes || tl.Need != int64(len(big)) {
		t.Errorf("body size: err = %v; want *TooLargeError{What: body_bytes}", err)
	}
	body := []byte(`{"model":"claude-tiny-1","max_tokens":1,"messages":[{"role":"user","content":"` + strings.Repeat("x", 2<<20) + `"}]}`)
	if _, err = e.EstimateAnthropic(body); !errors.As(err, &tl) || tl.What != WhatBodyBytes || tl.Limit != 1<<20 {
		t.Errorf("model body limit: err = %v; want body_bytes with limit 1 MiB", err)
	}
}

// TestTooLargeAtInt64Extremes: a max_tokens or n near the int64 range must
// not wrap the context-window sum or the output product into an accepted
// request (it used to, and then failed later with limiter.ErrInvalidCost).
func TestTooLargeAtInt64Extremes(t *testing.T) {
	e := mustNew(t)
	cases := []struct {
		name     string
		provider tier.Provider
		body     string
		what     string
	}{
		{"claude max_tokens MaxInt64", tier.Anthropic, `{"model":"claude-sonnet-4-5","max_tokens":9223372036854775807,"messages":[{"role":"user","content":"hi"}]}`, WhatContextWindow},
		{"claude unknown model max_tokens MaxInt64", tier.Anthropic, `{"model":"claude-next-1","max_tokens":9223372036854775807,"messages":[{"role":"user","content":"hi"}]}`, WhatContextWindow},
		{"openai max_tokens MaxInt64", tier.OpenAI, `{"model":"gpt-4o","max_completion_tokens":9223372036854775807,"messages":[{"role":"user","content":"hi"}]}`, WhatContextWindow},
		{"openai n × max_tokens overflows", tier.OpenAI, `{"model":"gpt-4o","n":9223372036854775807,"max_completion_tokens":1000,"messages":[{"role":"user","content":"hi"}]}`, WhatOutputTokens},
		{"openai n × default output, unknown model", tier.OpenAI, `{"model":"gpt-next","n":4611686018427387904,"messages":[{"role":"user","content":"hi"}]}`, WhatOutputTokens},
		{"openai unknown model max_tokens MaxInt64", tier.OpenAI, `{"model":"gpt-next","max_tokens":9223372036854775807,"messages":[{"role":"user","content":"hi"}]}`, WhatOutputTokens},
	}
	for _, c := range cases {
		var err error
		var est Estimate
		if c.provider == tier.Anthropic {
			est, err = e.EstimateAnthropic([]byte(c.body))
		} else {
			est, err = e.EstimateOpenAI([]byte(c.body))
		}
		var tl *TooLargeError
		if !errors.As(err, &tl) || tl.What != c.what || tl.Need <= tl.Limit {
			t.Errorf("%s: Estimate = %+v, %v; want a *TooLargeError{What: %s}", c.name, est, err, c.what)
		}
	}
}

func TestImageSize(t *testing.T) {
	img := image.NewPaletted(image.Rect(0, 0, 123, 45), color.Palette{color.Black, color.White})
	var pb, jb, gb bytes.Buffer
	png.Encode(&pb, img)
	jpeg.Encode(&jb, img, nil)
	gif.Encode(&gb, img, nil)
	webpVP8X := append([]byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00"), 122, 0, 0, 44, 0, 0)
	// VP8L: 14-bit width-1 and height-1 after the 0x2f signature.
	bits := uint32(122) | uint32(44)<<14
	webpVP8L := append([]byte("RIFF\x00\x00\x00\x00WEBPVP8L\x00\x00\x00\x00\x2f"), byte(bits), byte(bits>>8), byte(bits>>16), byte(bits>>24), 0, 0, 0, 0, 0)
	webpVP8 := append([]byte("RIFF\x00\x00\x00\x00WEBPVP8 \x00\x00\x00\x00\x00\x00\x00\x9d\x01\x2a"), 123, 0, 45, 0)
	for name, data := range map[string][]byte{"png": pb.Bytes(), "jpeg": jb.Bytes(), "gif": gb.Bytes(), "webp-vp8x": webpVP8X, "webp-vp8l": webpVP8L, "webp-vp8": webpVP8} {
		for _, src := range []source{plainSource(data), newB64Source([]byte(base64.StdEncoding.EncodeToString(data))), newB64Source([]byte(base64.RawStdEncoding.EncodeToString(data)))} {
			w, h, err := imageSize(src)
			if err != nil || w != 123 || h != 45 {
				t.Errorf("%s (%T): imageSize = %d, %d, %v; want 123, 45", name, src, w, h, err)
			}
		}
	}
	if _, _, err := imageSize(plainSource("not an image")); err == nil {
		t.Error("imageSize(garbage) succeeded")
	}
}

func TestImageTokens(t *testing.T) {
	tests := []struct {
		rule imageRule
		w, h int
		low  bool
		want int64
	}{
		{ruleClaudeClassic, 1000, 1000, false, 1334},
		{ruleClaudeClassic, 1092, 1092, false, 1590},
		{ruleClaudeClassic, 4000, 3000, false, 1600}, // downscaled, capped
		{ruleClaudeClassic, 0, 0, false, 1600},       // unknown size
		{ruleClaudeLarge, 1000, 1000, false, 1296},   // 36x36 patches of 28 px
		{ruleClaudeLarge, 5000, 5000, false, 4784},
		{ruleOpenAITiles, 1024, 1024, false, 765},
		{ruleOpenAITiles, 2048, 4096, false, 1105}, // 1024x2048 → 768x1536: 2x3 tiles
		{ruleOpenAITiles, 4096, 4096, true, 85},
		{ruleOpenAITilesMini, 512, 512, false, 2833 + 5667},
	}
	for _, tt := range tests {
		if got := tt.rule.tokens(tt.w, tt.h, tt.low); got != tt.want {
			t.Errorf("%+v.tokens(%d, %d, %v) = %d; want %d", tt.rule, tt.w, tt.h, tt.low, got, tt.want)
		}
	}
}

func TestPDFPages(t *testing.T) {
	for _, n := range []int{1, 7, 120, 700} {
		want := int64(min(n, maxPDFPages))
		if got := pdfPages(plainSource(fakePDF(n))); got != want {
			t.Errorf("pdfPages(%d pages) = %d; want %d", n, got, want)
		}
		b64 := newB64Source([]byte(base64.StdEncoding.EncodeToString(fakePDF(n))))
		if got := pdfPages(b64); got != want {
			t.Errorf("pdfPages(base64, %d pages) = %d; want %d", n, got, want)
		}
	}
}

func TestCalibrationKey(t *testing.T) {
	for in, want := range map[string]string{
		"claude-sonnet-4-5-20250929": "claude-sonnet-4-5",
		"claude-3-5-haiku-latest":    "claude-3-5-haiku",
		"gpt-4o-2024-08-06":          "gpt-4o",
		"gpt-4o":                     "gpt-4o",
	} {
		if got := calibrationKey(in); got != want {
			t.Errorf("calibrationKey(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestUnescape(t *testing.T) {
	for _, s := range []string{`plain`, `a\nb\t\"q\"\\\/`, `\u00e9\u4e16\ud83d\ude00`, `\ud800x`} {
		var want string
		if err := json.Unmarshal([]byte(`"`+s+`"`), &want); err != nil {
			t.Fatal(err)
		}
		if got := string(unescape(nil, []byte(s))); got != want {
			t.Errorf("unescape(%q) = %q; want %q", s, got, want)
		}
	}
}

func b64PNG(t testing.TB, w, h int) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// fakePDF returns a minimal PDF-like file with n page objects and a page tree.
func fakePDF(n int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n")
	b.WriteString("2 0 obj << /Type /Pages /Kids [] /Count ")
	b.WriteString(strings.TrimSpace(strings.Repeat(" ", 0)) + itoa(n) + " >> endobj\n")
	for i := range n {
		b.WriteString(itoa(i+3) + " 0 obj << /Type /Page /Parent 2 0 R /Contents (" + strings.Repeat("text ", 20) + ") >> endobj\n")
	}
	b.WriteString("%%EOF\n")
	return b.Bytes()
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
