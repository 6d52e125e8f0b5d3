package vcentersim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestGetVMDialects(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)

	api := decode[map[string]json.RawMessage](t, get(t, s, "/api/vcenter/vm/vm-76", token).body)
	for _, key := range []string{"name", "guest_OS", "power_state", "hardware", "boot", "boot_devices", "cpu", "memory", "disks", "nics",
		"cdroms", "floppies", "parallel_ports", "serial_ports", "sata_adapters", "scsi_adapters", "identity"} {
		if _, ok := api[key]; !ok {
			t.Errorf("/api VM.Info lacks %q", key)
		}
	}
	if _, ok := api["vm"]; ok {
		t.Errorf("/api VM.Info has a vm field; the id is the path parameter")
	}
	disks := decode[map[string]diskInfo](t, api["disks"])
	want := map[string]diskInfo{
		"2000": {Label: "Hard disk 1", Type: "SCSI", SCSI: scsiAddress{0, 0}, Backing: diskBacking{"VMDK_FILE", "[ldn-vsan] db-01/db-01.vmdk"}, Capacity: 100 << 30},
		"2001": {Label: "Hard disk 2", Type: "SCSI", SCSI: scsiAddress{0, 1}, Backing: diskBacking{"VMDK_FILE", "[ldn-vsan] db-01/db-01_1.vmdk"}, Capacity: 500 << 30},
	}
	if diff := cmp.Diff(want, disks); diff != "" {
		t.Errorf("/api disks (-want +got):\n%s", diff)
	}
	nics := decode[map[string]nicInfo](t, api["nics"])
	if n := nics["4000"]; n.Backing.Type != "DISTRIBUTED_PORTGROUP" || n.Backing.Network != "dvportgroup-33" || n.State != "CONNECTED" || !strings.HasPrefix(n.MACAddress, "00:50:56:") {
		t.Errorf("/api nic 4000: %+v", n)
	}

	rest := decode[struct{ Value map[string]json.RawMessage }](t, get(t, s, "/rest/vcenter/vm/vm-76", token).body).Value
	type kv struct {
		Key   string   `json:"key"`
		Value diskInfo `json:"value"`
	}
	restDisks := decode[[]kv](t, rest["disks"])
	if diff := cmp.Diff([]kv{{"2000", want["2000"]}, {"2001", want["2001"]}}, restDisks); diff != "" {
		t.Errorf("/rest disks (-want +got):\n%s", diff)
	}
	if string(rest["floppies"]) != "[]" || string(api["floppies"]) != "{}" {
		t.Errorf("empty device maps: /rest %s /api %s, want [] and {}", rest["floppies"], api["floppies"])
	}
}

// powerCase is one state-changing call and the answer §2.4 gives.
type powerCase struct {
	name, vm, method, apiPath, restPath, body string
	setup                                     func(*VM)
	errType                                   string // "" = success
	after                                     PowerState
}

func (tc powerCase) run(t *testing.T) {
	for _, dialect := range []string{"api", "rest"} {
		t.Run(tc.name+"/"+dialect, func(t *testing.T) {
			s := newSim(t, Options{})
			token := loginAPI(t, s)
			if tc.setup != nil {
				if err := s.UpdateVM(tc.vm, tc.setup); err != nil {
					t.Fatal(err)
				}
			}
			path, body := "/api/vcenter/vm/"+tc.vm+tc.apiPath, tc.body
			if dialect == "rest" {
				path = "/rest/vcenter/vm/" + tc.vm + tc.restPath
				if body != "" {
					body = `{"spec":` + body + `}`
				}
			}
			r := do(t, s, req{method: cmpOr(tc.method, http.MethodPost), path: path, token: token, body: nonEmpty(body)})
			want := map[string]int{"api": http.StatusNoContent, "rest": http.StatusOK}[dialect]
			if tc.errType != "" {
				want = map[string]map[string]int{"api": apiStatus, "rest": restStatus}[dialect][tc.errType]
			}
			if r.status != want {
				t.Fatalf("status %d body %s, want %d %s", r.status, r.body, want, tc.errType)
			}
			if tc.errType != "" {
				if got := errorTypeOf(t, path, r.body); got != tc.errType {
					t.Errorf("error type %s, want %s", got, tc.errType)
				}
			} else if len(r.body) != 0 {
				t.Errorf("void success has a body: %s", r.body)
			}
			if v, _ := s.VM(tc.vm); tc.after != "" && v.PowerState != tc.after {
				t.Errorf("power state after: %s, want %s", v.PowerState, tc.after)
			}
		})
	}
}

