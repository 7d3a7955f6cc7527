package redistest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterEnv is the variable that lists the nodes of the tests' Redis
// Cluster: host:port, comma-separated. .ci/run sets it.
const ClusterEnv = "REDIS_CLUSTER_ADDRS"

// NodeTimeout is the cluster-node-timeout of a private cluster: a master
// unreachable for this long is suspected, and its replica takes over about
// a second after the other masters agree that it failed.
const NodeTimeout = time.Second

// ClusterNodes is the number of nodes of a private cluster: three masters,
// each with one replica.
const ClusterNodes = 6

var sharedCluster struct {
	once  sync.Once
	addrs []string // nil when no cluster could be found or started
	c     *Cluster // the private cluster, if one was started
	err   error
}

// ClusterLookup finds or starts the tests' Redis Cluster (once per
// process) and returns the addresses of its nodes, or why there is none:
// the nodes listed in REDIS_CLUSTER_ADDRS when it is set (they must report
// cluster_state:ok), else a private cluster. Stop stops the private one.
func ClusterLookup() ([]string, error) {
	sharedCluster.once.Do(findCluster)
	if sharedCluster.addrs == nil {
		return nil, sharedCluster.err
	}
	return slices.Clone(sharedCluster.addrs), nil
}

// ClusterOptions returns the options of a client of the tests' Redis
// Cluster, finding or starting it on the first call. It skips t (fails it
// under CI=true) when there is none.
func ClusterOptions(t testing.TB) *redis.ClusterOptions {
	t.Helper()
	addrs, err := ClusterLookup()
	if err != nil {
		skipOrFail(t, fmt.Sprintf("redistest: no Redis Cluster: %v (set %s or install redis-server and redis-cli)", err, ClusterEnv))
	}
	return &redis.ClusterOptions{Addrs: addrs}
}

// ClusterClient returns a client of the tests' Redis Cluster, closed when
// t ends.
func ClusterClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	c := redis.NewClusterClient(ClusterOptions(t))
	t.Cleanup(func() { c.Close() })
	return c
}

// MasterOf returns the address of the master that owns key's slot, as the
// node rdb asks sees it (CLUSTER KEYSLOT, then CLUSTER SLOTS). rdb may be
// a *redis.ClusterClient or a client of one node.
func MasterOf(ctx context.Context, rdb redis.Cmdable, key string) (string, error) {
	slot, err := rdb.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return "", err
	}
	slots, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		return "", err
	}
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
			return s.Nodes[0].Addr, nil
		}
	}
	return "", fmt.Errorf("redistest: no master owns slot %d", slot)
}

func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func findCluster() {
	if env := os.Getenv(ClusterEnv); env != "" {
		var addrs []string
		for a := range strings.SplitSeq(env, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := waitOK(ctx, addrs, 0); err != nil {
			sharedCluster.err = fmt.Errorf("%s=%s: %w", ClusterEnv, env, err)
			return
		}
		sharedCluster.addrs = addrs
		return
	}
	c, err := startCluster("")
	if err != nil {
		sharedCluster.err = fmt.Errorf("%s is empty and no private cluster: %w", ClusterEnv, err)
		return
	}
	sharedCluster.c = c
	sharedCluster.addrs = c.Addrs()
}

// Cluster is a private Redis Cluster on loopback: ClusterNodes
// redis-server processes without persistence, joined by redis-cli
// --cluster create with one replica per master, with a cluster-node-timeout
// of NodeTimeout. Its methods are safe for concurrent use.
type Cluster struct {
	dir   string // removed by Stop when the cluster created it
	nodes []*Server
}

// StartCluster starts a private Redis Cluster, waits until every node
// reports cluster_state:ok and agrees on the owner of every slot, and stops
// it when t ends. It skips t (fails it under CI=true) when redis-server or
// redis-cli cannot run. Starting takes a few seconds.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	c, err := startCluster(t.TempDir())
	if err != nil {
		skipOrFail(t, fmt.Sprintf("redistest: cannot start a Redis Cluster: %v", err))
	}
	t.Cleanup(c.Stop)
	return c
}

