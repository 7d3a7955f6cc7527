// Package simapi is a simulated Claude Messages API (and OpenAI Chat Completions API)
// that behaves like the real services where rate limits are concerned. Every test and
// benchmark of ratekeeper runs against it; it shares no code with the limiter it tests.
// Import it to test your own code against a server that refuses like Claude: in process
// (Server.Transport, instant under testing/synctest) or on loopback (Server.Start), with
// the limits of your tier (TierClasses) or your own, sub-minute buckets, overload windows,
// both output accounting modes, count_tokens, and a Ledger of what it admitted.
//
// # Routes
//
//   - POST /v1/messages: JSON, or a `stream: true` SSE stream (message_start,
//     content_block_start, ping, content_block_delta…, content_block_stop, message_delta
//     with cumulative usage, message_stop).
//   - POST /v1/messages/count_tokens: {"input_tokens": N}; limited only by
//     Config.CountTokensRPM.
//   - POST /v1/chat/completions (OpenAI): JSON or SSE chunks; with
//     stream_options.include_usage a final chunk with `choices: []` and usage, then
//     `data: [DONE]`.
//   - POST /v1/messages/batches: creates a Message Batch from `{"requests": [{"custom_id":
//     …, "params": {…}}, …]}` and answers it in_progress. 400 for a malformed envelope,
//     no requests, more than Config.MaxBatchRequests, a custom_id not matching
//     ^[a-zA-Z0-9_-]{1,64}$ or used twice, params not an object; 413 above
//     Config.MaxBatchBytes.
//   - GET /v1/messages/batches: the key's batches newest first, a page at a time (limit
//     1 to 1000, default 20; after_id pages to older batches, before_id to newer).
//   - GET /v1/messages/batches/{id}: the batch, as it stands; DELETE deletes it once it
//     has ended (400 before).
//   - POST /v1/messages/batches/{id}/cancel: the batch is canceling for a second, then
//     its unprocessed requests are canceled and it ends (400 once ended).
//   - GET /v1/messages/batches/{id}/results: once ended (400 before), application/x-jsonl,
//     one result per line, in an order that is not the submission order.
//
// The batch routes answer in the shapes of anthropic-sdk-go's MessageBatch types; another
// key's batch ids are 404. Request i of n of a batch is processed at created +
// Config.BatchLatency*(i+1)/n, and every call sees the batch as it stands at that instant.
// Params are checked when a request is processed, not at creation: invalid ones make an
// errored result. A succeeded result is the Message POST /v1/messages would answer (the
// same input count and output-length draw from the params and Config.Seed; the create's
// x-sim-output-tokens applies to every request), with service_tier "batch".
// Config.BatchOutcome makes requests errored (api_error) or expired on cue.
//
// The API key is x-api-key (or a bearer token) on the Anthropic routes and the bearer token
// on the OpenAI route. A model maps to a Class by its longest matching prefix; unknown
// models get 404.
//
// # Admission
//
// Each (API key, class) has token buckets refilled continuously at the per-minute limit:
// RPM, ITPM and OTPM for Anthropic classes, RPM and TPM for OpenAI classes. Config.Burst
// shrinks their capacity below a full minute (sub-minute enforcement). Input tokens are
// counted by package simtok, deliberately not the client's estimator (Config.TextCounter
// swaps in another vocabulary for the text, a BPE encoding say), and charged at
// admission. Output is charged per Config.OutputPolicy: reserved as max_tokens and settled
// at the end (2025 docs), or charged as produced (2026 docs). A request is admitted only if
// every bucket can take it; refusals charge nothing. Output lengths are drawn
// deterministically from the request body and Config.Seed (1..max_tokens), or set exactly
// by the request header x-sim-output-tokens; generation takes Config.PerTokenLatency per
// token on timers, so it is instant under testing/synctest.
//
// Message Batches have limits of their own, per key, and are not charged to the Messages
// buckets: Config.BatchRPM, one bucket for every batch endpoint (429 rate_limit_error with
// retry-after), and Config.BatchQueue, the requests of the key's batches not yet
// processed: a create that would overfill it is answered 429 rate_limit_error with a
// retry-after for when enough queued requests will have been processed (x-should-retry
// false, and no retry-after, when the batch alone is larger than the queue). The batch
// routes send no anthropic-ratelimit-* headers. TierBatchLimits gives a tier's batch limits
// from the presets.
//
// Answers: 429 rate_limit_error with retry-after (whole seconds, rounded up); 429 with
// details.error_code enforced_spend_limit_reached and no retry-after for a spend-limited
// key; 529 overloaded_error during Config.OverloadWindows, above Config.MaxConcurrent
// requests in flight, or with probability Config.OverloadProbability; 400
// invalid_request_error for malformed bodies; 401 without a key; 404 for unknown routes and
// models. Every response carries request-id, and every response whose key and class are
// known carries the anthropic-ratelimit-{requests,input-tokens,output-tokens,tokens}-
// {limit,remaining,reset} headers (reset in RFC 3339; token remaining rounded to the nearest
// thousand unless Config.ExactRemaining). The OpenAI route answers in OpenAI's shapes:
// x-ratelimit-{limit,remaining,reset}-{requests,tokens} headers with Go-style durations,
// rate_limit_exceeded and insufficient_quota bodies, 503 when overloaded.
//
// # Use
//
// Most tests create a Server with New, call Start for a loopback URL (or, inside a
// testing/synctest bubble, use Transport in an http.Client), point the official SDK at it
// with its base-URL option, and read the Ledger: outcome counts per key and class, and
// MaxWindowUsage, the exact maximum usage in any sliding window, which is how a test
// proves that a client never exceeded a limit. For batches, Ledger.BatchSubmissions says
// how often each custom_id was submitted, Ledger.Batches what was created and when it ended,
// Ledger.BatchCounts the calls by answer (queue-full and RPM 429s apart), and
// Server.BatchQueue what is queued now. Server.MinimumTime is the theoretical
// minimum of what a key used, from the server's own bucket sizes (Server.Buckets) and
// overload windows: benchmarks divide it by wall time. Server.InputTokens and
// Server.OutputTokens say what the server charges and generates for a request, for a
// benchmark's oracle. Close ends everything the server started.
//
// The server reads time only from time.Now and waits only on timers.
package simapi
