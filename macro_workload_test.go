package ratekeeper_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/ratekeeper/ratekeeper/tokencount/bpe"
)

// macroCall is one call of a workload: a user prompt (after the system
// prompt "Answer briefly."), its max_tokens, and whether it is streamed.
type macroCall struct {
	prompt    string
	maxTokens int64
	stream    bool
}

// macroWorkload is what the macro benchmark sends: each worker (a
// goroutine) makes its calls one after the other. Workers are dealt to the
// clients of a run in turn (worker i to client i mod clients).
type macroWorkload struct {
	workers [][]macroCall
}

func (w *macroWorkload) calls() int {
	n := 0
	for _, c := range w.workers {
		n += len(c)
	}
	return n
}

// maxTokens is the largest max_tokens of the workload.
func (w *macroWorkload) maxTokens() int64 {
	var m int64
	for _, cs := range w.workers {
		for _, c := range cs {
			m = max(m, c.maxTokens)
		}
	}
	return m
}

// macroMixedWorkload is the mixed workload of the first macro benchmark: 64
// workers × 4 calls, prompts of 50–949 English-like words, max_tokens
// 128–1023, half of them streamed. Under Tier 1 Sonnet limits it is bound
// by OTPM (about 8 minutes at the limit).
func macroMixedWorkload(seed uint64) *macroWorkload {
	const workers, calls = 64, 4
	w := &macroWorkload{workers: make([][]macroCall, workers)}
	for g := range workers {
		r := rand.New(rand.NewPCG(uint64(g), 1+seed))
		for range calls {
			// The draw order is the first macro benchmark's, so that seed 0
			// sends what it sent.
			maxTokens := int64(128 + r.IntN(896))
			prompt := words(r, 50+r.IntN(900))
			w.workers[g] = append(w.workers[g], macroCall{prompt: prompt, maxTokens: maxTokens, stream: r.IntN(2) != 0})
		}
	}
	return w
}

// macroInputBoundWorkload is 16 workers × 3 calls of 2k–20k tokens each (as
// count counts them, the server's vocabulary) and max_tokens 64–256, half
// streamed: bound by ITPM (about 17 minutes at 30k ITPM). Each prompt is
// mostly of one kind of text — English prose, Russian prose, Go source,
// JSON records or CSV numbers — with a few paragraphs of the others, so
// that a client estimator's priors meet content they fit badly.
func macroInputBoundWorkload(seed uint64, count func(string) int64) *macroWorkload {
	const workers, calls = 16, 3
	w := &macroWorkload{workers: make([][]macroCall, workers)}
	for g := range workers {
		r := rand.New(rand.NewPCG(seed, 1000+uint64(g)))
		for range calls {
			target := int64(2000 + r.IntN(18_001))
			main := r.IntN(len(macroTextKinds))
			var paras []string
			var n int64
			for n < target {
				k := main
				if r.IntN(5) == 0 {
					k = r.IntN(len(macroTextKinds))
				}
				p := macroTextKinds[k](r)
				paras = append(paras, p)
				n += count(p + "\n\n")
			}
			w.workers[g] = append(w.workers[g], macroCall{
				prompt:    strings.Join(paras, "\n\n"),
				maxTokens: int64(64 + r.IntN(193)),
				stream:    r.IntN(2) != 0,
			})
		}
	}
	return w
}

var macroTextKinds = []func(*rand.Rand) string{macroEnglish, macroRussian, macroGoSource, macroJSON, macroCSV}

var (
	macroEnglishVocab = strings.Fields(`the of and to in is that for it as with was on be by at this from or an are
		which not have has but were can their all more one other into its also some than these only time such
		when may between used first two most after over many where those through each new because same while
		under system request budget limiter tokens minute capacity measured throughput reservation settlement
		customer invoice shipment warehouse quarterly forecast revenue margin analysis recommendation
		configuration deployment infrastructure authentication authorization synchronization documentation
		implementation performance reliability availability observability latency macroPercentile distribution
		approximately significantly unfortunately nevertheless furthermore consequently internationalization
		photosynthesis electromagnetic thermodynamics cardiovascular neuroscience archaeology jurisprudence
		Kubernetes PostgreSQL JavaScript TypeScript GraphQL OAuth WebSocket Prometheus OpenTelemetry`)
	macroRussianVocab = strings.Fields(`и в не на что с по это как он к а из у за от о так но же для вы все
		быть был она они мы его её время человек год работа система запрос ограничение токен минута скорость
		пропускная способность бронирование расчёт клиент счёт поставка склад квартальный прогноз выручка
		анализ рекомендация конфигурация развёртывание инфраструктура аутентификация синхронизация
		документация производительность надёжность доступность задержка распределение приблизительно
		значительно следовательно международный электромагнитный термодинамика`)
	macroGoIdents = strings.Fields(`ctx req res err n i j k buf key val limit macroLevel capacity refill now last
		wait delay cost reserve settle commit cancel store bucket window dims budget retry attempt status
		header body stream usage input output tokens minute queue head tail next prev mu cond`)
)

func macroPick(r *rand.Rand, v []string) string { return v[r.IntN(len(v))] }

