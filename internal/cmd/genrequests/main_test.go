package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// committed is testdata/requests, relative to this package.
var committed = filepath.Join("..", "..", "..", "testdata", "requests")

// TestCommittedFilesMatchGenerator regenerates every file into a temporary directory and
// requires the committed files to be byte-identical: rerun `go run
// ./internal/cmd/genrequests` after changing the generator.
func TestCommittedFilesMatchGenerator(t *testing.T) {
	files, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := writeFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.name)
		got, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(committed, f.name))
		if err != nil {
			t.Errorf("%v (run go run ./internal/cmd/genrequests)", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the generator writes (%d bytes, committed %d): run go run ./internal/cmd/genrequests", f.name, len(got), len(want))
		}
	}
	entries, err := os.ReadDir(committed)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(names, e.Name()) {
			t.Errorf("%s/%s is not written by the generator", committed, e.Name())
		}
	}
}

// TestDeterministic generates twice in one process.
func TestDeterministic(t *testing.T) {
	a, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if !bytes.Equal(a[i].data, b[i].data) {
			t.Errorf("%s: two runs differ", a[i].name)
		}
	}
}

type line struct {
	n        int    // from 1
	raw      []byte // the whole line
	id       string // custom_id, "" for a plain body
	body     []byte // the request body (params or body for batch lines)
	model    string
	maxOut   int64 // max_tokens or max_completion_tokens
	stream   bool
	isObject bool
}

// readLines reads a committed JSONL file; lines that do not decode have only n and raw.
func readLines(t *testing.T, name string) []line {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(committed, name))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatalf("%s does not end with a newline", name)
	}
	var out []line
	for i, raw := range bytes.Split(data[:len(data)-1], []byte("\n")) {
		l := line{n: i + 1, raw: raw}
		var top struct {
			CustomID string          `json:"custom_id"`
			Params   json.RawMessage `json:"params"`
			Body     json.RawMessage `json:"body"`
		}
		if json.Unmarshal(raw, &top) == nil {
			l.isObject = true
			l.id = top.CustomID
			switch {
			case top.Params != nil:
				l.body = top.Params
			case top.Body != nil:
				l.body = top.Body
			default:
				l.body = raw
			}
			var b struct {
				Model               string `json:"model"`
				MaxTokens           int64  `json:"max_tokens"`
				MaxCompletionTokens int64  `json:"max_completion_tokens"`
				Stream              bool   `json:"stream"`
			}
			if err := json.Unmarshal(l.body, &b); err != nil {
				t.Fatalf("%s:%d: %v", name, l.n, err)
			}
			l.model, l.maxOut, l.stream = b.Model, max(b.MaxTokens, b.MaxCompletionTokens), b.Stream
		}
		out = append(out, l)
	}
	return out
}

