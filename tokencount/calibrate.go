package tokencount

import (
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
