package tools

import (
	"maps"
	"strings"
	"testing"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// Each tool, in both dialects, against the simulator: the assertions read
// the simulator's state, not the tool's echo.

func TestListVMsTool(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode))
		var p page[vmItem]
		s.ok("list_vms", map[string]any{"clusters": []string{"Prod-Cluster"}, "power_states": []string{"POWERED_OFF"}}, &p)
		want := map[string]bool{}
		for _, vm := range s.sim.VMs() {
			if vm.Cluster == "domain-c11" && vm.PowerState == vcentersim.PoweredOff {
				want[vm.ID] = true
			}
		}
		if p.Total != len(want) || p.Returned != len(want) || len(want) == 0 {
			t.Fatalf("total %d returned %d, want %d", p.Total, p.Returned, len(want))
		}
		for _, it := range p.Items {
			if !want[it.ID] || it.PowerState != "POWERED_OFF" {
				t.Errorf("unexpected item %+v", it)
			}
		}

		// Paging: 36 VMs by 10 yields every VM once, in order.
		seen := map[string]bool{}
		cursor, pages := "", 0
		for {
			args := map[string]any{"limit": 10}
			if cursor != "" {
				args["cursor"] = cursor
			}
			var pg page[vmItem]
			s.ok("list_vms", args, &pg)
			pages++
			for _, it := range pg.Items {
				if seen[it.ID] {
					t.Fatalf("%s on two pages", it.ID)
				}
				seen[it.ID] = true
			}
			if pg.NextCursor == "" {
				break
			}
			cursor = pg.NextCursor
		}
		if len(seen) != len(s.sim.VMs()) || pages != 4 {
			t.Errorf("paged through %d VMs in %d pages, want %d in 4", len(seen), pages, len(s.sim.VMs()))
		}

		if msg := s.fails("list_vms", map[string]any{"clusters": []string{"No-Such-Cluster"}}); !strings.Contains(msg, "list_clusters") {
			t.Errorf("unknown cluster: %q, want a pointer to list_clusters", msg)
		}
		if msg := s.fails("list_vms", map[string]any{"limit": 5, "cursor": cursor, "names": []string{"web-01"}}); !strings.Contains(msg, "other filters") {
			t.Errorf("cursor of another listing: %q", msg)
		}
	})
}

func TestGetVMDetailsTool(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode))
		var out vmDetailsOut
		s.ok("get_vm_details", map[string]any{"vm_name": "db-01"}, &out)
		vm := s.vm("vm-76")
		if out.ID != vm.ID || out.CPU.Count != vm.CPUCount || out.Memory.MiB != int64(vm.MemoryMiB) || out.CPU.HotAdd != vm.CPUHotAdd {
			t.Errorf("details %+v do not match the simulator's %+v", out, vm)
		}
		if out.Placement.HostID != vm.Host || out.Placement.Cluster != "Prod-Cluster" || out.Placement.Folder != "Databases" || len(out.Placement.Datastores) == 0 {
			t.Errorf("placement = %+v", out.Placement)
		}
		if !out.Guest.ToolsRunning || out.Guest.IP == "" || len(out.Disks) != len(vm.Disks) || len(out.NICs) != len(vm.NICs) {
			t.Errorf("guest/disks/nics = %+v / %d / %d", out.Guest, len(out.Disks), len(out.NICs))
		}
		if a := s.lastAudit(); a["target"].(map[string]any)["id"] != "vm-76" {
			t.Errorf("audit target = %v", a["target"])
		}
		if msg := s.fails("get_vm_details", map[string]any{"vm_id": "vm-99999"}); !strings.Contains(msg, "list_vms") {
			t.Errorf("missing VM: %q", msg)
		}
	})
}

