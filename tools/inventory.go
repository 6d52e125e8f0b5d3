// Inventory tools list what vCenter holds. They only read; each list is
// paged (limit, cursor) and its items are compact; details come from the
// get tools.
package tools

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// inventoryAPI lists inventory objects.
type inventoryAPI interface {
	ListHosts(ctx context.Context, f vcenter.HostFilter) ([]vcenter.Host, vcenter.ListStats, error)
	ListDatastores(ctx context.Context, f vcenter.DatastoreFilter) ([]vcenter.Datastore, vcenter.ListStats, error)
	ListNetworks(ctx context.Context, f vcenter.NetworkFilter) ([]vcenter.Network, vcenter.ListStats, error)
	ListDatacenters(ctx context.Context, f vcenter.DatacenterFilter) ([]vcenter.Datacenter, vcenter.ListStats, error)
	ListClusters(ctx context.Context, f vcenter.ClusterFilter) ([]vcenter.Cluster, vcenter.ListStats, error)
	ListResourcePools(ctx context.Context, f vcenter.ResourcePoolFilter) ([]vcenter.ResourcePool, vcenter.ListStats, error)
	ListFolders(ctx context.Context, f vcenter.FolderFilter) ([]vcenter.Folder, vcenter.ListStats, error)
}

// --- list_vms ---

type listVMsIn struct {
	hostArgs
	pageArgs
	Names         []string `json:"names,omitempty"`
	PowerStates   []string `json:"power_states,omitempty"`
	Hosts         []string `json:"hosts,omitempty"`
	Clusters      []string `json:"clusters,omitempty"`
	Datacenters   []string `json:"datacenters,omitempty"`
	Folders       []string `json:"folders,omitempty"`
	ResourcePools []string `json:"resource_pools,omitempty"`
}

type vmItem struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	PowerState string `json:"power_state"`
	CPUs       int    `json:"cpus"`
	MemoryMiB  int64  `json:"memory_mib"`
}

func listVMs(d Deps) Tool {
	return newTool(&mcp.Tool{
		Name:        "list_vms",
		Title:       "List VMs",
		Description: "List VMs, filtered by name, power state or placement; paged, past vCenter's 4000-VM cap.",
		Annotations: annotations(kindRead, true),
	}, policy.LevelRead, false, func(in, _ *schema) {
		in.enum("power_states", powerStates...)
		in.between("limit", 1, maxLimit)
	}, func(ctx context.Context, _ *mcp.CallToolRequest, in listVMsIn) (*mcp.CallToolResult, page[vmItem], error) {
		vc, err := connect(ctx, d, in.Hostname)
		if err != nil {
			return nil, page[vmItem]{}, err
		}
		key := queryKey("list_vms", vc.Host(), []any{in.Names, in.PowerStates, in.Hosts, in.Clusters, in.Datacenters, in.Folders, in.ResourcePools})
		p, _, err := paginate(d, key, in.pageArgs, func() ([]vmItem, error) {
			f := vcenter.VMFilter{Names: in.Names}
			for _, s := range in.PowerStates {
				f.PowerStates = append(f.PowerStates, vcenter.PowerState(s))
			}
			if err := resolveAll(ctx, vc,
				target{vcenter.KindHost, in.Hosts, &f.Hosts}, target{vcenter.KindCluster, in.Clusters, &f.Clusters},
				target{vcenter.KindDatacenter, in.Datacenters, &f.Datacenters}, target{vcenter.KindFolder, in.Folders, &f.Folders},
				target{vcenter.KindResourcePool, in.ResourcePools, &f.ResourcePools},
			); err != nil {
				return nil, err
			}
			vms, _, err := vc.ListVMs(ctx, f)
			if err != nil {
				return nil, explain(err)
			}
			out := make([]vmItem, len(vms))
			for i, v := range vms {
				out[i] = vmItem{ID: v.ID, Name: v.Name, PowerState: string(v.PowerState), CPUs: v.CPUCount, MemoryMiB: v.MemoryMiB}
			}
			return out, nil
		})
		return nil, p, err
	})
}

var powerStates = []string{string(vcenter.PoweredOn), string(vcenter.PoweredOff), string(vcenter.Suspended)}

// --- list_hosts ---

type listHostsIn struct {
	hostArgs
	pageArgs
	Names            []string `json:"names,omitempty"`
	Clusters         []string `json:"clusters,omitempty"`
	Datacenters      []string `json:"datacenters,omitempty"`
	ConnectionStates []string `json:"connection_states,omitempty"`
}