func newEstimator(t *testing.T) *tokencount.Estimator {
	t.Helper()
	e, err := tokencount.New()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newServer(t *testing.T) *simapi.Server {
	t.Helper()
	s, err := simapi.New(simapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkCommon checks what holds for every good line: one compact object, accepted by the
// estimator, a custom_id unique in its file when batch-shaped, no streaming batch line.
func checkCommon(t *testing.T, name string, lines []line, p tier.Provider) {
	t.Helper()
	e := newEstimator(t)
	ids := map[string]int{}
	for _, l := range lines {
		if !l.isObject {
			t.Errorf("%s:%d: not a JSON object", name, l.n)
			continue
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, l.raw); err != nil || !bytes.Equal(compact.Bytes(), l.raw) {
			t.Errorf("%s:%d: not compact JSON", name, l.n)
		}
		var err error
		if p == tier.Anthropic {
			_, err = e.EstimateAnthropic(l.body)
		} else {
			_, err = e.EstimateOpenAI(l.body)
		}
		if err != nil {
			t.Errorf("%s:%d: estimator: %v", name, l.n, err)
		}
		if l.id != "" {
			if prev, ok := ids[l.id]; ok {
				t.Errorf("%s:%d: custom_id %q already on line %d", name, l.n, l.id, prev)
			}
			ids[l.id] = l.n
			if l.stream {
				t.Errorf("%s:%d: a batch line streams", name, l.n)
			}
		}
	}
}

func TestMixed500(t *testing.T) {
	lines := readLines(t, "mixed-500.jsonl")
	if len(lines) != 500 {
		t.Fatalf("%d lines, want 500", len(lines))
	}
	checkCommon(t, "mixed-500", lines, tier.Anthropic)
	srv := newServer(t)
	var in, out [2]int64
	var requests, batch, stream, huge int
	idRE := regexp.MustCompile(`^[a-z]+-\d{4}$`)
	for _, l := range lines {
		m := 0
		switch l.model {
		case sonnet:
		case haiku:
			m = 1
		default:
			t.Errorf("line %d: model %q", l.n, l.model)
		}
		n, err := srv.InputTokens(tier.Anthropic, l.body)
		if err != nil {
			t.Fatalf("line %d: %v", l.n, err)
		}
		in[m] += n
		out[m] += l.maxOut
		if m == 0 {
			requests++
		}
		if l.id != "" {
			batch++
			if !idRE.MatchString(l.id) || !strings.HasSuffix(l.id, fmt.Sprintf("-%04d", l.n)) {
				t.Errorf("line %d: custom_id %q", l.n, l.id)
			}
		}
		if l.stream {
			stream++
		}
		if n >= 20_000 {
			huge++
		}
		if n > 40_000 || l.maxOut < 256 || l.maxOut > 4096 {
			t.Errorf("line %d: %d input tokens, max_tokens %d", l.n, n, l.maxOut)
		}
	}
	t.Logf("sonnet: %d requests, input %d, max_tokens %d; haiku: input %d, max_tokens %d; %d batch, %d streaming, %d of 20k+ tokens",
		requests, in[0], out[0], in[1], out[1], batch, stream, huge)
	within := func(what string, v, lo, hi int64) {
		if v < lo || v > hi {
			t.Errorf("%s = %d, want %d..%d", what, v, lo, hi)
		}
	}
	within("sonnet input tokens", in[0], 700_000, 900_000)
	within("haiku input tokens", in[1], 150_000, 250_000)
	within("sonnet sum of max_tokens", out[0], 250_000, 350_000)
	within("sonnet requests", int64(requests), 380, 420)
	within("batch lines", int64(batch), 140, 160)
	within("streaming lines", int64(stream), 60, 90)
	within("20k+ requests", int64(huge), 4, 10)
}

func TestSmall20(t *testing.T) {
	lines := readLines(t, "small-20.jsonl")
	if len(lines) != 20 {
		t.Fatalf("%d lines, want 20", len(lines))
	}
	checkCommon(t, "small-20", lines, tier.Anthropic)
	srv := newServer(t)
	streams, batch := 0, 0
	for _, l := range lines {
		n, err := srv.InputTokens(tier.Anthropic, l.body)
		if err != nil {
			t.Fatal(err)
		}
		if n < 200 || n > 1500 || l.maxOut < 64 || l.maxOut > 256 {
			t.Errorf("line %d: %d input tokens, max_tokens %d; want 200..1500 and 64..256", l.n, n, l.maxOut)
		}
		if l.stream {
			streams++
		}
		if l.id != "" {
			batch++
		}
	}
	if streams != 3 || batch == 0 || batch == len(lines) {
		t.Errorf("%d streaming, %d batch lines", streams, batch)
	}
}

func TestOpenAI50(t *testing.T) {
	lines := readLines(t, "openai-50.jsonl")
	if len(lines) != 50 {
		t.Fatalf("%d lines, want 50", len(lines))
	}
	checkCommon(t, "openai-50", lines, tier.OpenAI)
	srv := newServer(t)
	batch, streams := 0, 0
	for _, l := range lines {
		var shape struct {
			Method, URL   string
			StreamOptions *struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		if err := json.Unmarshal(l.raw, &shape); err != nil {
			t.Fatal(err)
		}
		if l.id != "" {
			batch++
			if shape.Method != "POST" || shape.URL != "/v1/chat/completions" {
				t.Errorf("line %d: batch line with method %q url %q", l.n, shape.Method, shape.URL)
			}
		}
		if l.stream {
			streams++
			if err := json.Unmarshal(l.body, &shape); err != nil || shape.StreamOptions == nil || !shape.StreamOptions.IncludeUsage {
				t.Errorf("line %d: streams without stream_options.include_usage", l.n)
			}
		}
		if l.model != "gpt-4o-mini" && l.model != "gpt-4.1" {
			t.Errorf("line %d: model %q", l.n, l.model)
		}
		n, err := srv.InputTokens(tier.OpenAI, l.body)
		if err != nil {
			t.Fatal(err)
		}
		if n < 100 || n > 5000 || l.maxOut == 0 {
			t.Errorf("line %d: %d prompt tokens, max output %d", l.n, n, l.maxOut)
		}
	}
	if batch != 25 || streams == 0 {
		t.Errorf("%d batch lines, %d streaming", batch, streams)
	}
}

func TestBad10(t *testing.T) {
	lines := readLines(t, "bad-10.jsonl")
	if len(lines) != len(badLines) {
		t.Fatalf("%d lines, want %d", len(lines), len(badLines))
	}
	e := newEstimator(t)
	for i, l := range lines {
		want := badLines[i]
		var err error
		if l.isObject {
			_, err = e.EstimateAnthropic(l.body)
		} else {
			// Not an object: what a reader that hands the line to the estimator sees.
			_, err = e.EstimateAnthropic(l.raw)
		}
		switch l.n {
		case 1, 3, 5, 7, 9:
			if err != nil || l.id != want.id || l.id != "good-"+strconv.Itoa((l.n+1)/2) {
				t.Errorf("line %d (%s): id %q, %v", l.n, want.id, l.id, err)
			}
		case 2:
			if json.Valid(l.raw) || !errors.Is(err, tokencount.ErrMalformed) {
				t.Errorf("line 2 should be truncated JSON: valid %t, %v", json.Valid(l.raw), err)
			}
		case 4, 6:
			if !errors.Is(err, tokencount.ErrMalformed) {
				t.Errorf("line %d: %v, want ErrMalformed", l.n, err)
			}
			field := map[int]string{4: "model", 6: "max_tokens"}[l.n]
			if bytes.Contains(l.raw, []byte(`"`+field+`"`)) {
				t.Errorf("line %d has %s", l.n, field)
			}
		case 8:
			if !errors.Is(err, tokencount.ErrTooLarge) {
				t.Errorf("line 8: %v, want ErrTooLarge", err)
			}
		case 10:
			var arr []json.RawMessage
			if json.Unmarshal(l.raw, &arr) != nil || len(arr) != 1 {
				t.Error("line 10 should be a JSON array of one request")
			}
			if !errors.Is(err, tokencount.ErrMalformed) {
				t.Errorf("line 10: %v, want ErrMalformed", err)
			}
			if _, err := e.EstimateAnthropic(arr[0]); err != nil {
				t.Errorf("line 10's element: %v", err)
			}
		}
	}
}

// TestMedia decodes every PNG in full (so the hand-written deflate stream and checksums
// are valid) and checks every PDF's cross-reference table and page count.
func TestMedia(t *testing.T) {
	var images, pdfs int
	for _, l := range readLines(t, "mixed-500.jsonl") {
		var b struct {
			Messages []struct {
				Content json.RawMessage `json:"content"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(l.body, &b); err != nil {
			t.Fatal(err)
		}
		for _, m := range b.Messages {
			var blocks []struct {
				Type   string `json:"type"`
				Source *struct {
					MediaType string `json:"media_type"`
					Data      string `json:"data"`
				} `json:"source"`
			}
			if json.Unmarshal(m.Content, &blocks) != nil {
				continue // a string
			}
			for _, blk := range blocks {
				if blk.Source == nil {
					continue
				}
				raw, err := base64.StdEncoding.DecodeString(blk.Source.Data)
				if err != nil {
					t.Fatalf("line %d: %v", l.n, err)
				}
				switch blk.Source.MediaType {
				case "image/png":
					images++
					img, err := png.Decode(bytes.NewReader(raw))
					if err != nil {
						t.Errorf("line %d: PNG: %v", l.n, err)
						continue
					}
					if sz := img.Bounds().Size(); sz.X < 200 || sz.Y < 150 || sz.X > 1600 || sz.Y > 1600 {
						t.Errorf("line %d: image %v", l.n, sz)
					}
				case "application/pdf":
					pdfs++
					if err := checkPDF(raw); err != nil {
						t.Errorf("line %d: PDF: %v", l.n, err)
					}
				}
			}
		}
	}
	if images != 8 || pdfs != 5 {
		t.Errorf("%d images, %d PDFs; want 8 and 5", images, pdfs)
	}
}

func checkPDF(b []byte) error {
	s := string(b)
	if !strings.HasPrefix(s, "%PDF-1.") || !strings.HasSuffix(s, "%%EOF\n") {
		return errors.New("no header or trailer")
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n`).FindStringSubmatch(s)
	if m == nil {
		return errors.New("no startxref")
	}
	xref, _ := strconv.Atoi(m[1])
	if !strings.HasPrefix(s[xref:], "xref\n") {
		return fmt.Errorf("startxref %d does not point at the xref table", xref)
	}
	entries := regexp.MustCompile(`(\d{10}) 00000 n `).FindAllStringSubmatch(s[xref:], -1)
	for i, e := range entries {
		off, _ := strconv.Atoi(e[1])
		if !strings.HasPrefix(s[off:], fmt.Sprintf("%d 0 obj\n", i+1)) {
			return fmt.Errorf("xref entry %d points at %q", i+1, s[off:min(len(s), off+12)])
		}
	}
	pages := strings.Count(s, "/Type /Page ")
	count := regexp.MustCompile(`/Count (\d+)`).FindStringSubmatch(s)
	if count == nil || count[1] != strconv.Itoa(pages) || pages < 1 || pages > 5 {
		return fmt.Errorf("%d page objects, /Count %v", pages, count)
	}
	return nil
}

func TestSolidPNG(t *testing.T) {
	for _, sz := range [][2]int{{1, 1}, {3, 85}, {257, 1}, {200, 150}, {1200, 900}} {
		img, err := png.Decode(bytes.NewReader(solidPNG(sz[0], sz[1], 10, 20, 30)))
		if err != nil {
			t.Fatalf("%v: %v", sz, err)
		}
		if got := img.Bounds().Size(); got.X != sz[0] || got.Y != sz[1] {
			t.Fatalf("%v: decoded %v", sz, got)
		}
		if r, g, b, _ := img.At(sz[0]-1, sz[1]-1).RGBA(); r>>8 != 10 || g>>8 != 20 || b>>8 != 30 {
			t.Fatalf("%v: colour %d %d %d", sz, r>>8, g>>8, b>>8)
		}
	}
}
