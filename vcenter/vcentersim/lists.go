package vcentersim

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Inventory lists (contract §2.1, §2.2). Filters are repeated query keys,
// prefixed "filter." on /rest; a comma-joined value is one (odd) name, not a
// list. Values of one key are ORed, keys are ANDed. names match exactly.
// An unknown key, a repeated single-valued key or an unknown enum value is
// INVALID_ARGUMENT. Ids that name nothing simply match nothing.
//
// Containment filters follow vCenter's FilterSpec semantics:
//   - folders, parent_folders, parent_resource_pools and a VM's
//     resource_pools match DIRECT containment only: a VM in
//     Production/Databases does not match folders=<Production>;
//   - a host is in the folder that holds its cluster or, when standalone,
//     its compute resource;
//   - datacenters, clusters and hosts match anything below them;
//   - a resource pool matches hosts=H when it belongs to H's cluster (or
//     H's standalone compute resource).
//
// Results come sorted by id, which is creation order. A list with more
// matches than its cap fails with UNABLE_TO_ALLOCATE_RESOURCE, never
// truncated.

// List caps, from the operation descriptions in [S703].
const (
	maxVMs         = 4000
	maxHosts       = 2500
	maxDatastores  = 2500
	maxOtherListed = 1000 // networks, datacenters, clusters, resource pools, folders
)

// filterKey declares one query key a list accepts.
type filterKey struct {
	name   string
	enum   []string // allowed values; nil = any string
	single bool     // one value only (folder type, host standalone)
}

func ids(name string) filterKey { return filterKey{name: name} }

func enum(name string, values ...string) filterKey { return filterKey{name: name, enum: values} }

// filter holds the parsed filter of one list request.
type filter map[string]map[string]bool

// parseFilter reads the list filter from the query in the call's dialect.
// Whatever vAPI cannot bind to the FilterSpec is errInvalidInput(method).
func parseFilter(c *call, method string, keys ...filterKey) (filter, *vapiError) {
	q, err := url.ParseQuery(c.r.URL.RawQuery)
	if err != nil {
		return nil, errInvalidInput(method)
	}
	prefix := ""
	if c.surface == surfaceREST {
		prefix = "filter."
	}
	f := filter{}
	for raw, values := range q {
		name, ok := strings.CutPrefix(raw, prefix)
		i := slices.IndexFunc(keys, func(k filterKey) bool { return k.name == name })
		if !ok || i < 0 || keys[i].single && len(values) > 1 {
			return nil, errInvalidInput(method)
		}
		set := make(map[string]bool, len(values))
		for _, v := range values {
			if keys[i].enum != nil && !slices.Contains(keys[i].enum, v) {
				return nil, errInvalidInput(method)
			}
			set[v] = true
		}
		f[name] = set
	}
	return f, nil
}

// match reports whether value passes the key's filter; an absent key passes everything.
func (f filter) match(key, value string) bool {
	set, ok := f[key]
	return !ok || set[value]
}

// sortedValues returns a map's values in id order.
func sortedValues[T any](m map[string]T) []T {
	out := make([]T, 0, len(m))
	for _, k := range slices.SortedFunc(maps.Keys(m), compareIDs) {
		out = append(out, m[k])
	}
	return out
}

type vmSummary struct {
	VM            string     `json:"vm"`
	Name          string     `json:"name"`
	PowerState    PowerState `json:"power_state"`
	CPUCount      int        `json:"cpu_count"`
	MemorySizeMiB int        `json:"memory_size_MiB"`
}

// handleListVMs is GET /api/vcenter/vm.
func handleListVMs(s *Server, c *call) (any, *vapiError) {
	f, err := parseFilter(c, "::Com::Vmware::Vcenter::VmSvc::List", ids("vms"), ids("names"), ids("folders"), ids("datacenters"), ids("hosts"),
		ids("clusters"), ids("resource_pools"), enum("power_states", string(PoweredOff), string(PoweredOn), string(Suspended)))
	if err != nil {
		return nil, err
	}
	out := make([]vmSummary, 0, min(len(s.inv.vmOrder), 64))
	// The sets are looked up once, not per VM and key (a scaled inventory
	// of 50,000 VMs is scanned per request); a nil set passes everything,
	// as filter.match does for an absent key.
	in := func(set map[string]bool, value string) bool { return set == nil || set[value] }
	vms, names, folders, dcs := f["vms"], f["names"], f["folders"], f["datacenters"]
	hosts, clusters, pools, powers := f["hosts"], f["clusters"], f["resource_pools"], f["power_states"]
	for _, v := range s.inv.vmOrder {
		if v.Template { // not listed (contract changes §9.3)
			continue
		}
		if !in(vms, v.ID) || !in(names, v.Name) || !in(folders, v.Folder) || !in(hosts, v.Host) ||
			!in(pools, v.ResourcePool) || !in(powers, string(v.PowerState)) {
			continue
		}
		if dcs != nil || clusters != nil {
			if h := s.inv.hosts[v.Host]; !in(dcs, h.datacenter) || !in(clusters, h.cluster) {
				continue
			}
		}
		if len(out) == maxVMs {
			return nil, errTooMany("vm", "virtual machines")
		}
		out = append(out, vmSummary{VM: v.ID, Name: v.Name, PowerState: v.PowerState, CPUCount: v.CPUCount, MemorySizeMiB: v.MemoryMiB})
	}
	return out, nil
}