type hostItem struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	ConnectionState string `json:"connection_state"`
	PowerState      string `json:"power_state,omitempty"`
}

func listHosts(d Deps) Tool {
	return newTool(&mcp.Tool{
		Name:        "list_hosts",
		Title:       "List hosts",
		Description: "List ESXi hosts with connection and power state; paged.",
		Annotations: annotations(kindRead, true),
	}, policy.LevelRead, false, func(in, _ *schema) {
		in.enum("connection_states", "CONNECTED", "DISCONNECTED", "NOT_RESPONDING")
		in.between("limit", 1, maxLimit)
	}, func(ctx context.Context, _ *mcp.CallToolRequest, in listHostsIn) (*mcp.CallToolResult, page[hostItem], error) {
		vc, err := connect(ctx, d, in.Hostname)
		if err != nil {
			return nil, page[hostItem]{}, err
		}
		key := queryKey("list_hosts", vc.Host(), []any{in.Names, in.Clusters, in.Datacenters, in.ConnectionStates})
		p, _, err := paginate(d, key, in.pageArgs, func() ([]hostItem, error) {
			f := vcenter.HostFilter{Names: in.Names, ConnectionStates: in.ConnectionStates}
			if err := resolveAll(ctx, vc, target{vcenter.KindCluster, in.Clusters, &f.Clusters}, target{vcenter.KindDatacenter, in.Datacenters, &f.Datacenters}); err != nil {
				return nil, err
			}
			hosts, _, err := vc.ListHosts(ctx, f)
			if err != nil {
				return nil, explain(err)
			}
			out := make([]hostItem, len(hosts))
			for i, h := range hosts {
				out[i] = hostItem{ID: h.ID, Name: h.Name, ConnectionState: h.ConnectionState, PowerState: h.PowerState}
			}
			return out, nil
		})
		return nil, p, err
	})
}

// --- list_datastores ---

type listDatastoresIn struct {
	hostArgs
	pageArgs
	Names       []string `json:"names,omitempty"`
	Types       []string `json:"types,omitempty"`
	Datacenters []string `json:"datacenters,omitempty"`
}

type datastoreItem struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Type        string  `json:"type"`
	CapacityGiB float64 `json:"capacity_gib"`
	FreeGiB     float64 `json:"free_gib"`
	UsedPct     float64 `json:"used_pct"`
	// Exact byte counts for totals; known is false when vCenter did not
	// report capacity (an inaccessible datastore).
	capacity, free int64
	known          bool
}

var datastoreTypes = []string{"VMFS", "NFS", "NFS41", "CIFS", "VSAN", "VFFS", "VVOL"}

func listDatastores(d Deps) Tool {
	return newTool(&mcp.Tool{
		Name:        "list_datastores",
		Title:       "List datastores",
		Description: "List datastores with type, capacity and free space; paged.",
		Annotations: annotations(kindRead, true),
	}, policy.LevelRead, false, func(in, _ *schema) {
		in.enum("types", datastoreTypes...)
		in.between("limit", 1, maxLimit)
	}, func(ctx context.Context, _ *mcp.CallToolRequest, in listDatastoresIn) (*mcp.CallToolResult, page[datastoreItem], error) {
		vc, err := connect(ctx, d, in.Hostname)
		if err != nil {
			return nil, page[datastoreItem]{}, err
		}
		key := queryKey("list_datastores", vc.Host(), []any{in.Names, in.Types, in.Datacenters})
		p, _, err := paginate(d, key, in.pageArgs, func() ([]datastoreItem, error) {
			ds, err := datastores(ctx, vc, vcenter.DatastoreFilter{Names: in.Names, Types: in.Types}, in.Datacenters)
			if err != nil {
				return nil, err
			}
			out := make([]datastoreItem, len(ds))
			for i, x := range ds {
				out[i] = datastoreOf(x)
			}
			return out, nil
		})
		return nil, p, err
	})
}

func datastores(ctx context.Context, vc VCenter, f vcenter.DatastoreFilter, datacenters []string) ([]vcenter.Datastore, error) {
	if err := resolveAll(ctx, vc, target{vcenter.KindDatacenter, datacenters, &f.Datacenters}); err != nil {
		return nil, err
	}
	ds, _, err := vc.ListDatastores(ctx, f)
	if err != nil {
		return nil, explain(err)
	}
	return ds, nil
}

