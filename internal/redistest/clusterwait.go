package redistest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Replicate waits until every replica of the master that owns key's slot
// has every write that master acknowledged before the call: it writes a
// marker key in that slot and WAITs for the replicas to acknowledge it
// (replication is ordered). Redis replication is asynchronous; a test that
// kills a master after Replicate knows that its replica lost nothing.
func (c *Cluster) Replicate(ctx context.Context, key string) error {
	master, err := c.MasterOf(ctx, key)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: master, MaxRetries: -1})
	defer rdb.Close()
	info, err := rdb.Info(ctx, "replication").Result()
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(fields(info)["connected_slaves"])
	if n == 0 {
		return fmt.Errorf("redistest: master %s has no replica", master)
	}
	// WAIT counts the writes of its own connection.
	conn := rdb.Conn()
	defer conn.Close()
	if err := conn.Set(ctx, "{"+hashTag(key)+"}:redistest-replicate", "1", time.Minute).Err(); err != nil {
		return err
	}
	got, err := conn.Wait(ctx, n, 10*time.Second).Result()
	if err != nil {
		return err
	}
	if got < int64(n) {
		return fmt.Errorf("redistest: %d of the %d replicas of %s acknowledged within 10 s", got, n, master)
	}
	return nil
}

// hashTag returns what Redis Cluster hashes of key: the text between the
// first "{" and the next "}" if that is not empty, else the whole key.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

// Wait waits until the cluster has settled, or ctx ends: every running
// node reports cluster_state:ok, every slot is assigned, all of them name
// the same running master for every slot, and every replica's link to its
// master is up.
func (c *Cluster) Wait(ctx context.Context) error {
	return waitOK(ctx, c.running(), len(c.nodes))
}

// waitOK is Wait on the nodes at addrs, which must each know known nodes.
// With known 0 (a cluster of someone else's, of which addrs may list only
// some nodes), any number of nodes is fine and a master need not be in
// addrs.
func waitOK(ctx context.Context, addrs []string, known int) error {
	clients := make([]*redis.Client, len(addrs))
	for i, a := range addrs {
		clients[i] = redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		defer clients[i].Close()
	}
	var err error
	for {
		if err = settled(ctx, addrs, clients, known); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redistest: the cluster did not settle: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func settled(ctx context.Context, addrs []string, clients []*redis.Client, known int) error {
	var view string
	for i, rdb := range clients {
		info, err := rdb.ClusterInfo(ctx).Result()
		if err != nil {
			return fmt.Errorf("%s: %w", addrs[i], err)
		}
		f := fields(info)
		if f["cluster_state"] != "ok" || f["cluster_slots_assigned"] != "16384" ||
			known > 0 && f["cluster_known_nodes"] != strconv.Itoa(known) {
			return fmt.Errorf("%s: cluster_state %s, %s slots assigned, %s nodes known", addrs[i],
				f["cluster_state"], f["cluster_slots_assigned"], f["cluster_known_nodes"])
		}
		//lint:ignore SA1019 go-redis routes a ClusterClient by CLUSTER SLOTS; the test checks the view it uses
		slots, err := rdb.ClusterSlots(ctx).Result()
		if err != nil {
			return fmt.Errorf("%s: %w", addrs[i], err)
		}
		var owners []string
		for _, s := range slots {
			if len(s.Nodes) == 0 || known > 0 && !slices.Contains(addrs, s.Nodes[0].Addr) {
				return fmt.Errorf("%s: slots %d-%d have no running master", addrs[i], s.Start, s.End)
			}
			owners = append(owners, fmt.Sprintf("%d-%d:%s", s.Start, s.End, s.Nodes[0].Addr))
		}
		slices.Sort(owners)
		if v := strings.Join(owners, ","); i == 0 {
			view = v
		} else if v != view {
			return fmt.Errorf("%s and %s disagree on the slots' masters", addrs[0], addrs[i])
		}
		repl, err := rdb.Info(ctx, "replication").Result()
		if err != nil {
			return fmt.Errorf("%s: %w", addrs[i], err)
		}
		if r := fields(repl); r["role"] == "slave" && r["master_link_status"] != "up" {
			return fmt.Errorf("%s: the link to its master %s:%s is %s", addrs[i], r["master_host"], r["master_port"], r["master_link_status"])
		}
	}
	return nil
}

// fields parses the "name:value" lines of CLUSTER INFO and INFO.
func fields(info string) map[string]string {
	f := map[string]string{}
	for line := range strings.Lines(info) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			f[k] = v
		}
	}
	return f
}
