package tools

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// changeResult is a change tool's result.
type changeResult struct {
	Status  string          `json:"status"`
	Summary string          `json:"summary"`
	Preview *preview        `json:"preview"`
	Result  json.RawMessage `json:"result"`
}

// change calls a change tool that must succeed and checks its status and
// the audit line's decision.
func (s *session) change(name string, args map[string]any, status, decision string) changeResult {
	s.t.Helper()
	var out changeResult
	s.ok(name, args, &out)
	if out.Status != status {
		s.t.Fatalf("%s(%v): status %q, want %q: %s", name, args, out.Status, status, out.Summary)
	}
	if a := s.lastAudit(); a["decision"] != decision {
		s.t.Fatalf("%s(%v): audited as %v, want %s", name, args, a["decision"], decision)
	}
	return out
}

func (s *session) vmNamed(name string) (vcentersim.VM, bool) {
	for _, v := range s.sim.VMs() {
		if v.Name == name {
			return v, true
		}
	}
	return vcentersim.VM{}, false
}

func (s *session) host(id string) vcentersim.Host {
	for _, h := range s.sim.Hosts() {
		if h.ID == id {
			return h
		}
	}
	s.t.Fatalf("no host %s", id)
	return vcentersim.Host{}
}

func args(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestCloneVMTool(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode), withToolsets("all"))
		before := simState(s)
		pv := s.change("clone_vm", args("vm_name", "web-01", "new_name", "web-01-test", "folder", "Dev", "dry_run", true), statusDryRun, "dry_run")
		if pv.Preview == nil || !strings.Contains(pv.Preview.Change, `folder "Dev" (group-v9)`) || pv.Preview.Target.ID != "vm-70" {
			t.Errorf("preview %+v", pv.Preview)
		}
		if !slices.EqualFunc(before.VMs, s.sim.VMs(), func(a, b vcentersim.VM) bool { return a.ID == b.ID }) {
			t.Fatal("a dry run filed a VM")
		}
		out := s.change("clone_vm", args("vm_name", "web-01", "new_name", "web-01-test", "folder", "Dev", "customization_spec", "linux-dhcp"), statusDone, "allowed")
		n, ok := s.vmNamed("web-01-test")
		if !ok || n.Folder != "group-v9" || n.PowerState != vcentersim.PoweredOff || n.Customization != "linux-dhcp" || n.ResourcePool != "resgroup-14" {
			t.Fatalf("clone %+v (%s)", n, out.Summary)
		}
		var res newVMOut
		_ = json.Unmarshal(out.Result, &res)
		if res.VM.ID != n.ID || !vcenter.LooksLikeID(vcenter.KindVAPITask, res.TaskID) {
			t.Errorf("result %+v", res)
		}
		// get_task follows the Automation API task.
		var task getTaskOut
		s.ok("get_task", args("task_id", res.TaskID), &task)
		if task.State != "success" || task.ResultID != n.ID {
			t.Errorf("get_task %+v", task)
		}
	})
}

