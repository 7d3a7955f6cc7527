package main

import (
	"encoding/base64"
	"fmt"
	"strings"
)

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

// articlePrompts are the prompts of the tasks on an article that is not in English;
// summarize, translate and analyze are formats whose one %s is the article.
type articlePrompts struct {
	editor    string // a system prompt in the article's language, for half the summaries
	summarize string // in the article's language
	translate string // into English; sent under a translator's system prompt
	analyze   string // in the article's language
}

var (
	zhPrompts = articlePrompts{
		editor:    "你是一名专业的中文编辑，请用简洁、准确的书面语回答。",
		summarize: "请用三句话总结以下文章的主要内容，并指出文中提到的主要风险：\n\n%s",
		translate: "Translate the following Chinese article into English.\n\n%s",
		analyze:   "以下是一篇行业报道：\n\n%s\n\n请提取文中出现的所有机构名称和百分比数据，并以JSON格式输出。",
	}
	ruPrompts = articlePrompts{
		editor:    "Ты — опытный редактор деловых новостей. Отвечай кратко и по существу.",
		summarize: "Кратко перескажи основные мысли текста в пяти пунктах:\n\n%s",
		translate: "Translate this Russian text into English, keeping the paragraph structure.\n\n%s",
		analyze:   "Определи тональность каждого абзаца (позитивная, нейтральная, негативная) и объясни почему.\n\n%s",
	}
)

// chineseTask is an articleTask on a Chinese article.
func (g *gen) chineseTask(req *claudeRequest, tokens int) {
	g.articleTask(req, g.chinese(tokens), zhPrompts)
}

// russianTask is an articleTask on a Russian article.
func (g *gen) russianTask(req *claudeRequest, tokens int) {
	g.articleTask(req, g.russian(tokens), ruPrompts)
}

// articleTask asks, with one of p's prompts, for a summary, an English translation or an
// analysis of article: the same three tasks in every language, so one builder draws them.
func (g *gen) articleTask(req *claudeRequest, article string, p articlePrompts) {
	switch g.r.IntN(3) {
	case 0:
		if g.chance(0.5) {
			req.System = p.editor
		}
		req.Messages = []message{user(fmt.Sprintf(p.summarize, article))}
	case 1:
		req.System = g.systemField(sysTranslate, 0.3)
		req.Messages = []message{user(fmt.Sprintf(p.translate, article))}
	default:
		req.Messages = []message{user(fmt.Sprintf(p.analyze, article))}
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
