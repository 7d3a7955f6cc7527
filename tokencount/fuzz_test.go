package tokencount

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/ratekeeper/ratekeeper/tier"
)

func checkEstimate(t *testing.T, est Estimate, err error) {
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error %v matches neither ErrMalformed nor ErrTooLarge", err)
		}
		return
	}
	v := est.Features.vector()
	for j, x := range v {
		if x < 0 {
			t.Fatalf("feature %s = %v < 0", featureNames[j], x)
		}
	}
	if est.InputTokens < 1 || est.PointTokens < 1 || est.InputTokens < est.PointTokens || est.OutputReserve < 0 || est.MaxTokens < 0 || est.OutputReserve > MaxOutputTokens {
		t.Fatalf("estimate %+v: want 1 ≤ PointTokens ≤ InputTokens, OutputReserve ≥ 0", est)
	}
}

func seedBodies(f *testing.F) {
	f.Add([]byte(`{"model":"claude-sonnet-4-5","max_tokens":10,"system":"s","messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNiAAAABgADNjd8qAAAAABJRU5ErkJggg=="}},{"type":"tool_result","tool_use_id":"x","content":[{"type":"text","text":"\u00e9\n"}]}]}]}`))
	f.Add([]byte(`{"model":"gpt-4o","n":2,"max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],"tools":[{"type":"function","function":{"name":"f","parameters":{}}}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"content":[{"type":"document","source":{"type":"base64","data":"JVBERi0xLjQKL1R5cGUgL1BhZ2UK"}}]}]}`))
	f.Add([]byte(`[1,2,{"a":"\ud800"}]`))
}

func FuzzEstimateAnthropic(f *testing.F) {
	seedBodies(f)
	e, _ := New()
	f.Fuzz(func(t *testing.T, body []byte) {
		est, err := e.EstimateAnthropic(body)
		checkEstimate(t, est, err)
		if err == nil && !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
	})
}

func FuzzEstimateOpenAI(f *testing.F) {
	seedBodies(f)
	e, _ := New()
	f.Fuzz(func(t *testing.T, body []byte) {
		est, err := e.EstimateOpenAI(body)
		checkEstimate(t, est, err)
		if err == nil && !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
	})
}

