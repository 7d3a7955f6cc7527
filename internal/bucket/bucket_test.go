package bucket

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sec = 1_000_000 // µs

// two buckets: A holds 10 and refills 1/s; B holds 100 and refills 10/s.
var lim2 = Limits{
	{Capacity: 10, Refill: 1, Period: sec},
	{Capacity: 100, Refill: 10, Period: sec},
}

func cost(a, b float64) *Cost { return &Cost{a, b} }

func levels(a, b float64) [N]float64 { return [N]float64{a, b, Full, Full, Full, Full} }

// TestReserveSteps walks one budget through a fixed sequence of instants, in
// the style of x/time/rate's t0…t9 tables.
func TestReserveSteps(t *testing.T) {
	type step struct {
		at      int64
		cost    *Cost
		floor   float64
		maxWait int64
		want    Decision
		level   [N]float64
	}
	steps := []step{
		// t0: a fresh budget is full; 1 A + 50 B fits now.
		{0, cost(1, 50), 0, 0, Decision{OK: true, Dim: -1}, levels(9, 50)},
		// 60 B does not fit now: B lacks 10, which takes 1 s. Nothing is debited.
		{0, cost(1, 60), 0, 0, Decision{Wait: 1 * sec, Dim: 1, Need: 60, Have: 50}, levels(9, 50)},
		// The same call, willing to wait, takes its place: both buckets are
		// debited as of t0+1s (A holds the 1 unit it regains meanwhile).
		{0, cost(1, 60), 0, Forever, Decision{OK: true, Wait: 1 * sec, Dim: 1, Need: 60, Have: 50}, levels(8, -10)},
		// t1: B is back to 0; a call for 5 B waits 0.5 s behind the first.
		{1 * sec, cost(0, 5), 0, Forever, Decision{OK: true, Wait: sec / 2, Dim: 1, Need: 5, Have: 0}, levels(9, -5)},
		// More than A's capacity can never fit, whatever the wait.
		{1 * sec, cost(11, 0), 0, Forever, Decision{Wait: Forever, Dim: 0, TooLarge: true, Need: 11, Have: 10}, levels(9, -5)},
		// A background call with headroom 0.5 may use only A above 5: 6 never fits.
		{1 * sec, cost(6, 0), 0.5, Forever, Decision{Wait: Forever, Dim: 0, TooLarge: true, Need: 6, Have: 5}, levels(9, -5)},
		// ... and 5 must wait until A is back at 10 (1 s).
		{1 * sec, cost(5, 0), 0.5, 0, Decision{Wait: 1 * sec, Dim: 0, Need: 5, Have: 4}, levels(9, -5)},
		// An interactive call of 5 fits now.
		{1 * sec, cost(5, 0), 0, 0, Decision{OK: true, Dim: -1}, levels(4, -5)},
		// t3: A regained 2, B is at 15.
		{3 * sec, cost(0, 0), 0, 0, Decision{OK: true, Dim: -1}, levels(6, 15)},
		// A clock that goes backwards refills nothing and breaks nothing.
		{2 * sec, cost(0, 15), 0, 0, Decision{OK: true, Dim: -1}, levels(6, 0)},
		// t60: full again, capped at capacity.
		{60 * sec, cost(0, 0), 0, 0, Decision{OK: true, Dim: -1}, levels(10, 100)},
	}
	s := Fresh(0)
	s.Advance(0, &lim2)
	seq := s.Seq
	for i, st := range steps {
		got := Reserve(&s, st.at, &lim2, st.cost, st.floor, st.maxWait)
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Fatalf("step %d: Reserve(t=%d, %v) (-want +got):\n%s", i, st.at, *st.cost, diff)
		}
		if diff := cmp.Diff(st.level, s.Level); diff != "" {
			t.Fatalf("step %d: levels (-want +got):\n%s", i, diff)
		}
		if got.OK {
			seq++
		}
		if s.Seq != seq {
			t.Fatalf("step %d: Seq = %d; want %d", i, s.Seq, seq)
		}
	}
	if s.Last != 60*sec {
		t.Errorf("Last = %d; want %d", s.Last, 60*sec)
	}
}

