package tokencount

// parseOpenAI reads a Chat Completions request body.
func parseOpenAI(body []byte, r *request) error {
	l := &lexer{b: body}
	var haveMessages bool
	r.choices = 1
	err := topLevel(l, func(key []byte) error {
		var err error
		switch string(key) {
		case "model":
			r.model, err = modelString(l)
		case "max_tokens", "max_completion_tokens":
			if l.null() {
				return nil
			}
			var n int64
			n, err = nonNegative(l, string(key))
			// max_completion_tokens wins over the deprecated max_tokens.
			if err == nil && (!r.hasMaxTokens || string(key) == "max_completion_tokens") {
				r.maxTokens, r.hasMaxTokens = n, true
			}
		case "n":
			if l.null() {
				return nil
			}
			r.choices, err = nonNegative(l, "n")
			r.choices = max(r.choices, 1)
		case "stream":
			r.stream, err = l.boolean()
		case "messages":
			haveMessages = true
			err = l.array(func(i int) error {
				r.text.f.Messages++
				return at(openAIMessage(l, r), "[%d]", i)
			})
		case "tools":
			err = l.array(func(i int) error {
				r.text.f.Tools++
				return at(l.object(func(key []byte) error {
					if string(key) == "function" {
						return at(toolDefinition(l, r), "function")
					}
					v, err := l.skip() // type, or a non-function tool's configuration
					if err == nil && string(key) != "type" {
						r.text.json(v)
					}
					return err
				}), "[%d]", i)
			})
		case "functions":
			err = l.array(func(i int) error {
				r.text.f.Tools++
				return at(toolDefinition(l, r), "[%d]", i)
			})
		case "response_format":
			var v []byte
			if v, err = l.skip(); err == nil {
				r.text.json(v)
			}
		default: // tool_choice, temperature, stream_options, stop, user, metadata, ...
			_, err = l.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	return required(r, haveMessages)
}

func openAIMessage(l *lexer, r *request) error {
	return l.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "content":
			switch l.peek() {
			case '"':
				var s []byte
				if s, err = l.str(); err == nil {
					r.text.raw(s)
				}
			case '[':
				err = l.array(func(i int) error {
					return at(openAIPart(l, r), "[%d]", i)
				})
			default:
				if !l.null() {
					err = l.fail("expected string, array of content parts or null")
				}
			}
		case "name", "refusal":
			var s []byte
			if s, err = l.stringOrNull(); err == nil {
				r.text.raw(s)
			}
		case "tool_calls", "function_call":
			// Function names and JSON-encoded arguments the model wrote earlier.
			var v []byte
			if v, err = l.skip(); err == nil {
				r.text.json(v)
			}
		default: // role, tool_call_id, audio, ...
			_, err = l.skip()
		}
		if err != nil {
			return at(err, "%s", key)
		}
		return nil
	})
}

func openAIPart(l *lexer, r *request) error {
	start := l.i
	var typ, text, url, detail, data, fileData []byte
	var hasFileID bool
	err := l.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "type":
			typ, err = l.str()
		case "text", "refusal":
			text, err = l.stringOrNull()
		case "image_url":
			err = at(l.object(func(key []byte) error {
				var err error
				switch string(key) {
				case "url":
					url, err = l.str()
				case "detail":
					detail, err = l.stringOrNull()
				default:
					_, err = l.skip()
				}
				return err
			}), "image_url")
		case "input_audio":
			err = at(l.object(func(key []byte) error {
				var err error
				if string(key) == "data" {
					data, err = l.str()
				} else {
					_, err = l.skip()
				}
				return err
			}), "input_audio")
		case "file":
			err = at(l.object(func(key []byte) error {
				var err error
				switch string(key) {
				case "file_data":
					fileData, err = l.stringOrNull()
				case "file_id":
					hasFileID = true
					_, err = l.skip()
				default:
					_, err = l.skip()
				}
				return err
			}), "file")
		default:
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
	if string(typ) != "text" {
		r.text.f.Blocks++
	}
	switch string(typ) {
	case "text", "refusal":
		r.text.raw(text)
	case "image_url":
		r.text.f.Images++
		img := imageRef{}
		if d, ok := dataURL(url); ok {
			img = imageFromBase64(d)
		}
		img.lowDetail = string(detail) == "low"
		r.images = append(r.images, img)
	case "input_audio":
		r.text.f.ImageTokens += int64(len(data)/4*3/audioBytesPerToken) + 1
	case "file":
		if d, ok := dataURL(fileData); ok {
			r.text.f.DocumentPages += pdfPages(newB64Source(d))
		} else if fileData != nil {
			r.text.f.DocumentPages += pdfPages(newB64Source(fileData))
		} else if hasFileID {
			r.text.f.DocumentPages += defaultDocumentPages
		}
	case "":
		return at(&MalformedError{Offset: start, Reason: "missing"}, "type")
	default:
		r.text.json(l.b[start:l.i])
	}
	return nil
}
