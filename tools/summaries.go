// Summaries aggregate inventory: datastore usage and resource utilization.

package tools

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// Summaries aggregate inventory with as few vCenter requests as the API
// allows: capacity comes from the datastore list (the single-datastore GET
// has none), and per-cluster counts from one VM list per cluster, which is
// also how a VM listing over vCenter's 4000 cap is split anyway.

// --- get_datastore_usage ---

type datastoreUsageIn struct {
	listArgs
	Datastores  []string `json:"datastores,omitempty"`
	Datacenters []string `json:"datacenters,omitempty"`
}

type usageTotals struct {
	Datastores  int     `json:"datastores"`
	CapacityGiB float64 `json:"capacity_gib"`
	FreeGiB     float64 `json:"free_gib"`
	UsedPct     float64 `json:"used_pct"`
	// Unknown counts datastores whose capacity vCenter did not report
	// (inaccessible); they are left out of the sums.
	Unknown int `json:"unknown,omitempty"`
}

type datastoreUsageOut struct {
	Totals usageTotals `json:"totals"` // over every matching datastore, not only this page
	page[datastoreItem]
}

func getDatastoreUsage(d Deps) Tool {
	return spec[datastoreUsageIn, datastoreUsageOut]{
		Name: "get_datastore_usage", Title: "Get datastore usage",
		Description: "Capacity, free and used % per datastore, fullest first, with totals; paged.",
		Toolset:     ToolsetInventory, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "`GET /api/vcenter/datastore`", On: "datastores"},
		Example:    `{}`,
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in datastoreUsageIn) (*mcp.CallToolResult, datastoreUsageOut, error) {
			vc, err := connect(ctx, d, in.Hostname)
			if err != nil {
				return nil, datastoreUsageOut{}, err
			}
			var ids, names []string
			for _, v := range in.Datastores {
				if vcenter.LooksLikeID(vcenter.KindDatastore, v) {
					ids = append(ids, v)
				} else {
					names = append(names, v)
				}
			}
			if len(ids) > 0 && len(names) > 0 {
				return nil, datastoreUsageOut{}, argErrorf("give datastores as all ids or all names, not a mix")
			}
			key := listingKey(req.Params.Name, vc.Host(), in)
			p, all, err := paginate(d, key, in.pageArgs, func() ([]datastoreItem, error) {
				ds, err := datastores(ctx, vc, vcenter.DatastoreFilter{IDs: ids, Names: names}, in.Datacenters)
				if err != nil {
					return nil, err
				}
				if len(names) > 0 {
					if missing := missingNames(names, ds, func(x vcenter.Datastore) string { return x.Name }); missing != "" {
						return nil, argErrorf("no datastore named %s (list_datastores shows them)", missing)
					}
				}
				items := make([]datastoreItem, len(ds))
				for i, x := range ds {
					items[i] = datastoreOf(x)
				}
				sort.SliceStable(items, func(i, j int) bool { return items[i].UsedPct > items[j].UsedPct })
				return items, nil
			})
			if err != nil {
				return nil, datastoreUsageOut{}, err
			}
			return nil, datastoreUsageOut{Totals: totalsOf(all), page: p}, nil
		},
	}.tool()
}

// totalsOf sums datastore capacity and free space.
func totalsOf(items []datastoreItem) usageTotals {
	t := usageTotals{Datastores: len(items)}
	var capacity, free int64
	for _, x := range items {
		if !x.known {
			t.Unknown++
			continue
		}
		capacity += x.capacity
		free += x.free
	}
	t.CapacityGiB, t.FreeGiB, t.UsedPct = gib(capacity), gib(free), usedPct(capacity, free)
	return t
}

func missingNames[T any](want []string, got []T, name func(T) string) string {
	have := map[string]bool{}
	for _, g := range got {
		have[name(g)] = true
	}
	var missing string
	for _, w := range want {
		if !have[w] {
			if missing != "" {
				missing += ", "
			}
			missing += fmt.Sprintf("%q", w)
		}
	}
	return missing
}

// --- get_resource_utilization_summary ---

type utilizationIn struct {
	hostArgs
	Datacenters []string `json:"datacenters,omitempty"`
	Clusters    []string `json:"clusters,omitempty"`
}

type vmCounts struct {
	Total      int `json:"total"`
	PoweredOn  int `json:"powered_on"`
	PoweredOff int `json:"powered_off"`
	Suspended  int `json:"suspended"`
}

type hostCounts struct {
	Total         int `json:"total"`
	Connected     int `json:"connected"`
	Disconnected  int `json:"disconnected"`
	NotResponding int `json:"not_responding"`
}

type clusterSummary struct {
	ID    string     `json:"id"`
	Name  string     `json:"name"`
	VMs   vmCounts   `json:"vms"`
	Hosts hostCounts `json:"hosts"`
}

type utilizationOut struct {
	VMs        vmCounts         `json:"vms"`
	Hosts      hostCounts       `json:"hosts"`
	Datastores usageTotals      `json:"datastores"`
	Clusters   []clusterSummary `json:"clusters"` // VMs on standalone hosts count only in the totals
	Note       string           `json:"note,omitempty"`
}

// maxClusters bounds the per-cluster part of the summary (100 kB).
const maxClusters = 300

