package tokencount

import (
	"flag"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ratekeeper/ratekeeper/internal/simtok"
	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount/bpe"
)

var fitBase = flag.Bool("fitbase", false, "fit baseText to o200k_base over the corpus and print it")

// TestFitBaseWeights fits the heuristic's text weights to o200k_base counts:
// go test -run TestFitBaseWeights ./tokencount -v -args -fitbase
func TestFitBaseWeights(t *testing.T) {
	if !*fitBase {
		t.Skip("pass -fitbase")
	}
	e, err := New(WithCounter(loadBPE(t, bpe.O200K)))
	if err != nil {
		t.Fatal(err)
	}
	var a [numFeatures][numFeatures]float64
	var b vec
	for _, it := range loadCorpus(t) {
		est, err := estimateItem(e, it)
		if err != nil {
			t.Fatal(err)
		}
		x := est.Features.vector()
		var z vec
		for j := fTextFirst; j <= fTextLast; j++ {
			z[j] = x[j]
		}
		y := x[fBPE]
		w := 1 / max(y*y, 1) // relative error
		for i := range numFeatures {
			b[i] += w * z[i] * y
			for j := range numFeatures {
				a[i][j] += w * z[i] * z[j]
			}
		}
	}
	for i := range numFeatures {
		a[i][i] += 1e-3
	}
	cholesky(&a)
	cholSolve(&a, &b)
	for j := fTextFirst; j <= fTextLast; j++ {
		t.Logf("%-14s %.4f", featureNames[j], b[j])
	}
}

// loadBPE returns the tokencount/bpe Counter of the encoding.
func loadBPE(tb testing.TB, encoding string) *bpe.Counter {
	tb.Helper()
	c, err := bpe.Load(encoding)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func estimateItem(e *Estimator, it corpusItem) (Estimate, error) {
	if it.Provider == "openai" {
		return e.EstimateOpenAI(it.Body)
	}
	return e.EstimateAnthropic(it.Body)
}

func referenceCount(it corpusItem) (int64, error) {
	if it.Provider == "openai" {
		return simtok.CountOpenAIRequest(it.Body)
	}
	return simtok.CountAnthropicRequest(it.Body)
}

// errStats summarizes relative errors (estimate − actual)/actual.
type errStats struct {
	n                     int
	mean, meanAbs, p95Abs float64
	under, badUnder       float64 // fraction < 0, fraction < −5%
}

func summarize(errs []float64) errStats {
	s := errStats{n: len(errs)}
	if len(errs) == 0 {
		return s
	}
	abs := make([]float64, len(errs))
	for i, e := range errs {
		s.mean += e
		abs[i] = math.Abs(e)
		s.meanAbs += abs[i]
		if e < 0 {
			s.under++
		}
		if e < -0.05 {
			s.badUnder++
		}
	}
	slices.Sort(abs)
	n := float64(len(errs))
	s.mean /= n
	s.meanAbs /= n
	s.under /= n
	s.badUnder /= n
	s.p95Abs = quantile(abs, 0.95)
	return s
}

func (s errStats) String() string {
	return fmt.Sprintf("%4d %+7.1f%% %6.1f%% %6.1f%% %6.1f%% %6.1f%%", s.n, 100*s.mean, 100*s.meanAbs, 100*s.p95Abs, 100*s.under, 100*s.badUnder)
}

const statsHeader = "   n    bias  meanAbs  p95Abs   under  under>5%"

// accuracyRun calibrates a fresh Estimator on the first train requests of each provider
// and evaluates the rest, before and after calibration.
type accuracyResult struct {
	before, after map[string][]float64 // by "provider/kind" and "provider/all"
	point         map[string][]float64 // after calibration, PointTokens (no margin)
	stats         map[string]Stats
}

func runAccuracy(t *testing.T, opts ...Option) accuracyResult {
	t.Helper()
	items := loadCorpus(t)
	e, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	res := accuracyResult{before: map[string][]float64{}, after: map[string][]float64{}, point: map[string][]float64{}, stats: map[string]Stats{}}
	trainN := map[string]int{"anthropic": 200, "openai": 200}
	seen := map[string]int{}
	type held struct {
		it  corpusItem
		ref int64
	}
	var test []held
	for _, it := range items {
		ref, err := referenceCount(it)
		if err != nil {
			t.Fatalf("simtok: %v", err)
		}
		est, err := estimateItem(e, it)
		if err != nil {
			t.Fatalf("estimate %s/%s: %v", it.Provider, it.Kind, err)
		}
		rel := float64(est.InputTokens-ref) / float64(ref)
		if seen[it.Provider] < trainN[it.Provider] {
			seen[it.Provider]++
			e.Observe(est, ref, -1)
			continue
		}
		test = append(test, held{it, ref})
		_ = rel
	}
	// Before: a fresh, uncalibrated estimator on the held-out requests.
	fresh, _ := New(opts...)
	for _, h := range test {
		before, _ := estimateItem(fresh, h.it)
		after, _ := estimateItem(e, h.it)
		for _, k := range []string{h.it.Provider + "/" + h.it.Kind, h.it.Provider + "/all"} {
			res.before[k] = append(res.before[k], float64(before.InputTokens-h.ref)/float64(h.ref))
			res.after[k] = append(res.after[k], float64(after.InputTokens-h.ref)/float64(h.ref))
			res.point[k] = append(res.point[k], float64(after.PointTokens-h.ref)/float64(h.ref))
		}
	}
	res.stats["anthropic"] = e.Stats(tier.Anthropic, "claude-sonnet-4-5")
	res.stats["openai"] = e.Stats(tier.OpenAI, "gpt-4o")
	return res
}

func (r accuracyResult) table() string {
	var keys []string
	for k := range r.after {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-20s | before calibration: %s | after calibration: %s\n", "provider/kind", statsHeader, statsHeader)
	for _, k := range keys {
		fmt.Fprintf(&sb, "%-20s | %s | %s | point: %s\n", k, summarize(r.before[k]), summarize(r.after[k]), summarize(r.point[k]))
	}
	for p, s := range r.stats {
		fmt.Fprintf(&sb, "%s Stats after training: %+v\n", p, s)
	}
	return sb.String()
}

// TestAccuracy measures estimates against the simulated server's counts (simtok, not the
// estimator's tokenizer) on held-out requests of the corpus, before and after
// calibrating on 200 requests per provider, and asserts the targets:
// p95 absolute relative error ≤ 10% and < 5% of requests underestimated by more than 5%.
// Print the table: go test -run TestAccuracy -v ./tokencount
func TestAccuracy(t *testing.T) {
	modes := []struct {
		name string
		opts []Option
	}{{"heuristic", nil}}
	if !testing.Short() {
		modes = append(modes, struct {
			name string
			opts []Option
		}{"bpe-o200k", []Option{WithCounter(loadBPE(t, bpe.O200K))}})
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			r := runAccuracy(t, m.opts...)
			t.Logf("%s: relative error of InputTokens vs simtok on held-out requests\n%s", m.name, r.table())
			if m.name != "heuristic" {
				return // reported, not asserted: see the package documentation
			}
			for _, p := range []string{"anthropic/all", "openai/all"} {
				s := summarize(r.after[p])
				if s.p95Abs > 0.10 {
					t.Errorf("%s %s after calibration: p95 |error| = %.1f%%; want ≤ 10%%", m.name, p, 100*s.p95Abs)
				}
				if s.badUnder >= 0.05 {
					t.Errorf("%s %s after calibration: %.1f%% underestimated by > 5%%; want < 5%%", m.name, p, 100*s.badUnder)
				}
			}
		})
	}
}
