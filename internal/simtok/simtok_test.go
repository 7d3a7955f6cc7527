package simtok

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

func TestCountText(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"", 0},
		{"a", 1},
		{"the", 1},
		{"hello", 1},
		{"the house", 2},    // common words, the single space is free
		{"the  house", 3},   // a run of two spaces costs 1
		{"the\n\nhouse", 3}, // a run of line breaks costs 1
		{"12345", 2},        // 2 or 3 digits per token: 3+2 or 2+2+1 → 2 or 3
		{"{\"a\":1}", 5},    // `{"` a `":` 1 }
		{"=====", 2},        // a rule: 1 per 4
		{"東京", 2},
		{"\xff\xfe", 2}, // invalid UTF-8: 1 per byte
		{"\u200d", 1},
		{"\ufe0f", 0},
	}
	for _, tt := range tests {
		got := CountText(tt.in)
		if tt.in == "12345" {
			if got != 2 && got != 3 {
				t.Errorf("CountText(%q) = %d; want 2 or 3", tt.in, got)
			}
			continue
		}
		if tt.in == "東京" {
			if got < 2 || got > 4 {
				t.Errorf("CountText(%q) = %d; want 2..4", tt.in, got)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("CountText(%q) = %d; want %d", tt.in, got, tt.want)
		}
	}
}

func TestCountTextShape(t *testing.T) {
	prose := strings.Repeat("The quick brown fox jumps over the lazy dog, and then it runs into the forest to find something interesting. ", 50)
	code := strings.Repeat("func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {\n\tif err := json.Unmarshal(body, &req); err != nil {\n\t\treturn\n\t}\n}\n", 50)
	cjk := strings.Repeat("東京は日本の首都であり世界で最も人口の多い都市圏の一つです", 50)
	for name, s := range map[string]string{"prose": prose, "code": code} {
		n := CountText(s)
		bytesPerToken := float64(len(s)) / float64(n)
		if bytesPerToken < 2 || bytesPerToken > 6 {
			t.Errorf("%s: %.2f bytes per token; want 2..6", name, bytesPerToken)
		}
	}
	runes := float64(len([]rune(cjk)))
	if per := float64(CountText(cjk)) / runes; per < 1 || per > 1.5 {
		t.Errorf("cjk: %.2f tokens per character; want 1..1.5", per)
	}
	// Pinned counts: the calibration and accuracy figures of tokencount are
	// measured against this counter, so any change to it must be deliberate.
	for s, want := range map[string]int64{
		"The quick brown fox jumps over the lazy dog.": 10,
		"func main() { fmt.Println(\"hi\") }":          13,
		"東京は日本の首都です":                                   12,
		`{"id":12,"name":"user12"}`:                    12,
	} {
		if got := CountText(s); got != want {
			t.Errorf("CountText(%q) = %d; want %d (pinned)", s, got, want)
		}
	}
	a, b := CountText("internationalization"), CountText("extraordinarily")
	if a < 2 || b < 2 {
		t.Errorf("long words cost %d, %d; want >= 2", a, b)
	}
}

func pngBase64(t testing.TB, w, h int) string {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestImageConfig(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 33, 21))
	var jp, gf bytes.Buffer
	if err := jpeg.Encode(&jp, img, nil); err != nil {
		t.Fatal(err)
	}
	if err := gif.Encode(&gf, img, nil); err != nil {
		t.Fatal(err)
	}
	// WebP headers written by hand: VP8X, VP8L and VP8 first chunks.
	vp8x := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00\x20\x00\x00\x14\x00\x00")
	vp8l := append([]byte("RIFF\x00\x00\x00\x00WEBPVP8L\x00\x00\x00\x00\x2f"), le32(32|20<<14)...)
	vp8l = append(vp8l, make([]byte, 5)...)
	vp8 := []byte("RIFF\x00\x00\x00\x00WEBPVP8 \x00\x00\x00\x00\x00\x00\x00\x9d\x01\x2a\x21\x00\x15\x00")
	tests := []struct {
		name string
		b64  string
		w, h int
	}{
		{"png", pngBase64(t, 33, 21), 33, 21},
		{"jpeg", base64.StdEncoding.EncodeToString(jp.Bytes()), 33, 21},
		{"gif", base64.StdEncoding.EncodeToString(gf.Bytes()), 33, 21},
		{"webp-vp8x", base64.StdEncoding.EncodeToString(vp8x), 33, 21},
		{"webp-vp8l", base64.StdEncoding.EncodeToString(vp8l), 33, 21},
		{"webp-vp8", base64.StdEncoding.EncodeToString(vp8), 33, 21},
	}
	for _, tt := range tests {
		w, h, err := imageConfig(tt.b64)
		if err != nil || w != tt.w || h != tt.h {
			t.Errorf("%s: imageConfig = %d, %d, %v; want %d, %d", tt.name, w, h, err, tt.w, tt.h)
		}
	}
	if _, _, err := imageConfig("bm90IGFuIGltYWdl"); !errors.Is(err, errImage) {
		t.Errorf("imageConfig(garbage) err = %v; want errImage", err)
	}
}

