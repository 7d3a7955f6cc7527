package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
)

// stats are what mixed-500 costs against the simulated server.
type stats struct {
	requests, batch, stream        [2]int // [sonnet, haiku]
	input, maxTokens               [2]int64
	biggest, smallest              int64
	biggestLine                    int
	huge                           int   // requests of 20k input tokens or more
	hugeMin                        int64 // the smallest of them
	tools, toolLoops, images, pdfs int
	systemString, systemBlocks     int
	temperature                    int
}

func measure(lines []*claudeLine) (stats, error) {
	srv, err := simapi.New(simapi.Config{})
	if err != nil {
		return stats{}, err
	}
	var st stats
	for i, l := range lines {
		n, err := srv.InputTokens(tier.Anthropic, l.body)
		if err != nil {
			return stats{}, fmt.Errorf("mixed-500 line %d: %w", i+1, err)
		}
		m := 0
		if l.req.Model == haiku {
			m = 1
		}
		st.requests[m]++
		st.input[m] += n
		st.maxTokens[m] += int64(l.req.MaxTokens)
		if l.id != "" {
			st.batch[m]++
		}
		if l.req.Stream {
			st.stream[m]++
		}
		if n > st.biggest {
			st.biggest, st.biggestLine = n, i+1
		}
		if st.smallest == 0 || n < st.smallest {
			st.smallest = n
		}
		if n >= 20_000 {
			st.huge++
			if st.hugeMin == 0 || n < st.hugeMin {
				st.hugeMin = n
			}
		}
		if len(l.req.Tools) > 0 {
			st.tools++
			if len(l.req.Messages) > 1 {
				st.toolLoops++
			}
		}
		switch l.req.System.(type) {
		case string:
			st.systemString++
		case []block:
			st.systemBlocks++
		}
		if l.req.Temperature != nil {
			st.temperature++
		}
		for _, msg := range l.req.Messages {
			if bs, ok := msg.Content.([]block); ok {
				for _, b := range bs {
					switch b.Type {
					case "image":
						st.images++
					case "document":
						st.pdfs++
					}
				}
			}
		}
	}
	return st, nil
}

