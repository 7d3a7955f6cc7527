package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode/utf8"
)

// The text generators build realistic-looking (not meaningful) text from word lists and
// templates. Each takes a size in approximate tokens and converts it to bytes with a
// fixed per-kind ratio, so that the output depends only on the seed, never on a token
// counter. The ratios were measured once against package simtok (the simulated server's
// counter); the totals printed by the generator are the real counts.
const (
	bytesPerTokenProse   = 4.2
	bytesPerTokenGo      = 2.6
	bytesPerTokenPython  = 2.9
	bytesPerTokenJSON    = 2.75
	bytesPerTokenChinese = 2.7
	bytesPerTokenRussian = 4.35
)

// gen is a deterministic source of text.
type gen struct {
	r *rand.Rand
}

func newGen(seed1, seed2 uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed1, seed2))}
}

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *gen) intn(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) } // in [lo, hi]

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}

// ---------------------------------------------------------------------------------------
// English prose

var (
	enNames = []string{
		"Maria Chen", "David Okafor", "Priya Natarajan", "Lukas Berg", "Sofia Alvarez",
		"James Whitaker", "Aiko Tanaka", "Omar Haddad", "Elena Petrova", "Tom Gallagher",
		"Grace Mwangi", "Henrik Lund", "Fatima Zahra", "Noah Brennan", "Isabel Moreau",
		"Rahul Mehta", "Chloe Dubois", "Samuel Adeyemi", "Hannah Kowalski", "Leo Martins",
	}
	enCompanies = []string{
		"Northwind Logistics", "Acme Analytics", "Bluefin Health", "Harbor & Pine",
		"Meridian Bank", "Cobalt Systems", "Greenfield Energy", "Lumen Retail",
		"Atlas Freight", "Silverline Insurance", "Orchid Pharma", "Keystone Foods",
	}
	enRoles = []string{
		"head of operations", "chief financial officer", "product manager", "lead engineer",
		"regional director", "compliance officer", "data scientist", "support team lead",
		"VP of sales", "program manager", "site reliability engineer", "legal counsel",
	}
	enAdj = []string{
		"quarterly", "significant", "initial", "critical", "regional", "internal", "external",
		"unexpected", "gradual", "detailed", "preliminary", "final", "annual", "operational",
		"strategic", "minor", "major", "new", "existing", "remaining", "overall", "average",
		"previous", "upcoming", "temporary", "scheduled", "automated", "manual", "shared",
		"independent", "customer-facing", "cross-functional", "long-term", "short-term",
	}
	enNouns = []string{
		"customer", "team", "release", "pipeline", "quarter", "revenue", "policy", "vendor",
		"deployment", "incident", "migration", "contract", "dataset", "budget", "forecast",
		"schedule", "warehouse", "shipment", "invoice", "dashboard", "outage", "review",
		"proposal", "market", "supplier", "region", "account", "subscription", "feature",
		"survey", "clinic", "course", "project", "milestone", "roadmap", "risk", "audit",
		"report", "committee", "analysis", "experiment", "sample", "network", "database",
		"cluster", "backlog", "sprint", "stakeholder", "partner", "board", "workflow",
		"integration", "procurement process", "onboarding flow", "service level", "price list",
		"retention rate", "support queue", "test suite", "cost estimate", "hiring plan",
	}
	enVerbsPast = []string{
		"reviewed", "approved", "delayed", "improved", "reduced", "increased", "identified",
		"proposed", "completed", "launched", "postponed", "evaluated", "documented",
		"escalated", "resolved", "affected", "required", "recommended", "highlighted",
		"estimated", "confirmed", "introduced", "replaced", "monitored", "analyzed",
		"simplified", "expanded", "restructured", "prioritized", "audited",
	}
	enVerbsBase = []string{
		"review", "approve", "update", "finalize", "share", "draft", "schedule", "validate",
		"investigate", "document", "circulate", "prepare", "confirm", "reconcile", "test",
	}
	enAdv = []string{
		"significantly", "slightly", "steadily", "quickly", "largely", "partially",
		"consistently", "unexpectedly", "gradually", "noticeably", "temporarily", "formally",
	}
	enConnectors = []string{
		"However,", "In addition,", "As a result,", "Meanwhile,", "According to the report,",
		"By the end of the quarter,", "In contrast,", "Overall,", "For example,",
		"At the same time,", "Following the review,", "Despite these changes,",
		"In the meantime,", "Based on the latest figures,", "Earlier this month,",
	}
	enMonths = []string{
		"January", "February", "March", "April", "May", "June", "July", "August",
		"September", "October", "November", "December",
	}
	enPreps  = []string{"for", "across", "within", "after", "before", "during", "despite", "alongside"}
	enTopics = []string{
		"the data retention policy", "the new pricing model", "the warehouse expansion",
		"the payment gateway migration", "the customer onboarding flow", "the hiring freeze",
		"the Q3 marketing campaign", "the vendor consolidation plan", "the security audit",
		"the mobile app redesign", "the support ticket backlog", "the cloud cost review",
	}
	enHeadings = []string{
		"Background", "Summary of findings", "Discussion", "Timeline", "Impact", "Root cause",
		"Next steps", "Risks and open questions", "Budget", "Recommendations", "Decisions",
		"Methodology", "Results", "Customer feedback", "Appendix",
	}
)