func cmpOr(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}

func nonEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestPowerRules(t *testing.T) {
	on, off, susp := PoweredOn, PoweredOff, Suspended
	power := func(name, vm, action, errType string, after PowerState) powerCase {
		return powerCase{name: name, vm: vm, apiPath: "/power?action=" + action, restPath: "/power/" + action, errType: errType, after: after}
	}
	for _, tc := range []powerCase{
		power("start off", "vm-73", "start", "", on),
		power("start suspended", "vm-78", "start", "", on),
		power("start on", "vm-70", "start", "ALREADY_IN_DESIRED_STATE", on),
		power("stop on", "vm-70", "stop", "", off),
		power("stop suspended", "vm-78", "stop", "", off),
		power("stop off", "vm-73", "stop", "ALREADY_IN_DESIRED_STATE", off),
		power("suspend on", "vm-70", "suspend", "", susp),
		power("suspend suspended", "vm-78", "suspend", "ALREADY_IN_DESIRED_STATE", susp),
		power("suspend off", "vm-73", "suspend", "NOT_ALLOWED_IN_CURRENT_STATE", off),
		power("reset on", "vm-70", "reset", "", on),
		power("reset off", "vm-73", "reset", "NOT_ALLOWED_IN_CURRENT_STATE", off),
		power("reset suspended", "vm-78", "reset", "NOT_ALLOWED_IN_CURRENT_STATE", susp),
		power("start unknown vm", "vm-4242", "start", "NOT_FOUND", ""),
	} {
		tc.run(t)
	}
}

func TestGuestPowerRules(t *testing.T) {
	on, off := PoweredOn, PoweredOff
	guest := func(name, vm, action, errType string, after PowerState) powerCase {
		p := "/guest/power?action=" + action
		return powerCase{name: name, vm: vm, apiPath: p, restPath: p, errType: errType, after: after}
	}
	for _, tc := range []powerCase{
		guest("shutdown", "vm-70", "shutdown", "", off),
		guest("shutdown off", "vm-73", "shutdown", "ALREADY_IN_DESIRED_STATE", off),
		guest("shutdown suspended", "vm-78", "shutdown", "NOT_ALLOWED_IN_CURRENT_STATE", Suspended),
		guest("shutdown without tools installed", "vm-79", "shutdown", "SERVICE_UNAVAILABLE", on),
		guest("shutdown with tools stopped", "vm-80", "shutdown", "SERVICE_UNAVAILABLE", on),
		guest("reboot", "vm-70", "reboot", "", on),
		guest("reboot off", "vm-73", "reboot", "NOT_ALLOWED_IN_CURRENT_STATE", off),
		guest("reboot suspended", "vm-78", "reboot", "NOT_ALLOWED_IN_CURRENT_STATE", Suspended),
		guest("reboot without tools", "vm-79", "reboot", "SERVICE_UNAVAILABLE", on),
		guest("standby", "vm-70", "standby", "", on),
		guest("standby off", "vm-73", "standby", "NOT_ALLOWED_IN_CURRENT_STATE", off),
		guest("standby without tools", "vm-80", "standby", "SERVICE_UNAVAILABLE", on),
	} {
		tc.run(t)
	}
}

