package batch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ratekeeper/ratekeeper/internal/wait"
)

// Run submits the requests as batches within the limits, waits for them,
// and calls deliver with the final result of every item, once per
// custom_id, as the results arrive. It returns when every item has its
// result, when deliver returns an error, or when ctx ends; the batches it
// submitted keep processing on the server.
//
// With a state file, Run resumes: it skips items whose result was
// delivered, waits for the batches it had submitted (it never submits an
// item again because of a crash), and does not read again the results of
// batches it read to the end. A create whose answer was lost (a crash, a
// broken connection) is looked for among the listed batches before its
// items are submitted again. Results read but not yet recorded when the
// process stopped are delivered again by the next Run: deliver should
// treat a custom_id it has seen as done.
//
// Bad requests are reported all at once, as an *InvalidError, before
// anything is submitted.
func (r *Runner) Run(ctx context.Context, reqs []Request, deliver func(Result) error) (Summary, error) {
	items, err := r.prepare(reqs)
	if err != nil {
		return Summary{}, err
	}
	st, err := openState(r.opts.State)
	if err != nil {
		return Summary{}, err
	}
	w := &work{r: r, st: st, deliver: deliver, active: map[string]*tracked{},
		sum: Summary{Delivered: map[ResultType]int{}}, items: len(items)}
	for _, it := range items {
		if st.done[it.id] {
			w.sum.Skipped++
		}
	}
	w.done = w.sum.Skipped
	err = w.run(ctx, items)
	if cerr := st.close(); err == nil {
		err = cerr
	}
	return w.sum, err
}

// work is one Run's state.
type work struct {
	r       *Runner
	st      *state
	deliver func(Result) error
	items   int
	pending []item
	active  map[string]*tracked
	byID    map[string]item
	sum     Summary
	done    int // items with their result delivered, this Run and before

	roomless    bool      // this Run's own batches fill the processing queue
	queueFull   bool      // the last create was refused with a 429
	submitAfter time.Time // a refused create waits until then
	refusals    int       // consecutive refused creates
	lost        int       // consecutive creates that failed without an answer
	size        int64     // after a 429, the most items a create tries (0: no bound but the limits)
}

// maxLost is how many creates in a row may fail without an answer (and
// without a batch to show for it) before Run gives up.
const maxLost = 5

// tracked is a batch the Run waits for.
type tracked struct {
	sub      *submission
	info     info
	next     time.Time
	interval time.Duration
}

func (w *work) run(ctx context.Context, items []item) error {
	w.byID = make(map[string]item, len(items))
	for _, it := range items {
		w.byID[it.id] = it
	}
	// Submissions whose answer was never seen: find their batches first.
	for _, seq := range w.st.order {
		if sub := w.st.submissions[seq]; !sub.settled() {
			if err := w.adopt(ctx, sub); err != nil {
				return err
			}
		}
	}
	held := map[string]bool{}
	for _, seq := range w.st.order {
		sub := w.st.submissions[seq]
		for _, b := range sub.batches {
			if !w.st.retrieved[b] {
				w.track(sub, info{id: b, total: int64(len(sub.ids)), processing: int64(len(sub.ids))})
				for _, id := range sub.ids {
					held[id] = true
				}
			}
		}
	}
	for _, it := range items {
		if !w.st.done[it.id] && !held[it.id] {
			w.pending = append(w.pending, it)
		}
	}
	w.progress()
	for len(w.pending) > 0 || len(w.active) > 0 {
		if err := w.submit(ctx); err != nil {
			return err
		}
		if err := wait.Sleep(ctx, until(w.wake())); err != nil {
			return err
		}
		if err := w.poll(ctx); err != nil {
			return err
		}
	}
	return nil
}

// track starts waiting for a batch.
func (w *work) track(sub *submission, in info) {
	w.active[in.id] = &tracked{sub: sub, info: in, next: time.Now().Add(w.r.opts.Poll), interval: w.r.opts.Poll}
}

// queued is how many of this Run's items are in the processing queue.
func (w *work) queued() int64 {
	var n int64
	for _, t := range w.active {
		n += t.info.processing
	}
	return n
}