func (g *gen) enTime() string {
	switch g.r.IntN(4) {
	case 0:
		return fmt.Sprintf("in %s %d", g.pick(enMonths), g.intn(2021, 2026))
	case 1:
		return fmt.Sprintf("on %s %d", g.pick(enMonths), g.intn(1, 28))
	case 2:
		return fmt.Sprintf("in Q%d", g.intn(1, 4))
	}
	return fmt.Sprintf("over the past %d weeks", g.intn(2, 12))
}

// enSentence returns one English sentence.
func (g *gen) enSentence() string {
	switch g.r.IntN(10) {
	case 0:
		return fmt.Sprintf("%s the %s %s %s the %s %s the %s %s.",
			g.pick(enConnectors), g.pick(enAdj), g.pick(enNouns), g.pick(enVerbsPast),
			g.pick(enNouns), g.pick(enPreps), g.pick(enAdj), g.pick(enNouns))
	case 1:
		return fmt.Sprintf("%s, the %s at %s, said that %s had been %s %s.",
			g.pick(enNames), g.pick(enRoles), g.pick(enCompanies), g.pick(enTopics),
			g.pick(enVerbsPast), g.enTime())
	case 2:
		return fmt.Sprintf("Roughly %d%% of the %ss %s the %s %s, compared with %d%% a year earlier.",
			g.intn(5, 95), g.pick(enNouns), g.pick(enVerbsPast), g.pick(enAdj), g.pick(enNouns), g.intn(5, 95))
	case 3:
		return fmt.Sprintf("%s, the %s %s %s after the %s %s %s.",
			capitalize(g.enTime()), g.pick(enNouns), g.pick(enVerbsPast), g.pick(enAdv),
			g.pick(enNouns), g.pick(enVerbsPast), g.pick(enAdv))
	case 4:
		return fmt.Sprintf("The %s team %s %s, which %s the %s %s by about %d days.",
			g.pick(enAdj), g.pick(enVerbsPast), g.pick(enTopics), g.pick(enVerbsPast),
			g.pick(enAdj), g.pick(enNouns), g.intn(2, 60))
	case 5:
		return fmt.Sprintf("Total spend on the %s reached $%d,%03d, which is %s above the %s budget.",
			g.pick(enNouns), g.intn(12, 980), g.intn(0, 999), g.pick([]string{"slightly", "well", "just", "about 8%"}), g.pick(enAdj))
	case 6:
		return fmt.Sprintf("It is not yet clear whether the %s will be %s before the %s %s.",
			g.pick(enNouns), g.pick(enVerbsPast), g.pick(enAdj), g.pick(enNouns))
	case 7:
		return fmt.Sprintf("%s noted that the %s %s %s and asked the %s to %s the %s by %s %d.",
			g.pick(enNames), g.pick(enNouns), g.pick(enVerbsPast), g.pick(enAdv),
			g.pick(enRoles), g.pick(enVerbsBase), g.pick(enNouns), g.pick(enMonths), g.intn(1, 28))
	case 8:
		return fmt.Sprintf("Several %ss reported that the %s was %s %s, especially %s the %s %s.",
			g.pick(enNouns), g.pick(enNouns), g.pick(enAdv), g.pick(enVerbsPast),
			g.pick(enPreps), g.pick(enAdj), g.pick(enNouns))
	}
	return fmt.Sprintf("The %s %s the %s, and the %s %s %s.",
		g.pick(enNouns), g.pick(enVerbsPast), g.pick(enNouns), g.pick(enNouns),
		g.pick([]string{"was", "remains", "is now", "has been"}), g.pick(enVerbsPast))
}

