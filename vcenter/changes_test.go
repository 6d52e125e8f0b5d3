package vcenter

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

func simVM(t *testing.T, sim *vcentersim.Server, id string) vcentersim.VM {
	t.Helper()
	v, ok := sim.VM(id)
	if !ok {
		t.Fatalf("no %s", id)
	}
	return v
}

func TestCloneAndRelocateAsTasks(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, mode)
			ctx := context.Background()
			task, err := c.CloneVM(ctx, CloneSpec{Source: "vm-70", Name: "web-01-copy", Placement: PlacementSpec{Folder: "group-v9"}, Customization: "linux-dhcp"})
			if err != nil || !isVAPITask(task) {
				t.Fatalf("clone: %q %v", task, err)
			}
			var seen []int
			done, err := c.WaitTask(ctx, task, func(p int) { seen = append(seen, p) })
			if err != nil || done.State != TaskSuccess || done.ResultType != "VirtualMachine" || len(seen) == 0 {
				t.Fatalf("wait: %+v %v, progress %v", done, err, seen)
			}
			n := simVM(t, sim, done.ResultID)
			if n.Name != "web-01-copy" || n.Folder != "group-v9" || n.Customization != "linux-dhcp" {
				t.Errorf("clone %+v", n)
			}
			d, err := c.GetTaskDetails(ctx, task)
			if err != nil || d.State != TaskSuccess || d.Entity.ID != "vm-70" || d.ResultID != n.ID {
				t.Errorf("details %+v %v", d, err)
			}

			task, err = c.Relocate(ctx, n.ID, PlacementSpec{Host: "host-17", Datastore: "datastore-29"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.WaitTask(ctx, task, nil); err != nil {
				t.Fatal(err)
			}
			if v := simVM(t, sim, n.ID); v.Host != "host-17" || v.Disks[0].Datastore != "datastore-29" {
				t.Errorf("after relocate %+v", v)
			}

			// A failed task carries vCenter's error type.
			sim.FailNextTask("UNABLE_TO_ALLOCATE_RESOURCE", "no room")
			task, _ = c.CloneVM(ctx, CloneSpec{Source: "vm-70", Name: "web-01-fail"})
			_, err = c.WaitTask(ctx, task, nil)
			var ae *APIError
			if !errors.As(err, &ae) || !errors.Is(err, ErrUnableToAllocate) || ae.Message() != "no room" {
				t.Errorf("failed task: %v", err)
			}
			// Not cancelable: UNSUPPORTED.
			sim.HangTasks(true)
			task, _ = c.CloneVM(ctx, CloneSpec{Source: "vm-70", Name: "web-01-hang"})
			if err := c.CancelTask(ctx, task); !errors.Is(err, ErrUnsupported) {
				t.Errorf("cancel: %v", err)
			}
		})
	}
}