func TestSettleCancelLower(t *testing.T) {
	s := Fresh(0)
	// Reserve 4 A + 80 B, then commit at 1 A + 30 B: refund 3 and 50.
	prev := s
	Reserve(&s, 0, &lim2, cost(4, 80), 0, 0)
	if s.Level != levels(6, 20) {
		t.Fatalf("after reserve: %v", s.Level)
	}
	Settle(&s, 0, &lim2, cost(3, 50))
	if s.Level != levels(9, 70) {
		t.Fatalf("after settle: %v", s.Level)
	}
	// A refund never overfills.
	Settle(&s, 0, &lim2, cost(5, 500))
	if s.Level != levels(10, 100) {
		t.Fatalf("after over-refund: %v", s.Level)
	}
	// An extra debit may go into debt.
	Settle(&s, 0, &lim2, cost(-12, 0))
	if s.Level != levels(-2, 100) {
		t.Fatalf("after extra debit: %v", s.Level)
	}
	// ... but never below −capacity: an absurd usage report costs at most
	// two capacities of refill (it used to put the level at −1e12).
	Settle(&s, 0, &lim2, cost(-1e12, -150))
	if s.Level != levels(-10, -50) {
		t.Fatalf("after absurd debit: %v; want the debt stopped at -capacity", s.Level)
	}
	// A level the line already put below −capacity is not lowered further
	// by a settlement, nor raised by a debit.
	s.Level[0] = -25
	Settle(&s, 0, &lim2, cost(-1, 0))
	if s.Level[0] != -25 {
		t.Fatalf("debit below a line's debt: %v; want -25 kept", s.Level)
	}

	// Cancel of the last mutation restores the previous levels exactly,
	// including the hold of a waiting reservation, Last and Seq; the
	// line's end and peaks stay (they only narrow later refunds).
	s = Fresh(0)
	s.Advance(0, &lim2)
	Reserve(&s, 0, &lim2, cost(8, 0), 0, 0)
	prev = s
	d := Reserve(&s, 0, &lim2, cost(5, 10), 0, Forever) // waits 3 s, holds 3 A and 30 B
	if !d.OK || d.Wait != 3*sec || s.Level != levels(-3, 60) {
		t.Fatalf("waiting reserve: %+v, %v", d, s.Level)
	}
	line := State{End: s.End, Peak: s.Peak}
	Cancel(&s, sec, &lim2, &prev, s.Seq, cost(5, 10))
	want := prev
	want.End, want.Peak = line.End, line.Peak
	if diff := cmp.Diff(want, s); diff != "" {
		t.Fatalf("exact cancel (-want +got):\n%s", diff)
	}

	// Cancel after another mutation refunds the cost only (the hold stays:
	// a later caller's place depends on it), and only what a real bucket
	// would keep: A peaked at 5 (refund 5 of 10 fits), B at 100 (none does).
	d = Reserve(&s, 0, &lim2, cost(5, 10), 0, Forever)
	mySeq := s.Seq
	Reserve(&s, 0, &lim2, cost(0, 1), 0, 0)
	Cancel(&s, 0, &lim2, &prev, mySeq, cost(5, 10))
	if s.Level != levels(2, 59) { // hold kept: -3+5, 100+30-10-30-1+0
		t.Fatalf("refund cancel: %v", s.Level)
	}

	// Lower never raises; it holds for the given time.
	s = Fresh(0)
	s.Advance(0, &lim2)
	Lower(&s, 0, &lim2, 1, 500, 0)
	if s.Level != levels(10, 100) {
		t.Fatalf("lower above level changed it: %v", s.Level)
	}
	seq := s.Seq
	Lower(&s, 0, &lim2, 1, 0, 2*sec) // frozen for 2 s
	if s.Level != levels(10, -20) || s.Seq != seq+1 {
		t.Fatalf("freeze: %v seq %d", s.Level, s.Seq)
	}
	if got := s.FullIn(&lim2, 1); got != 12*sec {
		t.Fatalf("FullIn = %d; want %d", got, 12*sec)
	}
	Lower(&s, 0, &lim2, 2, 0, 0) // not limited: nothing
	if s.Level[2] != Full {
		t.Fatalf("lowered an unlimited bucket")
	}
}

// call is one admitted call: when it may act and what it took.
type call struct {
	at   int64
	cost Cost
}

