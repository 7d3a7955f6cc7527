package batch

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

// api is what a Runner needs of a batch service. The Message Batches API
// implements it through anthropic-sdk-go; OpenAI's Batch API (a JSONL file
// upload, then a batch over the file) fits the same four calls, with
// create uploading the file first.
type api interface {
	// create submits one create body. Its error is a *refusal when the
	// API answered with one (nothing was created).
	create(ctx context.Context, body []byte) (info, error)
	get(ctx context.Context, id string) (info, error)
	// list calls fn for the batches newest first until fn returns false.
	list(ctx context.Context, fn func(info) bool) error
	// results calls fn for every result of an ended batch.
	results(ctx context.Context, id string, fn func(Result) error) error
}

// info is what a Runner reads of a batch.
type info struct {
	id         string
	created    time.Time
	ended      bool
	processing int64 // its items still in the processing queue
	total      int64
}

// refusal is a create the API answered with an error status: nothing was
// submitted.
type refusal struct {
	status     int
	retryAfter time.Duration // zero when the answer gave none
	err        error
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// anthropicAPI is the Message Batches API through anthropic-sdk-go.
type anthropicAPI struct {
	svc *anthropic.MessageBatchService
}

func infoOf(b *anthropic.MessageBatch) info {
	c := b.RequestCounts
	return info{id: b.ID, created: b.CreatedAt, ended: b.ProcessingStatus == anthropic.MessageBatchProcessingStatusEnded,
		processing: c.Processing, total: c.Processing + c.Succeeded + c.Errored + c.Canceled + c.Expired}
}

func (a anthropicAPI) create(ctx context.Context, body []byte) (info, error) {
	// One attempt: a create whose answer is lost may have been made, and
	// only the Runner can find out (it lists the batches) without making it
	// twice.
	b, err := a.svc.New(ctx, anthropic.MessageBatchNewParams{},
		option.WithRequestBody("application/json", body), option.WithMaxRetries(0))
	if err != nil {
		var apiErr *anthropic.Error
		if errors.As(err, &apiErr) && refused(apiErr.StatusCode) {
			return info{}, &refusal{status: apiErr.StatusCode, retryAfter: retryAfter(apiErr.Response), err: err}
		}
		return info{}, err
	}
	return infoOf(b), nil
}

// refused reports whether a create answered with status made nothing: any
// 4xx, and an overload (the server did not take the request). Other 5xx
// answers are treated as unknown, like a lost connection.
func refused(status int) bool {
	return status/100 == 4 || status == 529 || status == http.StatusServiceUnavailable
}

// retryAfter reads a response's retry-after (whole seconds), zero if none.
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	s, err := strconv.ParseInt(resp.Header.Get("Retry-After"), 10, 64)
	if err != nil || s <= 0 || s > 3600 {
		return 0
	}
	return time.Duration(s) * time.Second
}

func (a anthropicAPI) get(ctx context.Context, id string) (info, error) {
	b, err := a.svc.Get(ctx, id, anthropic.MessageBatchGetParams{})
	if err != nil {
		return info{}, err
	}
	return infoOf(b), nil
}

func (a anthropicAPI) list(ctx context.Context, fn func(info) bool) error {
	pager := a.svc.ListAutoPaging(ctx, anthropic.MessageBatchListParams{Limit: anthropic.Int(100)})
	for pager.Next() {
		b := pager.Current()
		if !fn(infoOf(&b)) {
			return nil
		}
	}
	return pager.Err()
}

func (a anthropicAPI) results(ctx context.Context, id string, fn func(Result) error) error {
	stream := a.svc.ResultsStreaming(ctx, id, anthropic.MessageBatchResultsParams{})
	defer stream.Close()
	for stream.Next() {
		r := stream.Current()
		res := Result{CustomID: r.CustomID, Type: ResultType(r.Result.Type), BatchID: id}
		switch res.Type {
		case Succeeded:
			res.Message = json.RawMessage(r.Result.Message.RawJSON())
		case Errored:
			res.Error = json.RawMessage(r.Result.Error.RawJSON())
			res.ErrorType = string(r.Result.Error.Error.Type)
		}
		if err := fn(res); err != nil {
			return err
		}
	}
	return stream.Err()
}
