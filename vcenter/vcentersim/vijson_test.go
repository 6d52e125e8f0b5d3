package vcentersim

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const vim = "/sdk/vim25/8.0.3.0"

// vimPost calls a VI/JSON method and returns the answer.
func vimPost(t *testing.T, s *Server, token, path string, body any) response {
	t.Helper()
	return do(t, s, req{method: http.MethodPost, path: vim + path, token: token, body: body})
}

// startTask calls a task method and returns the task id.
func startTask(t *testing.T, s *Server, token, path string, body any) string {
	t.Helper()
	r := vimPost(t, s, token, path, body)
	m := decode[moRef](t, r.body)
	if r.status != http.StatusOK || m.Type != "Task" {
		t.Fatalf("POST %s: status %d %s", path, r.status, r.body)
	}
	return m.Value
}

// runTask calls a task method and polls the task to its end.
func runTask(t *testing.T, s *Server, token, path string, body any) map[string]any {
	t.Helper()
	return pollTask(t, s, "8.0.3.0", token, startTask(t, s, token, path, body))
}

// runTaskOn is runTask on a server of another release.
func runTaskOn(t *testing.T, s *Server, release, token, path string, body any) map[string]any {
	t.Helper()
	r := do(t, s, req{method: http.MethodPost, path: "/sdk/vim25/" + release + path, token: token, body: body})
	m := decode[moRef](t, r.body)
	if r.status != http.StatusOK || m.Type != "Task" {
		t.Fatalf("POST %s: status %d %s", path, r.status, r.body)
	}
	return pollTask(t, s, release, token, m.Value)
}

// snapNames lists a VM's snapshots as "name<parent" with a * on the current one.
func snapNames(s *Server, vmID string) []string {
	byID := map[string]string{}
	out := []string{}
	for _, sn := range s.Snapshots(vmID) {
		byID[sn.ID] = sn.Name
		x := sn.Name + "<" + byID[sn.Parent]
		if sn.Current {
			x += "*"
		}
		out = append(out, x)
	}
	return out
}

func TestVIJSONAvailabilityByRelease(t *testing.T) {
	for _, tt := range []struct {
		release string
		path    string
		status  int
	}{
		{"8.0.0.0", "/sdk/vim25/8.0.0.0/ServiceInstance/ServiceInstance/content", 404}, // no VI/JSON before 8.0 U1
		{"8.0.0.0", "/sdk/vim25/7.0.3.0/ServiceInstance/ServiceInstance/content", 404},
		{"8.0.1.0", "/sdk/vim25/8.0.1.0/ServiceInstance/ServiceInstance/content", 200},
		{"8.0.1.0", "/sdk/vim25/7.0.3.0/ServiceInstance/ServiceInstance/content", 200},
		{"8.0.1.0", "/sdk/vim25/8.0.2.0/ServiceInstance/ServiceInstance/content", 404}, // newer than the server
		{"8.0.3.0", "/sdk/vim25/8.0.3.0/ServiceInstance/ServiceInstance/content", 200},
		{"8.0.3.0", "/sdk/vim25/8.0.3.1/ServiceInstance/ServiceInstance/content", 404},
		{"8.0.3.0", "/sdk/vim25/release/ServiceInstance/ServiceInstance/content", 404}, // not a version
		{"8.0.3.0", "/sdk/vim25/8.0.3.0/ServiceInstance/Other/content", 500},           // ManagedObjectNotFound
		{"8.0.3.0", "/api/vim25/8.0.3.0/ServiceInstance/ServiceInstance/content", 404},
	} {
		t.Run(tt.release+tt.path, func(t *testing.T) {
			s := newSim(t, Options{Release: tt.release})
			r := get(t, s, tt.path, "")
			if r.status != tt.status {
				t.Errorf("status %d %s, want %d", r.status, truncate(r.body), tt.status)
			}
		})
	}
}

