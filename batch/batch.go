package batch

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"golang.org/x/time/rate"

	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// Request is one item of a workload: a Messages body and the ID its
// result comes back under.
type Request struct {
	// CustomID names the item; 1 to 64 of a-z, A-Z, 0-9, _ and -, unique
	// in the workload.
	CustomID string
	// Params is the Messages body (what POST /v1/messages takes), without
	// "stream".
	Params json.RawMessage
}

// ResultType is the outcome of an item, as the API names it.
type ResultType string

// The outcomes of an item.
const (
	Succeeded ResultType = "succeeded"
	Errored   ResultType = "errored"
	Canceled  ResultType = "canceled"
	Expired   ResultType = "expired"
)

// Result is the final outcome of one item.
type Result struct {
	CustomID string
	Type     ResultType
	// Message is the response (a Messages API Message) when Type is
	// Succeeded.
	Message json.RawMessage
	// Error is the error response ({"type":"error","error":{…}}) when Type
	// is Errored; ErrorType is its error's type (invalid_request_error,
	// api_error…).
	Error     json.RawMessage
	ErrorType string
	// BatchID is the batch the result came from.
	BatchID string
	// Submissions is how many times the item was submitted, this result's
	// submission included.
	Submissions int
}

// Resubmit selects the final outcomes that are submitted again, in a later
// batch, until Options.MaxSubmissions.
type Resubmit int

// The outcomes that can be resubmitted. An item the API rejected
// (invalid_request_error and the like) is never resubmitted: it would fail
// again.
const (
	// ResubmitExpired resubmits items the batch did not process within
	// its 24 hours.
	ResubmitExpired Resubmit = 1 << iota
	// ResubmitErrored resubmits items that failed on the server's side
	// (api_error, overloaded_error, rate_limit_error, timeout_error).
	ResubmitErrored
)

// Options configure a Runner. The zero Options are valid: the API's
// per-batch limits, no rate or queue limit, state in memory, expired and
// server-errored items resubmitted up to three submissions in all.
type Options struct {
	// Limits are the tier's batch limits, e.g. tier.LookupTier(p,
	// "tier-1").Batches. Zero fields mean: MaxRequestsPerBatch and
	// MaxBatchBytes as the API documents them (100,000 and 256,000,000); RPM (the requests per
	// minute of all batch calls) and QueuedRequests (items in the
	// processing queue at once) not limited here.
	Limits tier.BatchLimits

	// State is the path of the state file that makes Run resumable; empty
	// keeps the state in memory. One Run at a time may use a state file.
	State string

	// Resubmit selects the outcomes submitted again; nil means
	// ResubmitExpired|ResubmitErrored. Give a pointer to 0 to resubmit
	// nothing.
	Resubmit *Resubmit
	// MaxSubmissions bounds how many times one item is submitted, in all;
	// zero means 3.
	MaxSubmissions int

	// Poll is the first wait before a batch is retrieved again; the wait
	// doubles after every retrieval, up to MaxPoll. Zero means 5 s and
	// 1 min.
	Poll, MaxPoll time.Duration

	// Estimator checks each item before anything is submitted (its body,
	// its model's context window); nil means tokencount.New().
	Estimator *tokencount.Estimator

	// Progress, when set, is told the Runner's counts after every change.
	// It is called from Run's goroutine; it must not block.
	Progress func(Progress)
}

// Progress is a Runner's account of a workload.
type Progress struct {
	Items      int // in the workload
	Done       int // final results delivered (this run and before)
	Pending    int // not yet submitted (or to be submitted again)
	Processing int // in the batches this Run waits for
	Batches    int // batches this Run waits for
	// QueueFull is set while a submission waits for room in the
	// processing queue.
	QueueFull bool
}

// Summary is what one Run did.
type Summary struct {
	Batches     int // batches created
	Adopted     int // batches found by listing after a create's answer was lost
	Submitted   int // items submitted (resubmissions included)
	Resubmitted int // items submitted again after an expired or errored result
	Delivered   map[ResultType]int
	Skipped     int // items whose result an earlier Run delivered
}

// Runner runs workloads through the Message Batches API. It is safe for
// use by one Run at a time per state file.
type Runner struct {
	api  api
	opts Options
	lim  *rate.Limiter // the batch RPM; nil when not limited
}

// New returns a Runner that sends through client. Give the client the
// options of the account (key, base URL); its own retries apply to
// retrievals and listings, never to creates.
func New(client anthropic.Client, opts Options) (*Runner, error) {
	return newRunner(anthropicAPI{svc: &client.Messages.Batches}, opts)
}

