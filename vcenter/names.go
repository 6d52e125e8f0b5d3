package vcenter

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
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
	// fill makes concurrent misses share one request: one list per kind
	// ("names/host"), one HostSystem.parent per host ("parent/host-12").
	fill singleflight.Group
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

// cachedName returns the name of id when the cache holds a fresh one.
func (c *Client) cachedName(k Kind, id string) (string, bool) {
	nc := c.names
	nc.mu.Lock()
	defer nc.mu.Unlock()
	n, ok := nc.names[k][id]
	return n, ok && c.now().Sub(nc.loaded[k]) < nameTTL
}

// name returns the name of id, loading the kind's list when stale. It
// returns "" when the id is unknown or the list cannot be read.
func (c *Client) name(ctx context.Context, k Kind, id string) string {
	if id == "" {
		return ""
	}
	if n, ok := c.cachedName(k, id); ok {
		return n
	}
	if c.names.missed != nil {
		c.names.missed()
	}
	v, err, _ := c.names.fill.Do("names/"+string(k), func() (any, error) {
		// A fill that ended since the miss above has stored what is needed.
		nc := c.names
		nc.mu.Lock()
		m, fresh := nc.names[k], c.now().Sub(nc.loaded[k]) < nameTTL
		nc.mu.Unlock()
		if _, ok := m[id]; ok && fresh {
			return m, nil
		}
		m, err := c.loadNames(ctx, k)
		if err != nil {
			return nil, err // nothing is cached: the next look-up tries again
		}
		nc.mu.Lock()
		nc.names[k], nc.loaded[k] = m, c.now()
		nc.mu.Unlock()
		return m, nil
	})
	if err != nil {
		return "" // a name is optional: the id stands alone
	}
	return v.(map[string]string)[id]
}

// loadNames lists every object of kind k: id → name.
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
	}
	return m, nil
}

// cachedCluster returns the cluster of host when the cache holds it.
func (c *Client) cachedCluster(host string) (string, bool) {
	nc := c.names
	nc.mu.Lock()
	p, ok := nc.parent[host]
	nc.mu.Unlock()
	return p.cluster, ok && c.now().Sub(p.at) < nameTTL
}

// clusterOf returns the cluster id of a host ("" for a standalone host),
// through VI/JSON HostSystem.parent.
func (c *Client) clusterOf(ctx context.Context, host string) (string, error) {
	if cluster, ok := c.cachedCluster(host); ok {
		return cluster, nil
	}
	if err := ValidateID(KindHost, host); err != nil {
		return "", err
	}
	v, err, _ := c.names.fill.Do("parent/"+host, func() (any, error) {
		if cluster, ok := c.cachedCluster(host); ok { // filled since the miss
			return cluster, nil
		}
		var parent moRef
		if err := c.vim(ctx, http.MethodGet, "HostSystem", host, "parent", nil, &parent); err != nil {
			return "", err
		}
		cluster := ""
		if parent.Type == "ClusterComputeResource" && LooksLikeID(KindCluster, parent.Value) {
			cluster = parent.Value
		}
		nc := c.names
		nc.mu.Lock()
		nc.parent[host] = cachedParent{cluster, c.now()}
		nc.mu.Unlock()
		return cluster, nil
	})
	return v.(string), err
}