func (g *gen) enParagraph() string {
	n := g.intn(3, 7)
	s := make([]string, n)
	for i := range s {
		s[i] = g.enSentence()
	}
	return strings.Join(s, " ")
}

// prose returns English prose of about tokens tokens: paragraphs, with headings and
// bullet lists when structured.
func (g *gen) prose(tokens int, structured bool) string {
	return g.proseBytes(int(float64(tokens)*bytesPerTokenProse), structured)
}

// proseBytes is prose of at least limit bytes.
func (g *gen) proseBytes(limit int, structured bool) string {
	var b strings.Builder
	for b.Len() < limit {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		if structured && g.chance(0.25) {
			fmt.Fprintf(&b, "## %s\n\n", g.pick(enHeadings))
		}
		if structured && g.chance(0.2) {
			for i := range g.intn(2, 5) {
				if i > 0 {
					b.WriteByte('\n')
				}
				fmt.Fprintf(&b, "- %s to %s the %s %s by %s %d.", g.pick(enNames), g.pick(enVerbsBase),
					g.pick(enAdj), g.pick(enNouns), g.pick(enMonths), g.intn(1, 28))
			}
			continue
		}
		b.WriteString(g.enParagraph())
	}
	return strings.TrimRight(b.String(), "\n")
}

// shortProse returns n sentences.
func (g *gen) shortProse(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = g.enSentence()
	}
	return strings.Join(s, " ")
}

// ---------------------------------------------------------------------------------------
// Go source

var (
	goTypes  = []string{"Server", "Client", "OrderStore", "RateLimiter", "Worker", "Cache", "Handler", "Scheduler", "Registry", "Pool", "Session", "Exporter"}
	goFields = []string{"mu sync.Mutex", "items map[string]*Item", "limit int", "timeout time.Duration", "client *http.Client", "logger *slog.Logger", "db *sql.DB", "done chan struct{}", "count atomic.Int64", "cfg Config", "queue []Job", "retries int"}
	goVerbs  = []string{"Load", "Save", "Fetch", "Process", "Validate", "Flush", "Refresh", "Lookup", "Apply", "Dispatch", "Reserve", "Release", "Sync", "Parse", "Render"}
	goNouns  = []string{"Order", "User", "Config", "Batch", "Token", "Record", "Item", "Job", "Event", "Metrics", "Quota", "Snapshot"}
	goVars   = []string{"item", "key", "count", "total", "limit", "resp", "req", "buf", "entry", "id", "n", "v", "next", "res"}
)

