package main

import "bytes"

// ---------------------------------------------------------------------------------------
// bad-10

// badLines describes the lines of bad-10.jsonl, from 1; the good ones have an ID.
var badLines = []struct {
	id, why string
}{
	{id: "good-1"},
	{why: "malformed JSON: the object is cut off in the middle of a string"},
	{id: "good-2"},
	{why: "a Messages body without `model`"},
	{id: "good-3"},
	{why: "a Messages body without `max_tokens`"},
	{id: "good-4"},
	{why: "too large: about 1.5 MB of prose to `claude-haiku-4-5` (200k-token context window) — tokencount.ErrTooLarge"},
	{id: "good-5"},
	{why: "a JSON array (of one valid request) instead of an object"},
}

// tooLargeChars is the prose size of bad-10's too-large line. Haiku 4.5's context window
// is 200k tokens; Sonnet 4.6's is 1M in tokencount's table, so the line targets Haiku.
const tooLargeChars = 1_500_000

func badFile() ([]byte, error) {
	var buf bytes.Buffer
	for i, bl := range badLines {
		g := newGen(seedBad, uint64(i+1))
		small := func(model string) *claudeRequest {
			req := &claudeRequest{Model: model, MaxTokens: 128}
			g.build(req, []string{"cls", "sum", "tr"}[g.r.IntN(3)], g.intn(200, 500), i)
			return req
		}
		line := i + 1
		switch {
		case bl.id != "":
			l := &claudeLine{id: bl.id, req: small(sonnet)}
			if err := l.write(&buf); err != nil {
				return nil, err
			}
		case line == 2:
			var one bytes.Buffer
			if err := encode(&one, batchLine{CustomID: "bad-truncated", Params: small(sonnet)}); err != nil {
				return nil, err
			}
			b := one.Bytes()
			buf.Write(b[:len(b)*2/3])
			buf.WriteByte('\n')
		case line == 4:
			req := small(sonnet)
			req.Model = ""
			if err := encode(&buf, req); err != nil {
				return nil, err
			}
		case line == 6:
			req := small(sonnet)
			req.MaxTokens = 0
			if err := encode(&buf, req); err != nil {
				return nil, err
			}
		case line == 8:
			req := &claudeRequest{Model: haiku, MaxTokens: 1024}
			doc := g.proseBytes(tooLargeChars, true)
			req.System = "You summarize long documents."
			req.Messages = []message{user("Summarize this archive of reports:\n\n" + doc)}
			if err := encode(&buf, req); err != nil {
				return nil, err
			}
		case line == 10:
			if err := encode(&buf, []*claudeRequest{small(haiku)}); err != nil {
				return nil, err
			}
		}
	}
	return buf.Bytes(), nil
}
