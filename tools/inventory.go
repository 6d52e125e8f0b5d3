// Inventory tools list what vCenter holds. They only read; each list is
// paged (limit, cursor) and its items are compact; details come from the
// get tools.

package tools

import (
	"context"
	"math"

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
	listArgs
	Names         []string `json:"names,omitempty"`
	PowerStates   []string `json:"power_states,omitempty"`
	Hosts         []string `json:"hosts,omitempty"`
	Clusters      []string `json:"clusters,omitempty"`
	Datacenters   []string `json:"datacenters,omitempty"`
	Folders       []string `json:"folders,omitempty"`
	ResourcePools []string `json:"resource_pools,omitempty"`
	Tags          []string `json:"tags,omitempty"`
}

type vmItem struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	PowerState string `json:"power_state"`
	CPUs       int    `json:"cpus"`
	MemoryMiB  int64  `json:"memory_mib"`
}

func listVMs(d Deps) Tool {
	return spec[listVMsIn, page[vmItem]]{
		Name: "list_vms", Title: "List VMs",
		Description: "List VMs, filtered by name, power state, placement or tags; paged, past vCenter's 4000-VM cap.",
		Toolset:     ToolsetInventory, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "`GET /api/vcenter/vm` (sharded by datacenter past 4000), `GET /api/vcenter/datacenter` and name look-ups; with tags, `POST /api/cis/tagging/tag-association?action=list-attached-objects-on-tags`", On: "VMs and their parents; the tags"},
		Example:    `{"limit": 5}`,
		Schema:     func(in, _ *schema) { in.enum("power_states", powerStates...) },
		Handle: listing(d, func(ctx context.Context, vc VCenter, in listVMsIn) ([]vmItem, error) {
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
			keep, none, err := vmTagFilter(ctx, vc, in.Tags, &f) // tags.go
			if err != nil || none {
				return []vmItem{}, err
			}
			vms, _, err := vc.ListVMs(ctx, f)
			if err != nil {
				return nil, explain(err)
			}
			out := make([]vmItem, 0, len(vms))
			for _, v := range vms {
				if keep == nil || keep(v.ID) {
					out = append(out, vmItem{ID: v.ID, Name: v.Name, PowerState: string(v.PowerState), CPUs: v.CPUCount, MemoryMiB: v.MemoryMiB})
				}
			}
			return out, nil
		}),
	}.tool()
}

var powerStates = []string{string(vcenter.PoweredOn), string(vcenter.PoweredOff), string(vcenter.Suspended)}

// --- list_hosts ---

type listHostsIn struct {
	listArgs
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
	return spec[listHostsIn, page[hostItem]]{
		Name: "list_hosts", Title: "List hosts",
		Description: "List ESXi hosts with connection and power state; paged.",
		Toolset:     ToolsetInventory, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "`GET /api/vcenter/host`", On: "hosts"},
		Example:    `{}`,
		Schema:     func(in, _ *schema) { in.enum("connection_states", "CONNECTED", "DISCONNECTED", "NOT_RESPONDING") },
		Handle: listing(d, func(ctx context.Context, vc VCenter, in listHostsIn) ([]hostItem, error) {
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
		}),
	}.tool()
}

// --- list_datastores ---

