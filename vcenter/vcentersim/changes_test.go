package vcentersim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

const rel = "8.0.3.0"

// vimCall calls a VI/JSON method and returns the answer.
func vimCall(t *testing.T, s *Server, token, moType, moID, method, body string) response {
	t.Helper()
	return do(t, s, req{method: http.MethodPost, path: "/sdk/vim25/" + rel + "/" + moType + "/" + moID + "/" + method, token: token, body: body})
}

// startedTask reads the task id of a *_Task answer.
func startedTask(t *testing.T, r response) string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("method: status %d %s", r.status, r.body)
	}
	return decode[moRef](t, r.body).Value
}

func simVM(t *testing.T, s *Server, id string) VM {
	t.Helper()
	v, ok := s.VM(id)
	if !ok {
		t.Fatalf("no %s", id)
	}
	return v
}

func vmNamed(s *Server, name string) (VM, bool) {
	for _, v := range append(s.VMs(), s.Templates()...) {
		if v.Name == name {
			return v, true
		}
	}
	return VM{}, false
}

func datastoreFree(s *Server, id string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inv.datastores[id].free
}

func TestDefaultInventoryForChanges(t *testing.T) {
	s := newSim(t, Options{})
	tpls := s.Templates()
	if len(tpls) != 2 || tpls[0].ID != "vm-107" || tpls[0].Name != "tpl-ubuntu-22.04" || tpls[1].ID != "vm-109" {
		t.Errorf("templates %+v", tpls)
	}
	if len(s.VMs()) != 36 {
		t.Errorf("%d VMs, want the 36 of the package documentation", len(s.VMs()))
	}
	var found bool
	for _, h := range s.Hosts() {
		if h.ID == "host-108" {
			found = h.Name == "esx-ldn-06.corp.local" && h.Maintenance && h.Cluster == "domain-c18"
		}
	}
	if !found {
		t.Errorf("host-108 esx-ldn-06 in maintenance mode in Dev-Cluster missing: %+v", s.Hosts())
	}
	token := loginAPI(t, s)
	for _, v := range decode[[]vmSummary](t, get(t, s, "/api/vcenter/vm", token).body) {
		if v.VM == "vm-107" || v.VM == "vm-109" {
			t.Errorf("the VM list shows template %s (contract changes §9.3)", v.VM)
		}
	}
	r := do(t, s, req{method: http.MethodPost, path: "/api/vcenter/vm/vm-107/power?action=start", token: token})
	if r.status != 400 || errorTypeOf(t, "/api", r.body) != "UNSUPPORTED" {
		t.Errorf("power on a template: %d %s", r.status, r.body)
	}
	kids := decode[[]moRef](t, get(t, s, "/sdk/vim25/"+rel+"/Folder/group-v106/childEntity", token).body)
	if len(kids) != 2 || kids[0].Value != "vm-107" {
		t.Errorf("Templates folder children %+v", kids)
	}
}

