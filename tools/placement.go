package tools

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// This file resolves what the change tools name by name or id — a folder,
// cluster, host, resource pool, datastore or network — into exactly one
// object, read from vCenter (so that an id that names nothing is refused
// before any change), and the placement of a clone, deploy or migration.
// A name matching several objects is an error listing them, never the
// first; within a datacenter (the VM's), a name is looked up there first.

// placementArgs names where a VM goes; each field takes a name or an id.
type placementArgs struct {
	Folder       string `json:"folder,omitempty"`
	Cluster      string `json:"cluster,omitempty"`
	Host         string `json:"host,omitempty"`
	ResourcePool string `json:"resource_pool,omitempty"`
	Datastore    string `json:"datastore,omitempty"`
}

func (a placementArgs) empty() bool { return a == placementArgs{} }

// object is one inventory object found by name or id.
type object struct {
	Kind vcenter.Kind
	ID   string
	Name string
	// For a datastore: bytes free and capacity (0 when unknown); for a
	// network: its type; for a cluster: whether DRS is on; for a host: its
	// connection state.
	Free, Capacity int64
	Type           string
	DRS            bool
}

func (o object) label() string { return label(o.Name, o.ID) }

var kindNoun = map[vcenter.Kind]string{
	vcenter.KindFolder: "VM folder", vcenter.KindCluster: "cluster", vcenter.KindHost: "host",
	vcenter.KindResourcePool: "resource pool", vcenter.KindDatastore: "datastore", vcenter.KindNetwork: "network",
}

var kindLister = map[vcenter.Kind]string{
	vcenter.KindFolder: "list_folders", vcenter.KindCluster: "list_clusters", vcenter.KindHost: "list_hosts",
	vcenter.KindResourcePool: "list_resource_pools", vcenter.KindDatastore: "list_datastores", vcenter.KindNetwork: "list_networks",
}

// findObject looks up value (a name or an id) among the objects of kind k, in
// datacenter dc first when dc is set.
func findObject(ctx context.Context, vc inventoryAPI, k vcenter.Kind, value, dc string) (object, error) {
	if len(value) > 256 {
		return object{}, argErrorf("%s is longer than 256 characters: give an id or an exact name", kindNoun[k])
	}
	isID := vcenter.LooksLikeID(k, value)
	var ids, names, dcs []string
	if isID {
		ids = []string{value}
	} else {
		names = []string{value}
		if dc != "" {
			dcs = []string{dc}
		}
	}
	found, err := listObjects(ctx, vc, k, ids, names, dcs)
	if err == nil && len(found) == 0 && len(dcs) > 0 {
		found, err = listObjects(ctx, vc, k, nil, names, nil) // not in the VM's datacenter: anywhere
	}
	if err != nil {
		return object{}, explain(err)
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		if isID {
			return object{}, argErrorf("no %s has id %s (%s shows them)", kindNoun[k], value, kindLister[k])
		}
		return object{}, argErrorf("no %s is named %q (names are exact; %s shows them)", kindNoun[k], truncate(value, 80), kindLister[k])
	}
	var cands []string
	for _, o := range found[:min(len(found), maxProblems)] {
		cands = append(cands, o.ID)
	}
	return object{}, argErrorf("%d %ss are named %q: %s. Next: call again with the id", len(found), kindNoun[k], truncate(value, 80), strings.Join(cands, ", "))
}

