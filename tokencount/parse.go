package tokencount

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// request is what the parsers extract from a body.
type request struct {
	model          string
	maxTokens      int64 // 0 when absent
	hasMaxTokens   bool
	choices        int64
	stream         bool
	thinkingBudget int64
	images         []imageRef // sized by the model's rule once the model is known
	text           textSink
}

// imageRef is an image whose token cost depends on the model: w, h ≤ 0 when unknown.
type imageRef struct {
	w, h      int
	lowDetail bool
}

// textSink counts text into Features and, with a Counter, into BPETokens.
type textSink struct {
	c   counter
	f   Features
	cnt Counter // nil in heuristic mode
	buf []byte
}

func (t *textSink) init(cnt Counter) {
	t.c.f = &t.f
	t.cnt = cnt
}

// raw counts the raw contents of a JSON string.
func (t *textSink) raw(s []byte) {
	t.c.addRaw(s)
	if t.cnt != nil {
		if bytes.IndexByte(s, '\\') >= 0 {
			t.buf = unescape(t.buf[:0], s)
			s = t.buf
		}
		t.f.BPETokens += t.cnt.Count(string(s))
	}
}

// json counts a raw JSON value as compact JSON text.
func (t *textSink) json(v []byte) {
	t.c.addJSON(v)
	if t.cnt != nil {
		var b bytes.Buffer
		if json.Compact(&b, v) == nil {
			t.f.BPETokens += t.cnt.Count(b.String())
		}
	}
}

// at prefixes the path of a *MalformedError.
func at(err error, format string, args ...any) error {
	if e, ok := err.(*MalformedError); ok {
		p := fmt.Sprintf(format, args...)
		switch {
		case e.Path == "":
			e.Path = p
		case e.Path[0] == '[':
			e.Path = p + e.Path
		default:
			e.Path = p + "." + e.Path
		}
	}
	return err
}

// modelString reads the model ID.
func modelString(l *lexer) (string, error) {
	raw, err := l.str()
	if err != nil {
		return "", err
	}
	if bytes.IndexByte(raw, '\\') >= 0 {
		raw = unescape(nil, raw)
	}
	return string(raw), nil
}

// dataURL splits a "data:<media type>;base64,<data>" URL; ok is false for other URLs.
func dataURL(raw []byte) (data []byte, ok bool) {
	if !bytes.HasPrefix(raw, []byte("data:")) {
		return nil, false
	}
	i := bytes.IndexByte(raw, ',')
	if i < 0 || !bytes.HasSuffix(raw[:i], []byte(";base64")) {
		return nil, false
	}
	return raw[i+1:], true
}

// imageFromBase64 reads an image's dimensions from base64 data; unknown (0, 0) when the
// header cannot be read, which the image rule prices at its maximum.
func imageFromBase64(data []byte) imageRef {
	w, h, err := imageSize(newB64Source(data))
	if err != nil {
		return imageRef{}
	}
	return imageRef{w: w, h: h}
}

// defaultDocumentPages is the page estimate for a PDF whose bytes the request does not
// carry (URL or Files API reference).
const defaultDocumentPages = 10

// audioBytesPerToken prices OpenAI input audio by size: ~10 tokens per second of
// 16-kB/s audio.
const audioBytesPerToken = 1600

func nonNegative(l *lexer, what string) (int64, error) {
	at := l.i
	n, err := l.int()
	if err != nil {
		return 0, err
	}
	if n < 0 {
		l.i = at
		return 0, l.fail(what + " must not be negative")
	}
	return n, nil
}

// topLevel reads a request body's one object to the end of the input,
// member by member: an error member returns is located at its key.
func topLevel(l *lexer, member func(key []byte) error) error {
	err := l.object(func(key []byte) error {
		if err := member(key); err != nil {
			return at(err, "%s", key)
		}
		return nil
	})
	if err == nil {
		err = l.end()
	}
	return err
}

// required checks what a body of either API must hold: a model and messages.
func required(r *request, haveMessages bool) error {
	switch {
	case r.model == "":
		return &MalformedError{Path: "model", Reason: "missing or empty"}
	case !haveMessages:
		return &MalformedError{Path: "messages", Reason: "missing"}
	}
	return nil
}
