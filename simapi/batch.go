package simapi

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// BatchOutcome is what becomes of a batch request with valid params when it is processed
// (see Config.BatchOutcome). A value other than the constants below is taken as
// BatchErrored.
type BatchOutcome int

const (
	// BatchSucceeded: the result is a Message, generated as POST /v1/messages would
	// answer the request's params. It is the zero value.
	BatchSucceeded BatchOutcome = iota
	// BatchErrored: the result is errored with an api_error (the body of a 500), a
	// failure on the server's side that a client may resubmit.
	BatchErrored
	// BatchExpired: the result is expired, as if the batch ran out of time first.
	BatchExpired
)

// String returns "succeeded", "errored" or "expired".
func (o BatchOutcome) String() string {
	switch o {
	case BatchSucceeded:
		return "succeeded"
	case BatchErrored:
		return "errored"
	case BatchExpired:
		return "expired"
	}
	return fmt.Sprintf("BatchOutcome(%d)", int(o))
}

// batchTTL is how long after creation an unfinished batch expires.
const batchTTL = 24 * time.Hour

// batchCancelDelay is how long a batch stays canceling: the requests due before it ends
// are processed (they were in flight), the others are canceled when it ends.
const batchCancelDelay = time.Second

// resultType is the state of one request of a batch.
type resultType int

const (
	resultProcessing resultType = iota
	resultSucceeded
	resultErrored
	resultCanceled
	resultExpired
)

// batchItem is one request of a batch. The fields above result are set at creation and
// never change; result and msgID are set once, under batchStore.mu, when it settles.
type batchItem struct {
	customID   string
	submission int          // 1 the first time its key submitted customID
	cue        BatchOutcome // Config.BatchOutcome's answer, for valid params

	// What its params make of it: errType is set when they are invalid, otherwise the
	// Message to generate is model, input, output.
	errType, errMsg          string
	model                    string
	input, output, maxTokens int64

	result resultType
	msgID  string // resultSucceeded
}

// requestCounts are a batch's requests by state, as request_counts shows them.
type requestCounts struct {
	Processing int64 `json:"processing"`
	Succeeded  int64 `json:"succeeded"`
	Errored    int64 `json:"errored"`
	Canceled   int64 `json:"canceled"`
	Expired    int64 `json:"expired"`
}

// batch is one Message Batch. batchStore.mu guards its mutable fields.
//
// Its state is a function of time: Server.advanceLocked brings it to now before anything
// reads it, so every call sees the batch as it stands at time.Now(), whatever the order in
// which the call and the batch's timer run. The timer only ends the batch (for the
// ledger) when nobody looks.
type batch struct {
	id      string
	seq     uint64 // order of creation, over all keys
	key     string
	created time.Time
	expires time.Time
	latency time.Duration // the processing time of the whole batch
	items   []batchItem

	done      int // items[:done] have settled, in order
	counts    requestCounts
	canceled  time.Time // when cancel was initiated; zero if not
	cancelDue time.Time // when its unprocessed requests become canceled
	ended     time.Time // zero while processing
	timer     *time.Timer
}

// due is when item i is processed: created + latency*(i+1)/n, exactly (no overflow), and
// never at creation itself, so that a create always answers in_progress.
func (b *batch) due(i int) time.Time {
	n := time.Duration(len(b.items))
	k := time.Duration(i + 1)
	q, r := b.latency/n, b.latency%n
	return b.created.Add(max(q*k+r*k/n, time.Nanosecond))
}

// stop is when every unprocessed request settles without being processed: the end of
// cancellation or the expiry, whichever comes first.
func (b *batch) stop() time.Time {
	if !b.cancelDue.IsZero() && b.cancelDue.Before(b.expires) {
		return b.cancelDue
	}
	return b.expires
}

// end is when b ends if nothing changes: its last request processed, or stop.
func (b *batch) end() time.Time {
	last, stop := b.due(len(b.items)-1), b.stop()
	if stop.Before(last) {
		return stop
	}
	return last
}

// status is the batch's processing_status.
func (b *batch) status() string {
	switch {
	case !b.ended.IsZero():
		return "ended"
	case !b.canceled.IsZero():
		return "canceling"
	}
	return "in_progress"
}

// settledBy returns how many of the requests still processing will have settled by t.
func (b *batch) settledBy(t time.Time) int {
	n := len(b.items)
	if !t.Before(b.stop()) {
		return n - b.done
	}
	return sort.Search(n-b.done, func(j int) bool { return b.due(b.done + j).After(t) })
}

// batchStore holds the Message Batches of a server. It is safe for concurrent use.
type batchStore struct {
	mu       sync.Mutex
	closed   bool
	seq      uint64
	byID     map[string]*batch
	byKey    map[string][]*batch // in order of creation
	reserved map[string]int64    // queue room held by creates deciding their outcomes
	rpm      map[string]*bucket  // Config.BatchRPM, per key
}

func newBatchStore() *batchStore {
	return &batchStore{
		byID:     map[string]*batch{},
		byKey:    map[string][]*batch{},
		reserved: map[string]int64{},
		rpm:      map[string]*bucket{},
	}
}

