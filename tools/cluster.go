// Cluster tools migrate VMs (vMotion, Storage vMotion, or both) and put
// hosts into maintenance mode and out of it (vcenter-api-changes.md §5,
// §6). All three disrupt running work, so they preview and need
// confirmation; a migration is checked with CheckRelocate_Task first, and
// entering maintenance mode is refused when powered-on VMs would stay on
// the host (vCenter's task would wait for them forever or time out).
// Inverses: migrate_vm with the old placement; enter_maintenance_mode ↔
// exit_maintenance_mode.

package tools

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// clusterAPI migrates VMs and changes hosts' maintenance mode.
type clusterAPI interface {
	Relocate(ctx context.Context, vm string, p vcenter.PlacementSpec) (string, error)
	CheckRelocate(ctx context.Context, vm string, p vcenter.PlacementSpec) ([]vcenter.CheckResult, error)
	ClusterDRS(ctx context.Context, cluster string) (vcenter.DRSConfig, error)
	EnterMaintenanceMode(ctx context.Context, host string, timeoutSeconds int, evacuatePoweredOff bool) (string, error)
	ExitMaintenanceMode(ctx context.Context, host string, timeoutSeconds int) (string, error)
}

// --- migrate_vm ---

type migrateVMIn struct {
	vmArgs
	Host         string `json:"host,omitempty"`
	Cluster      string `json:"cluster,omitempty"`
	ResourcePool string `json:"resource_pool,omitempty"`
	Datastore    string `json:"datastore,omitempty"`
	confirmArgs
}

type migrateVMOut struct {
	VM         vmRef    `json:"vm"`
	Host       vmRef    `json:"host"`
	Datastores []string `json:"datastores"`
	TaskID     string   `json:"task_id"`
}

// hostName names a host id for a sentence, its name looked up.
func hostName(ctx context.Context, vc VCenter, id string) string {
	if id == "" {
		return "an unknown host"
	}
	if o, err := findObject(ctx, vc, vcenter.KindHost, id, ""); err == nil {
		return o.label()
	}
	return id
}

func datastoreNames(ctx context.Context, vc VCenter, ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if o, err := findObject(ctx, vc, vcenter.KindDatastore, id, ""); err == nil {
			out = append(out, o.Name)
		} else {
			out = append(out, id)
		}
	}
	return out
}

