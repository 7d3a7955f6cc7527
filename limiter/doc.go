// Package limiter keeps calls to an LLM API inside a budget of several rate
// limits at once — requests, input tokens and output tokens per minute, and
// tokens or requests per day where the budget has them — before the server
// has to refuse them.
//
// A [Limiter] holds one budget (a tier.Budget: one model class of one
// account) as a set of continuously refilled token buckets, one per limited
// dimension. A call's [Cost] is debited from every bucket at once or from
// none. Most callers use [Limiter.Wait], then settle the [Reservation]:
// [Reservation.Commit] with the usage the server reported (refunding unused
// output reservation, or debiting an underestimate), or
// [Reservation.Cancel] when the call never reached the server.
//
// # Semantics
//
//   - All or nothing: a cost that does not fit every bucket debits none.
//   - First come, first served: a call that must wait takes its place in
//     line at once and keeps it. While it waits, it also holds what its
//     other buckets regain, so that when it acts every bucket still has its
//     cost and nobody who came later overtakes it. Within a [Priority],
//     calls act in the order they asked; a large call is never starved.
//   - Impossible calls fail fast: a cost larger than a bucket's capacity
//     returns a *[LimitError] matching [ErrTooLarge], naming the dimension,
//     the need and the capacity, at once.
//   - Context first: Wait fails at once when the wait would outlive the
//     context's deadline, and refunds the reservation when the context ends
//     while waiting.
//   - Exactly once: a Reservation is settled by its first Commit or Cancel;
//     later calls do nothing (Cancel) or return [ErrSettled] (Commit).
//   - The server is the truth: [Limiter.Clamp] lowers a bucket to what the
//     server reports remaining, or freezes it until a retry-after
//     ([Limiter.ClampAll] does several dimensions in one store call), and
//     [Limiter.SetBudget] installs limits learned from headers; reservations
//     in flight are kept.
//
// # Stores
//
// Bucket state lives in a [Store]. The default is a private [MemoryStore];
// the redisstore subpackage shares one budget between processes. Every
// store passes the conformance suite in limiter/storetest.
//
// # Time
//
// The arithmetic never reads the clock: stores supply the time (time.Now in
// memory, TIME in Redis) at microsecond resolution, and the Limiter only
// measures how long to wait. Under testing/synctest everything runs on the
// bubble's fake clock.
package limiter
