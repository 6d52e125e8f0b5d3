package tools

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
)

// FuzzToolArguments sends arbitrary JSON arguments to every tool through the
// real server (schema validation, guard, handler) against the simulator.
// Whatever the input: no panic reaches the recovery middleware, the session
// survives, the result's text is printable, and every request that reaches
// vCenter stays on the paths the client may send, ids in their grammar.
//
// One simulator serves the whole run, so calls that succeed change its
// inventory for later ones (a VM deleted, a snapshot taken): a failure
// found here names its input; replay it on a fresh simulator with
// go test -run 'FuzzToolArguments/<name>' ./tools.
func FuzzToolArguments(f *testing.F) {
	s := newSession(f, withRate(1e9, 1_000_000), withAuditLog(func(*syncBuffer) *audit.Log { return audit.New(io.Discard) }))
	var names []string
	for _, tool := range s.listTools() {
		names = append(names, tool.Name)
	}
	for _, seed := range []string{
		`{}`, `{"vm_id":"vm-70"}`, `{"vm_name":"web-01"}`, `{"vm_id":"../../api/session"}`, `{"vm_id":"vm-1/power?action=stop"}`,
		`{"vm_name":"app-01"}`, `{"vm_id":"vm-70","vm_name":"web-01"}`, `{"limit":0}`, `{"limit":1001}`, `{"limit":-1,"cursor":"x"}`,
		`{"cursor":"eyJxIjoiIiwibyI6LTF9"}`, `{"names":["web-01",""],"clusters":["domain-c11","../x"]}`, `{"power_states":["ON"]}`,
		`{"hostname":"evil.example.com"}`, `{"hostname":"127.0.0.1:1/x"}`, `{"confirm":"true"}`, `{"confirm":1}`,
		`{"vm_name":"web-04","confirm":true}`, `{"vm_name":"db-01","snapshot_id":"snapshot-3/../x","confirm":true}`,
		`{"vm_name":"db-01","snapshot_name":"after-patch"}`, `{"vm_name":"web-02","snapshot_name":"\u001b[31m\n","description":"\u202e"}`,
		`{"vm_name":"ci-runner-03","cpu_count":1e9}`, `{"vm_name":"ci-runner-03","memory_gb":0.001}`, `{"vm_name":"ci-runner-03","memory_mib":4097}`,
		`{"unknown":1}`, `{"__proto__":{}}`, `null`, `[]`, `"x"`, `{"vm_name":"` + strings.Repeat("a", 100) + `"}`,
	} {
		for i := range names { // every seed on every tool
			f.Add(uint8(i), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, tool uint8, args []byte) {
		if !json.Valid(args) {
			return // the client cannot send it
		}
		name := names[int(tool)%len(names)]
		s.sim.ResetCounters()
		res, err := s.cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: json.RawMessage(args)})
		if err != nil {
			if errors.Is(err, mcp.ErrConnectionClosed) || strings.Contains(err.Error(), "internal error") {
				t.Fatalf("%s(%s): %v", name, args, err)
			}
			return // a protocol error for arguments that are not an object
		}
		text := textOf(res)
		if strings.Contains(text, "internal error in this tool") {
			t.Fatalf("%s(%s) panicked: %s", name, args, text)
		}
		if !printable(text) {
			t.Fatalf("%s(%s): result text is not printable: %.300q", name, args, text)
		}
		for _, r := range s.sim.Requests() {
			if !allowedPaths.MatchString(r.Path) {
				t.Fatalf("%s(%s) sent %s %s: outside the paths the client may send", name, args, r.Method, r.RequestURI)
			}
			q, err := url.ParseQuery(r.RawQuery)
			if err != nil {
				t.Fatalf("%s(%s) sent a query that does not parse: %s", name, args, r.RequestURI)
			}
			for k := range q {
				if !allowedQueryKeys[strings.TrimPrefix(k, "filter.")] {
					t.Fatalf("%s(%s) sent query key %q", name, args, k)
				}
			}
		}
	})
}

// allowedPaths are every path the vCenter client may send, ids in their
// grammar (vcenter/ids.go); the same list guards vcenter's own fuzzers.
var allowedPaths = regexp.MustCompile(`^(` +
	`/api/session|/rest/com/vmware/cis/session` +
	`|/(api|rest)/vcenter/(vm|host|datastore|network|datacenter|cluster|resource-pool|folder)` +
	`|/(api|rest)/vcenter/vm/vm-[0-9]{1,12}(/power(/(start|stop|reset|suspend))?|/guest/(power|identity)|/hardware/(cpu|memory))?` +
	`|/(api|rest)/vcenter/(datastore/datastore|datacenter/datacenter|cluster/domain-c|resource-pool/resgroup-v?)[0-9]{1,12}` +
	`|/sdk/vim25/8\.0\.1\.0/ServiceInstance/ServiceInstance/content` +
	`|/sdk/vim25/[0-9]{1,3}(\.[0-9]{1,3}){1,3}/(` +
	`SessionManager/[A-Za-z][A-Za-z0-9_-]{0,63}/(Login|Logout)` +
	`|VirtualMachine/vm-[0-9]{1,12}/(snapshot|runtime|parent|CreateSnapshotEx_Task)` +
	`|VirtualMachineSnapshot/snapshot-[0-9]{1,12}/(RemoveSnapshot_Task|RevertToSnapshot_Task)` +
	`|Task/task-[0-9]{1,12}/(info|CancelTask)` +
	`|HostSystem/host-[0-9]{1,12}/parent` +
	// Observability (vcenter-api-observability.md).
	`|ServiceInstance/ServiceInstance/content` +
	`|VirtualMachine/vm-[0-9]{1,12}/(summary|datastore)` +
	`|HostSystem/host-[0-9]{1,12}/summary` +
	`|(VirtualMachine/vm|HostSystem/host|ClusterComputeResource/domain-c|Datacenter/datacenter|Datastore/datastore|Folder/group-[a-z])-?[0-9]{1,12}/triggeredAlarmState` +
	`|Alarm/alarm-[0-9]{1,12}/info` +
	`|AlarmManager/[A-Za-z][A-Za-z0-9_-]{0,63}/AcknowledgeAlarm` +
	`|PerformanceManager/[A-Za-z][A-Za-z0-9_-]{0,63}/(perfCounter|historicalInterval|QueryPerf)` +
	`|EventManager/[A-Za-z][A-Za-z0-9_-]{0,63}/(QueryEvents|CreateCollectorForEvents)` +
	`|EventHistoryCollector/[A-Za-z0-9%._:-]{1,300}/(latestPage|ResetCollector|ReadPreviousEvents|DestroyCollector)` +
	`|TaskManager/[A-Za-z][A-Za-z0-9_-]{0,63}/recentTask)` +
	`|/(api/cis|rest/com/vmware/cis)/tagging/(category|tag|tag-association)` +
	`|/(api/cis|rest/com/vmware/cis)/tagging/(category|tag)/(id:)?urn:vmomi:InventoryService(Tag|Category):[0-9a-fA-F-]{36}:GLOBAL` +
	`)$`)

var allowedQueryKeys = map[string]bool{"action": true, "~action": true, "vms": true, "names": true, "folders": true, "datacenters": true,
	"hosts": true, "clusters": true, "resource_pools": true, "power_states": true, "standalone": true, "connection_states": true,
	"datastores": true, "types": true, "networks": true, "type": true, "parent_folders": true, "parent_resource_pools": true}