// allowRPM takes one call from key's batch RPM bucket, or says how long until it could.
func (q *batchStore) allowRPM(key string, rpm int64, burst time.Duration) (bool, time.Duration) {
	if rpm <= 0 {
		return true, 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	b := q.rpm[key]
	if b == nil {
		nb := newBucket(rpm, burst, now)
		b = &nb
		q.rpm[key] = b
	}
	b.advance(now)
	ok, wait, _ := b.check(1)
	if ok {
		b.take(1)
	}
	return ok, wait
}

// close stops every batch timer; no timer does anything after it returns.
func (q *batchStore) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	for _, b := range q.byID {
		if b.timer != nil {
			b.timer.Stop()
		}
	}
}

// lockBatch locks batchStore.mu and returns key's batch id brought to now, the time read
// once the lock is held; the caller unlocks. When key has no batch id it returns nil, with
// the lock released.
func (s *Server) lockBatch(key, id string) (b *batch, now time.Time) {
	q := s.batches
	q.mu.Lock()
	now = time.Now()
	b = q.byID[id]
	if b == nil || b.key != key {
		q.mu.Unlock()
		return nil, now
	}
	s.advanceLocked(b, now)
	return b, now
}

// queuedLocked returns key's requests in the processing queue at now (those not settled
// by then), counting the room reserved by creates in progress. batchStore.mu must be held.
func (s *Server) queuedLocked(key string, now time.Time) int64 {
	n := s.batches.reserved[key]
	for _, b := range s.batches.byKey[key] {
		s.advanceLocked(b, now)
		n += b.counts.Processing
	}
	return n
}

// queueWaitLocked returns how long until key's queue, holding queued requests at now,
// has room for n more under limit, if nothing else is created meanwhile; ok is false when
// it never will (n alone is above the limit). Call it after queuedLocked(key, now).
// batchStore.mu must be held.
func (s *Server) queueWaitLocked(key string, queued, n, limit int64, now time.Time) (wait time.Duration, ok bool) {
	if n > limit {
		return 0, false
	}
	need := int(queued + n - limit)
	var open []*batch
	var last time.Duration
	for _, b := range s.batches.byKey[key] {
		if b.ended.IsZero() {
			open = append(open, b)
			last = max(last, b.end().Sub(now))
		}
	}
	settled := func(d time.Duration) bool {
		total := 0
		for _, b := range open {
			total += b.settledBy(now.Add(d))
		}
		return total >= need
	}
	lo, hi := time.Duration(0), last
	for lo < hi {
		mid := lo + (hi-lo)/2
		if settled(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, true
}

// advanceLocked brings b to now: the requests due by then are processed, as their params
// and cue say, then, once cancellation has ended or the batch has expired, the others are
// canceled or expired. The batch ends at the exact time its last request settled.
// batchStore.mu must be held.
func (s *Server) advanceLocked(b *batch, now time.Time) {
	if !b.ended.IsZero() {
		return
	}
	stop := b.stop()
	limit := now
	if stop.Before(limit) {
		limit = stop
	}
	for b.done < len(b.items) && !b.due(b.done).After(limit) {
		it := &b.items[b.done]
		switch {
		case it.errType != "":
			it.result = resultErrored
		case it.cue == BatchSucceeded:
			it.result, it.msgID = resultSucceeded, messageID(s.requestID())
		case it.cue == BatchExpired:
			it.result = resultExpired
		default:
			it.result = resultErrored // an api_error: see resultJSON
		}
		s.settleLocked(b, it)
	}
	switch {
	case b.done == len(b.items):
		b.ended = b.due(len(b.items) - 1)
	case !now.Before(stop):
		rest := resultExpired
		if stop.Before(b.expires) {
			rest = resultCanceled
		}
		for b.done < len(b.items) {
			b.items[b.done].result = rest
			s.settleLocked(b, &b.items[b.done])
		}
		b.ended = stop
	default:
		return
	}
	if b.timer != nil {
		b.timer.Stop()
	}
	s.ledger.batchEnded(b.id, b.ended)
}

// settleLocked counts it, the next request of b, as settled. batchStore.mu must be held.
func (s *Server) settleLocked(b *batch, it *batchItem) {
	b.done++
	b.counts.Processing--
	switch it.result {
	case resultSucceeded:
		b.counts.Succeeded++
	case resultErrored:
		b.counts.Errored++
	case resultCanceled:
		b.counts.Canceled++
	case resultExpired:
		b.counts.Expired++
	}
}

// armLocked sets b's timer for when it ends. batchStore.mu must be held.
func (s *Server) armLocked(b *batch, now time.Time) {
	if s.batches.closed || !b.ended.IsZero() {
		return
	}
	if b.timer != nil {
		b.timer.Stop()
	}
	b.timer = time.AfterFunc(max(b.end().Sub(now), 0), func() {
		q := s.batches
		q.mu.Lock()
		defer q.mu.Unlock()
		if !q.closed {
			now := time.Now()
			s.advanceLocked(b, now)
			s.armLocked(b, now) // a no-op once ended
		}
	})
}

// BatchQueue returns the batch requests of key in the processing queue now, as
// Config.BatchQueue limits them: those of its batches not yet processed (nor canceled or
// expired).
func (s *Server) BatchQueue(key string) int64 {
	q := s.batches
	q.mu.Lock()
	defer q.mu.Unlock()
	return s.queuedLocked(key, time.Now())
}