func TestInventoryTools(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode))
		var hosts page[hostItem]
		s.ok("list_hosts", map[string]any{"datacenters": []string{"DC-Frankfurt"}}, &hosts)
		if hosts.Total != 3 {
			t.Errorf("hosts in DC-Frankfurt = %d, want 3", hosts.Total)
		}
		var ds page[datastoreItem]
		s.ok("list_datastores", map[string]any{"types": []string{"VMFS"}}, &ds)
		for _, d := range ds.Items {
			if d.Type != "VMFS" || d.CapacityGiB <= 0 {
				t.Errorf("datastore %+v", d)
			}
		}
		var nets page[networkItem]
		s.ok("list_networks", map[string]any{"types": []string{"DISTRIBUTED_PORTGROUP"}, "datacenters": []string{"datacenter-2"}}, &nets)
		if nets.Total != 3 {
			t.Errorf("DC-London distributed portgroups = %d, want 3", nets.Total)
		}
		var dcs page[namedItem]
		s.ok("list_datacenters", nil, &dcs)
		if dcs.Total != 3 {
			t.Errorf("datacenters = %d", dcs.Total)
		}
		var cls page[clusterItem]
		s.ok("list_clusters", map[string]any{"datacenters": []string{"DC-London"}}, &cls)
		if cls.Total != 2 {
			t.Errorf("clusters in DC-London = %d, want 2", cls.Total)
		}
		var rps page[namedItem]
		s.ok("list_resource_pools", map[string]any{"clusters": []string{"Prod-Cluster"}}, &rps)
		if rps.Total != 3 {
			t.Errorf("pools of Prod-Cluster = %d, want 3", rps.Total)
		}
		var fos page[folderItem]
		s.ok("list_folders", map[string]any{"type": "VIRTUAL_MACHINE", "names": []string{"Production"}}, &fos)
		if fos.Total != 2 {
			t.Errorf("Production VM folders = %d, want 2 (one per datacenter)", fos.Total)
		}
		// A folder name held in two datacenters filters both.
		var prod page[vmItem]
		s.ok("list_vms", map[string]any{"folders": []string{"Production"}, "limit": 1000}, &prod)
		n := 0
		for _, vm := range s.sim.VMs() {
			if vm.Folder == "group-v7" || vm.Folder == "group-v41" {
				n++
			}
		}
		if prod.Total != n {
			t.Errorf("VMs in Production folders = %d, want %d", prod.Total, n)
		}
	})
}

func TestUsageAndSummaryTools(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode))
		var usage datastoreUsageOut
		s.ok("get_datastore_usage", map[string]any{"limit": 2}, &usage)
		if usage.Totals.Datastores != usage.Total || usage.Returned != 2 || usage.Totals.CapacityGiB <= 0 {
			t.Errorf("usage = %+v", usage)
		}
		if usage.Items[0].Name != "ldn-vmfs-02" || usage.Items[0].UsedPct < usage.Items[1].UsedPct {
			t.Errorf("fullest first: %+v", usage.Items)
		}
		var sum utilizationOut
		s.ok("get_resource_utilization_summary", nil, &sum)
		var on, off, susp int
		for _, vm := range s.sim.VMs() {
			switch vm.PowerState {
			case vcentersim.PoweredOn:
				on++
			case vcentersim.PoweredOff:
				off++
			default:
				susp++
			}
		}
		if sum.VMs != (vmCounts{on + off + susp, on, off, susp}) {
			t.Errorf("VM counts %+v, simulator has %d on %d off %d suspended", sum.VMs, on, off, susp)
		}
		if sum.Hosts.Total != 12 || sum.Hosts.NotResponding != 1 || sum.Hosts.Disconnected != 1 || len(sum.Clusters) != 4 {
			t.Errorf("hosts %+v, clusters %d", sum.Hosts, len(sum.Clusters))
		}
		var byCluster utilizationOut
		s.ok("get_resource_utilization_summary", map[string]any{"clusters": []string{"Prod-Cluster"}}, &byCluster)
		if len(byCluster.Clusters) != 1 || byCluster.Clusters[0].Hosts.Total != 3 || byCluster.VMs.Total != byCluster.Clusters[0].VMs.Total {
			t.Errorf("Prod-Cluster summary = %+v", byCluster)
		}
	})
}

// TestUtilizationSummaryRequests holds get_resource_utilization_summary to
// the vCenter requests it sent before issue 14 (fc63d42; the issue allows
// the same or fewer): for the simulator's four clusters and its standalone
// hosts, the cluster list, a VM and a host list per cluster and for the
// standalone hosts, and the datastore list; for one cluster by name, its
// look-up too. Every call costs the same: nothing here is cached.
func TestUtilizationSummaryRequests(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode))
		p := "/api/vcenter/"
		if mode == vcenter.ModeREST {
			p = "/rest/vcenter/"
		}
		all := map[string]int{"GET " + p + "cluster": 1, "GET " + p + "datastore": 1, "GET " + p + "host": 5, "GET " + p + "vm": 5}
		one := map[string]int{"GET " + p + "cluster": 2, "GET " + p + "datastore": 1, "GET " + p + "host": 1, "GET " + p + "vm": 1}
		s.ok("list_vms", nil, nil) // log in
		for i, tc := range []struct {
			args map[string]any
			want map[string]int
		}{{nil, all}, {nil, all}, {map[string]any{"clusters": []string{"Prod-Cluster"}}, one}, {map[string]any{"clusters": []string{"Prod-Cluster"}}, one}} {
			s.sim.ResetCounters()
			var out utilizationOut
			s.ok("get_resource_utilization_summary", tc.args, &out)
			if got := s.sim.Counters().Routes; !maps.Equal(got, tc.want) {
				t.Errorf("call %d (%v): requests %v, want %v", i, tc.args, got, tc.want)
			}
		}
	})
}