func TestCloneVMFromTemplateAndErrors(t *testing.T) {
	s := newSession(t, withToolsets("all"))
	s.change("clone_vm", args("vm_name", "tpl-ubuntu-22.04", "new_name", "ubu-01", "host", "esx-ldn-04.corp.local",
		"customization_spec", "linux-dhcp", "power_on", true), statusDone, "allowed")
	n, ok := s.vmNamed("ubu-01")
	if !ok || n.Host != "host-21" || n.ResourcePool != "resgroup-19" || n.Folder != "group-v106" || n.PowerState != vcentersim.PoweredOn {
		t.Fatalf("clone of the template %+v", n)
	}
	for _, tt := range []struct {
		name string
		args map[string]any
		want []string
	}{
		{"name taken in the folder", args("vm_name", "web-01", "new_name", "web-02", "folder", "Production"), []string{`holds a VM named "web-02"`, "vm-71", "Next:"}},
		{"ambiguous folder", args("vm_name", "tpl-ubuntu-22.04", "new_name", "x", "folder", "Production"), []string{"2 VM folders are named", "group-v7", "group-v41"}},
		{"no such folder", args("vm_name", "web-01", "new_name", "x", "folder", "group-v999"), []string{"no VM folder has id group-v999", "list_folders"}},
		{"cluster without DRS", args("vm_name", "web-01", "new_name", "x", "cluster", "Dev-Cluster"), []string{"has no DRS", "give host"}},
		{"host not connected", args("vm_name", "web-01", "new_name", "x", "host", "esx-ldn-05.corp.local"), []string{"NOT_RESPONDING"}},
		{"unknown customization", args("vm_name", "web-01", "new_name", "x", "customization_spec", "nope"), []string{"list_customization_specs"}},
		{"no space", args("vm_name", "mon-01", "new_name", "mon-02", "datastore", "ldn-vmfs-02"), []string{"UNABLE_TO_ALLOCATE_RESOURCE", "more free space"}},
		{"host in maintenance", args("vm_name", "dev-web-01", "new_name", "x", "host", "esx-ldn-06.corp.local"), []string{"NOT_ALLOWED_IN_CURRENT_STATE", "maintenance"}},
		{"busy source", args("vm_name", "ci-runner-03", "new_name", "x"), []string{"RESOURCE_BUSY"}},
		{"bad name", args("vm_name", "web-01", "new_name", "a/b"), []string{"without %, / or"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := len(s.sim.VMs())
			msg := s.fails("clone_vm", tt.args)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if len(s.sim.VMs()) != n {
				t.Error("a failed clone filed a VM")
			}
		})
	}
}

func TestCloneHalfWayFailureSaysWhatWasDone(t *testing.T) {
	s := newSession(t, withToolsets("all"))
	s.sim.InjectFault(vcentersim.Fault{Method: http.MethodPut, Path: "/api/vcenter/vm/*/guest/customization", ErrorType: "RESOURCE_BUSY", Count: -1})
	msg := s.fails("clone_vm", args("vm_name", "tpl-ubuntu-22.04", "new_name", "ubu-02", "customization_spec", "linux-dhcp", "power_on", true))
	n, ok := s.vmNamed("ubu-02")
	if !ok || n.PowerState != vcentersim.PoweredOff {
		t.Fatalf("the clone should exist, powered off: %+v", n)
	}
	if !strings.Contains(msg, "was created, powered off, but setting its customization failed") || !strings.Contains(msg, n.ID) || !strings.Contains(msg, "delete_vm") {
		t.Errorf("error %q", msg)
	}
}

func TestDeployFromLibraryTool(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode), withToolsets("all"))
		s.change("deploy_from_library", args("item", "ubuntu-22.04-golden", "new_name", "web-05", "folder", "Dev", "cluster", "Prod-Cluster", "dry_run", true), statusDryRun, "dry_run")
		if _, ok := s.vmNamed("web-05"); ok {
			t.Fatal("a dry run deployed")
		}
		s.change("deploy_from_library", args("item", "ubuntu-22.04-golden", "new_name", "web-05", "folder", "Dev", "cluster", "Prod-Cluster", "power_on", true), statusDone, "allowed")
		if v, ok := s.vmNamed("web-05"); !ok || v.PowerState != vcentersim.PoweredOn || v.Folder != "group-v9" {
			t.Errorf("deployed %+v", v)
		}
		s.change("deploy_from_library", args("item", "photon-5-appliance", "new_name", "photon-01", "folder", "Infra", "host", "esx-ldn-edge-01.corp.local", "network", "VM Network"), statusDone, "allowed")
		if v, ok := s.vmNamed("photon-01"); !ok || v.Host != "host-24" || v.NICs[0].Network != "network-31" {
			t.Errorf("OVF deployed %+v", v)
		}
		for _, tt := range []struct {
			args map[string]any
			want string
		}{
			{args("item", "rhel-9.3-dvd", "new_name", "x", "folder", "Dev", "cluster", "Prod-Cluster"), "mount_iso takes ISO items"},
			{args("item", "ubuntu-22.04-golden", "new_name", "web-05", "folder", "Dev", "cluster", "Prod-Cluster"), `holds a VM named "web-05"`},
			{args("item", "vendor-monitor-3.2", "new_name", "mon-x", "folder", "Infra", "cluster", "Prod-Cluster"), "licence agreement"},
			{args("item", "ubuntu-22.04-golden", "new_name", "x"), "give folder"},
		} {
			if msg := s.fails("deploy_from_library", tt.args); !strings.Contains(msg, tt.want) {
				t.Errorf("%v: %q lacks %q", tt.args, msg, tt.want)
			}
		}
	})
}