func datastoreOf(x vcenter.Datastore) datastoreItem {
	it := datastoreItem{ID: x.ID, Name: x.Name, Type: x.Type}
	if x.Capacity != nil {
		it.CapacityGiB = gib(*x.Capacity)
	}
	if x.FreeSpace != nil {
		it.FreeGiB = gib(*x.FreeSpace)
	}
	if x.Capacity != nil && x.FreeSpace != nil {
		it.capacity, it.free, it.known = *x.Capacity, *x.FreeSpace, true
		it.UsedPct = usedPct(*x.Capacity, *x.FreeSpace)
	}
	return it
}

// gib converts bytes to GiB with one decimal.
func gib(bytes int64) float64 { return math.Round(float64(bytes)/(1<<30)*10) / 10 }

// usedPct is the used share of capacity in percent, one decimal.
func usedPct(capacity, free int64) float64 {
	if capacity <= 0 {
		return 0
	}
	return math.Round(float64(capacity-free)/float64(capacity)*1000) / 10
}

// --- list_networks ---

type listNetworksIn struct {
	hostArgs
	pageArgs
	Names       []string `json:"names,omitempty"`
	Types       []string `json:"types,omitempty"`
	Datacenters []string `json:"datacenters,omitempty"`
}

type networkItem struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

func listNetworks(d Deps) Tool {
	return newTool(&mcp.Tool{
		Name:        "list_networks",
		Title:       "List networks",
		Description: "List port groups and opaque networks; paged.",
		Annotations: annotations(kindRead, true),
	}, policy.LevelRead, false, func(in, _ *schema) {
		in.enum("types", "STANDARD_PORTGROUP", "DISTRIBUTED_PORTGROUP", "OPAQUE_NETWORK")
		in.between("limit", 1, maxLimit)
	}, func(ctx context.Context, _ *mcp.CallToolRequest, in listNetworksIn) (*mcp.CallToolResult, page[networkItem], error) {
		vc, err := connect(ctx, d, in.Hostname)
		if err != nil {
			return nil, page[networkItem]{}, err
		}
		key := queryKey("list_networks", vc.Host(), []any{in.Names, in.Types, in.Datacenters})
		p, _, err := paginate(d, key, in.pageArgs, func() ([]networkItem, error) {
			f := vcenter.NetworkFilter{Names: in.Names, Types: in.Types}
			if err := resolveAll(ctx, vc, target{vcenter.KindDatacenter, in.Datacenters, &f.Datacenters}); err != nil {
				return nil, err
			}
			ns, _, err := vc.ListNetworks(ctx, f)
			if err != nil {
				return nil, explain(err)
			}
			out := make([]networkItem, len(ns))
			for i, n := range ns {
				out[i] = networkItem{ID: n.ID, Name: n.Name, Type: n.Type}
			}
			return out, nil
		})
		return nil, p, err
	})
}

// --- list_datacenters ---

type listDatacentersIn struct {
	hostArgs
	pageArgs
	Names []string `json:"names,omitempty"`
}

type namedItem struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func listDatacenters(d Deps) Tool {
	return newTool(&mcp.Tool{
		Name:        "list_datacenters",
		Title:       "List datacenters",
		Description: "List datacenters; paged.",
		Annotations: annotations(kindRead, true),
	}, policy.LevelRead, false, func(in, _ *schema) {
		in.between("limit", 1, maxLimit)
	}, func(ctx context.Context, _ *mcp.CallToolRequest, in listDatacentersIn) (*mcp.CallToolResult, page[namedItem], error) {
		vc, err := connect(ctx, d, in.Hostname)
		if err != nil {
			return nil, page[namedItem]{}, err
		}
		key := queryKey("list_datacenters", vc.Host(), in.Names)
		p, _, err := paginate(d, key, in.pageArgs, func() ([]namedItem, error) {
			dcs, _, err := vc.ListDatacenters(ctx, vcenter.DatacenterFilter{Names: in.Names})
			if err != nil {
				return nil, explain(err)
			}
			out := make([]namedItem, len(dcs))
			for i, dc := range dcs {
				out[i] = namedItem{ID: dc.ID, Name: dc.Name}
			}
			return out, nil
		})
		return nil, p, err
	})
}

// --- list_clusters ---

type listClustersIn struct {
	hostArgs
	pageArgs
	Names       []string `json:"names,omitempty"`
	Datacenters []string `json:"datacenters,omitempty"`
}