func TestPowerTools(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode))
		var out powerOut
		s.ok("power_on_vm", map[string]any{"vm_name": "web-04"}, &out)
		if !out.Changed || s.vm("vm-73").PowerState != vcentersim.PoweredOn {
			t.Fatalf("power_on_vm: %+v, simulator %s", out, s.vm("vm-73").PowerState)
		}
		s.ok("power_on_vm", map[string]any{"vm_id": "vm-73"}, &out)
		if out.Changed {
			t.Error("second power_on_vm reported a change")
		}
		s.ok("suspend_vm", map[string]any{"vm_id": "vm-73"}, &out)
		if s.vm("vm-73").PowerState != vcentersim.Suspended {
			t.Errorf("after suspend_vm: %s", s.vm("vm-73").PowerState)
		}
		s.ok("power_off_vm", map[string]any{"vm_id": "vm-73"}, &out)
		if s.vm("vm-73").PowerState != vcentersim.PoweredOff || out.After != "POWERED_OFF" {
			t.Errorf("after power_off_vm: %s", s.vm("vm-73").PowerState)
		}
		if msg := s.fails("restart_vm", map[string]any{"vm_id": "vm-73"}); !strings.Contains(msg, "power_on_vm") {
			t.Errorf("restart of an off VM: %q", msg)
		}
		before := s.sim.Counters().Routes
		s.ok("restart_vm", map[string]any{"vm_name": "web-02"}, &out)
		if after := s.sim.Counters().Routes; after["POST /"+string(mode)+"/vcenter/vm/{vm}/power"]+after["POST /rest/vcenter/vm/{vm}/power/reset"] <=
			before["POST /"+string(mode)+"/vcenter/vm/{vm}/power"]+before["POST /rest/vcenter/vm/{vm}/power/reset"] {
			t.Error("restart_vm sent no reset")
		}
		if msg := s.fails("suspend_vm", map[string]any{"vm_id": "vm-73"}); !strings.Contains(msg, "powered off") {
			t.Errorf("suspend an off VM: %q", msg)
		}
	})
}

func TestGuestPowerTools(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode))
		var out powerOut
		s.ok("shutdown_vm_guest", map[string]any{"vm_name": "web-02"}, &out)
		if s.vm("vm-71").PowerState != vcentersim.PoweredOff || !out.Changed {
			t.Errorf("after shutdown_vm_guest: %s (%+v)", s.vm("vm-71").PowerState, out)
		}
		s.ok("reboot_vm_guest", map[string]any{"vm_name": "web-03"}, &out)
		if s.vm("vm-72").PowerState != vcentersim.PoweredOn {
			t.Errorf("after reboot_vm_guest: %s", s.vm("vm-72").PowerState)
		}
		// lb-01 has no VMware Tools: say so and name the hard operation.
		msg := s.fails("shutdown_vm_guest", map[string]any{"vm_name": "lb-01"})
		if !strings.Contains(msg, "VMware Tools is not running") || !strings.Contains(msg, "power_off_vm") {
			t.Errorf("shutdown without Tools: %q", msg)
		}
		if s.vm("vm-79").PowerState != vcentersim.PoweredOn {
			t.Error("lb-01 changed state")
		}
		msg = s.fails("reboot_vm_guest", map[string]any{"vm_name": "legacy-app-01"})
		if !strings.Contains(msg, "restart_vm") {
			t.Errorf("reboot with Tools stopped: %q", msg)
		}
		if msg := s.fails("shutdown_vm_guest", map[string]any{"vm_name": "cache-01"}); !strings.Contains(msg, "suspended") {
			t.Errorf("shutdown of a suspended VM: %q", msg)
		}
	})
}