// checkWindows verifies, for every bucket and every window [t, t+w] that
// starts at an admission, that the units acting in it do not exceed
// capacity + rate·w (the most a token bucket can ever let through).
func checkWindows(t *testing.T, calls []call, lim *Limits, window int64) {
	t.Helper()
	for i := range lim {
		if lim[i].Capacity <= 0 {
			continue
		}
		bound := lim[i].Capacity + lim[i].gain(float64(window))
		for _, a := range calls {
			var sum float64
			for _, b := range calls {
				if b.at >= a.at && b.at <= a.at+window {
					sum += b.cost[i]
				}
			}
			if sum > bound*(1+1e-9) {
				t.Fatalf("bucket %d: %.3f units act in [%d, %d]; the bound is %.3f", i, sum, a.at, a.at+window, bound)
			}
		}
	}
}

// FuzzInvariants drives random operations and checks that levels never
// exceed capacity, that refused calls debit nothing, and that what acts in
// any window stays within the token-bucket bound.
func FuzzInvariants(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(42), uint64(7))
	f.Fuzz(func(t *testing.T, seed1, seed2 uint64) {
		r := rand.New(rand.NewPCG(seed1, seed2))
		lim := Limits{
			{Capacity: 5, Refill: 5, Period: 60 * sec},
			{Capacity: 1000, Refill: 1000, Period: 60 * sec},
			{Capacity: 300, Refill: 300, Period: 60 * sec},
		}
		s := Fresh(0)
		var now int64
		var calls []call
		for range 300 {
			now += r.Int64N(3 * sec)
			c := Cost{1, float64(r.IntN(400)), float64(r.IntN(200))}
			maxWait := []int64{0, 10 * sec, Forever}[r.IntN(3)]
			before := s
			before.Advance(now, &lim)
			d := Reserve(&s, now, &lim, &c, 0, maxWait)
			if !d.OK {
				if s.Level != before.Level || s.Seq != before.Seq {
					t.Fatalf("refused call changed the state: %v -> %v", before.Level, s.Level)
				}
				continue
			}
			if r.IntN(5) == 0 { // cancelled: never acts
				Cancel(&s, now, &lim, &before, s.Seq, &c)
			} else {
				calls = append(calls, call{now + d.Wait, c})
			}
			for i := range lim {
				if lim[i].Capacity > 0 && s.Level[i] > lim[i].Capacity {
					t.Fatalf("bucket %d over capacity: %v", i, s.Level[i])
				}
			}
		}
		for _, w := range []int64{0, sec, 10 * sec, 60 * sec} {
			checkWindows(t, calls, &lim, w)
		}
	})
}

func TestFullInUnlimited(t *testing.T) {
	s := Fresh(0)
	if got := s.FullIn(&lim2, 3); got != 0 {
		t.Errorf("FullIn(unlimited) = %d", got)
	}
	if math.IsInf(s.Level[0], 0) {
		t.Errorf("Full must be finite")
	}
}

// referenceAdvance and referenceReserve are Advance and Reserve as first
// written: a plain loop over every dimension, dividing even when no time
// passed. The fast versions must agree with them bit for bit, because the
// Redis store's Lua mirrors the arithmetic.
func referenceAdvance(s *State, now int64, lim *Limits) {
	var dt float64
	if now > s.Last {
		dt = float64(now - s.Last)
		s.Last = now
	}
	for i := range lim {
		if c := lim[i].Capacity; c > 0 {
			s.Level[i] = min(c, s.Level[i]+lim[i].gain(dt))
		}
	}
}

func referenceReserve(s *State, now int64, lim *Limits, cost *Cost, floor float64, maxWait int64) Decision {
	referenceAdvance(s, now, lim)
	d := Decision{Dim: -1}
	for i := range lim {
		c, need := lim[i].Capacity, cost[i]
		if c <= 0 || need <= 0 {
			continue
		}
		low := floor * c
		if most := max(c, lim[i].Refill) - low; need > most {
			return Decision{Wait: Forever, Dim: i, TooLarge: true, Need: need, Have: most}
		}
		deficit := min(need, c-low) + low - s.Level[i]
		if deficit <= 0 {
			continue
		}
		w := lim[i].time(deficit)
		if w > d.Wait || d.Dim < 0 {
			d.Wait, d.Dim, d.Need, d.Have = w, i, need, s.Level[i]-low
		}
	}
	if d.Wait > maxWait {
		return d
	}
	d.OK = true
	w := float64(d.Wait)
	for i := range lim {
		c, need := lim[i].Capacity, cost[i]
		if c <= 0 || need <= 0 {
			continue
		}
		hold := lim[i].gain(w)
		s.Level[i] = min(c, s.Level[i]+hold) - need - hold
	}
	s.Seq++
	return d
}

