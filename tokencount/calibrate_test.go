package tokencount

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/ratekeeper/ratekeeper/tier"
)

// synthetic returns a request body with n words of prose and k lines of code, and a
// "server" count that is a fixed, content-dependent function the priors do not know.
func synthetic(r *rand.Rand) (body []byte, actual int64) {
	words := 20 + r.IntN(2000)
	lines := r.IntN(200)
	var sb strings.Builder
	for i := range words {
		sb.WriteString([]string{"rate ", "limit ", "tokens ", "bucket ", "the ", "server ", "estimate "}[i%7])
	}
	for range lines {
		sb.WriteString(`\n\tif err := f(x); err != nil { return err }`)
	}
	body = fmt.Appendf(nil, `{"model":"claude-test-1","max_tokens":100,"messages":[{"role":"user","content":"%s"}]}`, sb.String())
	// The simulated server: 1.4 tokens per word, 19 per code line, 12 overhead.
	return body, int64(12 + 1.4*float64(words) + 19*float64(lines))
}

func TestCalibrationConverges(t *testing.T) {
	e := mustNew(t)
	r := rand.New(rand.NewPCG(3, 4))
	var errsBefore, errsAfter []float64
	for i := range 300 {
		body, actual := synthetic(r)
		est, err := e.EstimateAnthropic(body)
		if err != nil {
			t.Fatal(err)
		}
		rel := float64(est.InputTokens-actual) / float64(actual)
		switch {
		case i < 10:
			errsBefore = append(errsBefore, rel)
		case i >= 50:
			errsAfter = append(errsAfter, rel)
		}
		// 5% of the responses are outliers (a prompt-cache hit reported as a tenth).
		if r.IntN(20) == 0 {
			actual /= 10
		}
		e.Observe(est, actual, -1)
	}
	after := summarize(errsAfter)
	t.Logf("first 10: %v\nafter 50: %v", summarize(errsBefore), after)
	if after.p95Abs > 0.10 || after.badUnder > 0.05 {
		t.Errorf("after 50 observations with 5%% outliers: %v; want p95 ≤ 10%%, under>5%% < 5%%", after)
	}
	st := e.Stats(tier.Anthropic, "claude-test-1-20990101")
	if st.Observations != 300 || st.Window != ringSize || st.Margin <= 0 || st.Margin >= 0.15 {
		t.Errorf("Stats = %+v; want 300 observations, full window, a margin in (0, 0.15)", st)
	}
	if (e.Stats(tier.Anthropic, "never-seen") != Stats{}) {
		t.Error("Stats of an unseen model is not zero")
	}
}

func TestMarginShrinks(t *testing.T) {
	e := mustNew(t)
	r := rand.New(rand.NewPCG(5, 6))
	var margins []float64
	for i := range 60 {
		body, actual := synthetic(r)
		est, _ := e.EstimateAnthropic(body)
		if i%20 == 0 {
			margins = append(margins, est.Margin)
		}
		e.Observe(est, actual, -1)
	}
	if margins[0] != 0.15 || !(margins[1] < margins[0] && margins[2] <= margins[1]) {
		t.Errorf("margins at 0, 20, 40 observations = %v; want 0.15, then shrinking", margins)
	}
}

func TestOutputPolicy(t *testing.T) {
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":4000,"messages":[{"role":"user","content":"hi"}]}`)
	worst := mustNew(t)
	learned := mustNew(t, WithOutputPolicy(ReserveLearned(0.9)))
	for i := range 40 {
		for _, e := range []*Estimator{worst, learned} {
			est, err := e.EstimateAnthropic(body)
			if err != nil {
				t.Fatal(err)
			}
			if i < 20 && est.OutputReserve != 4000 {
				t.Fatalf("observation %d: OutputReserve = %d; want max_tokens 4000 until MinSamples", i, est.OutputReserve)
			}
			e.Observe(est, 10, int64(100+i%10*10)) // outputs 100..190
		}
	}
	w, _ := worst.EstimateAnthropic(body)
	l, _ := learned.EstimateAnthropic(body)
	// 90th percentile of 100..190 is ~181, plus 10% headroom.
	if w.OutputReserve != 4000 || l.OutputReserve < 190 || l.OutputReserve > 210 {
		t.Errorf("OutputReserve: worst case %d, learned %d; want 4000 and ~200", w.OutputReserve, l.OutputReserve)
	}
}

