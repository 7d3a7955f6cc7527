package tokencount

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// ringSize is the number of recent observations each calibrator keeps, for its error
// statistics, its safety margins and the learned output reservation.
const ringSize = 128

// Calibration constants: the fit.
const (
	// Ridge priors on the corrections, in full-weight observations: priorStrength for
	// most features; the weaker weakPriorStrength for the overall correction, which is
	// learned first and fastest, and for the classes whose token cost depends most on
	// the tokenizer (CJK, other scripts, other symbols: o200k_base and cl100k_base differ
	// by up to 2× on Cyrillic), so that a surprise in such content is learned as a
	// correction of its class rather than of every request.
	priorStrength     = 0.2
	weakPriorStrength = 0.02
	forgetting        = 0.995 // per observation: the fit follows ~100 recent responses
	huberK            = 2.5   // residuals beyond huberK robust sigmas are down-weighted
	// priorSigma is a kind's robust sigma before it is observed, in relative error:
	// about the spread that the default initial margin covers (0.15 = 1.645 × 0.09,
	// rounded up). It weighs like one observation of the kind. minSigma is the smallest
	// robust sigma.
	priorSigma = 0.1
	minSigma   = 0.02
)

// Calibration constants: the margins (see calibrator).
const (
	// kindPrior: the initial margin weighs like this many observations of a kind.
	kindPrior = 1
	// kindShrink: a kind's own error quantile is shrunk toward the model's, which
	// weighs like this many observations of the kind.
	kindShrink = 20
	// marginFill: until the window holds this many observations, the initial margin
	// stands in for the missing ones in the model's quantile.
	marginFill = 10
	// An error beyond marginClip robust sigmas above its kind's median counts as that
	// bound, so that one outlier among familiar content cannot carry the quantile.
	marginClip     = 4
	minMarginSigma = 0.01
	// One refresh, hence one observation, raises a kind's margin to at most
	// marginGrowth times what it was plus marginStep; it may fall at once.
	marginGrowth = 1.5
	marginStep   = 0.02
)

// Content kinds: groups of features whose estimation errors the calibrator tracks
// separately, so that a request's margin reflects how well its own kind of content has
// been estimated.
const (
	kFrame   = iota // request structure: overhead, messages, blocks, tools
	kLatin          // Latin-script words
	kLayout         // punctuation and whitespace: code, JSON, markup
	kDigits         // digit groups: numbers, IDs, data
	kCJK            // Han, kana, hangul
	kScript         // other scripts: Cyrillic, Greek, Arabic, Devanagari, ...
	kSymbols        // emoji and other symbols
	kMedia          // images and documents
	numKinds
)

// featureKind maps each feature to its content kind; -1 for none (the BPE count, which
// duplicates the text classes, and the scale).
var featureKind = [numFeatures]int8{
	fBias: kFrame, fMessages: kFrame, fBlocks: kFrame, fTools: kFrame, fToolsPresent: kFrame,
	fLetters: kLatin, fWords: kLatin, fLongWords: kLatin, fWordExcess: kLatin,
	fPunct: kLayout, fPunctRuns: kLayout, fSpaces: kLayout, fSpaceRuns: kLayout, fLineBreaks: kLayout,
	fDigitGroups: kDigits, fCJK: kCJK, fOtherLetters: kScript, fOtherWords: kScript, fOther: kSymbols,
	fImages: kMedia, fImageTokens: kMedia, fDocPages: kMedia,
	fBPE: -1, fScale: -1,
}

// ridgePrior is the ridge prior of each correction (see priorStrength).
var ridgePrior = func() (r vec) {
	for j := range r {
		r[j] = priorStrength
	}
	for _, j := range []int{fScale, fCJK, fOtherLetters, fOtherWords, fOther} {
		r[j] = weakPriorStrength
	}
	return r
}()

// kindMask is 1 for the features that belong to a kind, 0 for the others.
var kindMask = func() (m vec) {
	for j, k := range featureKind {
		if k >= 0 {
			m[j] = 1
		}
	}
	return m
}()

