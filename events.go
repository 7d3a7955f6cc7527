package ratekeeper

import (
	"context"
	"log/slog"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// EventKind says what happened to a call.
type EventKind uint8

const (
	// Admitted: the call was admitted and is being sent. Wait is how long
	// it waited for the budget (and the concurrency bound).
	Admitted EventKind = iota + 1
	// Refused: the limiter refused the call (too large, or the wait would
	// outlive the deadline or the max wait); Err says why.
	Refused
	// Retried: the server refused an attempt (Status) and the call will be
	// retried; Wait is the backoff before it goes back to admission.
	Retried
	// Failed: the call ends with a refusal that is not retried (Err, or the
	// last attempt's Status).
	Failed
	// Synced: response headers changed the local budget: a level lowered
	// to the server's remaining (Dimension), or a limit learned (Limit).
	Synced
	// Settled: the call's reservation was settled at its actual usage
	// (Cost).
	Settled
	// Bounded: the server reported something that cannot be true (usage
	// above what the request could cost, a limit below the call it
	// admitted); it was bounded (Cost is what was charged) or ignored. Err
	// matches ErrImplausible and says what. Logged at Warn: a proxy or a
	// server that sends garbage is worth knowing about.
	Bounded
	// Counted: the estimate was unsure, and the server counted the
	// request's input exactly (POST /v1/messages/count_tokens): Cost's
	// InputTokens is its count, which the call reserves (see
	// WithCountTokens). Attempt is 0: it is no attempt of the call.
	Counted
	// Mapped: the presets do not list the call's model; it is budgeted as
	// its family's class (Pool; see tier.Preset.ByFamily), and the response
	// headers correct the limits if the new model's differ. Reported once
	// per model, at Warn.
	Mapped
	// Mismatched: the limits of the pool's first successful response
	// differ from the configured ones; Err (matching ErrTierMismatch)
	// names them and the presets the server's limits match, if any — the
	// tier (or the naming scheme, "build" vs "tier-2") the account is
	// really on. Reported once per pool, at Warn; the budget follows the
	// server anyway (unless WithStrictBudgets).
	Mismatched
)

var eventNames = [...]string{"", "admitted", "refused", "retried", "failed", "synced", "settled", "bounded", "counted", "mapped", "mismatched"}

// String returns the kind's name, as the logs show it (e.g. "retried").
func (k EventKind) String() string {
	if int(k) < len(eventNames) && k > 0 {
		return eventNames[k]
	}
	return "unknown"
}

// Event is what the Keeper reports to WithObserver and WithLogger.
type Event struct {
	Kind EventKind
	// CallID identifies the call, unique within the Keeper: the events of
	// one call (its attempts, its settlement) share it.
	CallID uint64
	// Provider is the API the call is for; Model the request's model;
	// Pool its rate-limit pool.
	Provider    tier.Provider
	Model, Pool string
	// Attempt is the number of the attempt the event is about, from 1;
	// every attempt sent (connection failures included) has its own.
	Attempt int
	// Wait is the time spent waiting (Admitted) or the backoff ahead
	// (Retried).
	Wait time.Duration
	// Dimension is the bucket concerned (Refused, Retried on a 429,
	// Synced); HasDimension says whether there is one.
	Dimension    tier.Dimension
	HasDimension bool
	// Status is the HTTP status of the attempt (Retried, Failed).
	Status int
	// Cost is the reservation (Admitted) or the actual usage (Settled).
	Cost limiter.Cost
	// Reserved is, on Settled, what the attempt had reserved: with Cost,
	// the estimate's error.
	Reserved limiter.Cost
	// Limit is a limit learned from the headers (Synced), else 0.
	Limit int64
	// Burst is a budget Burst learned from the headers (Synced): the
	// server enforces its per-minute limits over this interval. Else 0.
	Burst time.Duration
	// Err is the error (Refused, Failed).
	Err error
}

// emit counts e in c's pool (Keeper.Metrics) and reports it.
func (c *call) emit(ctx context.Context, e Event) {
	c.p.record(&e)
	c.k.emit(ctx, e)
}

// emit reports e to the observer and the logger.
func (k *Keeper) emit(ctx context.Context, e Event) {
	if k.observe != nil {
		k.observe(e)
	}
	if k.logger == nil {
		return
	}
	level := slog.LevelDebug
	switch e.Kind {
	case Retried, Synced:
		level = slog.LevelInfo
	case Refused, Failed, Bounded, Mapped, Mismatched:
		level = slog.LevelWarn
	}
	if !k.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.String("model", e.Model), slog.String("pool", e.Pool), slog.Int("attempt", e.Attempt)}
	if e.Wait > 0 {
		attrs = append(attrs, slog.Duration("wait", e.Wait))
	}
	if e.HasDimension {
		attrs = append(attrs, slog.String("dimension", e.Dimension.String()))
	}
	if e.Status != 0 {
		attrs = append(attrs, slog.Int("status", e.Status))
	}
	if e.Burst != 0 {
		attrs = append(attrs, slog.Duration("burst", e.Burst))
	}
	if e.Limit != 0 {
		attrs = append(attrs, slog.Int64("limit", e.Limit))
	}
	if e.Cost != (limiter.Cost{}) {
		attrs = append(attrs, slog.Int64("input_tokens", e.Cost.InputTokens), slog.Int64("output_tokens", e.Cost.OutputTokens))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	k.logger.LogAttrs(ctx, level, "ratekeeper: "+e.Kind.String(), attrs...)
}

// debug logs a line at Debug about call c, for what is not worth an Event
// (a header ignored as malformed or stale).
func (k *Keeper) debug(ctx context.Context, msg string, c *call, attempt int, attrs ...slog.Attr) {
	if k.logger == nil || !k.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs = append([]slog.Attr{slog.String("model", c.est.Model), slog.String("pool", c.p.name), slog.Int("attempt", attempt)}, attrs...)
	k.logger.LogAttrs(ctx, slog.LevelDebug, msg, attrs...)
}
