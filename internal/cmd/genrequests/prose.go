package main

import (
	"fmt"
	"strings"
)

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

// enParagraph returns a paragraph of 3–7 sentences.
func (g *gen) enParagraph() string {
	return g.shortProse(g.intn(3, 7))
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