func TestCloneRules(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	clone := func(body string) response {
		return do(t, s, req{method: http.MethodPost, path: "/api/vcenter/vm?action=clone", token: token, body: body})
	}
	for _, tc := range []struct {
		name, body, wantType string
	}{
		{"template over /api", `{"source":"vm-107","name":"x"}`, "INVALID_ARGUMENT"},
		{"name taken in the folder", `{"source":"vm-70","name":"web-02"}`, "ALREADY_EXISTS"},
		{"pool of a cluster without DRS", `{"source":"vm-83","name":"x","placement":{"resource_pool":"resgroup-19"}}`, "INVALID_ARGUMENT"},
		{"host outside the pool's cluster", `{"source":"vm-70","name":"x","placement":{"host":"host-21"}}`, "INVALID_ARGUMENT"},
		{"host in maintenance", `{"source":"vm-83","name":"x","placement":{"host":"host-108"}}`, "NOT_ALLOWED_IN_CURRENT_STATE"},
		{"no space", `{"source":"vm-81","name":"x","placement":{"datastore":"datastore-27"}}`, "UNABLE_TO_ALLOCATE_RESOURCE"},
		{"local datastore of another host", `{"source":"vm-70","name":"x","placement":{"datastore":"datastore-30"}}`, "INVALID_ARGUMENT"},
		{"unknown customization", `{"source":"vm-70","name":"x","guest_customization_spec":{"name":"nope"}}`, "NOT_FOUND"},
		{"busy source", `{"source":"vm-88","name":"x"}`, "RESOURCE_BUSY"}, // the history's clone of ci-runner-03 still runs
		{"spec envelope on /api", `{"spec":{"source":"vm-70","name":"x"}}`, "INVALID_ARGUMENT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.VMs())
			r := clone(tc.body)
			if r.status/100 == 2 || errorTypeOf(t, "/api", r.body) != tc.wantType {
				t.Errorf("status %d body %s, want %s", r.status, r.body, tc.wantType)
			}
			if len(s.VMs()) != before {
				t.Error("a refused clone filed a VM")
			}
		})
	}
	free := datastoreFree(s, "datastore-26")
	r := clone(`{"source":"vm-70","name":"web-01-test","placement":{"folder":"group-v9","host":"host-16"},"power_on":true,"guest_customization_spec":{"name":"linux-dhcp"}}`)
	if r.status != 200 {
		t.Fatalf("clone: %d %s", r.status, r.body)
	}
	n := simVM(t, s, decode[string](t, r.body))
	src := simVM(t, s, "vm-70")
	if n.Name != "web-01-test" || n.Host != "host-16" || n.Folder != "group-v9" || n.ResourcePool != src.ResourcePool ||
		n.PowerState != PoweredOn || n.CPUCount != src.CPUCount || n.NICs[0].MACAddress == src.NICs[0].MACAddress || n.Customization != "" {
		t.Errorf("clone %+v", n)
	}
	if got := free - datastoreFree(s, "datastore-26"); got != 20<<30 {
		t.Errorf("the clone took %d bytes of datastore-26, want the 20 GiB its thin disk holds", got)
	}
}

func TestCloneTaskAndItsFailure(t *testing.T) {
	s := newSim(t, Options{TaskPolls: 2})
	token := loginAPI(t, s)
	start := func(name string) string {
		r := do(t, s, req{method: http.MethodPost, path: "/api/vcenter/vm?action=clone&vmw-task=true", token: token, body: `{"source":"vm-70","name":"` + name + `"}`})
		if r.status != http.StatusAccepted {
			t.Fatalf("clone task: %d %s", r.status, r.body)
		}
		return decode[string](t, r.body)
	}
	id := start("web-01-a")
	if r := do(t, s, req{method: http.MethodPost, path: "/api/vcenter/vm/vm-70/power?action=stop", token: token}); errorTypeOf(t, "/api", r.body) != "RESOURCE_BUSY" {
		t.Errorf("power off during the clone: %d %s", r.status, r.body)
	}
	var info cisTaskInfo
	for i := 0; ; i++ {
		info = decode[cisTaskInfo](t, get(t, s, "/api/cis/tasks/"+id, token).body)
		if _, filed := vmNamed(s, "web-01-a"); filed != (info.Status == "SUCCEEDED") {
			t.Fatalf("poll %d: status %s, clone filed %v", i, info.Status, filed)
		}
		if info.Status != "RUNNING" || i > 5 {
			break
		}
		if info.Progress == nil || info.Progress.Total != 100 {
			t.Errorf("running without progress: %+v", info)
		}
	}
	n, _ := vmNamed(s, "web-01-a")
	if info.Status != "SUCCEEDED" || info.Result != n.ID || info.Target.ID != "vm-70" {
		t.Errorf("ended %+v, want SUCCEEDED with result %s", info, n.ID)
	}

	s.FailNextTask("UNABLE_TO_ALLOCATE_RESOURCE", "")
	id = start("web-01-b")
	for range 4 {
		info = decode[cisTaskInfo](t, get(t, s, "/api/cis/tasks/"+id, token).body)
	}
	e, _ := json.Marshal(info.Error)
	if info.Status != "FAILED" || !strings.Contains(string(e), `"error_type":"UNABLE_TO_ALLOCATE_RESOURCE"`) {
		t.Errorf("failed task %+v %s", info, e)
	}
	if _, filed := vmNamed(s, "web-01-b"); filed {
		t.Error("a failed clone filed its VM")
	}
	if r := get(t, s, "/api/cis/tasks/52000000-7c4b-4d2e-9f10-000000000000:com.vmware.vcenter.vm", token); r.status != 404 {
		t.Errorf("unknown task: %d", r.status)
	}
}

