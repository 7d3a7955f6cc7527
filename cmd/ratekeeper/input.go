package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/ratekeeper/ratekeeper/tier"
)

// request is one line of a requests file.
type request struct {
	// line is the line number, from 1.
	line int
	// id is the line's custom_id, or "line-N".
	id string
	// body is the Messages (or Chat Completions) body to send.
	body []byte
	// model and stream are read from body.
	model  string
	stream bool
	// err says why the line cannot be sent as it is (malformed JSON, an
	// unknown shape, a duplicate id); the run records it as invalid.
	err error
}

// errMalformed is what every line that cannot be read as a request
// matches.
var errMalformed = errors.New("malformed request line")

// readRequests reads a requests file: one JSON object per line, either a
// request body or a batch line ({"custom_id", "params"} for Anthropic,
// {"custom_id", "body"} for OpenAI). Blank lines are skipped. A line that is
// not a request is returned with err set, so that the run reports it with
// its line number and goes on; the error returned is for the reader alone.
func readRequests(r io.Reader, p tier.Provider) ([]request, error) {
	var reqs []request
	seen := make(map[string]int)
	br := bufio.NewReaderSize(r, 1<<20)
	for n := 1; ; n++ {
		raw, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(raw)) > 0 {
			q := parseRequest(n, bytes.TrimSpace(raw), p)
			if first, dup := seen[q.id]; dup && q.err == nil {
				q.err = fmt.Errorf("%w: id %q is also on line %d", errMalformed, q.id, first)
			} else if !dup {
				seen[q.id] = n
			}
			reqs = append(reqs, q)
		}
		if errors.Is(err, io.EOF) {
			return reqs, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// parseRequest reads one line (see readRequests).
func parseRequest(line int, raw []byte, p tier.Provider) request {
	q := request{line: line, id: "line-" + strconv.Itoa(line)}
	fail := func(format string, args ...any) request {
		q.err = fmt.Errorf("%w: "+format, append([]any{errMalformed}, args...)...)
		q.body = nil
		return q
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return fail("not JSON (at byte %d): %v", syn.Offset, err)
		}
		return fail("not a JSON object")
	}
	if top == nil {
		return fail("not a JSON object")
	}
	q.body = raw
	if idRaw, ok := top["custom_id"]; ok {
		var id string
		if err := json.Unmarshal(idRaw, &id); err != nil || id == "" {
			return fail("custom_id must be a non-empty string")
		}
		q.id = id
		key := "params"
		if p == tier.OpenAI {
			key = "body"
			if m, ok := top["method"]; ok {
				var method string
				if json.Unmarshal(m, &method) != nil || method != "POST" {
					return fail("method %s: an OpenAI batch line's method is POST", m)
				}
			}
			if u, ok := top["url"]; ok {
				var url string
				if json.Unmarshal(u, &url) != nil || (url != "/v1/chat/completions" && url != "/chat/completions") {
					return fail("url %s: only /v1/chat/completions is supported", u)
				}
			}
		}
		body, ok := top[key]
		if !ok {
			return fail("a line with custom_id needs %q (the request body)", key)
		}
		q.body = body
		top = nil
		if err := json.Unmarshal(body, &top); err != nil || top == nil {
			return fail("%q must be a JSON object", key)
		}
	}
	if m, ok := top["model"]; ok {
		_ = json.Unmarshal(m, &q.model)
	}
	if s, ok := top["stream"]; ok {
		_ = json.Unmarshal(s, &q.stream)
	}
	return q
}

// fileArg is the file a subcommand reads: its one argument, or "-" (stdin).
func fileArg(args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return "-"
}

// loadRequests reads the requests file at path ("-": stdin); a file that
// cannot be read, or holds no request, is a usage error.
func loadRequests(path string, stdin io.Reader, p tier.Provider) ([]request, error) {
	in, err := openInput(path, stdin)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	reqs, err := readRequests(in, p)
	if err != nil {
		return nil, usageErr("%s: %w", path, err)
	}
	if len(reqs) == 0 {
		return nil, usageErr("%s has no requests", path)
	}
	return reqs, nil
}
