package ratekeeper

import (
	"context"

	"github.com/ratekeeper/ratekeeper/limiter"
)

type priorityKey struct{}

// WithPriority returns a context whose calls the Keeper admits at priority
// p. limiter.Background calls wait while any bucket they touch would drop
// below the budget's Headroom (tier.Override.Headroom), which keeps that
// share for interactive calls, and they queue behind them; the default is
// limiter.Interactive. Pass it to the SDK call's context:
//
//	ctx := ratekeeper.WithPriority(ctx, limiter.Background)
//	msg, err := client.Messages.New(ctx, params)
func WithPriority(ctx context.Context, p limiter.Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityFrom returns the priority WithPriority put in ctx, or
// limiter.Interactive.
func PriorityFrom(ctx context.Context) limiter.Priority {
	if p, ok := ctx.Value(priorityKey{}).(limiter.Priority); ok && p <= limiter.Background {
		return p
	}
	return limiter.Interactive
}