func TestCloneVMTaskFromATemplate(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	spec := func(pool string) string {
		loc := `{"_typeName":"VirtualMachineRelocateSpec"` + pool + `}`
		return `{"folder":{"_typeName":"ManagedObjectReference","type":"Folder","value":"group-v9"},"name":"from-tpl",` +
			`"spec":{"_typeName":"VirtualMachineCloneSpec","location":` + loc + `,"template":false,"powerOn":false}}`
	}
	if r := vimCall(t, s, token, "VirtualMachine", "vm-107", "CloneVM_Task", spec("")); r.status != 500 || decode[vimFaultBody](t, r.body).TypeName != "InvalidArgument" {
		t.Errorf("template clone without a pool: %d %s", r.status, r.body)
	}
	if r := vimCall(t, s, token, "VirtualMachine", "vm-107", "CloneVM_Task", `{"folder":{"_typeName":"ManagedObjectReference","type":"Folder","value":"group-v9"},"name":"x","spec":{"location":{},"powerOn":false}}`); r.status != 500 {
		t.Errorf("spec without template: %d %s", r.status, r.body)
	}
	id := startedTask(t, vimCall(t, s, token, "VirtualMachine", "vm-107", "CloneVM_Task",
		spec(`,"pool":{"_typeName":"ManagedObjectReference","type":"ResourcePool","value":"resgroup-19"},"host":{"_typeName":"ManagedObjectReference","type":"HostSystem","value":"host-21"}`)))
	info := pollTask(t, s, rel, token, id)
	n, ok := vmNamed(s, "from-tpl")
	if info["state"] != "success" || !ok || n.Template || n.Host != "host-21" || n.ResourcePool != "resgroup-19" {
		t.Fatalf("clone from the template: %v; %+v", info, n)
	}
	if res, _ := info["result"].(map[string]any); res["value"] != n.ID {
		t.Errorf("result %v, want %s", info["result"], n.ID)
	}
	// The same name again: DuplicateName in the task.
	id = startedTask(t, vimCall(t, s, token, "VirtualMachine", "vm-107", "CloneVM_Task",
		spec(`,"pool":{"_typeName":"ManagedObjectReference","type":"ResourcePool","value":"resgroup-19"},"host":{"_typeName":"ManagedObjectReference","type":"HostSystem","value":"host-21"}`)))
	info = pollTask(t, s, rel, token, id)
	if e, _ := info["error"].(map[string]any); info["state"] != "error" || e["_typeName"] != "DuplicateName" {
		t.Errorf("duplicate clone: %v", info)
	}
}