func TestPowerAndGuestStateReads(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	for _, tt := range []struct{ path, want string }{
		{"/api/vcenter/vm/vm-70/power", `{"state":"POWERED_ON"}`},
		{"/api/vcenter/vm/vm-73/power", `{"state":"POWERED_OFF","clean_power_off":true}`},
		{"/api/vcenter/vm/vm-82/power", `{"state":"POWERED_OFF","clean_power_off":false}`},
		{"/rest/vcenter/vm/vm-78/power", `{"value":{"state":"SUSPENDED"}}`},
		{"/api/vcenter/vm/vm-70/guest/power", `{"state":"RUNNING","operations_ready":true}`},
		{"/api/vcenter/vm/vm-80/guest/power", `{"state":"NOT_RUNNING","operations_ready":false}`},
		{"/api/vcenter/vm/vm-73/guest/power", `{"state":"NOT_RUNNING","operations_ready":false}`},
		{"/rest/vcenter/vm/vm-78/guest/power", `{"value":{"state":"NOT_RUNNING","operations_ready":false}}`},
		{"/api/vcenter/vm/vm-70/hardware/memory", `{"size_MiB":4096,"hot_add_enabled":true,"hot_add_increment_size_MiB":128,"hot_add_limit_MiB":65536}`},
		{"/api/vcenter/vm/vm-73/hardware/memory", `{"size_MiB":4096,"hot_add_enabled":true}`}, // not running
		{"/api/vcenter/vm/vm-75/hardware/memory", `{"size_MiB":8192,"hot_add_enabled":false}`},
		{"/api/vcenter/vm/vm-76/hardware/cpu", `{"count":8,"cores_per_socket":2,"hot_add_enabled":true,"hot_remove_enabled":true}`},
		{"/rest/vcenter/vm/vm-70/hardware/cpu", `{"value":{"count":2,"cores_per_socket":1,"hot_add_enabled":true,"hot_remove_enabled":false}}`},
		{"/api/vcenter/vm/vm-79/tools", `{"auto_update_supported":false,"upgrade_policy":"MANUAL","version_status":"NOT_INSTALLED","run_state":"NOT_RUNNING"}`},
	} {
		r := get(t, s, tt.path, token)
		if r.status != http.StatusOK || string(r.body) != tt.want {
			t.Errorf("%s: status %d\n got %s\nwant %s", tt.path, r.status, r.body, tt.want)
		}
	}
	if r := get(t, s, "/api/vcenter/vm/vm-80/guest/identity", token); r.status != http.StatusServiceUnavailable {
		t.Errorf("identity with Tools stopped: status %d, want 503", r.status)
	}
}

func TestGuestShutdownDelay(t *testing.T) {
	clock := newFakeClock()
	s := newSim(t, Options{Now: clock.Now, GuestShutdownDelay: 30 * time.Second})
	token := loginAPI(t, s)
	if r := do(t, s, req{method: http.MethodPost, path: "/api/vcenter/vm/vm-70/guest/power?action=shutdown", token: token}); r.status != http.StatusNoContent {
		t.Fatalf("shutdown: status %d", r.status)
	}
	read := func() string { return string(get(t, s, "/api/vcenter/vm/vm-70/guest/power", token).body) }
	if got := read(); got != `{"state":"SHUTTING_DOWN","operations_ready":false}` {
		t.Errorf("right after the request: %s", got)
	}
	if v, _ := s.VM("vm-70"); v.PowerState != PoweredOn {
		t.Errorf("power state during the shutdown: %s, want POWERED_ON", v.PowerState)
	}
	clock.Advance(30 * time.Second)
	if got := string(get(t, s, "/api/vcenter/vm/vm-70/power", token).body); got != `{"state":"POWERED_OFF","clean_power_off":true}` {
		t.Errorf("after the delay: %s", got)
	}
}

