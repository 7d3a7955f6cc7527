package bucket

// Settle adds delta to each limited bucket (a positive delta refunds, a
// negative one debits more) and clamps to capacity. While calls wait in
// line, a refund is first cut to what a real bucket would keep (see the
// package doc). A debit never takes a level below −capacity (nor lower
// than it was, if the line already put it there): one usage report, however
// large, costs at most two capacities' worth of refill, not years. It is how
// a reservation is committed at its actual cost: delta = reserved − used.
func Settle(s *State, now int64, lim *Limits, delta *Cost) {
	s.Advance(now, lim)
	line := s.Last < s.End
	for i := range lim {
		if c := lim[i].Capacity; c > 0 && delta[i] != 0 {
			d := delta[i]
			if d > 0 && line && s.Peak[i] > 0 {
				d = min(d, max(0, c-s.Peak[i]))
				s.Peak[i] += d
			}
			v := min(c, s.Level[i]+d)
			if d < 0 {
				v = max(v, min(s.Level[i], -c))
			}
			s.Level[i] = v
		}
	}
	s.Seq++
}

// Cancel undoes a reservation made when s was prev and that left s.Seq at
// seq. If no mutation happened since, the levels, Last and Seq of prev are
// restored (End and Peak stay); otherwise the cost is refunded as by Settle,
// bounded while calls wait in line.
func Cancel(s *State, now int64, lim *Limits, prev *State, seq int64, cost *Cost) {
	if s.Seq == seq {
		// Levels, Last and Seq as before the reservation. End and Peak
		// stay: they only narrow refunds until the line has gone, which
		// errs on the safe side, and a reservation need not carry them.
		s.Last, s.Seq, s.Level = prev.Last, prev.Seq, prev.Level
		return
	}
	Settle(s, now, lim, cost)
}

// Lower caps a bucket at level, as if level units were left now and nothing
// refilled for the next hold microseconds: Level = min(Level, level −
// gain(hold)). It never raises a level. It is how the server's view (a
// remaining count, a retry-after) is imposed on the local one.
func Lower(s *State, now int64, lim *Limits, dim int, level float64, hold int64) {
	s.Advance(now, lim)
	if lim[dim].Capacity <= 0 {
		return
	}
	if s.lower(lim, dim, level, hold) {
		s.Seq++
	}
}

// LowerDims is Lower on every dimension of dims in one mutation: s is
// advanced once, then each limited dimension i of dims, in increasing
// order, is capped at level[i] − gain(hold[i]) with Lower's arithmetic.
// Dimensions outside dims, and those lim does not limit, are left alone.
// Seq is incremented once if any level dropped.
func LowerDims(s *State, now int64, lim *Limits, dims Dims, level *[N]float64, hold *[N]int64) {
	limited := Limited(lim)
	s.advance(now, lim, limited)
	var lowered bool
	for dims &= limited; dims != 0; {
		i := dims.next()
		lowered = s.lower(lim, i, level[i], hold[i]) || lowered
	}
	if lowered {
		s.Seq++
	}
}

// lower caps limited bucket i of an advanced s at level − gain(hold) and
// reports whether its level dropped. It does not touch Seq.
func (s *State) lower(lim *Limits, i int, level float64, hold int64) bool {
	v := level - lim[i].gain(float64(hold))
	if v < s.Level[i] {
		s.Level[i] = v
		return true
	}
	return false
}

// FullIn returns how many microseconds bucket i of an advanced state needs
// to be full again; 0 when it is full or not limited.
func (s *State) FullIn(lim *Limits, i int) int64 {
	c := lim[i].Capacity
	if c <= 0 || s.Level[i] >= c {
		return 0
	}
	return lim[i].time(c - s.Level[i])
}
