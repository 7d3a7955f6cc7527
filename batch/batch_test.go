package batch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/ratekeeper/ratekeeper"
	"github.com/ratekeeper/ratekeeper/batch"
	"github.com/ratekeeper/ratekeeper/simapi"
	"github.com/ratekeeper/ratekeeper/tier"
	"github.com/ratekeeper/ratekeeper/tokencount"
)

const key = "sk-batch-test"

// requests makes n small Messages requests r0…r(n-1).
func requests(n int) []batch.Request {
	reqs := make([]batch.Request, n)
	for i := range reqs {
		reqs[i] = batch.Request{CustomID: fmt.Sprintf("r%d", i), Params: json.RawMessage(fmt.Sprintf(
			`{"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":"Summarise item %d in one line."}]}`, i))}
	}
	return reqs
}

// env is a simulated API and an SDK client that reaches it in process,
// through wrap when given (to lose answers on cue).
type env struct {
	srv    *simapi.Server
	client anthropic.Client
}

func newEnv(t *testing.T, cfg simapi.Config, wrap func(http.RoundTripper) http.RoundTripper) *env {
	t.Helper()
	if cfg.BatchLatency == 0 {
		cfg.BatchLatency = 10 * time.Minute
	}
	srv, err := simapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	var rt http.RoundTripper = srv.Transport()
	if wrap != nil {
		rt = wrap(rt)
	}
	client := anthropic.NewClient(option.WithAPIKey(key), option.WithBaseURL("http://simapi.test/"),
		option.WithHTTPClient(&http.Client{Transport: rt}))
	return &env{srv: srv, client: client}
}

// collector keeps the results delivered, and fails the test on a second
// delivery of one custom_id.
type collector struct {
	t  *testing.T
	mu sync.Mutex
	by map[string]batch.Result
}

func newCollector(t *testing.T) *collector { return &collector{t: t, by: map[string]batch.Result{}} }

func (c *collector) deliver(r batch.Result) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.by[r.CustomID]; dup {
		c.t.Errorf("%s delivered twice", r.CustomID)
	}
	c.by[r.CustomID] = r
	return nil
}

// checkAll asserts that every request has a succeeded result with a
// message and usage.
func (c *collector) checkAll(reqs []batch.Request) {
	c.t.Helper()
	for _, q := range reqs {
		r, ok := c.by[q.CustomID]
		if !ok {
			c.t.Errorf("%s: no result", q.CustomID)
			continue
		}
		var m struct {
			Usage struct {
				InputTokens int64 `json:"input_tokens"`
			} `json:"usage"`
		}
		if r.Type != batch.Succeeded || json.Unmarshal(r.Message, &m) != nil || m.Usage.InputTokens == 0 {
			c.t.Errorf("%s: %s, message %.80s", q.CustomID, r.Type, r.Message)
		}
	}
}

// submittedOnce asserts that the simulator saw every request submitted
// exactly once, except those in again (twice).
func submittedOnce(t *testing.T, srv *simapi.Server, reqs []batch.Request, again ...string) {
	t.Helper()
	subs := srv.Ledger().BatchSubmissions(key)
	want := map[string]int{}
	for _, q := range reqs {
		want[q.CustomID] = 1
	}
	for _, id := range again {
		want[id] = 2
	}
	for id, n := range want {
		if subs[id] != n {
			t.Errorf("%s submitted %d times, want %d", id, subs[id], n)
		}
	}
	if len(subs) != len(want) {
		t.Errorf("the simulator saw %d custom_ids, want %d", len(subs), len(want))
	}
}

func TestRunSplitsAtTheRequestLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simapi.Config{MaxBatchRequests: 10}, nil)
		r, err := batch.New(e.client, batch.Options{Limits: tier.BatchLimits{MaxRequestsPerBatch: 10}})
		if err != nil {
			t.Fatal(err)
		}
		reqs := requests(25)
		c := newCollector(t)
		sum, err := r.Run(context.Background(), reqs, c.deliver)
		if err != nil {
			t.Fatal(err)
		}
		c.checkAll(reqs)
		submittedOnce(t, e.srv, reqs)
		if sum.Batches != 3 || sum.Submitted != 25 || sum.Delivered[batch.Succeeded] != 25 {
			t.Errorf("summary %+v, want 3 batches of 25 items", sum)
		}
		if got := len(e.srv.Ledger().Batches(key)); got != 3 {
			t.Errorf("the simulator created %d batches, want 3", got)
		}
	})
}

func TestRunSplitsAtTheByteLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reqs := requests(20)
		// Room for about 6 items a batch: a body of 6 is the limit.
		limit := int64(len(`{"requests":[]}`))
		for _, q := range reqs[:6] {
			limit += int64(len(fmt.Sprintf(`{"custom_id":%q,"params":%s},`, q.CustomID, q.Params)))
		}
		e := newEnv(t, simapi.Config{MaxBatchBytes: limit}, nil)
		r, err := batch.New(e.client, batch.Options{Limits: tier.BatchLimits{MaxBatchBytes: limit}})
		if err != nil {
			t.Fatal(err)
		}
		c := newCollector(t)
		sum, err := r.Run(context.Background(), reqs, c.deliver)
		if err != nil {
			t.Fatal(err)
		}
		c.checkAll(reqs)
		submittedOnce(t, e.srv, reqs)
		for _, b := range e.srv.Ledger().Batches(key) {
			if b.Bytes > limit || b.Requests > 6 {
				t.Errorf("batch %s: %d requests, %d bytes; the limit is %d bytes", b.ID, b.Requests, b.Bytes, limit)
			}
		}
		if sum.Batches < 4 {
			t.Errorf("%d batches for 20 items of which 6 fit one", sum.Batches)
		}
	})
}

func TestQueueFullWaits(t *testing.T) {
	for _, known := range []bool{true, false} {
		t.Run(fmt.Sprintf("limit known %v", known), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, simapi.Config{BatchQueue: 8}, nil)
				var lim tier.BatchLimits
				if known {
					lim.QueuedRequests = 8 // the Runner keeps within it
				} // else the server's 429s teach it
				r, err := batch.New(e.client, batch.Options{Limits: lim})
				if err != nil {
					t.Fatal(err)
				}
				reqs := requests(20)
				c := newCollector(t)
				start := time.Now()
				if _, err := r.Run(context.Background(), reqs, c.deliver); err != nil {
					t.Fatal(err)
				}
				c.checkAll(reqs)
				submittedOnce(t, e.srv, reqs)
				bs := e.srv.Ledger().Batches(key)
				if len(bs) < 3 {
					t.Fatalf("%d batches for 20 items in a queue of 8", len(bs))
				}
				// Twenty items cannot be in a queue of 8 at once: the run
				// takes longer than one batch's latency.
				if el := time.Since(start); el <= 10*time.Minute {
					t.Errorf("done in %v: the queue of 8 cannot hold 20 items at once", el)
				}
				refused := e.srv.Ledger().BatchCounts(key).QueueFull
				if known && refused != 0 {
					t.Errorf("%d creates refused for a full queue, though the Runner knew the limit", refused)
				}
				if !known && refused == 0 {
					t.Error("no create refused for a full queue, yet the Runner did not know the limit")
				}
			})
		})
	}
}

func TestResubmitsExpiredAndErrored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simapi.Config{BatchOutcome: func(id string, submission int) simapi.BatchOutcome {
			switch {
			case id == "r1" && submission == 1:
				return simapi.BatchExpired
			case id == "r2" && submission == 1:
				return simapi.BatchErrored
			case id == "r3":
				return simapi.BatchErrored // every time
			}
			return simapi.BatchSucceeded
		}}, nil)
		r, err := batch.New(e.client, batch.Options{MaxSubmissions: 2})
		if err != nil {
			t.Fatal(err)
		}
		reqs := requests(6)
		c := newCollector(t)
		sum, err := r.Run(context.Background(), reqs, c.deliver)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"r1", "r2"} {
			if res := c.by[id]; res.Type != batch.Succeeded || res.Submissions != 2 {
				t.Errorf("%s: %s after %d submissions, want succeeded after 2", id, res.Type, res.Submissions)
			}
		}
		if res := c.by["r3"]; res.Type != batch.Errored || res.Submissions != 2 || res.ErrorType != "api_error" {
			t.Errorf("r3: %s (%s) after %d submissions, want errored api_error after 2 (MaxSubmissions)", res.Type, res.ErrorType, res.Submissions)
		}
		submittedOnce(t, e.srv, reqs, "r1", "r2", "r3")
		if sum.Resubmitted != 3 || sum.Delivered[batch.Succeeded] != 5 || sum.Delivered[batch.Errored] != 1 {
			t.Errorf("summary %+v", sum)
		}
	})
}

func TestNothingResubmittedWhenAskedSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simapi.Config{BatchOutcome: func(id string, _ int) simapi.BatchOutcome {
			if id == "r0" {
				return simapi.BatchExpired
			}
			return simapi.BatchSucceeded
		}}, nil)
		none := batch.Resubmit(0)
		r, _ := batch.New(e.client, batch.Options{Resubmit: &none})
		reqs := requests(3)
		c := newCollector(t)
		if _, err := r.Run(context.Background(), reqs, c.deliver); err != nil {
			t.Fatal(err)
		}
		if c.by["r0"].Type != batch.Expired {
			t.Errorf("r0: %s, want expired (not resubmitted)", c.by["r0"].Type)
		}
		submittedOnce(t, e.srv, reqs)
	})
}

// countResults counts the results fetched, per path.
type countResults struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
}

func (c *countResults) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/results") {
		c.mu.Lock()
		c.n[req.URL.Path]++
		c.mu.Unlock()
	}
	return c.next.RoundTrip(req)
}

func TestCrashAndResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fetched := &countResults{n: map[string]int{}}
		e := newEnv(t, simapi.Config{MaxBatchRequests: 10}, func(rt http.RoundTripper) http.RoundTripper { fetched.next = rt; return fetched })
		state := filepath.Join(t.TempDir(), "work.batches")
		reqs := requests(35)
		c := newCollector(t)

		// The first process dies once it has two batches submitted.
		ctx, crash := context.WithCancel(context.Background())
		r, _ := batch.New(e.client, batch.Options{State: state, Limits: tier.BatchLimits{MaxRequestsPerBatch: 10},
			Progress: func(p batch.Progress) {
				if p.Batches == 2 {
					crash()
				}
			}})
		if _, err := r.Run(ctx, reqs, c.deliver); !errors.Is(err, context.Canceled) {
			t.Fatalf("first run: %v, want context.Canceled", err)
		}
		if len(c.by) != 0 {
			t.Fatalf("%d results before any batch ended", len(c.by))
		}

		// The second dies after it has delivered 12 results.
		stop := errors.New("stop")
		r, _ = batch.New(e.client, batch.Options{State: state, Limits: tier.BatchLimits{MaxRequestsPerBatch: 10}})
		_, err := r.Run(context.Background(), reqs, func(res batch.Result) error {
			if len(c.by) == 12 {
				return stop
			}
			return c.deliver(res)
		})
		if !errors.Is(err, stop) {
			t.Fatalf("second run: %v, want the deliver error", err)
		}

		// The third finishes: every item once, none submitted twice, and the
		// batches read to the end are not read again.
		sum, err := r.Run(context.Background(), reqs, c.deliver)
		if err != nil {
			t.Fatal(err)
		}
		c.checkAll(reqs)
		submittedOnce(t, e.srv, reqs)
		if sum.Skipped != 12 {
			t.Errorf("third run skipped %d items, want the 12 delivered before", sum.Skipped)
		}
		if got := len(e.srv.Ledger().Batches(key)); got != 4 {
			t.Errorf("%d batches created for 35 items of 10 a batch, want 4", got)
		}
		// Each batch's results were read once, but the one the second run
		// stopped in the middle of: twice.
		twice := 0
		for path, n := range fetched.n {
			switch {
			case n == 2:
				twice++
			case n != 1:
				t.Errorf("%s fetched %d times", path, n)
			}
		}
		if len(fetched.n) != 4 || twice != 1 {
			t.Errorf("results fetched %v: want each of 4 batches once, one of them twice", fetched.n)
		}
	})
}

