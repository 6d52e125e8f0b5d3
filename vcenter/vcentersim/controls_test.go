package vcentersim

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCountersAndRequests(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	s.ResetCounters()

	get(t, s, "/api/vcenter/vm?names=web-01&names=web%2002", token)
	do(t, s, req{method: http.MethodPost, path: "/rest/vcenter/vm/vm-73/power/start", token: token})
	do(t, s, req{method: http.MethodPost, path: vim + "/VirtualMachine/vm-70/CreateSnapshotEx_Task", token: token, body: map[string]any{"name": "c", "memory": false}})
	get(t, s, "/api/vcenter/vm/vm-70/snapshots", token)

	want := []Request{
		{Method: "GET", RequestURI: "/api/vcenter/vm?names=web-01&names=web%2002", Path: "/api/vcenter/vm", RawQuery: "names=web-01&names=web%2002", Route: "GET /api/vcenter/vm"},
		{Method: "POST", RequestURI: "/rest/vcenter/vm/vm-73/power/start", Path: "/rest/vcenter/vm/vm-73/power/start", Route: "POST /rest/vcenter/vm/{vm}/power/start"},
		{Method: "POST", RequestURI: vim + "/VirtualMachine/vm-70/CreateSnapshotEx_Task", Path: vim + "/VirtualMachine/vm-70/CreateSnapshotEx_Task", Route: "POST /sdk/vim25/{release}/VirtualMachine/{moId}/CreateSnapshotEx_Task"},
		{Method: "GET", RequestURI: "/api/vcenter/vm/vm-70/snapshots", Path: "/api/vcenter/vm/vm-70/snapshots", Route: "UNMATCHED"},
	}
	if diff := cmp.Diff(want, s.Requests()); diff != "" {
		t.Errorf("Requests (-want +got):\n%s", diff)
	}
	c := s.Counters()
	wantRoutes := map[string]int{}
	for _, r := range want {
		wantRoutes[r.Route]++
	}
	if c.Requests != 4 || !cmp.Equal(c.Routes, wantRoutes) {
		t.Errorf("Counters %+v, want routes %v", c, wantRoutes)
	}

	// Counters is a snapshot: changing it changes nothing.
	c.Routes["GET /api/vcenter/vm"] = 99
	if s.Counters().Routes["GET /api/vcenter/vm"] != 1 {
		t.Error("Counters shares its map")
	}
	s.ResetCounters()
	if c := s.Counters(); c.Requests != 0 || len(c.Routes) != 0 || len(s.Requests()) != 0 {
		t.Errorf("after ResetCounters: %+v", c)
	}
}

func TestRequestsProveThePathPattern(t *testing.T) {
	// The intended use: after a scenario, no request left the expected patterns.
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	get(t, s, "/api/vcenter/vm?power_states=POWERED_ON", token)
	get(t, s, "/api/vcenter/vm/vm-70/power", token)
	for _, r := range s.Requests() {
		if !strings.HasPrefix(r.Path, "/api/") || r.Route == unmatchedKey {
			t.Errorf("unexpected request %+v", r)
		}
	}
}

func TestVMCopies(t *testing.T) {
	s := newSim(t, Options{})
	v, ok := s.VM("vm-76")
	if !ok {
		t.Fatal("vm-76 missing")
	}
	want := VM{
		ID: "vm-76", Name: "db-01", PowerState: PoweredOn, ToolsInstalled: true, ToolsRunning: true,
		GuestOS: "RHEL_9_64", HostName: "db-01", IPAddress: v.IPAddress,
		CPUCount: 8, CoresPerSocket: 2, CPUHotAdd: true, CPUHotRemove: true, MemoryMiB: 32768,
		Host: "host-15", Cluster: "domain-c11", Datacenter: "datacenter-2", Folder: "group-v8", ResourcePool: "resgroup-13",
		Datastores: []string{"datastore-29"},
		Disks: []Disk{
			{Key: 2000, Label: "Hard disk 1", CapacityBytes: 100 << 30, Datastore: "datastore-29", File: "db-01/db-01.vmdk"},
			{Key: 2001, Label: "Hard disk 2", CapacityBytes: 500 << 30, Datastore: "datastore-29", File: "db-01/db-01_1.vmdk"},
		},
		NICs:            []NIC{{Key: 4000, Label: "Network adapter 1", Network: "dvportgroup-33", MACAddress: "00:50:56:80:01:30", StartConnected: true, Connected: true}},
		CDROMs:          []CDROM{{Key: 16000, Label: "CD/DVD drive 1", Type: "SATA", AllowGuestControl: true}},
		HardwareVersion: "VMX_19", Firmware: "EFI", BIOSUUID: "4223004c-6b1d-2c9e-81f4-00000000004c", InstanceUUID: "5003004c-9e47-4a21-b8c6-00000000004c",
	}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("VM (-want +got):\n%s", diff)
	}
	v.Disks[0].Label = "changed"
	if again, _ := s.VM("vm-76"); again.Disks[0].Label != "Hard disk 1" {
		t.Error("VM returns shared slices")
	}
	if _, ok := s.VM("vm-4242"); ok {
		t.Error("VM(vm-4242) found")
	}
	if n := len(s.VMs()); n != 36 {
		t.Errorf("VMs() = %d, want 36", n)
	}
}