func readme(files []file, st stats) []byte {
	var b bytes.Buffer
	b.WriteString(`# testdata/requests

Request files for the CLI's tests and demos: one compact JSON object per line
(JSONL). They are generated — do not edit them by hand. Regenerate them, and
this README, from anywhere inside the module with

    go run ./internal/cmd/genrequests

(` + "`-out DIR`" + ` writes elsewhere). The test of internal/cmd/genrequests fails when
the committed files differ from what the generator writes, and checks that
package tokencount accepts every good line. Prompts are built from word lists
and templates: they look like their kind (prose, Go and Python code, JSON,
Chinese, Russian) but mean nothing.

| file | lines | bytes | what |
|---|---:|---:|---|
`)
	what := map[string]string{
		"mixed-500.jsonl": "Claude requests of every kind; 70% plain Messages bodies, 30% Message Batches lines",
		"openai-50.jsonl": "OpenAI Chat Completions requests; half plain bodies, half Batch API lines",
		"bad-10.jsonl":    "5 good Claude batch lines and 5 bad lines, for error handling",
		"small-20.jsonl":  "small Claude requests, for fast tests",
	}
	for _, f := range files {
		fmt.Fprintf(&b, "| %s | %d | %d | %s |\n", f.name, bytes.Count(f.data, []byte("\n")), len(f.data), what[f.name])
	}
	b.WriteString(`
## Shapes

A plain Claude line is a Messages API body (POST /v1/messages):

    {"model":"claude-sonnet-4-6","max_tokens":1024,"system":...,"messages":[...],"tools":[...],"temperature":0.3,"stream":true}

` + "`system`" + ` is absent, a string, or an array of text blocks (the first with
` + "`cache_control`" + `); ` + "`tools`, `temperature` and `stream`" + ` appear only on some lines.
A Claude batch line is a Message Batches request, with a ` + "`custom_id`" + ` unique in
its file (the kind and the line number, e.g. ` + "`sum-0042`" + `) and a Messages body
as ` + "`params`" + ` (never streaming):

    {"custom_id":"sum-0042","params":{"model":...,"max_tokens":...,"messages":[...]}}

An OpenAI plain line is a Chat Completions body (POST /v1/chat/completions),
with ` + "`max_tokens` or `max_completion_tokens`" + `; an OpenAI batch line is a line of a
Batch API input file:

    {"custom_id":"oai-0002","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4.1","messages":[...],...}}

## mixed-500.jsonl

500 Claude requests: summaries of English documents (meeting notes, incident
reports…), translations, ticket and review classification, Go and Python code
review, JSON extraction from JSON exports, Chinese and Russian texts,
multi-turn chats, question answering over numbered passages, tool definitions
(JSON-schema ` + "`input_schema`" + `) with and without tool_use/tool_result rounds,
solid-colour PNG images (200×150 to 1200×900, one square, one portrait) and
hand-written PDFs of 1–5 pages. Prompt sizes are log-normal per kind;
max_tokens is mostly 256–1024, sometimes 2048 or 4096.

Measured with ` + "`simapi.Server.InputTokens`" + ` (the simulated server's count, what
admission debits from ITPM):

| | claude-sonnet-4-6 | claude-haiku-4-5 |
|---|---:|---:|
`)
	fmt.Fprintf(&b, "| requests | %d | %d |\n", st.requests[0], st.requests[1])
	fmt.Fprintf(&b, "| batch-shaped | %d | %d |\n", st.batch[0], st.batch[1])
	fmt.Fprintf(&b, "| streaming | %d | %d |\n", st.stream[0], st.stream[1])
	fmt.Fprintf(&b, "| input tokens | %d | %d |\n", st.input[0], st.input[1])
	fmt.Fprintf(&b, "| sum of max_tokens | %d | %d |\n", st.maxTokens[0], st.maxTokens[1])
	fmt.Fprintf(&b, "\nRequests range from %d to %d input tokens (line %d); %d have 20k or more (from %d).\n"+
		"%d requests define tools (%d of them with tool_use/tool_result rounds), %d carry an image\n"+
		"and %d a PDF; %d have the system prompt as a string and %d as text blocks; %d set a\n"+
		"temperature.\n",
		st.smallest, st.biggest, st.biggestLine, st.huge, st.hugeMin,
		st.tools, st.toolLoops, st.images, st.pdfs, st.systemString, st.systemBlocks, st.temperature)
	// The CLI's default simulated budget: Tier 2, per model class.
	const itpm, otpm = 450_000, 90_000
	fmt.Fprintf(&b, `
At the CLI's default simulated budget (Tier 2: 1,000 RPM, 450k input and 90k
output tokens a minute per model class; the simulator draws actual output
uniformly in 1..max_tokens), the Sonnet requests hold %.1f minutes of ITPM and
%.1f minutes of OTPM reserved as max_tokens (about %.1f of actual output); the
Haiku requests %.1f and %.1f (%.1f).

`, float64(st.input[0])/itpm, float64(st.maxTokens[0])/otpm, float64(st.maxTokens[0]+int64(st.requests[0]))/2/otpm,
		float64(st.input[1])/itpm, float64(st.maxTokens[1])/otpm, float64(st.maxTokens[1]+int64(st.requests[1]))/2/otpm)
	b.WriteString(`## openai-50.jsonl

50 requests to ` + "`gpt-4o-mini` and `gpt-4.1`" + `, each a system message and the
user turn (100–5,000 tokens), half with ` + "`max_tokens`" + ` and half with
` + "`max_completion_tokens`" + `, JSON-mode (` + "`response_format`" + `) for extraction and
classification. Odd lines (1, 3, …) are plain bodies, lines 1, 11, 21, 31
and 41 streaming with ` + "`\"stream_options\":{\"include_usage\":true}`" + `; even lines are
Batch API lines with custom_id ` + "`oai-NNNN`" + `.

## bad-10.jsonl

| line | content |
|---:|---|
`)
	for i, bl := range badLines {
		if bl.id != "" {
			fmt.Fprintf(&b, "| %d | good: batch line, custom_id `%s` |\n", i+1, bl.id)
		} else {
			fmt.Fprintf(&b, "| %d | **bad**: %s |\n", i+1, bl.why)
		}
	}
	b.WriteString(`
tokencount's ` + "`EstimateAnthropic`" + ` rejects lines 4 and 6 (and 2 and 10, which do not
decode as a Messages body) with ErrMalformed, and line 8 with ErrTooLarge.

## small-20.jsonl

20 Claude requests of 200–1,500 input tokens with max_tokens 64–256: lines 3,
10 and 17 stream; the even lines (2, 4, …) that do not stream are batch lines
with custom_id ` + "`small-NN`" + ` (NN the line number); the rest are plain bodies.
Every fifth line from line 4 (4, 9, 14, 19) goes to claude-haiku-4-5, the
others to claude-sonnet-4-6.
`)
	return []byte(strings.ReplaceAll(b.String(), "\r", ""))
}