func listObjects(ctx context.Context, vc inventoryAPI, k vcenter.Kind, ids, names, dcs []string) ([]object, error) {
	var out []object
	switch k {
	case vcenter.KindFolder:
		xs, _, err := vc.ListFolders(ctx, vcenter.FolderFilter{IDs: ids, Names: names, Datacenters: dcs, Type: "VIRTUAL_MACHINE"})
		for _, x := range xs {
			out = append(out, object{Kind: k, ID: x.ID, Name: x.Name})
		}
		return out, err
	case vcenter.KindCluster:
		xs, _, err := vc.ListClusters(ctx, vcenter.ClusterFilter{IDs: ids, Names: names, Datacenters: dcs})
		for _, x := range xs {
			out = append(out, object{Kind: k, ID: x.ID, Name: x.Name, DRS: x.DRSEnabled})
		}
		return out, err
	case vcenter.KindHost:
		xs, _, err := vc.ListHosts(ctx, vcenter.HostFilter{IDs: ids, Names: names, Datacenters: dcs})
		for _, x := range xs {
			out = append(out, object{Kind: k, ID: x.ID, Name: x.Name, Type: x.ConnectionState})
		}
		return out, err
	case vcenter.KindResourcePool:
		xs, _, err := vc.ListResourcePools(ctx, vcenter.ResourcePoolFilter{IDs: ids, Names: names, Datacenters: dcs})
		for _, x := range xs {
			out = append(out, object{Kind: k, ID: x.ID, Name: x.Name})
		}
		return out, err
	case vcenter.KindDatastore:
		xs, _, err := vc.ListDatastores(ctx, vcenter.DatastoreFilter{IDs: ids, Names: names, Datacenters: dcs})
		for _, x := range xs {
			o := object{Kind: k, ID: x.ID, Name: x.Name, Type: x.Type}
			if x.FreeSpace != nil {
				o.Free = *x.FreeSpace
			}
			if x.Capacity != nil {
				o.Capacity = *x.Capacity
			}
			out = append(out, o)
		}
		return out, err
	case vcenter.KindNetwork:
		xs, _, err := vc.ListNetworks(ctx, vcenter.NetworkFilter{IDs: ids, Names: names, Datacenters: dcs})
		for _, x := range xs {
			out = append(out, object{Kind: k, ID: x.ID, Name: x.Name, Type: x.Type})
		}
		return out, err
	}
	return nil, fmt.Errorf("no look-up for %s", k)
}

// vmDatacenter finds the datacenter of a VM: the VM list filtered by each
// datacenter in turn (VM summaries carry none).
func vmDatacenter(ctx context.Context, vc VCenter, vm string) (string, error) {
	dcs, _, err := vc.ListDatacenters(ctx, vcenter.DatacenterFilter{})
	if err != nil {
		return "", explain(err)
	}
	var (
		mu    sync.Mutex
		found string
		first error
		wg    sync.WaitGroup
	)
	for _, dc := range dcs {
		wg.Go(func() {
			vms, _, err := vc.ListVMs(ctx, vcenter.VMFilter{IDs: []string{vm}, Datacenters: []string{dc.ID}})
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			if len(vms) > 0 {
				found = dc.ID
			}
		})
	}
	wg.Wait()
	if found == "" && first != nil {
		return "", explain(first)
	}
	return found, nil
}

// placement is a resolved placement: each object named, and the ids sent.
type placement struct {
	Folder, Cluster, Host, Pool, Datastore *object
}

func (p placement) spec() vcenter.PlacementSpec {
	id := func(o *object) string {
		if o == nil {
			return ""
		}
		return o.ID
	}
	return vcenter.PlacementSpec{Folder: id(p.Folder), Cluster: id(p.Cluster), Host: id(p.Host), ResourcePool: id(p.Pool), Datastore: id(p.Datastore)}
}

// describe writes the placement for a preview: each field named, with
// what it keeps when unset.
func (p placement) describe(unset string) string {
	var parts []string
	add := func(what string, o *object) {
		if o != nil {
			parts = append(parts, what+" "+o.label())
		}
	}
	add("folder", p.Folder)
	add("cluster", p.Cluster)
	add("host", p.Host)
	add("resource pool", p.Pool)
	if p.Datastore != nil {
		parts = append(parts, fmt.Sprintf("datastore %s (%s free)", p.Datastore.label(), gibText(p.Datastore.Free)))
	}
	if len(parts) == 0 {
		return unset
	}
	return strings.Join(parts, ", ")
}