func TestAmbiguousAndMissingNames(t *testing.T) {
	s := newSession(t)
	msg := s.fails("power_off_vm", map[string]any{"vm_name": "app-01"})
	for _, want := range []string{"vm-74", "vm-91", "DC-London", "DC-Frankfurt", "Production", "vm_id"} {
		if !strings.Contains(msg, want) {
			t.Errorf("ambiguous name error %q lacks %q", msg, want)
		}
	}
	if s.vm("vm-74").PowerState != vcentersim.PoweredOn || s.vm("vm-91").PowerState != vcentersim.PoweredOn {
		t.Error("a VM named app-01 was powered off")
	}
	if a := s.lastAudit(); a["decision"] != "invalid_args" {
		t.Errorf("ambiguous name audited as %v, want invalid_args", a["decision"])
	}
	if msg := s.fails("power_off_vm", map[string]any{"vm_name": "nope-01"}); !strings.Contains(msg, "no VM is named") {
		t.Errorf("missing name: %q", msg)
	}
	if msg := s.fails("power_off_vm", map[string]any{"vm_name": "web-01", "vm_id": "vm-70"}); !strings.Contains(msg, "not both") {
		t.Errorf("both: %q", msg)
	}
	if msg := s.fails("power_off_vm", map[string]any{}); !strings.Contains(msg, "vm_id") {
		t.Errorf("neither: %q", msg)
	}
}

func TestSnapshotTools(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode))
		var list listVMSnapshotsOut
		s.ok("list_vm_snapshots", map[string]any{"vm_name": "db-01"}, &list)
		if list.Count != 4 || list.CurrentID != "snapshot-5" || list.Snapshots[0].Depth != 0 {
			t.Errorf("db-01 snapshots = %+v", list)
		}

		var created snapshotTaskOut
		s.ok("create_vm_snapshot", map[string]any{"vm_name": "web-02", "snapshot_name": "pre-patch", "description": "before patching", "memory": true}, &created)
		snaps := s.sim.Snapshots("vm-71")
		if len(snaps) != 1 || snaps[0].Name != "pre-patch" || snaps[0].ID != created.Snapshot.ID || snaps[0].State != "poweredOn" {
			t.Fatalf("simulator snapshots of web-02 = %+v, result %+v", snaps, created)
		}
		if a := s.lastAudit(); a["task"].(map[string]any)["state"] != "success" {
			t.Errorf("audit task = %v", a["task"])
		}
		if msg := s.fails("create_vm_snapshot", map[string]any{"vm_name": "legacy-app-01", "snapshot_name": "q", "quiesce": true}); !strings.Contains(msg, "quiesce false") {
			t.Errorf("quiesce without Tools: %q", msg)
		}

		// revert and delete need confirmation; without it nothing changes.
		var pv confirmOut[snapshotTaskOut]
		s.ok("revert_vm_snapshot", map[string]any{"vm_name": "db-01", "snapshot_name": "after-patch"}, &pv)
		if pv.Status != statusNeedsConfirmation || pv.Preview == nil || !strings.Contains(pv.Preview.Change, "snapshot-3") {
			t.Fatalf("revert preview = %+v", pv)
		}
		if cur := currentSnapshot(s.sim.Snapshots("vm-76")); cur != "snapshot-5" {
			t.Fatalf("unconfirmed revert moved current to %s", cur)
		}
		s.ok("revert_vm_snapshot", map[string]any{"vm_name": "db-01", "snapshot_name": "after-patch", "confirm": true}, &pv)
		if cur := currentSnapshot(s.sim.Snapshots("vm-76")); cur != "snapshot-3" || pv.Status != statusDone {
			t.Errorf("after revert current = %s, result %+v", cur, pv)
		}

		s.ok("delete_vm_snapshot", map[string]any{"vm_name": "db-01", "snapshot_id": "snapshot-3", "remove_children": true}, &pv)
		if pv.Status != statusNeedsConfirmation || len(s.sim.Snapshots("vm-76")) != 4 || !strings.Contains(pv.Preview.Change, "1 snapshot(s) below") {
			t.Fatalf("unconfirmed delete: %+v, %d snapshots", pv, len(s.sim.Snapshots("vm-76")))
		}
		s.ok("delete_vm_snapshot", map[string]any{"vm_name": "db-01", "snapshot_id": "snapshot-3", "remove_children": true, "confirm": true}, &pv)
		if got := s.sim.Snapshots("vm-76"); len(got) != 2 {
			t.Errorf("after deleting snapshot-3 with children: %+v", got)
		}
		if msg := s.fails("delete_vm_snapshot", map[string]any{"vm_name": "web-01", "snapshot_id": "snapshot-2", "confirm": true}); !strings.Contains(msg, "has no snapshot snapshot-2") {
			t.Errorf("another VM's snapshot: %q", msg)
		}
	})
}

