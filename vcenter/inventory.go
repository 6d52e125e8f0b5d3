package vcenter

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
)

// Inventory lists (vcenter-api.md §2.1). Each list validates the ids in its
// filter, splits queries over vCenter's cap, and returns items sorted by
// name, then id.

// Host is one ESXi host as the host list shows it.
type Host struct {
	ID              string `json:"host"`
	Name            string `json:"name"`
	ConnectionState string `json:"connection_state"` // CONNECTED, DISCONNECTED, NOT_RESPONDING
	PowerState      string `json:"power_state"`      // POWERED_ON, POWERED_OFF, STANDBY; absent when not connected
}

// HostFilter narrows [Client.ListHosts]. Empty fields match everything.
type HostFilter struct {
	IDs, Names, Folders, Datacenters, Clusters []string
	ConnectionStates                           []string
	// Standalone, when set, keeps only hosts outside (true) or inside
	// (false) a cluster.
	Standalone *bool
}

// ListHosts lists hosts.
func (c *Client) ListHosts(ctx context.Context, f HostFilter) ([]Host, ListStats, error) {
	if err := validAll(
		idCheck{KindHost, f.IDs}, idCheck{KindFolder, f.Folders},
		idCheck{KindDatacenter, f.Datacenters}, idCheck{KindCluster, f.Clusters},
	); err != nil {
		return nil, ListStats{}, err
	}
	fs := filterSet{"hosts": f.IDs, "names": f.Names, "folders": f.Folders, "datacenters": f.Datacenters,
		"clusters": f.Clusters, "connection_states": f.ConnectionStates}
	if f.Standalone != nil {
		fs["standalone"] = []string{fmt.Sprint(*f.Standalone)}
	}
	l := newLister(c, "/vcenter/host", func(h *Host) string { return h.ID },
		splitExisting("datacenters"), splitExisting("clusters"), splitExisting("folders"),
		splitBy("datacenters", c.datacenterIDs),
		splitBy("clusters", c.clusterIDs),
		splitBy("folders", c.folderIDs("HOST")),
	)
	hosts, stats, err := l.run(ctx, compact(fs))
	if err != nil {
		return nil, stats, fmt.Errorf("list hosts: %w", err)
	}
	for i := range hosts {
		h := &hosts[i]
		h.ID, h.Name = sanitize(h.ID, maxIDLen), sanitize(h.Name, maxNameLen)
		h.ConnectionState, h.PowerState = sanitize(h.ConnectionState, 32), sanitize(h.PowerState, 32)
	}
	sortByName(hosts, func(h *Host) (string, string) { return h.Name, h.ID })
	return hosts, stats, nil
}

// Datastore is one datastore as the datastore list shows it. Capacity and
// free space are in bytes and absent when vCenter does not know them
// (an inaccessible datastore).
type Datastore struct {
	ID        string `json:"datastore"`
	Name      string `json:"name"`
	Type      string `json:"type"` // VMFS, NFS, NFS41, CIFS, VSAN, VFFS, VVOL
	FreeSpace *int64 `json:"free_space"`
	Capacity  *int64 `json:"capacity"`
}

// DatastoreFilter narrows [Client.ListDatastores].
type DatastoreFilter struct {
	IDs, Names, Types, Folders, Datacenters []string
}

// ListDatastores lists datastores with capacity and free space, which only
// the list carries (the single-datastore GET has no capacity).
func (c *Client) ListDatastores(ctx context.Context, f DatastoreFilter) ([]Datastore, ListStats, error) {
	if err := validAll(idCheck{KindDatastore, f.IDs}, idCheck{KindFolder, f.Folders}, idCheck{KindDatacenter, f.Datacenters}); err != nil {
		return nil, ListStats{}, err
	}
	fs := filterSet{"datastores": f.IDs, "names": f.Names, "types": f.Types, "folders": f.Folders, "datacenters": f.Datacenters}
	l := newLister(c, "/vcenter/datastore", func(d *Datastore) string { return d.ID },
		splitExisting("datacenters"), splitExisting("folders"), splitExisting("types"),
		splitBy("datacenters", c.datacenterIDs),
		splitBy("folders", c.folderIDs("DATASTORE")),
	)
	ds, stats, err := l.run(ctx, compact(fs))
	if err != nil {
		return nil, stats, fmt.Errorf("list datastores: %w", err)
	}
	for i := range ds {
		ds[i].ID, ds[i].Name, ds[i].Type = sanitize(ds[i].ID, maxIDLen), sanitize(ds[i].Name, maxNameLen), sanitize(ds[i].Type, 32)
	}
	sortByName(ds, func(d *Datastore) (string, string) { return d.Name, d.ID })
	return ds, stats, nil
}

