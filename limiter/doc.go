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
//   - The line moves: the levels mirror the server's buckets, and nothing
//     is debited while a call waits in [Limiter.Wait], so whatever a
//     settlement gives back is usable at once, capped at capacity as the
//     server caps it. Within a [Priority], calls are admitted in the order
//     they asked, each as soon as its whole cost fits; a large call is
//     never starved, across processes too (the oldest waiter's cost is set
//     aside in the store). [Limiter.Reserve] instead takes a fixed place,
//     as x/time/rate does.
//   - Impossible calls fail fast: a cost larger than a bucket's capacity
//     returns a *[LimitError] matching [ErrTooLarge], naming the dimension,
//     the need and the capacity, at once.
//   - Context first: Wait fails at once when even the best case (every
//     unsettled reservation refunded) would outlive the context's deadline;
//     a call whose context ends while it waits has debited nothing.
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