type clusterItem struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	HA   bool   `json:"ha"`
	DRS  bool   `json:"drs"`
}

func listClusters(d Deps) Tool {
	return newTool(&mcp.Tool{
		Name:        "list_clusters",
		Title:       "List clusters",
		Description: "List clusters with HA and DRS flags; paged.",
		Annotations: annotations(kindRead, true),
	}, policy.LevelRead, false, func(in, _ *schema) {
		in.between("limit", 1, maxLimit)
	}, func(ctx context.Context, _ *mcp.CallToolRequest, in listClustersIn) (*mcp.CallToolResult, page[clusterItem], error) {
		vc, err := connect(ctx, d, in.Hostname)
		if err != nil {
			return nil, page[clusterItem]{}, err
		}
		key := queryKey("list_clusters", vc.Host(), []any{in.Names, in.Datacenters})
		p, _, err := paginate(d, key, in.pageArgs, func() ([]clusterItem, error) {
			f := vcenter.ClusterFilter{Names: in.Names}
			if err := resolveAll(ctx, vc, target{vcenter.KindDatacenter, in.Datacenters, &f.Datacenters}); err != nil {
				return nil, err
			}
			cls, _, err := vc.ListClusters(ctx, f)
			if err != nil {
				return nil, explain(err)
			}
			out := make([]clusterItem, len(cls))
			for i, c := range cls {
				out[i] = clusterItem{ID: c.ID, Name: c.Name, HA: c.HAEnabled, DRS: c.DRSEnabled}
			}
			return out, nil
		})
		return nil, p, err
	})
}

// --- list_resource_pools ---

type listResourcePoolsIn struct {
	hostArgs
	pageArgs
	Names       []string `json:"names,omitempty"`
	Clusters    []string `json:"clusters,omitempty"`
	Datacenters []string `json:"datacenters,omitempty"`
}

func listResourcePools(d Deps) Tool {
	return newTool(&mcp.Tool{
		Name:        "list_resource_pools",
		Title:       "List resource pools",
		Description: "List resource pools; paged.",
		Annotations: annotations(kindRead, true),
	}, policy.LevelRead, false, func(in, _ *schema) {
		in.between("limit", 1, maxLimit)
	}, func(ctx context.Context, _ *mcp.CallToolRequest, in listResourcePoolsIn) (*mcp.CallToolResult, page[namedItem], error) {
		vc, err := connect(ctx, d, in.Hostname)
		if err != nil {
			return nil, page[namedItem]{}, err
		}
		key := queryKey("list_resource_pools", vc.Host(), []any{in.Names, in.Clusters, in.Datacenters})
		p, _, err := paginate(d, key, in.pageArgs, func() ([]namedItem, error) {
			f := vcenter.ResourcePoolFilter{Names: in.Names}
			if err := resolveAll(ctx, vc, target{vcenter.KindCluster, in.Clusters, &f.Clusters}, target{vcenter.KindDatacenter, in.Datacenters, &f.Datacenters}); err != nil {
				return nil, err
			}
			rps, _, err := vc.ListResourcePools(ctx, f)
			if err != nil {
				return nil, explain(err)
			}
			out := make([]namedItem, len(rps))
			for i, r := range rps {
				out[i] = namedItem{ID: r.ID, Name: r.Name}
			}
			return out, nil
		})
		return nil, p, err
	})
}

// --- list_folders ---

type listFoldersIn struct {
	hostArgs
	pageArgs
	Names       []string `json:"names,omitempty"`
	Type        string   `json:"type,omitempty"`
	Datacenters []string `json:"datacenters,omitempty"`
}

type folderItem struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

func listFolders(d Deps) Tool {
	return newTool(&mcp.Tool{
		Name:        "list_folders",
		Title:       "List folders",
		Description: "List inventory folders by type; paged.",
		Annotations: annotations(kindRead, true),
	}, policy.LevelRead, false, func(in, _ *schema) {
		in.enum("type", "VIRTUAL_MACHINE", "HOST", "DATASTORE", "NETWORK", "DATACENTER")
		in.between("limit", 1, maxLimit)
	}, func(ctx context.Context, _ *mcp.CallToolRequest, in listFoldersIn) (*mcp.CallToolResult, page[folderItem], error) {
		vc, err := connect(ctx, d, in.Hostname)
		if err != nil {
			return nil, page[folderItem]{}, err
		}
		key := queryKey("list_folders", vc.Host(), []any{in.Names, in.Type, in.Datacenters})
		p, _, err := paginate(d, key, in.pageArgs, func() ([]folderItem, error) {
			f := vcenter.FolderFilter{Names: in.Names, Type: in.Type}
			if err := resolveAll(ctx, vc, target{vcenter.KindDatacenter, in.Datacenters, &f.Datacenters}); err != nil {
				return nil, err
			}
			fos, _, err := vc.ListFolders(ctx, f)
			if err != nil {
				return nil, explain(err)
			}
			out := make([]folderItem, len(fos))
			for i, fo := range fos {
				out[i] = folderItem{ID: fo.ID, Name: fo.Name, Type: fo.Type}
			}
			return out, nil
		})
		return nil, p, err
	})
}