// sameBits reports whether a and b are identical bit for bit, telling -0
// from +0.
func sameBits(a, b *State) bool {
	if a.Last != b.Last || a.Seq != b.Seq {
		return false
	}
	for i := range a.Level {
		if math.Float64bits(a.Level[i]) != math.Float64bits(b.Level[i]) {
			return false
		}
	}
	return true
}

// FuzzReserveMatchesReference drives Reserve and Advance and their reference
// versions with random limits (some dimensions unlimited), costs, floors,
// waits and clocks (standing still, going backwards, levels of -0 and above
// capacity), and requires the same decisions and the same bits.
func FuzzReserveMatchesReference(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(7), uint64(99))
	f.Fuzz(func(t *testing.T, seed1, seed2 uint64) {
		r := rand.New(rand.NewPCG(seed1, seed2))
		var lim Limits
		for i := range lim {
			if r.IntN(3) > 0 {
				l := float64(1 + r.Int64N(100_000))
				period := []float64{60 * sec, 86_400 * sec}[r.IntN(2)]
				lim[i] = Limit{Capacity: l * []float64{1, 0.5, 1.0 / 60}[r.IntN(3)], Refill: l, Period: period}
			}
		}
		dims := Limited(&lim)
		fast, ref := Fresh(r.Int64N(sec)), State{}
		ref = fast
		for range 500 {
			switch r.IntN(10) {
			case 0: // odd levels: -0, above capacity, debt
				i := r.IntN(N)
				v := []float64{math.Copysign(0, -1), 0, Full, -float64(r.IntN(1000)), float64(r.IntN(200_000))}[r.IntN(5)]
				fast.Level[i], ref.Level[i] = v, v
			case 1: // Advance alone
				now := fast.Last + r.Int64N(2*sec) - sec
				fast.Advance(now, &lim)
				referenceAdvance(&ref, now, &lim)
			}
			now := fast.Last + []int64{0, 0, -r.Int64N(sec), r.Int64N(10), r.Int64N(10 * sec)}[r.IntN(5)]
			var c Cost
			for i := range c {
				if r.IntN(2) == 0 {
					c[i] = float64(r.Int64N(20_000))
				}
			}
			floor := []float64{0, 0, 0.2, 1.0 / 3}[r.IntN(4)]
			maxWait := []int64{0, r.Int64N(10 * sec), Forever}[r.IntN(3)]
			var got Decision
			if r.IntN(2) == 0 {
				got = ReserveDims(&fast, now, &lim, dims, &c, floor, maxWait, Waiter{})
			} else {
				got = Reserve(&fast, now, &lim, &c, floor, maxWait)
			}
			want := referenceReserve(&ref, now, &lim, &c, floor, maxWait)
			if got != want && !(math.IsNaN(got.Have) && math.IsNaN(want.Have)) {
				t.Fatalf("Reserve(t=%d, %v) = %+v; want %+v", now, c, got, want)
			}
			if !sameBits(&fast, &ref) {
				t.Fatalf("after Reserve(t=%d, %v): state %+v; want %+v", now, c, fast, ref)
			}
		}
	})
}