func TestConcurrent(t *testing.T) {
	e := mustNew(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 50 {
				body, actual := synthetic(r)
				est, err := e.EstimateAnthropic(body)
				if err != nil {
					t.Error(err)
					return
				}
				e.Observe(est, actual, 5)
				_ = e.Stats(tier.Anthropic, "claude-test-1")
			}
		})
	}
	wg.Wait()
	if n := e.Stats(tier.Anthropic, "claude-test-1").Observations; n != 400 {
		t.Errorf("Observations = %d; want 400", n)
	}
}

func TestManyModelsBounded(t *testing.T) {
	e := mustNew(t)
	for i := range 3 * maxModels {
		est, err := e.EstimateOpenAI(fmt.Appendf(nil, `{"model":"m-%d","messages":[{"role":"user","content":"x"}]}`, i))
		if err != nil {
			t.Fatal(err)
		}
		e.Observe(est, 10, 1)
	}
	if n := len(e.cals); n > maxModels+1 {
		t.Errorf("%d calibrators; want at most %d", n, maxModels+1)
	}
}

func TestNewValidates(t *testing.T) {
	for _, opts := range [][]Option{
		{WithCounter(nil)},
		{WithMargin(Margin{Quantile: 1.5})},
		{WithOutputPolicy(OutputPolicy{Learned: true, Quantile: -1})},
		{WithModelLimits("x", Limits{ContextWindow: -1})},
	} {
		if _, err := New(opts...); err == nil {
			t.Errorf("New(%v) succeeded; want an error", opts)
		}
	}
}

func TestCholesky(t *testing.T) {
	var a [numFeatures][numFeatures]float64
	var want vec
	r := rand.New(rand.NewPCG(1, 1))
	for i := range numFeatures {
		want[i] = r.Float64()
		a[i][i] = 1
	}
	for range 50 {
		var z vec
		for i := range z {
			z[i] = r.Float64()
		}
		for i := range numFeatures {
			for j := range numFeatures {
				a[i][j] += z[i] * z[j]
			}
		}
	}
	var b vec
	for i := range numFeatures {
		for j := range numFeatures {
			b[i] += a[i][j] * want[j]
		}
	}
	if !cholesky(&a) {
		t.Fatal("cholesky failed")
	}
	cholSolve(&a, &b)
	for i := range b {
		if math.Abs(b[i]-want[i]) > 1e-9 {
			t.Fatalf("solve: x[%d] = %v; want %v", i, b[i], want[i])
		}
	}
}

func TestWeightedQuantile(t *testing.T) {
	vals := []float64{1, 2, 4, 8, 16}
	ones := []float64{1, 1, 1, 1, 1}
	for _, q := range []float64{0, 0.1, 0.25, 0.5, 0.9, 0.95, 1} {
		if got, want := weightedQuantile(vals, ones, q), quantile(vals, q); math.Abs(got-want) > 1e-12 {
			t.Errorf("weightedQuantile(%v, equal weights, %v) = %v; want quantile's %v", vals, q, got, want)
		}
	}
	for _, tc := range []struct {
		vals, w []float64
		q, want float64
	}{
		{[]float64{1, 2}, []float64{3, 1}, 0.5, 1.5}, // positions 0 and 3/3
		{[]float64{1, 2}, []float64{3, 1}, 0.25, 1.25},
		{[]float64{5}, []float64{0.3}, 0.95, 5},
		{nil, nil, 0.5, 0},
		{[]float64{1, 2, 3}, []float64{1, 2, 1}, 1, 3},
		{[]float64{1, 2, 3}, []float64{1, 2, 1}, 0, 1},
	} {
		if got := weightedQuantile(tc.vals, tc.w, tc.q); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("weightedQuantile(%v, %v, %v) = %v; want %v", tc.vals, tc.w, tc.q, got, tc.want)
		}
	}
}