func TestHardwareRules(t *testing.T) {
	stopped := func(v *VM) { v.PowerState, v.ToolsRunning = PoweredOff, false }
	cpu := func(name, vm, body, errType string, setup func(*VM)) powerCase {
		return powerCase{name: name, vm: vm, method: http.MethodPatch, apiPath: "/hardware/cpu", restPath: "/hardware/cpu", body: body, errType: errType, setup: setup}
	}
	mem := func(name, vm, body, errType string, setup func(*VM)) powerCase {
		return powerCase{name: name, vm: vm, method: http.MethodPatch, apiPath: "/hardware/memory", restPath: "/hardware/memory", body: body, errType: errType, setup: setup}
	}
	for _, tc := range []powerCase{
		// CPU; vm-70 runs with hot-add on, hot-remove off; vm-76 has both; vm-75 neither.
		cpu("hot add", "vm-70", `{"count":4}`, "", nil),
		cpu("hot remove off", "vm-70", `{"count":1}`, "NOT_ALLOWED_IN_CURRENT_STATE", nil),
		cpu("hot remove on", "vm-76", `{"count":6}`, "", nil),
		cpu("no hot add", "vm-75", `{"count":6}`, "NOT_ALLOWED_IN_CURRENT_STATE", nil),
		cpu("same count on a running vm", "vm-75", `{"count":4}`, "", nil),
		cpu("not a multiple of cores per socket", "vm-76", `{"count":7}`, "INVALID_ARGUMENT", nil),
		cpu("zero", "vm-73", `{"count":0}`, "INVALID_ARGUMENT", nil),
		cpu("flag change while on", "vm-75", `{"hot_add_enabled":true}`, "NOT_ALLOWED_IN_CURRENT_STATE", nil),
		cpu("flag unchanged while on", "vm-70", `{"hot_add_enabled":true}`, "", nil),
		cpu("topology change while on", "vm-70", `{"count":4,"cores_per_socket":2}`, "NOT_ALLOWED_IN_CURRENT_STATE", nil),
		cpu("anything while off", "vm-75", `{"count":8,"cores_per_socket":4,"hot_add_enabled":true,"hot_remove_enabled":true}`, "", stopped),
		cpu("suspended", "vm-78", `{"count":4}`, "NOT_ALLOWED_IN_CURRENT_STATE", nil),
		cpu("unknown field", "vm-73", `{"count":4,"sockets":2}`, "INVALID_ARGUMENT", nil),
		cpu("wrong type", "vm-73", `{"count":"four"}`, "INVALID_ARGUMENT", nil),
		cpu("null leaves unchanged", "vm-73", `{"count":null}`, "", nil),
		// Memory; vm-70 runs with hot-add on (limit 65536 MiB); vm-75 runs without.
		mem("hot add", "vm-70", `{"size_MiB":8192}`, "", nil),
		mem("hot add off", "vm-75", `{"size_MiB":16384}`, "NOT_ALLOWED_IN_CURRENT_STATE", nil),
		mem("no hot remove", "vm-70", `{"size_MiB":2048}`, "NOT_ALLOWED_IN_CURRENT_STATE", nil),
		mem("not a multiple of the increment", "vm-70", `{"size_MiB":4100}`, "NOT_ALLOWED_IN_CURRENT_STATE", nil),
		mem("over the hot-add limit", "vm-70", `{"size_MiB":131072}`, "NOT_ALLOWED_IN_CURRENT_STATE", nil),
		mem("flag change while on", "vm-70", `{"hot_add_enabled":false}`, "NOT_ALLOWED_IN_CURRENT_STATE", nil),
		mem("shrink while off", "vm-73", `{"size_MiB":2048,"hot_add_enabled":false}`, "", nil),
		mem("suspended", "vm-78", `{"size_MiB":32768}`, "NOT_ALLOWED_IN_CURRENT_STATE", nil),
		mem("not a multiple of 4", "vm-73", `{"size_MiB":1023}`, "INVALID_ARGUMENT", nil),
		mem("9.x spelling is an unknown field on 8.0", "vm-73", `{"size_mib":8192}`, "INVALID_ARGUMENT", nil),
	} {
		tc.run(t)
	}
}

