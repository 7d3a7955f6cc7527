// Package tier answers "how much may I send?" for an account of the Claude
// (Anthropic) or OpenAI API.
//
// A [Budget] holds the limits of one rate-limit pool: requests, input
// tokens and output tokens per minute (RPM, ITPM, OTPM, Anthropic's
// dimensions), tokens per minute and requests and tokens per day (TPM, RPD,
// TPD, OpenAI's), plus Burst and Headroom settings. The limiter package
// turns a Budget into token buckets.
//
// # Presets
//
// The published limit tables are embedded as JSON (data/anthropic.json,
// data/openai.json), so updating a table is a data change. Each row carries
// the date and URL of the docs version it was read from ([Source]).
// [Lookup] returns the [Preset] of a tier and model:
//
//   - Anthropic, current scheme (2026): tiers "start", "build", "scale".
//   - Anthropic, legacy scheme (2025): "tier-1" … "tier-4", with rows for
//     Claude 3 models from the mid-2025 tables.
//   - OpenAI: the tier ladder "free", "tier-1" … "tier-5" (monthly usage
//     limits). OpenAI publishes per-model numbers per organization, and
//     none ship here: give them in a [Config].
//
// Models map to classes that share one pool ("Opus 4.x" covers Opus 4.5 to
// 4.8); dated IDs such as "claude-sonnet-4-5-20250929" match their alias.
// A preset also says whether cache reads count toward ITPM
// ([Class.CacheReadsCount]), the context window, the request size limit,
// and the tier's Message Batches, token-counting and spend limits.
// [Presets] and [Tiers] list everything. [RequestLimitsOf] gives what one
// request to a model may hold in any tier (the largest context window any
// configuration offers, the body size limit): what tokencount refuses above.
//
// # Configuration
//
// Most callers should load a [Config] ([LoadConfig], [LoadConfigFile],
// [ConfigFromEnv]) and call [Config.Budget] with the model they are about
// to call. A Config names a preset tier and overrides it per model or for a
// workspace ("build tier, but our workspace is capped at 200k ITPM"). A
// Budget can also be built by hand, decoded from JSON
// ([Budget.UnmarshalJSON], then [Budget.Validate]), or derived with
// [Override.Apply]. Every validation error is a *[FieldError] naming the
// field.
//
// # What the server says
//
// [ParseHeaders] turns a response's rate-limit headers into an
// [Observation]; [ParseErrorBody] turns a 429, 529 or other error body into
// an [APIError] that says whether a retry can help. [Infer] matches
// observed limits against the presets, and [Compare] reports where they
// disagree with a configured budget.
//
// Parsers take the current time as a parameter and never read the clock;
// they never panic, whatever the input. All functions are safe for
// concurrent use: the package has no mutable state.
package tier