func TestRelocateAndCheckRelocate(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	relocate := func(id, body string) response {
		return do(t, s, req{method: http.MethodPost, path: "/api/vcenter/vm/" + id + "?action=relocate", token: token, body: body})
	}
	for _, tc := range []struct{ name, vm, body, wantType string }{
		{"disconnected host", "vm-92", `{"placement":{"host":"host-48"}}`, "RESOURCE_INACCESSIBLE"},
		{"maintenance host", "vm-83", `{"placement":{"host":"host-108"}}`, "NOT_ALLOWED_IN_CURRENT_STATE"},
		{"other datacenter", "vm-70", `{"placement":{"host":"host-46","resource_pool":"resgroup-44","folder":"group-v41"}}`, "INVALID_ARGUMENT"},
		{"pool of another cluster without its host", "vm-70", `{"placement":{"host":"host-21"}}`, "INVALID_ARGUMENT"},
		{"near-full datastore", "vm-81", `{"placement":{"datastore":"datastore-28"}}`, ""}, // 412 GiB free: fits
		{"template", "vm-107", `{"placement":{"host":"host-16"}}`, "UNSUPPORTED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := relocate(tc.vm, tc.body)
			if tc.wantType == "" {
				if r.status != 204 {
					t.Errorf("status %d %s", r.status, r.body)
				}
				return
			}
			if r.status/100 == 2 || errorTypeOf(t, "/api", r.body) != tc.wantType {
				t.Errorf("status %d %s, want %s", r.status, r.body, tc.wantType)
			}
		})
	}
	if v := simVM(t, s, "vm-81"); v.Disks[0].Datastore != "datastore-28" {
		t.Errorf("Storage vMotion left the disk on %s", v.Disks[0].Datastore)
	}
	// vMotion and Storage vMotion at once, to another cluster.
	before := simVM(t, s, "vm-83")
	if r := relocate("vm-83", `{"placement":{"host":"host-16","resource_pool":"resgroup-14","datastore":"datastore-29"}}`); r.status != 204 {
		t.Fatalf("relocate: %d %s", r.status, r.body)
	}
	if v := simVM(t, s, "vm-83"); v.Host != "host-16" || v.ResourcePool != "resgroup-14" || v.Disks[0].Datastore != "datastore-29" || v.Folder != before.Folder {
		t.Errorf("after relocate %+v", v)
	}

	// CheckRelocate_Task: one CheckResult per host of a DRS pool.
	id := startedTask(t, vimCall(t, s, token, "VirtualMachineProvisioningChecker", "ProvChecker", "CheckRelocate_Task",
		`{"vm":{"_typeName":"ManagedObjectReference","type":"VirtualMachine","value":"vm-70"},"spec":{"_typeName":"VirtualMachineRelocateSpec","pool":{"_typeName":"ManagedObjectReference","type":"ResourcePool","value":"resgroup-19"}}}`))
	info := pollTask(t, s, rel, token, id)
	res, _ := info["result"].(map[string]any)
	list, _ := res["_value"].([]any)
	if res["_typeName"] != "ArrayOfCheckResult" || len(list) != 3 {
		t.Fatalf("check result %v", info["result"])
	}
	for _, x := range list {
		cr := x.(map[string]any)
		errs := cr["error"].([]any)
		host := cr["host"].(map[string]any)["value"]
		if (host == "host-21") != (len(errs) == 0) {
			t.Errorf("host %v: errors %v (only host-21 is usable)", host, errs)
		}
	}
}

func TestMaintenanceMode(t *testing.T) {
	clock := newFakeClock()
	s := newSim(t, Options{Now: clock.Now, TaskPolls: 1})
	token := loginAPI(t, s)
	enter := func(host, body string) response {
		return vimCall(t, s, token, "HostSystem", host, "EnterMaintenanceMode_Task", body)
	}
	if r := enter("host-108", `{"timeout":0}`); r.status != 500 || decode[vimFaultBody](t, r.body).TypeName != "InvalidState" {
		t.Errorf("enter while in maintenance: %d %s", r.status, r.body)
	}
	if r := enter("host-16", `{}`); r.status != 500 {
		t.Errorf("enter without timeout: %d %s", r.status, r.body)
	}
	// Prod-Cluster is fullyAutomated: DRS moves host-16's powered-on VMs.
	id := startedTask(t, enter("host-16", `{"timeout":0,"evacuatePoweredOffVms":false}`))
	if info := pollTask(t, s, rel, token, id); info["state"] != "success" {
		t.Fatalf("enter host-16: %v", info)
	}
	for _, v := range s.VMs() {
		if v.Host == "host-16" && v.PowerState == PoweredOn {
			t.Errorf("%s still powered on on host-16", v.Name)
		}
	}
	if r := decode[map[string]any](t, get(t, s, "/sdk/vim25/"+rel+"/HostSystem/host-16/runtime", token).body); r["inMaintenanceMode"] != true {
		t.Errorf("runtime %v", r)
	}
	if r := do(t, s, req{method: http.MethodPost, path: "/api/vcenter/vm/vm-82/power?action=start", token: token}); r.status != 204 {
		t.Errorf("power on backup-01 on host-17: %d %s", r.status, r.body)
	}

	// host-15 holds lb-01, overridden to manual: the task waits, then times out.
	id = startedTask(t, enter("host-15", `{"timeout":60}`))
	for range 3 {
		info := decode[map[string]any](t, get(t, s, "/sdk/vim25/"+rel+"/Task/"+id+"/info", token).body)
		if info["state"] != "running" {
			t.Fatalf("task ended while lb-01 runs on host-15: %v", info)
		}
	}
	moved := 0
	for _, v := range s.VMs() {
		if v.Host != "host-15" && (v.ID == "vm-70" || v.ID == "vm-74" || v.ID == "vm-76") {
			moved++
		}
	}
	if moved != 3 || simVM(t, s, "vm-79").Host != "host-15" {
		t.Errorf("DRS moved %d of web-01, app-01, db-01; lb-01 on %s", moved, simVM(t, s, "vm-79").Host)
	}
	clock.Advance(61 * time.Second)
	info := pollTask(t, s, rel, token, id)
	if e, _ := info["error"].(map[string]any); e["_typeName"] != "Timedout" {
		t.Errorf("after the timeout: %v", info)
	}
	for _, h := range s.Hosts() {
		if h.ID == "host-15" && h.Maintenance {
			t.Error("host-15 entered maintenance mode after a timeout")
		}
	}

	// Dev-Cluster has no DRS: nothing moves; cancel the task.
	id = startedTask(t, enter("host-21", `{"timeout":0}`))
	get(t, s, "/sdk/vim25/"+rel+"/Task/"+id+"/info", token)
	if r := vimCall(t, s, token, "Task", id, "CancelTask", ""); r.status != 204 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	if info := pollTask(t, s, rel, token, id); info["cancelled"] != true {
		t.Errorf("cancelled task %v", info)
	}

	// Exit: only from maintenance mode.
	if r := vimCall(t, s, token, "HostSystem", "host-21", "ExitMaintenanceMode_Task", `{"timeout":0}`); r.status != 500 {
		t.Errorf("exit a host not in maintenance: %d", r.status)
	}
	id = startedTask(t, vimCall(t, s, token, "HostSystem", "host-108", "ExitMaintenanceMode_Task", `{"timeout":0}`))
	if info := pollTask(t, s, rel, token, id); info["state"] != "success" || info["entity"].(map[string]any)["type"] != "HostSystem" {
		t.Errorf("exit: %v", info)
	}
	cfg := decode[map[string]any](t, get(t, s, "/sdk/vim25/"+rel+"/ClusterComputeResource/domain-c11/configurationEx", token).body)
	drs := cfg["drsConfig"].(map[string]any)
	if drs["defaultVmBehavior"] != "fullyAutomated" || len(cfg["drsVmConfig"].([]any)) != 1 {
		t.Errorf("configurationEx %v", cfg)
	}
}