// TestLowerDims: lowering several dimensions at once takes the same levels,
// bit for bit, as lowering them one by one at the same instant, and counts
// as one mutation when anything dropped, none when nothing did.
func TestLowerDims(t *testing.T) {
	var lim Limits
	lim[0] = Limit{Capacity: 10, Refill: 1, Period: sec}
	lim[1] = Limit{Capacity: 100, Refill: 10, Period: sec}
	lim[3] = Limit{Capacity: 600, Refill: 600, Period: 60 * sec}
	type step struct {
		at    int64
		dims  Dims
		level [N]float64
		hold  [N]int64
		want  [N]float64
		seq   int64 // Seq after the step, from 0
	}
	steps := []step{
		// A to 4, B frozen at 0 for 2 s; C (unlimited) ignored; D not selected.
		{0, 1<<0 | 1<<1 | 1<<2, [N]float64{4, 0, 0}, [N]int64{0, 2 * sec, sec}, [N]float64{4, -20, Full, 600, Full, Full}, 1},
		// Nothing drops: A above its level, D not selected.
		{0, 1 << 0, [N]float64{5, 0, 0, 0}, [N]int64{}, [N]float64{4, -20, Full, 600, Full, Full}, 1},
		// 1 s later: A refilled to 5, B to -10; only D drops (600 − 10 held for 1 s).
		{sec, 1<<0 | 1<<3, [N]float64{9, 0, 0, 600}, [N]int64{0, 0, 0, sec}, [N]float64{5, -10, Full, 590, Full, Full}, 2},
		// The empty set changes nothing but advances.
		{2 * sec, 0, [N]float64{}, [N]int64{}, [N]float64{6, 0, Full, 600, Full, Full}, 2},
	}
	s, one := Fresh(0), Fresh(0)
	for i, st := range steps {
		seq := one.Seq
		LowerDims(&s, st.at, &lim, st.dims, &st.level, &st.hold)
		one.Advance(st.at, &lim)
		for d := range N {
			if st.dims&(1<<d) != 0 {
				Lower(&one, st.at, &lim, d, st.level[d], st.hold[d])
			}
		}
		if s.Level != st.want || s.Seq != st.seq {
			t.Fatalf("step %d: LowerDims = %v seq %d; want %v seq %d", i, s.Level, s.Seq, st.want, st.seq)
		}
		if one.Seq > seq {
			one.Seq = seq + 1
		}
		if !sameBits(&s, &one) {
			t.Fatalf("step %d: LowerDims = %+v; one by one %+v", i, s, one)
		}
	}
}

// TestRefundWhileWaiting walks the case in the package doc, and refunds
// that a real bucket keeps in part, whole, or not at all.
func TestRefundWhileWaiting(t *testing.T) {
	one := Limits{{Capacity: 1, Refill: 1, Period: sec}}
	ten := Limits{{Capacity: 10, Refill: 1, Period: sec}}
	c1, c5, c8 := &Cost{1}, &Cost{5}, &Cost{8}
	type step struct {
		at     int64
		op     string // "reserve"; "cancel k" cancels the k-th reservation; "settle" adds delta
		cost   *Cost
		wait   int64 // reserve: the wait wanted
		level  float64
		end    int64
		peak   float64
		undoOf int
	}
	cases := []struct {
		name  string
		lim   *Limits
		steps []step
	}{
		{"CancelledUnitIsLost", &one, []step{
			// t0: A takes the unit; B acts at t1, C at t2 (each finds 1).
			{at: 0, op: "reserve", cost: c1, wait: 0, level: 0, end: 0, peak: 0},
			{at: 0, op: "reserve", cost: c1, wait: 1 * sec, level: -1, end: 1 * sec, peak: 1},
			{at: 0, op: "reserve", cost: c1, wait: 2 * sec, level: -2, end: 2 * sec, peak: 1},
			// t1: B cancels, not the last: the bucket was full at t1, so
			// nothing comes back, and B's new place is after C.
			{at: 1 * sec, op: "cancel", cost: c1, undoOf: 1, level: -1, end: 2 * sec, peak: 1},
			{at: 1 * sec, op: "reserve", cost: c1, wait: 2 * sec, level: -2, end: 3 * sec, peak: 1},
			// t3: the line is empty; a refund is capped as usual.
			{at: 3 * sec, op: "settle", cost: c1, level: 1, end: 3 * sec, peak: 1},
			// A call that acts at once leaves the line alone; the next one
			// placed in line clears the past peaks.
			{at: 3 * sec, op: "reserve", cost: c1, wait: 0, level: 0, end: 3 * sec, peak: 1},
			{at: 3 * sec, op: "reserve", cost: &Cost{0.5}, wait: sec / 2, level: -0.5, end: 3*sec + sec/2, peak: 0.5},
		}},
		{"CommitKeepsWhatFits", &ten, []step{
			// A takes 8 at t0; B (5) acts at t3, finding 5.
			{at: 0, op: "reserve", cost: c8, wait: 0, level: 2, end: 0, peak: 0},
			{at: 0, op: "reserve", cost: c5, wait: 3 * sec, level: -3, end: 3 * sec, peak: 5},
			// A used 2: of its 6, a real bucket keeps 5 (it reaches 10 at
			// t2 and B takes 5 at t3); the peak rises to 10.
			{at: 0, op: "settle", cost: &Cost{6}, level: 2, end: 3 * sec, peak: 10},
			// Nothing more fits before t3 ...
			{at: 1 * sec, op: "settle", cost: &Cost{3}, level: 3, end: 3 * sec, peak: 10},
			// ... and a debit is unchanged.
			{at: 1 * sec, op: "settle", cost: &Cost{-4}, level: -1, end: 3 * sec, peak: 10},
			// C needs 10 from -1: it acts 11 s later, at t12.
			{at: 1 * sec, op: "reserve", cost: &Cost{10}, wait: 11 * sec, level: -11, end: 12 * sec, peak: 10},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Fresh(0)
			var undo []struct {
				prev State
				seq  int64
			}
			for i, st := range tc.steps {
				switch st.op {
				case "reserve":
					prev := s
					d := Reserve(&s, st.at, tc.lim, st.cost, 0, Forever)
					if !d.OK || d.Wait != st.wait {
						t.Fatalf("step %d: Reserve(t=%d, %v) = %+v; want OK after %d", i, st.at, st.cost[0], d, st.wait)
					}
					undo = append(undo, struct {
						prev State
						seq  int64
					}{prev, s.Seq})
				case "cancel":
					u := undo[st.undoOf]
					Cancel(&s, st.at, tc.lim, &u.prev, u.seq, st.cost)
				case "settle":
					Settle(&s, st.at, tc.lim, st.cost)
				}
				if s.Level[0] != st.level || s.End != st.end || s.Peak[0] != st.peak {
					t.Fatalf("step %d (%s at t=%d): level %v, End %d, Peak %v; want %v, %d, %v",
						i, st.op, st.at, s.Level[0], s.End, s.Peak[0], st.level, st.end, st.peak)
				}
			}
		})
	}
}