type hostSummary struct {
	Host            string `json:"host"`
	Name            string `json:"name"`
	ConnectionState string `json:"connection_state"`
	PowerState      string `json:"power_state,omitempty"` // only for a connected host
}

// handleListHosts is GET /api/vcenter/host.
func handleListHosts(s *Server, c *call) (any, *vapiError) {
	f, err := parseFilter(c, "::Com::Vmware::Vcenter::HostSvc::List", ids("hosts"), ids("names"), ids("folders"), ids("datacenters"),
		filterKey{name: "standalone", enum: []string{"true", "false"}, single: true}, ids("clusters"),
		enum("connection_states", "CONNECTED", "DISCONNECTED", "NOT_RESPONDING"))
	if err != nil {
		return nil, err
	}
	out := []hostSummary{}
	for _, h := range sortedValues(s.inv.hosts) {
		folder := s.inv.hostFolder(h)
		if !f.match("hosts", h.id) || !f.match("names", h.name) || !f.match("folders", folder) ||
			!f.match("datacenters", h.datacenter) || !f.match("standalone", fmt.Sprint(h.cluster == "")) ||
			!f.match("clusters", h.cluster) || !f.match("connection_states", h.connection) {
			continue
		}
		out = append(out, hostSummary{Host: h.id, Name: h.name, ConnectionState: h.connection, PowerState: h.power})
	}
	return capped(out, maxHosts, "host", "hosts")
}

// hostFolder returns the folder that holds the host's cluster or, for a
// standalone host, its compute resource.
func (inv *inventory) hostFolder(h *host) string {
	if cl := inv.clusters[h.cluster]; cl != nil {
		return cl.folder
	}
	if cr := inv.computeResources[h.computeResource]; cr != nil {
		return cr.folder
	}
	return ""
}

func capped[T any](items []T, limit int, kind, plural string) (any, *vapiError) {
	if len(items) > limit {
		return nil, errTooMany(kind, plural)
	}
	return items, nil
}