func TestCloneTemplateAndFindTemplates(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	tpls, err := c.FindTemplates(ctx, "tpl-ubuntu-22.04")
	if err != nil || len(tpls) != 1 || tpls[0].ID != "vm-107" || tpls[0].FolderID != "group-v106" {
		t.Fatalf("templates %+v %v", tpls, err)
	}
	if all, _ := c.FindTemplates(ctx, ""); len(all) != 2 {
		t.Errorf("all templates %+v", all)
	}
	if _, err := c.CloneTemplate(ctx, CloneSpec{Source: "vm-107", Name: "x", Placement: PlacementSpec{Folder: "group-v9"}}); err == nil {
		t.Error("a template clone without a pool was sent")
	}
	task, err := c.CloneTemplate(ctx, CloneSpec{Source: "vm-107", Name: "from-tpl", Placement: PlacementSpec{Folder: "group-v9", ResourcePool: "resgroup-14"}})
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.WaitTask(ctx, task, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := simVM(t, sim, done.ResultID); v.Name != "from-tpl" || v.ResourcePool != "resgroup-14" || v.Template {
		t.Errorf("clone %+v", v)
	}
	if err := c.SetGuestCustomization(ctx, done.ResultID, "linux-dhcp"); err != nil || simVM(t, sim, done.ResultID).Customization != "linux-dhcp" {
		t.Errorf("customization: %v", err)
	}
	cfg, err := c.VMConfig(ctx, "vm-107")
	if err != nil || !cfg.Template || len(cfg.Disks) != 1 || cfg.Disks[0].CapacityBytes != 40<<30 {
		t.Errorf("config %+v %v", cfg, err)
	}
}

func TestDeviceChanges(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, mode)
			ctx := context.Background()
			devs, err := c.VMDevices(ctx, "vm-70")
			if err != nil || len(devs.CDROMs) != 1 || devs.CDROMs[0].Key != "16000" || devs.NICs[0].NetworkID != "dvportgroup-33" || !devs.NICs[0].StartConnected {
				t.Fatalf("devices %+v %v", devs, err)
			}
			iso, _ := ParseISOPath("[ldn-nfs-iso] iso/rhel-9.3-x86_64-dvd.iso")
			if err := c.SetCDROM(ctx, "vm-70", "16000", &iso, nil); err != nil {
				t.Fatal(err)
			}
			if err := c.ConnectCDROM(ctx, "vm-70", "16000"); err != nil {
				t.Fatal(err)
			}
			if v := simVM(t, sim, "vm-70"); v.CDROMs[0].ISOFile != iso.String() || !v.CDROMs[0].Connected {
				t.Errorf("CD-ROM %+v", v.CDROMs)
			}
			if err := c.SetCDROM(ctx, "vm-70", "16000", nil, nil); !errors.Is(err, ErrNotAllowedInCurrentState) {
				t.Errorf("eject a connected drive: %v", err)
			}
			if _, err := c.CreateCDROM(ctx, "vm-73", iso, true); err != nil {
				t.Error(err)
			}
			key, err := c.CreateDisk(ctx, "vm-70", 10<<30)
			if err != nil || key != "2001" {
				t.Errorf("create disk: %q %v", key, err)
			}
			nic, err := c.CreateNIC(ctx, "vm-70", NetworkBacking{ID: "dvportgroup-34", Type: "DISTRIBUTED_PORTGROUP"}, true)
			if err != nil || nic != "4001" {
				t.Errorf("create NIC: %q %v", nic, err)
			}
			off := false
			if err := c.UpdateNIC(ctx, "vm-70", "4000", &NetworkBacking{ID: "network-31", Type: "STANDARD_PORTGROUP"}, &off); err != nil {
				t.Fatal(err)
			}
			if err := c.DisconnectNIC(ctx, "vm-70", "4000"); err != nil {
				t.Fatal(err)
			}
			v := simVM(t, sim, "vm-70")
			if v.NICs[0].Network != "network-31" || v.NICs[0].StartConnected || v.NICs[0].Connected || len(v.NICs) != 2 || len(v.Disks) != 2 {
				t.Errorf("after NIC changes %+v", v)
			}
			items, err := c.ListLibraryItems(ctx, libraryNamed(t, c, "ISO Images"))
			if err != nil || len(items) != 2 {
				t.Fatalf("items %+v %v", items, err)
			}
			cd, err := c.MountLibraryISO(ctx, "vm-71", items[1].ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.UnmountLibraryISO(ctx, "vm-71", cd); err != nil || len(simVM(t, sim, "vm-71").CDROMs) != 1 {
				t.Errorf("unmount: %v", err)
			}
		})
	}
}

func libraryNamed(t *testing.T, c *Client, name string) string {
	t.Helper()
	libs, err := c.ListLibraries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range libs {
		if l.Name == name {
			return l.ID
		}
	}
	t.Fatalf("no library %q in %+v", name, libs)
	return ""
}

func TestExtendAndAddDisk(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	task, err := c.ExtendDisk(ctx, "vm-72", "2000", 60<<30)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitTask(ctx, task, nil); err != nil || simVM(t, sim, "vm-72").Disks[0].CapacityBytes != 60<<30 {
		t.Errorf("extend: %v", err)
	}
	task, _ = c.ExtendDisk(ctx, "vm-76", "2000", 200<<30) // db-01 has snapshots
	if _, err := c.WaitTask(ctx, task, nil); err == nil {
		t.Error("extended a disk with snapshots")
	}
	if _, err := c.ExtendDisk(ctx, "vm-72", "2009", 60<<30); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown disk: %v", err)
	}
	task, err = c.AddDisk(ctx, "vm-72", NewDisk{CapacityBytes: 20 << 30, DatastoreID: "datastore-29", DatastoreName: "ldn-vsan", Provisioning: Thick})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitTask(ctx, task, nil); err != nil {
		t.Fatal(err)
	}
	if d := simVM(t, sim, "vm-72").Disks; len(d) != 2 || d[1].Datastore != "datastore-29" || !d[1].Thick {
		t.Errorf("added %+v", d)
	}
}

