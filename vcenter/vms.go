package vcenter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// PowerState is a VM's power state as the Automation API names it.
type PowerState string

// VM power states.
const (
	PoweredOn  PowerState = "POWERED_ON"
	PoweredOff PowerState = "POWERED_OFF"
	Suspended  PowerState = "SUSPENDED"
)

// VMSummary is one VM as the VM list shows it.
type VMSummary struct {
	ID         string     `json:"vm"`
	Name       string     `json:"name"`
	PowerState PowerState `json:"power_state"`
	CPUCount   int        `json:"cpu_count"`
	MemoryMiB  int64      `json:"memory_size_MiB"`
}

// vmWire is VMSummary as the VM list sends it, with both spellings of
// memory_size_MiB (renamedKeys). Lists decode into it, not through an
// UnmarshalJSON method on VMSummary, which made a 4000-VM page several
// times slower to decode.
type vmWire struct {
	ID         string     `json:"vm"`
	Name       string     `json:"name"`
	PowerState PowerState `json:"power_state"`
	CPUCount   int        `json:"cpu_count"`
	MemoryMiB  *int64     `json:"memory_size_MiB"`
	MemoryMib  *int64     `json:"memory_size_mib"`
}

func (w vmWire) summary() VMSummary {
	v := VMSummary{ID: w.ID, Name: w.Name, PowerState: w.PowerState, CPUCount: w.CPUCount}
	if m := either(w.MemoryMiB, w.MemoryMib); m != nil {
		v.MemoryMiB = *m
	}
	return v
}

func summaries(ws []vmWire) []VMSummary {
	out := make([]VMSummary, len(ws))
	for i, w := range ws {
		out[i] = w.summary()
	}
	return out
}

// listVMsOnce lists VMs without splitting.
func listVMsOnce(ctx context.Context, c *Client, f filterSet) ([]VMSummary, error) {
	ws, err := listOnce[vmWire](ctx, c, "/vcenter/vm", f)
	return summaries(ws), err
}

// VMFilter narrows [Client.ListVMs]. Fields combine with AND, values within
// a field with OR; empty fields match everything.
type VMFilter struct {
	IDs, Names, Folders, Datacenters, Hosts, Clusters, ResourcePools []string
	PowerStates                                                      []PowerState
}

