package vcenter

import (
	"context"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// FuzzObservabilityResponse answers one observability operation with an
// arbitrary status and body (the rest from the simulator) and runs the
// reads behind it, as FuzzVIJSONResponse does for snapshots: whatever
// vCenter sends, no panic, every string returned is printable and short,
// and every request stays on the paths this client may send, with ids in
// their grammar — a collector, alarm or entity id in an answer never walks
// a URL.
func FuzzObservabilityResponse(f *testing.F) {
	ctx := context.Background()
	vm := EntityRef{Kind: KindVM, ID: "vm-89"}
	perf := func(c *Client) (any, error) {
		return c.QueryPerf(ctx, PerfQuery{Entity: vm, Interval: 20, MaxSamples: 180, Counters: []string{"cpu.usage.average", "cpu.ready.summation"}})
	}
	events := func(c *Client) (any, error) {
		evs, _, err := c.ReadEvents(ctx, EventFilter{Entity: &vm, Begin: time.Unix(1, 0)}, nil, 20)
		return evs, err
	}
	query := func(c *Client) (any, error) { return c.QueryEvents(ctx, EventFilter{}, 50) }
	alarms := func(c *Client) (any, error) {
		st, err := c.TriggeredAlarms(ctx, vm)
		c.NameAlarms(ctx, st)
		return st, err
	}
	ack := func(c *Client) (any, error) { return nil, c.AcknowledgeAlarm(ctx, "alarm-3", vm) }
	tasks := func(c *Client) (any, error) {
		ids, err := c.RecentTaskIDs(ctx)
		var out []any
		for _, id := range ids {
			t, err := c.GetTaskDetails(ctx, id)
			out = append(out, t, err)
		}
		return out, err
	}
	summary := func(c *Client) (any, error) {
		s, err := c.VMStatus(ctx, "vm-89")
		if err != nil {
			return s, err
		}
		return c.HostStatus(ctx, s.HostID)
	}
	tags := func(c *Client) (any, error) {
		cat, err := c.TagCatalog(ctx)
		objs, _ := c.TagObjects(ctx, []string{"urn:vmomi:InventoryServiceTag:8e2a7f1c-5b3d-4c6e-9f10-2a3b4c5d6e7f:GLOBAL"})
		mine, _ := c.ObjectTags(ctx, vm)
		return []any{cat, objs, mine}, err
	}
	routes := []struct {
		method, path string
		calls        []func(*Client) (any, error)
	}{
		{"GET", "/sdk/vim25/*/ServiceInstance/ServiceInstance/content", []func(*Client) (any, error){perf, events, alarms, tasks}},
		{"GET", "/sdk/vim25/*/PerformanceManager/*/perfCounter", []func(*Client) (any, error){perf}},
		{"POST", "/sdk/vim25/*/PerformanceManager/*/QueryPerf", []func(*Client) (any, error){perf}},
		{"POST", "/sdk/vim25/*/EventManager/*/CreateCollectorForEvents", []func(*Client) (any, error){events}},
		{"GET", "/sdk/vim25/*/EventHistoryCollector/*/latestPage", []func(*Client) (any, error){events}},
		{"POST", "/sdk/vim25/*/EventHistoryCollector/*/ReadPreviousEvents", []func(*Client) (any, error){events}},
		{"POST", "/sdk/vim25/*/EventManager/*/QueryEvents", []func(*Client) (any, error){query}},
		{"GET", "/sdk/vim25/*/VirtualMachine/*/triggeredAlarmState", []func(*Client) (any, error){alarms}},
		{"GET", "/sdk/vim25/*/Alarm/*/info", []func(*Client) (any, error){alarms}},
		{"POST", "/sdk/vim25/*/AlarmManager/*/AcknowledgeAlarm", []func(*Client) (any, error){ack}},
		{"GET", "/sdk/vim25/*/TaskManager/*/recentTask", []func(*Client) (any, error){tasks}},
		{"GET", "/sdk/vim25/*/Task/*/info", []func(*Client) (any, error){tasks}},
		{"GET", "/sdk/vim25/*/VirtualMachine/*/summary", []func(*Client) (any, error){summary}},
		{"GET", "/sdk/vim25/*/HostSystem/*/summary", []func(*Client) (any, error){summary}},
		{"GET", "/api/cis/tagging/tag", []func(*Client) (any, error){tags}},
		{"GET", "/api/cis/tagging/tag/*", []func(*Client) (any, error){tags}},
		{"POST", "/api/cis/tagging/tag-association", []func(*Client) (any, error){tags}},
	}
	for _, seed := range []string{
		``, `null`, `{}`, `[]`, `[{}]`,
		`{"_typeName":"ManagedObjectReference","type":"EventHistoryCollector","value":"session[x]/../../Task/task-5/CancelTask"}`,
		`[{"_typeName":"VmPoweredOnEvent","key":-1,"createdTime":"0001-01-01T00:00:00Z","fullFormattedMessage":"\u001b[2J\u202e","vm":{"name":"\u2028","vm":{"value":"vm-1/../x"}}}]`,
		`[{"entity":{"type":"VirtualMachine","value":"vm-89"},"sampleInfo":[{"timestamp":"2026-12-01T00:00:00Z","interval":20}],"value":[{"id":{"counterId":2,"instance":""},"value":[1,2,3]}]}]`,
		`[{"key":2,"nameInfo":{"key":"usage\u0000"},"groupInfo":{"key":"cpu"},"rollupType":"average"},{"key":2,"nameInfo":{"key":"usage"},"groupInfo":{"key":"cpu"},"rollupType":"average"}]`,
		`[{"key":"k","entity":{"type":"VirtualMachine","value":"vm-89"},"alarm":{"type":"Alarm","value":"alarm-3"},"overallStatus":"red\n","acknowledgedByUser":"\u001b"}]`,
		`{"name":"\u202eevil","description":"` + strings.Repeat("x", 5000) + `"}`,
		`[{"type":"Task","value":"task-1"},{"type":"Task","value":"../../x"}]`,
		`{"state":"error","entity":{"type":"VirtualMachine","value":"vm-1?x"},"reason":{"userName":"\u0007"},"error":{"fault":{"_typeName":"X\n"}}}`,
		`["urn:vmomi:InventoryServiceTag:../../x:GLOBAL","urn:vmomi:InventoryServiceTag:8e2a7f1c-5b3d-4c6e-9f10-2a3b4c5d6e7f:GLOBAL"]`,
		`{"id":"x","category_id":"urn:vmomi:InventoryServiceCategory:../x:GLOBAL","name":"\u2029"}`,
		`[{"tag_id":"urn:vmomi:InventoryServiceTag:8e2a7f1c-5b3d-4c6e-9f10-2a3b4c5d6e7f:GLOBAL","object_ids":[{"type":"VirtualMachine","id":"vm-1/../x"}]}]`,
		`{"rootFolder":{"value":"../x"},"perfManager":{"value":"PerfMgr/../y"},"about":{"apiVersion":"8.0.3.0"},"sessionManager":{"value":"SessionManager"}}`,
	} {
		for r := range routes {
			f.Add(uint8(r), uint8(0), []byte(seed))
		}
	}
	sim := vcentersim.NewUnstartedServer(vcentersim.Options{RequestLog: 1000})
	tr := &simTransport{sim: sim}
	f.Fuzz(func(t *testing.T, route, status uint8, body []byte) {
		rt := routes[int(route)%len(routes)]
		sim.ClearFaults()
		sim.InjectFault(vcentersim.Fault{Method: rt.method, Path: rt.path, Count: -1,
			Status: fuzzStatuses[int(status)%len(fuzzStatuses)], Body: append([]byte{}, body...)})
		tr.reset(300)
		c, err := New(Config{Host: "vcenter.fuzz.test", User: sim.User(), Password: sim.Password(),
			Retries: -1, Timeout: 5 * time.Second, MaxBodyBytes: 1 << 20, Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		c.http.HTTPClient.Transport = tr
		for _, call := range rt.calls {
			out, err := call(c)
			checkStrings(t, "result", reflect.ValueOf(out))
			if err != nil {
				checkStrings(t, "error", reflect.ValueOf(err.Error()))
			}
		}
		_ = c.Close(ctx)
		tr.mu.Lock()
		defer tr.mu.Unlock()
		for i, u := range tr.sent {
			if !allowedPaths.MatchString(u.EscapedPath()) && !obsPaths.MatchString(u.EscapedPath()) {
				t.Fatalf("%s %s: outside the paths this client may send", tr.method[i], u.RequestURI())
			}
			q, err := url.ParseQuery(u.RawQuery)
			if err != nil {
				t.Fatalf("%s: query does not parse: %v", u.RequestURI(), err)
			}
			for k := range q {
				if !allowedQueryKeys[strings.TrimPrefix(k, "filter.")] && k != "~action" {
					t.Fatalf("%s: unexpected query key %q", u.RequestURI(), k)
				}
			}
		}
	})
}

// obsPaths are the observability paths this client may send, ids in
// their grammar.
var obsPaths = regexp.MustCompile(`^(` +
	`/sdk/vim25/[0-9]{1,3}(\.[0-9]{1,3}){1,3}/(` +
	`ServiceInstance/ServiceInstance/content` +
	`|VirtualMachine/vm-[0-9]{1,12}/(summary|datastore|triggeredAlarmState)` +
	`|HostSystem/host-[0-9]{1,12}/(summary|triggeredAlarmState)` +
	`|Folder/group-[a-z][0-9]{1,12}/triggeredAlarmState` +
	`|Alarm/alarm-[0-9]{1,12}/info` +
	`|AlarmManager/[A-Za-z][A-Za-z0-9_-]{0,63}/AcknowledgeAlarm` +
	`|PerformanceManager/[A-Za-z][A-Za-z0-9_-]{0,63}/(perfCounter|historicalInterval|QueryPerf)` +
	`|EventManager/[A-Za-z][A-Za-z0-9_-]{0,63}/(QueryEvents|CreateCollectorForEvents)` +
	`|EventHistoryCollector/[A-Za-z0-9%._:-]{1,300}/(latestPage|ResetCollector|ReadPreviousEvents|DestroyCollector)` +
	`|TaskManager/[A-Za-z][A-Za-z0-9_-]{0,63}/recentTask` +
	`|Task/task-[0-9]{1,12}/info)` +
	`|/(api/cis|rest/com/vmware/cis)/tagging/(category|tag|tag-association)` +
	`|/(api/cis|rest/com/vmware/cis)/tagging/(category|tag)/(id:)?urn:vmomi:InventoryService(Tag|Category):[0-9a-fA-F-]{36}:GLOBAL` +
	`)$`)
