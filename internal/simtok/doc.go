// Package simtok is the simulated API's own input-token counter.
//
// It is a stand-in for Claude's tokenizer, which is not public. It is deliberately NOT
// tiktoken and NOT a chars/4 rule: it is a deterministic, content-dependent,
// tokenizer-like count over decoded text, so that a client-side estimator (tiktoken with a
// ratio, a heuristic, a calibrator) can be measured against it honestly, the way it would be
// measured against the real API's usage figures. Nothing here claims to reproduce Claude's
// actual counts.
//
// # The text model
//
// [CountText] splits text into runs by character class:
//
//   - Latin letter runs (split again at lower→upper case changes, as in camelCase): words
//     of up to 3 letters and about 150 common English words cost 1 token; other words of up
//     to 7 letters cost 1 token, or 2 for about a sixth of them (chosen by a stable hash of
//     the lower-cased word); longer words cost ceil(len/k) with k between 4.5 and 5.5,
//     again chosen by the hash.
//   - Digit runs cost 1 token per 2 or 3 digits (by hash).
//   - Each punctuation or symbol character costs 1 token, except that a few common pairs
//     (`":`, `{"`, `",`, `"}`, `//`, `==`, `:=`, `->`, `</`, `/>`, `()`, `[]`, `{}`, `);`)
//     cost 1 together, and a run of 3 or more of one ASCII character costs 1 per 4.
//   - A single space costs nothing (it belongs to the next word); any other run of spaces
//     or tabs costs 1; a run of line breaks costs 1.
//   - Han, kana and Hangul characters cost 1 token each, or 2 for about an eighth of them.
//   - Cyrillic, Greek, Arabic, Hebrew, Armenian, Georgian and other letters cost
//     ceil(len/k) per run with k 2 or 3.
//   - Emoji (pictographs and symbols above U+1F000 and in U+2600–U+27BF) cost 2 or 3;
//     zero-width joiners 1; variation selectors nothing. Any other character costs 1.
//
// Measured against o200k_base (calibrate_test.go, build tag simtok_calibrate): 1.20–1.25×
// for English prose (licence texts), 1.26–1.29× for Go source, 1.5× for JSON records,
// 1.13 tokens per CJK character (1.5×), 1.9× for Russian, 1.5× for emoji-heavy chat.
//
// # Requests
//
// [CountAnthropicRequest] charges a Messages (or count_tokens) request body the way the
// simulated server charges ITPM; [CountOpenAIRequest] does the same for a Chat Completions
// body. Both decode the JSON before counting, so escaping does not change the result.
// [CountAnthropicRequestWith] and [CountOpenAIRequestWith] take another [TextCounter] for
// the text (a BPE vocabulary, say), so that a simulation can count the way a client's
// estimator does not.
//
// All functions are pure, safe for concurrent use, and never panic on any input.
package simtok