// submit creates batches from the pending items while the limits let it.
func (w *work) submit(ctx context.Context) error {
	l := w.r.opts.Limits
	for len(w.pending) > 0 && !time.Now().Before(w.submitAfter) {
		room := l.MaxRequestsPerBatch
		if w.size > 0 {
			room = min(room, w.size)
		}
		if l.QueuedRequests > 0 {
			room = min(room, l.QueuedRequests-w.queued())
		}
		w.roomless = room <= 0
		if room <= 0 {
			return nil // a poll frees room
		}
		n := take(w.pending, room, l.MaxBatchBytes)
		if err := w.create(ctx, w.pending[:n]); err != nil {
			var ref *refusal
			if !errors.As(err, &ref) || ref.status != 0 && ref.status != 429 && ref.status != 529 && ref.status != 503 {
				return err
			}
			// The queue is full (shared with other clients), the batch
			// RPM is spent, the API is overloaded, or the connection
			// failed before the create was made: wait and try again.
			w.refusals++
			wait := ref.retryAfter
			if wait == 0 {
				wait = min(w.r.opts.Poll<<min(w.refusals-1, 10), w.r.opts.MaxPoll)
			}
			w.submitAfter = time.Now().Add(wait)
			w.queueFull = ref.status == 429
			if ref.status == 429 && n > 1 {
				// Perhaps a queue fuller than the limits say (other
				// clients share it): try half as many items.
				w.size = int64(max(1, n/2))
			}
			return nil
		}
		if w.size > 0 {
			if w.size *= 2; w.size >= l.MaxRequestsPerBatch {
				w.size = 0
			}
		}
		w.refusals, w.queueFull = 0, false
		w.pending = w.pending[n:]
		w.progress()
	}
	return nil
}

// create submits items as one batch: the intent is on disk before the
// create leaves, and the batch ID after it is answered.
func (w *work) create(ctx context.Context, items []item) error {
	ids := make([]string, len(items))
	resubmitted := 0
	for i, it := range items {
		ids[i] = it.id
		if w.st.submitted[it.id] > 0 {
			resubmitted++
		}
	}
	w.st.seq++
	seq := w.st.seq
	if err := w.st.record(entry{Op: "intent", Seq: seq, At: time.Now().UTC(), IDs: ids}, true); err != nil {
		return err
	}
	sub := w.st.submissions[seq]
	if err := w.wait(ctx); err != nil {
		if rerr := w.st.record(entry{Op: "refused", Seq: seq}, true); rerr != nil {
			return rerr
		}
		return err
	}
	in, err := w.r.api.create(ctx, body(items))
	var ref *refusal
	switch {
	case errors.As(err, &ref):
		if rerr := w.st.record(entry{Op: "refused", Seq: seq}, true); rerr != nil {
			return rerr
		}
		return err
	case err != nil:
		// The create may have been made: look for it before anything is
		// submitted again.
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := w.adopt(ctx, sub); err != nil {
			return err
		}
		for _, b := range sub.batches {
			w.track(sub, info{id: b, total: int64(len(ids)), processing: int64(len(ids))})
		}
		if sub.refused {
			// It was not made: the items are submitted again later,
			// unless the connection keeps failing.
			if w.lost++; w.lost >= maxLost {
				return fmt.Errorf("batch: create failed %d times in a row: %w", w.lost, err)
			}
			return &refusal{err: err}
		}
		w.lost = 0
		w.count(len(ids), resubmitted)
		return nil
	}
	if err := w.st.record(entry{Op: "created", Seq: seq, Batch: in.id}, true); err != nil {
		return err
	}
	w.sum.Batches++
	w.count(len(ids), resubmitted)
	w.track(sub, in)
	return nil
}

func (w *work) count(items, resubmitted int) {
	w.sum.Submitted += items
	w.sum.Resubmitted += resubmitted
}

// adopt looks among the listed batches for the ones a submission whose
// answer was lost may have created: created since its intent (less a
// margin for clocks), with as many items, and not known already. It
// records each as created (a batch that holds other items is harmless:
// items the submission carried but its batches did not return are
// submitted again), or the submission as refused when there is none.
func (w *work) adopt(ctx context.Context, sub *submission) error {
	since := sub.at.Add(-adoptSkew)
	var found []string
	if err := w.wait(ctx); err != nil {
		return err
	}
	err := w.r.api.list(ctx, func(in info) bool {
		if in.created.Before(since) {
			return false
		}
		if in.total == int64(len(sub.ids)) && w.st.byBatch[in.id] == nil {
			found = append(found, in.id)
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("batch: listing batches to find a create whose answer was lost: %w", err)
	}
	if len(found) == 0 {
		return w.st.record(entry{Op: "refused", Seq: sub.seq}, true)
	}
	for _, id := range found {
		if err := w.st.record(entry{Op: "created", Seq: sub.seq, Batch: id}, true); err != nil {
			return err
		}
		w.sum.Adopted++
	}
	return nil
}

// until is the wait for at: none when at is zero (nothing to wait for).
func until(at time.Time) time.Duration {
	if at.IsZero() {
		return 0
	}
	return time.Until(at)
}

// adoptSkew is how much earlier than its intent a lost create's batch
// may say it was created (the server's clock against ours).
const adoptSkew = 5 * time.Minute
