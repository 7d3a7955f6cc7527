package main

import (
	"bytes"
	"fmt"
	"math"
	"strings"
)

// ---------------------------------------------------------------------------------------
// openai-50

type openAIRequest struct {
	Model               string          `json:"model"`
	Messages            []openAIMessage `json:"messages"`
	MaxTokens           int             `json:"max_tokens,omitempty"`
	MaxCompletionTokens int             `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	ResponseFormat      *responseFormat `json:"response_format,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *streamOptions  `json:"stream_options,omitempty"`
}

type openAIMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type responseFormat struct {
	Type string `json:"type"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type openAIBatchLine struct {
	CustomID string         `json:"custom_id"`
	Method   string         `json:"method"`
	URL      string         `json:"url"`
	Body     *openAIRequest `json:"body"`
}

// openAIFile writes 50 Chat Completions requests: even lines plain (5 of them streaming
// with usage), odd lines in the Batch API's file shape.
func openAIFile() ([]byte, error) {
	var buf bytes.Buffer
	kinds := []string{"sum", "tr", "cls", "rev-go", "rev-py", "ext", "zh", "ru", "qa"}
	for i := range 50 {
		g := newGen(seedOpenAI, uint64(i+1))
		kind := kinds[g.r.IntN(len(kinds))]
		model := "gpt-4o-mini"
		if g.chance(0.4) {
			model = "gpt-4.1"
		}
		// Reuse the Claude builders, then flatten to system and user strings.
		tokens := int(math.Exp(math.Log(100) + g.r.Float64()*(math.Log(4200)-math.Log(100))))
		var c claudeRequest
		g.build(&c, kind, tokens, i)
		req := &openAIRequest{Model: model, Messages: flattenForOpenAI(&c, g.system(sysChat))}
		mt := []int{256, 512, 1024, 2048}[g.r.IntN(4)]
		if g.chance(0.5) {
			req.MaxCompletionTokens = mt
		} else {
			req.MaxTokens = mt
		}
		req.Temperature = g.temperature(kind)
		if kind == "ext" || kind == "cls" {
			req.ResponseFormat = &responseFormat{Type: "json_object"}
		}
		if i%2 == 1 {
			if err := encode(&buf, openAIBatchLine{CustomID: fmt.Sprintf("oai-%04d", i+1), Method: "POST", URL: "/v1/chat/completions", Body: req}); err != nil {
				return nil, err
			}
			continue
		}
		if i%10 == 0 {
			req.Stream = true
			req.StreamOptions = &streamOptions{IncludeUsage: true}
		}
		if err := encode(&buf, req); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// flattenForOpenAI turns a Claude request built by the task builders into OpenAI
// messages: a system message (the Claude system prompt, or def) and the turns as strings.
func flattenForOpenAI(c *claudeRequest, def string) []openAIMessage {
	sys := def
	switch s := c.System.(type) {
	case string:
		sys = s
	case []block:
		var parts []string
		for _, b := range s {
			parts = append(parts, b.Text)
		}
		sys = strings.Join(parts, "\n")
	}
	msgs := []openAIMessage{{Role: "system", Content: sys}}
	for _, m := range c.Messages {
		var content string
		switch v := m.Content.(type) {
		case string:
			content = v
		case []block:
			var parts []string
			for _, b := range v {
				if b.Type == "text" {
					parts = append(parts, b.Text)
				}
			}
			content = strings.Join(parts, "\n\n")
		}
		msgs = append(msgs, openAIMessage{Role: m.Role, Content: content})
	}
	return msgs
}