func TestLibraryAndSpecLists(t *testing.T) {
	s := newSession(t, withToolsets("all"))
	var libs page[libraryOut]
	s.ok("list_content_libraries", map[string]any{}, &libs)
	if libs.Total != 3 || libs.Items[0].Name != "Golden Images" {
		t.Errorf("libraries %+v", libs)
	}
	var items page[libraryItemOut]
	s.ok("list_library_items", args("types", []string{"iso"}), &items)
	if items.Total != 2 || items.Items[0].Library != "ISO Images" {
		t.Errorf("ISO items %+v", items)
	}
	s.ok("list_library_items", args("library", "Vendor Appliances"), &items)
	if items.Total != 1 || items.Items[0].Cached {
		t.Errorf("vendor items %+v", items)
	}
	var specs page[customizationSpecOut]
	s.ok("list_customization_specs", args("os_type", "WINDOWS"), &specs)
	if specs.Total != 1 || specs.Items[0].Name != "windows-domain-join" {
		t.Errorf("specs %+v", specs)
	}
}

func TestMountAndUnmountISO(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode), withToolsets("all"))
		const iso = "[ldn-nfs-iso] iso/rhel-9.3-x86_64-dvd.iso"
		s.change("mount_iso", args("vm_name", "web-04", "iso_path", iso), statusDone, "allowed")
		if cd := s.vm("vm-73").CDROMs[0]; cd.ISOFile != iso || !cd.StartConnected || cd.Connected {
			t.Errorf("powered-off web-04's drive %+v", cd)
		}
		s.change("mount_iso", args("vm_name", "web-01", "iso_path", iso), statusDone, "allowed")
		if cd := s.vm("vm-70").CDROMs[0]; cd.ISOFile != iso || !cd.Connected {
			t.Errorf("running web-01's drive %+v", cd)
		}
		if out := s.change("mount_iso", args("vm_name", "web-01", "iso_path", iso), statusDone, "allowed"); !strings.Contains(out.Summary, "nothing changed") {
			t.Errorf("mount again: %s", out.Summary)
		}
		if msg := s.fails("mount_iso", args("vm_name", "web-01", "iso_path", "[ldn-nfs-iso] iso/virtio-win-0.1.240.iso")); !strings.Contains(msg, "unmount_iso") {
			t.Errorf("a second ISO: %q", msg)
		}
		if msg := s.fails("mount_iso", args("vm_name", "web-02", "iso_path", "[ldn-nfs-iso] ../etc/x.iso")); !strings.Contains(msg, "invalid ISO path") || s.lastAudit()["decision"] != "invalid_args" {
			t.Errorf("path climbing out: %q, %v", msg, s.lastAudit()["decision"])
		}
		if msg := s.fails("mount_iso", args("vm_name", "web-02", "iso_path", "[ldn-nfs-iso] iso/none.iso")); !strings.Contains(msg, "check the path") {
			t.Errorf("missing file: %q", msg)
		}
		// A library ISO goes on a new drive; unmount removes it.
		s.change("mount_iso", args("vm_name", "web-02", "library_item", "ubuntu-22.04-server"), statusDone, "allowed")
		if cds := s.vm("vm-71").CDROMs; len(cds) != 2 || cds[1].LibraryItem == "" {
			t.Fatalf("web-02's drives %+v", cds)
		}
		s.change("unmount_iso", args("vm_name", "web-02", "cdrom", "CD/DVD drive 2", "confirm", true), statusDone, "allowed")
		if cds := s.vm("vm-71").CDROMs; len(cds) != 1 {
			t.Errorf("after unmount %+v", cds)
		}
		// legacy-app-01 runs with the Tools ISO connected: confirm first.
		before := s.vm("vm-80").CDROMs
		pv := s.change("unmount_iso", args("vm_name", "legacy-app-01"), statusNeedsConfirmation, "needs_confirmation")
		if !strings.Contains(pv.Preview.Change, "loses the disc") || !slices.Equal(before, s.vm("vm-80").CDROMs) {
			t.Errorf("preview %+v; drives changed: %v", pv.Preview, s.vm("vm-80").CDROMs)
		}
		s.change("unmount_iso", args("vm_name", "legacy-app-01", "dry_run", true), statusDryRun, "dry_run")
		s.change("unmount_iso", args("vm_name", "legacy-app-01", "confirm", true), statusDone, "allowed")
		if cd := s.vm("vm-80").CDROMs[0]; cd.ISOFile != "" || cd.Connected {
			t.Errorf("after the eject %+v", cd)
		}
		// A powered-off VM needs no confirmation.
		s.change("unmount_iso", args("vm_name", "web-04"), statusDone, "allowed")
		if cd := s.vm("vm-73").CDROMs[0]; cd.ISOFile != "" {
			t.Errorf("web-04 %+v", cd)
		}
		if msg := s.fails("mount_iso", args("vm_name", "cache-01", "iso_path", iso)); !strings.Contains(msg, "suspended") {
			t.Errorf("suspended VM: %q", msg)
		}
	})
}

