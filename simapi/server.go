package simapi

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ratekeeper/ratekeeper/internal/simtok"
	"github.com/ratekeeper/ratekeeper/tier"
)

// ErrClosed is returned by Start and by the Transport after Close.
var ErrClosed = errors.New("simapi: server closed")

// maxBody is the request size limit of the Messages API (32 MB).
const maxBody = 32 << 20

// Server is the simulated API. Create it with New, serve it with Handler, Start or
// Transport, read what happened from Ledger, and Close it. It is safe for concurrent use by
// multiple goroutines.
type Server struct {
	cfg     Config
	classes []Class
	created time.Time
	ledger  *Ledger
	latency time.Duration // per output token; 0 = none
	seq     atomic.Uint64 // request ids
	batches *batchStore   // Message Batches, under a lock of their own

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // handlers and in-process responses in flight

	// mu guards the fields below it.
	mu       sync.Mutex
	closed   bool
	buckets  map[ledgerKey]*keyState
	counts   map[string]*bucket // count_tokens RPM per key
	inflight int
	rng      *rand.Rand
	spend    map[string]bool
	pipes    map[*pipeBody]struct{}
	httpSrv  *http.Server
	served   chan struct{}
}

// keyState holds the buckets of one (API key, model class).
type keyState struct {
	req, in, out, tok bucket
}

// New validates cfg and returns a server whose clock (for overload windows) starts now.
func New(cfg Config) (*Server, error) {
	classes, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	cfg.Classes = classes
	lat := cfg.PerTokenLatency
	switch {
	case lat == 0:
		lat = DefaultPerTokenLatency
	case lat < 0:
		lat = 0
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:     cfg,
		classes: classes,
		created: time.Now(),
		ledger:  newLedger(),
		batches: newBatchStore(),
		latency: lat,
		ctx:     ctx,
		cancel:  cancel,
		buckets: map[ledgerKey]*keyState{},
		counts:  map[string]*bucket{},
		rng:     rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		spend:   map[string]bool{},
		pipes:   map[*pipeBody]struct{}{},
	}
	for _, k := range cfg.SpendLimitedKeys {
		s.spend[k] = true
	}
	return s, nil
}

// Ledger returns the server's ledger.
func (s *Server) Ledger() *Ledger { return s.ledger }

// SetSpendLimited sets whether key's spend limit is exhausted (see
// Config.SpendLimitedKeys).
func (s *Server) SetSpendLimited(key string, limited bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if limited {
		s.spend[key] = true
	} else {
		delete(s.spend, key)
	}
}

// Handler returns the server's HTTP handler. It serves POST /v1/messages,
// POST /v1/messages/count_tokens, the Message Batches routes under /v1/messages/batches
// and POST /v1/chat/completions, and 404 not_found_error for anything else. Handlers in
// flight stop when Close is called.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "simapi: server closed", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	r = r.WithContext(ctx)

	switch p := r.URL.Path; {
	case p == "/v1/messages":
		s.messages(w, r)
	case p == "/v1/messages/count_tokens":
		s.countTokens(w, r)
	case isBatchPath(p):
		s.serveBatches(w, r)
	case p == "/v1/chat/completions":
		s.chatCompletions(w, r)
	default:
		s.ledger.outcome("", "", Rejected)
		if isOpenAIPath(r.URL.Path) {
			writeOpenAIError(w, http.StatusNotFound, "invalid_request_error", "unknown_url",
				fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path))
			return
		}
		writeAnthropicError(w, s.requestID(), http.StatusNotFound, "not_found_error",
			fmt.Sprintf("Not found: %s %s", r.Method, r.URL.Path), nil)
	}
}

// Start serves the handler on a new loopback listener and returns its base URL, such as
// "http://127.0.0.1:41234". It can be called once. Real network I/O does not block durably
// inside a testing/synctest bubble: use Transport there.
func (s *Server) Start() (baseURL string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", ErrClosed
	}
	if s.httpSrv != nil {
		return "", errors.New("simapi: already started")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("simapi: listen: %w", err)
	}
	s.httpSrv = &http.Server{
		Handler:           s.Handler(),
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
		ReadHeaderTimeout: time.Minute,
	}
	s.served = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		_ = srv.Serve(ln) // returns http.ErrServerClosed after Close
	}(s.httpSrv, s.served)
	return "http://" + ln.Addr().String(), nil
}

// Close stops the listener if any, ends every request in flight (streams are cut), stops
// the processing of every batch, and waits until no goroutine of the server remains. It is
// safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	pipes := make([]*pipeBody, 0, len(s.pipes))
	for p := range s.pipes {
		pipes = append(pipes, p)
	}
	srv, served := s.httpSrv, s.served
	s.mu.Unlock()

	if srv != nil {
		// Closing the connections first cuts streams in flight instead of letting their
		// handlers end them cleanly.
		_ = srv.Close()
		<-served
	}
	for _, p := range pipes {
		p.abort(ErrClosed)
	}
	s.batches.close()
	s.cancel()
	s.wg.Wait()
}

// requestID returns a new request id like "req_sim0000000000000001".
func (s *Server) requestID() string {
	return fmt.Sprintf("req_sim%016x", s.seq.Add(1))
}

// sleep waits d on a timer; it reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// InputTokens returns the input tokens the server charges for a generation request body
// of provider p: package simtok's count, with text counted by Config.TextCounter when set.
// It is what admission debits from ITPM (Anthropic) or TPM (OpenAI), exported so that a
// benchmark's oracle can know it. The error is simtok's for a malformed body.
func (s *Server) InputTokens(p tier.Provider, body []byte) (int64, error) {
	if p == tier.OpenAI {
		return simtok.CountOpenAIRequestWith(body, s.cfg.TextCounter)
	}
	return simtok.CountAnthropicRequestWith(body, s.cfg.TextCounter)
}

// OutputTokens returns the output length the server generates for a request with header,
// body and max_tokens maxTokens: the x-sim-output-tokens header if present (clamped to
// [1, maxTokens]), else 1 + hash(Config.Seed, body) mod maxTokens; 0 when maxTokens < 1.
// It is exported so that a benchmark's oracle can know every request's true output.
func (s *Server) OutputTokens(header http.Header, body []byte, maxTokens int64) int64 {
	if maxTokens < 1 {
		return 0
	}
	if v := header.Get("x-sim-output-tokens"); v != "" {
		var n int64
		if _, err := fmt.Sscan(v, &n); err == nil {
			return min(max(n, 1), maxTokens)
		}
	}
	h := fnv.New64a()
	var seed [8]byte
	for i := range seed {
		seed[i] = byte(s.cfg.Seed >> (8 * i))
	}
	h.Write(seed[:])
	h.Write(body)
	return 1 + int64(h.Sum64()%uint64(maxTokens))
}

// chunkTokens is the number of output tokens generated (and streamed) per step.
func chunkTokens(total int64) int64 { return max(16, (total+31)/32) }
