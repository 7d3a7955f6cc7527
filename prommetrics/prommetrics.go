// Package prommetrics exposes a ratekeeper.Keeper's metrics to Prometheus.
//
//	keeper, _ := ratekeeper.New(ratekeeper.WithTier(tier.Anthropic, "build"))
//	prometheus.MustRegister(prommetrics.New(keeper))
//	http.Handle("/metrics", promhttp.Handler())
//
// The collector reads Keeper.Metrics at each scrape: nothing is recorded
// twice, and the Keeper itself does not depend on Prometheus. Labels are
// provider, pool (the configuration's rate-limit pools, a bounded set),
// dimension and reason; never a model ID, request content or an API key.
package prommetrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/tier"
)

// ScrapeTimeout bounds the store reads of one scrape (one Snapshot per
// pool; a Redis round trip each with the Redis store).
const ScrapeTimeout = 2 * time.Second

// Collector is a prometheus.Collector of one Keeper.
type Collector struct {
	k *ratekeeper.Keeper

	level, capacity, limit, waiting    *prometheus.Desc
	admitted, admittedUnits, usedUnits *prometheus.Desc
	refused, rateLimited, overloaded   *prometheus.Desc
	retries, failed, counted           *prometheus.Desc
	wait, ratio                        *prometheus.Desc
	concurrency, inFlight, degraded    *prometheus.Desc
}

// New returns a Collector of k's metrics; register it with a
// prometheus.Registerer.
func New(k *ratekeeper.Keeper) *Collector {
	pool := []string{"provider", "pool"}
	dim := []string{"provider", "pool", "dimension"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc("ratekeeper_"+name, help, labels, nil)
	}
	return &Collector{
		k:             k,
		level:         d("budget_level", "Units a call could take now from the bucket (negative: debt).", dim),
		capacity:      d("budget_capacity", "Units the bucket holds when full.", dim),
		limit:         d("budget_limit", "The bucket's limit per minute (per day for RPD and TPD).", dim),
		waiting:       d("waiting_calls", "Calls waiting in the pool's line for admission.", pool),
		admitted:      d("admitted_total", "Attempts admitted by the budget and sent.", pool),
		admittedUnits: d("admitted_units_total", "Units reserved by the attempts admitted.", dim),
		usedUnits:     d("used_units_total", "Units the server reported used by the calls settled.", dim),
		refused:       d("refused_total", "Calls the budget refused before sending, by reason (too_large, deadline, other).", []string{"provider", "pool", "reason"}),
		rateLimited:   d("rate_limited_total", "429 responses, by the dimension refused.", dim),
		overloaded:    d("overloaded_total", "529 and 503 responses and overloaded_error streams.", pool),
		retries:       d("retries_total", "Attempts retried, whatever the cause.", pool),
		failed:        d("failed_total", "Calls that ended with an error or a refusal not retried.", pool),
		counted:       d("counted_total", "Requests counted exactly by count_tokens before admission.", pool),
		wait:          d("wait_seconds", "Time calls waited for admission.", pool),
		ratio:         d("input_reserved_ratio", "Input tokens reserved ÷ input tokens the server counted, per settled call.", pool),
		concurrency:   d("concurrency_limit", "The adaptive bound on calls in flight.", nil),
		inFlight:      d("in_flight_calls", "Calls holding a concurrency slot.", nil),
		degraded:      d("store_degraded", "1 while the shared store answers from its local fallback.", nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.level, c.capacity, c.limit, c.waiting, c.admitted, c.admittedUnits,
		c.usedUnits, c.refused, c.rateLimited, c.overloaded, c.retries, c.failed, c.counted, c.wait, c.ratio,
		c.concurrency, c.inFlight, c.degraded} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	m := c.k.Metrics(ctx)
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, l...)
	}
	gauge(c.concurrency, float64(m.Concurrency))
	gauge(c.inFlight, float64(m.InFlight))
	degraded := 0.0
	if m.StoreDegraded {
		degraded = 1
	}
	gauge(c.degraded, degraded)
	for _, p := range m.Pools {
		prov := string(p.Provider)
		gauge(c.waiting, float64(p.Remaining.Waiting), prov, p.Pool)
		counter(c.admitted, float64(p.Admitted), prov, p.Pool)
		counter(c.overloaded, float64(p.Overloaded), prov, p.Pool)
		counter(c.retries, float64(p.Retries), prov, p.Pool)
		counter(c.failed, float64(p.Failed), prov, p.Pool)
		counter(c.counted, float64(p.Counted), prov, p.Pool)
		for _, r := range []string{ratekeeper.ReasonTooLarge, ratekeeper.ReasonDeadline, ratekeeper.ReasonOther} {
			counter(c.refused, float64(p.Refused[r]), prov, p.Pool, r)
		}
		for d := range tier.NumDimensions {
			b := p.Remaining.Buckets[d]
			if b.Capacity == 0 {
				continue // not limited: no series
			}
			name := d.String()
			gauge(c.level, b.Level, prov, p.Pool, name)
			gauge(c.capacity, b.Capacity, prov, p.Pool, name)
			gauge(c.limit, float64(b.Limit), prov, p.Pool, name)
			counter(c.admittedUnits, float64(p.AdmittedCost[d]), prov, p.Pool, name)
			counter(c.usedUnits, float64(p.SettledCost[d]), prov, p.Pool, name)
			counter(c.rateLimited, float64(p.RateLimited[d]), prov, p.Pool, name)
		}
		ch <- histogram(c.wait, p.Wait, prov, p.Pool)
		ch <- histogram(c.ratio, p.InputRatio, prov, p.Pool)
	}
}

func histogram(d *prometheus.Desc, h ratekeeper.Histogram, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	for i, b := range h.Bounds {
		buckets[b] = h.Counts[i]
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum, buckets, labels...)
}
