package main

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

const (
	sonnet = "claude-sonnet-4-6"
	haiku  = "claude-haiku-4-5"
)

// Seeds of the files' random streams. Line i of a file draws from PCG(seed, i), so a
// change to one line's builder does not reshuffle the others.
const (
	seedMixed  = 0x6d69786564353030 // "mixed500"
	seedSmall  = 0x736d616c6c3230
	seedBad    = 0x62616431300a
	seedOpenAI = 0x6f70656e61693530
)

// claudeLine is one generated Claude request: the Messages body (for a batch line, its
// params) and how it was written.
type claudeLine struct {
	id        string // custom_id, "" for a plain body
	req       *claudeRequest
	body      []byte // the Messages body alone
	maxTokens int
}

// write appends the line in its shape and records the Messages body.
func (l *claudeLine) write(buf *bytes.Buffer) error {
	var one bytes.Buffer
	if err := encode(&one, l.req); err != nil {
		return err
	}
	l.body = bytes.TrimSuffix(one.Bytes(), []byte("\n"))
	if l.id == "" {
		buf.Write(one.Bytes())
		return nil
	}
	return encode(buf, batchLine{CustomID: l.id, Params: l.req})
}

// ---------------------------------------------------------------------------------------
// mixed-500

// mixedKinds are the kinds of request in mixed-500 and how many of each.
var mixedKinds = []struct {
	kind   string
	n      int
	median float64 // median prompt size in approximate tokens (log-normal)
	sigma  float64
}{
	{"sum", 90, 1250, 0.9},
	{"tr", 45, 650, 0.7},
	{"cls", 60, 300, 0.6},
	{"rev-go", 45, 1100, 0.8},
	{"rev-py", 40, 1100, 0.8},
	{"ext", 55, 1000, 0.8},
	{"zh", 30, 750, 0.7},
	{"ru", 30, 750, 0.7},
	{"chat", 50, 850, 0.7},
	{"qa", 32, 1400, 0.7},
	{"tool", 5, 300, 0.5},
	{"toolloop", 5, 900, 0.5},
	{"img", 8, 60, 0.5},
	{"pdf", 5, 0, 0},
}

const (
	mixedTotal   = 500
	mixedHaiku   = 100
	mixedBatch   = 150
	mixedStream  = 75
	mixedHuge    = 6   // 20k–40k-token prompts on Sonnet
	mixedHugeHku = 1   // and on Haiku
	sizeScale    = 1.1 // the knob that sets the token totals (see the README)
)

type slot struct {
	kind   string
	model  string
	batch  bool
	stream bool
	huge   bool
}

// mixedPlan decides, with exact counts, what each line of mixed-500 is.
func mixedPlan() []slot {
	r := rand.New(rand.NewPCG(seedMixed, 0))
	var slots []slot
	for _, k := range mixedKinds {
		for range k.n {
			slots = append(slots, slot{kind: k.kind, model: sonnet})
		}
	}
	if len(slots) != mixedTotal {
		panic(fmt.Sprintf("mixedKinds add up to %d lines", len(slots)))
	}
	r.Shuffle(len(slots), func(i, j int) { slots[i], slots[j] = slots[j], slots[i] })
	perm := r.Perm(mixedTotal)
	for _, i := range perm[:mixedHaiku] {
		slots[i].model = haiku
	}
	perm = r.Perm(mixedTotal)
	for _, i := range perm[:mixedBatch] {
		slots[i].batch = true
	}
	streams := 0
	for _, i := range r.Perm(mixedTotal) {
		if streams < mixedStream && !slots[i].batch { // batches cannot stream
			slots[i].stream = true
			streams++
		}
	}
	hugeS, hugeH := 0, 0
	for _, i := range r.Perm(mixedTotal) {
		switch slots[i].kind {
		case "sum", "rev-go", "rev-py", "ext", "qa", "tr":
		default:
			continue
		}
		if slots[i].model == sonnet && hugeS < mixedHuge {
			slots[i].huge = true
			hugeS++
		} else if slots[i].model == haiku && hugeH < mixedHugeHku {
			slots[i].huge = true
			hugeH++
		}
	}
	return slots
}