func migrateVM(d Deps) Tool {
	return spec[migrateVMIn, confirmOut[migrateVMOut]]{
		Name: "migrate_vm", Title: "Migrate VM",
		Description: "Move a VM to a host, cluster or pool (vMotion) and/or its disks to a datastore (Storage vMotion), after vCenter's compatibility check. Needs confirmation. Inverse: migrate_vm back.",
		Toolset:     ToolsetCluster, Level: policy.LevelAdmin, Kind: KindWrite, Idempotent: true, Confirm: true,
		Privileges: Privileges{Calls: "VI/JSON `CheckRelocate_Task`, then `POST /api/vcenter/vm/{vm}?action=relocate&vmw-task=true` and the task",
			Needs: "`Resource.ColdMigrate`, `Resource.HotMigrate` (powered on), `Resource.AssignVMToPool` on a new pool, `Datastore.AllocateSpace` on a new datastore, `Resource.QueryVMotion`",
			On:    "the VM; the destination host, pool and datastore"},
		Example: `{"vm_name": "web-02", "host": "esx-ldn-03.corp.local"}`,
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in migrateVMIn) (*mcp.CallToolResult, confirmOut[migrateVMOut], error) {
			var zero confirmOut[migrateVMOut]
			dest := placementArgs{Host: in.Host, Cluster: in.Cluster, ResourcePool: in.ResourcePool, Datastore: in.Datastore}
			if dest.empty() {
				return nil, zero, argErrorf("give host, cluster or resource_pool (vMotion), and/or datastore (Storage vMotion)")
			}
			vc, vm, err := resolveVM(ctx, d, in.vmArgs, needSummary)
			if err != nil {
				return nil, zero, err
			}
			st, err := vc.VMStatus(ctx, vm.ID)
			if err != nil {
				return nil, zero, fail("read where "+label(vm.Name, vm.ID)+" runs", err, "")
			}
			dsIDs, _ := vc.VMDatastores(ctx, vm.ID)
			dc, err := vmDatacenter(ctx, vc, vm.ID)
			if err != nil {
				return nil, zero, err
			}
			cur := ""
			if st.HostID != "" {
				cur, _ = vc.HostCluster(ctx, st.HostID)
			}
			p, err := resolvePlacement(ctx, vc, dest, dc, cur)
			if err != nil {
				return nil, zero, err
			}
			moveHost := p.Host != nil && p.Host.ID != st.HostID || p.Host == nil && (p.Cluster != nil || p.Pool != nil)
			moveDisks := p.Datastore != nil && (len(dsIDs) != 1 || dsIDs[0] != p.Datastore.ID)
			if !moveHost && !moveDisks && p.Pool == nil {
				return nil, confirmOut[migrateVMOut]{Status: statusDone, Summary: label(vm.Name, vm.ID) + " is there already; nothing changed",
					Result: &migrateVMOut{VM: vmRef{vm.ID, vm.Name}, Host: vmRef{st.HostID, ""}, Datastores: datastoreNames(ctx, vc, dsIDs)}}, nil
			}
			results, err := vc.CheckRelocate(ctx, vm.ID, p.spec())
			var items []string
			checked := "vCenter's compatibility check found no problem"
			switch {
			case errors.Is(err, vcenter.ErrNoVIJSON):
				checked = "no compatibility check: this vCenter has no VI/JSON"
			case errors.Is(err, vcenter.ErrInvalidArgument) || errors.Is(err, vcenter.ErrUnsupported):
				// vCenter refused the destination itself (a folder of
				// another datacenter, a template).
				return nil, zero, fmt.Errorf("%s cannot move there: vCenter's check refused it: %w. Next: choose another host, cluster or datastore (list_hosts, list_datastores)", label(vm.Name, vm.ID), err)
			case err != nil:
				return nil, zero, fail("check the migration of "+label(vm.Name, vm.ID), err, "")
			default:
				var ok []string
				for _, r := range results {
					if len(r.Errors) == 0 {
						ok = append(ok, r.HostID)
						continue
					}
					items = append(items, fmt.Sprintf("%s: %s", cmpOr(r.HostID, "destination"), strings.Join(r.Errors, "; ")))
				}
				if len(ok) == 0 {
					return nil, zero, fmt.Errorf("%s cannot move there: %s. Next: choose another host, cluster or datastore (list_hosts, list_datastores)",
						label(vm.Name, vm.ID), strings.Join(items, "; "))
				}
				if len(results) > 1 {
					checked = fmt.Sprintf("vCenter's check passed on %s (DRS chooses among them)", strings.Join(ok, ", "))
				}
				for _, r := range results {
					for _, w := range r.Warnings {
						items = append(items, "warning on "+r.HostID+": "+w)
					}
				}
			}
			kind := []string{}
			if moveHost || p.Pool != nil {
				kind = append(kind, map[bool]string{true: "vMotion", false: "cold migration"}[vm.PowerState == vcenter.PoweredOn])
			}
			if moveDisks {
				kind = append(kind, "Storage vMotion")
			}
			curDS := datastoreNames(ctx, vc, dsIDs)
			pv := preview{
				Target: previewTarget{ID: vm.ID, Name: vm.Name, State: fmt.Sprintf("%s on %s, datastores %s", vm.PowerState, hostName(ctx, vc, st.HostID), strings.Join(curDS, ", "))},
				Change: fmt.Sprintf("%s of %s to %s; %s", strings.Join(kind, " and "), label(vm.Name, vm.ID), p.describe(""), checked),
				Items:  items,
			}
			return confirmOrPreview(ctx, d, req, in.Confirm, pv, func() (migrateVMOut, string, error) {
				what := "migrate " + label(vm.Name, vm.ID)
				task, err := vc.Relocate(ctx, vm.ID, p.spec())
				if err != nil {
					return migrateVMOut{}, "", fail(what, err, migrateNext(err))
				}
				if _, err := waitTask(ctx, d, req, vc, task); err != nil {
					return migrateVMOut{}, "", fail(what, err, migrateNext(err))
				}
				out := migrateVMOut{VM: vmRef{vm.ID, vm.Name}, TaskID: task, Datastores: curDS}
				if after, err := vc.VMStatus(ctx, vm.ID); err == nil {
					out.Host = vmRef{after.HostID, ""}
				}
				if ids, err := vc.VMDatastores(ctx, vm.ID); err == nil {
					out.Datastores = datastoreNames(ctx, vc, ids)
				}
				return out, fmt.Sprintf("%s migrated: now on %s, datastores %s", label(vm.Name, vm.ID), hostName(ctx, vc, out.Host.ID), strings.Join(out.Datastores, ", ")), nil
			})
		},
	}.tool()
}

