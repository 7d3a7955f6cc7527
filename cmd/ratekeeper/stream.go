package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/anthropics/anthropic-sdk-go/v2/packages/ssestream"

	"github.com/ratekeeper/ratekeeper/tier"
)

// errStream is what a stream that ends in an error event, or before its
// end, matches.
var errStream = errors.New("stream")

// assemble reads a streamed response to its end and returns the response
// that the same request without "stream" would have had: a Claude message,
// or an OpenAI chat completion. The SSE framing is the SDK's decoder.
func assemble(p tier.Provider, resp *http.Response) (json.RawMessage, error) {
	dec := ssestream.NewDecoder(resp)
	if dec == nil {
		return nil, fmt.Errorf("%w: content-type %q is not an event stream", errStream, resp.Header.Get("content-type"))
	}
	defer dec.Close()
	if p == tier.OpenAI {
		return assembleOpenAI(dec)
	}
	return assembleAnthropic(dec)
}

// assembleAnthropic assembles a Messages stream: message_start, then
// content blocks (text, tool_use with input_json_delta, thinking), then
// message_delta with the stop reason and the cumulative usage.
func assembleAnthropic(dec ssestream.Decoder) (json.RawMessage, error) {
	var msg map[string]any
	blocks := map[int]map[string]any{}
	partial := map[int]string{} // tool_use input, as streamed
	stopped := false
	for dec.Next() {
		ev := dec.Event()
		var e struct {
			Type         string          `json:"type"`
			Index        int             `json:"index"`
			Message      map[string]any  `json:"message"`
			ContentBlock map[string]any  `json:"content_block"`
			Delta        map[string]any  `json:"delta"`
			Usage        map[string]any  `json:"usage"`
			Error        json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			return nil, fmt.Errorf("%w: event %q: %v", errStream, ev.Type, err)
		}
		switch e.Type {
		case "message_start":
			msg = e.Message
		case "content_block_start":
			if e.ContentBlock != nil {
				blocks[e.Index] = e.ContentBlock
			}
		case "content_block_delta":
			b := blocks[e.Index]
			if b == nil {
				b = map[string]any{}
				blocks[e.Index] = b
			}
			appendDelta(b, e.Delta, e.Index, partial)
		case "content_block_stop":
			if s, ok := partial[e.Index]; ok && blocks[e.Index] != nil {
				var input any
				if json.Unmarshal([]byte(s), &input) == nil {
					blocks[e.Index]["input"] = input
				}
			}
		case "message_delta":
			if msg == nil {
				msg = map[string]any{}
			}
			for k, v := range e.Delta {
				msg[k] = v
			}
			if e.Usage != nil {
				u, _ := msg["usage"].(map[string]any)
				if u == nil {
					u = map[string]any{}
				}
				for k, v := range e.Usage {
					if v != nil {
						u[k] = v
					}
				}
				msg["usage"] = u
			}
		case "message_stop":
			stopped = true
		case "error":
			return nil, fmt.Errorf("%w: error event: %s", errStream, e.Error)
		}
	}
	if err := dec.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", errStream, err)
	}
	if msg == nil || !stopped {
		return nil, fmt.Errorf("%w: ended before message_stop", errStream)
	}
	idx := make([]int, 0, len(blocks))
	for i := range blocks {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	content := make([]any, 0, len(idx))
	for _, i := range idx {
		content = append(content, blocks[i])
	}
	msg["content"] = content
	return json.Marshal(msg)
}

// appendDelta applies one content_block_delta to its block.
func appendDelta(b, d map[string]any, i int, partial map[int]string) {
	str := func(k string) string { s, _ := d[k].(string); return s }
	add := func(field, s string) {
		prev, _ := b[field].(string)
		b[field] = prev + s
	}
	switch str("type") {
	case "text_delta":
		add("text", str("text"))
	case "input_json_delta":
		partial[i] += str("partial_json")
	case "thinking_delta":
		add("thinking", str("thinking"))
	case "signature_delta":
		add("signature", str("signature"))
	case "citations_delta":
		cs, _ := b["citations"].([]any)
		b["citations"] = append(cs, d["citation"])
	}
}