func currentSnapshot(snaps []vcentersim.Snapshot) string {
	for _, s := range snaps {
		if s.Current {
			return s.ID
		}
	}
	return ""
}

func TestDeleteVMTool(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode))
		msg := s.fails("delete_vm", map[string]any{"vm_name": "web-01", "confirm": true})
		if !strings.Contains(msg, "shutdown_vm_guest") {
			t.Errorf("delete of a running VM: %q", msg)
		}
		var pv confirmOut[deleteVMResult]
		s.ok("delete_vm", map[string]any{"vm_name": "backup-01"}, &pv)
		if pv.Status != statusNeedsConfirmation || pv.Preview.Target.ID != "vm-82" || pv.Preview.Target.State != "POWERED_OFF" || !strings.Contains(pv.Preview.HowToConfirm, "confirm: true") {
			t.Fatalf("preview = %+v", pv)
		}
		s.vm("vm-82")
		s.ok("delete_vm", map[string]any{"vm_name": "backup-01", "confirm": true}, &pv)
		if _, ok := s.sim.VM("vm-82"); ok || pv.Status != statusDone {
			t.Errorf("vm-82 still exists after a confirmed delete (%+v)", pv)
		}
	})
}

func TestModifyVMResourcesTool(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode))
		var out confirmOut[resourcesResult]
		// web-01 runs with CPU and memory hot-add: grow live.
		s.ok("modify_vm_resources", map[string]any{"vm_name": "web-01", "cpu_count": 4, "memory_gb": 8}, &out)
		if out.Status != statusNeedsConfirmation || s.vm("vm-70").CPUCount != 2 {
			t.Fatalf("unconfirmed modify changed something: %+v", out)
		}
		s.ok("modify_vm_resources", map[string]any{"vm_name": "web-01", "cpu_count": 4, "memory_gb": 8, "confirm": true}, &out)
		if vm := s.vm("vm-70"); vm.CPUCount != 4 || vm.MemoryMiB != 8192 {
			t.Errorf("web-01 has %d vCPU / %d MiB, want 4 / 8192", vm.CPUCount, vm.MemoryMiB)
		}
		// db-02 runs without hot-add: explain, change nothing, send nothing.
		before := s.sim.Counters().Routes["PATCH /"+string(mode)+"/vcenter/vm/{vm}/hardware/cpu"]
		msg := s.fails("modify_vm_resources", map[string]any{"vm_name": "db-02", "cpu_count": 10, "confirm": true})
		if !strings.Contains(msg, "hot-add is off") || !strings.Contains(msg, "shutdown_vm_guest") {
			t.Errorf("no hot-add: %q", msg)
		}
		if s.sim.Counters().Routes["PATCH /"+string(mode)+"/vcenter/vm/{vm}/hardware/cpu"] != before {
			t.Error("a PATCH was sent for a change that cannot be made live")
		}
		if msg := s.fails("modify_vm_resources", map[string]any{"vm_name": "backup-01", "cpu_count": 3, "confirm": true}); !strings.Contains(msg, "2 or 4") {
			t.Errorf("cores per socket: %q", msg)
		}
		if msg := s.fails("modify_vm_resources", map[string]any{"vm_name": "web-01", "memory_mib": 4096, "confirm": true}); !strings.Contains(msg, "cannot be reduced live") {
			t.Errorf("live decrease: %q", msg)
		}
		s.ok("modify_vm_resources", map[string]any{"vm_name": "backup-01", "cpu_count": 2, "memory_mib": 8192, "confirm": true}, &out)
		if vm := s.vm("vm-82"); vm.CPUCount != 2 || vm.MemoryMiB != 8192 {
			t.Errorf("backup-01 (off) has %d / %d", vm.CPUCount, vm.MemoryMiB)
		}
		if msg := s.fails("modify_vm_resources", map[string]any{"vm_name": "backup-01", "memory_gb": 1, "memory_mib": 1024}); !strings.Contains(msg, "not both") {
			t.Errorf("both memory units: %q", msg)
		}
	})
}

func TestWhoamiTool(t *testing.T) {
	s := newSession(t, withRole("ops", ""), withReadOnly())
	var out whoamiOut
	s.ok("whoami", nil, &out)
	if out.Role != "ops" || !out.ReadOnly || out.VCenter != s.sim.Host() || out.APIMode != "api" || out.TokenFP == "" {
		t.Errorf("whoami = %+v", out)
	}
	for _, name := range out.AllowedTools {
		if name == "power_on_vm" {
			t.Error("read-only mode lists power_on_vm as allowed")
		}
	}
}