func migrateNext(err error) string {
	var nf *taskNotFollowedError
	switch {
	case errors.As(err, &nf) || maybeApplied(err):
		return "check with get_vm_details where the VM is before trying again"
	case errors.Is(err, vcenter.ErrResourceBusy):
		return "another task runs on the VM: wait for it (list_tasks), then try again"
	case errors.Is(err, vcenter.ErrUnableToAllocate):
		return "the destination lacks space or capacity: choose another datastore or host"
	}
	return ""
}

// --- enter_maintenance_mode / exit_maintenance_mode ---

type maintenanceIn struct {
	hostArgs
	HostID   string `json:"host_id,omitempty"`
	HostName string `json:"host_name,omitempty"`
}

type enterMaintenanceModeIn struct {
	maintenanceIn
	EvacuatePoweredOff bool `json:"evacuate_powered_off,omitempty" jsonschema:"move powered-off VMs too"`
	TimeoutMinutes     int  `json:"timeout_minutes,omitempty" jsonschema:"0: no limit"`
	confirmArgs
}

type exitMaintenanceModeIn struct {
	maintenanceIn
	confirmArgs
}

type maintenanceOut struct {
	Host          vmRef    `json:"host"`
	InMaintenance bool     `json:"in_maintenance"`
	Moved         []string `json:"moved"`     // VMs that left the host
	Remaining     []string `json:"remaining"` // VMs still on it
	TaskID        string   `json:"task_id,omitempty"`
}

// vmPlan is what entering maintenance mode does to one VM.
type vmPlan struct {
	vm    vcenter.VMSummary
	what  string
	stays bool // keeps the task waiting
}

// planEvacuation works out, from the cluster's DRS settings, the other
// hosts and vCenter's check of each VM DRS would move, what happens to
// every VM on host (contract §6.2, §6.3).
func planEvacuation(ctx context.Context, vc VCenter, host vcenter.EntityRef, vms []vcenter.VMSummary, evacuateOff bool) ([]vmPlan, string, error) {
	cluster, err := vc.HostCluster(ctx, host.ID)
	if err != nil {
		return nil, "", fail("find the cluster of "+label(host.Name, host.ID), err, "")
	}
	var drs vcenter.DRSConfig
	setting := "a standalone host: nothing moves VMs away"
	others := 0
	if cluster != "" {
		if drs, err = vc.ClusterDRS(ctx, cluster); err != nil {
			return nil, "", fail("read the DRS settings of "+cluster, err, "")
		}
		setting = "cluster " + cluster + ": DRS off"
		if drs.Enabled {
			setting = fmt.Sprintf("cluster %s: DRS %s", cluster, drs.Behavior)
		}
		hosts, _, err := vc.ListHosts(ctx, vcenter.HostFilter{Clusters: []string{cluster}, ConnectionStates: []string{"CONNECTED"}})
		if err != nil {
			return nil, "", explain(err)
		}
		for _, h := range hosts {
			if h.ID == host.ID {
				continue
			}
			if st, err := vc.HostStatus(ctx, h.ID); err == nil && !st.Maintenance {
				others++
			}
		}
		setting += fmt.Sprintf(", %d other usable host(s)", others)
	}
	plans := make([]vmPlan, len(vms))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, v := range vms {
		plans[i].vm = v
		on := v.PowerState == vcenter.PoweredOn
		switch {
		case !on && !evacuateOff:
			plans[i].what = "stays registered on the host (powered off VMs may)"
		case !on && drs.Enabled && others > 0:
			plans[i].what = "vCenter registers it on another host"
		case !on:
			plans[i].what, plans[i].stays = "stays: without DRS vCenter waits until it is registered elsewhere by hand", true
		case cluster == "" || !drs.Enabled:
			plans[i].what, plans[i].stays = "stays powered on: DRS is off, so vCenter waits until it is moved or powered off", true
		case others == 0:
			plans[i].what, plans[i].stays = "stays: no other usable host in the cluster", true
		case cmpOr(drs.Overrides[v.ID], drs.Behavior) != "fullyAutomated":
			plans[i].what, plans[i].stays = fmt.Sprintf("stays: its DRS level is %s, so DRS only recommends a move", cmpOr(drs.Overrides[v.ID], drs.Behavior)), true
		default:
			plans[i].what = "DRS vMotions it to another host"
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				pool, err := vc.RootPool(ctx, cluster, "")
				if err != nil {
					return
				}
				res, err := vc.CheckRelocate(ctx, v.ID, vcenter.PlacementSpec{ResourcePool: pool})
				if err != nil {
					return // no check possible: DRS decides
				}
				var why []string
				for _, r := range res {
					if r.HostID == host.ID {
						continue
					}
					if len(r.Errors) == 0 {
						return
					}
					why = append(why, r.Errors[0])
				}
				plans[i].what, plans[i].stays = "stays: no other host can run it ("+strings.Join(why, "; ")+")", true
			})
		}
	}
	wg.Wait()
	return plans, setting, nil
}