func getResourceUtilizationSummary(d Deps) Tool {
	return spec[utilizationIn, utilizationOut]{
		Name: "get_resource_utilization_summary", Title: "Get resource utilization summary",
		Description: "VM power states, host connection states and datastore capacity, overall and per cluster.",
		Toolset:     ToolsetInventory, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "the VM, host, datastore and cluster lists", On: "all of those"},
		Example:    `{}`,
		Handle: func(ctx context.Context, _ *mcp.CallToolRequest, in utilizationIn) (*mcp.CallToolResult, utilizationOut, error) {
			vc, err := connect(ctx, d, in.Hostname)
			if err != nil {
				return nil, utilizationOut{}, err
			}
			var dcs, cls []string
			if err := resolveAll(ctx, vc, target{vcenter.KindDatacenter, in.Datacenters, &dcs}, target{vcenter.KindCluster, in.Clusters, &cls}); err != nil {
				return nil, utilizationOut{}, err
			}
			out, err := summarize(ctx, vc, dcs, cls)
			if err != nil {
				return nil, utilizationOut{}, explain(err)
			}
			return nil, out, nil
		},
	}.tool()
}

// summarize gathers the counts: one cluster list, then per cluster one VM
// list and one host list in parallel; the totals add the standalone hosts
// and their VMs (when no cluster filter is given) and the datastore list.
func summarize(ctx context.Context, vc VCenter, dcs, clusterIDs []string) (utilizationOut, error) {
	out := utilizationOut{Clusters: make([]clusterSummary, 0)}
	clusters, _, err := vc.ListClusters(ctx, vcenter.ClusterFilter{IDs: clusterIDs, Datacenters: dcs})
	if err != nil {
		return out, err
	}
	if len(clusters) > maxClusters {
		out.Note = fmt.Sprintf("%d clusters: per-cluster figures for the first %d by name; filter by datacenter or cluster for the rest", len(clusters), maxClusters)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	record := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
		}
	}
	sums := make([]clusterSummary, len(clusters))
	for i, cl := range clusters {
		sums[i] = clusterSummary{ID: cl.ID, Name: cl.Name}
		wg.Go(func() {
			vms, _, err := vc.ListVMs(ctx, vcenter.VMFilter{Clusters: []string{cl.ID}, Datacenters: dcs})
			if err != nil {
				record(err)
				return
			}
			sums[i].VMs = countVMs(vms)
		})
		wg.Go(func() {
			hosts, _, err := vc.ListHosts(ctx, vcenter.HostFilter{Clusters: []string{cl.ID}, Datacenters: dcs})
			if err != nil {
				record(err)
				return
			}
			sums[i].Hosts = countHosts(hosts)
		})
	}
	var standalone struct {
		vms   vmCounts
		hosts hostCounts
	}
	if len(clusterIDs) == 0 {
		wg.Go(func() {
			yes := true
			hosts, _, err := vc.ListHosts(ctx, vcenter.HostFilter{Datacenters: dcs, Standalone: &yes})
			if err != nil {
				record(err)
				return
			}
			standalone.hosts = countHosts(hosts)
			if len(hosts) == 0 {
				return
			}
			vms, _, err := vc.ListVMs(ctx, vcenter.VMFilter{Hosts: idsOf(hosts), Datacenters: dcs})
			if err != nil {
				record(err)
				return
			}
			standalone.vms = countVMs(vms)
		})
	}
	var ds []vcenter.Datastore
	wg.Go(func() {
		var err error
		if ds, _, err = vc.ListDatastores(ctx, vcenter.DatastoreFilter{Datacenters: dcs}); err != nil {
			record(err)
		}
	})
	wg.Wait()
	if first != nil {
		return out, first
	}
	out.VMs, out.Hosts = standalone.vms, standalone.hosts
	for _, s := range sums {
		out.VMs = addVMs(out.VMs, s.VMs)
		out.Hosts = addHosts(out.Hosts, s.Hosts)
	}
	items := make([]datastoreItem, len(ds))
	for i, x := range ds {
		items[i] = datastoreOf(x)
	}
	out.Datastores = totalsOf(items)
	if len(sums) > maxClusters {
		sums = sums[:maxClusters]
	}
	out.Clusters = append(out.Clusters, sums...)
	return out, nil
}

func idsOf(hosts []vcenter.Host) []string {
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = h.ID
	}
	return out
}

func countVMs(vms []vcenter.VMSummary) vmCounts {
	c := vmCounts{Total: len(vms)}
	for _, v := range vms {
		switch v.PowerState {
		case vcenter.PoweredOn:
			c.PoweredOn++
		case vcenter.PoweredOff:
			c.PoweredOff++
		case vcenter.Suspended:
			c.Suspended++
		}
	}
	return c
}

func countHosts(hosts []vcenter.Host) hostCounts {
	c := hostCounts{Total: len(hosts)}
	for _, h := range hosts {
		switch h.ConnectionState {
		case "CONNECTED":
			c.Connected++
		case "DISCONNECTED":
			c.Disconnected++
		case "NOT_RESPONDING":
			c.NotResponding++
		}
	}
	return c
}

func addVMs(a, b vmCounts) vmCounts {
	return vmCounts{a.Total + b.Total, a.PoweredOn + b.PoweredOn, a.PoweredOff + b.PoweredOff, a.Suspended + b.Suspended}
}

func addHosts(a, b hostCounts) hostCounts {
	return hostCounts{a.Total + b.Total, a.Connected + b.Connected, a.Disconnected + b.Disconnected, a.NotResponding + b.NotResponding}
}
