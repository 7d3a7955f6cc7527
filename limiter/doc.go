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
// The Store interface is open: its arithmetic is public, as the methods of
// [State] (Reserve, Settle, Lower, Snapshot), so a store written outside
// this module (a database row under a transaction, a compare-and-swap in a
// key-value store) loads a key's State, applies the method its own method
// is named after, and saves it back, and passes limiter/storetest as the
// memory store does. A closed interface would have kept the arithmetic
// free to change, but the State a store must keep was already part of the
// interface (ReserveResult.Prev), and the conformance suite already fixes
// every decision to the microsecond: the arithmetic was the contract
// either way, and keeping it internal only kept others from meeting it.
//
// A store whose budgets live in this process also implements
// [LocalStore], as the MemoryStore does. A Limiter finds it by that
// interface (no store is special to it) and works on the key's
// [LocalBudget] directly: a refund through any Limiter of the budget wakes
// the heads of all their lines, and a head polls only while other
// Limiters share the budget. Every other store is taken to be shared with
// other processes: its Limiters poll while they wait, and count only their
// own reservations. The direct path is also the fast one: through the
// Store methods, an admission was measured at 20–50% more (a key lookup,
// copies of the request and the result, and three atomic adds per
// reservation and per settlement, which the LocalBudget does under the
// mutex it holds anyway).
//
// # Time
//
// The arithmetic never reads the clock: stores supply the time (time.Now in
// memory, TIME in Redis) at microsecond resolution, and the Limiter only
// measures how long to wait. Under testing/synctest everything runs on the
// bubble's fake clock.
package limiter
