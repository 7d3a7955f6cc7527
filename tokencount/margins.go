package tokencount

import (
	"cmp"
	"math"
	"slices"
)

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