// maxTokens draws a max_tokens: mostly 256–1024, a few 2048–4096.
func (g *gen) maxTokens(kind string, huge bool) int {
	if huge {
		return []int{2048, 4096}[g.r.IntN(2)]
	}
	if kind == "cls" {
		return []int{256, 256, 512}[g.r.IntN(3)]
	}
	x := g.r.Float64()
	switch {
	case x < 0.25:
		return 256
	case x < 0.55:
		return 512
	case x < 0.65:
		return 768
	case x < 0.92:
		return 1024
	case x < 0.98:
		return 2048
	}
	return 4096
}

func (g *gen) temperature(kind string) *float64 {
	if !g.chance(0.3) {
		return nil
	}
	var t float64
	switch kind {
	case "cls", "ext":
		t = 0
	default:
		t = []float64{0.2, 0.3, 0.5, 0.7, 1}[g.r.IntN(5)]
	}
	return &t
}

// build fills req for a request of kind with a prompt of about tokens tokens.
func (g *gen) build(req *claudeRequest, kind string, tokens int, idx int) {
	switch kind {
	case "sum":
		g.summarize(req, tokens)
	case "tr":
		g.translate(req, tokens)
	case "cls":
		g.classify(req, tokens)
	case "rev-go":
		g.codeReview(req, tokens, false)
	case "rev-py":
		g.codeReview(req, tokens, true)
	case "ext":
		g.extract(req, tokens)
	case "zh":
		g.chineseTask(req, tokens)
	case "ru":
		g.russianTask(req, tokens)
	case "chat":
		g.chat(req, tokens)
	case "qa":
		g.qa(req, tokens)
	case "tool":
		g.toolTask(req, tokens, false)
	case "toolloop":
		g.toolTask(req, tokens, true)
	case "img":
		g.imageTask(req, tokens, pngSizes[idx%len(pngSizes)])
	case "pdf":
		g.pdfTask(req, 1+idx%5)
	default:
		panic("unknown kind " + kind)
	}
}

// idPrefix is the custom_id prefix of a kind.
func idPrefix(kind string) string {
	switch kind {
	case "rev-go", "rev-py":
		return "rev"
	case "toolloop":
		return "tool"
	}
	return kind
}

func mixedFile() ([]byte, []*claudeLine, error) {
	slots := mixedPlan()
	params := map[string]struct{ median, sigma float64 }{}
	for _, k := range mixedKinds {
		params[k.kind] = struct{ median, sigma float64 }{k.median, k.sigma}
	}
	var buf bytes.Buffer
	var lines []*claudeLine
	seen := map[string]int{} // how many of each kind so far (for image sizes and PDF pages)
	for i, s := range slots {
		g := newGen(seedMixed, uint64(i+1))
		p := params[s.kind]
		tokens := int(p.median * math.Exp(p.sigma*g.r.NormFloat64()) * sizeScale)
		tokens = min(max(tokens, 120), 12000)
		if s.huge {
			tokens = g.intn(21000, 38000)
		}
		req := &claudeRequest{Model: s.model, MaxTokens: g.maxTokens(s.kind, s.huge)}
		g.build(req, s.kind, tokens, seen[s.kind])
		seen[s.kind]++
		req.Temperature = g.temperature(s.kind)
		req.Stream = s.stream
		l := &claudeLine{req: req, maxTokens: req.MaxTokens}
		if s.batch {
			l.id = fmt.Sprintf("%s-%04d", idPrefix(s.kind), i+1)
		}
		if err := l.write(&buf); err != nil {
			return nil, nil, err
		}
		lines = append(lines, l)
	}
	return buf.Bytes(), lines, nil
}

// ---------------------------------------------------------------------------------------
// small-20

func smallFile() ([]byte, error) {
	kinds := []string{"cls", "sum", "tr", "ext", "rev-go", "zh", "ru", "chat", "cls", "sum",
		"rev-py", "ext", "qa", "tr", "cls", "sum", "chat", "ru", "zh", "ext"}
	var buf bytes.Buffer
	for i, kind := range kinds {
		g := newGen(seedSmall, uint64(i+1))
		model := sonnet
		if i%5 == 3 {
			model = haiku
		}
		req := &claudeRequest{Model: model, MaxTokens: []int{64, 128, 192, 256}[g.r.IntN(4)]}
		g.build(req, kind, g.intn(200, 900), i)
		req.Temperature = g.temperature(kind)
		req.Stream = i == 2 || i == 9 || i == 16
		l := &claudeLine{req: req}
		if i%2 == 1 && !req.Stream {
			l.id = fmt.Sprintf("small-%02d", i+1)
		}
		if err := l.write(&buf); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

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
