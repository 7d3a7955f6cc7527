package tier

// RequestLimits are what one request to a model may hold before the API
// refuses it whatever the rate limits: its context window and its body
// size. They are read so that only what cannot succeed is refused: the
// window is the largest any configuration of the model offers (the
// long-context one where a beta opens it), and a megabyte of a size limit
// is 2^20 bytes. A zero field is not known, and checks nothing.
type RequestLimits struct {
	// ContextWindow is the model's context window in tokens: a request
	// whose input plus max_tokens exceeds it cannot succeed.
	ContextWindow int64
	// MaxBodyBytes is the API's request size limit in bytes, the same for
	// every model of a provider.
	MaxBodyBytes int64
}

// RequestLimitsOf returns the request limits of model on provider p's API
// (Messages, Chat Completions), whatever the tier. The window is the
// embedded tables' entry for the longest prefix of the model ID they list;
// for an ID none matches it is, for Anthropic, the largest window of any
// model (a new model is not refused for its size before its entry exists),
// and zero for OpenAI. An unknown provider has zero limits.
func RequestLimitsOf(p Provider, model string) RequestLimits {
	pd := known(p)
	if pd == nil {
		return RequestLimits{}
	}
	return RequestLimits{ContextWindow: pd.windows.of(model), MaxBodyBytes: pd.maxRequestBytes}
}