func TestVIJSONProperties(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	for _, tt := range []struct{ path, want string }{
		{"/VirtualMachine/vm-71/name", `"web-02"`},
		{"/VirtualMachine/vm-71/snapshot", `null`},
		{"/VirtualMachine/vm-71/rootSnapshot", `null`},
		{"/VirtualMachine/vm-76/rootSnapshot", `[{"_typeName":"ManagedObjectReference","type":"VirtualMachineSnapshot","value":"snapshot-2"}]`},
		{"/VirtualMachine/vm-76/parent", `{"_typeName":"ManagedObjectReference","type":"Folder","value":"group-v8"}`},
		{"/VirtualMachine/vm-76/resourcePool", `{"_typeName":"ManagedObjectReference","type":"ResourcePool","value":"resgroup-13"}`},
		{"/VirtualMachine/vm-76/datastore", `[{"_typeName":"ManagedObjectReference","type":"Datastore","value":"datastore-29"}]`},
		{"/VirtualMachineSnapshot/snapshot-2/childSnapshot", `[{"_typeName":"ManagedObjectReference","type":"VirtualMachineSnapshot","value":"snapshot-3"},{"_typeName":"ManagedObjectReference","type":"VirtualMachineSnapshot","value":"snapshot-4"}]`},
		{"/VirtualMachineSnapshot/snapshot-5/vm", `{"_typeName":"ManagedObjectReference","type":"VirtualMachine","value":"vm-76"}`},
		{"/HostSystem/host-15/parent", `{"_typeName":"ManagedObjectReference","type":"ClusterComputeResource","value":"domain-c11"}`},
		{"/HostSystem/host-24/parent", `{"_typeName":"ManagedObjectReference","type":"ComputeResource","value":"domain-s23"}`},
		{"/HostSystem/host-24/name", `"esx-ldn-edge-01.corp.local"`},
		{"/VirtualMachine/vm-73/runtime", `{"_typeName":"VirtualMachineRuntimeInfo","host":{"_typeName":"ManagedObjectReference","type":"HostSystem","value":"host-17"},"connectionState":"connected","powerState":"poweredOff","faultToleranceState":"notConfigured","toolsInstallerMounted":false,"numMksConnections":0,"recordReplayState":"inactive","cleanPowerOff":true,"onlineStandby":false,"consolidationNeeded":false,"paused":false,"snapshotInBackground":false,"instantCloneFrozen":false}`},
	} {
		r := get(t, s, vim+tt.path, token)
		if r.status != http.StatusOK || string(r.body) != tt.want {
			t.Errorf("%s: status %d\n got %s\nwant %s", tt.path, r.status, r.body, tt.want)
		}
	}
	for _, path := range []string{"/VirtualMachine/vm-4242/name", "/VirtualMachine/web-01/snapshot", "/HostSystem/host-4242/name", "/Task/task-4242/info", "/VirtualMachineSnapshot/snapshot-4242/vm"} {
		r := get(t, s, vim+path, token)
		if f := decode[map[string]any](t, r.body); r.status != http.StatusInternalServerError || f["_typeName"] != "ManagedObjectNotFound" || f["obj"] == nil {
			t.Errorf("%s: status %d %v, want 500 ManagedObjectNotFound", path, r.status, f)
		}
	}
}

func TestSnapshotTreeShape(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	info := decode[snapshotInfoJSON](t, get(t, s, vim+"/VirtualMachine/vm-76/snapshot", token).body)
	if info.TypeName != "VirtualMachineSnapshotInfo" || info.CurrentSnapshot == nil || info.CurrentSnapshot.Value != "snapshot-5" {
		t.Fatalf("snapshot info %+v", info)
	}
	root := info.RootSnapshotList[0]
	want := snapshotTree{
		TypeName: "VirtualMachineSnapshotTree", Snapshot: ref("VirtualMachineSnapshot", "snapshot-2"), VM: ref("VirtualMachine", "vm-76"),
		Name: "before-patch-2025-03", Description: "Before the March patch run", ID: 1, CreateTime: "2025-03-05T09:00:00.000000Z", State: "poweredOff",
	}
	if diff := cmp.Diff(want, root, cmpopts.IgnoreFields(snapshotTree{}, "ChildSnapshotList")); diff != "" {
		t.Errorf("root (-want +got):\n%s", diff)
	}
	after := root.ChildSnapshotList[0]
	if after.Name != "after-patch" || after.State != "poweredOn" || after.ChildSnapshotList[0].Name != "pre-schema-change" || !after.ChildSnapshotList[0].Quiesced {
		t.Errorf("nested snapshots: %+v", after)
	}
}

