package main

import (
	"fmt"
	"strings"
)

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
