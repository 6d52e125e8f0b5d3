// VM tools read one VM's details and delete a VM.
// Inverse of delete_vm: none (restore from backup); it needs confirmation.

package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// vmAPI finds, reads, lists and deletes VMs.
type vmAPI interface {
	ListVMs(ctx context.Context, f vcenter.VMFilter) ([]vcenter.VMSummary, vcenter.ListStats, error)
	FindVM(ctx context.Context, ref vcenter.VMRef) (vcenter.VMSummary, error)
	GetVMWithTags(ctx context.Context, vm string) (vcenter.VMDetails, error)
	DeleteVM(ctx context.Context, vm string) error
}

// --- get_vm_details ---

type getVMDetailsIn struct {
	vmArgs
}

type vmDetailsOut struct {
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	PowerState string       `json:"power_state"`
	GuestOS    string       `json:"guest_os"`
	CPU        cpuOut       `json:"cpu"`
	Memory     memOut       `json:"memory"`
	Disks      []diskOut    `json:"disks"`
	NICs       []nicOut     `json:"nics"`
	Guest      guestOut     `json:"guest"`
	Placement  placementOut `json:"placement"`
	Tags       []string     `json:"tags"` // "Category:Name"
}

type cpuOut struct {
	Count          int  `json:"count"`
	CoresPerSocket int  `json:"cores_per_socket"`
	HotAdd         bool `json:"hot_add"`
	HotRemove      bool `json:"hot_remove"`
}

type memOut struct {
	MiB    int64 `json:"mib"`
	HotAdd bool  `json:"hot_add"`
}

type diskOut struct {
	Label       string  `json:"label"`
	CapacityGiB float64 `json:"capacity_gib"`
	Datastore   string  `json:"datastore,omitempty"`
}

type nicOut struct {
	Label   string `json:"label"`
	MAC     string `json:"mac,omitempty"`
	Network string `json:"network,omitempty"` // network name, or id when the name is unknown
	State   string `json:"state,omitempty"`
}

type guestOut struct {
	ToolsRunning bool   `json:"tools_running"`
	OS           string `json:"os,omitempty"`
	HostName     string `json:"hostname,omitempty"`
	IP           string `json:"ip,omitempty"`
}

type placementOut struct {
	Host       string   `json:"host,omitempty"`
	HostID     string   `json:"host_id,omitempty"`
	Cluster    string   `json:"cluster,omitempty"`
	ClusterID  string   `json:"cluster_id,omitempty"`
	Folder     string   `json:"folder,omitempty"`
	FolderID   string   `json:"folder_id,omitempty"`
	Datastores []string `json:"datastores"`
	Note       string   `json:"note,omitempty"`
}

func getVMDetails(d Deps) Tool {
	return spec[getVMDetailsIn, vmDetailsOut]{
		Name: "get_vm_details", Title: "Get VM details",
		Description: "One VM's power, guest OS and IP, CPU/memory and hot-add flags, disks, NICs, placement and tags.",
		Toolset:     ToolsetInventory, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "`GET /api/vcenter/vm/{vm}`, `…/guest/identity`; VI/JSON `VirtualMachine.runtime`, `.parent`, `HostSystem.parent`; tagging `list-attached-tags`, `GET …/tag/{id}`",
			On: "the VM, its host, cluster, folder"},
		Example: `{"vm_name": "web-01"}`,
		Handle: func(ctx context.Context, _ *mcp.CallToolRequest, in getVMDetailsIn) (*mcp.CallToolResult, vmDetailsOut, error) {
			vc, vm, err := resolveVM(ctx, d, in.vmArgs, idSuffices)
			if err != nil {
				return nil, vmDetailsOut{}, err
			}
			// The tags come from another service, read alongside the
			// optional reads once the VM is known to exist.
			v, err := vc.GetVMWithTags(ctx, vm.ID)
			if err != nil {
				return nil, vmDetailsOut{}, explain(err)
			}
			audit.NoteTarget(ctx, v.ID, v.Name)
			out := detailsOf(v)
			out.Tags = tagLabels(v.Tags)
			if v.TagsErr != nil {
				out.Placement.Note = strings.TrimPrefix(out.Placement.Note+"; ", "; ") + "tags could not be read: " + truncate(v.TagsErr.Error(), 200)
			}
			return nil, out, nil
		},
	}.tool()
}

