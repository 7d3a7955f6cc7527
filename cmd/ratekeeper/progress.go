package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/limiter"
	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

// progress is the live view of a run: on a terminal, bars drawn by mpb
// (vbauerster/mpb) for the requests done and, per model, each dimension's
// usage over the last minute against its limit, with a status line; else a
// plain line every --progress-interval; nothing with --quiet.
type progress struct {
	w       io.Writer // serialized
	raw     io.Writer // the terminal, for mpb (which sizes the bars from it)
	tty     bool
	quiet   bool
	every   time.Duration
	budgets map[string]tier.Budget
	models  []string // sorted

	mu                      sync.Mutex
	begin                   time.Time
	total, finished, failed int
	waiting, sending        int
	rateLimited, overloaded int
	used                    map[string]*window // per model: usage settled in the last minute
	left                    map[string]*[tier.NumDimensions]int64
	doneCh                  chan struct{}
	wg                      sync.WaitGroup
	bars                    *mpb.Progress
	reqBar                  *mpb.Bar
	dimBars                 []dimBar
	statusBar               *mpb.Bar
}

type dimBar struct {
	bar   *mpb.Bar
	model string
	dim   tier.Dimension
	used  *atomic.Int64 // in the last minute (the bar stops below the limit)
}

// window sums costs over the trailing minute.
type window struct {
	at   []time.Time
	cost [][tier.NumDimensions]int64
}

func (w *window) add(t time.Time, v [tier.NumDimensions]int64) {
	w.at = append(w.at, t)
	w.cost = append(w.cost, v)
}

// sum returns the total over (now-1m, now], dropping older entries.
func (w *window) sum(now time.Time) (s [tier.NumDimensions]int64) {
	cut := 0
	for cut < len(w.at) && !w.at[cut].After(now.Add(-time.Minute)) {
		cut++
	}
	w.at, w.cost = w.at[cut:], w.cost[cut:]
	for _, c := range w.cost {
		for d := range s {
			s[d] += c[d]
		}
	}
	return s
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// Write prints b to the display's stream, above the bars while they are
// drawn; it is safe for concurrent use.
func (p *progress) Write(b []byte) (int, error) {
	if bars := p.drawing(); bars != nil {
		return bars.Write(b)
	}
	return p.w.Write(b)
}

func (p *progress) drawing() *mpb.Progress {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bars
}

func newProgress(w io.Writer, f *runFlags, jobs []job, budgets map[string]tier.Budget) *progress {
	tty := false
	if file, ok := w.(*os.File); ok && term.IsTerminal(int(file.Fd())) {
		tty = true
	}
	p := &progress{w: &syncWriter{w: w}, raw: w, tty: tty, quiet: f.quiet, every: f.progressEvery, budgets: budgets,
		used: map[string]*window{}, left: map[string]*[tier.NumDimensions]int64{}, total: len(jobs)}
	for m := range budgets {
		p.models = append(p.models, m)
		p.used[m] = &window{}
		p.left[m] = new([tier.NumDimensions]int64)
	}
	sort.Strings(p.models)
	for _, j := range jobs {
		if l := p.left[j.model]; l != nil && j.err == nil {
			addCost(l, costLeft(j.est, 1))
		}
	}
	return p
}

// costLeft is what a request still costs the budget, as the ETA counts
// it: its expected point cost, times sign (-1 to subtract it).
func costLeft(est tokencount.Estimate, sign int64) limiter.Cost {
	return limiter.Cost{Requests: sign, InputTokens: sign * est.PointTokens, OutputTokens: sign * est.OutputExpected}
}

// observe is the Keeper's observer: settlements, for the usage per minute.
func (p *progress) observe(e ratekeeper.Event) {
	if e.Kind != ratekeeper.Settled || e.Cost.Requests <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if w := p.used[e.Model]; w != nil {
		w.add(time.Now(), e.Cost.PerDimension())
	}
}

// answered counts the server's refusals (from the wire).
func (p *progress) answered(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch status {
	case http.StatusTooManyRequests:
		p.rateLimited++
	case 529, http.StatusServiceUnavailable:
		p.overloaded++
	}
}

func (p *progress) queued(j *job) {
	p.mu.Lock()
	p.waiting++
	p.mu.Unlock()
}

// sent: j's first attempt leaves (from the wire).
func (p *progress) sent() {
	p.mu.Lock()
	p.waiting--
	p.sending++
	p.mu.Unlock()
}

// unqueued: j is done, or withdrawn; sent says whether it had been sent.
func (p *progress) unqueued(sent bool) {
	p.mu.Lock()
	if sent {
		p.sending--
	} else {
		p.waiting--
	}
	p.mu.Unlock()
}

// withdrawn: j was not sent (or cut off); it leaves the total of this run.
func (p *progress) withdrawn(j *job) {
	p.mu.Lock()
	p.total--
	if l := p.left[j.model]; l != nil {
		addCost(l, costLeft(j.est, -1))
	}
	p.mu.Unlock()
}

func (p *progress) done(j *job, r *Record) {
	p.mu.Lock()
	p.finished++
	if r.Status != statusSucceeded {
		p.failed++
	}
	if l := p.left[j.model]; l != nil && j.err == nil {
		addCost(l, costLeft(j.est, -1))
	}
	p.mu.Unlock()
	if p.reqBar != nil {
		p.reqBar.Increment()
	}
}

// eta is what the budget says the rest takes: the slowest model's
// slowest dimension, at its limit (caller holds mu).
func (p *progress) eta() time.Duration {
	var eta time.Duration
	for m, l := range p.left {
		b := p.budgets[m]
		for d := range tier.NumDimensions {
			if lim := b.Limit(d); lim > 0 && l[d] > 0 {
				eta = max(eta, time.Duration(float64(l[d])/float64(lim)*float64(d.Period())))
			}
		}
	}
	return eta
}

// status is the one-line state (caller holds mu).
func (p *progress) status() string {
	return fmt.Sprintf("%d/%d done, %d failed · %d waiting for the budget · %d in flight · 429s %d · 529s %d · %s elapsed · ETA ~%s",
		p.finished, p.total, p.failed, p.waiting, p.sending, p.rateLimited, p.overloaded,
		time.Since(p.begin).Round(time.Second), p.eta().Round(time.Second))
}

// dims are the per-minute dimensions each model shows.
var progressDims = []tier.Dimension{tier.RPM, tier.ITPM, tier.OTPM, tier.TPM}

func (p *progress) start() {
	p.begin = time.Now()
	if p.quiet {
		return
	}
	p.doneCh = make(chan struct{})
	if !p.tty {
		p.wg.Go(func() {
			t := time.NewTicker(p.every)
			defer t.Stop()
			for {
				select {
				case <-p.doneCh:
					return
				case <-t.C:
					p.mu.Lock()
					line := "progress: " + p.status() + p.usageLine()
					p.mu.Unlock()
					fmt.Fprintln(p.w, line)
				}
			}
		})
		return
	}
	bars := mpb.New(mpb.WithOutput(p.raw), mpb.WithWidth(36), mpb.WithRefreshRate(250*time.Millisecond))
	p.mu.Lock()
	p.bars = bars
	p.mu.Unlock()
	p.reqBar = p.bars.AddBar(int64(max(p.total, 1)),
		mpb.PrependDecorators(decor.Name("requests", decor.WC{C: decor.DindentRight | decor.DextraSpace, W: 28}),
			decor.CountersNoUnit("%d/%d", decor.WCSyncWidth)),
		mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace)))
	for _, m := range p.models {
		b := p.budgets[m]
		for _, d := range progressDims {
			lim := b.Limit(d)
			if lim == 0 {
				continue
			}
			name := fmt.Sprintf("%s %s", shortModel(m), strings.ToUpper(d.Field()))
			used := new(atomic.Int64)
			bar := p.bars.AddBar(lim,
				mpb.PrependDecorators(decor.Name(name, decor.WC{C: decor.DindentRight | decor.DextraSpace, W: 28})),
				mpb.AppendDecorators(decor.Any(func(s decor.Statistics) string {
					return fmt.Sprintf("%s/%s in the last minute", reportHuman(float64(used.Load())), reportHuman(float64(lim)))
				})))
			p.dimBars = append(p.dimBars, dimBar{bar, m, d, used})
		}
	}
	p.statusBar = p.bars.New(1, mpb.NopStyle(), mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.status()
	})))
	p.wg.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.doneCh:
				return
			case <-t.C:
				p.refreshBars()
			}
		}
	})
}