func TestCreateSnapshot(t *testing.T) {
	for _, tt := range []struct {
		name    string
		vm      string
		method  string
		body    map[string]any
		setup   func(*VM)
		fault   string // task error fault; "" = success
		state   string
		quiesce bool
	}{
		{name: "ex without memory", vm: "vm-70", method: "CreateSnapshotEx_Task", body: map[string]any{"name": "s1", "description": "d", "memory": false}, state: "poweredOff"},
		{name: "ex with memory", vm: "vm-70", method: "CreateSnapshotEx_Task", body: map[string]any{"name": "s1", "memory": true}, state: "poweredOn"},
		{name: "ex quiesced", vm: "vm-70", method: "CreateSnapshotEx_Task", body: map[string]any{"name": "s1", "memory": false,
			"quiesceSpec": map[string]any{"_typeName": "VirtualMachineGuestQuiesceSpec", "timeout": 10}}, state: "poweredOff", quiesce: true},
		{name: "ex quiesce without tools", vm: "vm-80", method: "CreateSnapshotEx_Task", body: map[string]any{"name": "s1", "memory": false,
			"quiesceSpec": map[string]any{"_typeName": "VirtualMachineGuestQuiesceSpec"}}, fault: "ToolsUnavailable"},
		{name: "quiesce ignored when powered off", vm: "vm-73", method: "CreateSnapshot_Task", body: map[string]any{"name": "s1", "memory": false, "quiesce": true}, state: "poweredOff"},
		{name: "suspended", vm: "vm-78", method: "CreateSnapshot_Task", body: map[string]any{"name": "s1", "memory": false, "quiesce": false}, state: "suspended"},
		{name: "deprecated quiesced", vm: "vm-70", method: "CreateSnapshot_Task", body: map[string]any{"_typeName": "CreateSnapshotRequestType", "name": "s1", "memory": false, "quiesce": true}, state: "poweredOff", quiesce: true},
		{name: "deprecated quiesce without tools", vm: "vm-79", method: "CreateSnapshot_Task", body: map[string]any{"name": "s1", "memory": false, "quiesce": true}, fault: "ToolsUnavailable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, Options{})
			token := loginAPI(t, s)
			before := len(s.Snapshots(tt.vm))
			info := runTask(t, s, token, "/VirtualMachine/"+tt.vm+"/"+tt.method, tt.body)
			snaps := s.Snapshots(tt.vm)
			if tt.fault != "" {
				errFault := info["error"].(map[string]any) // 8.0.3: the bare fault
				if info["state"] != "error" || errFault["_typeName"] != tt.fault || len(snaps) != before {
					t.Errorf("task %v, %d snapshots; want error %s and no new snapshot", info, len(snaps), tt.fault)
				}
				return
			}
			result := info["result"].(map[string]any)
			last := snaps[len(snaps)-1]
			if info["state"] != "success" || result["type"] != "VirtualMachineSnapshot" || result["value"] != last.ID {
				t.Fatalf("task %v; new snapshot %+v", info, last)
			}
			if !last.Current || last.State != tt.state || last.Quiesced != tt.quiesce || last.Name != "s1" {
				t.Errorf("new snapshot %+v, want current, state %s, quiesced %v", last, tt.state, tt.quiesce)
			}
		})
	}
}

