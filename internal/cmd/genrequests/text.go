package main

import (
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