func enterMaintenanceMode(d Deps) Tool {
	return spec[enterMaintenanceModeIn, confirmOut[maintenanceOut]]{
		Name: "enter_maintenance_mode", Title: "Enter host maintenance mode",
		Description: "Put a host into maintenance mode; the preview says what happens to each VM given DRS, and it is refused if powered-on VMs would stay. Needs confirmation. Inverse: exit_maintenance_mode.",
		Toolset:     ToolsetCluster, Level: policy.LevelAdmin, Kind: KindWrite, Idempotent: true, Confirm: true,
		Privileges: Privileges{Calls: "VI/JSON `HostSystem.summary`, `.parent`, `ClusterComputeResource.configurationEx`, `CheckRelocate_Task`, `EnterMaintenanceMode_Task` and the task (`CancelTask` if cancelled)",
			Needs: "`Host.Config.Maintenance`; DRS's vMotions run as vCenter", On: "the host"},
		Example: `{"host_name": "esx-ldn-02.corp.local"}`,
		Schema:  func(in, _ *schema) { in.between("timeout_minutes", 0, 1440) },
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in enterMaintenanceModeIn) (*mcp.CallToolResult, confirmOut[maintenanceOut], error) {
			var zero confirmOut[maintenanceOut]
			vc, h, err := resolveHost(ctx, d, in.hostArgs, in.HostID, in.HostName)
			if err != nil {
				return nil, zero, err
			}
			st, err := vc.HostStatus(ctx, h.ID)
			if err != nil {
				return nil, zero, fail("read host "+h.ID, err, vijsonNext(err))
			}
			h.Name = cmpOr(st.Name, h.Name)
			audit.NoteTarget(ctx, h.ID, h.Name)
			host := vmRef{h.ID, h.Name}
			if st.Maintenance {
				return nil, confirmOut[maintenanceOut]{Status: statusDone, Summary: label(h.Name, h.ID) + " is in maintenance mode already; nothing changed",
					Result: &maintenanceOut{Host: host, InMaintenance: true, Moved: []string{}, Remaining: []string{}}}, nil
			}
			if st.ConnectionState != "connected" {
				return nil, zero, argErrorf("host %s is %s: vCenter cannot put it into maintenance mode", label(h.Name, h.ID), st.ConnectionState)
			}
			vms, _, err := vc.ListVMs(ctx, vcenter.VMFilter{Hosts: []string{h.ID}})
			if err != nil {
				return nil, zero, explain(err)
			}
			plans, setting, err := planEvacuation(ctx, vc, h, vms, in.EvacuatePoweredOff)
			if err != nil {
				return nil, zero, err
			}
			var items, blockers []string
			for _, p := range plans {
				line := fmt.Sprintf("%s, %s: %s", label(p.vm.Name, p.vm.ID), p.vm.PowerState, p.what)
				items = append(items, line)
				if p.stays {
					blockers = append(blockers, line)
				}
			}
			if len(blockers) > 0 {
				if len(blockers) > maxProblems {
					blockers = append(blockers[:maxProblems], fmt.Sprintf("and %d more", len(blockers)-maxProblems))
				}
				return nil, zero, fmt.Errorf("%s would not enter maintenance mode on its own (%s): %s. Next: migrate_vm those VMs to another host or power them off, then call again",
					label(h.Name, h.ID), setting, strings.Join(blockers, "; "))
			}
			timeout := "no time limit"
			if in.TimeoutMinutes > 0 {
				timeout = fmt.Sprintf("a limit of %d minute(s), after which vCenter gives up", in.TimeoutMinutes)
			}
			pv := preview{
				Target: previewTarget{ID: h.ID, Name: h.Name, State: fmt.Sprintf("connected, not in maintenance mode, %d VM(s); %s", len(vms), setting)},
				Change: fmt.Sprintf("put %s into maintenance mode (%s): it runs no VM until exit_maintenance_mode", label(h.Name, h.ID), timeout),
				Items:  items,
			}
			return confirmOrPreview(ctx, d, req, in.Confirm, pv, func() (maintenanceOut, string, error) {
				what := "put " + label(h.Name, h.ID) + " into maintenance mode"
				task, err := vc.EnterMaintenanceMode(ctx, h.ID, in.TimeoutMinutes*60, in.EvacuatePoweredOff)
				if err != nil {
					return maintenanceOut{}, "", fail(what, err, vijsonNext(err))
				}
				_, werr := waitTask(ctx, d, req, vc, task)
				out := maintenanceOut{Host: host, TaskID: task, Moved: []string{}, Remaining: []string{}}
				if after, _, err := vc.ListVMs(ctx, vcenter.VMFilter{Hosts: []string{h.ID}}); err == nil {
					for _, v := range vms {
						if slices.ContainsFunc(after, func(a vcenter.VMSummary) bool { return a.ID == v.ID }) {
							out.Remaining = append(out.Remaining, label(v.Name, v.ID))
						} else {
							out.Moved = append(out.Moved, label(v.Name, v.ID))
						}
					}
				}
				if werr != nil {
					return maintenanceOut{}, "", fail(fmt.Sprintf("%s (moved so far: %s; still on the host: %s)", what, listOrNone(out.Moved), listOrNone(out.Remaining)), werr,
						"the host is not in maintenance mode: migrate_vm what stays, then try again")
				}
				out.InMaintenance = true
				return out, fmt.Sprintf("%s is in maintenance mode; moved: %s", label(h.Name, h.ID), listOrNone(out.Moved)), nil
			})
		},
	}.tool()
}

