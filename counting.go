package ratekeeper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
)

// Exact counts while the estimate is unsure.
//
// An estimate carries a margin (tokencount.Estimate.Margin) that is wide
// while the estimator knows little about a model or a kind of content —
// the first requests, a script or format it has not seen — and the input
// reservation of such a request can be several times what the server will
// count: quota that waits unused. Above CountAbove, the Keeper asks the
// server first, through POST /v1/messages/count_tokens (free, limited by
// its own requests-per-minute bucket, which the Keeper budgets with its
// own limiter), reserves the count plus CountSlack, and feeds the count
// to the estimator, which narrows the margin for what follows. Counting
// never waits: when its budget is spent, or it failed within countPause,
// the call goes on with its estimate.
const (
	// CountAbove is the estimate margin above which an Anthropic request
	// is counted by the server before it is admitted.
	CountAbove = 0.05
	// CountSlack is what a counted request reserves beyond the count: the
	// count is the server's own, but a request may differ from its count
	// by a few tokens (a tool's system prompt, the count's own rounding).
	CountSlack = 0.01
)

const (
	countDefault = -1               // WithCountTokens (WithBatchRPM) unset: the tier's published limit
	countTimeout = 10 * time.Second // one count_tokens call
	countPause   = time.Minute      // no counting after a failure
)

// countFields are the fields of a Messages body that count_tokens takes;
// it refuses the others (max_tokens, stream, temperature, …).
var countFields = []string{"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers"}

// WithCountTokens budgets the count_tokens calls the Keeper makes for
// requests whose estimate is unsure (see CountAbove) at rpm requests per
// minute, shared by every model of this Keeper. 0 turns counting off; a
// negative rpm, like the default, takes the limit published for the
// configured Anthropic tier (none for OpenAI, whose API has no such
// endpoint; none when the tier publishes no limit). Callers who call
// count_tokens themselves through the same API key should leave room for
// those calls.
func WithCountTokens(rpm int64) Option {
	return func(k *Keeper) error {
		if rpm > tier.MaxLimit {
			return fmt.Errorf("ratekeeper: count_tokens rpm %d above %d", rpm, int64(tier.MaxLimit))
		}
		k.countRPM = rpm
		return nil
	}
}

// setupCounting resolves countRPM into the counting budget.
func (k *Keeper) setupCounting() (err error) {
	k.counter, err = k.endpointBudget("count_tokens", k.countRPM, func(t tier.TierInfo) int64 { return t.CountTokensRPM })
	return err
}

// unsure reports whether c's input estimate is unsure enough to count.
func (c *call) unsure() bool {
	k := c.k
	return k.counter != nil && c.rt.provider == tier.Anthropic && c.est.Margin > CountAbove &&
		time.Now().UnixNano() >= k.countPaused.Load()
}

// countInput asks the server for c's exact input count, if its budget
// allows at once, and reserves it. Any failure leaves c's estimate as it
// was and pauses counting for countPause (logged at debug).
func (c *call) countInput(ctx context.Context) {
	k := c.k
	r, err := k.counter.Allow(ctx, limiter.Cost{Requests: 1})
	if err != nil {
		return // its budget is spent: go on with the estimate
	}
	_ = r.Commit(limiter.Cost{Requests: 1}) // a count sent is a count charged
	n, err := c.askCount(ctx)
	if err != nil {
		k.countPaused.Store(time.Now().Add(countPause).UnixNano())
		k.debug(ctx, "ratekeeper: count_tokens failed; estimating for a while", c, 0, slog.String("error", err.Error()))
		return
	}
	k.est.Observe(c.est, n, -1)
	c.cost.InputTokens = n + int64(math.Ceil(float64(n)*CountSlack))
	e := c.event(Counted, 0)
	e.Cost = limiter.Cost{InputTokens: n}
	c.emit(ctx, e)
}

// errCount is a count_tokens response that is not a count.
var errCount = errors.New("ratekeeper: count_tokens")

// askCount sends c's body, less what count_tokens refuses, to
// …/v1/messages/count_tokens through the rest of the chain (which carries
// the API key) and returns the server's count.
func (c *call) askCount(ctx context.Context) (int64, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &m); err != nil {
		return 0, err
	}
	keep := make(map[string]json.RawMessage, len(countFields))
	for _, f := range countFields {
		if v, ok := m[f]; ok {
			keep[f] = v
		}
	}
	body, err := json.Marshal(keep)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, countTimeout)
	defer cancel()
	req := c.req.Clone(ctx)
	req.URL.Path = strings.TrimSuffix(req.URL.Path, "/") + "/count_tokens"
	req.URL.RawPath = ""
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.ContentLength = int64(len(body))
	req.Header = req.Header.Clone()
	req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	res, err := c.send(req)
	if err != nil {
		return 0, err
	}
	b := readErrorBody(ctx, res.Body)
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%w: status %d", errCount, res.StatusCode)
	}
	var out struct {
		InputTokens *int64 `json:"input_tokens"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.InputTokens == nil {
		return 0, fmt.Errorf("%w: no input_tokens in the response", errCount)
	}
	n := *out.InputTokens
	if n < 0 || n > c.est.MaxInputTokens {
		return 0, fmt.Errorf("%w: %w: a count of %d", errCount, ErrImplausible, n)
	}
	return n, nil
}
