// Package redisstore shares ratekeeper budgets between processes through
// Redis: a limiter.Store whose every decision is one atomic Lua script on
// the Redis server, timed by the server's clock.
//
// # Sharing a budget across replicas
//
// Every replica that uses an API key builds the same key for each of its
// budgets and gives it to its Limiter with the same Store settings:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
//	store, err := redisstore.New(rdb, redisstore.WithFallbackShare(1.0/replicas))
//	...
//	key := redisstore.Key("ratekeeper", apiKey, "claude-sonnet")
//	lim, err := limiter.New(budget, limiter.WithStore(store, key))
//
// Most callers need nothing more: the Limiter's Wait, Commit and Cancel
// work as with the memory store, and their combined admissions stay within
// the one budget. Any go-redis v9 client works (*redis.Client,
// *redis.ClusterClient, *redis.Ring); TLS, authentication and pool sizes
// are the client's options.
//
// What is guaranteed:
//
//   - One round trip per decision. Reserve, Commit, Cancel, Clamp,
//     ClampAll (however many dimensions it lowers) and Remaining each run
//     one EVALSHA of the embedded script (EVAL when the server does not
//     know it yet). Admission is all-or-nothing across the
//     budget's dimensions, and first-in-first-out: a caller that must wait
//     is told how long and holds its place meanwhile; nobody polls.
//   - The arithmetic is limiter.State's (internal/bucket), operation for
//     operation in float64, so a Redis store and a memory store given the
//     same calls at the same instants take the same decisions (a test
//     checks it).
//   - Time is Redis TIME: processes whose clocks disagree still agree on
//     the budget. (Delays are durations from the decision; waiting them out
//     uses the local clock, which only needs to run at the right rate.)
//   - A budget is one hash, "last", "seq", "l0".."l5" and "exp", and, once
//     a call has waited, "end" and "p0".."p5" (the line that bounds refunds;
//     missing means an empty line), under its key. Key hashes the API key (SHA-256) and puts a hash tag around the
//     budget's identity, so the key is Redis Cluster safe and reveals no
//     secret. The hash expires once its buckets would be full again plus a
//     margin (10 s or more); a missing key is a fresh, full budget.
//   - Limits travel with every call, so a replica that learns the real
//     limits from response headers (Limiter.SetBudget) applies them to the
//     shared state at once, and Clamp (the server's remaining count, a
//     429's retry-after) lowers the shared buckets for every replica.
//
// # When Redis fails
//
// A call to Redis that fails or outlasts the per-call timeout (WithTimeout,
// 100 ms by default) degrades the Store: it answers from a local
// limiter.MemoryStore holding WithFallbackShare of every capacity and refill
// (a quarter by default; set 1/replicas so that the replicas together stay
// within the budget), reports it through Degraded, WithOnStateChange and,
// if given, WithLogger, and tries Redis again on the first call after a
// back-off (100 ms doubling up to 5 s: WithProbeBackoff). The first call
// that succeeds returns it to shared mode. No goroutine is started; there
// is nothing to Close. Nothing panics and nothing is admitted without a
// budget: at worst, on each switch, a replica may spend its fallback share
// on top of what the shared budget already allowed (the fallback starts
// full), and the shared budget starts over if Redis lost its data.
//
// # When a budget's key vanishes
//
// Redis can lose a budget's hash: FLUSHALL or FLUSHDB; eviction under
// maxmemory (an allkeys policy, and a volatile one too, since the hash has
// a TTL); a restart of a server without persistence; a failover to a
// replica that had not yet received the master's last writes (replication
// is asynchronous). The next call finds no key and starts a fresh, full
// budget, so the overshoot is bounded: each loss admits at most one
// capacity of each bucket beyond the budget, what a cold start admits, and
// no more. The Keeper ends it with the first responses: their rate-limit
// headers carry the server's remaining counts, which did not forget, and
// clamp the fresh budget down to them. (A test drains a budget, makes its
// key vanish each of the first three ways, and counts: exactly one capacity
// more at the same instant, and nothing more after a clamp to the server's
// count.)
//
// # Redis Cluster
//
// A budget is one key whose hash tag puts it in one slot, so each call runs
// on the master that owns the slot and budgets spread over the masters.
// Tests run the conformance suite, the differential test and the
// multi-process test through a *redis.ClusterClient on a real cluster
// (three masters, three replicas) with budgets on several masters, and kill
// a master in the middle of a run: its replica takes over, every replica
// stays within its fallback share meanwhile and returns to shared mode, and
// no window admits more than the budget plus the fallback shares in use.
//
// While a master is down, and until its replica takes over (the cluster's
// cluster-node-timeout plus an election of about a second), calls on its
// budgets fail and the Store degrades, as for any Redis failure. Three
// things to know:
//
//   - go-redis's ClusterClient sends a slot's commands to the master it
//     last learned until it reloads the cluster's layout: on a MOVED reply,
//     or every ClusterStateReloadInterval (a minute by default since go-redis
//     v9.22). A dead master sends no MOVED, so a Store can stay degraded for
//     up to that minute after the replica took over. Set
//     ClusterStateReloadInterval to a second or so (below).
//   - With cluster-require-full-coverage yes (Redis's default), every node
//     refuses commands (CLUSTERDOWN) from the moment the master is marked
//     failed until its replica takes over, so budgets on the other masters
//     fail for that second too.
//   - A Store has one mode for all its budgets: a failure on one budget
//     degrades it for every budget, and the next probe that succeeds,
//     whichever budget it is for, returns it to shared mode, until a call to
//     the dead master degrades it again. Each budget's fallback keeps its
//     state across these switches, so switching often adds nothing beyond
//     the fallback share.
//
// A cluster client for a Store:
//
//	rdb := redis.NewClusterClient(&redis.ClusterOptions{
//		Addrs:                      addrs,
//		ContextTimeoutEnabled:      true,
//		ClusterStateReloadInterval: time.Second,
//	})
//
// A request larger than a fallback share's capacity is refused as too large
// while degraded. Snapshot and Limiter.Remaining report the fallback's
// levels while degraded.
//
// A reservation settles where it was made: a Cancel of a reservation made
// while degraded (its sequence number is negative) goes to the fallback
// even after Redis is back, and a Cancel of a Redis reservation while Redis
// is unreachable is dropped, which errs on the safe side (its units come
// back as the bucket refills). A Commit goes to the mode in force, since it
// carries no mark of its origin: across a switch, its refund (or extra
// debit) lands on the other side, bounded by the reservations in flight at
// the switch.
//
// WithFailClosed turns all this off: every Redis failure is returned to the
// caller as an *Error matching ErrUnavailable, and nothing is admitted until
// Redis answers.
//
// go-redis applies a context deadline to its socket reads and writes only
// when the client's options say ContextTimeoutEnabled: true; set it, or a
// hung server holds each call for the client's ReadTimeout (3 s by default)
// rather than WithTimeout. go-redis may also send a command again after a
// broken connection (MaxRetries); a Reserve run twice debits twice, which is
// safe, and a refund run twice refunds twice; set MaxRetries: -1 to rule
// that out.
//
// # Leasing
//
// Every decision costs a round trip today. The Store interface leaves room
// for Doorman-style leases: a later store can take a slice of a budget from
// Redis in one call and admit from it locally, behind the same four
// methods, without any change to Limiter or its callers.
package redisstore