// resolvePlacement finds every object the arguments name. dc is the
// datacenter to look names up in first ("" for none). A host without a
// pool gets its cluster's (or standalone host's) root pool, so that
// vCenter does not keep the source's pool of another cluster, unless the
// host is in keep, the source's own cluster, where the source's pool
// stays; a cluster alone gets its root pool and needs DRS to choose the
// host.
func resolvePlacement(ctx context.Context, vc VCenter, a placementArgs, dc, keep string) (placement, error) {
	var p placement
	for _, f := range []struct {
		value string
		kind  vcenter.Kind
		dst   **object
	}{
		{a.Folder, vcenter.KindFolder, &p.Folder}, {a.Cluster, vcenter.KindCluster, &p.Cluster}, {a.Host, vcenter.KindHost, &p.Host},
		{a.ResourcePool, vcenter.KindResourcePool, &p.Pool}, {a.Datastore, vcenter.KindDatastore, &p.Datastore},
	} {
		if f.value == "" {
			continue
		}
		o, err := findObject(ctx, vc, f.kind, f.value, dc)
		if err != nil {
			return p, err
		}
		*f.dst = &o
	}
	if p.Host != nil && p.Host.Type != "CONNECTED" {
		return p, argErrorf("host %s is %s: vCenter cannot place a VM there. Next: choose another host (list_hosts shows their state)", p.Host.label(), p.Host.Type)
	}
	if p.Pool != nil || p.Host == nil && p.Cluster == nil {
		return p, nil
	}
	cluster := ""
	if p.Cluster != nil {
		cluster = p.Cluster.ID
	}
	if p.Host != nil {
		c, err := vc.HostCluster(ctx, p.Host.ID)
		if err != nil {
			return p, fail("find the cluster of host "+p.Host.label(), err, "give resource_pool too")
		}
		if p.Cluster != nil && c != p.Cluster.ID {
			return p, argErrorf("host %s is not in cluster %s. Next: give a host of that cluster, or leave cluster out", p.Host.label(), p.Cluster.label())
		}
		cluster = c
		if c != "" && c == keep {
			return p, nil
		}
	} else if !p.Cluster.DRS {
		return p, argErrorf("cluster %s has no DRS, so vCenter cannot choose a host in it. Next: give host too (list_hosts with clusters=%s shows them)", p.Cluster.label(), p.Cluster.ID)
	}
	pool, err := vc.RootPool(ctx, cluster, hostID(p.Host))
	if err != nil {
		return p, fail("find the resource pool", err, "give resource_pool too")
	}
	p.Pool = &object{Kind: vcenter.KindResourcePool, ID: pool, Name: "Resources"}
	return p, nil
}

func hostID(o *object) string {
	if o == nil {
		return ""
	}
	return o.ID
}

// gibText writes bytes as GiB for a preview.
func gibText(b int64) string {
	if b <= 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
}

// datacenterOf finds the datacenter of an object (a folder, host,
// cluster, pool, datastore or network): its list filtered by each
// datacenter in turn. "" when none holds it.
func datacenterOf(ctx context.Context, vc VCenter, o object) (string, error) {
	dcs, _, err := vc.ListDatacenters(ctx, vcenter.DatacenterFilter{})
	if err != nil {
		return "", explain(err)
	}
	for _, dc := range dcs {
		found, err := listObjects(ctx, vc, o.Kind, []string{o.ID}, nil, []string{dc.ID})
		if err != nil {
			return "", explain(err)
		}
		if len(found) > 0 {
			return dc.ID, nil
		}
	}
	return "", nil
}

// vmNewName checks the name of a VM to create: plain text of 1 to 80
// characters, without %, / or \ (which vCenter keeps escaped, so that the
// name would read differently in the two APIs).
func vmNewName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return argErrorf("new_name must not be blank")
	case utf8.RuneCountInString(name) > 80:
		return argErrorf("new_name is longer than vCenter's 80 characters")
	case !plainText(name) || strings.ContainsAny(name, `%/\`):
		return argErrorf("new_name must be plain text without %%, / or \\")
	}
	return nil
}

// checkSpec checks that a customization specification exists.
func checkSpec(ctx context.Context, vc VCenter, name string) error {
	if name == "" {
		return nil
	}
	if err := vcenter.ValidateID(vcenter.KindCustomizationSpec, name); err != nil {
		return &argError{err.Error()}
	}
	specs, err := vc.ListCustomizationSpecs(ctx, []string{name}, "")
	if err != nil {
		return fail("read customization specifications", err, "")
	}
	if len(specs) == 0 {
		return argErrorf("no guest customization specification is named %q (list_customization_specs shows them)", truncate(name, 80))
	}
	return nil
}