// FuzzRefundWindows reserves, cancels calls still in line, and commits calls
// below their cost as they act, while others wait, in two dimensions, with
// interactive and background calls, and checks that what acts in every
// window, zero-length ones included, stays within capacity + refill·window.
// (A refund for a call that acted earlier is outside it: see the package
// doc.)
func FuzzRefundWindows(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(3), uint64(4))
	f.Add(uint64(42), uint64(7))
	f.Fuzz(func(t *testing.T, seed1, seed2 uint64) {
		r := rand.New(rand.NewPCG(seed1, seed2))
		lim := Limits{
			{Capacity: float64(1 + r.IntN(5)), Refill: float64(1 + r.IntN(5)), Period: sec},
			{Capacity: float64(3 + r.IntN(20)), Refill: float64(1 + r.IntN(20)), Period: 2 * sec},
		}
		type open struct {
			call
			prev State
			seq  int64
			done bool
		}
		s := Fresh(0)
		var now int64
		var calls []*open
		for range 200 {
			if r.IntN(3) == 0 {
				now += r.Int64N(sec)
			}
			switch x := r.IntN(10); {
			case x < 5 || len(calls) == 0:
				c := Cost{float64(r.IntN(int(lim[0].Capacity) + 1)), float64(r.IntN(int(lim[1].Capacity) + 1))}
				floor := []float64{0, 0, 0.5}[r.IntN(3)]
				prev := s
				d := Reserve(&s, now, &lim, &c, floor, []int64{0, 5 * sec, Forever}[r.IntN(3)])
				if d.OK {
					calls = append(calls, &open{call: call{now + d.Wait, c}, prev: prev, seq: s.Seq})
				}
			case x < 8: // cancel a call still in line: it never acts
				k := calls[r.IntN(len(calls))]
				if k.done || k.at < now {
					continue
				}
				k.done = true
				Cancel(&s, now, &lim, &k.prev, k.seq, &k.cost)
				k.cost = Cost{}
			default: // commit a call as it acts, below its cost
				k := calls[r.IntN(len(calls))]
				if k.done || k.at != now {
					continue
				}
				k.done = true
				var delta Cost
				for i := range 2 {
					used := float64(r.IntN(int(k.cost[i]) + 1))
					delta[i] = k.cost[i] - used
					k.cost[i] = used
				}
				Settle(&s, now, &lim, &delta)
			}
			s.Advance(now, &lim)
			for i := range 2 {
				if s.Level[i] > lim[i].Capacity {
					t.Fatalf("bucket %d over capacity: %v", i, s.Level[i])
				}
			}
		}
		acted := make([]call, len(calls))
		for i, c := range calls {
			acted[i] = c.call
		}
		for _, w := range []int64{0, 1, sec / 2, sec, 3 * sec, 10 * sec} {
			checkWindows(t, acted, &lim, w)
		}
	})
}

