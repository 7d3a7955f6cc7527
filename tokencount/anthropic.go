package tokencount

import "bytes"

// parseAnthropic reads a Messages API request body.
func parseAnthropic(body []byte, r *request) error {
	l := &lexer{b: body}
	var haveMessages bool
	r.choices = 1
	err := topLevel(l, func(key []byte) error {
		var err error
		switch string(key) {
		case "model":
			r.model, err = modelString(l)
		case "max_tokens":
			r.maxTokens, err = nonNegative(l, "max_tokens")
			r.hasMaxTokens = true
		case "stream":
			r.stream, err = l.boolean()
		case "system":
			r.text.f.Messages++
			err = anthropicContent(l, r)
		case "messages":
			haveMessages = true
			err = l.array(func(i int) error {
				r.text.f.Messages++
				return at(anthropicMessage(l, r), "[%d]", i)
			})
		case "tools":
			err = l.array(func(i int) error {
				r.text.f.Tools++
				return at(toolDefinition(l, r), "[%d]", i)
			})
		case "thinking":
			if l.null() {
				return nil
			}
			err = at(l.object(func(key []byte) error {
				if string(key) == "budget_tokens" {
					var err error
					r.thinkingBudget, err = nonNegative(l, "budget_tokens")
					return err
				}
				_, err := l.skip()
				return err
			}), "thinking")
		case "output_config", "output_format":
			// Structured-output schemas are input the model reads.
			var v []byte
			if v, err = l.skip(); err == nil {
				r.text.json(v)
			}
		default: // tool_choice, metadata, stop_sequences, temperature, service_tier, ...
			_, err = l.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := required(r, haveMessages); err != nil {
		return err
	}
	if !r.hasMaxTokens {
		return &MalformedError{Path: "max_tokens", Reason: "missing"}
	}
	return nil
}

func anthropicMessage(l *lexer, r *request) error {
	return l.object(func(key []byte) error {
		if string(key) == "content" {
			return at(anthropicContent(l, r), "content")
		}
		_, err := l.skip() // role, and anything new
		return err
	})
}

// anthropicContent reads content that is a string or an array of blocks.
func anthropicContent(l *lexer, r *request) error {
	switch l.peek() {
	case '"':
		s, err := l.str()
		if err != nil {
			return err
		}
		r.text.raw(s)
		return nil
	case '[':
		return l.array(func(i int) error {
			return at(anthropicBlock(l, r), "[%d]", i)
		})
	case 'n':
		if l.null() {
			return nil
		}
	}
	return l.fail("expected string or array of content blocks")
}

// block holds the fields of a content block that the estimator reads.
type block struct {
	typ, text, name, data, title, context []byte
	source, content, input                []byte // raw JSON values
	hasContent                            bool
}

func anthropicBlock(l *lexer, r *request) error {
	start := l.i
	var b block
	err := l.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "type":
			b.typ, err = l.str()
		case "text":
			b.text, err = l.stringOrNull()
		case "thinking":
			b.text, err = l.stringOrNull()
		case "name":
			b.name, err = l.stringOrNull()
		case "data":
			b.data, err = l.stringOrNull()
		case "title":
			b.title, err = l.stringOrNull()
		case "context":
			b.context, err = l.stringOrNull()
		case "source":
			b.source, err = l.skip()
		case "content":
			b.content, err = l.skip()
			b.hasContent = true
		case "input":
			b.input, err = l.skip()
		default: // cache_control, citations, id, tool_use_id, is_error, signature, ...
			_, err = l.skip()
		}
		if err != nil {
			return at(err, "%s", key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	raw := l.b[start:l.i]
	if string(b.typ) != "text" {
		r.text.f.Blocks++
	}
	switch string(b.typ) {
	case "text":
		r.text.raw(b.text)
	case "thinking":
		// Counted although the API may strip earlier turns' thinking: conservative.
		r.text.raw(b.text)
	case "redacted_thinking":
		r.text.raw(b.data)
	case "image":
		r.text.f.Images++
		img, err := anthropicImageSource(b.source)
		if err != nil {
			return at(err, "source")
		}
		r.images = append(r.images, img)
	case "document":
		r.text.raw(b.title)
		r.text.raw(b.context)
		if err := anthropicDocumentSource(b.source, r); err != nil {
			return at(err, "source")
		}
	case "tool_use", "server_tool_use", "mcp_tool_use":
		r.text.raw(b.name)
		if b.input != nil {
			r.text.json(b.input)
		}
	case "tool_result", "mcp_tool_result":
		if b.hasContent {
			sub := &lexer{b: b.content, depth: l.depth}
			if err := anthropicContent(sub, r); err != nil {
				return at(err, "content")
			}
		}
	case "":
		return at(&MalformedError{Offset: start, Reason: "missing"}, "type")
	default:
		// web_search_tool_result, search_result, container_upload and types not yet
		// known: everything in the block is counted as text, which over-estimates.
		r.text.json(raw)
	}
	return nil
}

// sourceFields are the fields of an image or document source.
type sourceFields struct {
	typ, mediaType, data, url []byte
	content                   []byte // raw JSON value
}

func readSource(raw []byte) (sourceFields, error) {
	var s sourceFields
	if raw == nil {
		return s, &MalformedError{Reason: "missing"}
	}
	l := &lexer{b: raw}
	err := l.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "type":
			s.typ, err = l.str()
		case "media_type":
			s.mediaType, err = l.stringOrNull()
		case "data":
			s.data, err = l.stringOrNull()
		case "url":
			s.url, err = l.stringOrNull()
		case "content":
			s.content, err = l.skip()
		default: // file_id, ...
			_, err = l.skip()
		}
		return err
	})
	return s, err
}

func anthropicImageSource(raw []byte) (imageRef, error) {
	s, err := readSource(raw)
	if err != nil {
		return imageRef{}, err
	}
	if string(s.typ) == "base64" {
		return imageFromBase64(s.data), nil
	}
	// url, file and unknown sources: dimensions unknown, priced at the model's cap.
	return imageRef{}, nil
}

func anthropicDocumentSource(raw []byte, r *request) error {
	s, err := readSource(raw)
	if err != nil {
		return err
	}
	switch string(s.typ) {
	case "base64":
		if bytes.Equal(s.mediaType, []byte("text/plain")) {
			// Plain text sent as base64: count it as text would be counted, by size.
			r.text.f.DocumentPages += int64(len(s.data)/4*3/pdfBytesPerPage) + 1
			return nil
		}
		r.text.f.DocumentPages += pdfPages(newB64Source(s.data))
	case "text":
		r.text.raw(s.data)
	case "content":
		sub := &lexer{b: s.content}
		if s.content == nil {
			return nil
		}
		return at(anthropicContent(sub, r), "content")
	default: // url, file
		r.text.f.DocumentPages += defaultDocumentPages
	}
	return nil
}

// toolDefinition reads one tool: its name and description are text; its schema and any
// other configuration are counted as JSON.
func toolDefinition(l *lexer, r *request) error {
	return l.object(func(key []byte) error {
		switch string(key) {
		case "name", "description":
			s, err := l.stringOrNull()
			if err != nil {
				return at(err, "%s", key)
			}
			r.text.raw(s)
			return nil
		case "cache_control", "strict", "type", "defer_loading":
			_, err := l.skip()
			return err
		}
		v, err := l.skip()
		if err != nil {
			return at(err, "%s", key)
		}
		r.text.json(v)
		return nil
	})
}