// Network is one network as the network list shows it.
type Network struct {
	ID   string `json:"network"`
	Name string `json:"name"`
	Type string `json:"type"` // STANDARD_PORTGROUP, DISTRIBUTED_PORTGROUP, OPAQUE_NETWORK
}

// NetworkFilter narrows [Client.ListNetworks].
type NetworkFilter struct {
	IDs, Names, Types, Folders, Datacenters []string
}

// ListNetworks lists networks.
func (c *Client) ListNetworks(ctx context.Context, f NetworkFilter) ([]Network, ListStats, error) {
	if err := validAll(idCheck{KindNetwork, f.IDs}, idCheck{KindFolder, f.Folders}, idCheck{KindDatacenter, f.Datacenters}); err != nil {
		return nil, ListStats{}, err
	}
	fs := filterSet{"networks": f.IDs, "names": f.Names, "types": f.Types, "folders": f.Folders, "datacenters": f.Datacenters}
	l := newLister(c, "/vcenter/network", func(n *Network) string { return n.ID },
		splitExisting("datacenters"), splitExisting("folders"), splitExisting("types"),
		splitBy("datacenters", c.datacenterIDs),
		splitBy("types", fixed("STANDARD_PORTGROUP", "DISTRIBUTED_PORTGROUP", "OPAQUE_NETWORK")),
		splitBy("folders", c.folderIDs("NETWORK")),
	)
	ns, stats, err := l.run(ctx, compact(fs))
	if err != nil {
		return nil, stats, fmt.Errorf("list networks: %w", err)
	}
	for i := range ns {
		ns[i].ID, ns[i].Name, ns[i].Type = sanitize(ns[i].ID, maxIDLen), sanitize(ns[i].Name, maxNameLen), sanitize(ns[i].Type, 32)
	}
	sortByName(ns, func(n *Network) (string, string) { return n.Name, n.ID })
	return ns, stats, nil
}

// Datacenter is one datacenter.
type Datacenter struct {
	ID   string `json:"datacenter"`
	Name string `json:"name"`
}

// DatacenterFilter narrows [Client.ListDatacenters].
type DatacenterFilter struct {
	IDs, Names, Folders []string
}

// ListDatacenters lists datacenters.
func (c *Client) ListDatacenters(ctx context.Context, f DatacenterFilter) ([]Datacenter, ListStats, error) {
	if err := validAll(idCheck{KindDatacenter, f.IDs}, idCheck{KindFolder, f.Folders}); err != nil {
		return nil, ListStats{}, err
	}
	fs := filterSet{"datacenters": f.IDs, "names": f.Names, "folders": f.Folders}
	l := newLister(c, "/vcenter/datacenter", func(d *Datacenter) string { return d.ID },
		splitExisting("folders"),
		splitBy("folders", c.folderIDs("DATACENTER")),
	)
	dcs, stats, err := l.run(ctx, compact(fs))
	if err != nil {
		return nil, stats, fmt.Errorf("list datacenters: %w", err)
	}
	for i := range dcs {
		dcs[i].ID, dcs[i].Name = sanitize(dcs[i].ID, maxIDLen), sanitize(dcs[i].Name, maxNameLen)
	}
	sortByName(dcs, func(d *Datacenter) (string, string) { return d.Name, d.ID })
	return dcs, stats, nil
}

// Cluster is one cluster as the cluster list shows it.
type Cluster struct {
	ID         string `json:"cluster"`
	Name       string `json:"name"`
	HAEnabled  bool   `json:"ha_enabled"`
	DRSEnabled bool   `json:"drs_enabled"`
}

// ClusterFilter narrows [Client.ListClusters].
type ClusterFilter struct {
	IDs, Names, Folders, Datacenters []string
}

