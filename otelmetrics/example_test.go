package otelmetrics_test

import (
	"context"
	"fmt"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/otelmetrics"
	"github.com/ratekeeper/ratekeeper/tier"
)

func Example() {
	reader := sdkmetric.NewManualReader() // in production: your exporter's reader
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("ratekeeper")

	rec, err := otelmetrics.New(meter)
	if err != nil {
		panic(err)
	}
	keeper, err := ratekeeper.New(ratekeeper.WithTier(tier.Anthropic, "build"), ratekeeper.WithObserver(rec.Observe))
	if err != nil {
		panic(err)
	}
	reg, err := rec.Watch(keeper)
	if err != nil {
		panic(err)
	}
	defer reg.Unregister()

	if _, err := keeper.Limiter("claude-sonnet-4-5"); err != nil { // a pool in use
		panic(err)
	}
	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name == "ratekeeper.budget.limit" {
			fmt.Println(m.Name, len(m.Data.(metricdata.Gauge[float64]).DataPoints), "points")
		}
	}
	// Output:
	// ratekeeper.budget.limit 3 points
}
