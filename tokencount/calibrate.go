package tokencount

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// ringSize is the number of recent observations each calibrator keeps, for its error
// statistics, its safety margin and the learned output reservation.
const ringSize = 128

// Calibration constants.
const (
	priorStrength = 0.2
	// scalePriorStrength is the weaker prior on the overall correction, which is learned
	// first and fastest.
	scalePriorStrength = 0.02  // ridge prior on the corrections, in full-weight observations
	forgetting         = 0.995 // per observation: the fit follows ~100 recent responses
	huberK             = 2.5   // residuals beyond huberK robust sigmas are down-weighted
	marginPrior        = 10    // the initial margin weighs like this many observations
)

// calState is an immutable snapshot read by estimates without locking.
type calState struct {
	delta  vec     // learned corrections
	margin float64 // current safety margin
	n      int64   // input observations so far
	outQ   float64 // output-tokens quantile per choice (learned output policy)
	outN   int64   // output observations so far
}

// sample is one observation in relative form: z = ν∘x / (μ·x), t = actual/(μ·x) − 1.
type sample struct {
	z vec
	t float64
}

// calibrator learns, for one model, corrections δ to the prior token weights μ:
//
//	estimate(x) = (μ·x)(1 + δ_scale) + Σ_j ν_j x_j δ_j
//
// by weighted, exponentially forgetting ridge regression of the relative error on the
// per-class shares of the prior estimate (so every request counts alike, whatever its
// size), with Huber weights against outliers. Memory is bounded: one
// numFeatures² matrix and rings of ringSize recent observations. Safe for concurrent
// use; estimates read an atomic snapshot and never take the lock.
type calibrator struct {
	mu, nu vec // prior weights and correction scales; immutable
	margin Margin

	mtx      sync.Mutex // guards the fields below
	a        [numFeatures][numFeatures]float64
	b        vec
	n        int64
	samples  [ringSize]sample
	sampleN  int
	sigma    float64
	errs     [ringSize]float64 // (issued − actual)/actual of issued estimates
	errN     int
	outs     [ringSize]float64 // output tokens per choice
	outN     int
	outTotal int64

	state atomic.Pointer[calState]
}

func newCalibrator(mu, nu vec, m Margin) *calibrator {
	c := &calibrator{mu: mu, nu: nu, margin: m, sigma: 0.25}
	c.state.Store(&calState{margin: m.Initial})
	return c
}

// predict returns the point estimate (no margin) for x and the current margin.
func (c *calibrator) predict(x *vec) (point, margin float64) {
	s := c.state.Load()
	var base, corr float64
	for j := range numFeatures {
		base += c.mu[j] * x[j]
		corr += c.nu[j] * x[j] * s.delta[j]
	}
	corr += base * s.delta[fScale]
	// A correction may not take away more than 80% of the prior estimate.
	return max(base+corr, 0.2*base, 1), s.margin
}

// observeInput feeds one response's actual input tokens.
func (c *calibrator) observeInput(x *vec, issued, actual int64) {
	var base float64
	for j := range numFeatures {
		base += c.mu[j] * x[j]
	}
	if base <= 0 || actual <= 0 {
		return
	}
	var smp sample
	for j := range numFeatures {
		smp.z[j] = c.nu[j] * x[j] / base
	}
	smp.z[fScale] = 1
	smp.t = min(max(float64(actual)/base-1, -0.95), 10)

	c.mtx.Lock()
	defer c.mtx.Unlock()
	s := c.state.Load()

	// Huber weight from the residual under the current fit.
	res := smp.t - dot(&smp.z, &s.delta)
	w := 1.0
	if lim := huberK * c.sigma; math.Abs(res) > lim {
		w = lim / math.Abs(res)
	}
	for i := range numFeatures {
		c.b[i] = forgetting*c.b[i] + w*smp.z[i]*smp.t
		for j := range numFeatures {
			c.a[i][j] = forgetting*c.a[i][j] + w*smp.z[i]*smp.z[j]
		}
	}
	c.n++
	c.samples[int(c.n-1)%ringSize] = smp
	c.sampleN = min(c.sampleN+1, ringSize)
	if issued > 0 {
		c.errs[c.errN%ringSize] = float64(issued-actual) / float64(actual)
		c.errN++
	}

	var m [numFeatures][numFeatures]float64
	m = c.a
	for i := range numFeatures {
		m[i][i] += priorStrength
	}
	m[fScale][fScale] += scalePriorStrength - priorStrength
	if !cholesky(&m) {
		return // cannot happen: the prior keeps the matrix positive definite
	}
	delta := c.b
	cholSolve(&m, &delta)

	next := *s
	next.delta, next.n = delta, c.n
	if c.n > 32 && c.n%8 != 0 {
		// The margin moves slowly once warmed up: refresh it every 8th observation.
		c.state.Store(&next)
		return
	}
	// Leave-one-out residuals of the recent samples give an honest error distribution
	// for the margin; their spread is the robust sigma for the Huber weights.
	var rel, abs [ringSize]float64
	for k := range c.sampleN {
		sk := &c.samples[k]
		r := sk.t - dot(&sk.z, &delta)
		h := sk.z
		cholSolve(&m, &h)
		lev := min(dot(&sk.z, &h), 0.9)
		r /= 1 - lev
		abs[k] = math.Abs(r)
		rel[k] = (1+sk.t)/max(1+sk.t-r, 0.1) - 1
	}
	k := c.sampleN
	slices.Sort(abs[:k])
	if k >= 10 {
		c.sigma = max(1.4826*abs[k/2], 0.02)
	}
	slices.Sort(rel[:k])
	q := max((1+quantile(rel[:k], c.margin.Quantile))/(1+c.margin.Tolerance)-1, c.margin.Min)
	margin := (marginPrior*c.margin.Initial + float64(k)*q) / (marginPrior + float64(k))

	next.margin = margin
	c.state.Store(&next)
}