// The Runner works through a client whose calls go through a Keeper's
// middleware: the Keeper checks the create and spaces the batch calls
// within the tier's batch RPM (50 at Tier 1), which the Runner was not
// told of.
func TestThroughAKeeper(t *testing.T) {
	for _, keeper := range []bool{true, false} {
		t.Run(fmt.Sprintf("keeper %v", keeper), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, err := simapi.New(simapi.Config{BatchLatency: time.Minute, BatchRPM: 50})
				if err != nil {
					t.Fatal(err)
				}
				defer srv.Close()
				opts := []option.RequestOption{option.WithAPIKey(key), option.WithBaseURL("http://simapi.test/"),
					option.WithHTTPClient(&http.Client{Transport: srv.Transport()})}
				if keeper {
					k, err := ratekeeper.New(ratekeeper.WithTier(tier.Anthropic, "tier-1"), ratekeeper.WithBatchRPM(50))
					if err != nil {
						t.Fatal(err)
					}
					opts = append(opts, option.WithMiddleware(k.Middleware), option.WithMaxRetries(0))
				}
				r, err := batch.New(anthropic.NewClient(opts...), batch.Options{Limits: tier.BatchLimits{MaxRequestsPerBatch: 5},
					Poll: 100 * time.Millisecond, MaxPoll: 2 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				reqs := requests(100) // 20 batches, polled every 2 s at most: far above 50 calls a minute
				c := newCollector(t)
				if _, err := r.Run(context.Background(), reqs, c.deliver); err != nil {
					t.Fatal(err)
				}
				c.checkAll(reqs)
				submittedOnce(t, srv, reqs)
				// Under the bubble's exact clock, a call the Keeper sends at the
				// very instant its bucket refills to one request can meet the
				// server's bucket a rounding short of it: one such 429 (which
				// the Keeper waits out) is allowed, not more.
				n := srv.Ledger().BatchCounts(key).RateLimited
				if keeper && n > 1 {
					t.Errorf("%d batch calls answered 429 under a Keeper that knows the batch RPM", n)
				}
				if !keeper && n < 10 {
					t.Errorf("%d batch calls answered 429 without a Keeper: the test proves nothing", n)
				}
			})
		})
	}
}

// loseAnswer passes requests on but, the first time a create reaches the
// server, answers its caller with an error instead of the response.
type loseAnswer struct {
	next http.RoundTripper
	once sync.Once
}

func (l *loseAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err == nil && req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/v1/messages/batches") {
		lost := false
		l.once.Do(func() { lost = true })
		if lost {
			resp.Body.Close()
			return nil, errors.New("connection reset by peer")
		}
	}
	return resp, err
}

func TestALostCreateAnswerIsFoundNotResubmitted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simapi.Config{}, func(rt http.RoundTripper) http.RoundTripper { return &loseAnswer{next: rt} })
		r, _ := batch.New(e.client, batch.Options{State: filepath.Join(t.TempDir(), "s")})
		reqs := requests(5)
		c := newCollector(t)
		sum, err := r.Run(context.Background(), reqs, c.deliver)
		if err != nil {
			t.Fatal(err)
		}
		c.checkAll(reqs)
		submittedOnce(t, e.srv, reqs)
		if sum.Adopted != 1 || sum.Batches != 0 {
			t.Errorf("summary %+v: want the one batch adopted", sum)
		}
	})
}

func TestBadRequestsAreReportedBeforeAnySubmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simapi.Config{}, nil)
		r, _ := batch.New(e.client, batch.Options{})
		reqs := requests(6)
		reqs[1].CustomID = "has space"
		reqs[2].CustomID = "r0"
		reqs[3].Params = json.RawMessage(`{"model":"claude-sonnet-4-5","messages":[]}`)
		reqs[4].Params = json.RawMessage(`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"` +
			strings.Repeat("lorem ipsum dolor sit amet ", 400_000) + `"}]}`)
		_, err := r.Run(context.Background(), reqs, newCollector(t).deliver)
		var bad *batch.InvalidError
		if !errors.As(err, &bad) {
			t.Fatalf("err = %v, want an *InvalidError", err)
		}
		var idx []int
		for _, it := range bad.Items {
			idx = append(idx, it.Index)
		}
		if fmt.Sprint(idx) != "[1 2 3 4]" {
			t.Errorf("bad items %v, want [1 2 3 4]", idx)
		}
		if !errors.Is(err, batch.ErrDuplicate) || !errors.Is(err, tokencount.ErrTooLarge) || !errors.Is(err, tokencount.ErrMalformed) {
			t.Errorf("err %v does not match ErrDuplicate, tokencount.ErrTooLarge and ErrMalformed", err)
		}
		if !strings.Contains(bad.Items[0].Error(), "custom_id") {
			t.Errorf("the bad custom_id's error does not say so: %v", bad.Items[0])
		}
		var malformed *tokencount.MalformedError
		if !errors.As(err, &malformed) {
			t.Errorf("err %v holds no *tokencount.MalformedError", err)
		}
		if n := len(e.srv.Ledger().Batches(key)); n != 0 {
			t.Errorf("%d batches created; nothing should be submitted", n)
		}
	})
}