func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

func TestAnthropicImageTokens(t *testing.T) {
	tests := []struct {
		w, h  int
		model string
		want  int64
	}{
		{1000, 1000, "claude-sonnet-4-5", 1334},
		{1092, 1092, "claude-sonnet-4-5", 1590},
		{200, 200, "claude-sonnet-4-5", 54},
		{4000, 4000, "claude-sonnet-4-5", 1599}, // scaled to the 1,600 cap
		{4000, 4000, "claude-opus-4-7", 4783},   // newer models allow more
		{8000, 100, "claude-haiku-4-5", 40},     // long edge 1568 → 1568×19
		{1000, 1000, "claude-opus-5", 1334},
	}
	for _, tt := range tests {
		if got := anthropicImageTokens(tt.w, tt.h, tt.model); got != tt.want {
			t.Errorf("anthropicImageTokens(%d, %d, %q) = %d; want %d", tt.w, tt.h, tt.model, got, tt.want)
		}
	}
}

func TestCountAnthropicRequest(t *testing.T) {
	base := func(content string) string {
		return `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":` + content + `}]}`
	}
	text := CountText("Hello, world")
	user := CountText("user")
	want := int64(RequestOverhead + MessageOverhead + user + text)
	for _, body := range []string{
		base(`"Hello, world"`),
		base(`[{"type":"text","text":"Hello, world","cache_control":{"type":"ephemeral"}}]`),
	} {
		got, err := CountAnthropicRequest([]byte(body))
		if err != nil || got != want {
			t.Errorf("CountAnthropicRequest(%s) = %d, %v; want %d", body, got, err, want)
		}
	}

	// System as a string or as blocks; escaping in tool input does not matter.
	sysStr := `{"model":"m","system":"Be brief.","messages":[]}`
	sysBlk := `{"model":"m","system":[{"type":"text","text":"Be brief."}],"messages":[]}`
	a, _ := CountAnthropicRequest([]byte(sysStr))
	b, _ := CountAnthropicRequest([]byte(sysBlk))
	if a != b || a != RequestOverhead+MessageOverhead+CountText("Be brief.") {
		t.Errorf("system string = %d, blocks = %d", a, b)
	}
	esc := base(`[{"type":"tool_use","id":"t1","name":"f","input":{"q":"\u003cb\u003e"}}]`)
	raw := base(`[{"type":"tool_use","id":"t1","name":"f","input":{"q":"<b>"}}]`)
	a, _ = CountAnthropicRequest([]byte(esc))
	b, _ = CountAnthropicRequest([]byte(raw))
	if a != b {
		t.Errorf("escaped tool input = %d, raw = %d; want equal", a, b)
	}

	// Images.
	img := base(`[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + pngBase64(t, 1000, 1000) + `"}}]`)
	got, err := CountAnthropicRequest([]byte(img))
	if w := int64(RequestOverhead + MessageOverhead + user + BlockOverhead + 1334); err != nil || got != w {
		t.Errorf("1000×1000 PNG: got %d, %v; want %d", got, err, w)
	}
	url := base(`[{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]`)
	got, _ = CountAnthropicRequest([]byte(url))
	if w := int64(RequestOverhead + MessageOverhead + user + BlockOverhead + URLImageTokens); got != w {
		t.Errorf("URL image: got %d; want %d", got, w)
	}

	// A 3-page PDF.
	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n1 0 obj <</Type /Pages /Count 3>>\n2 0 obj <</Type /Page>>\n3 0 obj <</Type /Page>>\n4 0 obj <</Type/Page>>\n%%EOF"))
	doc := base(`[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"` + pdf + `"}}]`)
	got, _ = CountAnthropicRequest([]byte(doc))
	if w := int64(RequestOverhead + MessageOverhead + user + BlockOverhead + 3*PDFPageTokens); got != w {
		t.Errorf("3-page PDF: got %d; want %d", got, w)
	}

	// Tools: the docs' get_weather example lands in the same region as the documented 403.
	tools := `{"model":"claude-sonnet-4-5","max_tokens":1024,"tools":[{"name":"get_weather","description":"Get the current weather in a given location","input_schema":{"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"}},"required":["location"]}}],"messages":[{"role":"user","content":"What's the weather like in San Francisco?"}]}`
	got, err = CountAnthropicRequest([]byte(tools))
	if err != nil || got < 300 || got > 500 {
		t.Errorf("get_weather example: got %d, %v; want 300..500", got, err)
	}

	for _, bad := range []string{``, `[]`, `{"messages":{}}`, `{"messages":[{"content":5}]}`, `{"system":7}`,
		base(`[{"type":"image"}]`), base(`[{"type":"image","source":{"type":"base64","data":"AAAA"}}]`)} {
		if _, err := CountAnthropicRequest([]byte(bad)); err == nil {
			t.Errorf("CountAnthropicRequest(%s): want error", bad)
		}
	}
	if _, err := CountAnthropicRequest([]byte(`{"messages":{}}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v; want ErrMalformed", err)
	}
}

func TestCountOpenAIRequest(t *testing.T) {
	str := `{"model":"gpt-4o","messages":[{"role":"user","content":"Hello, world"}]}`
	parts := `{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"Hello, world"}]}]}`
	want := int64(RequestOverhead + MessageOverhead + CountText("user") + CountText("Hello, world"))
	for _, body := range []string{str, parts} {
		if got, err := CountOpenAIRequest([]byte(body)); err != nil || got != want {
			t.Errorf("CountOpenAIRequest(%s) = %d, %v; want %d", body, got, err, want)
		}
	}
	img := func(url, detail string) int64 {
		body, _ := json.Marshal(map[string]any{"model": "gpt-4o", "messages": []any{map[string]any{"role": "user",
			"content": []any{map[string]any{"type": "image_url", "image_url": map[string]any{"url": url, "detail": detail}}}}}})
		n, err := CountOpenAIRequest(body)
		if err != nil {
			t.Fatal(err)
		}
		return n - int64(RequestOverhead+MessageOverhead+CountText("user"))
	}
	if got := img("https://example.com/x.png", "low"); got != 85 {
		t.Errorf("low detail = %d; want 85", got)
	}
	if got := img("data:image/png;base64,"+pngBase64(t, 1024, 1024), "high"); got != 765 {
		t.Errorf("1024×1024 high = %d; want 765", got)
	}
	if got := img("data:image/png;base64,"+pngBase64(t, 2048, 4096), "auto"); got != 1105 {
		t.Errorf("2048×4096 = %d; want 1105", got) // → 768×1536: 2×3 tiles
	}
	tools := `{"model":"gpt-4o","messages":[],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}`
	if got, _ := CountOpenAIRequest([]byte(tools)); got <= RequestOverhead+ToolOverhead {
		t.Errorf("tools = %d; want > %d", got, RequestOverhead+ToolOverhead)
	}
	if _, err := CountOpenAIRequest([]byte(`{"messages":[{"content":{}}]}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v; want ErrMalformed", err)
	}
}