// calState is an immutable snapshot read by estimates without locking.
type calState struct {
	delta vec // learned corrections
	// typical is the margin of the window's average content mix (Stats.Margin);
	// featDev is, per feature, its kind's margin minus typical (0 for features of no
	// kind). A request's margin is typical plus the average of featDev weighted by the
	// features' shares of the request, which is exactly typical when all kinds agree.
	typical    float64
	featDev    vec
	kindMargin [numKinds]float64
	n          int64   // input observations so far
	outQ       float64 // output-tokens quantile per choice (learned output policy)
	outN       int64   // output observations so far
}

// setMargins stores the kinds' margins m and the typical margin.
func (s *calState) setMargins(m *[numKinds]float64, typical float64) {
	s.kindMargin, s.typical = *m, typical
	for j, k := range featureKind {
		if k >= 0 {
			s.featDev[j] = m[k] - typical
		}
	}
}

// sample is one observation in relative form: z = ν∘x / (μ·x), t = actual/(μ·x) − 1.
type sample struct {
	z     vec
	t     float64
	w     float64           // Huber weight it entered the fit with
	seq   int64             // its observation number, for its forgetting factor
	share [numKinds]float64 // the kinds' shares of the request
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
//
// Everything robust is judged per content kind (kFrame…kMedia). A request's share of a
// kind is the part of its prior estimate that the kind's features account for; every
// statistic below weighs each recent sample by its share of the kind.
//
//   - Huber weights use the robust sigma of the request's kinds (share-weighted): each
//     kind's weighted median absolute leave-one-out residual, blended with priorSigma by
//     the kind's weight. A surprise in content seen little gets a moderate weight and a
//     second one is learned; an outlier in familiar content is down-weighted.
//   - Margins: for each kind, the Quantile of the recent leave-one-out errors, each
//     clipped at marginClip robust sigmas above the kind's median, is shrunk toward the
//     model's own quantile (weight kindShrink; not below Initial for a kind whose own
//     errors exceed it), then blended with Initial by the kind's weight (kindPrior), then
//     bounded: within [Min, Max], and at most marginGrowth × its previous value +
//     marginStep (unless that is below Min).
//     A request's margin is the average of its kinds' margins, weighted by its shares:
//     content of a kind never seen gets Initial, and an error on one kind widens only the
//     margins of requests made of it.
type calibrator struct {
	mu, nu vec // prior weights and correction scales; immutable
	margin Margin

	mtx      sync.Mutex // guards the fields below
	a        [numFeatures][numFeatures]float64
	b        vec
	n        int64
	samples  [ringSize]sample
	sampleN  int
	sigma    [numKinds]float64 // robust sigma of the residuals, per kind
	errs     [ringSize]float64 // (issued − actual)/actual of issued estimates
	errN     int
	outs     [ringSize]float64 // output tokens per choice
	outN     int
	outTotal int64

	state atomic.Pointer[calState]
}

func newCalibrator(mu, nu vec, m Margin) *calibrator {
	c := &calibrator{mu: mu, nu: nu, margin: m}
	var km [numKinds]float64
	for k := range km {
		c.sigma[k], km[k] = priorSigma, m.Initial
	}
	s := &calState{}
	s.setMargins(&km, m.Initial)
	c.state.Store(s)
	return c
}

// predict returns the point estimate (no margin) for x and its margin.
func (c *calibrator) predict(x *vec) (point, margin float64) {
	s := c.state.Load()
	var base, corr, dev, den float64
	for j := range numFeatures {
		base += c.mu[j] * x[j]
		v := c.nu[j] * x[j]
		corr += v * s.delta[j]
		dev += v * s.featDev[j]
		den += v * kindMask[j]
	}
	corr += base * s.delta[fScale]
	margin = s.typical
	if den > 0 {
		margin += dev / den
	}
	// A correction may not take away more than 80% of the prior estimate.
	return max(base+corr, 0.2*base, 1), margin
}

// kindShares returns each kind's share of a request with relative features z.
func kindShares(z *vec) (sh [numKinds]float64) {
	var tot float64
	for j, k := range featureKind {
		if k >= 0 && z[j] > 0 {
			sh[k] += z[j]
			tot += z[j]
		}
	}
	if tot > 0 {
		for k := range sh {
			sh[k] /= tot
		}
	}
	return sh
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
	smp.share = kindShares(&smp.z)

	c.mtx.Lock()
	defer c.mtx.Unlock()
	s := c.state.Load()

	// Huber weight from the residual under the current fit, on the robust sigma of the
	// request's kinds: a surprise in content seen little is not judged by the noise of
	// familiar content.
	res := smp.t - dot(&smp.z, &s.delta)
	sig := priorSigma
	if smp.share != [numKinds]float64{} {
		sig = 0
		for k, sh := range smp.share {
			sig += sh * c.sigma[k]
		}
	}
	w := 1.0
	if lim := huberK * max(sig, minSigma); math.Abs(res) > lim {
		w = lim / math.Abs(res)
	}
	for i := range numFeatures {
		c.b[i] = forgetting*c.b[i] + w*smp.z[i]*smp.t
		for j := range numFeatures {
			c.a[i][j] = forgetting*c.a[i][j] + w*smp.z[i]*smp.z[j]
		}
	}
	c.n++
	smp.w, smp.seq = w, c.n
	c.samples[int(c.n-1)%ringSize] = smp
	c.sampleN = min(c.sampleN+1, ringSize)
	if issued > 0 {
		c.errs[c.errN%ringSize] = float64(issued-actual) / float64(actual)
		c.errN++
	}

	m := c.a
	for i := range numFeatures {
		m[i][i] += ridgePrior[i]
	}
	if !cholesky(&m) {
		return // cannot happen: the prior keeps the matrix positive definite
	}
	delta := c.b
	cholSolve(&m, &delta)

	next := *s
	next.delta, next.n = delta, c.n
	// Once warmed up, the margins and sigmas are refreshed every 8th observation, and
	// at once after a surprise (a down-weighted residual), so that the next request of
	// its kind is covered.
	if c.n <= 32 || c.n%8 == 0 || w < 1 {
		c.refresh(&m, &delta, &next)
	}
	c.state.Store(&next)
}

// refresh recomputes the kinds' robust sigmas and margins (into next) from the
// leave-one-out errors of the recent samples under the fit delta; l is the Cholesky
// factor of the fit's matrix. The caller holds c.mtx.
func (c *calibrator) refresh(l *[numFeatures][numFeatures]float64, delta *vec, next *calState) {
	// A sample's influence on the fit is its weight ω (Huber weight times its
	// forgetting factor) times its leverage h = zᵀM⁻¹z, so its leave-one-out residual
	// is r/(1−ωh); ωh < 1 because the prior keeps M above the sample's own term.
	k := c.sampleN
	var loo [ringSize]looErr
	for i := range k {
		sk := &c.samples[i]
		r := sk.t - dot(&sk.z, delta)
		h := sk.z
		cholSolve(l, &h)
		omega := sk.w * math.Pow(forgetting, float64(c.n-sk.seq))
		r /= max(1-omega*dot(&sk.z, &h), 0.05)
		// The leave-one-out prediction is floored as predict floors estimates.
		loo[i] = looErr{(1+sk.t)/max(1+sk.t-r, 0.2) - 1, math.Abs(r), i}
	}

	cfg := c.margin
	var vals, wts [ringSize]float64
	// The model's quantile, over all samples alike: what the kinds are shrunk toward.
	slices.SortFunc(loo[:k], func(a, b looErr) int { return cmp.Compare(a.rel, b.rel) })
	for i := range k {
		vals[i], wts[i] = loo[i].rel, 1
	}
	model := c.robustQuantile(vals[:k], wts[:k])
	if k < marginFill {
		model = (float64(marginFill-k)*cfg.Initial + float64(k)*model) / marginFill
	}
	var km, mix [numKinds]float64
	for kd := range numKinds {
		var wk float64
		n := 0
		for _, o := range loo[:k] {
			if sh := c.samples[o.i].share[kd]; sh > 0 {
				vals[n], wts[n] = o.rel, sh
				wk += sh
				n++
			}
		}
		mix[kd] = wk
		target := cfg.Initial
		if n > 0 {
			own := c.robustQuantile(vals[:n], wts[:n])
			q := (kindShrink*model + wk*own) / (kindShrink + wk)
			if own > cfg.Initial {
				q = max(q, cfg.Initial)
			}
			target = (kindPrior*cfg.Initial + wk*q) / (kindPrior + wk)
			c.sigma[kd] = c.kindSigma(loo[:k], kd, wk)
		}
		km[kd] = max(min(target, marginGrowth*next.kindMargin[kd]+marginStep, cfg.Max), cfg.Min)
	}
	// The typical margin: that of the window's average content mix.
	typical := cfg.Initial
	var tot, sum float64
	for kd := range numKinds {
		tot += mix[kd]
		sum += mix[kd] * km[kd]
	}
	if tot > 0 {
		typical = sum / tot
	}
	next.setMargins(&km, typical)
}

// looErr is one sample's leave-one-out error.
type looErr struct {
	rel float64 // relative underestimate: actual/prediction − 1
	abs float64 // |residual|, relative to the prior estimate
	i   int     // index of the sample
}

// kindSigma returns kind kd's robust sigma: 1.4826 times the weighted median of the
// absolute leave-one-out residuals (at least minSigma), blended with priorSigma by the
// kind's weight wk. The caller holds c.mtx.
func (c *calibrator) kindSigma(loo []looErr, kd int, wk float64) float64 {
	type aw struct{ a, w float64 }
	var aws [ringSize]aw
	n := 0
	for _, o := range loo {
		if sh := c.samples[o.i].share[kd]; sh > 0 {
			aws[n] = aw{o.abs, sh}
			n++
		}
	}
	slices.SortFunc(aws[:n], func(a, b aw) int { return cmp.Compare(a.a, b.a) })
	var vals, wts [ringSize]float64
	for i := range n {
		vals[i], wts[i] = aws[i].a, aws[i].w
	}
	sk := max(1.4826*weightedQuantile(vals[:n], wts[:n], 0.5), minSigma)
	return (priorSigma + wk*sk) / (1 + wk)
}

// robustQuantile returns the margin that covers the Quantile of the errors vals (sorted
// ascending, with positive weights wts) beyond Tolerance, at least Min. Errors more than
// marginClip robust sigmas above the weighted median count as that bound. vals is
// modified.
func (c *calibrator) robustQuantile(vals, wts []float64) float64 {
	n := len(vals)
	med := weightedQuantile(vals, wts, 0.5)
	type dw struct{ d, w float64 }
	var dws [ringSize]dw
	for i := range n {
		dws[i] = dw{math.Abs(vals[i] - med), wts[i]}
	}
	slices.SortFunc(dws[:n], func(a, b dw) int { return cmp.Compare(a.d, b.d) })
	var dev, dwt [ringSize]float64
	for i := range n {
		dev[i], dwt[i] = dws[i].d, dws[i].w
	}
	clip := med + marginClip*max(1.4826*weightedQuantile(dev[:n], dwt[:n], 0.5), minMarginSigma)
	for i := range n {
		vals[i] = min(vals[i], clip) // monotone: vals stay sorted
	}
	q := weightedQuantile(vals, wts, c.margin.Quantile)
	return max((1+q)/(1+c.margin.Tolerance)-1, c.margin.Min)
}

// weightedQuantile returns the q-quantile of sorted values with positive weights w,
// interpolating linearly between values placed at (S_i − w_i)/(W − w_n) on the
// cumulative scale (S_i the weight up to and including value i, W the total, w_n the
// last weight): with equal weights this is quantile's rule. 0 if empty.
func weightedQuantile(sorted, w []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	var tot float64
	for _, v := range w {
		tot += v
	}
	span := tot - w[n-1]
	if span <= 0 {
		return sorted[n-1]
	}
	p := q * span
	var cum, prev float64 // cum: weight before value i; prev: position of value i−1
	for i, v := range sorted {
		if cum >= p {
			if i == 0 || cum == prev {
				return v
			}
			return sorted[i-1] + (p-prev)/(cum-prev)*(v-sorted[i-1])
		}
		prev = cum
		cum += w[i]
	}
	return sorted[n-1]
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
	st := Stats{Observations: n, Window: k, Margin: s.typical, MaxMargin: slices.Max(s.kindMargin[:]), OutputObservations: s.outN}
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