type listDatastoresIn struct {
	listArgs
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
	return spec[listDatastoresIn, page[datastoreItem]]{
		Name: "list_datastores", Title: "List datastores",
		Description: "List datastores with type, capacity and free space; paged.",
		Toolset:     ToolsetInventory, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "`GET /api/vcenter/datastore`", On: "datastores"},
		Example:    `{}`,
		Schema:     func(in, _ *schema) { in.enum("types", datastoreTypes...) },
		Handle: listing(d, func(ctx context.Context, vc VCenter, in listDatastoresIn) ([]datastoreItem, error) {
			ds, err := datastores(ctx, vc, vcenter.DatastoreFilter{Names: in.Names, Types: in.Types}, in.Datacenters)
			if err != nil {
				return nil, err
			}
			out := make([]datastoreItem, len(ds))
			for i, x := range ds {
				out[i] = datastoreOf(x)
			}
			return out, nil
		}),
	}.tool()
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
	listArgs
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
	return spec[listNetworksIn, page[networkItem]]{
		Name: "list_networks", Title: "List networks",
		Description: "List port groups and opaque networks; paged.",
		Toolset:     ToolsetInventory, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "`GET /api/vcenter/network`", On: "networks"},
		Example:    `{}`,
		Schema:     func(in, _ *schema) { in.enum("types", "STANDARD_PORTGROUP", "DISTRIBUTED_PORTGROUP", "OPAQUE_NETWORK") },
		Handle: listing(d, func(ctx context.Context, vc VCenter, in listNetworksIn) ([]networkItem, error) {
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
		}),
	}.tool()
}

// --- list_datacenters ---

type listDatacentersIn struct {
	listArgs
	Names []string `json:"names,omitempty"`
}

type namedItem struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func listDatacenters(d Deps) Tool {
	return spec[listDatacentersIn, page[namedItem]]{
		Name: "list_datacenters", Title: "List datacenters",
		Description: "List datacenters; paged.",
		Toolset:     ToolsetInventory, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "`GET /api/vcenter/datacenter`", On: "datacenters"},
		Example:    `{}`,
		Handle: listing(d, func(ctx context.Context, vc VCenter, in listDatacentersIn) ([]namedItem, error) {
			dcs, _, err := vc.ListDatacenters(ctx, vcenter.DatacenterFilter{Names: in.Names})
			if err != nil {
				return nil, explain(err)
			}
			out := make([]namedItem, len(dcs))
			for i, dc := range dcs {
				out[i] = namedItem{ID: dc.ID, Name: dc.Name}
			}
			return out, nil
		}),
	}.tool()
}

// --- list_clusters ---

type listClustersIn struct {
	listArgs
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
	return spec[listClustersIn, page[clusterItem]]{
		Name: "list_clusters", Title: "List clusters",
		Description: "List clusters with HA and DRS flags; paged.",
		Toolset:     ToolsetInventory, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "`GET /api/vcenter/cluster`", On: "clusters"},
		Example:    `{}`,
		Handle: listing(d, func(ctx context.Context, vc VCenter, in listClustersIn) ([]clusterItem, error) {
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
		}),
	}.tool()
}

// --- list_resource_pools ---

type listResourcePoolsIn struct {
	listArgs
	Names       []string `json:"names,omitempty"`
	Clusters    []string `json:"clusters,omitempty"`
	Datacenters []string `json:"datacenters,omitempty"`
}

func listResourcePools(d Deps) Tool {
	return spec[listResourcePoolsIn, page[namedItem]]{
		Name: "list_resource_pools", Title: "List resource pools",
		Description: "List resource pools; paged.",
		Toolset:     ToolsetInventory, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "`GET /api/vcenter/resource-pool`", On: "resource pools"},
		Example:    `{}`,
		Handle: listing(d, func(ctx context.Context, vc VCenter, in listResourcePoolsIn) ([]namedItem, error) {
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
		}),
	}.tool()
}

// --- list_folders ---

type listFoldersIn struct {
	listArgs
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
	return spec[listFoldersIn, page[folderItem]]{
		Name: "list_folders", Title: "List folders",
		Description: "List inventory folders by type; paged.",
		Toolset:     ToolsetInventory, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "`GET /api/vcenter/folder`", On: "folders"},
		Example:    `{}`,
		Schema:     func(in, _ *schema) { in.enum("type", "VIRTUAL_MACHINE", "HOST", "DATASTORE", "NETWORK", "DATACENTER") },
		Handle: listing(d, func(ctx context.Context, vc VCenter, in listFoldersIn) ([]folderItem, error) {
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
		}),
	}.tool()
}