func TestDiskTools(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode), withToolsets("all"))
		s.change("add_disk", args("vm_name", "web-01", "size_gb", 20), statusDone, "allowed")
		if d := s.vm("vm-70").Disks; len(d) != 2 || d[1].CapacityBytes != 20<<30 {
			t.Errorf("disks %+v", d)
		}
		s.change("add_disk", args("vm_name", "web-03", "size_gb", 10, "datastore", "ldn-vsan", "provisioning", "thick"), statusDone, "allowed")
		if d := s.vm("vm-72").Disks; len(d) != 2 || d[1].Datastore != "datastore-29" || !d[1].Thick {
			t.Errorf("thick disk %+v", d)
		}
		if msg := s.fails("add_disk", args("vm_name", "mon-01", "size_gb", 100, "provisioning", "eager_zeroed_thick")); !strings.Contains(msg, "58.0 GiB free") {
			t.Errorf("too big for ldn-vmfs-02: %q", msg)
		}
		if msg := s.fails("add_disk", args("vm_name", "ci-runner-03", "size_gb", 1)); !strings.Contains(msg, "RESOURCE_BUSY") || !strings.Contains(msg, "another operation is running") {
			t.Errorf("busy VM: %q", msg)
		}

		before := s.vm("vm-71").Disks
		s.change("extend_disk", args("vm_name", "web-02", "disk", "Hard disk 1", "size_gb", 60), statusNeedsConfirmation, "needs_confirmation")
		if !slices.Equal(before, s.vm("vm-71").Disks) {
			t.Fatal("the preview extended the disk")
		}
		s.change("extend_disk", args("vm_name", "web-02", "disk", "2000", "size_gb", 60, "confirm", true), statusDone, "allowed")
		if d := s.vm("vm-71").Disks[0]; d.CapacityBytes != 60<<30 {
			t.Errorf("after extend %+v", d)
		}
		for _, tt := range []struct {
			args map[string]any
			want string
		}{
			{args("vm_name", "web-02", "disk", "Hard disk 1", "size_gb", 50), "never shrinks"},
			{args("vm_name", "db-01", "disk", "Hard disk 1", "size_gb", 200), "delete_vm_snapshot"},
			{args("vm_name", "web-02", "disk", "Hard disk 9", "size_gb", 70), `"Hard disk 1" (2000)`},
		} {
			if msg := s.fails("extend_disk", tt.args); !strings.Contains(msg, tt.want) {
				t.Errorf("%v: %q lacks %q", tt.args, msg, tt.want)
			}
		}
	})
}