func FuzzCountText(f *testing.F) {
	for _, s := range []string{"", "hello world", "東京 🎉 Москва", "{\"a\":[1,2]}\n\t\tx := y", "\xff\x00\u200d\ufe0f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := CountText(s)
		if n < 0 || n > 3*int64(len(s)) {
			t.Fatalf("CountText(%q) = %d; want 0..%d", s, n, 3*len(s))
		}
		if n != CountText(s) {
			t.Fatal("not deterministic")
		}
	})
}

func FuzzCountAnthropicRequest(f *testing.F) {
	f.Add([]byte(`{"model":"claude-sonnet-4-5","max_tokens":10,"system":"x","messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"iVBORw0KGgo="}},{"type":"document","source":{"type":"base64","data":"JVBERi0="}},{"type":"tool_result","content":[{"type":"text","text":"x"}]}]}],"tools":[{"name":"a","input_schema":{}}]}`))
	f.Add([]byte(`{"messages":[{"content":[{"type":"image","source":{"type":"base64","data":"UklGRgAAAABXRUJQVlA4WAoAAAAAAAAAIAAAFAAA"}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := CountAnthropicRequest(body)
		if err == nil && n < RequestOverhead {
			t.Fatalf("count %d below the request overhead", n)
		}
	})
}

func FuzzCountOpenAIRequest(f *testing.F) {
	f.Add([]byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi","name":"n"}],"functions":[{"name":"f"}]}`))
	f.Add([]byte(`{"messages":[{"content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0="}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := CountOpenAIRequest(body)
		if err == nil && n < RequestOverhead {
			t.Fatalf("count %d below the request overhead", n)
		}
	})
}

func ExampleCountAnthropicRequest() {
	n, err := CountAnthropicRequest([]byte(`{"model":"claude-sonnet-4-5","max_tokens":100,
		"messages":[{"role":"user","content":"Hello, Claude"}]}`))
	fmt.Println(n, err)
	// Output: 15 <nil>
}
