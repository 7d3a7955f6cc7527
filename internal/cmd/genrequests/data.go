package main

import (
	"fmt"
	"strings"
)

// ---------------------------------------------------------------------------------------
// JSON documents (written by hand so that key order is fixed)

var (
	jsStatuses = []string{"pending", "shipped", "delivered", "delayed", "cancelled", "refunded"}
	jsDomains  = []string{"example.com", "mail.example.org", "corp.example.net"}
	jsProducts = []string{"USB-C charger", "wireless mouse", "standing desk", "noise-cancelling headphones", "ergonomic chair", "27-inch monitor", "laptop sleeve", "mechanical keyboard", "webcam", "desk lamp"}
	jsCities   = []string{"Berlin", "Austin", "Toronto", "Lyon", "Osaka", "Melbourne", "Nairobi", "São Paulo", "Warsaw", "Dublin"}
	jsLevels   = []string{"INFO", "WARN", "ERROR", "DEBUG"}
	jsServices = []string{"checkout", "auth", "inventory", "payments", "search", "notifications"}
)

func (g *gen) email(name string) string {
	f := strings.Fields(strings.ToLower(name))
	return fmt.Sprintf("%s.%s@%s", f[0], f[len(f)-1], g.pick(jsDomains))
}

func (g *gen) isoTime() string {
	return fmt.Sprintf("2025-%02d-%02dT%02d:%02d:%02dZ", g.intn(1, 12), g.intn(1, 28), g.intn(0, 23), g.intn(0, 59), g.intn(0, 59))
}

// jsonRecord returns one pretty-printed record of the given kind, indented by ind.
func (g *gen) jsonRecord(kind int, ind string) string {
	var b strings.Builder
	switch kind {
	case 0: // order
		name := g.pick(enNames)
		fmt.Fprintf(&b, "%s{\n%s  \"order_id\": \"ORD-%06d\",\n%s  \"customer\": {\"name\": %q, \"email\": %q, \"city\": %q},\n%s  \"items\": [", ind, ind, g.intn(100000, 999999), ind, name, g.email(name), g.pick(jsCities), ind)
		for i := range g.intn(1, 4) {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "\n%s    {\"sku\": \"SKU-%05d\", \"name\": %q, \"qty\": %d, \"unit_price\": %d.%02d}", ind, g.intn(1000, 99999), g.pick(jsProducts), g.intn(1, 5), g.intn(5, 900), g.intn(0, 99))
		}
		fmt.Fprintf(&b, "\n%s  ],\n%s  \"status\": %q,\n%s  \"created_at\": %q,\n%s  \"notes\": %q\n%s}", ind, ind, g.pick(jsStatuses), ind, g.isoTime(), ind, g.enSentence(), ind)
	case 1: // log event
		fmt.Fprintf(&b, "%s{\"ts\": %q, \"level\": %q, \"service\": %q, \"trace_id\": \"%016x\", \"latency_ms\": %d, \"status\": %d, \"msg\": %q}",
			ind, g.isoTime(), g.pick(jsLevels), g.pick(jsServices), g.r.Uint64(), g.intn(1, 4000), []int{200, 200, 200, 201, 400, 404, 429, 500, 503}[g.r.IntN(9)], g.enSentence())
	default: // user profile
		name := g.pick(enNames)
		fmt.Fprintf(&b, "%s{\n%s  \"id\": %d,\n%s  \"name\": %q,\n%s  \"email\": %q,\n%s  \"plan\": %q,\n%s  \"signup_date\": \"2024-%02d-%02d\",\n%s  \"tags\": [%q, %q],\n%s  \"usage\": {\"api_calls\": %d, \"storage_gb\": %d.%d, \"seats\": %d},\n%s  \"active\": %t\n%s}",
			ind, ind, g.intn(10000, 99999), ind, name, ind, g.email(name), ind, g.pick([]string{"free", "pro", "team", "enterprise"}), ind, g.intn(1, 12), g.intn(1, 28),
			ind, g.pick(enAdj), g.pick(enNouns), ind, g.intn(0, 250000), g.intn(0, 500), g.intn(0, 9), g.intn(1, 200), ind, g.chance(0.8), ind)
	}
	return b.String()
}

// jsonDocument returns a JSON document of about tokens tokens: an object with metadata and
// an array of records of one kind. It also returns the kind's name.
func (g *gen) jsonDocument(tokens int) (doc, kind string) {
	limit := int(float64(tokens) * bytesPerTokenJSON)
	k := g.r.IntN(3)
	kind = []string{"orders", "events", "users"}[k]
	var b strings.Builder
	fmt.Fprintf(&b, "{\n  \"export_id\": \"exp_%08x\",\n  \"generated_at\": %q,\n  \"source\": %q,\n  \"%s\": [\n", g.r.Uint32(), g.isoTime(), g.pick(enCompanies), kind)
	for i := 0; i == 0 || b.Len() < limit; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(g.jsonRecord(k, "    "))
	}
	b.WriteString("\n  ]\n}")
	return b.String(), kind
}