// TestClaim: the oldest refused waiter has its cost set aside until it is
// admitted, its claim lapses, or it releases it; others are admitted only
// beside it.
func TestClaim(t *testing.T) {
	const t0 = 100 * sec // a store's clock never reads 0
	s := Fresh(t0)
	ask := func(at int64, c *Cost, w *Waiter) Decision {
		t.Helper()
		d := ReserveDims(&s, t0+at, &lim2, Limited(&lim2), c, 0, 0, *w)
		if !d.OK {
			w.Since = d.Since // as a Limiter passes it back
		}
		return d
	}
	none := &Waiter{}
	if d := ask(0, cost(10, 0), none); !d.OK {
		t.Fatalf("first call: %+v", d)
	}
	// w1 needs 5 of A: refused, it claims them from now on.
	w1 := &Waiter{ID: 1}
	if d := ask(0, cost(5, 0), w1); d.OK || d.Wait != 5*sec || d.Since != t0 || s.Claim.ID != 1 {
		t.Fatalf("w1: %+v, claim %+v; want refused for 5s, claiming since t0", d, s.Claim)
	}
	// It asks again within ClaimTTL, which renews the claim.
	for at := int64(sec); at <= 3*sec; at += sec {
		if d := ask(at, cost(5, 0), w1); d.OK || s.Claim.Until != t0+at+ClaimTTL || s.Claim.Since != t0 {
			t.Fatalf("w1 at %v: %+v, claim %+v; want refused, renewed, since t0", at, d, s.Claim)
		}
	}
	// At 3 s, 3 of A are in: a call of 1 would fit, but not beside the 5.
	if d := ask(3*sec, cost(1, 0), none); d.OK || d.Wait != 3*sec {
		t.Fatalf("a small call beside the claim: %+v; want refused for 3s (5 claimed + 1 − 3)", d)
	}
	// A younger waiter does not take the claim over; an older one does,
	// and then w1 waits beside it.
	if ask(3*sec, cost(4, 0), &Waiter{ID: 2, Since: t0 + 1}); s.Claim.ID != 1 {
		t.Fatalf("a younger waiter took the claim: %+v", s.Claim)
	}
	if ask(3*sec, cost(1, 0), &Waiter{ID: 3, Since: t0 - 1}); s.Claim.ID != 3 {
		t.Fatalf("an older waiter did not take the claim: %+v", s.Claim)
	}
	if d := ask(3*sec, cost(1, 0), &Waiter{ID: 3, Since: t0 - 1}); !d.OK || s.Claim.ID != 0 {
		t.Fatalf("the older claimant: %+v, claim %+v; want admitted (1 of 3 in), claim cleared", d, s.Claim)
	}
	// At 6 s w1 is admitted (it claims again on the way), and the claim
	// is gone.
	ask(5*sec, cost(5, 0), w1)
	if d := ask(6*sec, cost(5, 0), w1); !d.OK || s.Claim.ID != 0 {
		t.Fatalf("w1 at 6s: %+v, claim %+v; want admitted, claim cleared", d, s.Claim)
	}
	// A claim lapses ClaimTTL after the last ask.
	ask(6*sec, cost(5, 0), &Waiter{ID: 4})
	if d := ask(6*sec+ClaimTTL-1, cost(1, 0), none); d.OK {
		t.Fatalf("admitted beside a claim in force: %+v", d)
	}
	if d := ask(6*sec+ClaimTTL, cost(1, 0), none); !d.OK {
		t.Fatalf("refused after the claim lapsed: %+v", d)
	}
	// Release drops a claim only for its holder.
	ask(7*sec+ClaimTTL, cost(10, 0), &Waiter{ID: 5})
	Release(&s, t0+7*sec+ClaimTTL, &lim2, 6)
	if s.Claim.ID != 5 {
		t.Fatalf("another waiter's release dropped the claim: %+v", s.Claim)
	}
	Release(&s, t0+7*sec+ClaimTTL, &lim2, 5)
	if s.Claim.ID != 0 {
		t.Fatalf("the holder's release left the claim: %+v", s.Claim)
	}
}
