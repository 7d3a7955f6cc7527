// Package redistest finds or starts the Redis server that ratekeeper's tests
// run against.
//
// Tests use the server at REDIS_URL (default redis://127.0.0.1:6379/0).
// When none answers, a private redis-server is started on a free port if the
// binary is on PATH (once per test process; call Stop from TestMain), else
// the test is skipped with a message — except under CI=true, where a
// missing Redis fails the test. Fault tests start servers of their own with
// Start, which they can kill and restart.
//
// Cluster tests use the Redis Cluster whose nodes REDIS_CLUSTER_ADDRS lists
// (comma-separated host:port) or, when it is empty, a private cluster of
// three masters and three replicas started once per test process if
// redis-server and redis-cli are on PATH; the same skip-or-fail rule
// applies. Failover tests start clusters of their own with StartCluster,
// whose nodes they can kill and restart.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is the server tried when REDIS_URL is empty.
const DefaultURL = "redis://127.0.0.1:6379/0"

var shared struct {
	once sync.Once
	opt  *redis.Options // nil when no server could be found or started
	srv  *Server        // the private server, if one was started
	err  error
}

// Lookup finds or starts the tests' Redis server (once per process) and
// returns a copy of its client options, or why there is none. TestMain may
// call it to export the server's URL to examples.
func Lookup() (*redis.Options, error) {
	shared.once.Do(find)
	if shared.opt == nil {
		return nil, shared.err
	}
	o := *shared.opt
	return &o, nil
}

// Options returns the options of a client of the tests' Redis server,
// finding or starting it on the first call. It skips t (fails it under
// CI=true) when there is none.
func Options(t testing.TB) *redis.Options {
	t.Helper()
	shared.once.Do(find)
	if shared.opt == nil {
		skipOrFail(t, fmt.Sprintf("redistest: no Redis server: %v (set REDIS_URL or install redis-server)", shared.err))
	}
	o := *shared.opt
	return &o
}

// URL returns the URL of the server that opt reaches (address and
// database; no credentials).
func URL(opt *redis.Options) string {
	return fmt.Sprintf("redis://%s/%d", opt.Addr, opt.DB)
}

// Client returns a client of the tests' Redis server, closed when t ends.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(Options(t))
	t.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a key prefix unique to t and deletes every key under it
// when t ends.
func Prefix(t testing.TB) string {
	t.Helper()
	p := fmt.Sprintf("ratekeeper-test:%x", rand.Uint64())
	opt := Options(t)
	t.Cleanup(func() {
		c := redis.NewClient(opt)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, p+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return p
}

// Stop stops the private server and the private cluster if they were
// started. Call it from TestMain after m.Run.
func Stop() {
	if shared.srv != nil {
		shared.srv.Kill()
	}
	if sharedCluster.c != nil {
		sharedCluster.c.Stop()
	}
}

func find() {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = DefaultURL
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		shared.err = fmt.Errorf("REDIS_URL: %w", err)
		return
	}
	if err = ping(opt); err == nil {
		shared.opt = opt
		return
	}
	srv, serr := start()
	if serr != nil {
		shared.err = fmt.Errorf("%s does not answer (%v) and no private server: %w", url, err, serr)
		return
	}
	shared.srv = srv
	shared.opt = &redis.Options{Addr: srv.Addr()}
}

func ping(opt *redis.Options) error {
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// Server is a private redis-server process without persistence.
type Server struct {
	port int
	args []string   // after the port, bind and persistence flags
	mu   sync.Mutex // guards cmd
	cmd  *exec.Cmd
}

// Start starts a private redis-server on a free port and kills it when t
// ends. It skips t (fails it under CI=true) when redis-server cannot run.
// args are passed to redis-server after the defaults (port, bind, no
// persistence), and again on every Restart: "--maxmemory", "1mb", say.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	s, err := start(args...)
	if err != nil {
		skipOrFail(t, fmt.Sprintf("redistest: cannot start redis-server: %v", err))
	}
	t.Cleanup(s.Kill)
	return s
}

func start(args ...string) (*Server, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{port: port, args: args}
	if err := s.Restart(); err != nil {
		return nil, err
	}
	return s, nil
}

// Addr is the server's host:port. It stays the same across restarts.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Kill kills the server at once (SIGKILL) and waits for it to exit. It does
// nothing if the server is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same port, empty, and waits until
// it answers (up to 5 s). It does nothing if the server is running.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no"}, s.args...)
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	opt := &redis.Options{Addr: s.Addr(), MaxRetries: -1}
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if err = ping(opt); err == nil {
			return nil
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	s.cmd = nil
	return errors.Join(errors.New("redis-server did not answer within 5 s"), err)
}
