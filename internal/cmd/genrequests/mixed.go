package main

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
)

// ---------------------------------------------------------------------------------------
// mixed-500

// mixedKinds are the kinds of request in mixed-500 and how many of each.
var mixedKinds = []struct {
	kind   string
	n      int
	median float64 // median prompt size in approximate tokens (log-normal)
	sigma  float64
}{
	{"sum", 90, 1250, 0.9},
	{"tr", 45, 650, 0.7},
	{"cls", 60, 300, 0.6},
	{"rev-go", 45, 1100, 0.8},
	{"rev-py", 40, 1100, 0.8},
	{"ext", 55, 1000, 0.8},
	{"zh", 30, 750, 0.7},
	{"ru", 30, 750, 0.7},
	{"chat", 50, 850, 0.7},
	{"qa", 32, 1400, 0.7},
	{"tool", 5, 300, 0.5},
	{"toolloop", 5, 900, 0.5},
	{"img", 8, 60, 0.5},
	{"pdf", 5, 0, 0},
}

const (
	mixedTotal   = 500
	mixedHaiku   = 100
	mixedBatch   = 150
	mixedStream  = 75
	mixedHuge    = 6   // 20k–40k-token prompts on Sonnet
	mixedHugeHku = 1   // and on Haiku
	sizeScale    = 1.1 // the knob that sets the token totals (see the README)
)

type slot struct {
	kind   string
	model  string
	batch  bool
	stream bool
	huge   bool
}

// mixedPlan decides, with exact counts, what each line of mixed-500 is.
func mixedPlan() []slot {
	r := rand.New(rand.NewPCG(seedMixed, 0))
	var slots []slot
	for _, k := range mixedKinds {
		for range k.n {
			slots = append(slots, slot{kind: k.kind, model: sonnet})
		}
	}
	if len(slots) != mixedTotal {
		panic(fmt.Sprintf("mixedKinds add up to %d lines", len(slots)))
	}
	r.Shuffle(len(slots), func(i, j int) { slots[i], slots[j] = slots[j], slots[i] })
	perm := r.Perm(mixedTotal)
	for _, i := range perm[:mixedHaiku] {
		slots[i].model = haiku
	}
	perm = r.Perm(mixedTotal)
	for _, i := range perm[:mixedBatch] {
		slots[i].batch = true
	}
	streams := 0
	for _, i := range r.Perm(mixedTotal) {
		if streams < mixedStream && !slots[i].batch { // batches cannot stream
			slots[i].stream = true
			streams++
		}
	}
	hugeS, hugeH := 0, 0
	for _, i := range r.Perm(mixedTotal) {
		switch slots[i].kind {
		case "sum", "rev-go", "rev-py", "ext", "qa", "tr":
		default:
			continue
		}
		if slots[i].model == sonnet && hugeS < mixedHuge {
			slots[i].huge = true
			hugeS++
		} else if slots[i].model == haiku && hugeH < mixedHugeHku {
			slots[i].huge = true
			hugeH++
		}
	}
	return slots
}

// maxTokens draws a max_tokens: mostly 256–1024, a few 2048–4096.
func (g *gen) maxTokens(kind string, huge bool) int {
	if huge {
		return []int{2048, 4096}[g.r.IntN(2)]
	}
	if kind == "cls" {
		return []int{256, 256, 512}[g.r.IntN(3)]
	}
	x := g.r.Float64()
	switch {
	case x < 0.25:
		return 256
	case x < 0.55:
		return 512
	case x < 0.65:
		return 768
	case x < 0.92:
		return 1024
	case x < 0.98:
		return 2048
	}
	return 4096
}

// idPrefix is the custom_id prefix of a kind.
func idPrefix(kind string) string {
	switch kind {
	case "rev-go", "rev-py":
		return "rev"
	case "toolloop":
		return "tool"
	}
	return kind
}

func mixedFile() ([]byte, []*claudeLine, error) {
	slots := mixedPlan()
	params := map[string]struct{ median, sigma float64 }{}
	for _, k := range mixedKinds {
		params[k.kind] = struct{ median, sigma float64 }{k.median, k.sigma}
	}
	var buf bytes.Buffer
	var lines []*claudeLine
	seen := map[string]int{} // how many of each kind so far (for image sizes and PDF pages)
	for i, s := range slots {
		g := newGen(seedMixed, uint64(i+1))
		p := params[s.kind]
		tokens := int(p.median * math.Exp(p.sigma*g.r.NormFloat64()) * sizeScale)
		tokens = min(max(tokens, 120), 12000)
		if s.huge {
			tokens = g.intn(21000, 38000)
		}
		req := &claudeRequest{Model: s.model, MaxTokens: g.maxTokens(s.kind, s.huge)}
		g.build(req, s.kind, tokens, seen[s.kind])
		seen[s.kind]++
		req.Temperature = g.temperature(s.kind)
		req.Stream = s.stream
		l := &claudeLine{req: req, maxTokens: req.MaxTokens}
		if s.batch {
			l.id = fmt.Sprintf("%s-%04d", idPrefix(s.kind), i+1)
		}
		if err := l.write(&buf); err != nil {
			return nil, nil, err
		}
		lines = append(lines, l)
	}
	return buf.Bytes(), lines, nil
}