func TestReconfigureDisks(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	edit := func(vmID string, key int, kb, bytes int64, extra string) response {
		dev := `{"_typeName":"VirtualDisk","key":` + itoa(key) + `,"controllerKey":1000,"capacityInKB":` + itoa64(kb)
		if bytes > 0 {
			dev += `,"capacityInBytes":` + itoa64(bytes)
		}
		dev += extra + `}`
		return vimCall(t, s, token, "VirtualMachine", vmID, "ReconfigVM_Task",
			`{"spec":{"_typeName":"VirtualMachineConfigSpec","deviceChange":[{"_typeName":"VirtualDeviceConfigSpec","operation":"edit","device":`+dev+`}]}}`)
	}
	fault := func(r response) string {
		if r.status != 500 {
			t.Fatalf("want a fault, got %d %s", r.status, r.body)
		}
		f := decode[vimFaultBody](t, r.body)
		return f.TypeName + ": " + f.FaultString
	}
	const gib = 1 << 30
	if f := fault(edit("vm-72", 2000, 0, 60*gib, "")); !strings.Contains(f, "Invalid operation for device '0'") {
		t.Errorf("zero capacityInKB: %s", f)
	}
	if f := fault(edit("vm-72", 2000, 20*gib/1024, 20*gib, "")); !strings.HasPrefix(f, "InvalidDeviceOperation") {
		t.Errorf("shrink: %s", f)
	}
	if f := fault(edit("vm-76", 2000, 200*gib/1024, 0, "")); !strings.Contains(f, "Disks with parents cannot be expanded") {
		t.Errorf("disk with snapshots: %s", f)
	}
	if f := fault(edit("vm-72", 2000, 60*gib/1024, 0, `,"backing":{"_typeName":"VirtualDiskFlatVer2BackingInfo","fileName":"[ldn-vmfs-01] other/other.vmdk"}`)); !strings.HasPrefix(f, "InvalidDeviceSpec") {
		t.Errorf("another file: %s", f)
	}
	// The old capacityInKB beside a new capacityInBytes works (govmomi #3465).
	id := startedTask(t, edit("vm-72", 2000, 40*gib/1024, 60*gib, ""))
	if info := pollTask(t, s, rel, token, id); info["state"] != "success" || simVM(t, s, "vm-72").Disks[0].CapacityBytes != 60*gib {
		t.Errorf("extend: %v, disk %+v", info, simVM(t, s, "vm-72").Disks[0])
	}
	cfg := decode[map[string]any](t, get(t, s, "/sdk/vim25/"+rel+"/VirtualMachine/vm-72/config", token).body)
	devs := cfg["hardware"].(map[string]any)["device"].([]any)
	var disk map[string]any
	for _, d := range devs {
		if m := d.(map[string]any); m["_typeName"] == "VirtualDisk" {
			disk = m
		}
	}
	if disk["capacityInBytes"] != float64(60*gib) || disk["backing"].(map[string]any)["fileName"] != "[ldn-vmfs-01] web-03/web-03.vmdk" {
		t.Errorf("config disk %v", disk)
	}
	// A thick disk that does not fit: NoDiskSpace in the task, nothing added.
	add := `{"spec":{"deviceChange":[{"operation":"add","fileOperation":"create","device":{"_typeName":"VirtualDisk","key":-1,"controllerKey":1000,` +
		`"capacityInKB":104857600,"backing":{"_typeName":"VirtualDiskFlatVer2BackingInfo","fileName":"[ldn-vmfs-02]","thinProvisioned":false,"diskMode":"persistent"}}}]}}`
	id = startedTask(t, vimCall(t, s, token, "VirtualMachine", "vm-81", "ReconfigVM_Task", add))
	if info := pollTask(t, s, rel, token, id); info["state"] != "error" || len(simVM(t, s, "vm-81").Disks) != 1 {
		t.Errorf("thick 100 GiB disk on 58 GiB free: %v", info)
	}
	id = startedTask(t, vimCall(t, s, token, "VirtualMachine", "vm-81", "ReconfigVM_Task", strings.Replace(add, "104857600", "10485760", 1)))
	if info := pollTask(t, s, rel, token, id); info["state"] != "success" || len(simVM(t, s, "vm-81").Disks) != 2 || !simVM(t, s, "vm-81").Disks[1].Thick {
		t.Errorf("thick 10 GiB disk: %v %+v", info, simVM(t, s, "vm-81").Disks)
	}
}

