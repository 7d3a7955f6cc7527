// Package tokencount estimates, before a request is sent, how many input tokens a Claude
// Messages or OpenAI Chat Completions request will be charged and how many output tokens
// to reserve for it, and learns from the usage that responses report.
//
// There is no public tokenizer for current Claude models, and tiktoken counts are off by
// a content-dependent factor. So the estimate is fast, conservative and self-correcting:
//
//  1. The request body is parsed once, in a single pass without copying (system prompt,
//     messages with string or block content, text, images, documents, tool use and
//     results, thinking, tool definitions, max_tokens, n, stream), into Features: counts
//     of words, long words, digit groups, punctuation runs, whitespace runs, CJK and other
//     scripts, messages, tools, image tokens and PDF pages. Images cost what the provider
//     documents for their size, read from the PNG, JPEG, GIF or WebP header inside the
//     base64 data without decoding the image; PDFs cost a per-page estimate.
//  2. A per-model calibrator turns Features into tokens: prior weights (fitted to
//     o200k_base and scaled for Claude), corrected by an online, outlier-robust ridge
//     regression on the usage each response reports (Observe). Estimates converge to the
//     server's counts within a few dozen responses. Outliers are judged against the
//     spread of errors on the request's own kind of content, so a lasting change in one
//     kind (a server that charges Cyrillic three times the estimate) is learned within a
//     few responses, while a stray report on familiar content is discounted.
//  3. A safety margin is added, per kind of content (request structure, Latin-script
//     words, code and JSON punctuation, digits, CJK, other scripts, symbols, images):
//     15% at first and for any kind not yet seen, then the learned quantile of that
//     kind's recent underestimates. A request's margin is the average of its kinds'
//     margins, weighted by their shares of it. Underestimates (which cause 429s) stay
//     rare, overestimates (which hold budget while a call is in flight) shrink as
//     confidence grows, and an underestimate of one kind widens only the margins of
//     requests made of it. One response can raise a margin to at most 1.5 times what it
//     was plus 0.02, and no margin exceeds Margin.Max (100% by default). See Margin.
//
// Most callers should create one Estimator with New() and, for each request, call
// EstimateAnthropic or EstimateOpenAI with the body about to be sent, reserve
// Estimate.InputTokens and Estimate.OutputReserve, and after the response call Observe
// with the usage it reported. Stats reports each model's current error statistics.
//
// Requests that can never succeed fail at once with a *TooLargeError (matching
// ErrTooLarge): a body above the API's size limit (32 MiB for Claude), or an input
// estimate plus max_tokens beyond the model's context window. The limits come from a
// small table keyed by model-ID prefix (longest match wins) that records the largest
// window any configuration of a model offers; WithModelLimits overrides it. Bodies that
// are not JSON, or lack model, messages or (Claude) max_tokens, fail with a
// *MalformedError (matching ErrMalformed) naming the offending path. Unknown content
// block types are not rejected: their whole JSON is counted as text.
//
// # Message Batches
//
// EstimateAnthropicBatch estimates a Message Batches create body (POST
// /v1/messages/batches): each request's params as EstimateAnthropic estimates a
// Messages body, and the totals. It also checks what the API refuses when a batch is
// created — no requests, more than MaxBatchRequests, a body above MaxBatchBytes, a
// custom_id that is missing, repeated or not of the required form — and reports a bad
// request as a *BatchItemError that names its index and custom_id and wraps the
// *MalformedError or *TooLargeError.
//
// # Counting modes
//
// The default mode is the character-class heuristic: it loads no vocabulary, allocates
// nothing while counting, and runs 70–300 times as fast as tiktoken-go. With
// WithCounter, text is also counted by a Counter, and that count becomes the basis of
// the estimate. Package tokencount/bpe provides tiktoken-go's o200k_base and cl100k_base
// as Counters, with vocabularies embedded in the binary (no network call, ever) and a
// cap that keeps counting linear in the text's length:
//
//	c, err := bpe.Load(bpe.O200K) // ~0.1–0.2 s and 11–22 MiB of heap, once per process
//	...
//	e, err := tokencount.New(tokencount.WithCounter(c))
//
// It is a separate package so that programs that do not import it carry no vocabulary
// (about 7 MB). Against a server that does not count like tiktoken, BPE is no more
// accurate than the calibrated heuristic; it is useful for OpenAI models, whose
// tokenizers it is.
//
// # Output reservation
//
// The default OutputPolicy reserves max_tokens (times n), the worst case, which is what
// older API versions charge up front. ReserveLearned(q) reserves the q-quantile of the
// model's recent outputs instead; the limiter reconciles the difference when the
// response reports its usage.
//
// An Estimator is safe for concurrent use by multiple goroutines. Estimates never take
// a lock on the hot path; Observe takes a short per-model lock. Memory is bounded: per
// model, a few kilobytes of calibration state and 128 recent observations, for at most
// 64 models (more share one calibrator). The package has no mutable global state.
package tokencount