// assembleOpenAI assembles Chat Completions chunks into a chat.completion:
// each choice's content and tool calls concatenated, its finish reason,
// and the usage of the final chunk (stream_options.include_usage).
func assembleOpenAI(dec ssestream.Decoder) (json.RawMessage, error) {
	type toolCall struct {
		ID       string `json:"id,omitempty"`
		Type     string `json:"type,omitempty"`
		Function struct {
			Name      string `json:"name,omitempty"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	}
	type message struct {
		Role      string     `json:"role"`
		Content   string     `json:"content"`
		Refusal   string     `json:"refusal,omitempty"`
		ToolCalls []toolCall `json:"tool_calls,omitempty"`
	}
	type choice struct {
		Index        int     `json:"index"`
		Message      message `json:"message"`
		FinishReason *string `json:"finish_reason"`
	}
	out := struct {
		ID      string          `json:"id"`
		Object  string          `json:"object"`
		Created int64           `json:"created"`
		Model   string          `json:"model"`
		Choices []*choice       `json:"choices"`
		Usage   json.RawMessage `json:"usage,omitempty"`
	}{Object: "chat.completion"}
	done := false
	for dec.Next() {
		ev := dec.Event()
		if string(bytes.TrimSpace(ev.Data)) == "[DONE]" {
			done = true
			break
		}
		var c struct {
			ID      string          `json:"id"`
			Created int64           `json:"created"`
			Model   string          `json:"model"`
			Usage   json.RawMessage `json:"usage"`
			Error   json.RawMessage `json:"error"`
			Choices []struct {
				Index int `json:"index"`
				Delta struct {
					Role      string `json:"role"`
					Content   string `json:"content"`
					Refusal   string `json:"refusal"`
					ToolCalls []struct {
						Index    int    `json:"index"`
						ID       string `json:"id"`
						Type     string `json:"type"`
						Function struct {
							Name      string `json:"name"`
							Arguments string `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(ev.Data, &c); err != nil {
			return nil, fmt.Errorf("%w: chunk: %v", errStream, err)
		}
		if len(c.Error) > 0 {
			return nil, fmt.Errorf("%w: error chunk: %s", errStream, c.Error)
		}
		out.ID, out.Created, out.Model = c.ID, c.Created, c.Model
		if len(c.Usage) > 0 && string(c.Usage) != "null" {
			out.Usage = c.Usage
		}
		for _, ch := range c.Choices {
			if ch.Index < 0 || ch.Index > 1<<10 {
				return nil, fmt.Errorf("%w: choice index %d", errStream, ch.Index)
			}
			for len(out.Choices) <= ch.Index {
				out.Choices = append(out.Choices, &choice{Index: len(out.Choices), Message: message{Role: "assistant"}})
			}
			o := out.Choices[ch.Index]
			if ch.Delta.Role != "" {
				o.Message.Role = ch.Delta.Role
			}
			o.Message.Content += ch.Delta.Content
			o.Message.Refusal += ch.Delta.Refusal
			for _, tc := range ch.Delta.ToolCalls {
				if tc.Index < 0 || tc.Index > 1<<10 {
					return nil, fmt.Errorf("%w: tool call index %d", errStream, tc.Index)
				}
				for len(o.Message.ToolCalls) <= tc.Index {
					o.Message.ToolCalls = append(o.Message.ToolCalls, toolCall{})
				}
				t := &o.Message.ToolCalls[tc.Index]
				if tc.ID != "" {
					t.ID = tc.ID
				}
				if tc.Type != "" {
					t.Type = tc.Type
				}
				t.Function.Name += tc.Function.Name
				t.Function.Arguments += tc.Function.Arguments
			}
			if ch.FinishReason != nil {
				o.FinishReason = ch.FinishReason
			}
		}
	}
	if err := dec.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", errStream, err)
	}
	if !done {
		return nil, fmt.Errorf("%w: ended before [DONE]", errStream)
	}
	return json.Marshal(out)
}