type datastoreSummary struct {
	Datastore string `json:"datastore"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	FreeSpace int64  `json:"free_space"` // bytes
	Capacity  int64  `json:"capacity"`   // bytes
}

// handleListDatastores is GET /api/vcenter/datastore. Unlike the GET by id,
// its items carry capacity (contract §2.1).
func handleListDatastores(s *Server, c *call) (any, *vapiError) {
	f, err := parseFilter(c, "::Com::Vmware::Vcenter::DatastoreSvc::List", ids("datastores"), ids("names"), enum("types", "VMFS", "NFS", "NFS41", "CIFS", "VSAN", "VFFS", "VVOL"),
		ids("folders"), ids("datacenters"))
	if err != nil {
		return nil, err
	}
	out := []datastoreSummary{}
	for _, ds := range sortedValues(s.inv.datastores) {
		if !f.match("datastores", ds.id) || !f.match("names", ds.name) || !f.match("types", ds.kind) ||
			!f.match("folders", ds.folder) || !f.match("datacenters", ds.datacenter) {
			continue
		}
		out = append(out, datastoreSummary{Datastore: ds.id, Name: ds.name, Type: ds.kind, FreeSpace: ds.free, Capacity: ds.capacity})
	}
	return capped(out, maxDatastores, "datastore", "datastores")
}

type networkSummary struct {
	Network string `json:"network"`
	Name    string `json:"name"`
	Type    string `json:"type"`
}

// handleListNetworks is GET /api/vcenter/network.
func handleListNetworks(s *Server, c *call) (any, *vapiError) {
	f, err := parseFilter(c, "::Com::Vmware::Vcenter::NetworkSvc::List", ids("networks"), ids("names"), enum("types", "STANDARD_PORTGROUP", "DISTRIBUTED_PORTGROUP", "OPAQUE_NETWORK"),
		ids("folders"), ids("datacenters"))
	if err != nil {
		return nil, err
	}
	out := []networkSummary{}
	for _, n := range sortedValues(s.inv.networks) {
		if !f.match("networks", n.id) || !f.match("names", n.name) || !f.match("types", n.kind) ||
			!f.match("folders", n.folder) || !f.match("datacenters", n.datacenter) {
			continue
		}
		out = append(out, networkSummary{Network: n.id, Name: n.name, Type: n.kind})
	}
	return capped(out, maxOtherListed, "network", "networks")
}

type datacenterSummary struct {
	Datacenter string `json:"datacenter"`
	Name       string `json:"name"`
}

// handleListDatacenters is GET /api/vcenter/datacenter.
func handleListDatacenters(s *Server, c *call) (any, *vapiError) {
	f, err := parseFilter(c, "::Com::Vmware::Vcenter::DatacenterSvc::List", ids("datacenters"), ids("names"), ids("folders"))
	if err != nil {
		return nil, err
	}
	out := []datacenterSummary{}
	for _, dc := range sortedValues(s.inv.datacenters) {
		if f.match("datacenters", dc.id) && f.match("names", dc.name) && f.match("folders", dc.folder) {
			out = append(out, datacenterSummary{Datacenter: dc.id, Name: dc.name})
		}
	}
	return capped(out, maxOtherListed, "datacenter", "datacenters")
}

type clusterSummary struct {
	Cluster    string `json:"cluster"`
	Name       string `json:"name"`
	HAEnabled  bool   `json:"ha_enabled"`
	DRSEnabled bool   `json:"drs_enabled"`
}

// handleListClusters is GET /api/vcenter/cluster. A standalone host's
// compute resource is not a cluster and is not listed.
func handleListClusters(s *Server, c *call) (any, *vapiError) {
	f, err := parseFilter(c, "::Com::Vmware::Vcenter::ClusterSvc::List", ids("clusters"), ids("names"), ids("folders"), ids("datacenters"))
	if err != nil {
		return nil, err
	}
	out := []clusterSummary{}
	for _, cl := range sortedValues(s.inv.clusters) {
		if f.match("clusters", cl.id) && f.match("names", cl.name) && f.match("folders", cl.folder) && f.match("datacenters", cl.datacenter) {
			out = append(out, clusterSummary{Cluster: cl.id, Name: cl.name, HAEnabled: cl.ha, DRSEnabled: cl.drs})
		}
	}
	return capped(out, maxOtherListed, "cluster", "clusters")
}

type resourcePoolSummary struct {
	ResourcePool string `json:"resource_pool"`
	Name         string `json:"name"`
}

// handleListResourcePools is GET /api/vcenter/resource-pool.
func handleListResourcePools(s *Server, c *call) (any, *vapiError) {
	f, err := parseFilter(c, "::Com::Vmware::Vcenter::ResourcePoolSvc::List", ids("resource_pools"), ids("names"), ids("parent_resource_pools"), ids("datacenters"), ids("hosts"), ids("clusters"))
	if err != nil {
		return nil, err
	}
	hostOwners := map[string]bool{}
	for h := range f["hosts"] {
		if host := s.inv.hosts[h]; host != nil {
			hostOwners[host.owner()] = true
		}
	}
	out := []resourcePoolSummary{}
	for _, p := range sortedValues(s.inv.pools) {
		if !f.match("resource_pools", p.id) || !f.match("names", p.name) || !f.match("parent_resource_pools", p.parent) ||
			!f.match("datacenters", p.datacenter) || !f.match("clusters", p.owner) {
			continue
		}
		if _, ok := f["hosts"]; ok && !hostOwners[p.owner] {
			continue
		}
		out = append(out, resourcePoolSummary{ResourcePool: p.id, Name: p.name})
	}
	return capped(out, maxOtherListed, "resource_pool", "resource pools")
}

type folderSummary struct {
	Folder string `json:"folder"`
	Name   string `json:"name"`
	Type   string `json:"type"`
}

// handleListFolders is GET /api/vcenter/folder. Each datacenter's hidden
// root folders ("vm", "host", "datastore", "network") are listed too.
func handleListFolders(s *Server, c *call) (any, *vapiError) {
	f, err := parseFilter(c, "::Com::Vmware::Vcenter::FolderSvc::List", ids("folders"), ids("names"),
		filterKey{name: "type", enum: []string{folderDatacenter, folderDatastore, folderHost, folderNetwork, folderVM}, single: true},
		ids("parent_folders"), ids("datacenters"))
	if err != nil {
		return nil, err
	}
	out := []folderSummary{}
	for _, fo := range sortedValues(s.inv.folders) {
		if f.match("folders", fo.id) && f.match("names", fo.name) && f.match("type", fo.kind) &&
			f.match("parent_folders", fo.parent) && f.match("datacenters", fo.datacenter) {
			out = append(out, folderSummary{Folder: fo.id, Name: fo.name, Type: fo.kind})
		}
	}
	return capped(out, maxOtherListed, "folder", "folders")
}

// GETs by id. vCenter has them for datastores, datacenters, clusters and
// resource pools only; hosts, networks and folders have none (contract §2.1).

type datastoreInfo struct {
	Name                      string `json:"name"`
	Type                      string `json:"type"`
	Accessible                bool   `json:"accessible"`
	FreeSpace                 int64  `json:"free_space"`
	MultipleHostAccess        bool   `json:"multiple_host_access"`
	ThinProvisioningSupported bool   `json:"thin_provisioning_supported"`
}

// handleGetDatastore is GET /api/vcenter/datastore/{datastore}: no capacity
// here, only in the list.
func handleGetDatastore(s *Server, c *call) (any, *vapiError) {
	ds := s.inv.datastores[c.param("datastore")]
	if ds == nil {
		return nil, errNotFound("datastore", "Datastore", c.param("datastore"))
	}
	return datastoreInfo{Name: ds.name, Type: ds.kind, Accessible: true, FreeSpace: ds.free,
		MultipleHostAccess: ds.shared, ThinProvisioningSupported: true}, nil
}

type datacenterInfo struct {
	Name            string `json:"name"`
	DatastoreFolder string `json:"datastore_folder"`
	HostFolder      string `json:"host_folder"`
	NetworkFolder   string `json:"network_folder"`
	VMFolder        string `json:"vm_folder"`
}

// handleGetDatacenter is GET /api/vcenter/datacenter/{datacenter}.
func handleGetDatacenter(s *Server, c *call) (any, *vapiError) {
	dc := s.inv.datacenters[c.param("datacenter")]
	if dc == nil {
		return nil, errNotFound("datacenter", "Datacenter", c.param("datacenter"))
	}
	return datacenterInfo{Name: dc.name, DatastoreFolder: dc.datastoreFolder, HostFolder: dc.hostFolder,
		NetworkFolder: dc.networkFolder, VMFolder: dc.vmFolder}, nil
}

type clusterInfo struct {
	Name         string `json:"name"`
	ResourcePool string `json:"resource_pool"`
}

// handleGetCluster is GET /api/vcenter/cluster/{cluster}.
func handleGetCluster(s *Server, c *call) (any, *vapiError) {
	cl := s.inv.clusters[c.param("cluster")]
	if cl == nil {
		return nil, errNotFound("cluster", "Cluster", c.param("cluster"))
	}
	return clusterInfo{Name: cl.name, ResourcePool: cl.rootPool}, nil
}

type resourcePoolInfo struct {
	Name             string         `json:"name"`
	ResourcePools    []string       `json:"resource_pools"`
	CPUAllocation    allocationInfo `json:"cpu_allocation"`
	MemoryAllocation allocationInfo `json:"memory_allocation"`
}

type allocationInfo struct {
	Reservation           int64      `json:"reservation"`
	ExpandableReservation bool       `json:"expandable_reservation"`
	Limit                 int64      `json:"limit"`
	Shares                sharesInfo `json:"shares"`
}

type sharesInfo struct {
	Level string `json:"level"`
}

// handleGetResourcePool is GET /api/vcenter/resource-pool/{resource_pool}.
func handleGetResourcePool(s *Server, c *call) (any, *vapiError) {
	p := s.inv.pools[c.param("resource_pool")]
	if p == nil {
		return nil, errNotFound("resource_pool", "Resource pool", c.param("resource_pool"))
	}
	alloc := allocationInfo{ExpandableReservation: true, Limit: -1, Shares: sharesInfo{Level: p.shares}}
	return resourcePoolInfo{Name: p.name, ResourcePools: append([]string{}, p.children...), CPUAllocation: alloc, MemoryAllocation: alloc}, nil
}