// macroEnglish is a paragraph of 3–7 sentences of 6–20 words.
func macroEnglish(r *rand.Rand) string {
	var b strings.Builder
	for s := range 3 + r.IntN(5) {
		if s > 0 {
			b.WriteByte(' ')
		}
		n := 6 + r.IntN(15)
		for i := range n {
			w := macroPick(r, macroEnglishVocab)
			if i == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			} else {
				b.WriteByte(' ')
			}
			b.WriteString(w)
			if i < n-1 && r.IntN(9) == 0 {
				b.WriteByte(',')
			}
		}
		b.WriteString([]string{".", ".", ".", "?", "!"}[r.IntN(5)])
	}
	return b.String()
}

// macroRussian is a paragraph of Russian words, as macroEnglish.
func macroRussian(r *rand.Rand) string {
	var b strings.Builder
	for s := range 3 + r.IntN(5) {
		if s > 0 {
			b.WriteByte(' ')
		}
		n := 6 + r.IntN(15)
		for i := range n {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(macroPick(r, macroRussianVocab))
			if i < n-1 && r.IntN(9) == 0 {
				b.WriteByte(',')
			}
		}
		b.WriteByte('.')
	}
	return b.String()
}

// macroGoSource is a Go function of 4–15 statements.
func macroGoSource(r *rand.Rand) string {
	var b strings.Builder
	fmt.Fprintf(&b, "func (%s *%s) %s%s(%s context.Context, %s int64) (int64, error) {\n",
		macroPick(r, macroGoIdents)[:1], strings.ToUpper(macroPick(r, macroGoIdents)), strings.ToUpper(macroPick(r, macroGoIdents)[:1]), macroPick(r, macroGoIdents),
		macroPick(r, macroGoIdents), macroPick(r, macroGoIdents))
	for range 4 + r.IntN(12) {
		switch r.IntN(4) {
		case 0:
			fmt.Fprintf(&b, "\tif %s > %s.%s {\n\t\treturn 0, fmt.Errorf(\"%s: %%w\", err)\n\t}\n",
				macroPick(r, macroGoIdents), macroPick(r, macroGoIdents), macroPick(r, macroGoIdents), macroPick(r, macroGoIdents))
		case 1:
			fmt.Fprintf(&b, "\t%s := %s.%s(%s, %d)\n", macroPick(r, macroGoIdents), macroPick(r, macroGoIdents), macroPick(r, macroGoIdents), macroPick(r, macroGoIdents), r.IntN(10_000))
		case 2:
			fmt.Fprintf(&b, "\tfor %s := range %s {\n\t\t%s += %s[%s]\n\t}\n", macroPick(r, macroGoIdents), macroPick(r, macroGoIdents),
				macroPick(r, macroGoIdents), macroPick(r, macroGoIdents), macroPick(r, macroGoIdents))
		default:
			fmt.Fprintf(&b, "\t// %s %s %s the %s.\n", macroPick(r, macroEnglishVocab), macroPick(r, macroEnglishVocab), macroPick(r, macroGoIdents), macroPick(r, macroGoIdents))
		}
	}
	fmt.Fprintf(&b, "\treturn %s, nil\n}", macroPick(r, macroGoIdents))
	return b.String()
}

// macroJSON is a JSON array of 2–6 records.
func macroJSON(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString("[")
	for i := range 2 + r.IntN(5) {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"id": %d, "name": "%s %s", "email": "%s.%s@example.com", "score": %.4f, "tags": ["%s", "%s"], "active": %t}`,
			r.IntN(1_000_000), macroPick(r, macroEnglishVocab), macroPick(r, macroEnglishVocab), macroPick(r, macroGoIdents), macroPick(r, macroGoIdents),
			r.Float64()*100, macroPick(r, macroGoIdents), macroPick(r, macroEnglishVocab), r.IntN(2) == 0)
	}
	b.WriteString("]")
	return b.String()
}

// macroCSV is 4–12 rows of a CSV table of numbers.
func macroCSV(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString("date,region,units,price,discount,total\n")
	for i := range 4 + r.IntN(9) {
		if i > 0 {
			b.WriteByte('\n')
		}
		units, price := r.IntN(5000), r.Float64()*1000
		fmt.Fprintf(&b, "2025-%02d-%02d,R%03d,%d,%.2f,%.3f,%.2f", 1+r.IntN(12), 1+r.IntN(28), r.IntN(1000),
			units, price, r.Float64()/4, float64(units)*price)
	}
	return b.String()
}

// macroCL100K is the server's text counter in the input-bound scenario:
// tiktoken's cl100k_base, which the Keeper's default estimator (a
// heuristic with priors near o200k_base) does not use. Counts of long texts
// are memoized: every strategy and retry sends the same prompts.
var macroCL100K = sync.OnceValues(func() (func(string) int64, error) {
	c, err := bpe.Load(bpe.CL100K)
	if err != nil {
		return nil, err
	}
	var memo sync.Map // string → int64
	return func(s string) int64 {
		if len(s) < 512 {
			return c.Count(s)
		}
		if n, ok := memo.Load(s); ok {
			return n.(int64)
		}
		n := c.Count(s)
		memo.Store(s, n)
		return n
	}, nil
})
