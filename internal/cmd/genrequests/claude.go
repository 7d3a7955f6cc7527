package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// The request types. Struct fields are marshalled in declaration order, so every line
// has its keys in the order a hand-written request would.

type claudeRequest struct {
	Model       string    `json:"model,omitempty"`
	MaxTokens   int       `json:"max_tokens,omitempty"`
	System      any       `json:"system,omitempty"` // string or []block
	Messages    []message `json:"messages"`
	Tools       []tool    `json:"tools,omitempty"`
	Temperature *float64  `json:"temperature,omitempty"`
	Stream      bool      `json:"stream,omitempty"`
}

type batchLine struct {
	CustomID string         `json:"custom_id"`
	Params   *claudeRequest `json:"params"`
}

type message struct {
	Role    string `json:"role"`
	Content any    `json:"content"` // string or []block
}

type block struct {
	Type         string          `json:"type"`
	Text         string          `json:"text,omitempty"`
	Source       *source         `json:"source,omitempty"`
	Title        string          `json:"title,omitempty"`
	ID           string          `json:"id,omitempty"`
	Name         string          `json:"name,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	ToolUseID    string          `json:"tool_use_id,omitempty"`
	Content      string          `json:"content,omitempty"`
	CacheControl *cacheControl   `json:"cache_control,omitempty"`
}

type source struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
}

type cacheControl struct {
	Type string `json:"type"`
}

type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

func text(s string) block { return block{Type: "text", Text: s} }

func user(content any) message      { return message{Role: "user", Content: content} }
func assistant(content any) message { return message{Role: "assistant", Content: content} }

// ---------------------------------------------------------------------------------------
// System prompts and instructions

var (
	sysSummarize = []string{
		"You are a careful analyst at %s. Summaries must be factual, concise and written in plain English. Do not speculate beyond the source text, and flag any figures that look inconsistent.",
		"You write executive briefings for the leadership team of %s. Lead with the decision that is needed, then the supporting facts. Keep every bullet under 25 words.",
		"You are an assistant that condenses long internal documents for busy readers at %s. Preserve names, dates and amounts exactly as written.",
	}
	sysTranslate = []string{
		"You are a professional translator working for %s. Translate faithfully, keep the original formatting (headings, lists, line breaks) and do not translate product names, code or URLs.",
		"You are a localisation specialist at %s. Produce natural, idiomatic text for native readers; keep numbers, dates and currency amounts unchanged.",
	}
	sysClassify = []string{
		"You are a support ticket router for %s. Reply with a single JSON object and nothing else.",
		"You label customer feedback for %s. Use only the labels you are given. Respond in JSON.",
	}
	sysReview = []string{
		"You are a senior software engineer at %s doing code review. Point out bugs, race conditions, error-handling gaps and non-idiomatic code. Be specific: quote the line and propose a fix.",
		"You review pull requests for %s. Focus on correctness and maintainability; ignore formatting that a formatter would fix. Group comments by severity (blocking, suggestion, nit).",
	}
	sysExtract = []string{
		"You are a data extraction engine for %s. Output valid JSON that matches the requested shape exactly. Never add commentary, and use null for missing values.",
		"You convert semi-structured exports into clean JSON for the analytics team at %s. Output JSON only.",
	}
	sysChat = []string{
		"You are a helpful assistant for employees of %s. Answer clearly and briefly, and ask a clarifying question when the request is ambiguous.",
		"You are the internal IT helpdesk assistant of %s. Give step-by-step instructions and mention when the user should open a ticket instead.",
	}
	sysQA = []string{
		"Answer the question using only the numbered passages in the context. Cite passages like [2]. If the answer is not in the context, say that you do not know.",
		"You are a research assistant for %s. Base every claim on the provided sources and cite them by number.",
	}
	audiences = []string{"the executive team", "new team members", "the board", "a customer newsletter", "the engineering all-hands", "the legal department"}
	docTypes  = []string{"meeting notes", "incident report", "quarterly business review", "customer support transcript", "research summary", "news article", "product requirements document", "vendor contract excerpt", "project status update"}
	languages = []string{"German", "French", "Spanish", "Japanese", "Portuguese", "Italian", "Dutch", "Polish"}
)

func (g *gen) system(list []string) string {
	s := g.pick(list)
	if strings.Contains(s, "%s") {
		s = fmt.Sprintf(s, g.pick(enCompanies))
	}
	return s
}

// systemField returns the system prompt as a string or as text blocks (the first with
// cache_control, as a client that caches its prefix sends it), or nil for none.
func (g *gen) systemField(list []string, pNone float64) any {
	if g.chance(pNone) {
		return nil
	}
	s := g.system(list)
	if g.chance(0.6) {
		return s
	}
	blocks := []block{{Type: "text", Text: s, CacheControl: &cacheControl{Type: "ephemeral"}}}
	if g.chance(0.5) {
		blocks = append(blocks, text(fmt.Sprintf("Today's date is 2025-%02d-%02d. The user's locale is %s.", g.intn(1, 12), g.intn(1, 28), g.pick([]string{"en-US", "en-GB", "de-DE", "fr-FR", "ja-JP"}))))
	}
	return blocks
}

// ---------------------------------------------------------------------------------------
// Task builders. Each fills the system prompt and messages of req for a prompt of about
// tokens tokens.

func (g *gen) summarize(req *claudeRequest, tokens int) {
	req.System = g.systemField(sysSummarize, 0.2)
	doc := g.prose(tokens, true)
	dt := g.pick(docTypes)
	var prompt string
	switch g.r.IntN(3) {
	case 0:
		prompt = fmt.Sprintf("Summarize the following %s in %d bullet points for %s. Focus on decisions, risks and open questions.\n\n<document>\n%s\n</document>", dt, g.intn(3, 8), g.pick(audiences), doc)
	case 1:
		prompt = fmt.Sprintf("Here is a %s:\n\n%s\n\nWrite a one-paragraph summary, then list the action items with their owners and due dates.", dt, doc)
	default:
		prompt = fmt.Sprintf("<document type=%q>\n%s\n</document>\n\nWhat are the three most important points in this document for %s? Quote the sentence that supports each one.", dt, doc, g.pick(audiences))
	}
	req.Messages = []message{user(prompt)}
}

func (g *gen) translate(req *claudeRequest, tokens int) {
	req.System = g.systemField(sysTranslate, 0.3)
	lang := g.pick(languages)
	req.Messages = []message{user(fmt.Sprintf("Translate the following text into %s.\n\n---\n%s\n---", lang, g.prose(tokens, g.chance(0.5))))}
}

var (
	ticketLabels = "billing, technical_issue, account_access, feature_request, cancellation, other"
	reviewLabels = "positive, neutral, negative, mixed"
)

func (g *gen) classify(req *claudeRequest, tokens int) {
	req.System = g.systemField(sysClassify, 0.2)
	if g.chance(0.5) {
		ticket := g.prose(tokens, false)
		req.Messages = []message{user(fmt.Sprintf("Classify this support ticket into exactly one of: %s.\nReturn {\"label\": \"...\", \"confidence\": 0.0-1.0, \"reason\": \"...\"}.\n\nSubject: %s %s\nFrom: %s\n\n%s", ticketLabels, capitalize(g.pick(enAdj)), g.pick(enNouns), g.email(g.pick(enNames)), ticket))}
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Label the sentiment of each review as one of: %s. Return a JSON array of {\"id\": n, \"label\": \"...\"}.\n\n", reviewLabels)
	limit := int(float64(tokens) * bytesPerTokenProse)
	for i := 1; i == 1 || b.Len() < limit; i++ {
		fmt.Fprintf(&b, "Review %d (%d stars): %s\n", i, g.intn(1, 5), g.shortProse(g.intn(1, 4)))
	}
	req.Messages = []message{user(strings.TrimRight(b.String(), "\n"))}
}

func (g *gen) codeReview(req *claudeRequest, tokens int, python bool) {
	req.System = g.systemField(sysReview, 0.15)
	var src, lang, file string
	if python {
		src, lang, file = g.pySource(tokens), "python", g.pick(pyNames)+".py"
	} else {
		src, lang, file = g.goSource(tokens), "go", strings.ToLower(g.pick(goNouns))+"_store.go"
	}
	var prompt string
	switch g.r.IntN(3) {
	case 0:
		prompt = fmt.Sprintf("Please review %s. It is called from a request handler under load, so I care most about concurrency and error handling.\n\n```%s\n%s```", file, lang, src)
	case 1:
		prompt = fmt.Sprintf("```%s\n%s```\n\nThis is part of a PR that %s the %s. Is there anything blocking? Suggest concrete changes.", lang, src, g.pick(enVerbsPast), g.pick(enNouns))
	default:
		prompt = fmt.Sprintf("Find the bugs in this %s file and write a unit test that would have caught the worst one.\n\nFile: %s\n```%s\n%s```", map[bool]string{true: "Python", false: "Go"}[python], file, lang, src)
	}
	req.Messages = []message{user(prompt)}
}

func (g *gen) extract(req *claudeRequest, tokens int) {
	req.System = g.systemField(sysExtract, 0.2)
	doc, kind := g.jsonDocument(tokens)
	var ask string
	switch kind {
	case "orders":
		ask = "Return a JSON array of {\"order_id\", \"customer_email\", \"total\"} for every order whose status is \"delayed\" or \"cancelled\", where total is the sum of qty * unit_price rounded to 2 decimals."
	case "events":
		ask = "Group the events by service and return {\"<service>\": {\"errors\": n, \"p95_latency_ms\": n, \"top_message\": \"...\"}} as JSON."
	default:
		ask = "Return a JSON object {\"inactive\": [ids], \"enterprise_emails\": [emails], \"total_seats\": n} computed from these users."
	}
	if g.chance(0.5) {
		req.Messages = []message{user(fmt.Sprintf("%s\n\n```json\n%s\n```", ask, doc))}
	} else {
		req.Messages = []message{user([]block{text("<export>\n" + doc + "\n</export>"), text(ask + " Output JSON only.")})}
	}
}

func (g *gen) chineseTask(req *claudeRequest, tokens int) {
	article := g.chinese(tokens)
	switch g.r.IntN(3) {
	case 0:
		if g.chance(0.5) {
			req.System = "你是一名专业的中文编辑，请用简洁、准确的书面语回答。"
		}
		req.Messages = []message{user(fmt.Sprintf("请用三句话总结以下文章的主要内容，并指出文中提到的主要风险：\n\n%s", article))}
	case 1:
		req.System = g.systemField(sysTranslate, 0.3)
		req.Messages = []message{user(fmt.Sprintf("Translate the following Chinese article into English.\n\n%s", article))}
	default:
		req.Messages = []message{user(fmt.Sprintf("以下是一篇行业报道：\n\n%s\n\n请提取文中出现的所有机构名称和百分比数据，并以JSON格式输出。", article))}
	}
}

func (g *gen) russianTask(req *claudeRequest, tokens int) {
	article := g.russian(tokens)
	switch g.r.IntN(3) {
	case 0:
		if g.chance(0.5) {
			req.System = "Ты — опытный редактор деловых новостей. Отвечай кратко и по существу."
		}
		req.Messages = []message{user(fmt.Sprintf("Кратко перескажи основные мысли текста в пяти пунктах:\n\n%s", article))}
	case 1:
		req.System = g.systemField(sysTranslate, 0.3)
		req.Messages = []message{user(fmt.Sprintf("Translate this Russian text into English, keeping the paragraph structure.\n\n%s", article))}
	default:
		req.Messages = []message{user(fmt.Sprintf("Определи тональность каждого абзаца (позитивная, нейтральная, негативная) и объясни почему.\n\n%s", article))}
	}
}

// chat is a multi-turn conversation without tools, ending on a user turn.
func (g *gen) chat(req *claudeRequest, tokens int) {
	req.System = g.systemField(sysChat, 0.3)
	turns := g.intn(1, 3)
	per := max(40, tokens/(2*turns+1))
	questions := []string{
		"How should we handle %s for the %s?",
		"Can you explain why %s affected the %s?",
		"What's the best way to %s the %s before the deadline?",
		"Could you draft a short email to the team about %s and the %s?",
	}
	ask := func() string {
		q := g.pick(questions)
		if strings.Contains(q, "%s the %s before") {
			return fmt.Sprintf(q, g.pick(enVerbsBase), g.pick(enNouns)) + " " + g.prose(per/2, false)
		}
		return fmt.Sprintf(q, g.pick(enTopics), g.pick(enNouns)) + " " + g.prose(per/2, false)
	}
	for range turns {
		req.Messages = append(req.Messages, user(ask()))
		var answer string
		if g.chance(0.3) {
			answer = "Here is a sketch:\n\n```go\n" + g.goSource(per) + "```\n\n" + g.shortProse(2)
		} else {
			answer = g.prose(per, true)
		}
		req.Messages = append(req.Messages, assistant(answer))
	}
	req.Messages = append(req.Messages, user(ask()))
}

func (g *gen) qa(req *claudeRequest, tokens int) {
	req.System = g.systemField(sysQA, 0.1)
	n := g.intn(3, 8)
	var b strings.Builder
	b.WriteString("<context>\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "[%d] (source: %s, %s)\n%s\n\n", i, g.pick(docTypes), g.enTime(), g.prose(tokens/n, false))
	}
	b.WriteString("</context>\n\n")
	fmt.Fprintf(&b, "Question: What did %s decide about %s, and when?", g.pick(enCompanies), g.pick(enTopics))
	req.Messages = []message{user(b.String())}
}

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

// ---------------------------------------------------------------------------------------
// Images and documents

var pngSizes = [][2]int{{200, 150}, {320, 240}, {640, 480}, {800, 600}, {1024, 768}, {1200, 900}, {512, 512}, {900, 1200}, {1280, 720}, {400, 1000}}

func (g *gen) imageTask(req *claudeRequest, tokens int, size [2]int) {
	req.System = g.systemField(sysChat, 0.5)
	img := solidPNG(size[0], size[1], byte(g.r.IntN(256)), byte(g.r.IntN(256)), byte(g.r.IntN(256)))
	ask := g.pick([]string{
		"Describe this chart and the trend it shows. Then suggest a better title for it.",
		"This is a screenshot from our dashboard. What is wrong with the layout?",
		"Extract any text in this image and list it line by line.",
		"Is this product photo suitable for the catalogue? Check lighting and background.",
	})
	blocks := []block{{Type: "image", Source: &source{Type: "base64", MediaType: "image/png", Data: base64.StdEncoding.EncodeToString(img)}}}
	if tokens > 0 {
		blocks = append(blocks, text("Context: "+g.prose(tokens, false)))
	}
	blocks = append(blocks, text(ask))
	req.Messages = []message{user(blocks)}
}

func (g *gen) pdfTask(req *claudeRequest, pages int) {
	req.System = g.systemField(sysSummarize, 0.3)
	title := capitalize(g.pick(docTypes)) + " — " + g.pick(enCompanies)
	var content [][]string
	for range pages {
		lines := wrap(g.prose(350, false), 90)
		content = append(content, lines[:min(46, len(lines))])
	}
	pdf := minimalPDF(title, content)
	req.Messages = []message{user([]block{
		{Type: "document", Source: &source{Type: "base64", MediaType: "application/pdf", Data: base64.StdEncoding.EncodeToString(pdf)}, Title: title},
		text(g.pick([]string{
			"Summarize this document in five bullet points and list any deadlines it mentions.",
			"What obligations does each party have under this document? Answer as a table.",
			"Extract every monetary amount in this PDF with the page it appears on.",
		})),
	})}
}
