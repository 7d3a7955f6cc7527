// Package aimd bounds the number of calls in flight with a limit that
// shrinks multiplicatively when the server is overloaded and grows back
// additively while calls succeed (AIMD, as TCP congestion control does).
package aimd

import (
	"context"
	"sync"
)

// Outcome is how a call ended, as far as the server's capacity goes.
type Outcome uint8

const (
	Neutral  Outcome = iota // says nothing about capacity (a 4xx, a cancelled call)
	Success                 // the server served the call
	Overload                // the server was overloaded (529, 503, a stream's overloaded_error)
)

// Gate is a concurrency limit with AIMD adjustment. The zero Gate is not
// usable; call New. A Gate is safe for concurrent use by multiple goroutines.
type Gate struct {
	min, max float64

	mu       sync.Mutex // guards the fields below
	limit    float64
	inflight int
	gen      uint64 // incremented by every decrease
	waiters  []chan struct{}
}

// Ticket is a permit to send one call. Pass it back to Release.
type Ticket struct{ gen uint64 }

// New returns a Gate that starts at max and never goes below min (≥ 1).
func New(min, max int) *Gate {
	min = maxInt(min, 1)
	max = maxInt(max, min)
	return &Gate{min: float64(min), max: float64(max), limit: float64(max)}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Acquire waits, first come first served, until fewer calls than the limit
// are in flight, or ctx ends.
func (g *Gate) Acquire(ctx context.Context) (Ticket, error) {
	g.mu.Lock()
	if len(g.waiters) == 0 && float64(g.inflight) < g.limit-1e-9 || g.inflight == 0 {
		g.inflight++
		t := Ticket{g.gen}
		g.mu.Unlock()
		return t, nil
	}
	ch := make(chan struct{})
	g.waiters = append(g.waiters, ch)
	g.mu.Unlock()
	select {
	case <-ch: // inflight was incremented for us
		g.mu.Lock()
		t := Ticket{g.gen}
		g.mu.Unlock()
		return t, nil
	case <-ctx.Done():
		g.mu.Lock()
		for i, w := range g.waiters {
			if w == ch {
				g.waiters = append(g.waiters[:i], g.waiters[i+1:]...)
				g.mu.Unlock()
				return Ticket{}, ctx.Err()
			}
		}
		// Granted while we gave up: hand the slot back.
		g.inflight--
		g.wake()
		g.mu.Unlock()
		return Ticket{}, ctx.Err()
	}
}

// Release ends a call. An Overload shrinks the limit by half, at most once
// per generation of calls (calls admitted before the last decrease do not
// shrink it again); a Success grows it by 1/limit, about one per limit's
// worth of successes.
func (g *Gate) Release(t Ticket, o Outcome) {
	g.mu.Lock()
	g.inflight--
	switch o {
	case Success:
		g.limit = min(g.max, g.limit+1/g.limit)
	case Overload:
		if t.gen == g.gen {
			g.limit = max(g.min, g.limit/2)
			g.gen++
		}
	}
	g.wake()
	g.mu.Unlock()
}

// wake admits waiters while there is room; g.mu is held.
func (g *Gate) wake() {
	for len(g.waiters) > 0 && (float64(g.inflight) < g.limit-1e-9 || g.inflight == 0) {
		close(g.waiters[0])
		g.waiters = g.waiters[1:]
		g.inflight++
	}
}

// Limit returns the current limit, rounded down.
func (g *Gate) Limit() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return int(g.limit + 1e-9)
}

// InFlight returns the number of calls holding a ticket.
func (g *Gate) InFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inflight
}