func TestHardwareChangesApply(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	do(t, s, req{method: http.MethodPatch, path: "/api/vcenter/vm/vm-70/hardware/cpu", token: token, body: `{"count":4}`})
	do(t, s, req{method: http.MethodPatch, path: "/rest/vcenter/vm/vm-70/hardware/memory", token: token, body: `{"spec":{"size_MiB":8192}}`})
	v, _ := s.VM("vm-70")
	if v.CPUCount != 4 || v.MemoryMiB != 8192 {
		t.Errorf("after PATCH: %d CPUs, %d MiB; want 4 and 8192", v.CPUCount, v.MemoryMiB)
	}
}

// TestBodyWrapping pins contract §2: /rest bodies are {"spec": …}; /api
// bodies are the spec itself, and vAPI rejects fields it does not declare.
func TestBodyWrapping(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	for _, tt := range []struct {
		path, body string
		status     int
	}{
		{"/api/vcenter/vm/vm-73/hardware/cpu", `{"count":4}`, 204},
		{"/api/vcenter/vm/vm-73/hardware/cpu", `{"spec":{"count":4}}`, 400}, // a wrapper is an unknown field on /api
		{"/api/vcenter/vm/vm-73/hardware/cpu", ``, 400},
		{"/api/vcenter/vm/vm-73/hardware/cpu", `[4]`, 400},
		{"/api/vcenter/vm/vm-73/hardware/cpu", `{"count":4`, 400},
		{"/rest/vcenter/vm/vm-73/hardware/cpu", `{"spec":{"count":2}}`, 200},
		{"/rest/vcenter/vm/vm-73/hardware/cpu", `{"count":2}`, 400}, // unwrapped
		{"/rest/vcenter/vm/vm-73/hardware/cpu", `{"spec":{"count":2},"extra":1}`, 400},
		{"/rest/vcenter/vm/vm-73/hardware/cpu", `{"spec":null}`, 400},
		{"/rest/vcenter/vm/vm-73/hardware/memory", `{"spec":"8192"}`, 400},
	} {
		r := do(t, s, req{method: http.MethodPatch, path: tt.path, token: token, body: nonEmpty(tt.body)})
		if r.status != tt.status {
			t.Errorf("PATCH %s %s: status %d %s, want %d", tt.path, tt.body, r.status, r.body, tt.status)
		}
		if tt.status == 400 {
			if got := errorTypeOf(t, tt.path, r.body); got != "INVALID_ARGUMENT" {
				t.Errorf("PATCH %s %s: error %s, want INVALID_ARGUMENT", tt.path, tt.body, got)
			}
		}
	}
	// vCenter names the method, not the field (evoila/meho #2973).
	r := do(t, s, req{method: http.MethodPatch, path: "/api/vcenter/vm/vm-73/hardware/cpu", token: token, body: `{"spec":{"count":4}}`})
	want := `{"error_type":"INVALID_ARGUMENT","messages":[{"id":"vapi.invoke.invalid.input","default_message":"Invalid input for method: ::Com::Vmware::Vcenter::Vm::Hardware::CpuSvc::Update","args":["::Com::Vmware::Vcenter::Vm::Hardware::CpuSvc::Update"]}]}`
	if string(r.body) != want {
		t.Errorf("spec wrapper on /api:\n got %s\nwant %s", r.body, want)
	}
}