func TestNetworkTools(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode), withToolsets("all"))
		pv := s.change("set_vm_network", args("vm_name", "web-02", "network", "ldn-dev-vlan200"), statusNeedsConfirmation, "needs_confirmation")
		if !strings.Contains(pv.Preview.Change, "dvportgroup-34") || s.vm("vm-71").NICs[0].Network != "dvportgroup-33" {
			t.Fatalf("preview %+v", pv.Preview)
		}
		s.change("set_vm_network", args("vm_name", "web-02", "network", "ldn-dev-vlan200", "confirm", true), statusDone, "allowed")
		if n := s.vm("vm-71").NICs[0]; n.Network != "dvportgroup-34" || !n.Connected {
			t.Errorf("after the move %+v", n)
		}
		s.change("set_vm_network", args("vm_name", "web-02", "connected", false, "confirm", true), statusDone, "allowed")
		if n := s.vm("vm-71").NICs[0]; n.Connected {
			t.Errorf("after disconnect %+v", n)
		}
		// Powered off: no confirmation; connected means at power-on.
		s.change("set_vm_network", args("vm_name", "web-04", "network", "VM Network", "connected", false), statusDone, "allowed")
		if n := s.vm("vm-73").NICs[0]; n.Network != "network-31" || n.StartConnected {
			t.Errorf("web-04 %+v", n)
		}
		s.change("add_nic", args("vm_name", "web-fra-01", "network", "VM Network"), statusDone, "allowed")
		if n := s.vm("vm-92").NICs; len(n) != 2 || n[1].Network != "network-51" || !n[1].Connected {
			t.Errorf("web-fra-01's NICs %+v: the VM Network of DC-Frankfurt, connected", n)
		}
		if msg := s.fails("add_nic", args("vm_name", "web-fra-01", "network", "ldn-prod-vlan100")); !strings.Contains(msg, "INVALID_ARGUMENT") {
			t.Errorf("a network of another datacenter: %q", msg)
		}
	})
}

func TestTagTools(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode), withToolsets("all"))
		carries := func(tag, obj string) bool {
			for _, tg := range s.sim.Tags() {
				if tg.CategoryName+":"+tg.Name == tag {
					return slices.Contains(tg.Objects, obj)
				}
			}
			return false
		}
		s.change("tag_object", args("tag", "Environment:Production", "entity", "backup-01", "dry_run", true), statusDryRun, "dry_run")
		if carries("Environment:Production", "vm-82") {
			t.Fatal("a dry run tagged")
		}
		s.change("tag_object", args("tag", "Environment:Production", "entity", "backup-01"), statusDone, "allowed")
		if !carries("Environment:Production", "vm-82") {
			t.Error("not tagged")
		}
		if out := s.change("tag_object", args("tag", "Production", "entity", "vm-82", "entity_type", "vm"), statusDone, "allowed"); !strings.Contains(out.Summary, "nothing changed") {
			t.Errorf("tag again: %s", out.Summary)
		}
		if msg := s.fails("tag_object", args("tag", "Environment:Lab", "entity", "web-01")); !strings.Contains(msg, "untag_object") {
			t.Errorf("second tag of a SINGLE category: %q", msg)
		}
		if msg := s.fails("tag_object", args("tag", "Environment:Lab", "entity", "esx-ldn-01.corp.local")); !strings.Contains(msg, "attach only to VirtualMachine") {
			t.Errorf("a host: %q", msg)
		}
		s.change("tag_object", args("tag", "Site:london", "entity", "esx-ldn-01.corp.local"), statusDone, "allowed")
		if !carries("Site:london", "host-15") {
			t.Error("host not tagged")
		}
		s.change("untag_object", args("tag", "Environment:Production", "entity", "backup-01"), statusDone, "allowed")
		if carries("Environment:Production", "vm-82") {
			t.Error("still tagged")
		}
	})
}

func TestMigrateVMTool(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		s := newSession(t, withMode(mode), withToolsets("all"))
		pv := s.change("migrate_vm", args("vm_name", "web-02", "host", "esx-ldn-03.corp.local"), statusNeedsConfirmation, "needs_confirmation")
		if !strings.Contains(pv.Preview.Change, "vMotion") || !strings.Contains(pv.Preview.Target.State, "host-16") || s.vm("vm-71").Host != "host-16" {
			t.Fatalf("preview %+v", pv.Preview)
		}
		s.change("migrate_vm", args("vm_name", "web-02", "host", "esx-ldn-03.corp.local", "confirm", true), statusDone, "allowed")
		if v := s.vm("vm-71"); v.Host != "host-17" || v.ResourcePool != "resgroup-14" {
			t.Errorf("after vMotion %+v (the pool Silver stays within the cluster)", v)
		}
		s.change("migrate_vm", args("vm_name", "web-02", "datastore", "ldn-vsan", "confirm", true), statusDone, "allowed")
		if v := s.vm("vm-71"); v.Disks[0].Datastore != "datastore-29" {
			t.Errorf("after Storage vMotion %+v", v.Disks)
		}
		for _, tt := range []struct {
			args map[string]any
			want []string
		}{
			{args("vm_name", "dev-web-01", "host", "esx-ldn-06.corp.local"), []string{"cannot move there", "maintenance mode"}},
			{args("vm_name", "web-01", "host", "esx-fra-01.corp.local"), []string{"cannot move there", "not a virtual machine folder"}},
			{args("vm_name", "web-01", "host", "esx-ldn-04.corp.local", "datastore", "esx-ldn-edge-01-local"), []string{"cannot move there", "not accessible from host"}},
			{args("vm_name", "web-01", "cluster", "Dev-Cluster"), []string{"has no DRS"}},
			{args("vm_name", "web-01"), []string{"give host"}},
		} {
			msg := s.fails("migrate_vm", tt.args)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%v: %q lacks %q", tt.args, msg, w)
				}
			}
		}
		if v := s.vm("vm-70"); v.Host != "host-15" {
			t.Errorf("a refused migration moved web-01 to %s", v.Host)
		}
	})
}