func TestDeviceStateRules(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	call := func(method, path, body string) response {
		return do(t, s, req{method: method, path: path, token: token, body: body})
	}
	iso := `{"backing":{"type":"ISO_FILE","iso_file":"[ldn-nfs-iso] iso/rhel-9.3-x86_64-dvd.iso"}}`
	// A running VM's connected drive: disconnect, change, connect.
	if r := call("POST", "/api/vcenter/vm/vm-70/hardware/cdrom/16000?action=connect", ""); r.status != 204 {
		t.Fatalf("connect: %d %s", r.status, r.body)
	}
	if r := call("PATCH", "/api/vcenter/vm/vm-70/hardware/cdrom/16000", iso); r.status != 400 || errorTypeOf(t, "/api", r.body) != "NOT_ALLOWED_IN_CURRENT_STATE" {
		t.Errorf("backing of a connected drive: %d %s", r.status, r.body)
	}
	call("POST", "/api/vcenter/vm/vm-70/hardware/cdrom/16000?action=disconnect", "")
	if r := call("PATCH", "/api/vcenter/vm/vm-70/hardware/cdrom/16000", iso); r.status != 204 || simVM(t, s, "vm-70").CDROMs[0].ISOFile != "[ldn-nfs-iso] iso/rhel-9.3-x86_64-dvd.iso" {
		t.Errorf("backing of a disconnected drive: %d %s", r.status, r.body)
	}
	// Suspended VMs take no new device; IDE is cold-plug only.
	for _, tc := range []struct{ path, body string }{
		{"/api/vcenter/vm/vm-78/hardware/disk", `{"new_vmdk":{"capacity":1073741824}}`},
		{"/api/vcenter/vm/vm-78/hardware/cdrom", `{}`},
		{"/api/vcenter/vm/vm-70/hardware/disk", `{"type":"IDE","new_vmdk":{"capacity":1073741824}}`},
	} {
		if r := call("POST", tc.path, tc.body); r.status != 400 || errorTypeOf(t, "/api", r.body) != "NOT_ALLOWED_IN_CURRENT_STATE" {
			t.Errorf("POST %s %s: %d %s", tc.path, tc.body, r.status, r.body)
		}
	}
	if r := call("POST", "/api/vcenter/vm/vm-73/hardware/ethernet/4000?action=connect", ""); r.status != 400 {
		t.Errorf("connect a NIC of a powered-off VM: %d", r.status)
	}
	if r := call("PATCH", "/api/vcenter/vm/vm-70/hardware/ethernet/4000", `{"backing":{"type":"STANDARD_PORTGROUP","network":"network-51"}}`); r.status != 400 {
		t.Errorf("network of another datacenter: %d %s", r.status, r.body)
	}
	// The history's clone task keeps ci-runner-03 busy.
	if r := call("POST", "/api/vcenter/vm/vm-88/hardware/disk", `{"new_vmdk":{"capacity":1073741824}}`); errorTypeOf(t, "/api", r.body) != "RESOURCE_BUSY" {
		t.Errorf("busy VM: %d %s", r.status, r.body)
	}
	// A library ISO mount adds a drive; unmount takes only such a drive.
	item := itemNamed(t, s, "ubuntu-22.04-server")
	r := call("POST", "/api/vcenter/iso/image?action=mount", `{"library_item":"`+item+`","vm":"vm-70"}`)
	cd := decode[string](t, r.body)
	v := simVM(t, s, "vm-70")
	if r.status != 200 || len(v.CDROMs) != 2 || v.CDROMs[1].LibraryItem != item || !v.CDROMs[1].Connected ||
		!strings.HasPrefix(v.CDROMs[1].ISOFile, "[ldn-nfs-iso] contentlib-") {
		t.Errorf("mount: %d %s; %+v", r.status, r.body, v.CDROMs)
	}
	if r := call("POST", "/api/vcenter/iso/image?action=unmount", `{"vm":"vm-70","cdrom":"16000"}`); r.status != 400 {
		t.Errorf("unmount a drive not mounted from a library: %d", r.status)
	}
	if r := call("POST", "/api/vcenter/iso/image?action=unmount", `{"vm":"vm-70","cdrom":"`+cd+`"}`); r.status != 204 || len(simVM(t, s, "vm-70").CDROMs) != 1 {
		t.Errorf("unmount: %d %s", r.status, r.body)
	}
}

