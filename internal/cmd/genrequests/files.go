package main

import "bytes"

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

// build fills req for a request of kind with a prompt of about tokens tokens; idx picks
// an image's size or a PDF's page count (callers pass the line's index, or in mixed-500
// how many of its kind came before).
//
// The cases share one shape on purpose (the duplicates tool lists them): each names a
// different builder with its own arguments, which reads more plainly than a table of
// adapters.
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
