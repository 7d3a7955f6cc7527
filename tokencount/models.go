package tokencount

import (
	"strings"

	"github.com/ratekeeper/ratekeeper/tier"
)

// Limits are the per-model limits against which an Estimator rejects requests that can
// never succeed: a request whose input estimate plus max_tokens exceeds ContextWindow,
// or whose body exceeds MaxBodyBytes, is rejected with a *TooLargeError. A zero field
// disables its check. The built-in ones are the catalog's, tier.RequestLimitsOf; override
// them with WithModelLimits.
type Limits = tier.RequestLimits

// modelInfo is what the estimator knows about a model family.
type modelInfo struct {
	prefix string
	image  imageRule
	// textFactor scales the text priors for tokenizers that produce more tokens than
	// the Claude 3/4 baseline (Opus 4.7: 1.0–1.35x; the "5" models: ~1.3x).
	textFactor float64
	// defaultMaxOutput is the output reservation per choice when an OpenAI request
	// sets no max_tokens / max_completion_tokens.
	defaultMaxOutput int64
}

// The model tables: how each model family tokenizes (text and images) and what it
// outputs by default. Its request limits are the catalog's (tier.RequestLimitsOf).
// Sources: platform.claude.com docs (vision, PDF support, migration guide) and
// developers.openai.com (models, vision), as stored in /work/shared/reference in 2026.
// Lookup is by longest matching model-ID prefix; the entry with the empty prefix is the
// default.
var anthropicModels = []modelInfo{
	{prefix: "", image: ruleClaudeLarge, textFactor: 1.3},
	{prefix: "claude-3", image: ruleClaudeClassic, textFactor: 1},
	{prefix: "claude-opus-4", image: ruleClaudeClassic, textFactor: 1},
	{prefix: "claude-sonnet-4", image: ruleClaudeClassic, textFactor: 1},
	{prefix: "claude-haiku-4", image: ruleClaudeClassic, textFactor: 1},
	{prefix: "claude-opus-4-6", image: ruleClaudeClassic, textFactor: 1},
	{prefix: "claude-sonnet-4-6", image: ruleClaudeClassic, textFactor: 1},
	{prefix: "claude-opus-4-7", image: ruleClaudeLarge, textFactor: 1.2},
	{prefix: "claude-opus-4-8", image: ruleClaudeLarge, textFactor: 1.2},
	{prefix: "claude-opus-5", image: ruleClaudeLarge, textFactor: 1.3},
	{prefix: "claude-sonnet-5", image: ruleClaudeLarge, textFactor: 1.3},
	{prefix: "claude-haiku-5", image: ruleClaudeLarge, textFactor: 1.3},
}

var openAIModels = []modelInfo{
	{prefix: "", image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 16_384},
	{prefix: "gpt-3.5-turbo", image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 4_096},
	{prefix: "gpt-4", image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 8_192},
	{prefix: "gpt-4-turbo", image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 4_096},
	{prefix: "gpt-4o", image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 16_384},
	{prefix: "gpt-4o-mini", image: ruleOpenAITilesMini, textFactor: 1, defaultMaxOutput: 16_384},
	{prefix: "gpt-4.1", image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 32_768},
	{prefix: "gpt-4.1-mini", image: imageRule{kind: imageOpenAIPatches, maxTokens: 1536, mult: 1.62}, textFactor: 1, defaultMaxOutput: 32_768},
	{prefix: "gpt-4.1-nano", image: imageRule{kind: imageOpenAIPatches, maxTokens: 1536, mult: 2.46}, textFactor: 1, defaultMaxOutput: 32_768},
	{prefix: "gpt-5", image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 128_000},
	{prefix: "o1", image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 100_000},
	{prefix: "o3", image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 100_000},
	{prefix: "o4-mini", image: imageRule{kind: imageOpenAIPatches, maxTokens: 1536, mult: 1.72}, textFactor: 1, defaultMaxOutput: 100_000},
}

// modelsOf returns provider p's table (Anthropic's for any other: callers
// check the provider first).
func modelsOf(p tier.Provider) []modelInfo {
	if p == tier.OpenAI {
		return openAIModels
	}
	return anthropicModels
}

// lookupModel returns the entry with the longest prefix of model.
func lookupModel(table []modelInfo, model string) modelInfo {
	best := table[0]
	for _, m := range table[1:] {
		if len(m.prefix) > len(best.prefix) && strings.HasPrefix(model, m.prefix) {
			best = m
		}
	}
	return best
}

// calibrationKey maps a model ID to the key its calibration is learned under: the ID
// without a trailing date ("-20250929", "-2024-08-06") or "-latest", so that snapshots
// of one model share what was learned.
func calibrationKey(model string) string {
	m := strings.TrimSuffix(model, "-latest")
	// -YYYYMMDD
	if n := len(m); n > 9 && m[n-9] == '-' && allDigits(m[n-8:]) {
		m = m[:n-9]
	}
	// -YYYY-MM-DD
	if n := len(m); n > 11 && m[n-11] == '-' && m[n-6] == '-' && m[n-3] == '-' &&
		allDigits(m[n-10:n-6]+m[n-5:n-3]+m[n-2:]) {
		m = m[:n-11]
	}
	return m
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}