func TestSnapshotParameterFaults(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	for _, tt := range []struct {
		path  string
		body  any
		fault string
	}{
		{"/VirtualMachine/vm-70/CreateSnapshotEx_Task", map[string]any{"memory": false}, "InvalidArgument"},                              // name missing
		{"/VirtualMachine/vm-70/CreateSnapshotEx_Task", map[string]any{"name": 7, "memory": false}, "InvalidArgument"},                   // wrong type
		{"/VirtualMachine/vm-70/CreateSnapshotEx_Task", map[string]any{"name": "x", "memory": false, "quiesce": true}, "InvalidRequest"}, // the Ex method has quiesceSpec
		{"/VirtualMachine/vm-70/CreateSnapshotEx_Task", map[string]any{"name": "x", "memory": false, "quiesceSpec": map[string]any{"_typeName": "VirtualMachineConfigSpec"}}, "InvalidArgument"},
		{"/VirtualMachine/vm-70/CreateSnapshotEx_Task", "[1,2]", "InvalidRequest"},
		{"/VirtualMachineSnapshot/snapshot-1/RemoveSnapshot_Task", map[string]any{}, "InvalidArgument"}, // removeChildren is required
		{"/VirtualMachineSnapshot/snapshot-1/RemoveSnapshot_Task", map[string]any{"removeChildren": "no"}, "InvalidArgument"},
		{"/VirtualMachine/vm-71/RevertToCurrentSnapshot_Task", map[string]any{}, "NotFound"}, // no snapshot
		{"/VirtualMachine/vm-4242/CreateSnapshotEx_Task", map[string]any{"name": "x", "memory": false}, "ManagedObjectNotFound"},
		{"/VirtualMachineSnapshot/snapshot-4242/RevertToSnapshot_Task", map[string]any{}, "ManagedObjectNotFound"},
	} {
		r := vimPost(t, s, token, tt.path, tt.body)
		if f := decode[vimFaultBody](t, r.body); r.status != http.StatusInternalServerError || f.TypeName != tt.fault || f.FaultString == "" {
			t.Errorf("POST %s %v: status %d %+v, want 500 %s", tt.path, tt.body, r.status, f, tt.fault)
		}
	}
	if len(s.Snapshots("vm-70")) != 1 {
		t.Errorf("a refused call changed the tree: %v", snapNames(s, "vm-70"))
	}
}

func TestVIJSONContentType(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	r := do(t, s, req{method: http.MethodPost, path: vim + "/VirtualMachine/vm-70/CreateSnapshotEx_Task", token: token,
		body: `{"name":"x","memory":false}`, header: map[string]string{"Content-Type": "text/plain"}})
	if r.status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: status %d, want 415", r.status)
	}
	// A method without parameters may come without a body or a Content-Type.
	r = do(t, s, req{method: http.MethodPost, path: vim + "/VirtualMachine/vm-71/RemoveAllSnapshots_Task", token: token})
	if r.status != http.StatusOK {
		t.Errorf("RemoveAllSnapshots_Task without a body: status %d %s", r.status, r.body)
	}
}

func TestTaskProgressAndPolls(t *testing.T) {
	clock := newFakeClock()
	s := newSim(t, Options{TaskPolls: 3, Now: clock.Now})
	token := loginAPI(t, s)
	id := startTask(t, s, token, "/VirtualMachine/vm-70/CreateSnapshotEx_Task", map[string]any{"name": "p", "memory": false})
	var states []string
	for range 4 {
		clock.Advance(time.Second)
		info := decode[map[string]any](t, get(t, s, vim+"/Task/"+id+"/info", token).body)
		states = append(states, fmt.Sprintf("%v/%v", info["state"], info["progress"]))
	}
	want := []string{"running/25", "running/50", "running/75", "success/<nil>"}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("task states (-want +got):\n%s", diff)
	}
	task, _ := s.Task(id)
	want2 := Task{
		ID: id, Method: "CreateSnapshotEx_Task", DescriptionID: "VirtualMachine.createSnapshot", VM: "vm-70", EntityName: "web-01",
		State: TaskSuccess, Cancelable: true, Result: "snapshot-9",
		QueueTime: clock.Now().Add(-4 * time.Second), StartTime: clock.Now().Add(-4 * time.Second), CompleteTime: clock.Now(),
	}
	if diff := cmp.Diff(want2, task); diff != "" {
		t.Errorf("Task (-want +got):\n%s", diff)
	}
	if got := snapNames(s, "vm-70"); !cmp.Equal(got, []string{"baseline<", "p<baseline*"}) {
		t.Errorf("tree %v", got)
	}
}

