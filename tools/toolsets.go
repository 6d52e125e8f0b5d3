package tools

import "github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"

// Toolset groups tools that are enabled together (VSPHERE_TOOLSETS,
// --toolsets). A tool is listed and callable only when its toolset (or the
// tool itself, VSPHERE_TOOLS) is enabled, its role allows it and, under
// read-only mode, it is read-only; policy decides all three.
type Toolset string

// The toolsets. Later issues add provisioning, devices and cluster.
const (
	ToolsetAccess        Toolset = "access"        // whoami: always on
	ToolsetInventory     Toolset = "inventory"     // lists, details and summaries
	ToolsetPower         Toolset = "power"         // power and guest power
	ToolsetSnapshots     Toolset = "snapshots"     // VM snapshots
	ToolsetLifecycle     Toolset = "lifecycle"     // delete and resize VMs
	ToolsetObservability Toolset = "observability" // performance, events, alarms, tasks, triage
	ToolsetTags          Toolset = "tags"          // tag categories and tags
)

// ToolsetInfo describes a toolset for the docs, whoami and the server
// instructions.
type ToolsetInfo struct {
	Name    Toolset
	Summary string // one line for the docs
	// Guide tells the model which of the set's tools answers which question;
	// the server instructions carry it when the set is enabled.
	Guide   string
	Default bool // enabled when VSPHERE_TOOLSETS is not set (or says "default")
	Always  bool // enabled whatever VSPHERE_TOOLSETS says
}

// toolsets lists every toolset in documentation order.
var toolsets = []ToolsetInfo{
	{Name: ToolsetInventory, Default: true, Summary: "list and inspect VMs, hosts, clusters, datastores, networks, folders; capacity summaries",
		Guide: "Find things with list_vms (filters by name, power state, host, cluster, datacenter, folder, pool) and the other list_ tools; get_vm_details for one VM; get_datastore_usage and get_resource_utilization_summary for capacity."},
	{Name: ToolsetPower, Default: true, Summary: "power on, off, reset, suspend; clean guest shutdown and reboot",
		Guide: "Prefer shutdown_vm_guest and reboot_vm_guest (clean, need VMware Tools) to power_off_vm and restart_vm (hard)."},
	{Name: ToolsetSnapshots, Default: true, Summary: "list, take, revert to and delete VM snapshots",
		Guide: "Take a snapshot with create_vm_snapshot before a risky change; list_vm_snapshots shows ids for revert_vm_snapshot and delete_vm_snapshot."},
	{Name: ToolsetLifecycle, Default: true, Summary: "resize (CPU, memory) and delete VMs",
		Guide: "modify_vm_resources checks hot-add rules and says when the VM must be off; delete_vm needs the VM off."},
	{Name: ToolsetObservability, Summary: "triage a VM; performance, events, alarms (acknowledge), tasks",
		Guide: "For \"what is wrong with X\" or \"why did X reboot\" call investigate_vm first; then get_vm_performance or get_host_performance, list_events, list_alarms, list_tasks or get_task for detail."},
	{Name: ToolsetTags, Summary: "tag categories and tags",
		Guide: "list_tags shows categories and tags; list_vms takes tags (names or ids, all must match)."},
	{Name: ToolsetAccess, Always: true, Summary: "whoami: this session's role, tools and vCenter",
		Guide: "whoami says what this session may do."},
}

// Toolsets returns every toolset in documentation order.
func Toolsets() []ToolsetInfo { return append([]ToolsetInfo(nil), toolsets...) }

// ToolsetOptions fills in what policy needs to know of the toolsets: which
// are the default and which are always on. The caller sets the selection.
func ToolsetOptions(o policy.Options) policy.Options {
	o.DefaultToolsets, o.AlwaysToolsets = nil, nil
	for _, ts := range toolsets {
		if ts.Default {
			o.DefaultToolsets = append(o.DefaultToolsets, string(ts.Name))
		}
		if ts.Always {
			o.AlwaysToolsets = append(o.AlwaysToolsets, string(ts.Name))
		}
	}
	return o
}
