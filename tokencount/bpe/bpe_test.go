package bpe

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ratekeeper/ratekeeper/internal/benchtext"
)

const sourcesDir = "../../testdata/corpus/sources"

// inputs are the test and benchmark texts, generated in code, once.
var inputs = sync.OnceValue(func() map[string]string { return benchtext.Inputs(sourcesDir) })

func mustLoad(tb testing.TB, encoding string) *Counter {
	tb.Helper()
	c, err := Load(encoding)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// BenchmarkCount compares, on the same text, the capped count and plain tiktoken-go
// Encode (o200k_base).
func BenchmarkCount(b *testing.B) {
	c := mustLoad(b, O200K)
	for _, name := range []string{"prose", "code", "chinese", "one-letter-20kB", "base64-64kB", "minified-json-64kB"} {
		s := inputs()[name]
		b.Run("input="+name+"/method=bpe-capped", func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			for b.Loop() {
				c.Count(s)
			}
		})
		b.Run("input="+name+"/method=tiktoken-go", func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			for b.Loop() {
				c.enc.Encode(s, nil, nil)
			}
		})
	}
}

// TestColdStart measures, in fresh processes, the first load of each encoding (time
// and retained heap): go test -run TestColdStart -v ./tokencount/bpe
func TestColdStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	if enc := os.Getenv("BPE_COLDSTART"); enc != "" {
		coldStartChild(enc)
		return
	}
	for _, enc := range []string{CL100K, O200K} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestColdStart$", "-test.v")
		cmd.Env = append(os.Environ(), "BPE_COLDSTART="+enc)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", enc, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "coldstart:") {
				t.Log(line)
			}
		}
	}
}

func coldStartChild(encoding string) {
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	h0 := heap()
	start := time.Now()
	c, err := Load(encoding)
	if err != nil {
		panic(err)
	}
	if n := c.Count("hello"); n != 1 {
		panic(fmt.Sprintf("Count(hello) = %d; want 1", n))
	}
	d := time.Since(start)
	h1 := heap()
	runtime.KeepAlive(c)
	fmt.Printf("coldstart: encoding=%s Load and first Count %v, retained heap +%.1f MiB\n", encoding, d.Round(time.Millisecond), float64(h1-h0)/(1<<20))
}

func TestLoadOnce(t *testing.T) {
	a := mustLoad(t, CL100K)
	b := mustLoad(t, CL100K)
	if a != b {
		t.Error("two loads of cl100k_base returned different counters")
	}
	// Special tokens in text must not panic and count as ordinary text.
	if n := a.Count("<|endoftext|> hi"); n < 3 {
		t.Errorf("Count(special token text) = %d", n)
	}
}

func TestLoadUnknown(t *testing.T) {
	for _, name := range []string{"p50k_base", "", "O200K_BASE"} {
		if c, err := Load(name); err == nil || c != nil {
			t.Errorf("Load(%q) = %v, %v; want nil and an error", name, c, err)
		}
	}
}

// TestCapLinear checks the cap: a long run of one letter costs about the same per byte
// as a short one (tiktoken-go alone is quadratic).
func TestCapLinear(t *testing.T) {
	c := mustLoad(t, O200K)
	n1 := c.Count(strings.Repeat("a", 1<<10))
	n2 := c.Count(strings.Repeat("a", 64<<10))
	if n2 < 50*n1 || n2 > 80*n1 {
		t.Errorf("counts %d (1 KiB) and %d (64 KiB); want about 64x", n1, n2)
	}
}

// TestChunkingExact checks that chunking at word boundaries does not change counts on
// ordinary text.
func TestChunkingExact(t *testing.T) {
	c := mustLoad(t, O200K)
	for _, name := range []string{"prose", "code", "chinese", "minified-json-64kB"} {
		s := inputs()[name]
		if s == "" {
			t.Fatalf("%s: empty input", name)
		}
		if got, want := c.Count(s), int64(len(c.enc.EncodeOrdinary(s))); got != want {
			t.Errorf("%s: Count = %d; tiktoken-go = %d", name, got, want)
		}
	}
}

// TestShortTextExact checks that texts without long runs count exactly as tiktoken-go.
func TestShortTextExact(t *testing.T) {
	c := mustLoad(t, O200K)
	for _, s := range []string{
		"", "a", "Hello, world!", "  leading and trailing  \n", "line one\nline two\r\n\tindented",
		"Ünïcödé café naïve", "Привет, мир", "日本語のテキストです。", "٠١٢٣ 12345 3.14159",
		"x := map[string]int{\"a\": 1}", "\xff\xfe invalid utf-8",
	} {
		if got, want := c.Count(s), int64(len(c.enc.EncodeOrdinary(s))); got != want {
			t.Errorf("Count(%q) = %d; tiktoken-go = %d", s, got, want)
		}
	}
}

func TestClass(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want uint8
	}{
		{"a", cLetter}, {"Z", cLetter}, {"é", cLetter}, {"ж", cLetter}, {"日", cLetter}, {"\u0301", cLetter},
		{"7", cDigit}, {"٣", cDigit},
		{" ", cSpace}, {"\t", cSpace}, {"\u00a0", cSpace}, {"\u3000", cSpace},
		{"\n", cOther}, {"{", cOther}, {"—", cOther}, {"\xff", cOther},
	} {
		if got, size := class(tc.s, 0); got != tc.want || size != len(tc.s) {
			t.Errorf("class(%q) = %d, %d; want %d, %d", tc.s, got, size, tc.want, len(tc.s))
		}
	}
}

func TestConcurrent(t *testing.T) {
	c := mustLoad(t, O200K)
	s := inputs()["prose"][:8<<10]
	want := c.Count(s)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if got := c.Count(s); got != want {
					t.Errorf("concurrent Count = %d; want %d", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