func TestDeleteVM(t *testing.T) {
	for _, tt := range []struct {
		name, vm, path string
		status         int
		errType        string
	}{
		{"powered on", "vm-70", "/api/vcenter/vm/vm-70", 400, "NOT_ALLOWED_IN_CURRENT_STATE"},
		{"powered off", "vm-73", "/api/vcenter/vm/vm-73", 204, ""},
		{"suspended", "vm-78", "/api/vcenter/vm/vm-78", 204, ""},
		{"rest powered off", "vm-84", "/rest/vcenter/vm/vm-84", 200, ""},
		{"rest powered on", "vm-70", "/rest/vcenter/vm/vm-70", 400, "NOT_ALLOWED_IN_CURRENT_STATE"},
		{"unknown", "vm-4242", "/api/vcenter/vm/vm-4242", 404, "NOT_FOUND"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, Options{})
			token := loginAPI(t, s)
			r := do(t, s, req{method: http.MethodDelete, path: tt.path, token: token})
			if r.status != tt.status {
				t.Fatalf("status %d %s, want %d", r.status, r.body, tt.status)
			}
			_, exists := s.VM(tt.vm)
			if tt.errType != "" {
				if got := errorTypeOf(t, tt.path, r.body); got != tt.errType {
					t.Errorf("error %s, want %s", got, tt.errType)
				}
				return
			}
			if exists {
				t.Errorf("VM %s still exists", tt.vm)
			}
			if s.Snapshots(tt.vm) != nil {
				t.Errorf("snapshots of %s survive", tt.vm)
			}
			if r := get(t, s, tt.path, token); r.status != http.StatusNotFound {
				t.Errorf("GET after delete: status %d", r.status)
			}
		})
	}
}

func TestActionURLShapes(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"POST", "/api/vcenter/vm/vm-73/power/start", 404},         // /api takes ?action=
		{"POST", "/rest/vcenter/vm/vm-73/power?action=start", 404}, // /rest power takes a path segment
		{"POST", "/api/vcenter/vm/vm-73/power", 404},               // no action
		{"POST", "/api/vcenter/vm/vm-73/power?action=boot", 404},
		{"GET", "/api/vcenter/vm/vm-73/power?action=start", 404},
		{"PUT", "/api/vcenter/vm/vm-73/hardware/cpu", 404},
		{"POST", "/api/vcenter/vm/vm-73/power?action=start", 204},
	} {
		r := do(t, s, req{method: tt.method, path: tt.path, token: token})
		if r.status != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, r.status, tt.status)
		}
	}
}

func TestBusyVMIsResourceBusy(t *testing.T) {
	s := newSim(t, Options{ManualTasks: true})
	token := loginAPI(t, s)
	r := do(t, s, req{method: http.MethodPost, path: "/sdk/vim25/8.0.3.0/VirtualMachine/vm-70/CreateSnapshotEx_Task", token: token,
		body: map[string]any{"name": "busy", "memory": false}})
	if r.status != http.StatusOK {
		t.Fatalf("create snapshot: %d %s", r.status, r.body)
	}
	for _, tt := range []struct{ method, path, body string }{
		{"POST", "/api/vcenter/vm/vm-70/power?action=stop", ""},
		{"POST", "/rest/vcenter/vm/vm-70/power/stop", ""},
		{"PATCH", "/api/vcenter/vm/vm-70/hardware/cpu", `{"count":4}`},
		{"POST", "/api/vcenter/vm/vm-70/guest/power?action=reboot", ""},
	} {
		r := do(t, s, req{method: tt.method, path: tt.path, token: token, body: nonEmpty(tt.body)})
		want := apiStatus["RESOURCE_BUSY"]
		if strings.HasPrefix(tt.path, "/rest") {
			want = restStatus["RESOURCE_BUSY"]
		}
		if got := errorTypeOf(t, tt.path, r.body); r.status != want || got != "RESOURCE_BUSY" {
			t.Errorf("%s %s: status %d %s, want %d RESOURCE_BUSY", tt.method, tt.path, r.status, got, want)
		}
	}
	s.CompleteTasks()
	if r := do(t, s, req{method: http.MethodPost, path: "/api/vcenter/vm/vm-70/power?action=stop", token: token}); r.status != http.StatusNoContent {
		t.Errorf("after the task: status %d", r.status)
	}
}
