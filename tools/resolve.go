package tools

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// This file resolves what the model names — a vCenter, a VM, filter values —
// into clients and ids, noting the target for the audit line.

// connect returns the client for hostname and notes it for the audit line.
func connect(ctx context.Context, d Deps, hostname string) (VCenter, error) {
	vc, err := d.VCenter(hostname)
	if err != nil {
		if errors.Is(err, vcenter.ErrHostNotAllowed) {
			return nil, &argError{err.Error()}
		}
		return nil, err
	}
	noteVCenter(ctx, vc.Host())
	return vc, nil
}

// vmLookup says how much resolveVM must know of the VM.
type vmLookup int

const (
	// needSummary reads the VM (power state, CPU, memory), by id or name.
	needSummary vmLookup = iota
	// idSuffices takes a well-formed vm_id as it is, without a request: the
	// caller's next request reports a VM that does not exist. Only the id of
	// the returned summary is set then.
	idSuffices
)

// resolveVM connects to the vCenter and resolves the VM named by a (exactly
// one of vm_id and vm_name), noting the target for the audit line. A name
// matching several VMs is an error listing them, never the first match.
func resolveVM(ctx context.Context, d Deps, a vmArgs, need vmLookup) (VCenter, vcenter.VMSummary, error) {
	ref, err := a.ref()
	if err != nil {
		return nil, vcenter.VMSummary{}, err
	}
	vc, err := connect(ctx, d, a.Hostname)
	if err != nil {
		return nil, vcenter.VMSummary{}, err
	}
	if need == idSuffices && ref.ID != "" {
		if err := vcenter.ValidateID(vcenter.KindVM, ref.ID); err != nil {
			return nil, vcenter.VMSummary{}, &argError{err.Error()}
		}
		audit.NoteTarget(ctx, ref.ID, "")
		return vc, vcenter.VMSummary{ID: ref.ID}, nil
	}
	vm, err := vc.FindVM(ctx, ref)
	if err != nil {
		return nil, vcenter.VMSummary{}, explain(err)
	}
	audit.NoteTarget(ctx, vm.ID, vm.Name)
	return vc, vm, nil
}

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
			missing = append(missing, quote(n))
		}
		ids = append(ids, found[n]...)
	}
	if len(missing) > maxProblems {
		// Bounded: the caller's own values are echoed, cut short, and not all.
		missing = append(missing[:maxProblems], fmt.Sprintf("and %d more", len(missing)-maxProblems))
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
