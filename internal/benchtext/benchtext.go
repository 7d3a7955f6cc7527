// Package benchtext makes the texts that the token-counting benchmarks and
// tests share: ordinary prose, code and Chinese, and the inputs on which
// tiktoken-go is slow (long runs without separators, base64, minified JSON).
package benchtext

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Inputs returns the texts by name ("prose", "chinese", "code",
// "one-letter-20kB", "base64-64kB", "minified-json-64kB"). sources is the
// directory of testdata/corpus/sources, relative to the caller's package.
// A missing source file yields an empty text for that name.
func Inputs(sources string) map[string]string {
	in := map[string]string{}
	src, _ := os.ReadFile(filepath.Join(sources, "en.txt"))
	in["prose"] = RepeatTo(string(src), 64<<10)
	zh, _ := os.ReadFile(filepath.Join(sources, "zh.txt"))
	in["chinese"] = RepeatTo(string(zh), 64<<10)
	var code strings.Builder
	//lint:ignore SA1019 the Go source tree of the toolchain running the benchmark is the code corpus, on purpose
	files, _ := filepath.Glob(filepath.Join(runtime.GOROOT(), "src", "strings", "*.go"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		code.Write(b)
	}
	in["code"] = RepeatTo(code.String(), 64<<10)
	// Adversarial inputs for BPE: no spaces.
	in["one-letter-20kB"] = strings.Repeat("a", 20<<10)
	r := rand.New(rand.NewPCG(1, 1))
	blob := make([]byte, 48<<10)
	for i := range blob {
		blob[i] = byte(r.Uint32())
	}
	in["base64-64kB"] = base64.StdEncoding.EncodeToString(blob)
	var recs []map[string]any
	for i := 0; len(recs) < 1200; i++ {
		recs = append(recs, map[string]any{"id": i, "name": fmt.Sprintf("user%d", i), "ok": i%2 == 0, "score": float64(i) / 7})
	}
	j, _ := json.Marshal(recs)
	in["minified-json-64kB"] = string(j[:64<<10])
	return in
}

// RepeatTo repeats s up to exactly n bytes ("" stays "").
func RepeatTo(s string, n int) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(s)
	}
	return b.String()[:n]
}
