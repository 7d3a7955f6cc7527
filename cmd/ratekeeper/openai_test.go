package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunOpenAI: Chat Completions bodies and OpenAI batch-file lines, one
// streamed, against the simulated OpenAI route with the budget of a
// config file; the streamed chunks are assembled into a chat.completion.
func TestRunOpenAI(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "openai.json")
	os.WriteFile(cfg, []byte(`{"provider":"openai","models":{"gpt-4o-mini":{"rpm":500,"tpm":200000}}}`), 0o644)
	in := filepath.Join(dir, "r.jsonl")
	os.WriteFile(in, []byte(`{"model":"gpt-4o-mini","max_completion_tokens":50,"messages":[{"role":"user","content":"Say hi."}]}
{"custom_id":"b-1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","max_tokens":50,"messages":[{"role":"user","content":"Say hello."}]}}
{"custom_id":"s-1","body":{"model":"gpt-4o-mini","max_tokens":50,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Stream."}]}}
{"custom_id":"bad-url","method":"POST","url":"/v1/embeddings","body":{"model":"gpt-4o-mini"}}
{"custom_id":"bad-method","method":"GET","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":"Hi."}]}}
`), 0o644)
	out := filepath.Join(dir, "out.jsonl")
	var so, se bytes.Buffer
	err := run(context.Background(), []string{"run", "--simulate", "--provider", "openai", "--config", cfg, "--out", out, in}, nil, &so, &se)
	if exitCode(err) != exitFailed || !strings.Contains(so.String(), "succeeded:   3") {
		data, _ := os.ReadFile(out)
		t.Log(string(data))
		t.Fatalf("run = %v\n%s%s", err, so.String(), se.String())
	}
	byID := map[string]Record{}
	for _, r := range readRecords(t, out) {
		byID[r.ID] = r
	}
	s := byID["s-1"]
	var cc struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(s.Response, &cc); err != nil || cc.Object != "chat.completion" || len(cc.Choices) != 1 || cc.Choices[0].Message.Content == "" || s.Usage == nil || s.Usage.OutputTokens == 0 {
		t.Errorf("streamed record = %+v %+v, assembled %s (%v)", s, s.Error, s.Response, err)
	}
	if b := byID["bad-method"]; b.Status != statusInvalid || !strings.Contains(b.Error.Message, "method") {
		t.Errorf("bad method record = %+v", b)
	}
	if b := byID["bad-url"]; b.Status != statusInvalid || !strings.Contains(b.Error.Message, "embeddings") {
		t.Errorf("bad url record = %+v", b)
	}
}
