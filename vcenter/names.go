package vcenter

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// nameCache maps ids to names for the small, slow-changing parts of the
// inventory (hosts, clusters, folders, networks) and hosts to their cluster,
// so that VM details need one round of requests, not two. Entries live for
// nameTTL; a renamed folder may show its old name that long.
type nameCache struct {
	mu     sync.Mutex // guards the fields below
	loaded map[Kind]time.Time
	names  map[Kind]map[string]string
	parent map[string]cachedParent // host id → its cluster (or "")
	// fill makes concurrent look-ups that miss share one list request per
	// kind (two VM reads naming the same network send one network list).
	fill flightGroup
	// missed, when set (by tests), is called by every look-up that found
	// the cache stale, before it joins or starts a fill.
	missed func()
}

type cachedParent struct {
	cluster string
	at      time.Time
}

const nameTTL = 5 * time.Minute

func newNameCache() *nameCache {
	return &nameCache{loaded: map[Kind]time.Time{}, names: map[Kind]map[string]string{}, parent: map[string]cachedParent{}}
}

// name returns the name of id, loading the kind's list when stale. It
// returns "" when the id is unknown or the list cannot be read.
func (c *Client) name(ctx context.Context, k Kind, id string) string {
	if id == "" {
		return ""
	}
	nc := c.names
	nc.mu.Lock()
	fresh := time.Since(nc.loaded[k]) < nameTTL
	n, ok := nc.names[k][id]
	nc.mu.Unlock()
	if fresh && ok {
		return n
	}
	if nc.missed != nil {
		nc.missed()
	}
	v, err := nc.fill.do(ctx, string(k), func() (any, error) {
		// A fill that ended between this look-up's miss and its Do has
		// the answer already.
		nc.mu.Lock()
		m, fresh := nc.names[k], time.Since(nc.loaded[k]) < nameTTL
		nc.mu.Unlock()
		if _, ok := m[id]; fresh && ok {
			return m, nil
		}
		m, err := c.loadNames(ctx, k)
		if err != nil {
			return nil, err
		}
		nc.mu.Lock()
		nc.names[k], nc.loaded[k] = m, time.Now()
		nc.mu.Unlock()
		return m, nil
	})
	if err != nil {
		return ""
	}
	return v.(map[string]string)[id]
}

// loadNames lists one kind of the inventory as id → name.
func (c *Client) loadNames(ctx context.Context, k Kind) (map[string]string, error) {
	m := map[string]string{}
	switch k {
	case KindHost:
		items, _, err := c.ListHosts(ctx, HostFilter{})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			m[it.ID] = it.Name
		}
	case KindCluster:
		items, _, err := c.ListClusters(ctx, ClusterFilter{})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			m[it.ID] = it.Name
		}
	case KindFolder:
		items, _, err := c.ListFolders(ctx, FolderFilter{})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			m[it.ID] = it.Name
		}
	case KindNetwork:
		items, _, err := c.ListNetworks(ctx, NetworkFilter{})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			m[it.ID] = it.Name
		}
	default:
		return nil, errUnnamedKind
	}
	return m, nil
}

var errUnnamedKind = errors.New("no name cache for this kind")

// flightGroup runs one fill per key at a time: callers that arrive while
// one runs wait for its result instead of sending their own request. It is
// golang.org/x/sync/singleflight's Do, kept in the package because vcenter
// imports only the standard library and its few listed modules (STYLE.md,
// imports_test.go). The zero value is ready.
type flightGroup struct {
	mu sync.Mutex // guards m
	m  map[string]*flight
}

type flight struct {
	done chan struct{} // closed when val and err are set
	val  any
	err  error
}

var errFillFailed = errors.New("the shared look-up did not finish")

// do returns fn's result, running fn only if no call for key is in
// flight; a waiting caller gives up when its own ctx ends.
func (g *flightGroup) do(ctx context.Context, key string, fn func() (any, error)) (any, error) {
	g.mu.Lock()
	if f, ok := g.m[key]; ok {
		g.mu.Unlock()
		select {
		case <-f.done:
			return f.val, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if g.m == nil {
		g.m = make(map[string]*flight)
	}
	f := &flight{done: make(chan struct{})}
	g.m[key] = f
	g.mu.Unlock()
	finished := false
	defer func() {
		if !finished { // fn panicked: the waiters get an error, the panic goes on
			f.val, f.err = nil, errFillFailed
		}
		g.mu.Lock()
		delete(g.m, key)
		g.mu.Unlock()
		close(f.done)
	}()
	f.val, f.err = fn()
	finished = true
	return f.val, f.err
}

// clusterOf returns the cluster id of a host ("" for a standalone host),
// through VI/JSON HostSystem.parent.
func (c *Client) clusterOf(ctx context.Context, host string) (string, error) {
	nc := c.names
	nc.mu.Lock()
	p, ok := nc.parent[host]
	nc.mu.Unlock()
	if ok && time.Since(p.at) < nameTTL {
		return p.cluster, nil
	}
	if err := ValidateID(KindHost, host); err != nil {
		return "", err
	}
	var parent moRef
	if err := c.vim(ctx, http.MethodGet, "HostSystem", host, "parent", nil, &parent); err != nil {
		return "", err
	}
	cluster := ""
	if parent.Type == "ClusterComputeResource" && LooksLikeID(KindCluster, parent.Value) {
		cluster = parent.Value
	}
	nc.mu.Lock()
	nc.parent[host] = cachedParent{cluster, time.Now()}
	nc.mu.Unlock()
	return cluster, nil
}
