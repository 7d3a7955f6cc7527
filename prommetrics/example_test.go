package prommetrics_test

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/prommetrics"
	"github.com/ratekeeper/ratekeeper/tier"
)

func Example() {
	keeper, err := ratekeeper.New(ratekeeper.WithTier(tier.Anthropic, "build"))
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry() // or prometheus.MustRegister, and promhttp.Handler() at /metrics
	reg.MustRegister(prommetrics.New(keeper))

	if _, err := keeper.Limiter("claude-sonnet-4-5"); err != nil { // a pool in use
		panic(err)
	}
	n, _ := testutil.GatherAndCount(reg, "ratekeeper_budget_limit")
	fmt.Println(n, "budget_limit series: RPM, ITPM and OTPM of the Sonnet 4.x pool")
	// Output:
	// 3 budget_limit series: RPM, ITPM and OTPM of the Sonnet 4.x pool
}