func TestMaintenanceModeTools(t *testing.T) {
	s := newSession(t, withToolsets("all"))
	pv := s.change("enter_maintenance_mode", args("host_name", "esx-ldn-02.corp.local"), statusNeedsConfirmation, "needs_confirmation")
	if len(pv.Preview.Items) != 4 || !strings.Contains(strings.Join(pv.Preview.Items, "\n"), "DRS vMotions it") || s.host("host-16").Maintenance {
		t.Fatalf("preview %+v", pv.Preview)
	}
	out := s.change("enter_maintenance_mode", args("host_name", "esx-ldn-02.corp.local", "confirm", true), statusDone, "allowed")
	var res maintenanceOut
	_ = json.Unmarshal(out.Result, &res)
	if !s.host("host-16").Maintenance || len(res.Moved) != 4 || len(res.Remaining) != 0 {
		t.Errorf("after enter: %+v", res)
	}
	for _, v := range s.sim.VMs() {
		if v.Host == "host-16" {
			t.Errorf("%s still on host-16", v.Name)
		}
	}
	for _, tt := range []struct {
		host string
		want []string
	}{
		{"esx-ldn-01.corp.local", []string{"would not enter maintenance mode", "lb-01", "manual", "migrate_vm"}},
		{"esx-ldn-04.corp.local", []string{"DRS off", "build-01"}},
		{"esx-lab-02.lab.local", []string{"standalone host", "nested-esxi-01"}},
		{"esx-fra-03.corp.local", []string{"disconnected"}},
	} {
		msg := s.fails("enter_maintenance_mode", args("host_name", tt.host))
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q lacks %q", tt.host, msg, w)
			}
		}
	}
	if out := s.change("enter_maintenance_mode", args("host_name", "esx-ldn-02.corp.local"), statusDone, "allowed"); !strings.Contains(out.Summary, "already") {
		t.Errorf("enter again: %s", out.Summary)
	}
	s.change("exit_maintenance_mode", args("host_name", "esx-ldn-06.corp.local"), statusNeedsConfirmation, "needs_confirmation")
	s.change("exit_maintenance_mode", args("host_id", "host-108", "confirm", true), statusDone, "allowed")
	if s.host("host-108").Maintenance {
		t.Error("host-108 still in maintenance mode")
	}
	if out := s.change("exit_maintenance_mode", args("host_id", "host-108"), statusDone, "allowed"); !strings.Contains(out.Summary, "not in maintenance") {
		t.Errorf("exit again: %s", out.Summary)
	}
}

func TestChangeToolRoles(t *testing.T) {
	s := newSession(t, withRole("ops", ""), withToolsets("all"))
	for _, tool := range []string{"migrate_vm", "add_disk", "extend_disk", "set_vm_network", "add_nic", "enter_maintenance_mode", "exit_maintenance_mode"} {
		s.sim.ResetCounters()
		msg := s.fails(tool, args("vm_name", "web-02", "host_name", "esx-ldn-02.corp.local"))
		if a := s.lastAudit(); a["decision"] != "denied_role" || !strings.Contains(msg, `not allowed for role "ops"`) || s.sim.Counters().Requests != 0 {
			t.Errorf("%s for ops: %q, %v", tool, msg, a["decision"])
		}
	}
	s.change("clone_vm", args("vm_name", "web-01", "new_name", "ops-clone", "dry_run", true), statusDryRun, "dry_run")
	r := newSession(t, withRole("read", ""), withToolsets("all"))
	if msg := r.fails("tag_object", args("tag", "Environment:Production", "entity", "backup-01")); !strings.Contains(msg, `not allowed for role "read"`) {
		t.Errorf("read role tagging: %q", msg)
	}
	var libs page[libraryOut]
	r.ok("list_content_libraries", map[string]any{}, &libs)
}

