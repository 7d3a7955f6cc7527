package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/ratekeeper/ratekeeper/limiter"
)

// errFallback is outcome's answer: use the fallback.
var errFallback = errors.New("use the fallback")

// shared reports whether this call should go to Redis: always when Redis
// has not failed (or fail-closed), else for one caller at a time once the
// back-off has passed.
func (s *Store) shared() bool {
	if s.failClosed || !s.degraded.Load() {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.down {
		return true
	}
	if s.probing || s.since().Before(s.retryAt) {
		return false
	}
	s.probing = true
	return true
}

// outcome records the result of a call to Redis. It returns nil on
// success, the error to give the caller (the caller's own context ended,
// or fail-closed), or errFallback.
func (s *Store) outcome(ctx context.Context, op string, err error) error {
	if err == nil {
		if s.degraded.Load() {
			s.recover()
		}
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		s.endProbe()
		return fmt.Errorf("redisstore: %s: %w", op, cerr)
	}
	rerr := &Error{Op: op, Err: err}
	if s.failClosed {
		return rerr
	}
	s.fail(rerr)
	return errFallback
}

func (s *Store) recover() {
	s.mu.Lock()
	was := s.down
	s.down, s.probing, s.backoff = false, false, 0
	s.degraded.Store(false)
	s.mu.Unlock()
	if !was {
		return
	}
	if s.logger != nil {
		s.logger.Info("redisstore: Redis answers again; budgets are shared again")
	}
	if s.onChange != nil {
		s.onChange(false, nil)
	}
}

func (s *Store) fail(err *Error) {
	s.mu.Lock()
	was := s.down
	switch {
	case !was:
		s.backoff = s.probeMin
	case s.probing:
		s.backoff = min(2*s.backoff, s.probeMax)
	default:
		// A call that began before the first failure: the back-off
		// already runs.
		s.mu.Unlock()
		return
	}
	s.down, s.probing = true, false
	s.retryAt = s.since().Add(s.backoff)
	s.degraded.Store(true)
	backoff := s.backoff
	s.mu.Unlock()
	if was {
		return
	}
	if s.logger != nil {
		s.logger.Warn("redisstore: Redis failed; using the local fallback",
			"err", err.Err, "op", err.Op, "share", s.share, "retry_in", backoff)
	}
	if s.onChange != nil {
		s.onChange(true, err)
	}
}

// endProbe gives up a probe that ended for the caller's own reasons.
func (s *Store) endProbe() {
	s.mu.Lock()
	s.probing = false
	s.mu.Unlock()
}

// scale returns lim with every capacity and refill multiplied by the
// fallback share.
func (s *Store) scale(lim *limiter.Limits) limiter.Limits {
	out := *lim
	for i := range out {
		out[i].Capacity *= s.share
		out[i].Refill *= s.share
	}
	return out
}

func (s *Store) localMicros() int64 {
	if s.now != nil {
		return s.now().UnixMicro()
	}
	return time.Now().UnixMicro()
}