func TestMaintenanceAndCheckRelocate(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	cl, err := c.HostCluster(ctx, "host-16")
	if err != nil || cl != "domain-c11" {
		t.Fatalf("cluster %q %v", cl, err)
	}
	if cl, _ := c.HostCluster(ctx, "host-24"); cl != "" {
		t.Errorf("standalone host in %q", cl)
	}
	drs, err := c.ClusterDRS(ctx, "domain-c11")
	if err != nil || !drs.Enabled || drs.Behavior != "fullyAutomated" || drs.Overrides["vm-79"] != "manual" {
		t.Errorf("DRS %+v %v", drs, err)
	}
	res, err := c.CheckRelocate(ctx, "vm-83", PlacementSpec{Host: "host-108"})
	if err != nil || len(res) != 1 || res[0].HostID != "host-108" || len(res[0].Errors) != 1 || !strings.Contains(res[0].Errors[0], "maintenance") {
		t.Errorf("check %+v %v", res, err)
	}
	task, err := c.ExitMaintenanceMode(ctx, "host-108", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitTask(ctx, task, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.HostStatus(ctx, "host-108"); st.Maintenance {
		t.Error("host-108 still in maintenance")
	}
	task, _ = c.EnterMaintenanceMode(ctx, "host-16", 0, false)
	if _, err := c.WaitTask(ctx, task, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.HostStatus(ctx, "host-16"); !st.Maintenance {
		t.Error("host-16 not in maintenance")
	}
}

func TestTagAttachDetach(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, mode)
			ctx := context.Background()
			var tag string
			for _, tg := range sim.Tags() {
				if tg.Name == "Production" {
					tag = tg.ID
				}
			}
			obj := EntityRef{Kind: KindVM, ID: "vm-82"}
			if err := c.AttachTag(ctx, tag, obj); err != nil {
				t.Fatal(err)
			}
			tags, _ := c.ObjectTags(ctx, obj)
			if len(tags) != 2 {
				t.Errorf("tags after attach %+v", tags)
			}
			if err := c.DetachTag(ctx, tag, obj); err != nil {
				t.Fatal(err)
			}
			if err := c.AttachTag(ctx, tag, EntityRef{Kind: KindHost, ID: "host-15"}); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("attach to a host: %v", err)
			}
		})
	}
}

func TestDeploysFromLibrary(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, mode)
			ctx := context.Background()
			items, err := c.ListLibraryItems(ctx, libraryNamed(t, c, "Golden Images"))
			if err != nil || len(items) != 2 {
				t.Fatalf("items %+v %v", items, err)
			}
			byType := map[string]string{}
			for _, it := range items {
				byType[it.Type] = it.ID
			}
			vm, err := c.DeployTemplateItem(ctx, byType["vm-template"], DeploySpec{Name: "web-07",
				Placement: PlacementSpec{Folder: "group-v7", ResourcePool: "resgroup-14"}, PowerOn: true, Customization: "linux-dhcp"})
			if err != nil {
				t.Fatal(err)
			}
			if v := simVM(t, sim, vm); v.Name != "web-07" || v.PowerState != vcentersim.PoweredOn {
				t.Errorf("deployed %+v", v)
			}
			_, err = c.DeployTemplateItem(ctx, byType["vm-template"], DeploySpec{Name: "web-07", Placement: PlacementSpec{Folder: "group-v7", ResourcePool: "resgroup-14"}})
			if !errors.Is(err, ErrAlreadyExists) {
				t.Errorf("name taken: %v", err)
			}
			vm, err = c.DeployOVFItem(ctx, byType["ovf"], DeploySpec{Name: "photon-01", Network: "network-31",
				Placement: PlacementSpec{Folder: "group-v10", ResourcePool: "resgroup-12", Datastore: "datastore-26"}, PowerOn: true})
			if err != nil {
				t.Fatal(err)
			}
			if v := simVM(t, sim, vm); v.Name != "photon-01" || v.NICs[0].Network != "network-31" || v.Disks[0].Datastore != "datastore-26" || v.PowerState != vcentersim.PoweredOn {
				t.Errorf("OVF deployed %+v", v)
			}
			_, err = c.DeployOVFItem(ctx, byType["ovf"], DeploySpec{Name: "photon-01", Placement: PlacementSpec{Folder: "group-v10", ResourcePool: "resgroup-12"}})
			var de *DeployError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), "already exists") {
				t.Errorf("OVF name taken: %v", err)
			}
			specs, err := c.ListCustomizationSpecs(ctx, nil, "LINUX")
			if err != nil || len(specs) != 2 || specs[0].Name != "linux-dhcp" {
				t.Errorf("specs %+v %v", specs, err)
			}
		})
	}
}

