package aimd

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestAIMD(t *testing.T) {
	g := New(1, 8)
	ctx := context.Background()
	var ts []Ticket
	for range 8 {
		tk, err := g.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tk)
	}
	// Eight calls of one generation see overload: one halving, not eight.
	for _, tk := range ts {
		g.Release(tk, Overload)
	}
	if got := g.Limit(); got != 4 {
		t.Fatalf("limit after one overloaded generation = %d; want 4", got)
	}
	// A new generation's overload halves again, down to min.
	for _, want := range []int{2, 1, 1} {
		tk, _ := g.Acquire(ctx)
		g.Release(tk, Overload)
		if got := g.Limit(); got != want {
			t.Fatalf("limit = %d; want %d", got, want)
		}
	}
	// Successes grow it by about one per limit's worth.
	for range 7 { // 1 → 2 → 2.5 → 2.9 → 3.24 → 3.55 → 3.83 → 4.09
		tk, _ := g.Acquire(ctx)
		g.Release(tk, Success)
	}
	if got := g.Limit(); got != 4 {
		t.Fatalf("limit after 7 successes from 1 = %d; want 4", got)
	}
	for range 1000 {
		tk, _ := g.Acquire(ctx)
		g.Release(tk, Success)
	}
	if got := g.Limit(); got != 8 {
		t.Fatalf("limit grew past max: %d", got)
	}
}

func TestAcquireWaitsFIFOAndCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New(1, 2)
		ctx := context.Background()
		a, _ := g.Acquire(ctx)
		b, _ := g.Acquire(ctx)
		order := make(chan int, 3)
		for i := range 3 {
			go func() {
				tk, err := g.Acquire(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				order <- i
				time.Sleep(time.Second)
				g.Release(tk, Neutral)
			}()
			synctest.Wait()
		}
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		if _, err := g.Acquire(cctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Acquire beyond the limit = %v; want DeadlineExceeded", err)
		}
		// Each freed slot goes to the longest waiter.
		g.Release(a, Neutral)
		synctest.Wait()
		if got := <-order; got != 0 {
			t.Fatalf("waiter %d went first", got)
		}
		g.Release(b, Neutral)
		synctest.Wait()
		if got := <-order; got != 1 {
			t.Fatalf("waiter %d went second", got)
		}
		if got := <-order; got != 2 { // when waiter 0 is done
			t.Fatalf("waiter %d went third", got)
		}
		synctest.Wait()
		time.Sleep(2 * time.Second)
		if n := g.InFlight(); n != 0 {
			t.Fatalf("%d in flight at the end", n)
		}
	})
}