func TestTagAttachRules(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	ids := map[string]string{}
	for _, tg := range s.Tags() {
		ids[tg.CategoryName+":"+tg.Name] = tg.ID
	}
	attach := func(tag, typ, id string) response {
		return do(t, s, req{method: http.MethodPost, path: "/api/cis/tagging/tag-association/" + ids[tag] + "?action=attach", token: token,
			body: `{"object_id":{"type":"` + typ + `","id":"` + id + `"}}`})
	}
	for _, tc := range []struct {
		name, tag, typ, id string
		want               int
	}{
		{"single cardinality taken", "Environment:Lab", "VirtualMachine", "vm-70", 400},
		{"type not associable", "Environment:Production", "HostSystem", "host-15", 400},
		{"object missing", "Owner:team-data", "VirtualMachine", "vm-999", 400},
		{"already attached", "Environment:Production", "VirtualMachine", "vm-70", 204},
		{"multiple cardinality", "Owner:team-data", "VirtualMachine", "vm-70", 204},
	} {
		if r := attach(tc.tag, tc.typ, tc.id); r.status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.body, tc.want)
		}
	}
	for _, tg := range s.Tags() {
		n := 0
		for _, o := range tg.Objects {
			if o == "vm-70" {
				n++
			}
		}
		if want := map[string]int{"Production": 1, "team-data": 1, "team-payments": 1, "backup-weekly": 1}[tg.Name]; n != want {
			t.Errorf("%s carried %d times by vm-70, want %d", tg.Name, n, want)
		}
	}
}

func itoa(n int) string     { return itoa64(int64(n)) }
func itoa64(n int64) string { b, _ := json.Marshal(n); return string(b) }