func (g *gen) goStatement(depth int) string {
	ind := strings.Repeat("\t", depth)
	v := g.pick(goVars)
	switch g.r.IntN(12) {
	case 0:
		return fmt.Sprintf("%sif err != nil {\n%s\treturn nil, fmt.Errorf(\"%s%s: %%w\", err)\n%s}", ind, ind, strings.ToLower(g.pick(goVerbs)), g.pick(goNouns), ind)
	case 1:
		if depth < 3 {
			return fmt.Sprintf("%sfor i, %s := range s.%ss {\n%s\n%s\n%s}", ind, v, strings.ToLower(g.pick(goNouns)), g.goStatement(depth+1), g.goStatement(depth+1), ind)
		}
		return fmt.Sprintf("%s%s++", ind, v)
	case 2:
		return fmt.Sprintf("%ss.mu.Lock()\n%sdefer s.mu.Unlock()", ind, ind)
	case 3:
		return fmt.Sprintf("%sctx, cancel := context.WithTimeout(ctx, %d*time.Second)\n%sdefer cancel()", ind, g.intn(1, 30), ind)
	case 4:
		return fmt.Sprintf("%s%s, err := s.%s%s(ctx, %s)", ind, v, g.pick(goVerbs), g.pick(goNouns), g.pick(goVars))
	case 5:
		if depth < 3 {
			return fmt.Sprintf("%sif %s == nil || len(%s) > s.limit {\n%s\n%s}", ind, v, g.pick(goVars), g.goStatement(depth+1), ind)
		}
		return fmt.Sprintf("%sreturn nil, nil", ind)
	case 6:
		return fmt.Sprintf("%ss.logger.Info(\"%s %s\", \"%s\", %s, \"elapsed\", time.Since(start))", ind, strings.ToLower(g.pick(goVerbs)), strings.ToLower(g.pick(goNouns)), v, v)
	case 7:
		return fmt.Sprintf("%s%s := make([]%s, 0, len(%s))", ind, v, g.pick(goNouns), g.pick(goVars))
	case 8:
		return fmt.Sprintf("%s// TODO(%s): %s the %s before %s.", ind, strings.ToLower(strings.Fields(g.pick(enNames))[0]), g.pick(enVerbsBase), g.pick(enNouns), g.pick([]string{"the next release", "retrying", "returning", "closing the channel"}))
	case 9:
		if depth < 3 {
			return fmt.Sprintf("%sselect {\n%scase <-ctx.Done():\n%s\treturn nil, ctx.Err()\n%scase %s := <-s.done:\n%s\n%s}", ind, ind, ind, ind, v, g.goStatement(depth+1), ind)
		}
		return fmt.Sprintf("%s_ = %s", ind, v)
	case 10:
		return fmt.Sprintf("%sgo func() {\n%s\tdefer wg.Done()\n%s\ts.%s%s(%s)\n%s}()", ind, ind, ind, g.pick(goVerbs), g.pick(goNouns), v, ind)
	}
	return fmt.Sprintf("%s%s = s.items[%s.%sID]", ind, v, g.pick(goVars), g.pick(goNouns))
}

func (g *gen) goFunc() string {
	t := g.pick(goTypes)
	name := g.pick(goVerbs) + g.pick(goNouns)
	var b strings.Builder
	fmt.Fprintf(&b, "// %s %ss the %s and returns the %s.\n", name, strings.ToLower(g.pick(goVerbs)), strings.ToLower(g.pick(goNouns)), strings.ToLower(g.pick(goNouns)))
	fmt.Fprintf(&b, "func (s *%s) %s(ctx context.Context, %s %s) (*%s, error) {\n", t, name, g.pick(goVars), "[]"+g.pick(goNouns), g.pick(goNouns))
	b.WriteString("\tstart := time.Now()\n")
	for range g.intn(3, 8) {
		b.WriteString(g.goStatement(1))
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "\treturn &%s{}, nil\n}\n", g.pick(goNouns))
	return b.String()
}

