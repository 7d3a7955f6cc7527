package simapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// errBodyClosed is what a handler's Write returns after the client closed the body.
var errBodyClosed = errors.New("simapi: response body closed by the client")

// Transport returns an http.RoundTripper that serves requests in-process by calling the
// handler directly, with no network: the response body is an io.Pipe, so a stream arrives
// as the handler writes it. It works inside a testing/synctest bubble (create the Server in
// the same bubble). The request's host is ignored. Closing a response body, or cancelling
// the request's context, stops its handler; Close ends them all.
func (s *Server) Transport() http.RoundTripper { return transport{s} }

type transport struct{ s *Server }

// RoundTrip implements http.RoundTripper.
func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	s := t.s
	if req.Body == nil {
		req.Body = http.NoBody
	}
	ctx, cancel := context.WithCancel(req.Context())
	sreq := req.Clone(ctx)
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "127.0.0.1:1"
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	sreq.Body = req.Body

	pr, pw := io.Pipe()
	rw := &pipeWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	body := &pipeBody{pr: pr, cancel: cancel}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		_ = req.Body.Close()
		return nil, ErrClosed
	}
	s.pipes[body] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()

	go func() {
		defer s.wg.Done()
		defer func() {
			rw.writeHeader(http.StatusOK) // no-op if already sent
			_ = pw.Close()
			cancel()
			_ = req.Body.Close()
			s.mu.Lock()
			delete(s.pipes, body)
			s.mu.Unlock()
		}()
		s.Handler().ServeHTTP(rw, sreq)
	}()

	<-rw.ready
	res := &http.Response{
		Status:        strconv.Itoa(rw.status) + " " + http.StatusText(rw.status),
		StatusCode:    rw.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rw.sent,
		Body:          body,
		ContentLength: -1,
		Request:       req,
	}
	if cl := rw.sent.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil {
			res.ContentLength = n
		}
	}
	return res, nil
}

// pipeWriter is the http.ResponseWriter of an in-process request.
type pipeWriter struct {
	header http.Header
	pw     *io.PipeWriter
	once   sync.Once
	ready  chan struct{} // closed when the status and header are sent
	status int
	sent   http.Header // snapshot of header at WriteHeader
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) writeHeader(code int) {
	w.once.Do(func() {
		w.status = code
		w.sent = w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) WriteHeader(code int) { w.writeHeader(code) }

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.writeHeader(http.StatusOK)
	return w.pw.Write(p)
}

// Flush is a no-op: pipe writes are synchronous.
func (w *pipeWriter) Flush() {}

// pipeBody is the response body of an in-process request.
type pipeBody struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
}

func (b *pipeBody) Read(p []byte) (int, error) { return b.pr.Read(p) }

// Close stops the handler if it is still writing.
func (b *pipeBody) Close() error {
	b.abort(errBodyClosed)
	return nil
}

func (b *pipeBody) abort(err error) {
	b.cancel()
	_ = b.pr.CloseWithError(err)
}
