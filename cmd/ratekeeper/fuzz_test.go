package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ratekeeper/ratekeeper/tier"
)

// FuzzParseRequest: any line gives a request or an error matching
// errMalformed, never a panic; a line read as a request has a body that is
// a JSON object.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"claude-sonnet-4-6","max_tokens":5,"messages":[]}`,
		`{"custom_id":"a","params":{"model":"m","stream":true}}`,
		`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini"}}`,
		`{"custom_id":"","params":{}}`, `[1,2]`, `null`, `{"custom_id":"x","params":[]}`, `{bad`,
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, raw []byte, openai bool) {
		p := tier.Anthropic
		if openai {
			p = tier.OpenAI
		}
		q := parseRequest(7, raw, p)
		if q.line != 7 || q.id == "" {
			t.Fatalf("request %+v", q)
		}
		if q.err == nil && (len(q.body) == 0 || bytes.TrimSpace(q.body)[0] != '{') {
			t.Fatalf("body %q of %q is not an object", q.body, raw)
		}
	})
}

// FuzzAssemble: any event stream assembles into JSON or fails with
// errStream, never a panic.
func FuzzAssemble(f *testing.F) {
	f.Add([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":3}}}\n\n"+
		"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"+
		"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n"+
		"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\n"+
		"data: {\"type\":\"message_stop\"}\n\n"), false)
	f.Add([]byte("data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\",\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{}\"}}]}}]}\n\ndata: [DONE]\n\n"), true)
	f.Add([]byte("data: {\"choices\":[{\"index\":99999999}]}\n\n"), true)
	f.Fuzz(func(t *testing.T, stream []byte, openai bool) {
		p := tier.Anthropic
		if openai {
			p = tier.OpenAI
		}
		resp := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(stream))}
		out, err := assemble(p, resp)
		if err == nil && !bytes.HasPrefix(out, []byte("{")) {
			t.Fatalf("assembled %q", out)
		}
	})
}

// FuzzReadOut: any --out content is read as records or refused with a
// usage error; a torn last line is cut off.
func FuzzReadOut(f *testing.F) {
	f.Add([]byte(`{"id":"a","line":1,"status":"succeeded"}` + "\n" + `{"id":"b","li`))
	f.Add([]byte("\n\n"))
	f.Add([]byte(`{"id":""}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "out.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		st := &resumeState{done: map[string]Record{}, maybeSent: map[string]journalMark{}}
		err := st.readOut(path)
		if err != nil {
			if exitCode(err) != exitUsage {
				t.Fatalf("error %v is not a usage error", err)
			}
			return
		}
		after, _ := os.ReadFile(path)
		if len(after) > 0 && !strings.HasSuffix(string(after), "\n") {
			t.Fatalf("after reading, %q does not end with a newline", after)
		}
	})
}