// goSource returns a Go file of about tokens tokens.
func (g *gen) goSource(tokens int) string {
	limit := int(float64(tokens) * bytesPerTokenGo)
	var b strings.Builder
	fmt.Fprintf(&b, "package %s\n\nimport (\n\t\"context\"\n\t\"fmt\"\n\t\"log/slog\"\n\t\"net/http\"\n\t\"sync\"\n\t\"time\"\n)\n\n", g.pick([]string{"store", "billing", "worker", "api", "ingest", "quota"}))
	t := g.pick(goTypes)
	fmt.Fprintf(&b, "// %s %ss %ss for the %s service.\ntype %s struct {\n", t, strings.ToLower(g.pick(goVerbs)), strings.ToLower(g.pick(goNouns)), g.pick(enNouns), t)
	for range g.intn(3, 6) {
		fmt.Fprintf(&b, "\t%s\n", g.pick(goFields))
	}
	b.WriteString("}\n")
	for b.Len() < limit {
		b.WriteByte('\n')
		b.WriteString(g.goFunc())
	}
	return b.String()
}

// ---------------------------------------------------------------------------------------
// Python source

var (
	pyNames = []string{"load_orders", "parse_record", "fetch_user", "compute_totals", "normalize_rows", "send_report", "retry_request", "build_index", "validate_payload", "export_csv", "merge_batches", "score_items"}
	pyVars  = []string{"rows", "record", "result", "payload", "user", "items", "total", "df", "cfg", "resp", "batch", "cache"}
	pyMods  = []string{"import os", "from dataclasses import dataclass", "from datetime import datetime, timedelta", "from typing import Any, Iterable, Optional", "import requests", "import pandas as pd", "from pathlib import Path", "import asyncio"}
)

func (g *gen) pyStatement(depth int) string {
	ind := strings.Repeat("    ", depth)
	v := g.pick(pyVars)
	switch g.r.IntN(10) {
	case 0:
		if depth < 3 {
			return fmt.Sprintf("%sfor %s in %s:\n%s\n%s", ind, v, g.pick(pyVars), g.pyStatement(depth+1), g.pyStatement(depth+1))
		}
		return fmt.Sprintf("%s%s += 1", ind, v)
	case 1:
		if depth < 3 {
			return fmt.Sprintf("%stry:\n%s\n%sexcept (KeyError, ValueError) as exc:\n%s    logger.warning(\"skipping %%s: %%s\", %s, exc)", ind, g.pyStatement(depth+1), ind, ind, v)
		}
		return fmt.Sprintf("%spass", ind)
	case 2:
		return fmt.Sprintf("%s%s = [x for x in %s if x.get(\"%s\") is not None]", ind, v, g.pick(pyVars), g.pick([]string{"id", "email", "status", "amount", "created_at"}))
	case 3:
		return fmt.Sprintf("%s%s = requests.get(f\"{BASE_URL}/%s/{%s}\", timeout=%d)", ind, v, g.pick([]string{"orders", "users", "items", "reports"}), g.pick(pyVars), g.intn(2, 30))
	case 4:
		if depth < 3 {
			return fmt.Sprintf("%sif not %s or len(%s) > MAX_ITEMS:\n%s", ind, v, g.pick(pyVars), g.pyStatement(depth+1))
		}
		return fmt.Sprintf("%sreturn None", ind)
	case 5:
		return fmt.Sprintf("%slogger.info(\"%s %%d rows in %%.2fs\", len(%s), time.time() - start)", ind, g.pick([]string{"processed", "loaded", "exported", "skipped"}), v)
	case 6:
		return fmt.Sprintf("%swith open(path, \"r\", encoding=\"utf-8\") as fh:\n%s    %s = json.load(fh)", ind, ind, v)
	case 7:
		return fmt.Sprintf("%s# TODO: %s the %s before %s", ind, g.pick(enVerbsBase), g.pick(enNouns), g.pick([]string{"returning", "the next release", "retrying"}))
	case 8:
		return fmt.Sprintf("%s%s[\"%s\"] = %s.get(\"%s\", %d)", ind, v, g.pick([]string{"total", "count", "score", "retries"}), g.pick(pyVars), g.pick([]string{"amount", "qty", "weight"}), g.intn(0, 100))
	}
	return fmt.Sprintf("%s%s = %s(%s)", ind, v, g.pick(pyNames), g.pick(pyVars))
}