func newRunner(a api, opts Options) (*Runner, error) {
	l := &opts.Limits
	if l.RPM < 0 || l.QueuedRequests < 0 || l.MaxRequestsPerBatch < 0 || l.MaxBatchBytes < 0 || opts.MaxSubmissions < 0 ||
		opts.Poll < 0 || opts.MaxPoll < 0 {
		return nil, errors.New("batch: negative limit or interval in Options")
	}
	if l.MaxRequestsPerBatch == 0 || l.MaxRequestsPerBatch > tokencount.MaxBatchRequests {
		l.MaxRequestsPerBatch = tokencount.MaxBatchRequests
	}
	if l.MaxBatchBytes == 0 || l.MaxBatchBytes > defaultBatchBytes {
		l.MaxBatchBytes = defaultBatchBytes
	}
	if l.QueuedRequests > 0 && l.QueuedRequests < l.MaxRequestsPerBatch {
		l.MaxRequestsPerBatch = l.QueuedRequests
	}
	if opts.Resubmit == nil {
		all := ResubmitExpired | ResubmitErrored
		opts.Resubmit = &all
	}
	if opts.MaxSubmissions == 0 {
		opts.MaxSubmissions = 3
	}
	if opts.Poll == 0 {
		opts.Poll = 5 * time.Second
	}
	if opts.MaxPoll == 0 {
		opts.MaxPoll = time.Minute
	}
	opts.MaxPoll = max(opts.MaxPoll, opts.Poll)
	if opts.Estimator == nil {
		est, err := tokencount.New()
		if err != nil {
			return nil, err
		}
		opts.Estimator = est
	}
	r := &Runner{api: a, opts: opts}
	if l.RPM > 0 {
		r.lim = rate.NewLimiter(rate.Limit(float64(l.RPM)/60), 1)
	}
	return r, nil
}

// defaultBatchBytes is the most bytes a create sends: the documented
// "256 MB" read as decimal, the smaller of its two readings (the tier
// tables say 256,000,000; tokencount refuses only what is surely above it,
// 256 MiB).
const defaultBatchBytes = 256_000_000

// ItemError is one item that cannot be submitted.
type ItemError struct {
	Index    int // in the requests given to Run
	CustomID string
	Err      error
}

func (e *ItemError) Error() string {
	return fmt.Sprintf("request %d (custom_id %q): %v", e.Index, e.CustomID, e.Err)
}
func (e *ItemError) Unwrap() error { return e.Err }

// InvalidError lists the items of a workload that cannot be submitted:
// Run returns it before it submits anything.
type InvalidError struct{ Items []*ItemError }

func (e *InvalidError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "batch: %d of the requests cannot be submitted", len(e.Items))
	for i, it := range e.Items {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.Items)-i)
			break
		}
		b.WriteString("; ")
		b.WriteString(it.Error())
	}
	return b.String()
}

// Unwrap gives the items' errors, for errors.Is and errors.As.
func (e *InvalidError) Unwrap() []error {
	errs := make([]error, len(e.Items))
	for i, it := range e.Items {
		errs[i] = it
	}
	return errs
}

// Reasons an item is refused besides the API's own (which
// tokencount.EstimateAnthropicBatch checks).
var (
	// ErrDuplicate: another item of the workload has the custom_id (its
	// results could not be told apart, even in another batch).
	ErrDuplicate = errors.New("custom_id is not unique in the workload")
	// ErrTooLarge: the item alone is larger than a batch may be.
	ErrTooLarge = errors.New("the item alone is larger than a batch")
)

// prepare checks and encodes every request, as the API checks the
// requests of a create (tokencount.EstimateAnthropicBatch: the custom_id,
// the Messages body, the model's context window); it returns every problem
// at once.
func (r *Runner) prepare(reqs []Request) ([]item, error) {
	items := make([]item, 0, len(reqs))
	var bad []*ItemError
	seen := make(map[string]bool, len(reqs))
	for i, q := range reqs {
		fail := func(err error) { bad = append(bad, &ItemError{Index: i, CustomID: q.CustomID, Err: err}) }
		if seen[q.CustomID] {
			fail(ErrDuplicate)
			continue
		}
		seen[q.CustomID] = true
		enc, err := encode(q)
		if err != nil {
			fail(fmt.Errorf("%w: %v", tokencount.ErrMalformed, err))
			continue
		}
		if _, err := r.opts.Estimator.EstimateAnthropicBatch(body([]item{{enc: enc}})); err != nil {
			// The item alone, as a batch of one: its index there is 0.
			if ie, ok := errors.AsType[*tokencount.BatchItemError](err); ok {
				err = ie.Err
			}
			fail(err)
			continue
		}
		if !itemFits(enc, r.opts.Limits.MaxBatchBytes) {
			fail(ErrTooLarge)
			continue
		}
		items = append(items, item{index: i, id: q.CustomID, enc: enc})
	}
	if len(bad) > 0 {
		return nil, &InvalidError{Items: bad}
	}
	return items, nil
}

// resubmittable reports whether an outcome is submitted again, by
// opts.Resubmit (the number of submissions aside).
func (r *Runner) resubmittable(res Result) bool {
	switch res.Type {
	case Expired:
		return *r.opts.Resubmit&ResubmitExpired != 0
	case Errored:
		switch res.ErrorType {
		case "api_error", "overloaded_error", "rate_limit_error", "timeout_error":
			return *r.opts.Resubmit&ResubmitErrored != 0
		}
	}
	return false
}