// TestTaskEffectOnlyOnSuccess: the change is applied when the task ends, not
// when the method is called.
func TestTaskEffectOnlyOnSuccess(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	id := startTask(t, s, token, "/VirtualMachine/vm-76/RemoveAllSnapshots_Task", nil)
	if n := len(s.Snapshots("vm-76")); n != 4 {
		t.Errorf("while running: %d snapshots, want 4", n)
	}
	pollTask(t, s, "8.0.3.0", token, id)
	if n := len(s.Snapshots("vm-76")); n != 0 {
		t.Errorf("after success: %d snapshots, want 0", n)
	}
	if r := get(t, s, vim+"/VirtualMachine/vm-76/snapshot", token); string(r.body) != "null" {
		t.Errorf("snapshot property after remove-all: %s", r.body)
	}
	// Remove-all on a VM without snapshots succeeds.
	if info := runTask(t, s, token, "/VirtualMachine/vm-76/RemoveAllSnapshots_Task", map[string]any{"consolidate": true}); info["state"] != "success" {
		t.Errorf("second remove-all: %v", info)
	}
}

func TestRevertSnapshot(t *testing.T) {
	for _, tt := range []struct {
		name       string
		vm, path   string
		body       map[string]any
		wantPower  PowerState
		wantTree   []string
		wantTools  bool
		setupPower PowerState
	}{
		{"to a powered-off snapshot", "vm-76", "/VirtualMachineSnapshot/snapshot-2/RevertToSnapshot_Task", nil, PoweredOff,
			[]string{"before-patch-2025-03<*", "after-patch<before-patch-2025-03", "pre-schema-change<after-patch", "experiment-indexes<before-patch-2025-03"}, false, ""},
		{"to a memory snapshot", "vm-76", "/VirtualMachineSnapshot/snapshot-3/RevertToSnapshot_Task", map[string]any{}, PoweredOn,
			[]string{"before-patch-2025-03<", "after-patch<before-patch-2025-03*", "pre-schema-change<after-patch", "experiment-indexes<before-patch-2025-03"}, true, PoweredOff},
		{"to a memory snapshot, power-on suppressed", "vm-76", "/VirtualMachineSnapshot/snapshot-3/RevertToSnapshot_Task", map[string]any{"suppressPowerOn": true}, Suspended,
			[]string{"before-patch-2025-03<", "after-patch<before-patch-2025-03*", "pre-schema-change<after-patch", "experiment-indexes<before-patch-2025-03"}, false, PoweredOff},
		{"to current", "vm-84", "/VirtualMachine/vm-84/RevertToCurrentSnapshot_Task", map[string]any{}, PoweredOff,
			[]string{"clean-install<*", "seed-data<clean-install"}, false, PoweredOn},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, Options{})
			token := loginAPI(t, s)
			if tt.setupPower != "" {
				if err := s.UpdateVM(tt.vm, func(v *VM) { v.PowerState, v.ToolsRunning = tt.setupPower, tt.setupPower == PoweredOn }); err != nil {
					t.Fatal(err)
				}
			}
			var body any // nil: no body at all
			if tt.body != nil {
				body = tt.body
			}
			if info := runTask(t, s, token, tt.path, body); info["state"] != "success" || info["result"] != nil {
				t.Fatalf("task %v", info)
			}
			v, _ := s.VM(tt.vm)
			if v.PowerState != tt.wantPower || v.ToolsRunning != tt.wantTools {
				t.Errorf("after revert: %s, tools running %v; want %s, %v", v.PowerState, v.ToolsRunning, tt.wantPower, tt.wantTools)
			}
			if diff := cmp.Diff(tt.wantTree, snapNames(s, tt.vm)); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRemoveSnapshot(t *testing.T) {
	for _, tt := range []struct {
		name string
		snap string
		body map[string]any
		want []string
	}{
		{"leaf that is current", "snapshot-5", map[string]any{"removeChildren": false},
			[]string{"before-patch-2025-03<", "after-patch<before-patch-2025-03*", "experiment-indexes<before-patch-2025-03"}},
		{"inner, children re-parented", "snapshot-3", map[string]any{"removeChildren": false, "consolidate": true},
			[]string{"before-patch-2025-03<", "pre-schema-change<before-patch-2025-03*", "experiment-indexes<before-patch-2025-03"}},
		{"inner with children, holding current", "snapshot-3", map[string]any{"removeChildren": true},
			[]string{"before-patch-2025-03<*", "experiment-indexes<before-patch-2025-03"}},
		{"root, children re-parented", "snapshot-2", map[string]any{"removeChildren": false},
			[]string{"after-patch<", "pre-schema-change<after-patch*", "experiment-indexes<"}},
		{"root with children", "snapshot-2", map[string]any{"removeChildren": true}, []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, Options{})
			token := loginAPI(t, s)
			if info := runTask(t, s, token, "/VirtualMachineSnapshot/"+tt.snap+"/RemoveSnapshot_Task", tt.body); info["state"] != "success" {
				t.Fatalf("task %v", info)
			}
			if diff := cmp.Diff(tt.want, snapNames(s, "vm-76")); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
			if r := get(t, s, vim+"/VirtualMachineSnapshot/"+tt.snap+"/vm", token); r.status != http.StatusInternalServerError {
				t.Errorf("removed snapshot still readable: %d", r.status)
			}
		})
	}
}