func TestChangesAreNotResent(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	for _, tc := range []struct {
		path string
		call func() error
	}{
		{"/api/vcenter/vm", func() error { _, err := c.CloneVM(ctx, CloneSpec{Source: "vm-70", Name: "x"}); return err }},
		{"/api/vcenter/vm/vm-70", func() error { _, err := c.Relocate(ctx, "vm-70", PlacementSpec{Host: "host-16"}); return err }},
		{"/api/vcenter/vm/vm-70/hardware/disk", func() error { _, err := c.CreateDisk(ctx, "vm-70", 1<<30); return err }},
		{"/sdk/vim25/*/HostSystem/host-16/EnterMaintenanceMode_Task", func() error {
			_, err := c.EnterMaintenanceMode(ctx, "host-16", 0, false)
			return err
		}},
	} {
		sim.ResetCounters()
		sim.InjectFault(vcentersim.Fault{Method: http.MethodPost, Path: tc.path, Kind: vcentersim.FaultReset, Count: -1})
		err := tc.call()
		sim.ClearFaults()
		var te *TransportError
		if !errors.As(err, &te) || !te.MaybeApplied {
			t.Errorf("%s: %v, want a transport error that may have been applied", tc.path, err)
		}
		if n := sim.Counters().Faults; n != 1 {
			t.Errorf("%s: sent %d times", tc.path, n)
		}
	}
}

func TestParseISOPath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want ISOPath
	}{
		{"[ldn-nfs-iso] iso/ubuntu.iso", true, ISOPath{"ldn-nfs-iso", "iso/ubuntu.iso"}},
		{"[datastore 1] a b/c.ISO", true, ISOPath{"datastore 1", "a b/c.ISO"}},
		{"[ds] ../etc/x.iso", false, ISOPath{}},
		{"[ds] a/./x.iso", false, ISOPath{}},
		{"[ds] /abs/x.iso", false, ISOPath{}},
		{"[ds] a//x.iso", false, ISOPath{}},
		{"[ds]x.iso", false, ISOPath{}},
		{"ds/x.iso", false, ISOPath{}},
		{"[] x.iso", false, ISOPath{}},
		{"[ds] x.img", false, ISOPath{}},
		{"[ds] a\\x.iso", false, ISOPath{}},
		{"[d]s] x.iso", false, ISOPath{}},
		{"[ds] x\u202e.iso", false, ISOPath{}},
		{"[ds] x\n.iso", false, ISOPath{}},
		{"[ds] " + strings.Repeat("a", 300) + ".iso", false, ISOPath{}},
	} {
		got, err := ParseISOPath(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseISOPath(%q) = %+v, %v", tc.in, got, err)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("String() = %q, want %q", got.String(), tc.in)
		}
	}
}

func FuzzParseISOPath(f *testing.F) {
	for _, s := range []string{"[ds] a/b.iso", "[ds] ../x.iso", "[a] b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseISOPath(s)
		if err != nil {
			return
		}
		if p.String() != s {
			t.Fatalf("round trip %q → %q", s, p.String())
		}
		for _, seg := range strings.Split(p.Path, "/") {
			if seg == ".." || seg == "." || seg == "" {
				t.Fatalf("accepted %q", s)
			}
		}
		if !printableName(p.Path) || !printableName(p.Datastore) || strings.ContainsAny(p.Datastore, "[]") {
			t.Fatalf("accepted %q", s)
		}
	})
}

func TestNewIDGrammars(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		id   string
		ok   bool
	}{
		{KindVAPITask, "52000001-7c4b-4d2e-9f10-000000000001:com.vmware.vcenter.vm", true},
		{KindVAPITask, "..", false},
		{KindVAPITask, "a/b", false},
		{KindVAPITask, "a%2Fb", false},
		{KindVAPITask, strings.Repeat("a", 201), false},
		{KindLibrary, "fbcc0f38-b7d9-4243-95f6-fb28f1ab35a6", true},
		{KindLibraryItem, "fbcc0f38-b7d9-4243-95f6-fb28f1ab35a", false},
		{KindDevice, "16000", true},
		{KindDevice, "016000", false},
		{KindDevice, "2000/..", false},
		{KindCustomizationSpec, "linux-dhcp", true},
		{KindCustomizationSpec, " linux", false},
		{KindCustomizationSpec, "a/b", false},
		{KindCustomizationSpec, strings.Repeat("x", 81), false},
	} {
		if got := LooksLikeID(tc.kind, tc.id); got != tc.ok {
			t.Errorf("%s %q: %v, want %v", tc.kind, tc.id, got, tc.ok)
		}
	}
}