func TestChangeProgressAndCancellation(t *testing.T) {
	t.Run("clone progress", func(t *testing.T) {
		var mu sync.Mutex
		var got []float64
		done := make(chan struct{})
		s := newSession(t, withToolsets("all"), withSim(vcentersim.Options{TaskPolls: 4}), withClientOptions(func(o *mcp.ClientOptions) {
			o.ProgressNotificationHandler = func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, req.Params.Progress)
				if req.Params.Progress == 100 {
					close(done)
				}
			}
		}))
		params := &mcp.CallToolParams{Name: "clone_vm", Arguments: args("vm_name", "web-01", "new_name", "web-01-p")}
		params.SetProgressToken("clone-1")
		if res, err := s.cs.CallTool(context.Background(), params); err != nil || res.IsError {
			t.Fatalf("%v %s", err, textOf(res))
		}
		<-done
		mu.Lock()
		defer mu.Unlock()
		if len(got) < 3 || !slices.IsSorted(got) {
			t.Errorf("progress %v", got)
		}
	})
	for _, tt := range []struct {
		name, tool string
		args       map[string]any
		want       audit.TaskState
		check      func(t *testing.T, s *session)
	}{
		{"maintenance mode is cancelled in vCenter", "enter_maintenance_mode", args("host_name", "esx-ldn-02.corp.local", "confirm", true), audit.TaskCancelled,
			func(t *testing.T, s *session) {
				if s.host("host-16").Maintenance {
					t.Error("host-16 entered maintenance mode")
				}
			}},
		{"a clone is left running (its task cannot be cancelled)", "clone_vm", args("vm_name", "web-01", "new_name", "web-01-c"), audit.TaskLeftRunning,
			func(t *testing.T, s *session) {
				if _, ok := s.vmNamed("web-01-c"); ok {
					t.Fatal("filed before the task ended")
				}
				s.sim.CompleteTasks()
				if _, ok := s.vmNamed("web-01-c"); !ok {
					t.Error("the clone left running did not complete")
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			lines := make(chan struct{}, 16)
			s := newSession(t, withToolsets("all"), withSim(vcentersim.Options{ManualTasks: true}), withPollInterval(time.Millisecond),
				withAuditLog(func(b *syncBuffer) *audit.Log { return audit.New(auditSignal{b, lines}) }),
				withClientOptions(func(o *mcp.ClientOptions) {
					o.ProgressNotificationHandler = func(context.Context, *mcp.ProgressNotificationClientRequest) { cancel() }
				}))
			params := &mcp.CallToolParams{Name: tt.tool, Arguments: tt.args}
			params.SetProgressToken("p")
			if _, err := s.cs.CallTool(ctx, params); !errors.Is(err, context.Canceled) {
				t.Fatalf("call = %v, want context.Canceled", err)
			}
			<-lines
			a := s.lastAudit()
			task, _ := a["task"].(map[string]any)
			if task == nil || task["state"] != string(tt.want) || !strings.Contains(a["error"].(string), "cancelled by the client") {
				t.Fatalf("audit %v, want task state %s", a, tt.want)
			}
			tt.check(t, s)
		})
	}
}

func TestChangesAreSentOnce(t *testing.T) {
	s := newSession(t, withToolsets("all"))
	s.sim.InjectFault(vcentersim.Fault{Method: http.MethodPost, Path: "/api/vcenter/vm", Kind: vcentersim.FaultReset, Count: -1})
	msg := s.fails("clone_vm", args("vm_name", "web-01", "new_name", "web-01-r"))
	if !strings.Contains(msg, "may have been applied") || !strings.Contains(msg, "list_vms") {
		t.Errorf("error %q", msg)
	}
	if n := s.sim.Counters().Faults; n != 1 {
		t.Errorf("the clone was sent %d times", n)
	}
}
