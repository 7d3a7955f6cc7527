package tokencount

import "strings"

// Limits are the per-model limits against which an Estimator rejects requests that can
// never succeed. A zero field disables its check.
type Limits struct {
	// ContextWindow is the model's context window in tokens: a request whose input
	// estimate plus max_tokens exceeds it is rejected with a *TooLargeError.
	ContextWindow int64
	// MaxBodyBytes is the API's request size limit in bytes.
	MaxBodyBytes int64
}

// Provider names the API whose request format a body follows.
type Provider uint8

const (
	// Anthropic is the Claude Messages API (POST /v1/messages).
	Anthropic Provider = iota + 1
	// OpenAI is the OpenAI Chat Completions API (POST /v1/chat/completions).
	OpenAI
)

// String returns "anthropic" or "openai".
func (p Provider) String() string {
	switch p {
	case Anthropic:
		return "anthropic"
	case OpenAI:
		return "openai"
	}
	return "unknown"
}

// modelInfo is what the estimator knows about a model family.
type modelInfo struct {
	prefix string
	limits Limits
	image  imageRule
	// textFactor scales the text priors for tokenizers that produce more tokens than
	// the Claude 3/4 baseline (Opus 4.7: 1.0–1.35x; the "5" models: ~1.3x).
	textFactor float64
	// defaultMaxOutput is the output reservation per choice when an OpenAI request
	// sets no max_tokens / max_completion_tokens.
	defaultMaxOutput int64
}

// anthropicMaxBody is the Messages API request size limit: 32 MB (taken as MiB, so
// that only bodies that surely exceed it are rejected).
const anthropicMaxBody = 32 << 20

// The model tables. Sources: platform.claude.com docs (rate limits, vision, PDF support,
// migration guide) and developers.openai.com (models, vision), as stored in
// /work/shared/reference in 2026. Context windows are the largest any configuration of
// the model offers (e.g. Sonnet 4 and 4.5 with the 1M-context beta), so that a request
// is rejected only when it cannot succeed; tighten them with WithModelLimits. Lookup is
// by longest matching model-ID prefix; the entry with the empty prefix is the default.
var anthropicModels = []modelInfo{
	{prefix: "", limits: Limits{1_000_000, anthropicMaxBody}, image: ruleClaudeLarge, textFactor: 1.3},
	{prefix: "claude-3", limits: Limits{200_000, anthropicMaxBody}, image: ruleClaudeClassic, textFactor: 1},
	{prefix: "claude-opus-4", limits: Limits{200_000, anthropicMaxBody}, image: ruleClaudeClassic, textFactor: 1},
	{prefix: "claude-sonnet-4", limits: Limits{1_000_000, anthropicMaxBody}, image: ruleClaudeClassic, textFactor: 1},
	{prefix: "claude-haiku-4", limits: Limits{200_000, anthropicMaxBody}, image: ruleClaudeClassic, textFactor: 1},
	{prefix: "claude-opus-4-6", limits: Limits{1_000_000, anthropicMaxBody}, image: ruleClaudeClassic, textFactor: 1},
	{prefix: "claude-sonnet-4-6", limits: Limits{1_000_000, anthropicMaxBody}, image: ruleClaudeClassic, textFactor: 1},
	{prefix: "claude-opus-4-7", limits: Limits{1_000_000, anthropicMaxBody}, image: ruleClaudeLarge, textFactor: 1.2},
	{prefix: "claude-opus-4-8", limits: Limits{1_000_000, anthropicMaxBody}, image: ruleClaudeLarge, textFactor: 1.2},
	{prefix: "claude-opus-5", limits: Limits{1_000_000, anthropicMaxBody}, image: ruleClaudeLarge, textFactor: 1.3},
	{prefix: "claude-sonnet-5", limits: Limits{1_000_000, anthropicMaxBody}, image: ruleClaudeLarge, textFactor: 1.3},
	{prefix: "claude-haiku-5", limits: Limits{1_000_000, anthropicMaxBody}, image: ruleClaudeLarge, textFactor: 1.3},
}

var openAIModels = []modelInfo{
	{prefix: "", image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 16_384},
	{prefix: "gpt-3.5-turbo", limits: Limits{ContextWindow: 16_385}, image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 4_096},
	{prefix: "gpt-4", limits: Limits{ContextWindow: 8_192}, image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 8_192},
	{prefix: "gpt-4-turbo", limits: Limits{ContextWindow: 128_000}, image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 4_096},
	{prefix: "gpt-4o", limits: Limits{ContextWindow: 128_000}, image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 16_384},
	{prefix: "gpt-4o-mini", limits: Limits{ContextWindow: 128_000}, image: ruleOpenAITilesMini, textFactor: 1, defaultMaxOutput: 16_384},
	{prefix: "gpt-4.1", limits: Limits{ContextWindow: 1_047_576}, image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 32_768},
	{prefix: "gpt-4.1-mini", limits: Limits{ContextWindow: 1_047_576}, image: imageRule{kind: imageOpenAIPatches, maxTokens: 1536, mult: 1.62}, textFactor: 1, defaultMaxOutput: 32_768},
	{prefix: "gpt-4.1-nano", limits: Limits{ContextWindow: 1_047_576}, image: imageRule{kind: imageOpenAIPatches, maxTokens: 1536, mult: 2.46}, textFactor: 1, defaultMaxOutput: 32_768},
	{prefix: "gpt-5", limits: Limits{ContextWindow: 400_000}, image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 128_000},
	{prefix: "o1", limits: Limits{ContextWindow: 200_000}, image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 100_000},
	{prefix: "o3", limits: Limits{ContextWindow: 200_000}, image: ruleOpenAITiles, textFactor: 1, defaultMaxOutput: 100_000},
	{prefix: "o4-mini", limits: Limits{ContextWindow: 200_000}, image: imageRule{kind: imageOpenAIPatches, maxTokens: 1536, mult: 1.72}, textFactor: 1, defaultMaxOutput: 100_000},
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