func TestCancelTask(t *testing.T) {
	s := newSim(t, Options{ManualTasks: true})
	token := loginAPI(t, s)
	create := startTask(t, s, token, "/VirtualMachine/vm-70/CreateSnapshotEx_Task", map[string]any{"name": "c", "memory": false})

	// One task at a time per VM.
	r := vimPost(t, s, token, "/VirtualMachine/vm-70/RemoveAllSnapshots_Task", nil)
	f := decode[map[string]any](t, r.body)
	if r.status != http.StatusInternalServerError || f["_typeName"] != "TaskInProgress" || f["task"].(map[string]any)["value"] != create {
		t.Errorf("second task on the VM: status %d %v, want TaskInProgress naming %s", r.status, f, create)
	}

	if r := vimPost(t, s, token, "/Task/"+create+"/CancelTask", nil); r.status != http.StatusNoContent {
		t.Fatalf("CancelTask: status %d %s", r.status, r.body)
	}
	info := decode[map[string]any](t, get(t, s, vim+"/Task/"+create+"/info", token).body)
	wantErr := map[string]any{"_typeName": "RequestCanceled", "faultstring": "The task was canceled by a user."}
	if info["state"] != "error" || info["cancelled"] != true || !cmp.Equal(info["error"], wantErr) {
		t.Errorf("cancelled task: %v", info)
	}
	if got := snapNames(s, "vm-70"); !cmp.Equal(got, []string{"baseline<*"}) {
		t.Errorf("a cancelled create left %v", got)
	}
	if r := vimPost(t, s, token, "/Task/"+create+"/CancelTask", nil); decode[vimFaultBody](t, r.body).TypeName != "InvalidState" {
		t.Errorf("cancelling an ended task: %s, want InvalidState", r.body)
	}

	remove := startTask(t, s, token, "/VirtualMachineSnapshot/snapshot-1/RemoveSnapshot_Task", map[string]any{"removeChildren": false})
	if r := vimPost(t, s, token, "/Task/"+remove+"/CancelTask", nil); decode[vimFaultBody](t, r.body).TypeName != "NotSupported" {
		t.Errorf("cancelling a remove: %s, want NotSupported", r.body)
	}
	for range 10 { // held by ManualTasks however often it is polled
		get(t, s, vim+"/Task/"+remove+"/info", token)
	}
	if task, _ := s.Task(remove); task.State != TaskRunning || task.Progress != 99 {
		t.Errorf("held task: %+v, want running at 99 %%", task)
	}
	s.CompleteTasks()
	if task, _ := s.Task(remove); task.State != TaskSuccess || len(s.Snapshots("vm-70")) != 0 {
		t.Errorf("after CompleteTasks: %+v, snapshots %v", task, snapNames(s, "vm-70"))
	}
}