func detailsOf(v vcenter.VMDetails) vmDetailsOut {
	out := vmDetailsOut{
		ID: v.ID, Name: v.Name, PowerState: string(v.PowerState), GuestOS: v.GuestOS,
		CPU:    cpuOut{v.CPU.Count, v.CPU.CoresPerSocket, v.CPU.HotAddEnabled, v.CPU.HotRemoveEnabled},
		Memory: memOut{v.Memory.SizeMiB, v.Memory.HotAddEnabled},
		Disks:  make([]diskOut, 0, len(v.Disks)),
		NICs:   make([]nicOut, 0, len(v.NICs)),
		Placement: placementOut{
			Host: v.Placement.HostName, HostID: v.Placement.HostID,
			Cluster: v.Placement.ClusterName, ClusterID: v.Placement.ClusterID,
			Folder: v.Placement.FolderName, FolderID: v.Placement.FolderID,
			Datastores: v.Placement.Datastores, Note: v.Placement.Note,
		},
	}
	if out.Placement.Datastores == nil {
		out.Placement.Datastores = []string{}
	}
	for _, dk := range v.Disks {
		out.Disks = append(out.Disks, diskOut{Label: dk.Label, CapacityGiB: gib(dk.CapacityBytes), Datastore: dk.Datastore})
	}
	for _, n := range v.NICs {
		net := n.NetworkName
		if net == "" {
			net = n.NetworkID
		}
		out.NICs = append(out.NICs, nicOut{Label: n.Label, MAC: n.MACAddress, Network: net, State: n.State})
	}
	if v.Guest != nil {
		out.Guest = guestOut{ToolsRunning: true, OS: v.Guest.FullName, HostName: v.Guest.HostName, IP: v.Guest.IPAddress}
	}
	return out
}

// --- delete_vm ---

type deleteVMIn struct {
	vmArgs
	confirmArgs
}

type deleteVMResult struct {
	VM vmRef `json:"vm"`
}

func deleteVM(d Deps) Tool {
	return spec[deleteVMIn, confirmOut[deleteVMResult]]{
		Name: "delete_vm", Title: "Delete VM",
		Description: "Delete a powered-off VM and its disks. Needs confirmation. Inverse: none.",
		Toolset:     ToolsetLifecycle, Level: policy.LevelAdmin, Kind: KindDestructive, Idempotent: true, Confirm: true,
		Privileges: Privileges{Calls: "`DELETE /api/vcenter/vm/{vm}`", Needs: "`VirtualMachine.Inventory.Delete`", On: "the VM **and its parent folder**"},
		Example:    `{"vm_name": "backup-01"}`,
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in deleteVMIn) (*mcp.CallToolResult, confirmOut[deleteVMResult], error) {
			vc, vm, err := resolveVM(ctx, d, in.vmArgs, needSummary)
			if err != nil {
				return nil, confirmOut[deleteVMResult]{}, err
			}
			what := label(vm.Name, vm.ID)
			if vm.PowerState == vcenter.PoweredOn {
				return nil, confirmOut[deleteVMResult]{}, fmt.Errorf("%s is powered on, and vCenter deletes only VMs that are off. Next: stop it with shutdown_vm_guest (clean) or power_off_vm (hard), then call delete_vm again", what)
			}
			pv := preview{
				Target: previewTarget{ID: vm.ID, Name: vm.Name, State: string(vm.PowerState)},
				Change: fmt.Sprintf("delete VM %s with all its disks (%d vCPU, %d MiB); this cannot be undone", what, vm.CPUCount, vm.MemoryMiB),
			}
			return confirmOrPreview(ctx, d, req, in.Confirm, pv, func() (deleteVMResult, string, error) {
				if err := vc.DeleteVM(ctx, vm.ID); err != nil {
					next := ""
					if errors.Is(err, vcenter.ErrNotAllowedInCurrentState) {
						next = "the VM must be powered off: check with get_vm_details, stop it with shutdown_vm_guest or power_off_vm, then call again"
					}
					return deleteVMResult{}, "", fail("delete "+what, err, next)
				}
				return deleteVMResult{VM: vmRef{vm.ID, vm.Name}}, "deleted " + what, nil
			})
		},
	}.tool()
}
