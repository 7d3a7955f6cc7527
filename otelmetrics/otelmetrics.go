// Package otelmetrics records a ratekeeper.Keeper's metrics through an
// OpenTelemetry Meter.
//
//	rec, _ := otelmetrics.New(otel.Meter("ratekeeper"))
//	keeper, _ := ratekeeper.New(ratekeeper.WithTier(tier.Anthropic, "build"),
//		ratekeeper.WithObserver(rec.Observe))
//	reg, _ := rec.Watch(keeper)
//	defer reg.Unregister()
//
// Histograms (wait time, input reserved ÷ counted) are recorded from the
// Keeper's events as they happen (Observe); gauges and counters are
// observed from Keeper.Metrics when the SDK collects (Watch). The names
// and attributes are those of the prommetrics package, dotted:
// ratekeeper.budget.level, ratekeeper.admitted, … with provider, pool,
// dimension and reason attributes — never a model ID or an API key.
package otelmetrics

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/tier"
)

// Recorder records one or more Keepers' metrics through one Meter.
type Recorder struct {
	meter metric.Meter
	wait  metric.Float64Histogram
	ratio metric.Float64Histogram

	level, capacity, limit, waiting, concurrency, inFlight, degraded metric.Float64ObservableGauge
	admitted, admittedUnits, usedUnits, refused, rateLimited         metric.Int64ObservableCounter
	overloaded, retries, failed, counted                             metric.Int64ObservableCounter
}

// New creates the instruments on meter.
func New(meter metric.Meter) (*Recorder, error) {
	r := &Recorder{meter: meter}
	var err error
	fail := func(e error) {
		if err == nil && e != nil {
			err = e
		}
	}
	r.wait, err = meter.Float64Histogram("ratekeeper.wait", metric.WithUnit("s"),
		metric.WithDescription("Time calls waited for admission."),
		metric.WithExplicitBucketBoundaries(ratekeeper.WaitBounds()...))
	fail(err)
	var e error
	r.ratio, e = meter.Float64Histogram("ratekeeper.input.reserved_ratio",
		metric.WithDescription("Input tokens reserved ÷ input tokens the server counted, per settled call."),
		metric.WithExplicitBucketBoundaries(ratekeeper.RatioBounds()...))
	fail(e)
	g := func(name, unit, desc string) metric.Float64ObservableGauge {
		i, e := meter.Float64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		fail(e)
		return i
	}
	c := func(name, unit, desc string) metric.Int64ObservableCounter {
		i, e := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		fail(e)
		return i
	}
	r.level = g("ratekeeper.budget.level", "{unit}", "Units a call could take now from the bucket (negative: debt).")
	r.capacity = g("ratekeeper.budget.capacity", "{unit}", "Units the bucket holds when full.")
	r.limit = g("ratekeeper.budget.limit", "{unit}", "The bucket's limit per minute (per day for RPD and TPD).")
	r.waiting = g("ratekeeper.waiting", "{call}", "Calls waiting in the pool's line for admission.")
	r.concurrency = g("ratekeeper.concurrency.limit", "{call}", "The adaptive bound on calls in flight.")
	r.inFlight = g("ratekeeper.in_flight", "{call}", "Calls holding a concurrency slot.")
	r.degraded = g("ratekeeper.store.degraded", "1", "1 while the shared store answers from its local fallback.")
	r.admitted = c("ratekeeper.admitted", "{attempt}", "Attempts admitted by the budget and sent.")
	r.admittedUnits = c("ratekeeper.admitted.units", "{unit}", "Units reserved by the attempts admitted.")
	r.usedUnits = c("ratekeeper.used.units", "{unit}", "Units the server reported used by the calls settled.")
	r.refused = c("ratekeeper.refused", "{call}", "Calls the budget refused before sending, by reason.")
	r.rateLimited = c("ratekeeper.rate_limited", "{response}", "429 responses, by the dimension refused.")
	r.overloaded = c("ratekeeper.overloaded", "{response}", "529 and 503 responses and overloaded_error streams.")
	r.retries = c("ratekeeper.retries", "{attempt}", "Attempts retried, whatever the cause.")
	r.failed = c("ratekeeper.failed", "{call}", "Calls that ended with an error or a refusal not retried.")
	r.counted = c("ratekeeper.counted", "{request}", "Requests counted exactly by count_tokens before admission.")
	if err != nil {
		return nil, fmt.Errorf("otelmetrics: %w", err)
	}
	return r, nil
}

// Observe records the histograms from one event; pass it to
// ratekeeper.WithObserver.
func (r *Recorder) Observe(e ratekeeper.Event) {
	attrs := metric.WithAttributes(attribute.String("provider", string(e.Provider)), attribute.String("pool", e.Pool))
	switch e.Kind {
	case ratekeeper.Admitted:
		r.wait.Record(context.Background(), e.Wait.Seconds(), attrs)
	case ratekeeper.Settled:
		if e.Cost.InputTokens > 0 && e.Reserved.InputTokens > 0 {
			r.ratio.Record(context.Background(), float64(e.Reserved.InputTokens)/float64(e.Cost.InputTokens), attrs)
		}
	}
}

// Watch observes k's gauges and counters at every collection; Unregister
// the registration to stop.
func (r *Recorder) Watch(k *ratekeeper.Keeper) (metric.Registration, error) {
	return r.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		m := k.Metrics(ctx)
		o.ObserveFloat64(r.concurrency, float64(m.Concurrency))
		o.ObserveFloat64(r.inFlight, float64(m.InFlight))
		degraded := 0.0
		if m.StoreDegraded {
			degraded = 1
		}
		o.ObserveFloat64(r.degraded, degraded)
		for _, p := range m.Pools {
			pool := []attribute.KeyValue{attribute.String("provider", string(p.Provider)), attribute.String("pool", p.Pool)}
			at := metric.WithAttributes(pool...)
			o.ObserveFloat64(r.waiting, float64(p.Remaining.Waiting), at)
			o.ObserveInt64(r.admitted, int64(p.Admitted), at)
			o.ObserveInt64(r.overloaded, int64(p.Overloaded), at)
			o.ObserveInt64(r.retries, int64(p.Retries), at)
			o.ObserveInt64(r.failed, int64(p.Failed), at)
			o.ObserveInt64(r.counted, int64(p.Counted), at)
			for _, reason := range []string{ratekeeper.ReasonTooLarge, ratekeeper.ReasonDeadline, ratekeeper.ReasonOther} {
				o.ObserveInt64(r.refused, int64(p.Refused[reason]), metric.WithAttributes(append(pool, attribute.String("reason", reason))...))
			}
			for d := range tier.NumDimensions {
				b := p.Remaining.Buckets[d]
				if b.Capacity == 0 {
					continue
				}
				da := metric.WithAttributes(append(pool, attribute.String("dimension", d.String()))...)
				o.ObserveFloat64(r.level, b.Level, da)
				o.ObserveFloat64(r.capacity, b.Capacity, da)
				o.ObserveFloat64(r.limit, float64(b.Limit), da)
				o.ObserveInt64(r.admittedUnits, p.AdmittedCost[d], da)
				o.ObserveInt64(r.usedUnits, p.SettledCost[d], da)
				o.ObserveInt64(r.rateLimited, int64(p.RateLimited[d]), da)
			}
		}
		return nil
	}, r.level, r.capacity, r.limit, r.waiting, r.concurrency, r.inFlight, r.degraded,
		r.admitted, r.admittedUnits, r.usedUnits, r.refused, r.rateLimited, r.overloaded, r.retries, r.failed, r.counted)
}
