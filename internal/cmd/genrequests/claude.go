package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The request types. Struct fields are marshalled in declaration order, so every line
// has its keys in the order a hand-written request would.

type claudeRequest struct {
	Model       string    `json:"model,omitempty"`
	MaxTokens   int       `json:"max_tokens,omitempty"`
	System      any       `json:"system,omitempty"` // string or []block
	Messages    []message `json:"messages"`
	Tools       []tool    `json:"tools,omitempty"`
	Temperature *float64  `json:"temperature,omitempty"`
	Stream      bool      `json:"stream,omitempty"`
}

type batchLine struct {
	CustomID string         `json:"custom_id"`
	Params   *claudeRequest `json:"params"`
}

type message struct {
	Role    string `json:"role"`
	Content any    `json:"content"` // string or []block
}

type block struct {
	Type         string          `json:"type"`
	Text         string          `json:"text,omitempty"`
	Source       *source         `json:"source,omitempty"`
	Title        string          `json:"title,omitempty"`
	ID           string          `json:"id,omitempty"`
	Name         string          `json:"name,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	ToolUseID    string          `json:"tool_use_id,omitempty"`
	Content      string          `json:"content,omitempty"`
	CacheControl *cacheControl   `json:"cache_control,omitempty"`
}

type source struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
}

type cacheControl struct {
	Type string `json:"type"`
}

type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

func text(s string) block { return block{Type: "text", Text: s} }

func user(content any) message      { return message{Role: "user", Content: content} }
func assistant(content any) message { return message{Role: "assistant", Content: content} }

// ---------------------------------------------------------------------------------------
// System prompts and instructions

var (
	sysSummarize = []string{
		"You are a careful analyst at %s. Summaries must be factual, concise and written in plain English. Do not speculate beyond the source text, and flag any figures that look inconsistent.",
		"You write executive briefings for the leadership team of %s. Lead with the decision that is needed, then the supporting facts. Keep every bullet under 25 words.",
		"You are an assistant that condenses long internal documents for busy readers at %s. Preserve names, dates and amounts exactly as written.",
	}
	sysTranslate = []string{
		"You are a professional translator working for %s. Translate faithfully, keep the original formatting (headings, lists, line breaks) and do not translate product names, code or URLs.",
		"You are a localisation specialist at %s. Produce natural, idiomatic text for native readers; keep numbers, dates and currency amounts unchanged.",
	}
	sysClassify = []string{
		"You are a support ticket router for %s. Reply with a single JSON object and nothing else.",
		"You label customer feedback for %s. Use only the labels you are given. Respond in JSON.",
	}
	sysReview = []string{
		"You are a senior software engineer at %s doing code review. Point out bugs, race conditions, error-handling gaps and non-idiomatic code. Be specific: quote the line and propose a fix.",
		"You review pull requests for %s. Focus on correctness and maintainability; ignore formatting that a formatter would fix. Group comments by severity (blocking, suggestion, nit).",
	}
	sysExtract = []string{
		"You are a data extraction engine for %s. Output valid JSON that matches the requested shape exactly. Never add commentary, and use null for missing values.",
		"You convert semi-structured exports into clean JSON for the analytics team at %s. Output JSON only.",
	}
	sysChat = []string{
		"You are a helpful assistant for employees of %s. Answer clearly and briefly, and ask a clarifying question when the request is ambiguous.",
		"You are the internal IT helpdesk assistant of %s. Give step-by-step instructions and mention when the user should open a ticket instead.",
	}
	sysQA = []string{
		"Answer the question using only the numbered passages in the context. Cite passages like [2]. If the answer is not in the context, say that you do not know.",
		"You are a research assistant for %s. Base every claim on the provided sources and cite them by number.",
	}
	audiences = []string{"the executive team", "new team members", "the board", "a customer newsletter", "the engineering all-hands", "the legal department"}
	docTypes  = []string{"meeting notes", "incident report", "quarterly business review", "customer support transcript", "research summary", "news article", "product requirements document", "vendor contract excerpt", "project status update"}
	languages = []string{"German", "French", "Spanish", "Japanese", "Portuguese", "Italian", "Dutch", "Polish"}
)

func (g *gen) system(list []string) string {
	s := g.pick(list)
	if strings.Contains(s, "%s") {
		s = fmt.Sprintf(s, g.pick(enCompanies))
	}
	return s
}

// systemField returns the system prompt as a string or as text blocks (the first with
// cache_control, as a client that caches its prefix sends it), or nil for none.
func (g *gen) systemField(list []string, pNone float64) any {
	if g.chance(pNone) {
		return nil
	}
	s := g.system(list)
	if g.chance(0.6) {
		return s
	}
	blocks := []block{{Type: "text", Text: s, CacheControl: &cacheControl{Type: "ephemeral"}}}
	if g.chance(0.5) {
		blocks = append(blocks, text(fmt.Sprintf("Today's date is 2025-%02d-%02d. The user's locale is %s.", g.intn(1, 12), g.intn(1, 28), g.pick([]string{"en-US", "en-GB", "de-DE", "fr-FR", "ja-JP"}))))
	}
	return blocks
}