func TestUpdateVM(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	if err := s.UpdateVM("vm-70", func(v *VM) { v.ToolsRunning = false; v.Name = "web-01-renamed" }); err != nil {
		t.Fatal(err)
	}
	if r := get(t, s, "/api/vcenter/vm/vm-70/guest/power", token); string(r.body) != `{"state":"NOT_RUNNING","operations_ready":false}` {
		t.Errorf("guest power with Tools stopped: %s", r.body)
	}
	if r := get(t, s, "/api/vcenter/vm?names=web-01-renamed", token); !strings.Contains(string(r.body), `"vm-70"`) {
		t.Errorf("renamed VM not found by name: %s", r.body)
	}
	// Moving to a host of another cluster moves the derived fields.
	if err := s.UpdateVM("vm-70", func(v *VM) { v.Host, v.ResourcePool = "host-21", "resgroup-20"; v.Folder = "group-v9" }); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.VM("vm-70"); v.Cluster != "domain-c18" || v.Datacenter != "datacenter-2" {
		t.Errorf("after the move: cluster %s datacenter %s", v.Cluster, v.Datacenter)
	}

	for _, tt := range []struct {
		name string
		f    func(*VM)
	}{
		{"unknown host", func(v *VM) { v.Host = "host-4242" }},
		{"folder of another datacenter", func(v *VM) { v.Folder = "group-v41" }},
		{"pool of another cluster", func(v *VM) { v.ResourcePool = "resgroup-13" }},
		{"tools running while off", func(v *VM) { v.PowerState = PoweredOff; v.ToolsRunning = true }},
		{"bad power state", func(v *VM) { v.PowerState = "ON" }},
		{"cpu not a multiple", func(v *VM) { v.CPUCount, v.CoresPerSocket = 3, 2 }},
		{"disk on an unknown datastore", func(v *VM) { v.Disks[0].Datastore = "datastore-4242" }},
	} {
		before, _ := s.VM("vm-70")
		if err := s.UpdateVM("vm-70", tt.f); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
		if after, _ := s.VM("vm-70"); !cmp.Equal(before, after) {
			t.Errorf("%s: a refused update changed the VM", tt.name)
		}
	}
	if err := s.UpdateVM("vm-4242", func(*VM) {}); err == nil {
		t.Error("UpdateVM of an unknown VM succeeded")
	}
}

func TestAddAndRemoveVM(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	id, err := s.AddVM(VM{
		Name: "added-01", Host: "host-62", PowerState: PoweredOn, ToolsInstalled: true, ToolsRunning: true, MemoryHotAdd: true, MemoryMiB: 2048,
		Disks: []Disk{{CapacityBytes: 10 << 30, Datastore: "datastore-66"}}, NICs: []NIC{{Network: "network-68"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if id != "vm-110" { // after the templates and host the change operations add (changes.go)
		t.Errorf("new id %s, want vm-110", id)
	}
	r := get(t, s, "/api/vcenter/vm/"+id, token)
	info := decode[vmInfo](t, r.body)
	if r.status != http.StatusOK || info.Name != "added-01" || info.Memory.HotAddLimitMiB == nil || *info.Memory.HotAddLimitMiB != 32768 {
		t.Errorf("GET new VM: status %d %+v", r.status, info)
	}
	v, _ := s.VM(id)
	if v.Folder != "group-v54" || v.ResourcePool != "resgroup-61" || v.Disks[0].Label != "Hard disk 1" || v.NICs[0].MACAddress == "" {
		t.Errorf("defaults: %+v", v)
	}
	if _, err := s.AddVM(VM{Name: "nowhere"}); err == nil {
		t.Error("AddVM without a host succeeded")
	}
	if _, err := s.AddVM(VM{Name: "bad", Host: "host-62", Folder: "group-v3"}); err == nil {
		t.Error("AddVM into another datacenter's folder succeeded")
	}

	if err := s.RemoveVM("vm-76"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.VM("vm-76"); ok || s.Snapshots("vm-76") != nil {
		t.Error("vm-76 survives RemoveVM")
	}
	if r := get(t, s, vim+"/VirtualMachineSnapshot/snapshot-2/vm", token); r.status != http.StatusInternalServerError {
		t.Errorf("a removed VM's snapshot is readable: %d", r.status)
	}
	if err := s.RemoveVM("vm-76"); err == nil {
		t.Error("removing twice succeeded")
	}
}
