package bucket

// A Waiter is a call that waits for admission, asking again and again:
// the head of one process's line. ID is unique among the budget's
// waiters (not 0, below 2^53); Since is when it was first refused, in µs
// of the budget's clock (0 on the first ask: now).
//
// A refused waiter claims its cost when no claim is in force, or when it
// is older (smaller Since, then smaller ID) than the claimant. While a
// claim is in force, every other call is admitted only if it fits beside
// the claimed units; the claimant itself is admitted as soon as its cost
// fits, which clears the claim. A claim lapses ClaimTTL after the
// claimant last asked. So waiters of several processes are served oldest
// first, and none is overtaken forever by smaller calls of others.
type Waiter struct {
	ID, Since int64
}

// Claim is the units set aside for a waiter: in force while Until > now.
type Claim struct {
	ID, Since, Until int64 // ID 0: no claim
	Cost             Cost
}

// ClaimTTL is how long a claim outlives its claimant's last ask, in µs:
// twenty times a poll of 50 ms, and short enough that a claimant that
// died holds nothing for long.
const ClaimTTL = 1_000_000

// Release advances s to now and drops the claim of waiter id, if it holds
// one: a waiter that gives up. It is not a mutation of the levels (Seq
// stays).
func Release(s *State, now int64, lim *Limits, id int64) {
	s.Advance(now, lim)
	if id != 0 && s.Claim.ID == id {
		s.Claim = Claim{}
	}
}

// older reports whether w was refused before the claimant of c.
func (w *Waiter) older(c *Claim) bool {
	return w.Since < c.Since || w.Since == c.Since && w.ID < c.ID
}