// pySource returns a Python module of about tokens tokens.
func (g *gen) pySource(tokens int) string {
	limit := int(float64(tokens) * bytesPerTokenPython)
	var b strings.Builder
	b.WriteString("import json\nimport logging\nimport time\n")
	for i := range g.intn(1, 3) {
		b.WriteString(pyMods[(i*3+g.r.IntN(3))%len(pyMods)])
		b.WriteByte('\n')
	}
	b.WriteString("\nlogger = logging.getLogger(__name__)\nMAX_ITEMS = 500\nBASE_URL = \"https://api.internal.example.com/v2\"\n")
	for b.Len() < limit {
		b.WriteString("\n\n")
		if g.chance(0.25) {
			cls := g.pick(goNouns) + g.pick([]string{"Loader", "Service", "Repository", "Exporter"})
			fmt.Fprintf(&b, "class %s:\n    \"\"\"%s\"\"\"\n\n    def __init__(self, cfg: dict[str, Any]) -> None:\n        self.cfg = cfg\n        self.cache: dict[str, Any] = {}\n", cls, g.enSentence())
			for range g.intn(1, 3) {
				fmt.Fprintf(&b, "\n    def %s(self, %s):\n", g.pick(pyNames), g.pick(pyVars))
				for range g.intn(2, 5) {
					b.WriteString(g.pyStatement(2))
					b.WriteByte('\n')
				}
				fmt.Fprintf(&b, "        return %s\n", g.pick(pyVars))
			}
			continue
		}
		fmt.Fprintf(&b, "def %s(%s: Iterable[dict], *, strict: bool = False) -> list[dict]:\n    \"\"\"%s\"\"\"\n    start = time.time()\n", g.pick(pyNames), g.pick(pyVars), g.enSentence())
		for range g.intn(3, 7) {
			b.WriteString(g.pyStatement(1))
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "    return %s\n", g.pick(pyVars))
	}
	return b.String()
}

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

// ---------------------------------------------------------------------------------------
// Chinese

var (
	zhSubjects = []string{"公司", "研发团队", "用户", "该系统", "市场部门", "地方政府", "研究人员", "平台运营方", "客户服务中心", "数据中心", "合作伙伴", "管理层", "消费者", "这家银行", "物流企业"}
	zhAdverbs  = []string{"已经", "正在", "逐步", "明显", "进一步", "持续", "首次", "大幅", "积极", "稳步"}
	zhVerbs    = []string{"提高了", "发布了", "完成了", "分析了", "讨论了", "推出了", "调整了", "优化了", "降低了", "扩大了", "加强了", "启动了", "评估了", "更新了"}
	zhObjects  = []string{"服务质量", "运营成本", "数据安全策略", "新一代产品", "市场份额", "用户体验", "供应链管理", "年度预算", "技术架构", "客户满意度", "投资计划", "风险控制体系", "人工智能模型", "在线支付功能", "请求限流机制"}
	zhTimes    = []string{"今年第三季度", "去年", "近日", "上个月", "本周", "过去半年", "截至目前", "今年上半年"}
	zhConn     = []string{"同时", "此外", "然而", "因此", "另一方面", "据报道", "与此同时", "值得注意的是", "总体来看"}
	zhTails    = []string{"引起了广泛关注", "取得了显著成效", "仍面临一定挑战", "预计将在明年全面推广", "得到了用户的积极反馈", "为后续发展奠定了基础", "需要进一步观察"}
)

