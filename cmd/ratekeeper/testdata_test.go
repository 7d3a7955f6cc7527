package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunBadLines: the committed file of bad lines: each is reported with
// its line number and recorded as invalid; the good ones are sent.
func TestRunBadLines(t *testing.T) {
	var so, se bytes.Buffer
	err := run(context.Background(), []string{"run", "--simulate", "--quiet", "../../testdata/requests/bad-10.jsonl"}, nil, &so, &se)
	if exitCode(err) != exitFailed {
		t.Fatalf("run = %v", err)
	}
	for _, w := range []string{"succeeded:   5", "invalid: 5 (malformed 4, too_large 1)", "answered 429, 0 answered 529"} {
		if !strings.Contains(so.String(), w) {
			t.Errorf("summary lacks %q:\n%s", w, so.String())
		}
	}
	for _, w := range []string{"line 2 (line-2): malformed", "line 4 (line-4)", "line 6 (line-6)", "line 8 (line-8): too_large", "line 10 (line-10)"} {
		if !strings.Contains(se.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, se.String())
		}
	}
}