// TestFailNextTask also pins the two shapes of TaskInfo.error (contract
// changes §0.2): the bare fault of a live 8.0.3, and the documented
// LocalizedMethodFault wrapper on earlier releases.
func TestFailNextTask(t *testing.T) {
	const msg = "Unable to access file [ldn-vmfs-01] web-01/web-01.vmx"
	for _, tt := range []struct {
		release string
		want    map[string]any
	}{
		{"8.0.3.0", map[string]any{"_typeName": "FileFault", "faultstring": msg}},
		{"8.0.2.0", map[string]any{"_typeName": "LocalizedMethodFault", "fault": map[string]any{"_typeName": "FileFault"}, "localizedMessage": msg}},
		{"8.0.1.0", map[string]any{"_typeName": "LocalizedMethodFault", "fault": map[string]any{"_typeName": "FileFault"}, "localizedMessage": msg}},
	} {
		t.Run(tt.release, func(t *testing.T) {
			s := newSim(t, Options{Release: tt.release})
			token := loginVIM(t, s, tt.release)
			s.FailNextTask("FileFault", msg)
			info := runTaskOn(t, s, tt.release, token, "/VirtualMachine/vm-70/CreateSnapshotEx_Task", map[string]any{"name": "f", "memory": false})
			if info["state"] != "error" || info["cancelled"] != false || !cmp.Equal(info["error"], tt.want) || info["result"] != nil {
				t.Errorf("failed task %v, want error %v", info, tt.want)
			}
			if n := len(s.Snapshots("vm-70")); n != 1 {
				t.Errorf("failed task applied its effect: %d snapshots", n)
			}
			// Only the next task fails.
			if info := runTaskOn(t, s, tt.release, token, "/VirtualMachine/vm-70/CreateSnapshotEx_Task", map[string]any{"name": "g", "memory": false}); info["state"] != "success" {
				t.Errorf("the task after: %v", info)
			}
		})
	}
}

func TestHangTasks(t *testing.T) {
	s := newSim(t, Options{TaskPolls: 1})
	token := loginAPI(t, s)
	s.HangTasks(true)
	id := startTask(t, s, token, "/VirtualMachine/vm-70/CreateSnapshotEx_Task", map[string]any{"name": "h", "memory": false})
	var progress []any
	for range 3 {
		info := decode[map[string]any](t, get(t, s, vim+"/Task/"+id+"/info", token).body)
		progress = append(progress, info["progress"])
	}
	if !cmp.Equal(progress, []any{50.0, 99.0, 99.0}) {
		t.Errorf("progress while hung: %v", progress)
	}
	s.HangTasks(false)
	if info := pollTask(t, s, "8.0.3.0", token, id); info["state"] != "success" {
		t.Errorf("after HangTasks(false): %v", info)
	}
}

// TestSnapshotNamesAreStoredEscaped: vSphere escapes / and \ in names and
// any % that does not start an escape sequence; a client that escaped its
// name already sees it kept as sent.
func TestSnapshotNamesAreStoredEscaped(t *testing.T) {
	for sent, stored := range map[string]string{
		"50% done":       "50%25 done",
		"pre/post\\x":    "pre%2fpost%5cx",
		"100%25 escaped": "100%25 escaped",
		"%2F kept":       "%2F kept",
		"%zz and %4":     "%25zz and %254",
		"plain":          "plain",
	} {
		s := newSim(t, Options{})
		token := loginAPI(t, s)
		info := runTask(t, s, token, "/VirtualMachine/vm-71/CreateSnapshotEx_Task", map[string]any{"name": sent, "memory": false})
		if info["state"] != "success" {
			t.Fatalf("%q: task %v", sent, info)
		}
		tree := decode[snapshotInfoJSON](t, get(t, s, vim+"/VirtualMachine/vm-71/snapshot", token).body)
		if got := tree.RootSnapshotList[0].Name; got != stored {
			t.Errorf("sent %q: tree says %q, want %q", sent, got, stored)
		}
		if got := s.Snapshots("vm-71")[0].Name; got != stored {
			t.Errorf("sent %q: Snapshots says %q, want %q", sent, got, stored)
		}
	}
}