// ListClusters lists clusters.
func (c *Client) ListClusters(ctx context.Context, f ClusterFilter) ([]Cluster, ListStats, error) {
	if err := validAll(idCheck{KindCluster, f.IDs}, idCheck{KindFolder, f.Folders}, idCheck{KindDatacenter, f.Datacenters}); err != nil {
		return nil, ListStats{}, err
	}
	fs := filterSet{"clusters": f.IDs, "names": f.Names, "folders": f.Folders, "datacenters": f.Datacenters}
	l := newLister(c, "/vcenter/cluster", func(cl *Cluster) string { return cl.ID },
		splitExisting("datacenters"), splitExisting("folders"),
		splitBy("datacenters", c.datacenterIDs),
		splitBy("folders", c.folderIDs("HOST")),
	)
	cls, stats, err := l.run(ctx, compact(fs))
	if err != nil {
		return nil, stats, fmt.Errorf("list clusters: %w", err)
	}
	for i := range cls {
		cls[i].ID, cls[i].Name = sanitize(cls[i].ID, maxIDLen), sanitize(cls[i].Name, maxNameLen)
	}
	sortByName(cls, func(cl *Cluster) (string, string) { return cl.Name, cl.ID })
	return cls, stats, nil
}

// ResourcePool is one resource pool.
type ResourcePool struct {
	ID   string `json:"resource_pool"`
	Name string `json:"name"`
}

// ResourcePoolFilter narrows [Client.ListResourcePools].
type ResourcePoolFilter struct {
	IDs, Names, Parents, Datacenters, Hosts, Clusters []string
}

// ListResourcePools lists resource pools.
func (c *Client) ListResourcePools(ctx context.Context, f ResourcePoolFilter) ([]ResourcePool, ListStats, error) {
	if err := validAll(idCheck{KindResourcePool, f.IDs}, idCheck{KindResourcePool, f.Parents},
		idCheck{KindDatacenter, f.Datacenters}, idCheck{KindHost, f.Hosts}, idCheck{KindCluster, f.Clusters}); err != nil {
		return nil, ListStats{}, err
	}
	fs := filterSet{"resource_pools": f.IDs, "names": f.Names, "parent_resource_pools": f.Parents,
		"datacenters": f.Datacenters, "hosts": f.Hosts, "clusters": f.Clusters}
	l := newLister(c, "/vcenter/resource-pool", func(r *ResourcePool) string { return r.ID },
		splitExisting("datacenters"), splitExisting("clusters"), splitExisting("hosts"),
		splitBy("datacenters", c.datacenterIDs),
		splitBy("clusters", c.clusterIDs),
	)
	rps, stats, err := l.run(ctx, compact(fs))
	if err != nil {
		return nil, stats, fmt.Errorf("list resource pools: %w", err)
	}
	for i := range rps {
		rps[i].ID, rps[i].Name = sanitize(rps[i].ID, maxIDLen), sanitize(rps[i].Name, maxNameLen)
	}
	sortByName(rps, func(r *ResourcePool) (string, string) { return r.Name, r.ID })
	return rps, stats, nil
}

// Folder is one inventory folder.
type Folder struct {
	ID   string `json:"folder"`
	Name string `json:"name"`
	Type string `json:"type"` // DATACENTER, DATASTORE, HOST, NETWORK, VIRTUAL_MACHINE
}

// FolderFilter narrows [Client.ListFolders]. Type takes one value, as in
// vCenter's API.
type FolderFilter struct {
	IDs, Names, Parents, Datacenters []string
	Type                             string
}

// ListFolders lists folders.
func (c *Client) ListFolders(ctx context.Context, f FolderFilter) ([]Folder, ListStats, error) {
	if err := validAll(idCheck{KindFolder, f.IDs}, idCheck{KindFolder, f.Parents}, idCheck{KindDatacenter, f.Datacenters}); err != nil {
		return nil, ListStats{}, err
	}
	fs := filterSet{"folders": f.IDs, "names": f.Names, "parent_folders": f.Parents, "datacenters": f.Datacenters}
	if f.Type != "" {
		fs["type"] = []string{f.Type}
	}
	l := newLister(c, "/vcenter/folder", func(fo *Folder) string { return fo.ID },
		splitExisting("datacenters"),
		c.splitFoldersByDatacenter,
		splitBy("type", fixed("DATACENTER", "DATASTORE", "HOST", "NETWORK", "VIRTUAL_MACHINE")),
	)
	fos, stats, err := l.run(ctx, compact(fs))
	if err != nil {
		return nil, stats, fmt.Errorf("list folders: %w", err)
	}
	for i := range fos {
		fos[i].ID, fos[i].Name, fos[i].Type = sanitize(fos[i].ID, maxIDLen), sanitize(fos[i].Name, maxNameLen), sanitize(fos[i].Type, 32)
	}
	sortByName(fos, func(fo *Folder) (string, string) { return fo.Name, fo.ID })
	return fos, stats, nil
}

