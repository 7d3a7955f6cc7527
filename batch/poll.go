package batch

import (
	"context"
	"fmt"
	"time"
)

// wake is when the Run has something to do: the next retrieval due, or a
// submission that waited for a refusal to pass.
func (w *work) wake() time.Time {
	var at time.Time
	for _, t := range w.active {
		if at.IsZero() || t.next.Before(at) {
			at = t.next
		}
	}
	if len(w.pending) > 0 && !w.roomless && (at.IsZero() || w.submitAfter.Before(at)) {
		at = w.submitAfter
	}
	return at
}

// poll retrieves the batches that are due, and reads the results of those
// that ended.
func (w *work) poll(ctx context.Context) error {
	now := time.Now()
	for id, t := range w.active {
		if t.next.After(now) {
			continue
		}
		if err := w.wait(ctx); err != nil {
			return err
		}
		in, err := w.r.api.get(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// The client has retried already; try again later.
			w.backoff(t)
			continue
		}
		t.info = in
		if !in.ended {
			w.backoff(t)
			w.progress()
			continue
		}
		if err := w.collect(ctx, t); err != nil {
			return err
		}
		delete(w.active, id)
		w.progress()
	}
	return nil
}

func (w *work) backoff(t *tracked) {
	t.next = time.Now().Add(t.interval)
	t.interval = min(2*t.interval, w.r.opts.MaxPoll)
}

// collect reads the results of an ended batch: it delivers the final ones
// and queues the others for another submission. Items the submission
// carried but none of its batches returned were not submitted (the batch
// was adopted wrongly): they go back to the pending items too.
func (w *work) collect(ctx context.Context, t *tracked) error {
	if err := w.wait(ctx); err != nil {
		return err
	}
	sub := t.sub
	if sub.returned == nil {
		sub.returned = make(map[string]bool, len(sub.ids))
	}
	err := w.r.api.results(ctx, t.info.id, func(res Result) error {
		if _, ours := w.byID[res.CustomID]; !ours || w.st.done[res.CustomID] || !sub.carries(res.CustomID) || sub.returned[res.CustomID] {
			return nil
		}
		sub.returned[res.CustomID] = true
		res.Submissions = w.st.submitted[res.CustomID]
		if w.r.resubmittable(res) && res.Submissions < w.r.opts.MaxSubmissions {
			w.pending = append(w.pending, w.byID[res.CustomID])
			return nil
		}
		if err := w.deliver(res); err != nil {
			return err
		}
		w.sum.Delivered[res.Type]++
		w.done++
		return w.st.record(entry{Op: "done", ID: res.CustomID}, false)
	})
	if err != nil {
		if serr := w.st.sync(); serr != nil {
			return serr
		}
		return fmt.Errorf("batch: results of %s: %w", t.info.id, err)
	}
	if err := w.st.record(entry{Op: "retrieved", Batch: t.info.id}, true); err != nil {
		return err
	}
	// Once every batch of the submission is read, what it carried and no
	// batch returned goes back to the pending items.
	for _, b := range sub.batches {
		if !w.st.retrieved[b] {
			return nil
		}
	}
	for _, id := range sub.ids {
		if it, ok := w.byID[id]; ok && !sub.returned[id] && !w.st.done[id] {
			w.pending = append(w.pending, it)
		}
	}
	return nil
}

// wait takes one request of the batch RPM.
func (w *work) wait(ctx context.Context) error {
	if w.r.lim == nil {
		return ctx.Err()
	}
	return w.r.lim.Wait(ctx)
}

// progress tells Options.Progress the counts.
func (w *work) progress() {
	if w.r.opts.Progress == nil {
		return
	}
	p := Progress{Items: w.items, Pending: len(w.pending), Batches: len(w.active), QueueFull: w.roomless || w.queueFull}
	for _, t := range w.active {
		p.Processing += int(t.info.processing)
	}
	p.Done = w.done
	w.r.opts.Progress(p)
}