// observeOutput feeds one response's output tokens per choice.
func (c *calibrator) observeOutput(perChoice float64, q float64) {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	c.outs[c.outTotal%ringSize] = perChoice
	c.outTotal++
	c.outN = min(c.outN+1, ringSize)
	sorted := c.outs
	slices.Sort(sorted[:c.outN])
	next := *c.state.Load()
	next.outQ, next.outN = quantile(sorted[:c.outN], q), c.outTotal
	c.state.Store(&next)
}

// stats summarizes the recent issued estimates. Callers hold no lock.
func (c *calibrator) stats() Stats {
	c.mtx.Lock()
	k := min(c.errN, ringSize)
	errs := c.errs
	n := c.n
	c.mtx.Unlock()
	s := c.state.Load()
	st := Stats{Observations: n, Window: k, Margin: s.margin, OutputObservations: s.outN}
	if k == 0 {
		return st
	}
	e := errs[:k]
	var sum, sumAbs float64
	abs := make([]float64, k)
	for i, v := range e {
		sum += v
		sumAbs += math.Abs(v)
		abs[i] = math.Abs(v)
		if v < 0 {
			st.UnderestimateRate++
		}
		if v < -0.05 {
			st.BadUnderestimateRate++
		}
	}
	slices.Sort(abs)
	st.MeanError = sum / float64(k)
	st.MeanAbsError = sumAbs / float64(k)
	st.P95AbsError = quantile(abs, 0.95)
	st.UnderestimateRate /= float64(k)
	st.BadUnderestimateRate /= float64(k)
	return st
}

func dot(a, b *vec) float64 {
	var s float64
	for i := range numFeatures {
		s += a[i] * b[i]
	}
	return s
}

// quantile returns the q-quantile of sorted values (linear interpolation); 0 if empty.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	p := q * float64(len(sorted)-1)
	i := int(p)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (p-float64(i))*(sorted[i+1]-sorted[i])
}

// cholesky factors the symmetric positive definite m in place into L (lower triangle).
func cholesky(m *[numFeatures][numFeatures]float64) bool {
	for j := range numFeatures {
		d := m[j][j]
		for k := range j {
			d -= m[j][k] * m[j][k]
		}
		if d <= 0 {
			return false
		}
		d = math.Sqrt(d)
		m[j][j] = d
		for i := j + 1; i < numFeatures; i++ {
			s := m[i][j]
			for k := range j {
				s -= m[i][k] * m[j][k]
			}
			m[i][j] = s / d
		}
	}
	return true
}

// cholSolve solves L Lᵀ x = b in place, with L from cholesky.
func cholSolve(l *[numFeatures][numFeatures]float64, b *vec) {
	for i := range numFeatures {
		s := b[i]
		for k := range i {
			s -= l[i][k] * b[k]
		}
		b[i] = s / l[i][i]
	}
	for i := numFeatures - 1; i >= 0; i-- {
		s := b[i]
		for k := i + 1; k < numFeatures; k++ {
			s -= l[k][i] * b[k]
		}
		b[i] = s / l[i][i]
	}
}
