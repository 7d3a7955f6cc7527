package tokencount

import (
	"math"
)

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