// refreshBars sets each dimension's bar to its usage in the last minute
// (below the total, so that mpb does not take the bar for complete).
func (p *progress) refreshBars() {
	p.mu.Lock()
	now := time.Now()
	sums := map[string][tier.NumDimensions]int64{}
	for _, m := range p.models {
		sums[m] = p.used[m].sum(now)
	}
	total := p.total
	p.mu.Unlock()
	p.reqBar.SetTotal(int64(max(total, 1)), false)
	for _, db := range p.dimBars {
		v := sums[db.model][db.dim]
		db.used.Store(v)
		db.bar.SetCurrent(min(v, p.budgets[db.model].Limit(db.dim)-1))
	}
}

// usageLine is the plain form of the bars (caller holds mu).
func (p *progress) usageLine() string {
	var sb strings.Builder
	now := time.Now()
	for _, m := range p.models {
		s := p.used[m].sum(now)
		fmt.Fprintf(&sb, " · %s", shortModel(m))
		for _, d := range progressDims {
			if lim := p.budgets[m].Limit(d); lim > 0 {
				fmt.Fprintf(&sb, " %s %s/%s", strings.ToUpper(d.Field()), reportHuman(float64(s[d])), reportHuman(float64(lim)))
			}
		}
	}
	return sb.String()
}

func (p *progress) stop() {
	if p.doneCh == nil {
		return
	}
	close(p.doneCh)
	p.wg.Wait()
	if p.bars != nil {
		p.refreshBars()
		p.reqBar.SetTotal(-1, true)
		for _, db := range p.dimBars {
			db.bar.Abort(false)
		}
		p.statusBar.SetTotal(-1, true)
		p.bars.Wait()
		p.mu.Lock()
		p.bars = nil
		p.mu.Unlock()
	}
}

// shortModel trims a model ID for a label.
func shortModel(m string) string {
	m = strings.TrimPrefix(m, "claude-")
	if len(m) > 18 {
		m = m[:18]
	}
	return m
}