// FuzzLexer checks the lexer against encoding/json: it accepts exactly valid JSON.
func FuzzLexer(f *testing.F) {
	for _, s := range []string{`{}`, `[1,-2.5e3,"x\u00e9",true,null]`, `{"a":{"b":[]}}`, `"\ud83d\ude00"`, `01`, `1.`, `"\x01"`, `[1,]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l := &lexer{b: b}
		_, err := l.skip()
		if err == nil {
			err = l.end()
		}
		if valid := json.Valid(b); valid != (err == nil) && l.depth <= maxDepth {
			// Nesting beyond maxDepth is rejected on purpose.
			var me *MalformedError
			if !(errors.As(err, &me) && me.Reason == "nesting too deep") {
				t.Fatalf("lexer err = %v, json.Valid = %v for %q", err, valid, b)
			}
		}
	})
}

func FuzzImageSize(f *testing.F) {
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x00\x80"))
	f.Add([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xc0\x00\x11\x08\x00\x10\x00\x20"))
	f.Add([]byte("GIF89a\x10\x00\x20\x00"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00\x0f\x00\x00\x1f\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, src := range []source{plainSource(data), newB64Source([]byte(base64.StdEncoding.EncodeToString(data))), newB64Source(data)} {
			w, h, err := imageSize(src)
			if err == nil && (w <= 0 || h <= 0) {
				t.Fatalf("imageSize = %d, %d with no error", w, h)
			}
			for _, r := range []imageRule{ruleClaudeClassic, ruleClaudeLarge, ruleOpenAITiles, {kind: imageOpenAIPatches, maxTokens: 1536, mult: 1.6}} {
				if n := r.tokens(w, h, false); n < 1 {
					t.Fatalf("tokens(%d, %d) = %d", w, h, n)
				}
			}
			if p := pdfPages(src); p < 1 || p > maxPDFPages {
				t.Fatalf("pdfPages = %d", p)
			}
		}
	})
}

// FuzzExtremes: max_tokens, n, thinking budgets and usage figures anywhere in
// the int64 range never overflow an estimate, never panic, and never reach
// the calibrator when they cannot be true: the estimate of a fixed request
// is the same after Observe as before when the usage is implausible.
func FuzzExtremes(f *testing.F) {
	f.Add(int64(10), int64(1), int64(0), int64(5), int64(2))
	f.Add(int64(math.MaxInt64), int64(1), int64(0), int64(5), int64(2))
	f.Add(int64(1000), int64(math.MaxInt64), int64(0), int64(5), int64(2))
	f.Add(int64(1<<39), int64(4), int64(1<<38), int64(99999999999999999), int64(math.MaxInt64))
	f.Add(int64(0), int64(0), int64(math.MaxInt64), int64(math.MinInt64), int64(-1))
	f.Fuzz(func(t *testing.T, maxTokens, n, budget, usedIn, usedOut int64) {
		e, _ := New(WithOutputPolicy(ReserveLearned(0.9)))
		probe := []byte(`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
		before, err := e.EstimateAnthropic(probe)
		if err != nil {
			t.Fatal(err)
		}
		bodies := []struct {
			p    tier.Provider
			body string
		}{
			{tier.Anthropic, fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":%d,"thinking":{"type":"enabled","budget_tokens":%d},"messages":[{"role":"user","content":"hi"}]}`, maxTokens, budget)},
			{tier.Anthropic, fmt.Sprintf(`{"model":"claude-unknown-9","max_tokens":%d,"messages":[{"role":"user","content":"hi"}]}`, maxTokens)},
			{tier.OpenAI, fmt.Sprintf(`{"model":"gpt-4o","n":%d,"max_completion_tokens":%d,"messages":[{"role":"user","content":"hi"}]}`, n, maxTokens)},
			{tier.OpenAI, fmt.Sprintf(`{"model":"gpt-unknown","n":%d,"messages":[{"role":"user","content":"hi"}]}`, n)},
		}
		for _, b := range bodies {
			var est Estimate
			var err error
			if b.p == tier.Anthropic {
				est, err = e.EstimateAnthropic([]byte(b.body))
			} else {
				est, err = e.EstimateOpenAI([]byte(b.body))
			}
			checkEstimate(t, est, err)
			if err != nil {
				if (maxTokens >= 0 && n >= 0 && budget >= 0) && errors.Is(err, ErrMalformed) {
					t.Fatalf("%s: %v", b.body, err)
				}
				continue
			}
			if est.MaxInputTokens <= 0 || est.MaxOutputTokens < 0 || est.MaxOutputTokens > MaxOutputTokens || est.OutputReserve > est.MaxOutputTokens {
				t.Fatalf("%s: bounds %d/%d, reserve %d", b.body, est.MaxInputTokens, est.MaxOutputTokens, est.OutputReserve)
			}
			if est.PointTokens+est.MaxTokens > est.MaxInputTokens && est.MaxInputTokens != DefaultMaxInputTokens {
				t.Fatalf("%s: %d + %d tokens admitted into a window of %d", b.body, est.PointTokens, est.MaxTokens, est.MaxInputTokens)
			}
			inOK, outOK := est.Plausible(usedIn, usedOut)
			e.Observe(est, usedIn, usedOut)
			if b.p == tier.Anthropic && !inOK && !outOK {
				after, err := e.EstimateAnthropic(probe)
				if err != nil || after.InputTokens != before.InputTokens || after.OutputReserve != before.OutputReserve {
					t.Fatalf("an implausible usage (%d in, %d out) moved the estimate from %+v to %+v (%v)", usedIn, usedOut, before, after, err)
				}
			}
		}
	})
}