func exitMaintenanceMode(d Deps) Tool {
	return spec[exitMaintenanceModeIn, confirmOut[maintenanceOut]]{
		Name: "exit_maintenance_mode", Title: "Exit host maintenance mode",
		Description: "Take a host out of maintenance mode so that it runs VMs again (DRS may then move VMs onto it). Needs confirmation. Inverse: enter_maintenance_mode.",
		Toolset:     ToolsetCluster, Level: policy.LevelAdmin, Kind: KindWrite, Idempotent: true, Confirm: true,
		Privileges: Privileges{Calls: "VI/JSON `HostSystem.summary`, `ExitMaintenanceMode_Task` and the task", Needs: "`Host.Config.Maintenance`", On: "the host"},
		Example:    `{"host_name": "esx-ldn-06.corp.local"}`,
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in exitMaintenanceModeIn) (*mcp.CallToolResult, confirmOut[maintenanceOut], error) {
			var zero confirmOut[maintenanceOut]
			vc, h, err := resolveHost(ctx, d, in.hostArgs, in.HostID, in.HostName)
			if err != nil {
				return nil, zero, err
			}
			st, err := vc.HostStatus(ctx, h.ID)
			if err != nil {
				return nil, zero, fail("read host "+h.ID, err, vijsonNext(err))
			}
			h.Name = cmpOr(st.Name, h.Name)
			audit.NoteTarget(ctx, h.ID, h.Name)
			out := maintenanceOut{Host: vmRef{h.ID, h.Name}, Moved: []string{}, Remaining: []string{}}
			if !st.Maintenance {
				return nil, confirmOut[maintenanceOut]{Status: statusDone, Summary: label(h.Name, h.ID) + " is not in maintenance mode; nothing changed", Result: &out}, nil
			}
			if st.ConnectionState != "connected" {
				return nil, zero, argErrorf("host %s is %s: vCenter cannot take it out of maintenance mode", label(h.Name, h.ID), st.ConnectionState)
			}
			pv := preview{
				Target: previewTarget{ID: h.ID, Name: h.Name, State: "connected, in maintenance mode"},
				Change: fmt.Sprintf("take %s out of maintenance mode: VMs may run on it again, and a fully automated DRS may move VMs onto it", label(h.Name, h.ID)),
			}
			return confirmOrPreview(ctx, d, req, in.Confirm, pv, func() (maintenanceOut, string, error) {
				what := "take " + label(h.Name, h.ID) + " out of maintenance mode"
				task, err := vc.ExitMaintenanceMode(ctx, h.ID, 0)
				if err != nil {
					return maintenanceOut{}, "", fail(what, err, vijsonNext(err))
				}
				out.TaskID = task
				if _, err := waitTask(ctx, d, req, vc, task); err != nil {
					return maintenanceOut{}, "", fail(what, err, "")
				}
				return out, label(h.Name, h.ID) + " is out of maintenance mode", nil
			})
		},
	}.tool()
}

func vijsonNext(err error) string {
	if errors.Is(err, vcenter.ErrNoVIJSON) {
		return "maintenance mode needs vCenter 8.0 U1 or later (VI/JSON)"
	}
	return ""
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}
