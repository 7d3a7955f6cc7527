package tokencount

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkoukk/tiktoken-go"

	"github.com/ratekeeper/ratekeeper/internal/benchtext"
	"github.com/ratekeeper/ratekeeper/tokencount/bpe"
)

// Benchmark inputs are generated in code, once.
var benchInputs = sync.OnceValue(func() map[string]string { return benchtext.Inputs(filepath.Join(corpusDir, "sources")) })

// BenchmarkCount compares, on the same text, the heuristic counter and plain
// tiktoken-go Encode (o200k_base). Package tokencount/bpe's BenchmarkCount compares its
// capped count with the same baseline.
func BenchmarkCount(b *testing.B) {
	// bpe.Load installs tiktoken-go's offline loader (once, before any GetEncoding);
	// after it, GetEncoding reads the same embedded vocabulary.
	loadBPE(b, bpe.O200K)
	enc, err := tiktoken.GetEncoding(bpe.O200K)
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"prose", "code", "chinese", "one-letter-20kB", "base64-64kB", "minified-json-64kB"} {
		s := benchInputs()[name]
		b.Run("input="+name+"/method=heuristic", func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			var f Features
			for b.Loop() {
				c := counter{f: &f}
				c.addString(s)
			}
		})
		b.Run("input="+name+"/method=tiktoken-go", func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			for b.Loop() {
				enc.Encode(s, nil, nil)
			}
		})
	}
}

// bigBody is an Anthropic request of about 100k tokens: prose, code and JSON.
var bigBody = sync.OnceValue(func() []byte {
	in := benchInputs()
	text := benchtext.RepeatTo(in["prose"]+in["code"]+in["minified-json-64kB"][:8<<10], 400<<10)
	body, _ := json.Marshal(map[string]any{
		"model": "claude-sonnet-4-5", "max_tokens": 4096,
		"system":   []any{map[string]any{"type": "text", "text": "You are a careful reviewer."}},
		"messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": text}}}},
	})
	return body
})

// BenchmarkEstimate is the whole admission-time cost of one ~100k-token request.
func BenchmarkEstimate(b *testing.B) {
	body := bigBody()
	for _, mode := range []struct {
		name string
		opts []Option
	}{{"heuristic", nil}, {"bpe-o200k", []Option{WithCounter(loadBPE(b, bpe.O200K))}}} {
		e, err := New(mode.opts...)
		if err != nil {
			b.Fatal(err)
		}
		est, err := e.EstimateAnthropic(body)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("tokens=100k/mode="+mode.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				e.EstimateAnthropic(body)
			}
			b.ReportMetric(float64(est.PointTokens), "tokens")
		})
	}
	e, _ := New()
	small := []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"What is the capital of France? Answer in one word."}]}]}`)
	b.Run("tokens=small/mode=heuristic", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e.EstimateAnthropic(small)
		}
	})
	b.Run("tokens=small/mode=heuristic/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e.EstimateAnthropic(small)
			}
		})
	})
	est, _ := e.EstimateAnthropic(small)
	b.Run("observe", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e.Observe(est, 30, 5)
		}
	})
}

// TestColdStart measures, in a fresh process, the first estimate of the heuristic path
// (time and retained heap); package tokencount/bpe's TestColdStart measures the BPE
// encodings: go test -run TestColdStart -v ./tokencount
func TestColdStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	if mode := os.Getenv("TOKENCOUNT_COLDSTART"); mode != "" {
		coldStartChild(mode)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestColdStart$", "-test.v")
	cmd.Env = append(os.Environ(), "TOKENCOUNT_COLDSTART=heuristic")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "coldstart:") {
			t.Log(line)
		}
	}
}

func coldStartChild(mode string) {
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	h0 := heap()
	start := time.Now()
	e, err := New()
	if err != nil {
		panic(err)
	}
	if _, err := e.EstimateAnthropic([]byte(`{"model":"claude-sonnet-4-5","max_tokens":1,"messages":[{"role":"user","content":"hello"}]}`)); err != nil {
		panic(err)
	}
	d := time.Since(start)
	h1 := heap()
	runtime.KeepAlive(e)
	fmt.Printf("coldstart: mode=%s first estimate %v, retained heap +%.1f MiB\n", mode, d.Round(time.Millisecond), float64(h1-h0)/(1<<20))
}
