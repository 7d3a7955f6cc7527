package simapi

import (
	"sync"
	"time"
)

// BatchRecord is a Message Batch the server accepted, as the ledger keeps it: deleting the
// batch does not remove its record.
type BatchRecord struct {
	ID       string
	Key      string    // the API key that created it
	Created  time.Time // its created_at
	Ended    time.Time // when processing ended; zero while it goes on
	Requests int       // the requests (items) in the batch
	Bytes    int64     // the size of the create body
}

// BatchCounts are the calls to the Message Batches endpoints, by answer. Every call is
// counted once; Calls is their total.
type BatchCounts struct {
	Calls       int64 // every call, whatever the answer
	Created     int64 // creates answered 200
	OK          int64 // other calls answered 200 (retrieve, list, results, cancel, delete)
	RateLimited int64 // 429: over Config.BatchRPM
	QueueFull   int64 // 429: the create would take the queue above Config.BatchQueue
	Rejected    int64 // any other error: 400, 401, 404, 405, 413
}

// batchAnswer is how a batch endpoint answered a call.
type batchAnswer int

const (
	batchCreated batchAnswer = iota
	batchOK
	batchRateLimited
	batchQueueFull
	batchRejected
)

func (c *BatchCounts) add(a batchAnswer) {
	c.Calls++
	switch a {
	case batchCreated:
		c.Created++
	case batchOK:
		c.OK++
	case batchRateLimited:
		c.RateLimited++
	case batchQueueFull:
		c.QueueFull++
	default:
		c.Rejected++
	}
}

// batchLedger is the part of a Ledger about batches.
type batchLedger struct {
	mu          sync.Mutex
	counts      map[string]*BatchCounts   // by key; "" for calls without one
	records     []BatchRecord             // in order of creation
	index       map[string]int            // batch id → records index
	submissions map[string]map[string]int // key → custom_id → times submitted
}

func newBatchLedger() batchLedger {
	return batchLedger{
		counts:      map[string]*BatchCounts{},
		index:       map[string]int{},
		submissions: map[string]map[string]int{},
	}
}

// batchCall counts one call to a batch endpoint by key.
func (l *Ledger) batchCall(key string, a batchAnswer) {
	b := &l.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.counts[key]
	if c == nil {
		c = &BatchCounts{}
		b.counts[key] = c
	}
	c.add(a)
}

// batchCreated records an accepted batch and its custom_ids, and returns the submission
// number of each: 1 the first time key submitted that custom_id, and so on.
func (l *Ledger) batchCreated(rec BatchRecord, customIDs []string) []int {
	b := &l.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	b.index[rec.ID] = len(b.records)
	b.records = append(b.records, rec)
	sub := b.submissions[rec.Key]
	if sub == nil {
		sub = map[string]int{}
		b.submissions[rec.Key] = sub
	}
	nth := make([]int, len(customIDs))
	for i, id := range customIDs {
		sub[id]++
		nth[i] = sub[id]
	}
	return nth
}

// batchEnded records when batch id ended.
func (l *Ledger) batchEnded(id string, at time.Time) {
	b := &l.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	if i, ok := b.index[id]; ok {
		b.records[i].Ended = at
	}
}

// BatchCounts returns the calls key made to the Message Batches endpoints ("" matches
// all keys, and calls refused for want of a key).
func (l *Ledger) BatchCounts(key string) BatchCounts {
	b := &l.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	var total BatchCounts
	for k, c := range b.counts {
		if key == "" || k == key {
			total.Calls += c.Calls
			total.Created += c.Created
			total.OK += c.OK
			total.RateLimited += c.RateLimited
			total.QueueFull += c.QueueFull
			total.Rejected += c.Rejected
		}
	}
	return total
}

// Batches returns the batches key created ("" matches all), in order of creation.
func (l *Ledger) Batches(key string) []BatchRecord {
	b := &l.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []BatchRecord
	for _, r := range b.records {
		if key == "" || r.Key == key {
			out = append(out, r)
		}
	}
	return out
}

// BatchSubmissions returns how many times key submitted each custom_id in a batch the
// server accepted ("" sums over all keys). Refused creates submit nothing, so a client
// that never resubmits a request has every count at 1. The map is the caller's.
func (l *Ledger) BatchSubmissions(key string) map[string]int {
	b := &l.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]int{}
	for k, sub := range b.submissions {
		if key == "" || k == key {
			for id, n := range sub {
				out[id] += n
			}
		}
	}
	return out
}
