package tokencount

import "github.com/ratekeeper/ratekeeper/tier"

// baseText are the heuristic's tokens per unit of each text feature, fitted by least
// squares to o200k_base counts over the corpus in testdata/corpus (see
// TestFitBaseWeights). They approximate OpenAI's tokenizer; Claude priors scale them.
var baseText = vec{
	fLetters:      0.0552,
	fWords:        0.747,
	fLongWords:    0, // o200k keeps most long words whole; Claude-like tokenizers split them
	fWordExcess:   0.0118,
	fDigitGroups:  1.37,
	fPunct:        0.126,
	fPunctRuns:    0.609,
	fSpaces:       0.0420,
	fSpaceRuns:    0.577,
	fLineBreaks:   0.635,
	fCJK:          0.715,
	fOtherLetters: 0.108,
	fOtherWords:   0.996,
	fOther:        1.18,
}

// claudeText scales baseText to Claude (3 to 4.6) tokenizers, which produce ~1.15–1.35x
// as many tokens as o200k_base depending on content (reference: api-rate-limits.md,
// "Tokenizers"); calibration corrects per class.
const claudeText = 1.2

// priors returns the prior weights μ and the correction scales ν of a model's
// calibrator. With a Counter (hasCounter) the text contributes through BPETokens, and
// the character classes only through learned corrections.
func priors(p tier.Provider, info modelInfo, hasCounter bool) (mu, nu vec) {
	textMul := info.textFactor
	if p == tier.Anthropic {
		textMul *= claudeText
		mu[fBias] = 10
		mu[fMessages] = 4
		mu[fBlocks] = 2
		mu[fTools] = 30
		mu[fToolsPresent] = 330 // tool-use system prompt (Claude 4: 313–346)
		mu[fImages] = 4
		mu[fImageTokens] = 1
		mu[fDocPages] = 2200 // 1,500–3,000 text tokens per page plus the page image
		if info.image.maxTokens > ruleClaudeClassic.maxTokens {
			mu[fDocPages] = 3000
		}
	} else {
		mu[fBias] = 3 // reply priming
		mu[fMessages] = 4
		mu[fBlocks] = 1
		mu[fTools] = 10
		mu[fToolsPresent] = 12
		mu[fImages] = 0
		mu[fImageTokens] = 1
		mu[fDocPages] = 1500
	}
	// Correction scales: how large a unit correction is, in tokens per unit of the
	// feature. Structural ones are wide, so that a prior that is far off (a tool-use
	// system prompt of 12 or 300 tokens) is learned from a few responses.
	nu = vec{
		fBias: 10, fMessages: 4, fBlocks: 4, fTools: 20, fToolsPresent: 300,
		fImages: 50, fImageTokens: 1, fDocPages: 2000,
	}
	for j := fTextFirst; j <= fTextLast; j++ {
		nu[j] = baseText[j] * textMul
		if !hasCounter {
			mu[j] = nu[j]
		}
	}
	nu[fLongWords] = 0.5 * textMul // learnable although its prior is zero
	if hasCounter {
		mu[fBPE] = textMul
		nu[fBPE] = textMul
	}
	return mu, nu
}
