// Package usage reads the token usage out of LLM API responses as they pass
// to the caller, without changing a byte: Anthropic Messages and OpenAI Chat
// Completions, as JSON bodies or as server-sent-event streams.
package usage

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"

	"github.com/ratekeeper/ratekeeper/tier"
)

// Usage is what a response reported. Counts are as the server sent them:
// for Anthropic InputTokens excludes cache reads and cache writes.
type Usage struct {
	InputTokens              int64
	OutputTokens             int64
	CacheCreationInputTokens int64
	CacheReadInputTokens     int64

	// Input reports that the input counts were seen (Anthropic
	// message_start, a JSON body, or OpenAI's usage chunk).
	Input bool
	// Final reports that the final output count was seen (a JSON body,
	// Anthropic message_delta followed by message_stop, or OpenAI's usage
	// chunk). Without it OutputTokens is a lower bound at most.
	Final bool
	// ErrorType is the type of an error the stream carried after the 200
	// (Anthropic `event: error`, e.g. "overloaded_error"), or "".
	ErrorType string
}

// maxBuffer bounds what the reader keeps of a JSON body or of one SSE line.
// A usage object sits near the start (Anthropic message_start) or in a short
// line; a longer line cannot be an event we need and is skipped.
const maxBuffer = 1 << 20

// Reader passes a body through and reports its usage once.
type Reader struct {
	rc     io.ReadCloser
	openAI bool // the body is OpenAI's (Chat Completions), not Anthropic's (Messages)
	stream bool // the body is a server-sent-event stream, not a JSON object
	done   func(Usage, error)

	once sync.Once
	mu   sync.Mutex // guards the fields below; Read and Close may race
	buf  []byte     // JSON: the body so far; SSE: the current line
	skip bool       // SSE: the current line is too long to matter
	u    Usage
	stop bool // Anthropic: message_stop seen
}

// NewReader wraps rc, the body of a response from provider p's API: an
// Anthropic Message or an OpenAI ChatCompletion object, or with stream their
// server-sent events (Anthropic: message_start … message_delta …
// message_stop; OpenAI: chunks, the last one with usage, as
// stream_options.include_usage asks). done is called exactly once, with the
// usage seen and nil at EOF, or with what was seen and the read error (or
// nil on an early Close) when the body ends otherwise.
func NewReader(rc io.ReadCloser, p tier.Provider, stream bool, done func(Usage, error)) *Reader {
	return &Reader{rc: rc, openAI: p == tier.OpenAI, stream: stream, done: done}
}

// Read implements io.Reader; the bytes are the body's, unchanged.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if n > 0 {
		r.mu.Lock()
		r.feed(p[:n])
		r.mu.Unlock()
	}
	if err == io.EOF {
		r.finish(nil)
	} else if err != nil {
		r.finish(err)
	}
	return n, err
}

// Close closes the body and reports the usage if it was not reported yet.
func (r *Reader) Close() error {
	err := r.rc.Close()
	r.finish(nil)
	return err
}

func (r *Reader) finish(err error) {
	r.once.Do(func() {
		r.mu.Lock()
		if !r.stream && !r.skip {
			parseJSON(r.openAI, r.buf, &r.u)
		} else if len(r.buf) > 0 && !r.skip {
			r.line(r.buf) // a last line without a newline
		}
		u := r.u
		if r.stream && !r.openAI {
			u.Final = u.Final && r.stop
		}
		r.buf = nil
		r.mu.Unlock()
		r.done(u, err)
	})
}

// feed takes bytes in order; r.mu is held.
func (r *Reader) feed(p []byte) {
	if !r.stream {
		if r.skip {
			return // too large: what was kept is no longer the body's prefix
		}
		if len(r.buf)+len(p) <= maxBuffer {
			r.buf = append(r.buf, p...)
		} else {
			r.skip = true
		}
		return
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			r.keep(p)
			return
		}
		r.keep(p[:i])
		if !r.skip {
			r.line(r.buf)
		}
		r.buf, r.skip = r.buf[:0], false
		p = p[i+1:]
	}
}

func (r *Reader) keep(p []byte) {
	if r.skip {
		return
	}
	if len(r.buf)+len(p) > maxBuffer {
		r.skip = true
		return
	}
	r.buf = append(r.buf, p...)
}

// line handles one SSE line; only data lines matter.
func (r *Reader) line(l []byte) {
	l = bytes.TrimSuffix(l, []byte("\r"))
	data, ok := bytes.CutPrefix(l, []byte("data:"))
	if !ok {
		return
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return // e.g. OpenAI's [DONE]
	}
	if r.openAI {
		var c struct {
			Usage *openAIUsage `json:"usage"`
		}
		if json.Unmarshal(data, &c) == nil && c.Usage != nil {
			c.Usage.into(&r.u)
		}
		return
	}
	var ev struct {
		Type    string `json:"type"`
		Message struct {
			Usage *anthropicUsage `json:"usage"`
		} `json:"message"`
		Usage *anthropicUsage `json:"usage"`
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &ev) != nil {
		return
	}
	switch ev.Type {
	case "message_start":
		if ev.Message.Usage != nil {
			ev.Message.Usage.into(&r.u)
		}
	case "message_delta":
		// Cumulative: the last one wins. It may repeat the input side.
		if ev.Usage != nil {
			ev.Usage.into(&r.u)
			r.u.Final = true
		}
	case "message_stop":
		r.stop = true
	case "error":
		r.u.ErrorType = ev.Error.Type
	}
}

type anthropicUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

// into copies the valid fields present.
func (a *anthropicUsage) into(u *Usage) {
	set := func(dst *int64, src *int64) bool {
		if src != nil && *src >= 0 {
			*dst = *src
			return true
		}
		return false
	}
	if set(&u.InputTokens, a.InputTokens) {
		u.Input = true
	}
	set(&u.OutputTokens, a.OutputTokens)
	set(&u.CacheCreationInputTokens, a.CacheCreationInputTokens)
	set(&u.CacheReadInputTokens, a.CacheReadInputTokens)
}

type openAIUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

func (o *openAIUsage) into(u *Usage) {
	if o.PromptTokens < 0 || o.CompletionTokens < 0 {
		return
	}
	u.InputTokens, u.OutputTokens = o.PromptTokens, o.CompletionTokens
	u.CacheReadInputTokens = max(o.PromptTokensDetails.CachedTokens, 0)
	u.Input, u.Final = true, true
}

func parseJSON(openAI bool, body []byte, u *Usage) {
	if openAI {
		var b struct {
			Usage *openAIUsage `json:"usage"`
		}
		if json.Unmarshal(body, &b) == nil && b.Usage != nil {
			b.Usage.into(u)
		}
		return
	}
	var b struct {
		Type  string          `json:"type"`
		Usage *anthropicUsage `json:"usage"`
	}
	if json.Unmarshal(body, &b) == nil && b.Usage != nil && b.Type != "error" {
		b.Usage.into(u)
		u.Final = b.Usage.OutputTokens != nil && *b.Usage.OutputTokens >= 0
	}
}
