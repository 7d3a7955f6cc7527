package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ---------------------------------------------------------------------------------------
// Tools

var toolDefs = []tool{
	{"get_order_status", "Look up the current status, carrier and estimated delivery date of an order by its ID.",
		json.RawMessage(`{"type":"object","properties":{"order_id":{"type":"string","description":"Order ID, e.g. ORD-123456"},"include_items":{"type":"boolean","description":"Whether to include line items"}},"required":["order_id"]}`)},
	{"search_customers", "Search the CRM for customers by name, email or company. Returns at most 20 matches.",
		json.RawMessage(`{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer","minimum":1,"maximum":20},"plan":{"type":"string","enum":["free","pro","team","enterprise"]}},"required":["query"]}`)},
	{"create_ticket", "Open a support ticket in the helpdesk and assign it to a queue.",
		json.RawMessage(`{"type":"object","properties":{"title":{"type":"string"},"body":{"type":"string"},"priority":{"type":"string","enum":["low","normal","high","urgent"]},"queue":{"type":"string"},"tags":{"type":"array","items":{"type":"string"}}},"required":["title","body","priority"]}`)},
	{"run_sql_query", "Run a read-only SQL query against the analytics warehouse and return up to 200 rows as JSON.",
		json.RawMessage(`{"type":"object","properties":{"sql":{"type":"string","description":"A single SELECT statement"},"timeout_seconds":{"type":"integer","default":30}},"required":["sql"]}`)},
	{"get_weather", "Get the current weather and a 3-day forecast for a city.",
		json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"units":{"type":"string","enum":["metric","imperial"]}},"required":["city"]}`)},
	{"send_email", "Send an email on behalf of the user. Requires explicit confirmation from the user first.",
		json.RawMessage(`{"type":"object","properties":{"to":{"type":"array","items":{"type":"string","format":"email"}},"subject":{"type":"string"},"body":{"type":"string"},"cc":{"type":"array","items":{"type":"string","format":"email"}}},"required":["to","subject","body"]}`)},
	{"calendar_create_event", "Create a calendar event for the user and invite attendees.",
		json.RawMessage(`{"type":"object","properties":{"title":{"type":"string"},"start":{"type":"string","format":"date-time"},"duration_minutes":{"type":"integer"},"attendees":{"type":"array","items":{"type":"string"}},"location":{"type":"string"}},"required":["title","start"]}`)},
	{"get_stock_level", "Return the on-hand and reserved stock of a SKU per warehouse.",
		json.RawMessage(`{"type":"object","properties":{"sku":{"type":"string"},"warehouse":{"type":"string","description":"Warehouse code; omit for all"}},"required":["sku"]}`)},
}

const b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func (g *gen) toolUseID() string {
	b := []byte("toolu_01")
	for range 22 {
		b = append(b, b62[g.r.IntN(len(b62))])
	}
	return string(b)
}

// toolInput returns an input for one of the tools in toolDefs.
func (g *gen) toolInput(name string) string {
	switch name {
	case "get_order_status":
		return fmt.Sprintf(`{"order_id":"ORD-%06d","include_items":%t}`, g.intn(100000, 999999), g.chance(0.5))
	case "search_customers":
		return fmt.Sprintf(`{"query":%q,"limit":%d}`, strings.Fields(g.pick(enNames))[1], g.intn(5, 20))
	case "create_ticket":
		return fmt.Sprintf(`{"title":%q,"body":%q,"priority":"high","tags":["%s"]}`, capitalize(g.pick(enAdj))+" "+g.pick(enNouns)+" issue", g.shortProse(2), g.pick(jsServices))
	case "run_sql_query":
		return fmt.Sprintf(`{"sql":"SELECT region, SUM(amount) AS revenue FROM orders WHERE created_at >= '2025-%02d-01' GROUP BY region ORDER BY revenue DESC LIMIT 10"}`, g.intn(1, 12))
	case "get_weather":
		return fmt.Sprintf(`{"city":%q,"units":"metric"}`, g.pick(jsCities))
	case "send_email":
		n := g.pick(enNames)
		return fmt.Sprintf(`{"to":[%q],"subject":"Update on %s","body":%q}`, g.email(n), g.pick(enTopics), g.shortProse(3))
	case "calendar_create_event":
		return fmt.Sprintf(`{"title":"Review of %s","start":%q,"duration_minutes":%d,"attendees":[%q,%q]}`, g.pick(enTopics), g.isoTime(), 15*g.intn(1, 6), g.email(g.pick(enNames)), g.email(g.pick(enNames)))
	}
	return fmt.Sprintf(`{"sku":"SKU-%05d"}`, g.intn(1000, 99999))
}

// toolResult returns a plausible JSON result of a tool call, of about tokens tokens.
func (g *gen) toolResult(name string, tokens int) string {
	switch name {
	case "run_sql_query", "search_customers":
		doc, _ := g.jsonDocument(tokens)
		return doc
	case "get_weather":
		return fmt.Sprintf(`{"temp_c":%d,"condition":"%s","forecast":[{"day":"Mon","high":%d,"low":%d},{"day":"Tue","high":%d,"low":%d},{"day":"Wed","high":%d,"low":%d}]}`,
			g.intn(-5, 35), g.pick([]string{"cloudy", "light rain", "sunny", "snow", "windy"}), g.intn(0, 35), g.intn(-10, 20), g.intn(0, 35), g.intn(-10, 20), g.intn(0, 35), g.intn(-10, 20))
	}
	return fmt.Sprintf(`{"ok":true,"id":"%08x","status":%q,"updated_at":%q,"detail":%q}`, g.r.Uint32(), g.pick(jsStatuses), g.isoTime(), g.shortProse(2))
}

// toolTask defines 2–5 tools; with loop, the conversation has one or two rounds of
// tool_use and tool_result and ends on the last tool_result.
func (g *gen) toolTask(req *claudeRequest, tokens int, loop bool) {
	req.System = g.systemField(sysChat, 0.2)
	start := g.r.IntN(len(toolDefs))
	n := g.intn(2, 5)
	for i := range n {
		req.Tools = append(req.Tools, toolDefs[(start+i)%len(toolDefs)])
	}
	q := fmt.Sprintf("%s Can you check %s and tell me what to do next?", g.prose(max(30, tokens/4), false), g.pick(enTopics))
	req.Messages = []message{user(q)}
	if !loop {
		return
	}
	rounds := g.intn(1, 2)
	for r := range rounds {
		t := req.Tools[(r*2+g.r.IntN(2))%len(req.Tools)]
		id := g.toolUseID()
		req.Messages = append(req.Messages,
			assistant([]block{
				text(fmt.Sprintf("I'll use %s to look that up.", t.Name)),
				{Type: "tool_use", ID: id, Name: t.Name, Input: json.RawMessage(g.toolInput(t.Name))},
			}),
			user([]block{{Type: "tool_result", ToolUseID: id, Content: g.toolResult(t.Name, tokens/(2*rounds))}}),
		)
	}
}