// ListVMs lists the VMs matching f, however many there are: when vCenter
// refuses a query for matching more than 4000 VMs, the query is split by
// cluster (and standalone host), then by host, then by VM folder, then by
// power state, and the answers merged.
func (c *Client) ListVMs(ctx context.Context, f VMFilter) ([]VMSummary, ListStats, error) {
	if err := validAll(
		idCheck{KindVM, f.IDs}, idCheck{KindFolder, f.Folders}, idCheck{KindDatacenter, f.Datacenters},
		idCheck{KindHost, f.Hosts}, idCheck{KindCluster, f.Clusters}, idCheck{KindResourcePool, f.ResourcePools},
	); err != nil {
		return nil, ListStats{}, err
	}
	fs := filterSet{"vms": f.IDs, "names": f.Names, "folders": f.Folders, "datacenters": f.Datacenters,
		"hosts": f.Hosts, "clusters": f.Clusters, "resource_pools": f.ResourcePools}
	for _, s := range f.PowerStates {
		fs["power_states"] = append(fs["power_states"], string(s))
	}
	l := newLister(c, "/vcenter/vm", func(v *VMSummary) string { return v.ID },
		splitExisting("clusters"), splitExisting("hosts"), splitExisting("folders"),
		splitExisting("resource_pools"), splitExisting("datacenters"), splitExisting("power_states"),
		c.splitCompute,
		splitBy("hosts", c.hostsOfCluster),
		splitBy("folders", c.folderIDs("VIRTUAL_MACHINE")),
		splitBy("power_states", fixed(string(PoweredOn), string(PoweredOff), string(Suspended))),
	)
	// Each answer becomes compact, clean records as it arrives: the wire
	// form of a 4000-VM answer is garbage before the next one is decoded.
	l.decode = func(ctx context.Context, f filterSet) ([]VMSummary, error) {
		buf := wireBuffers.Get().(*[]vmWire)
		ws := (*buf)[:0]
		defer func() {
			// The decoder sets the fields it finds, not the others: a
			// buffer goes back empty, even after a failed decode.
			clear(ws[:cap(ws)])
			*buf = ws[:0]
			wireBuffers.Put(buf)
		}()
		if err := c.vapi(ctx, http.MethodGet, "/vcenter/vm", c.dialect.filters(f), nil, &ws); err != nil {
			return nil, err
		}
		vms := summaries(ws)
		for i := range vms {
			vms[i].clean()
		}
		return vms, nil
	}
	l.speculate = broadVMQuery
	vms, stats, err := l.run(ctx, compact(fs))
	if err != nil {
		return nil, stats, fmt.Errorf("list VMs: %w", err)
	}
	// The ids are unique (the merge dropped repeats of a cleaned id), so
	// (name, id) is a total order: sorting in place gives the one order a
	// stable sort would, without the keys sortByName builds.
	slices.SortFunc(vms, func(a, b VMSummary) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return vms, stats, nil
}

// wireBuffers holds decode buffers for VM list answers, reused across the
// shards of a split listing (up to 4000 items each).
var wireBuffers = sync.Pool{New: func() any { b := make([]vmWire, 0, 256); return &b }}

// broadVMQuery reports whether a VM query narrows by nothing but
// datacenter and power state, so that it may well match more than 4000 VMs.
func broadVMQuery(f filterSet) bool {
	for k := range f {
		if k != "datacenters" && k != "power_states" {
			return false
		}
	}
	return true
}

// clean sanitizes the strings vCenter sent; see sanitize.
func (v *VMSummary) clean() {
	v.ID = sanitize(v.ID, maxIDLen)
	v.Name = sanitize(v.Name, maxNameLen)
	v.PowerState = PowerState(sanitize(string(v.PowerState), 32)).interned()
}

// interned returns the constant equal to p, so that 50,000 listed VMs share
// three strings rather than hold one each.
func (p PowerState) interned() PowerState {
	switch p {
	case PoweredOn:
		return PoweredOn
	case PoweredOff:
		return PoweredOff
	case Suspended:
		return Suspended
	}
	return p
}

// splitCompute splits a VM query with neither a cluster nor a host filter
// into one query per cluster plus one per standalone host: every VM runs on
// (or is registered to) exactly one host, which is in a cluster or not.
func (c *Client) splitCompute(ctx context.Context, f filterSet) ([]filterSet, error) {
	if len(f["clusters"]) > 0 || len(f["hosts"]) > 0 {
		return nil, nil
	}
	// The two look-ups are independent: send them together.
	var (
		clusters   []string
		hosts      []Host
		cerr, herr error
		wg         sync.WaitGroup
	)
	wg.Go(func() { clusters, cerr = c.clusterIDs(ctx, f) })
	standalone := true
	hosts, _, herr = c.ListHosts(ctx, HostFilter{Datacenters: f["datacenters"], Standalone: &standalone})
	wg.Wait()
	if err := cmp.Or(cerr, herr); err != nil {
		return nil, err
	}
	out := make([]filterSet, 0, len(clusters)+len(hosts))
	for _, cl := range clusters {
		out = append(out, f.with("clusters", cl))
	}
	for _, h := range hosts {
		out = append(out, f.with("hosts", h.ID))
	}
	return out, nil
}

// hostsOfCluster gives the hosts of the one cluster in f.
func (c *Client) hostsOfCluster(ctx context.Context, f filterSet) ([]string, error) {
	if len(f["clusters"]) != 1 {
		return nil, nil
	}
	hosts, _, err := c.ListHosts(ctx, HostFilter{Clusters: f["clusters"]})
	return idsOf(hosts, func(h Host) string { return h.ID }), err
}

// VMRef names a VM by id or by exact name; exactly one must be set.
type VMRef struct {
	ID   string
	Name string
}

// maxVMNameLen is vCenter's limit on a VM name (80 characters): a longer
// name cannot match, so it is refused without a request.
const maxVMNameLen = 80

// FindVM resolves ref to one VM. An id that does not exist, or a name that
// matches no VM, is an error matching [ErrNotFound]; a name that matches
// several VMs is an [*AmbiguousError] listing each candidate's id,
// datacenter and folder. It never picks one of several matches.
func (c *Client) FindVM(ctx context.Context, ref VMRef) (VMSummary, error) {
	switch {
	case ref.ID != "" && ref.Name != "":
		return VMSummary{}, errors.New("give vm_id or vm_name, not both")
	case ref.ID != "":
		if err := ValidateID(KindVM, ref.ID); err != nil {
			return VMSummary{}, err
		}
		vms, err := listVMsOnce(ctx, c, filterSet{"vms": {ref.ID}})
		if err != nil {
			return VMSummary{}, err
		}
		if len(vms) == 0 {
			return VMSummary{}, fmt.Errorf("no VM has id %s (list_vms shows ids): %w", ref.ID, ErrNotFound)
		}
		vms[0].clean()
		return vms[0], nil
	case ref.Name != "":
		if utf8.RuneCountInString(ref.Name) > maxVMNameLen {
			return VMSummary{}, fmt.Errorf("vm_name %s is longer than vCenter's %d-character limit: %w", quoteShort(ref.Name), maxVMNameLen, ErrNotFound)
		}
		vms, err := listVMsOnce(ctx, c, filterSet{"names": {ref.Name}})
		if err != nil {
			return VMSummary{}, err
		}
		switch len(vms) {
		case 0:
			return VMSummary{}, fmt.Errorf("no VM is named %s (names are exact and case-sensitive; list_vms shows names): %w", quoteShort(ref.Name), ErrNotFound)
		case 1:
			vms[0].clean()
			return vms[0], nil
		}
		return VMSummary{}, c.ambiguousVMs(ctx, ref.Name, vms)
	}
	return VMSummary{}, errors.New("give vm_id (like vm-42) or vm_name")
}

// ambiguousVMs builds the error for a name matching several VMs, locating
// each: the datacenter by filtering the same name per datacenter, the folder
// through VI/JSON (left empty where VI/JSON is unavailable).
func (c *Client) ambiguousVMs(ctx context.Context, name string, vms []VMSummary) error {
	e := &AmbiguousError{Kind: KindVM, Name: sanitize(name, maxNameLen)}
	idx := make(map[string]int, len(vms))
	for i, v := range vms {
		idx[v.ID] = i
		v.clean()
		e.Candidates = append(e.Candidates, Candidate{ID: v.ID, Name: v.Name, PowerState: string(v.PowerState)})
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	if dcs, _, err := c.ListDatacenters(ctx, DatacenterFilter{}); err == nil {
		for _, dc := range dcs {
			wg.Go(func() {
				in, err := listVMsOnce(ctx, c, filterSet{"names": {name}, "datacenters": {dc.ID}})
				if err != nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, v := range in {
					if i, ok := idx[v.ID]; ok {
						e.Candidates[i].Datacenter = dc.Name
					}
				}
			})
		}
	}
	for i := range e.Candidates {
		wg.Go(func() {
			folder, err := c.vmFolder(ctx, vms[i].ID)
			if err != nil {
				return
			}
			mu.Lock()
			e.Candidates[i].Folder = folder
			mu.Unlock()
		})
	}
	wg.Wait()
	return e
}

// vmFolder returns the name of the folder holding a VM, through VI/JSON.
// vm comes from vCenter's own answer, so it is validated like any input.
func (c *Client) vmFolder(ctx context.Context, vm string) (string, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return "", err
	}
	var parent *moRef // null for a VM in a vApp
	if err := c.vim(ctx, http.MethodGet, "VirtualMachine", vm, "parent", nil, &parent); err != nil {
		return "", err
	}
	if parent == nil {
		return "", errors.New("the VM is in no folder (a vApp holds it)")
	}
	if ValidateID(KindFolder, parent.Value) != nil {
		return "", fmt.Errorf("unexpected parent %s", quoteShort(parent.Value))
	}
	fos, _, err := c.ListFolders(ctx, FolderFilter{IDs: []string{parent.Value}})
	if err != nil || len(fos) == 0 {
		return parent.Value, err
	}
	return fos[0].Name, nil
}
