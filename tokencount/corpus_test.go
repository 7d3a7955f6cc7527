package tokencount

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// corpusDir holds the accuracy corpus: JSONL files of request bodies, one
// {"kind","provider","body"} object per line, and the hand-written sources.
const corpusDir = "../testdata/corpus"

var genCorpus = flag.Bool("gencorpus", false, "regenerate testdata/corpus/*.jsonl from the sources, GOROOT and the Python stdlib")

// corpusItem is one request of the corpus.
type corpusItem struct {
	Kind     string          `json:"kind"`
	Provider string          `json:"provider"`
	Body     json.RawMessage `json:"body"`
}

// loadCorpus reads every request of the corpus, in file order.
func loadCorpus(tb testing.TB) []corpusItem {
	tb.Helper()
	var items []corpusItem
	for _, name := range []string{"anthropic.jsonl", "openai.jsonl"} {
		f, err := os.Open(filepath.Join(corpusDir, name))
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var it corpusItem
			if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
				tb.Fatal(err)
			}
			items = append(items, it)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			tb.Fatal(err)
		}
	}
	return items
}

// TestGenerateCorpus regenerates the corpus: go test -run TestGenerateCorpus -gencorpus ./tokencount
func TestGenerateCorpus(t *testing.T) {
	if !*genCorpus {
		t.Skip("pass -gencorpus to regenerate testdata/corpus")
	}
	g := newGen(t)
	var anth, oai bytes.Buffer
	kinds := []string{"prose", "code_go", "code_py", "json", "zh", "ru", "tools", "images", "mixed", "long"}
	for i := range 270 {
		kind := kinds[i%len(kinds)]
		writeItem(t, &anth, kind, "anthropic", g.anthropic(kind))
	}
	for i := range 240 {
		kind := kinds[i%len(kinds)]
		writeItem(t, &oai, kind, "openai", g.openai(kind))
	}
	for name, b := range map[string]*bytes.Buffer{"anthropic.jsonl": &anth, "openai.jsonl": &oai} {
		if err := os.WriteFile(filepath.Join(corpusDir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", name, b.Len())
	}
}

func writeItem(t *testing.T, w *bytes.Buffer, kind, provider string, body any) {
	b, err := json.Marshal(body) // escapes <, >, & as anthropic-sdk-go does
	if err != nil {
		t.Fatal(err)
	}
	line, _ := json.Marshal(corpusItem{Kind: kind, Provider: provider, Body: b})
	w.Write(line)
	w.WriteByte('\n')
}

type gen struct {
	r                *rand.Rand
	en, zh, ru       []string
	goFiles, pyFiles []string
	spec             []string
	tools            []map[string]any
	imgPNG, imgJPEG  []string // base64
	imgDims          [][2]int
}

func newGen(t *testing.T) *gen {
	g := &gen{r: rand.New(rand.NewPCG(1, 2))}
	read := func(name string) []string {
		b, err := os.ReadFile(filepath.Join(corpusDir, "sources", name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	g.en, g.zh, g.ru = read("en.txt"), read("zh.txt"), read("ru.txt")
	//lint:ignore SA1019 the Go source tree of the toolchain running the test is the code corpus, on purpose
	goroot := runtime.GOROOT()
	for _, dir := range []string{"net/http", "strings", "bufio", "encoding/json", "sync", "time", "sort", "context"} {
		m, _ := filepath.Glob(filepath.Join(goroot, "src", dir, "*.go"))
		for _, f := range m {
			if !strings.HasSuffix(f, "_test.go") {
				g.goFiles = append(g.goFiles, f)
			}
		}
	}
	g.pyFiles, _ = filepath.Glob("/usr/lib/python3*/*.py")
	if len(g.goFiles) == 0 || len(g.pyFiles) == 0 {
		t.Fatal("need GOROOT sources and a Python stdlib")
	}
	spec, err := os.ReadFile(filepath.Join(goroot, "doc", "go_mem.html"))
	if err != nil {
		t.Fatal(err)
	}
	text := regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(string(spec), "")
	for _, p := range strings.Split(text, "\n\n") {
		if p = strings.TrimSpace(p); len(p) > 200 {
			g.spec = append(g.spec, p)
		}
	}
	g.tools = toolDefs()
	for i, d := range [][2]int{{64, 64}, {200, 150}, {320, 240}, {640, 480}, {800, 600}, {1024, 768}, {1092, 1092}, {1568, 1000}, {2000, 1500}, {3000, 2000}, {400, 1200}, {1280, 720}} {
		img := image.NewGray(image.Rect(0, 0, d[0], d[1]))
		for y := range d[1] {
			for x := range d[0] {
				img.SetGray(x, y, color.Gray{uint8((x/256+y/256+i)%4) * 60})
			}
		}
		var pb, jb bytes.Buffer
		png.Encode(&pb, img)
		jpeg.Encode(&jb, img, &jpeg.Options{Quality: 5})
		g.imgPNG = append(g.imgPNG, base64.StdEncoding.EncodeToString(pb.Bytes()))
		g.imgJPEG = append(g.imgJPEG, base64.StdEncoding.EncodeToString(jb.Bytes()))
		g.imgDims = append(g.imgDims, d)
	}
	return g
}

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

// paragraphs joins n random lines of s.
func (g *gen) paragraphs(s []string, n int, sep string) string {
	var parts []string
	for range n {
		parts = append(parts, g.pick(s))
	}
	return strings.Join(parts, sep)
}

func (g *gen) snippet(files []string, minB, maxB int) string {
	b, _ := os.ReadFile(g.pick(files))
	n := minB + g.r.IntN(maxB-minB+1)
	if len(b) <= n {
		return string(b)
	}
	off := g.r.IntN(len(b) - n)
	if i := bytes.IndexByte(b[off:], '\n'); i >= 0 {
		off += i + 1
	}
	s := b[off:min(len(b), off+n)]
	if i := bytes.LastIndexByte(s, '\n'); i > 0 {
		s = s[:i+1]
	}
	return string(s)
}

var firstNames = []string{"Alice", "Bob", "Chen", "Dmitri", "Elena", "Fatima", "Gabriel", "Hiro", "Ingrid", "José"}
var cities = []string{"Berlin", "São Paulo", "Tokyo", "Nairobi", "Toronto", "Lyon", "Seoul", "Austin"}

func (g *gen) jsonDoc(n int) string {
	var recs []map[string]any
	for i := range n {
		recs = append(recs, map[string]any{
			"id":       1000 + i*7 + g.r.IntN(7),
			"name":     g.pick(firstNames) + " " + string(rune('A'+g.r.IntN(26))) + ".",
			"email":    strings.ToLower(g.pick(firstNames)) + fmt.Sprintf("%d@example.com", g.r.IntN(999)),
			"city":     g.pick(cities),
			"balance":  float64(g.r.IntN(1000000)) / 100,
			"active":   g.r.IntN(2) == 0,
			"tags":     []string{"vip", "beta", "eu", "trial", "annual"}[:g.r.IntN(5)],
			"created":  fmt.Sprintf("2025-%02d-%02dT%02d:%02d:00Z", 1+g.r.IntN(12), 1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60)),
			"orders":   []map[string]any{{"sku": fmt.Sprintf("SKU-%05d", g.r.IntN(99999)), "qty": 1 + g.r.IntN(5), "price": float64(g.r.IntN(50000)) / 100}},
			"metadata": map[string]any{"source": "import", "score": g.r.Float64()},
		})
	}
	var b []byte
	if g.r.IntN(2) == 0 {
		b, _ = json.MarshalIndent(recs, "", "  ")
	} else {
		b, _ = json.Marshal(recs)
	}
	return string(b)
}

// content returns user text of the given kind.
func (g *gen) content(kind string) string {
	switch kind {
	case "prose":
		if g.r.IntN(2) == 0 {
			return g.paragraphs(g.spec, 1+g.r.IntN(4), "\n\n")
		}
		return g.paragraphs(g.en, 1+g.r.IntN(8), "\n\n")
	case "code_go":
		return "Review this Go code and point out bugs:\n\n```go\n" + g.snippet(g.goFiles, 200, 2500) + "```"
	case "code_py":
		return "What does this Python code do?\n\n```python\n" + g.snippet(g.pyFiles, 200, 2500) + "```"
	case "json":
		return "Extract the customers with a balance above 5000 from this data:\n" + g.jsonDoc(1+g.r.IntN(7))
	case "zh":
		return g.paragraphs(g.zh, 1+g.r.IntN(10), "\n")
	case "ru":
		return g.paragraphs(g.ru, 1+g.r.IntN(10), "\n")
	case "long":
		var parts []string
		for range 2 {
			parts = append(parts, g.content([]string{"prose", "code_go", "code_py", "json", "zh", "ru"}[g.r.IntN(6)]))
		}
		return strings.Join(parts, "\n\n")
	}
	return g.content([]string{"prose", "code_go", "code_py", "json", "zh", "ru"}[g.r.IntN(6)])
}

var systemPrompts = []string{
	"You are a helpful assistant.",
	"You are a senior software engineer. Answer concisely, with code where it helps. Prefer the standard library.",
	"Tu es un assistant qui répond toujours en français, de manière claire et précise.",
	"你是一个专业的翻译助手，请把用户的内容翻译成英文。",
	"Ты — вежливый помощник службы поддержки. Отвечай кратко и по делу.",
}

func (g *gen) anthropic(kind string) map[string]any {
	req := map[string]any{
		"model":      "claude-sonnet-4-5",
		"max_tokens": []int{256, 1024, 4096, 8192}[g.r.IntN(4)],
	}
	if g.r.IntN(3) > 0 {
		sys := g.pick(systemPrompts)
		if g.r.IntN(2) == 0 {
			req["system"] = sys
		} else {
			req["system"] = []any{map[string]any{"type": "text", "text": sys}}
		}
	}
	text := func(s string) any {
		if g.r.IntN(3) == 0 {
			return s
		}
		return []any{map[string]any{"type": "text", "text": s}}
	}
	var msgs []any
	turns := 1 + g.r.IntN(3)
	if kind == "long" {
		turns = 1
	}
	for t := range turns {
		if t > 0 {
			msgs = append(msgs, map[string]any{"role": "assistant", "content": text(g.content(kind))})
		}
		msgs = append(msgs, map[string]any{"role": "user", "content": text(g.content(kind))})
	}
	switch kind {
	case "tools":
		n := 1 + g.r.IntN(len(g.tools))
		var tools []any
		for _, i := range g.r.Perm(len(g.tools))[:n] {
			tools = append(tools, g.tools[i])
		}
		req["tools"] = tools
		req["tool_choice"] = map[string]any{"type": "auto"}
		tool := tools[0].(map[string]any)
		msgs = []any{
			map[string]any{"role": "user", "content": text(g.pick(g.en))},
			map[string]any{"role": "assistant", "content": []any{
				map[string]any{"type": "text", "text": "Let me look that up."},
				map[string]any{"type": "tool_use", "id": "toolu_01A", "name": tool["name"], "input": map[string]any{"query": g.pick(g.en)[:40], "limit": 5}},
			}},
			map[string]any{"role": "user", "content": []any{
				map[string]any{"type": "tool_result", "tool_use_id": "toolu_01A", "is_error": false, "content": []any{map[string]any{"type": "text", "text": g.jsonDoc(1 + g.r.IntN(6))}}},
			}},
		}
	case "images":
		var blocks []any
		for range 1 + g.r.IntN(2) {
			i := g.r.IntN(len(g.imgDims))
			data, mt := g.imgPNG[i], "image/png"
			if g.r.IntN(2) == 0 && g.imgDims[i][0] <= 1280 {
				data, mt = g.imgJPEG[i], "image/jpeg"
			}
			blocks = append(blocks, map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": mt, "data": data}})
		}
		blocks = append(blocks, map[string]any{"type": "text", "text": g.pick(g.en)})
		msgs = []any{map[string]any{"role": "user", "content": blocks}}
	}
	req["messages"] = msgs
	if g.r.IntN(4) == 0 {
		req["stream"] = true
	}
	return req
}

func (g *gen) openai(kind string) map[string]any {
	req := map[string]any{"model": "gpt-4o"}
	if g.r.IntN(2) == 0 {
		req["max_completion_tokens"] = []int{256, 1024, 4096}[g.r.IntN(3)]
	} else {
		req["max_tokens"] = []int{256, 1024, 4096}[g.r.IntN(3)]
	}
	var msgs []any
	if g.r.IntN(3) > 0 {
		msgs = append(msgs, map[string]any{"role": []string{"system", "developer"}[g.r.IntN(2)], "content": g.pick(systemPrompts)})
	}
	for t := range 1 + g.r.IntN(2) {
		if t > 0 {
			msgs = append(msgs, map[string]any{"role": "assistant", "content": g.pick(g.en)})
		}
		if g.r.IntN(2) == 0 {
			msgs = append(msgs, map[string]any{"role": "user", "content": g.content(kind)})
		} else {
			msgs = append(msgs, map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": g.content(kind)}}})
		}
	}
	switch kind {
	case "tools":
		var tools []any
		for _, i := range g.r.Perm(len(g.tools))[:1+g.r.IntN(len(g.tools))] {
			t := g.tools[i]
			tools = append(tools, map[string]any{"type": "function", "function": map[string]any{"name": t["name"], "description": t["description"], "parameters": t["input_schema"]}})
		}
		req["tools"] = tools
		name := tools[0].(map[string]any)["function"].(map[string]any)["name"]
		msgs = append(msgs,
			map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": "call_1", "type": "function", "function": map[string]any{"name": name, "arguments": `{"query":"status","limit":5}`}}}},
			map[string]any{"role": "tool", "tool_call_id": "call_1", "content": g.jsonDoc(1 + g.r.IntN(6))})
	case "images":
		var parts []any
		for range 1 + g.r.IntN(2) {
			i := g.r.IntN(len(g.imgDims))
			parts = append(parts, map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64," + g.imgPNG[i], "detail": []string{"auto", "high", "low"}[g.r.IntN(3)]}})
		}
		parts = append(parts, map[string]any{"type": "text", "text": g.pick(g.en)})
		msgs = []any{map[string]any{"role": "user", "content": parts}}
	}
	req["messages"] = msgs
	if g.r.IntN(3) == 0 {
		req["n"] = 2
	}
	if g.r.IntN(4) == 0 {
		req["stream"] = true
		req["stream_options"] = map[string]any{"include_usage": true}
	}
	return req
}

func toolDefs() []map[string]any {
	obj := func(props map[string]any, required ...string) map[string]any {
		return map[string]any{"type": "object", "properties": props, "required": required}
	}
	str := func(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
	return []map[string]any{
		{"name": "get_weather", "description": "Get the current weather in a given location.", "input_schema": obj(map[string]any{"location": str("The city and state, e.g. San Francisco, CA"), "unit": map[string]any{"type": "string", "enum": []string{"celsius", "fahrenheit"}, "description": "Temperature unit."}}, "location")},
		{"name": "search_docs", "description": "Full-text search over the internal documentation. Returns the best matching pages with a short excerpt each.", "input_schema": obj(map[string]any{"query": str("Search terms."), "limit": map[string]any{"type": "integer", "minimum": 1, "maximum": 50, "description": "Maximum number of results."}, "space": str("Optional documentation space key.")}, "query")},
		{"name": "run_sql", "description": "Run a read-only SQL query against the analytics warehouse and return at most 500 rows as JSON.", "input_schema": obj(map[string]any{"sql": str("A single SELECT statement."), "timeout_seconds": map[string]any{"type": "number", "description": "Query timeout."}}, "sql")},
		{"name": "create_ticket", "description": "Create a support ticket in the helpdesk.", "input_schema": obj(map[string]any{"title": str("Short summary."), "body": str("Markdown description of the problem."), "priority": map[string]any{"type": "string", "enum": []string{"low", "normal", "high", "urgent"}}, "labels": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}, "assignee": obj(map[string]any{"id": str("User ID."), "team": str("Team name.")})}, "title", "body")},
		{"name": "send_email", "description": "Send an email on behalf of the user. Requires explicit confirmation for external recipients.", "input_schema": obj(map[string]any{"to": map[string]any{"type": "array", "items": map[string]any{"type": "string", "format": "email"}}, "subject": str("Subject line."), "html": str("HTML body."), "attachments": map[string]any{"type": "array", "items": obj(map[string]any{"filename": str("File name."), "url": str("Signed URL.")}, "filename", "url")}}, "to", "subject")},
		{"name": "read_file", "description": "Read a file from the repository at a given revision.", "input_schema": obj(map[string]any{"path": str("Path relative to the repository root."), "ref": str("Git revision; defaults to HEAD."), "start_line": map[string]any{"type": "integer"}, "end_line": map[string]any{"type": "integer"}}, "path")},
		{"name": "book_meeting", "description": "Book a meeting room and send calendar invitations.", "input_schema": obj(map[string]any{"room": str("Room identifier."), "start": map[string]any{"type": "string", "format": "date-time"}, "duration_minutes": map[string]any{"type": "integer", "minimum": 15, "maximum": 480}, "attendees": map[string]any{"type": "array", "items": str("Email address.")}, "recurrence": map[string]any{"type": "string", "enum": []string{"none", "daily", "weekly", "monthly"}}}, "room", "start", "duration_minutes")},
		{"name": "translate", "description": "Translate text between languages, preserving Markdown formatting and code blocks.", "input_schema": obj(map[string]any{"text": str("Text to translate."), "source_lang": str("ISO 639-1 code, or auto."), "target_lang": str("ISO 639-1 code."), "glossary": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}}, "text", "target_lang")},
	}
}