func (g *gen) zhSentence() string {
	switch g.r.IntN(4) {
	case 0:
		return fmt.Sprintf("%s，%s%s%s。", g.pick(zhTimes), g.pick(zhSubjects), g.pick(zhAdverbs), g.pick(zhVerbs)+g.pick(zhObjects))
	case 1:
		return fmt.Sprintf("%s，%s%s%s，%s。", g.pick(zhConn), g.pick(zhSubjects), g.pick(zhVerbs), g.pick(zhObjects), g.pick(zhTails))
	case 2:
		return fmt.Sprintf("数据显示，%s的%s同比增长%d%%，%s。", g.pick(zhSubjects), g.pick(zhObjects), g.intn(2, 60), g.pick(zhTails))
	}
	return fmt.Sprintf("%s表示，%s%s%s，并计划在%s内%s%s。", g.pick(zhSubjects), g.pick(zhSubjects), g.pick(zhAdverbs), g.pick(zhVerbs)+g.pick(zhObjects), g.pick([]string{"三个月", "一年", "两年", "下个季度"}), strings.TrimSuffix(g.pick(zhVerbs), "了"), g.pick(zhObjects))
}

// chinese returns Chinese paragraphs of about tokens tokens.
func (g *gen) chinese(tokens int) string {
	limit := int(float64(tokens) * bytesPerTokenChinese)
	var b strings.Builder
	for b.Len() < limit {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		for range g.intn(3, 6) {
			b.WriteString(g.zhSentence())
		}
	}
	return b.String()
}

// ---------------------------------------------------------------------------------------
// Russian

var (
	ruSubjects = []string{"Компания", "Команда разработки", "Отдел продаж", "Министерство", "Наш сервис", "Платформа", "Региональный офис", "Руководство банка", "Служба поддержки", "Исследовательская группа", "Городская администрация", "Поставщик"}
	ruPreds    = []string{"увеличивает объём продаж", "снижает затраты на инфраструктуру", "анализирует данные пользователей", "обсуждает новый бюджет", "внедряет систему мониторинга", "пересматривает условия договора", "расширяет сеть партнёров", "тестирует новую версию приложения", "сокращает время обработки заявок", "готовит ежеквартальный отчёт", "ограничивает частоту запросов к серверу", "переносит сроки запуска проекта"}
	ruTimes    = []string{"в третьем квартале", "в этом году", "с начала месяца", "по сравнению с прошлым годом", "в ближайшие недели", "уже второй месяц подряд", "после недавнего сбоя"}
	ruConn     = []string{"Кроме того,", "Однако", "Поэтому", "В то же время", "По данным аналитиков,", "В результате", "Как отмечают эксперты,", "Тем не менее"}
	ruTails    = []string{"что вызывает вопросы у клиентов", "хотя риски остаются высокими", "и планирует продолжить эту работу", "несмотря на рост расходов", "чтобы повысить качество обслуживания", "что подтверждают последние исследования"}
)

func (g *gen) ruSentence() string {
	switch g.r.IntN(4) {
	case 0:
		return fmt.Sprintf("%s %s %s.", g.pick(ruSubjects), g.pick(ruPreds), g.pick(ruTimes))
	case 1:
		return fmt.Sprintf("%s %s %s, %s.", g.pick(ruConn), strings.ToLower(g.pick(ruSubjects)), g.pick(ruPreds), g.pick(ruTails))
	case 2:
		return fmt.Sprintf("По итогам периода показатель вырос на %d%%, а %s %s.", g.intn(2, 60), strings.ToLower(g.pick(ruSubjects)), g.pick(ruPreds))
	}
	return fmt.Sprintf("%s %s %s, %s.", g.pick(ruSubjects), g.pick(ruPreds), g.pick(ruTimes), g.pick(ruTails))
}

// russian returns Russian paragraphs of about tokens tokens.
func (g *gen) russian(tokens int) string {
	limit := int(float64(tokens) * bytesPerTokenRussian)
	var b strings.Builder
	for b.Len() < limit {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		for i := range g.intn(3, 6) {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(g.ruSentence())
		}
	}
	return b.String()
}