// splitFoldersByDatacenter splits a folder query by datacenter. Folders of
// type DATACENTER (the root folder among them) live above the datacenters,
// so they get a query of their own unless another type was asked for.
func (c *Client) splitFoldersByDatacenter(ctx context.Context, f filterSet) ([]filterSet, error) {
	if len(f["datacenters"]) > 0 {
		return nil, nil
	}
	dcs, err := c.datacenterIDs(ctx, f)
	if err != nil || len(dcs) == 0 {
		return nil, err
	}
	out := make([]filterSet, 0, len(dcs)+1)
	for _, dc := range dcs {
		out = append(out, f.with("datacenters", dc))
	}
	if t := f["type"]; len(t) == 0 || t[0] == "DATACENTER" {
		out = append(out, f.with("type", "DATACENTER"))
	}
	return out, nil
}

// Value sources for splitters.

func (c *Client) datacenterIDs(ctx context.Context, _ filterSet) ([]string, error) {
	dcs, _, err := c.ListDatacenters(ctx, DatacenterFilter{})
	return idsOf(dcs, func(d Datacenter) string { return d.ID }), err
}

func (c *Client) clusterIDs(ctx context.Context, f filterSet) ([]string, error) {
	cls, _, err := c.ListClusters(ctx, ClusterFilter{Datacenters: f["datacenters"]})
	return idsOf(cls, func(cl Cluster) string { return cl.ID }), err
}

func (c *Client) folderIDs(typ string) func(context.Context, filterSet) ([]string, error) {
	return func(ctx context.Context, f filterSet) ([]string, error) {
		fos, _, err := c.ListFolders(ctx, FolderFilter{Type: typ, Datacenters: f["datacenters"]})
		return idsOf(fos, func(fo Folder) string { return fo.ID }), err
	}
}

func fixed(values ...string) func(context.Context, filterSet) ([]string, error) {
	return func(context.Context, filterSet) ([]string, error) { return values, nil }
}

func idsOf[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

// idCheck is a list of ids that must all be of one kind.
type idCheck struct {
	kind Kind
	ids  []string
}

func validAll(checks ...idCheck) error {
	for _, ch := range checks {
		if err := validIDs(ch.kind, ch.ids); err != nil {
			return err
		}
	}
	return nil
}

// compact drops empty filters so they are not sent.
func compact(f filterSet) filterSet {
	for k, v := range f {
		if len(v) == 0 {
			delete(f, k)
		}
	}
	return f
}

// sortByName sorts by name, then id, so pages are repeatable. Ties on both
// (ids are unique after deduplication, so only for ids that sanitising made
// alike) keep their order: the result is what a stable sort gives, at the
// cost of an unstable one over precomputed keys.
func sortByName[T any](items []T, key func(*T) (name, id string)) {
	type sortKey struct {
		name, id string
		at       int // index in items before sorting: the last tiebreak
	}
	keys := make([]sortKey, len(items))
	for i := range items {
		n, id := key(&items[i])
		keys[i] = sortKey{n, id, i}
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := strings.Compare(a.id, b.id); c != 0 {
			return c
		}
		return cmp.Compare(a.at, b.at)
	})
	// Move items[keys[j].at] to j for every j, one cycle of the
	// permutation at a time, marking each placed key with at = -1.
	for j := range keys {
		if keys[j].at < 0 {
			continue
		}
		held, cur := items[j], j
		for {
			src := keys[cur].at
			keys[cur].at = -1
			if src == j {
				items[cur] = held
				break
			}
			items[cur] = items[src]
			cur = src
		}
	}
}

// maxNameLen caps an inventory name; vCenter's own limit is 80 characters.
const maxNameLen = 256
