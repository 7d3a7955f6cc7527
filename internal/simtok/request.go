package simtok

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Fixed overheads of the simulated request framing, in tokens.
const (
	// RequestOverhead is charged once per request.
	RequestOverhead = 7
	// MessageOverhead is charged per message (role and turn markers), and once for a
	// non-empty Anthropic system prompt.
	MessageOverhead = 4
	// ToolsOverhead is charged once when a request defines any tool: the tool-use system
	// prompt the server adds.
	ToolsOverhead = 290
	// ToolOverhead is charged per tool definition, on top of its name, description and
	// schema.
	ToolOverhead = 10
	// BlockOverhead is charged per tool_use, tool_result, document and image block.
	BlockOverhead = 5
)

// A TextCounter returns the number of tokens of a text. CountText is the package's own;
// CountAnthropicRequestWith and CountOpenAIRequestWith accept any other, such as a BPE
// vocabulary. It must be deterministic and safe for concurrent use.
type TextCounter func(text string) int64

// ErrMalformed is returned (wrapped) when a body is not a JSON object of the expected shape.
var ErrMalformed = errors.New("simtok: malformed request body")

type anthropicRequest struct {
	Model        string            `json:"model"`
	System       json.RawMessage   `json:"system"`
	Messages     []chatMessage     `json:"messages"`
	Tools        []json.RawMessage `json:"tools"`
	OutputConfig json.RawMessage   `json:"output_config"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	// OpenAI fields.
	Name         string          `json:"name"`
	ToolCalls    json.RawMessage `json:"tool_calls"`
	FunctionCall json.RawMessage `json:"function_call"`
	ToolCallID   string          `json:"tool_call_id"`
}

type anthropicBlock struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Source   *blockSource    `json:"source"`
	Name     string          `json:"name"`
	Input    json.RawMessage `json:"input"`
	Content  json.RawMessage `json:"content"`
	Thinking string          `json:"thinking"`
	Data     string          `json:"data"`
	Title    string          `json:"title"`
	Context  string          `json:"context"`
}

type blockSource struct {
	Type      string          `json:"type"`
	MediaType string          `json:"media_type"`
	Data      string          `json:"data"`
	Content   json.RawMessage `json:"content"`
}

// CountAnthropicRequest returns the input tokens the simulated server charges for an
// Anthropic Messages (or count_tokens) request body: RequestOverhead; the system prompt
// (string or text blocks) plus MessageOverhead; each message's MessageOverhead and content
// (string or blocks: text, thinking, tool_use name and input JSON, tool_result content,
// documents, images, and any other block type by its JSON text); and the tools (ToolsOverhead
// once, then ToolOverhead plus name, description and input schema each). Images cost
// (w*h)/750 after the model's downscaling (long edge 1568 px and 1,600 tokens, or 2576 px and
// 4,784 tokens for Opus 4.7+ and 5.x), with the size read from the base64 PNG/JPEG/GIF/WebP
// header, and URLImageTokens for url and file sources. A base64 PDF costs PDFPageTokens per
// page; a text document costs its text.
//
// It returns an error wrapping ErrMalformed when body is not a JSON object of that shape,
// and an error when a base64 image or PDF cannot be read.
func CountAnthropicRequest(body []byte) (int64, error) {
	return CountAnthropicRequestWith(body, nil)
}

// CountAnthropicRequestWith is CountAnthropicRequest with every text (prompts, roles, tool
// definitions, documents, JSON) counted by count instead of CountText; nil means CountText.
// Images and PDFs are priced as in CountAnthropicRequest.
func CountAnthropicRequestWith(body []byte, count TextCounter) (int64, error) {
	if count == nil {
		count = CountText
	}
	var req anthropicRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	n := int64(RequestOverhead)
	if sys, err := count.anthropicContent(req.System, req.Model); err != nil {
		return 0, err
	} else if sys > 0 {
		n += sys + MessageOverhead
	}
	for _, m := range req.Messages {
		c, err := count.anthropicContent(m.Content, req.Model)
		if err != nil {
			return 0, err
		}
		n += MessageOverhead + count(m.Role) + c
	}
	if len(req.Tools) > 0 {
		n += ToolsOverhead
	}
	for _, raw := range req.Tools {
		var t struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			InputSchema json.RawMessage `json:"input_schema"`
			Type        string          `json:"type"`
		}
		if err := json.Unmarshal(raw, &t); err != nil {
			return 0, fmt.Errorf("%w: tools: %v", ErrMalformed, err)
		}
		n += ToolOverhead + count(t.Name) + count(t.Description)
		if t.InputSchema != nil {
			n += count.jsonValue(t.InputSchema)
		} else if t.Type != "" && t.Type != "custom" {
			n += count.jsonValue(raw) // server tool: its definition text
		}
	}
	if len(req.OutputConfig) > 0 && string(req.OutputConfig) != "null" {
		n += count.jsonValue(req.OutputConfig)
	}
	return n, nil
}

// content counts a content field as both APIs define it: absent or null (nothing), a string
// (its text), or a list of E (blocks, parts), each counted by each. what names the list in
// the errors.
func content[E any](count TextCounter, raw json.RawMessage, what string, each func(E) (int64, error)) (int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		return count(s), nil
	case '[':
		var list []E
		if err := json.Unmarshal(raw, &list); err != nil {
			return 0, fmt.Errorf("%w: content %s: %v", ErrMalformed, what, err)
		}
		var n int64
		for _, e := range list {
			c, err := each(e)
			if err != nil {
				return 0, err
			}
			n += c
		}
		return n, nil
	}
	return 0, fmt.Errorf("%w: content must be a string or a list of %s", ErrMalformed, what)
}

// anthropicContent counts an Anthropic content field: absent, null, a string, or a block list.
func (count TextCounter) anthropicContent(raw json.RawMessage, model string) (int64, error) {
	return content(count, raw, "blocks", func(b json.RawMessage) (int64, error) {
		return count.anthropicBlock(b, model)
	})
}

func (count TextCounter) anthropicBlock(raw json.RawMessage, model string) (int64, error) {
	var b anthropicBlock
	if err := json.Unmarshal(raw, &b); err != nil {
		return 0, fmt.Errorf("%w: content block: %v", ErrMalformed, err)
	}
	switch b.Type {
	case "text":
		return count(b.Text), nil
	case "thinking":
		return count(b.Thinking), nil
	case "redacted_thinking":
		return count(b.Data), nil
	case "tool_use":
		return BlockOverhead + count(b.Name) + count.jsonValue(b.Input), nil
	case "tool_result":
		c, err := count.anthropicContent(b.Content, model)
		return BlockOverhead + c, err
	case "image":
		if b.Source == nil {
			return 0, fmt.Errorf("%w: image block without source", ErrMalformed)
		}
		if b.Source.Type != "base64" {
			return BlockOverhead + URLImageTokens, nil
		}
		w, h, err := imageConfig(b.Source.Data)
		if err != nil {
			return 0, err
		}
		return BlockOverhead + anthropicImageTokens(w, h, model), nil
	case "document":
		n := int64(BlockOverhead) + count(b.Title) + count(b.Context)
		if b.Source == nil {
			return 0, fmt.Errorf("%w: document block without source", ErrMalformed)
		}
		switch b.Source.Type {
		case "base64":
			if b.Source.MediaType != "" && b.Source.MediaType != "application/pdf" {
				return n + count(b.Source.Data), nil
			}
			pages, err := pdfPages(b.Source.Data)
			if err != nil {
				return 0, err
			}
			return n + pages*PDFPageTokens, nil
		case "text":
			return n + count(b.Source.Data), nil
		case "content":
			c, err := count.anthropicContent(b.Source.Content, model)
			return n + c, err
		default: // url, file
			return n + PDFPageTokens, nil
		}
	}
	// Server tool calls and results, search results and future block types: their JSON.
	return count.jsonValue(raw), nil
}

// jsonValue counts a JSON value by its canonical compact text (decoded strings, no HTML
// escaping), so that escaping choices of the client do not change the count.
func (count TextCounter) jsonValue(raw json.RawMessage) int64 {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return count(string(raw))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return count(string(raw))
	}
	return count(strings.TrimSuffix(buf.String(), "\n"))
}

type openAIRequest struct {
	Messages       []chatMessage     `json:"messages"`
	Tools          []json.RawMessage `json:"tools"`
	Functions      []json.RawMessage `json:"functions"`
	ResponseFormat json.RawMessage   `json:"response_format"`
}

type openAIPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Refusal  string `json:"refusal"`
	ImageURL *struct {
		URL    string `json:"url"`
		Detail string `json:"detail"`
	} `json:"image_url"`
	File *struct {
		FileData string `json:"file_data"`
		Filename string `json:"filename"`
	} `json:"file"`
}

// CountOpenAIRequest returns the prompt tokens the simulated server charges for an OpenAI
// Chat Completions request body: RequestOverhead; per message MessageOverhead, the role, the
// name, and the content (a string or parts: text, refusal, image_url by the tile formula
// with the size read from a data URL, or 765 for an https URL, and file parts at
// PDFPageTokens per page), tool_calls and function_call by their JSON text; each tool or
// legacy function at ToolOverhead plus its JSON text; and a json_schema response format.
//
// It returns an error wrapping ErrMalformed when body is not a JSON object of that shape,
// and an error when an inline image or file cannot be read.
func CountOpenAIRequest(body []byte) (int64, error) {
	return CountOpenAIRequestWith(body, nil)
}

// CountOpenAIRequestWith is CountOpenAIRequest with every text counted by count instead of
// CountText; nil means CountText. Images and files are priced as in CountOpenAIRequest.
func CountOpenAIRequestWith(body []byte, count TextCounter) (int64, error) {
	// The same start as CountAnthropicRequestWith, on purpose: each provider's count
	// reads top to bottom in one function.
	if count == nil {
		count = CountText
	}
	var req openAIRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	n := int64(RequestOverhead)
	for _, m := range req.Messages {
		n += MessageOverhead + count(m.Role) + count(m.Name) + count(m.ToolCallID)
		c, err := count.openAIContent(m.Content)
		if err != nil {
			return 0, err
		}
		n += c
		for _, raw := range []json.RawMessage{m.ToolCalls, m.FunctionCall} {
			if len(raw) > 0 && string(raw) != "null" {
				n += count.jsonValue(raw)
			}
		}
	}
	for _, raw := range append(req.Tools, req.Functions...) {
		n += ToolOverhead + count.jsonValue(raw)
	}
	if len(req.ResponseFormat) > 0 && string(req.ResponseFormat) != "null" {
		n += count.jsonValue(req.ResponseFormat)
	}
	return n, nil
}

// openAIContent counts an OpenAI content field: absent, null, a string, or a part list.
func (count TextCounter) openAIContent(raw json.RawMessage) (int64, error) {
	return content(count, raw, "parts", count.openAIPart)
}

// openAIPart counts one content part: its text and refusal, an image_url, or a file.
func (count TextCounter) openAIPart(p openAIPart) (int64, error) {
	switch {
	case p.ImageURL != nil:
		return openAIImageURL(p.ImageURL.URL, p.ImageURL.Detail)
	case p.File != nil:
		n := count(p.File.Filename)
		data, ok := dataURLPayload(p.File.FileData)
		if !ok {
			return n + PDFPageTokens, nil
		}
		pages, err := pdfPages(data)
		if err != nil {
			return 0, err
		}
		return n + pages*PDFPageTokens, nil
	}
	return count(p.Text) + count(p.Refusal), nil
}

// dataURLPayload returns the base64 payload of a data URL ("data:...;base64,PAYLOAD"), or
// of a bare base64 string.
func dataURLPayload(u string) (string, bool) {
	if u == "" {
		return "", false
	}
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		_, payload, ok := strings.Cut(rest, ";base64,")
		return payload, ok
	}
	if strings.Contains(u, "://") {
		return "", false
	}
	return u, true
}

func openAIImageURL(u, detail string) (int64, error) {
	if detail == "low" {
		return 85, nil
	}
	payload, ok := dataURLPayload(u)
	if !ok || !strings.HasPrefix(u, "data:") {
		return openAIImageTokens(1024, 1024, detail), nil
	}
	w, h, err := imageConfig(payload)
	if err != nil {
		return 0, err
	}
	return openAIImageTokens(w, h, detail), nil
}