// startCluster starts a cluster whose nodes keep their nodes.conf under
// dir, a fresh temporary directory (removed by Stop) when dir is empty.
func startCluster(dir string) (c *Cluster, err error) {
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, err
		}
	}
	c = &Cluster{}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "redistest-cluster-"); err != nil {
			return nil, err
		}
		c.dir = dir
	}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	ports, err := clusterPorts(ClusterNodes)
	if err != nil {
		return nil, err
	}
	for _, p := range ports {
		nd := filepath.Join(dir, strconv.Itoa(p))
		if err := os.Mkdir(nd, 0o755); err != nil {
			return nil, err
		}
		s := &Server{port: p, args: []string{
			"--dir", nd,
			"--logfile", filepath.Join(nd, "redis.log"),
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(nd, "nodes.conf"),
			"--cluster-node-timeout", strconv.FormatInt(NodeTimeout.Milliseconds(), 10),
			// A replica takes over however long it was out of touch.
			"--cluster-replica-validity-factor", "0",
			// A replica syncs at once, not after waiting 5 s for others.
			"--repl-diskless-sync-delay", "0",
		}}
		c.nodes = append(c.nodes, s)
		if err := s.Restart(); err != nil {
			return nil, fmt.Errorf("node %s: %w", s.Addr(), err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %w\n%s", err, out)
	}
	if err := c.Wait(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// clusterPorts picks n ports p for which p and its cluster bus port
// p+10000 are both free, all below Linux's ephemeral range so that
// outgoing connections never take them; .ci/run's cluster uses 21701 and
// up, outside this range.
func clusterPorts(n int) ([]int, error) {
	var ports []int
	for try := 0; len(ports) < n; try++ {
		if try == 1000 {
			return nil, errors.New("no free pair of ports (client and cluster bus) in 12000-19999")
		}
		p := 12000 + rand.IntN(8000)
		if slices.Contains(ports, p) || !free(p) || !free(p+10000) {
			continue
		}
		ports = append(ports, p)
	}
	return ports, nil
}

func free(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// Addrs returns the nodes' host:port, masters and replicas alike; they stay
// the same across restarts.
func (c *Cluster) Addrs() []string {
	a := make([]string, len(c.nodes))
	for i, s := range c.nodes {
		a[i] = s.Addr()
	}
	return a
}

// Options returns the options of a client of the cluster.
func (c *Cluster) Options() *redis.ClusterOptions {
	return &redis.ClusterOptions{Addrs: c.Addrs()}
}

func (c *Cluster) node(addr string) *Server {
	for _, s := range c.nodes {
		if s.Addr() == addr {
			return s
		}
	}
	panic("redistest: no node " + addr + " in the cluster")
}

// Kill kills the node at addr at once (SIGKILL), as a crash would; its
// replica, if it was a master, takes over after NodeTimeout and an
// election. It panics if addr is not a node of c.
func (c *Cluster) Kill(addr string) { c.node(addr).Kill() }

// Restart starts the node at addr again, empty, with the nodes.conf it had:
// it rejoins the cluster (a former master as a replica of the node that
// took over) and resynchronises. It returns once the node answers; Wait
// waits for the cluster to settle.
func (c *Cluster) Restart(addr string) error { return c.node(addr).Restart() }

// Stop kills every node and removes the directory the cluster created.
func (c *Cluster) Stop() {
	for _, s := range c.nodes {
		s.Kill()
	}
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}

// running returns the addresses of the nodes that run.
func (c *Cluster) running() []string {
	var a []string
	for _, s := range c.nodes {
		s.mu.Lock()
		if s.cmd != nil {
			a = append(a, s.Addr())
		}
		s.mu.Unlock()
	}
	return a
}

// MasterOf returns the address of the master that owns key's slot, as the
// first running node that answers sees it.
func (c *Cluster) MasterOf(ctx context.Context, key string) (string, error) {
	var errs []error
	for _, a := range c.running() {
		rdb := redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		m, err := MasterOf(ctx, rdb, key)
		rdb.Close()
		if err == nil {
			return m, nil
		}
		errs = append(errs, err)
	}
	return "", errors.Join(append(errs, errors.New("redistest: no running node answers"))...)
}