// --- name resolution for filters ---

// target is one filter to resolve: the values given (names or ids) and
// where to put the ids.
type target struct {
	kind   vcenter.Kind
	values []string
	dst    *[]string
}

// resolveAll resolves every target's names to ids.
func resolveAll(ctx context.Context, vc inventoryAPI, targets ...target) error {
	for _, t := range targets {
		ids, err := resolveIDs(ctx, vc, t.kind, t.values)
		if err != nil {
			return err
		}
		*t.dst = ids
	}
	return nil
}

// resolveIDs turns filter values into ids: a value shaped like an id of
// kind k is taken as one; the others are looked up as exact names in one
// request. A name may match several objects (a "Production" folder in each
// datacenter): all are kept. A name matching nothing is an error naming the
// list tool that shows the valid names.
func resolveIDs(ctx context.Context, vc inventoryAPI, k vcenter.Kind, values []string) ([]string, error) {
	var ids, names []string
	for _, v := range values {
		if vcenter.LooksLikeID(k, v) {
			ids = append(ids, v)
		} else if v != "" {
			names = append(names, v)
		}
	}
	if len(names) == 0 {
		return ids, nil
	}
	found := map[string][]string{} // name → ids
	var err error
	switch k {
	case vcenter.KindHost:
		var xs []vcenter.Host
		xs, _, err = vc.ListHosts(ctx, vcenter.HostFilter{Names: names})
		for _, x := range xs {
			found[x.Name] = append(found[x.Name], x.ID)
		}
	case vcenter.KindCluster:
		var xs []vcenter.Cluster
		xs, _, err = vc.ListClusters(ctx, vcenter.ClusterFilter{Names: names})
		for _, x := range xs {
			found[x.Name] = append(found[x.Name], x.ID)
		}
	case vcenter.KindDatacenter:
		var xs []vcenter.Datacenter
		xs, _, err = vc.ListDatacenters(ctx, vcenter.DatacenterFilter{Names: names})
		for _, x := range xs {
			found[x.Name] = append(found[x.Name], x.ID)
		}
	case vcenter.KindFolder:
		var xs []vcenter.Folder
		xs, _, err = vc.ListFolders(ctx, vcenter.FolderFilter{Names: names, Type: "VIRTUAL_MACHINE"})
		for _, x := range xs {
			found[x.Name] = append(found[x.Name], x.ID)
		}
	case vcenter.KindResourcePool:
		var xs []vcenter.ResourcePool
		xs, _, err = vc.ListResourcePools(ctx, vcenter.ResourcePoolFilter{Names: names})
		for _, x := range xs {
			found[x.Name] = append(found[x.Name], x.ID)
		}
	default:
		return nil, fmt.Errorf("no name look-up for %s", k)
	}
	if err != nil {
		return nil, explain(err)
	}
	var missing []string
	for _, n := range names {
		if len(found[n]) == 0 {
			missing = append(missing, fmt.Sprintf("%q", n))
		}
		ids = append(ids, found[n]...)
	}
	if len(missing) > 0 {
		return nil, argErrorf("no %s named %s (names are exact; %s shows them)", kindLabel[k], strings.Join(missing, ", "), listToolOf[k])
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

var kindLabel = map[vcenter.Kind]string{
	vcenter.KindHost: "host", vcenter.KindCluster: "cluster", vcenter.KindDatacenter: "datacenter",
	vcenter.KindFolder: "VM folder", vcenter.KindResourcePool: "resource pool",
}

var listToolOf = map[vcenter.Kind]string{
	vcenter.KindHost: "list_hosts", vcenter.KindCluster: "list_clusters", vcenter.KindDatacenter: "list_datacenters",
	vcenter.KindFolder: "list_folders", vcenter.KindResourcePool: "list_resource_pools",
}
