package redisstore

import (
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ratekeeper/ratekeeper/internal/bucket"
	"github.com/ratekeeper/ratekeeper/limiter"
)

// A call of the script sends one argument (see bucket.lua): the op's byte,
// then float64s, little-endian: now, the idle margin, Capacity, Refill and
// Period of each dimension, and the op's own numbers. Float64s are exact
// both ways and cost the script one struct.unpack, where a number as text
// costs it a tonumber; Redis runs one script at a time, so what the script
// costs is what every caller waits for.
const (
	headLen   = 1 + 2*8
	limitsLen = 3 * bucket.N * 8
	// callMax fits the op with the most numbers, "u": the deltas, and the
	// undo (the seq it left; last, seq and levels before it).
	callMax = headLen + limitsLen + (2*bucket.N+3)*8
)

// encodedLimits caches the packed Limits of the last call: limits rarely
// change.
type encodedLimits struct {
	lim limiter.Limits
	b   [limitsLen]byte
}

// call is one call of the script: its packed argument and the slices that
// go-redis takes, in one allocation. A *call is the argument itself (an
// encoding.BinaryMarshaler), so boxing it allocates nothing. It is never
// reused: go-redis may hold a command's arguments after the caller has
// stopped waiting for it (a timeout on a pipelined client).
type call struct {
	keys [1]string
	args [1]any
	n    int
	b    [callMax]byte
}

// MarshalBinary returns the packed argument; go-redis writes it as is.
func (c *call) MarshalBinary() ([]byte, error) { return c.b[:c.n], nil }

func (c *call) put(x float64) {
	binary.LittleEndian.PutUint64(c.b[c.n:], math.Float64bits(x))
	c.n += 8
}

func (s *Store) newCall(op byte, key string, lim *limiter.Limits) *call {
	e := s.enc.Load()
	if e == nil || e.lim != *lim {
		e = &encodedLimits{lim: *lim}
		for i, l := range lim {
			b := e.b[24*i:]
			binary.LittleEndian.PutUint64(b, math.Float64bits(l.Capacity))
			binary.LittleEndian.PutUint64(b[8:], math.Float64bits(l.Refill))
			binary.LittleEndian.PutUint64(b[16:], math.Float64bits(l.Period))
		}
		s.enc.Store(e)
	}
	c := &call{n: 1}
	c.keys[0] = key
	c.args[0] = c
	c.b[0] = op
	var now float64 // 0: the script reads Redis TIME
	if s.now != nil {
		now = float64(s.now().UnixMicro())
	}
	c.put(now)
	c.put(idleMargin)
	c.n += copy(c.b[c.n:], e.b[:])
	return c
}

func (s *Store) run(ctx context.Context, c *call) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return script.Run(ctx, s.rdb, c.keys[:], c.args[:]...).Result()
}

func (s *Store) reserveShared(ctx context.Context, key string, req *limiter.ReserveRequest) (limiter.ReserveResult, int64, error) {
	c := s.newCall('r', key, &req.Limits)
	for _, n := range req.Cost {
		c.put(float64(n))
	}
	c.put(req.Floor)
	c.put(float64(bucket.Micros(req.MaxWait)))
	c.put(float64(req.Waiter.ID))
	c.put(float64(req.Waiter.Since))
	v, err := s.run(ctx, c)
	if err != nil {
		return limiter.ReserveResult{}, 0, err
	}
	var r reply
	if err := r.parse(v, 9, 23); err != nil {
		return limiter.ReserveResult{}, 0, err
	}
	res := limiter.ReserveResult{
		OK:       r.n == 23,
		Dim:      int(r.f[2]),
		TooLarge: r.f[3] == 1,
		Need:     r.f[4],
		Have:     r.f[5],
		Seq:      int64(r.f[6]),
	}
	if res.TooLarge {
		res.Delay = limiter.Forever
	} else {
		res.Delay = bucket.Delay(r.f[1])
	}
	if !res.OK {
		res.Since = int64(r.f[8])
	}
	if res.OK {
		res.Prev.Last = int64(r.f[8])
		res.Prev.Seq = int64(r.f[9])
		copy(res.Prev.Level[:], r.f[10:16])
		res.Prev.End = int64(r.f[16])
		copy(res.Prev.Peak[:], r.f[17:23])
	}
	return res, int64(r.f[7]), nil
}

// release drops a waiter's claim, in Redis and in the fallback (a waiter
// of either may hold one). A failure of Redis is not reported: the claim
// lapses on its own within bucket.ClaimTTL.
func (s *Store) release(ctx context.Context, key string, req *limiter.SettleRequest) error {
	if s.shared() {
		c := s.newCall('c', key, &req.Limits)
		c.put(float64(req.Release))
		_, err := s.run(ctx, c)
		if err = s.outcome(ctx, "release", err); err != nil && !errors.Is(err, errFallback) {
			return err
		}
	}
	return s.fallback.Settle(ctx, key, *req)
}

func (s *Store) settleShared(ctx context.Context, key string, req *limiter.SettleRequest) error {
	op := byte('s')
	if req.Undo != nil {
		op = 'u'
	}
	c := s.newCall(op, key, &req.Limits)
	for _, d := range req.Delta {
		c.put(float64(d))
	}
	if u := req.Undo; u != nil {
		c.put(float64(u.Left))
		c.put(float64(u.Last))
		c.put(float64(u.Seq))
		for _, l := range u.Level {
			c.put(l)
		}
	}
	_, err := s.run(ctx, c)
	return err
}

func (s *Store) lowerShared(ctx context.Context, key string, req *limiter.LowerRequest) error {
	c := s.newCall('l', key, &req.Limits)
	c.put(float64(bucket.Select(&req.Dims)))
	for _, l := range req.Level {
		c.put(l)
	}
	for _, h := range req.Hold {
		c.put(float64(bucket.Micros(h)))
	}
	_, err := s.run(ctx, c)
	return err
}

func (s *Store) snapshotShared(ctx context.Context, key string, lim *limiter.Limits) (limiter.Snapshot, error) {
	v, err := s.run(ctx, s.newCall('g', key, lim))
	if err != nil {
		return limiter.Snapshot{}, err
	}
	var r reply
	if err := r.parse(v, 7, 7); err != nil {
		return limiter.Snapshot{}, err
	}
	snap := limiter.Snapshot{At: time.UnixMicro(int64(r.f[0]))}
	copy(snap.Level[:], r.f[1:7])
	return snap, nil
}

// reply is the script's answer: float64s, little-endian, in one string.
type reply struct {
	f [23]float64
	n int
}

// parse decodes v, which must hold short or long numbers.
func (r *reply) parse(v any, short, long int) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("%w: %T", errBadReply, v)
	}
	if n := len(str) / 8; len(str)%8 != 0 || n != short && n != long {
		return fmt.Errorf("%w: %d bytes", errBadReply, len(str))
	}
	// The conversion does not copy: the compiler sees that b is only read
	// and does not outlive the call (go build -gcflags=-m -m: "zero-copy
	// string->[]byte conversion").
	b := []byte(str)
	for r.n = 0; len(b) > 0; r.n++ {
		r.f[r.n] = math.Float64frombits(binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	return nil
}
