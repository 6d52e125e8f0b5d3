package vcentersim

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// Tests of the observability side: the history, EventManager and its
// collectors, alarms, PerformanceManager, tagging, summaries and recent
// tasks, asserted on the wire as a client sees them.

func post(t testing.TB, s *Server, path, token string, body any) response {
	t.Helper()
	return do(t, s, req{method: http.MethodPost, path: path, token: token, body: body})
}

// wireEvent is the part of a VI/JSON event the tests read.
type wireEvent struct {
	TypeName    string    `json:"_typeName"`
	Key         int       `json:"key"`
	CreatedTime time.Time `json:"createdTime"`
	UserName    string    `json:"userName"`
	EventTypeID string    `json:"eventTypeId"`
	Message     string    `json:"fullFormattedMessage"`
	VM          *struct {
		VM moRef `json:"vm"`
	} `json:"vm"`
	Host *struct {
		Host moRef `json:"host"`
	} `json:"host"`
}

func events(t testing.TB, r response) []wireEvent {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, truncate(r.body))
	}
	return decode[[]wireEvent](t, r.body)
}

func entityFilter(typ, id, recursion string) map[string]any {
	return map[string]any{"_typeName": "EventFilterSpec", "entity": map[string]any{"_typeName": "EventFilterSpecByEntity", "entity": ref(typ, id), "recursion": recursion}}
}

func faultOf(t testing.TB, r response) string {
	t.Helper()
	if r.status != http.StatusInternalServerError {
		t.Fatalf("status %d, want a 500 fault: %s", r.status, truncate(r.body))
	}
	return decode[vimFaultBody](t, r.body).TypeName
}

func TestHistoryIsDeterministic(t *testing.T) {
	clock := newFakeClock()
	a, b := newSim(t, Options{Now: clock.Now}), newSim(t, Options{Now: clock.Now})
	if !reflect.DeepEqual(a.Events(), b.Events()) || !reflect.DeepEqual(a.Alarms(), b.Alarms()) || !reflect.DeepEqual(a.Tags(), b.Tags()) {
		t.Fatal("two simulators on the same clock tell different histories")
	}
	evs := a.Events()
	if len(evs) < 50 {
		t.Fatalf("%d events in the default history", len(evs))
	}
	for i, e := range evs {
		if e.Key != i+1 || i > 0 && e.Created.Before(evs[i-1].Created) || e.Created.After(clock.Now()) {
			t.Fatalf("event %d: key %d at %s, out of order or in the future", i, e.Key, e.Created)
		}
	}
	// The story: the HA restart about ten hours ago, and bob's reset.
	var ha, reset bool
	for _, e := range evs {
		ago := clock.Now().Sub(e.Created)
		ha = ha || e.Type == "com.vmware.vc.ha.VmRestartedByHAEvent" && e.VM == "vm-89" && ago > 9*time.Hour && ago < 10*time.Hour
		reset = reset || e.Type == "VmResettingEvent" && e.VM == "vm-77" && e.User == `CORP.LOCAL\bob`
	}
	if !ha || !reset {
		t.Errorf("history lacks the HA restart of vm-89 (%v) or bob's reset of vm-77 (%v)", ha, reset)
	}
	if n := len(newSim(t, Options{Now: clock.Now, Events: 5000}).Events()); n != 5000 {
		t.Errorf("Options.Events 5000 gave %d events", n)
	}
}

func TestServiceContentNamesTheManagers(t *testing.T) {
	s := newSim(t, Options{})
	c := decode[map[string]moRef](t, filterKeys(t, get(t, s, vim+"/ServiceInstance/ServiceInstance/content", "").body))
	for name, want := range map[string]string{"rootFolder": "group-d1", "perfManager": "PerfMgr", "eventManager": "EventManager", "alarmManager": "AlarmManager", "taskManager": "TaskManager"} {
		if c[name].Value != want {
			t.Errorf("%s = %q, want %q", name, c[name].Value, want)
		}
	}
}

// filterKeys drops the non-MoRef fields of ServiceContent.
func filterKeys(t testing.TB, b []byte) []byte {
	t.Helper()
	m := decode[map[string]json.RawMessage](t, b)
	delete(m, "about")
	delete(m, "_typeName")
	out, _ := json.Marshal(m)
	return out
}

func TestQueryEvents(t *testing.T) {
	s := newSim(t, Options{})
	tok := loginAPI(t, s)
	q := func(filter map[string]any) response {
		return post(t, s, vim+"/EventManager/EventManager/QueryEvents", tok, map[string]any{"filter": filter})
	}
	self := events(t, q(entityFilter("VirtualMachine", "vm-89", "self")))
	var types []string
	for i, e := range self {
		if i > 0 && e.Key > self[i-1].Key {
			t.Fatalf("events not newest first: %d after %d", e.Key, self[i-1].Key)
		}
		if e.VM == nil || e.VM.VM.Value != "vm-89" {
			t.Errorf("self filter returned event %d about %+v", e.Key, e.VM)
		}
		types = append(types, cmpType(e))
	}
	for _, want := range []string{"com.vmware.vc.ha.VmRestartedByHAEvent", "VmPoweredOnEvent", "VmReconfiguredEvent", "AlarmStatusChangedEvent"} {
		if !slices.Contains(types, want) {
			t.Errorf("vm-89's events %v lack %s", types, want)
		}
	}
	// A host's own events include the VM events that name it; a cluster's
	// "all" adds what runs below it, such as the failed host.
	host := events(t, q(entityFilter("HostSystem", "host-21", "self")))
	if !slices.ContainsFunc(host, func(e wireEvent) bool { return e.VM != nil && e.VM.VM.Value == "vm-89" }) {
		t.Error("host-21's events lack build-01's power-on there")
	}
	cluster := events(t, q(entityFilter("ClusterComputeResource", "domain-c18", "all")))
	if !slices.ContainsFunc(cluster, func(e wireEvent) bool { return e.TypeName == "DasHostFailedEvent" }) {
		t.Error("Dev-Cluster's events lack the host failure")
	}
	if all := events(t, q(map[string]any{})); len(all) != len(s.Events()) {
		t.Errorf("no filter: %d events, want all %d", len(all), len(s.Events()))
	}
	// eventTypeId matches EventEx ids and classes; type only classes.
	ha := events(t, q(map[string]any{"eventTypeId": []string{"com.vmware.vc.ha.VmRestartedByHAEvent"}}))
	if len(ha) != 2 {
		t.Errorf("%d HA restarts, want 2 (build-01, ci-runner-02)", len(ha))
	}
	if n := len(events(t, q(map[string]any{"type": []string{"com.vmware.vc.ha.VmRestartedByHAEvent"}}))); n != 0 {
		t.Errorf("type matched %d EventEx ids, want 0", n)
	}
	bob := events(t, q(map[string]any{"userName": map[string]any{"userList": []string{`corp.local\BOB`}}}))
	if len(bob) == 0 || slices.ContainsFunc(bob, func(e wireEvent) bool { return e.UserName != `CORP.LOCAL\bob` }) {
		t.Errorf("user filter: %d events, not all bob's", len(bob))
	}
	if n := len(events(t, q(map[string]any{"maxCount": 3}))); n != 3 {
		t.Errorf("maxCount 3 gave %d", n)
	}
	until := s.Events()[10].Created
	window := events(t, q(map[string]any{"time": map[string]any{"endTime": until}}))
	if len(window) == 0 || window[0].CreatedTime.After(until) {
		t.Errorf("endTime %s: newest event at %s", until, window[0].CreatedTime)
	}
	for name, filter := range map[string]map[string]any{
		"maxCount over 1000": {"maxCount": 1001},
		"unknown entity":     entityFilter("VirtualMachine", "vm-9999", "self"),
		"wrong entity type":  entityFilter("HostSystem", "vm-89", "self"),
		"unknown recursion":  entityFilter("VirtualMachine", "vm-89", "parents"),
	} {
		if f := faultOf(t, q(filter)); f != "InvalidArgument" {
			t.Errorf("%s: fault %s, want InvalidArgument", name, f)
		}
	}
}

func cmpType(e wireEvent) string {
	if e.EventTypeID != "" {
		return e.EventTypeID
	}
	return e.TypeName
}

func TestEventCollectorPaging(t *testing.T) {
	s := newSim(t, Options{Events: 5000})
	tok := loginAPI(t, s)
	create := func(filter map[string]any) string {
		r := post(t, s, vim+"/EventManager/EventManager/CreateCollectorForEvents", tok, map[string]any{"filter": filter})
		if r.status != http.StatusOK {
			t.Fatalf("create collector: %d %s", r.status, r.body)
		}
		return decode[moRef](t, r.body).Value
	}
	path := func(col, member string) string {
		return vim + "/EventHistoryCollector/" + escapePath(col) + "/" + member
	}
	col := create(map[string]any{"maxCount": 1000})

	latest := events(t, get(t, s, path(col, "latestPage"), tok))
	if len(latest) != 1000 || latest[0].Key != 5000 {
		t.Fatalf("latest page: %d events from key %d, want 1000 from 5000", len(latest), latest[0].Key)
	}
	// Newest first through the whole log: latestPage, ResetCollector,
	// ReadPreviousEvents until [] — every event once.
	seen := map[int]bool{}
	keys := []int{}
	add := func(evs []wireEvent) {
		for _, e := range evs {
			if seen[e.Key] {
				t.Fatalf("event %d read twice", e.Key)
			}
			seen[e.Key] = true
			keys = append(keys, e.Key)
		}
	}
	add(latest)
	if r := post(t, s, path(col, "ResetCollector"), tok, nil); r.status != http.StatusNoContent {
		t.Fatalf("reset: %d", r.status)
	}
	for range 10 {
		page := events(t, post(t, s, path(col, "ReadPreviousEvents"), tok, map[string]int{"maxCount": 1000}))
		if len(page) == 0 {
			break
		}
		add(page)
	}
	if len(keys) != 5000 || !slices.IsSortedFunc(keys, func(a, b int) int { return b - a }) {
		t.Fatalf("read %d events newest first (sorted: %v), want 5000", len(keys), slices.IsSortedFunc(keys, func(a, b int) int { return b - a }))
	}
	// Oldest first after a rewind; a live event joins the collector.
	if r := post(t, s, path(col, "RewindCollector"), tok, nil); r.status != http.StatusNoContent {
		t.Fatalf("rewind: %d", r.status)
	}
	first := events(t, post(t, s, path(col, "ReadNextEvents"), tok, map[string]int{"maxCount": 5}))
	if len(first) != 5 || first[0].Key != 1 || first[4].Key != 5 {
		t.Errorf("ReadNextEvents after rewind: %+v", first)
	}
	if r := post(t, s, "/api/vcenter/vm/vm-70/power?action=reset", tok, nil); r.status != http.StatusNoContent {
		t.Fatalf("reset vm-70: %d %s", r.status, r.body)
	}
	if e := events(t, get(t, s, path(col, "latestPage"), tok))[0]; e.TypeName != "VmResettingEvent" || e.Key != 5001 || !strings.Contains(e.UserName, "Administrator") {
		t.Errorf("the live reset is not the newest event: %+v", e)
	}
	if r := post(t, s, path(col, "SetCollectorPageSize"), tok, map[string]int{"maxCount": 0}); r.status != http.StatusNoContent {
		t.Fatalf("page size: %d", r.status)
	}
	if n := len(events(t, get(t, s, path(col, "latestPage"), tok))); n != 10 {
		t.Errorf("page size 0 gave %d, want the default 10", n)
	}
	for _, n := range []int{0, 1001, -1} {
		if f := faultOf(t, post(t, s, path(col, "ReadNextEvents"), tok, map[string]int{"maxCount": n})); f != "InvalidArgument" {
			t.Errorf("maxCount %d: %s", n, f)
		}
	}
	// Another session cannot use it; destroyed, it is gone.
	other := loginAPI(t, s)
	if f := faultOf(t, get(t, s, path(col, "latestPage"), other)); f != "ManagedObjectNotFound" {
		t.Errorf("another session's collector: %s", f)
	}
	if r := post(t, s, path(col, "DestroyCollector"), tok, nil); r.status != http.StatusNoContent || s.OpenEventCollectors() != 0 {
		t.Fatalf("destroy: %d, %d open", r.status, s.OpenEventCollectors())
	}
	if f := faultOf(t, get(t, s, path(col, "latestPage"), tok)); f != "ManagedObjectNotFound" {
		t.Errorf("destroyed collector: %s", f)
	}
	// 32 collectors per session.
	for range 32 {
		create(map[string]any{})
	}
	r := post(t, s, vim+"/EventManager/EventManager/CreateCollectorForEvents", tok, map[string]any{"filter": map[string]any{}})
	if f := faultOf(t, r); f != "InvalidState" {
		t.Errorf("33rd collector: %s", f)
	}
	if got := s.OpenEventCollectors(); got != 32 {
		t.Errorf("%d collectors open, want 32", got)
	}
	s.ExpireSessions()
	loginAPI(t, s)
	if r := post(t, s, vim+"/EventManager/EventManager/CreateCollectorForEvents", other, map[string]any{"filter": map[string]any{}}); r.status != http.StatusInternalServerError {
		t.Fatalf("create with an expired session: %d", r.status)
	}
}

// escapePath escapes a collector id for a path segment, as a client must.
func escapePath(s string) string {
	return strings.NewReplacer("[", "%5B", "]", "%5D").Replace(s)
}

type wireAlarmState struct {
	Entity             moRef  `json:"entity"`
	Alarm              moRef  `json:"alarm"`
	OverallStatus      string `json:"overallStatus"`
	Acknowledged       bool   `json:"acknowledged"`
	AcknowledgedByUser string `json:"acknowledgedByUser"`
	Key                string `json:"key"`
}

func TestTriggeredAlarmsPropagateToAncestors(t *testing.T) {
	s := newSim(t, Options{})
	tok := loginAPI(t, s)
	states := func(typ, id string) []string {
		r := get(t, s, vim+"/"+typ+"/"+id+"/triggeredAlarmState", tok)
		if r.status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", typ, id, r.status, r.body)
		}
		var keys []string
		for _, st := range decode[[]wireAlarmState](t, r.body) {
			keys = append(keys, st.Key)
		}
		return keys
	}
	if root := states("Folder", "group-d1"); len(root) != len(s.Alarms()) {
		t.Errorf("root folder lists %d alarms, want every one of %d", len(root), len(s.Alarms()))
	}
	for _, where := range [][2]string{{"HostSystem", "host-21"}, {"ClusterComputeResource", "domain-c18"}, {"Folder", "group-h4"}, {"Datacenter", "datacenter-2"}} {
		if !slices.Contains(states(where[0], where[1]), "alarm-2.host-21") {
			t.Errorf("%s %s lacks host-21's CPU alarm", where[0], where[1])
		}
	}
	for _, where := range [][2]string{{"VirtualMachine", "vm-89"}, {"Folder", "group-v9"}, {"Folder", "group-v3"}} {
		if !slices.Contains(states(where[0], where[1]), "alarm-3.vm-89") {
			t.Errorf("%s %s lacks build-01's CPU alarm", where[0], where[1])
		}
	}
	if got := states("HostSystem", "host-15"); len(got) != 0 {
		t.Errorf("host-15 shows %v", got)
	}
	if got := states("Datastore", "datastore-27"); !slices.Equal(got, []string{"alarm-5.datastore-27"}) {
		t.Errorf("datastore-27 shows %v", got)
	}
	if f := faultOf(t, get(t, s, vim+"/HostSystem/vm-89/triggeredAlarmState", tok)); f != "ManagedObjectNotFound" {
		t.Errorf("a VM id as a host: %s", f)
	}
}

func TestAcknowledgeAlarm(t *testing.T) {
	clock := newFakeClock()
	s := newSim(t, Options{Now: clock.Now})
	tok := loginAPI(t, s)
	ack := func(alarm string, entity moRef) response {
		return post(t, s, vim+"/AlarmManager/AlarmManager/AcknowledgeAlarm", tok, map[string]any{"alarm": ref("Alarm", alarm), "entity": entity})
	}
	state := func() AlarmState {
		for _, a := range s.Alarms() {
			if a.Alarm == "alarm-3" && a.Entity == "vm-89" {
				return a
			}
		}
		t.Fatal("alarm-3 on vm-89 is gone")
		return AlarmState{}
	}
	before := len(s.Events())
	// On an ancestor it does nothing, as in govmomi (contract §8).
	if r := ack("alarm-3", ref("Folder", "group-d1")); r.status != http.StatusNoContent || state().Acknowledged {
		t.Fatalf("ack on the root folder: %d, acknowledged %v", r.status, state().Acknowledged)
	}
	clock.Advance(time.Minute)
	if r := ack("alarm-3", ref("VirtualMachine", "vm-89")); r.status != http.StatusNoContent {
		t.Fatalf("ack: %d %s", r.status, r.body)
	}
	st := state()
	if !st.Acknowledged || st.AcknowledgedBy != `VSPHERE.LOCAL\Administrator` || !st.AcknowledgedAt.Equal(clock.Now()) || st.Status != "red" {
		t.Errorf("after ack: %+v", st)
	}
	evs := s.Events()
	if len(evs) != before+1 || evs[len(evs)-1].Type != "AlarmAcknowledgedEvent" || evs[len(evs)-1].VM != "vm-89" {
		t.Errorf("the acknowledgement logged %d events, last %+v", len(evs)-before, evs[len(evs)-1])
	}
	clock.Advance(time.Minute)
	if r := ack("alarm-3", ref("VirtualMachine", "vm-89")); r.status != http.StatusNoContent || !state().AcknowledgedAt.Equal(st.AcknowledgedAt) || len(s.Events()) != before+1 {
		t.Errorf("a second ack changed the state or logged again: %d", r.status)
	}
	for name, r := range map[string]response{
		"unknown alarm":  ack("alarm-999", ref("VirtualMachine", "vm-89")),
		"unknown entity": ack("alarm-3", ref("VirtualMachine", "vm-9999")),
	} {
		if f := faultOf(t, r); f != "ManagedObjectNotFound" {
			t.Errorf("%s: %s", name, f)
		}
	}
	if f := faultOf(t, post(t, s, vim+"/AlarmManager/AlarmManager/AcknowledgeAlarm", tok, map[string]any{"alarm": ref("Alarm", "alarm-3")})); f != "InvalidArgument" {
		t.Errorf("no entity: %s", f)
	}
	info := decode[map[string]any](t, get(t, s, vim+"/Alarm/alarm-3/info", tok).body)
	if info["name"] != "Virtual machine CPU usage" || info["systemName"] != "alarm.VmCPUUsageAlarm" {
		t.Errorf("alarm-3 info: %v", info)
	}
}

type wirePerf struct {
	Entity     moRef `json:"entity"`
	SampleInfo []struct {
		Timestamp time.Time `json:"timestamp"`
		Interval  int       `json:"interval"`
	} `json:"sampleInfo"`
	Value []struct {
		ID    metricID `json:"id"`
		Value []int64  `json:"value"`
	} `json:"value"`
}

func TestQueryPerf(t *testing.T) {
	clock := newFakeClock()
	s := newSim(t, Options{Now: clock.Now})
	tok := loginAPI(t, s)
	query := func(specs ...map[string]any) response {
		return post(t, s, vim+"/PerformanceManager/PerfMgr/QueryPerf", tok, map[string]any{"querySpec": specs})
	}
	perf := func(r response) []wirePerf {
		t.Helper()
		if r.status != http.StatusOK {
			t.Fatalf("QueryPerf: %d %s", r.status, truncate(r.body))
		}
		return decode[[]wirePerf](t, r.body)
	}
	// The catalogue has the contract's keys.
	cat := decode[[]map[string]any](t, get(t, s, vim+"/PerformanceManager/PerfMgr/perfCounter", tok).body)
	keys := map[string]float64{}
	for _, c := range cat {
		name := c["groupInfo"].(map[string]any)["key"].(string) + "." + c["nameInfo"].(map[string]any)["key"].(string) + "." + c["rollupType"].(string)
		keys[name] = c["key"].(float64)
	}
	for name, key := range map[string]float64{"cpu.usage.average": 2, "cpu.ready.summation": 12, "mem.vmmemctl.average": 90, "mem.consumed.average": 98, "disk.maxTotalLatency.latest": 133, "net.transmitted.average": 149} {
		if keys[name] != key {
			t.Errorf("%s has key %v, want %v", name, keys[name], key)
		}
	}

	vm89 := ref("VirtualMachine", "vm-89")
	m := func(key int32) map[string]any { return map[string]any{"counterId": key, "instance": ""} }
	got := perf(query(map[string]any{"entity": vm89, "metricId": []any{m(12), m(2)}, "intervalId": 20, "maxSample": 180}))
	if len(got) != 1 || len(got[0].SampleInfo) != 180 || len(got[0].Value) != 2 {
		t.Fatalf("realtime answer: %d entities, %d samples", len(got), len(got[0].SampleInfo))
	}
	want := s.PerfSeries("vm-89", "cpu.ready.summation", 20)
	for i, v := range got[0].Value[0].Value {
		if want[i].Value != v || !want[i].Time.Equal(got[0].SampleInfo[i].Timestamp) {
			t.Fatalf("sample %d: %d at %s, PerfSeries says %d at %s", i, v, got[0].SampleInfo[i].Timestamp, want[i].Value, want[i].Time)
		}
	}
	var total float64
	for _, x := range want {
		total += float64(x.Value) / (20 * 1000) * 100 / 4 // per vCPU, build-01 has 4
	}
	if avg := total / float64(len(want)); avg < 7 || avg > 12 {
		t.Errorf("build-01's CPU ready averages %.1f %% per vCPU, want the story's ~9.5 %%", avg)
	}
	// startTime exclusive, endTime inclusive; maxSample keeps the newest.
	end := got[0].SampleInfo[100].Timestamp
	start := got[0].SampleInfo[89].Timestamp
	w := perf(query(map[string]any{"entity": vm89, "metricId": []any{m(2)}, "startTime": start, "endTime": end}))
	if n := len(w[0].SampleInfo); n != 11 || !w[0].SampleInfo[10].Timestamp.Equal(end) {
		t.Errorf("window (%s, %s]: %d samples", start, end, n)
	}
	if n := len(perf(query(map[string]any{"entity": vm89, "metricId": []any{m(2)}, "maxSample": 5}))[0].SampleInfo); n != 5 {
		t.Errorf("maxSample 5 gave %d", n)
	}
	// Historical: level-1 counters only, maxSample ignored; 600 s is not an
	// interval: the next one up, 1800, answers.
	day := perf(query(map[string]any{"entity": vm89, "metricId": []any{m(2), m(33)}, "intervalId": 300, "maxSample": 5}))
	if len(day[0].SampleInfo) != 288 || len(day[0].Value) != 1 || day[0].Value[0].ID.CounterID != 2 {
		t.Errorf("day: %d samples, %d series (mem.active is level 2)", len(day[0].SampleInfo), len(day[0].Value))
	}
	if iv := perf(query(map[string]any{"entity": vm89, "metricId": []any{m(2)}, "intervalId": 600}))[0].SampleInfo[0].Interval; iv != 1800 {
		t.Errorf("intervalId 600 answered with %d", iv)
	}
	// "*" adds the devices, in realtime.
	star := perf(query(map[string]any{"entity": vm89, "metricId": []any{map[string]any{"counterId": 2, "instance": "*"}}, "maxSample": 1}))
	if len(star[0].Value) != 5 { // aggregate + 4 vCPUs
		t.Errorf("instance * gave %d series, want 5", len(star[0].Value))
	}
	// Several specs; an unknown entity is left out; a powered-off VM and a
	// disabled interval come back with the entity only.
	multi := perf(query(map[string]any{"entity": ref("VirtualMachine", "vm-9999")}, map[string]any{"entity": ref("VirtualMachine", "vm-73"), "metricId": []any{m(2)}},
		map[string]any{"entity": ref("HostSystem", "host-21"), "metricId": []any{m(2)}, "maxSample": 1}))
	if len(multi) != 2 || multi[0].Entity.Value != "vm-73" || multi[0].SampleInfo != nil || multi[1].Entity.Value != "host-21" || len(multi[1].SampleInfo) != 1 {
		t.Errorf("multi-spec answer: %+v", multi)
	}
	if err := s.SetHistoricalInterval(300, false, 1); err != nil {
		t.Fatal(err)
	}
	if d := perf(query(map[string]any{"entity": vm89, "metricId": []any{m(2)}, "intervalId": 300})); d[0].SampleInfo != nil {
		t.Error("a disabled interval has samples")
	}
	if f := faultOf(t, query(map[string]any{"metricId": []any{m(2)}})); f != "InvalidArgument" {
		t.Errorf("no entity: %s", f)
	}
	if f := faultOf(t, query(map[string]any{"entity": vm89, "format": "csv"})); f != "NotSupported" {
		t.Errorf("csv: %s", f)
	}
	avail := func(entity moRef) int {
		r := post(t, s, vim+"/PerformanceManager/PerfMgr/QueryAvailablePerfMetric", tok, map[string]any{"entity": entity})
		return len(decode[[]metricID](t, r.body))
	}
	if n := avail(ref("VirtualMachine", "vm-73")); n != 0 {
		t.Errorf("a powered-off VM has %d realtime metrics", n)
	}
	if n := avail(vm89); n < len(perfCounters) {
		t.Errorf("build-01 has %d realtime metrics", n)
	}
	// A clock that moves moves the window.
	clock.Advance(time.Minute)
	if later := s.PerfSeries("vm-89", "cpu.ready.summation", 20); !later[len(later)-1].Time.Equal(want[len(want)-1].Time.Add(time.Minute)) {
		t.Errorf("a minute later the newest sample is at %s", later[len(later)-1].Time)
	}
}

func TestSummariesAndRecentTasks(t *testing.T) {
	clock := newFakeClock()
	s := newSim(t, Options{Now: clock.Now})
	tok := loginAPI(t, s)
	vmSum := func(id string) map[string]any {
		return decode[map[string]any](t, get(t, s, vim+"/VirtualMachine/"+id+"/summary", tok).body)
	}
	off := vmSum("vm-73")
	if q := off["quickStats"].(map[string]any); len(q) != 2 || q["guestHeartbeatStatus"] != "gray" {
		t.Errorf("powered-off quickStats: %v", q)
	}
	if _, ok := off["runtime"].(map[string]any)["bootTime"]; ok {
		t.Error("a powered-off VM has a bootTime")
	}
	b := vmSum("vm-89")
	if b["overallStatus"] != "red" || b["guest"].(map[string]any)["toolsRunningStatus"] != "guestToolsRunning" {
		t.Errorf("build-01: status %v, guest %v", b["overallStatus"], b["guest"])
	}
	boot, _ := time.Parse(time.RFC3339, b["runtime"].(map[string]any)["bootTime"].(string))
	if ago := clock.Now().Sub(boot); ago < 9*time.Hour || ago > 10*time.Hour {
		t.Errorf("build-01 booted %s ago, want the HA restart ~9h43m ago", ago)
	}
	h := decode[map[string]any](t, get(t, s, vim+"/HostSystem/host-22/summary", tok).body)
	if h["runtime"].(map[string]any)["connectionState"] != "notResponding" || len(h["quickStats"].(map[string]any)) != 1 {
		t.Errorf("host-22 (not responding): runtime %v, quickStats %v", h["runtime"], h["quickStats"])
	}
	recent := func(path string) []string {
		var ids []string
		for _, r := range decode[[]moRef](t, get(t, s, vim+path, tok).body) {
			ids = append(ids, r.Value)
		}
		return ids
	}
	// task-3 failed 3 minutes ago, task-4 succeeded 6 minutes ago, task-5
	// runs; task-1 and task-2 ended days ago.
	if got := recent("/TaskManager/TaskManager/recentTask"); !slices.Equal(got, []string{"task-3", "task-4", "task-5"}) {
		t.Errorf("recent tasks %v", got)
	}
	if got := recent("/VirtualMachine/vm-88/recentTask"); !slices.Equal(got, []string{"task-5"}) {
		t.Errorf("vm-88's recent tasks %v", got)
	}
	clock.Advance(5 * time.Minute) // task-4 completed 11 minutes ago now, task-3 8
	if got := recent("/TaskManager/TaskManager/recentTask"); !slices.Equal(got, []string{"task-3", "task-5"}) {
		t.Errorf("five minutes later: %v", got)
	}
	// A guest reboot keeps bootTime (contract §1) and restarts the uptime.
	before := decode[map[string]any](t, get(t, s, vim+"/VirtualMachine/vm-70/runtime", tok).body)["bootTime"]
	if r := post(t, s, "/api/vcenter/vm/vm-70/guest/power?action=reboot", tok, nil); r.status != http.StatusNoContent {
		t.Fatalf("guest reboot: %d", r.status)
	}
	after := vmSum("vm-70")
	if after["runtime"].(map[string]any)["bootTime"] != before || after["quickStats"].(map[string]any)["uptimeSeconds"] != float64(0) {
		t.Errorf("after a guest reboot: bootTime %v (was %v), uptime %v", after["runtime"].(map[string]any)["bootTime"], before, after["quickStats"].(map[string]any)["uptimeSeconds"])
	}
	if e := s.Events()[len(s.Events())-1]; e.Type != "VmGuestRebootEvent" || e.VM != "vm-70" {
		t.Errorf("the guest reboot logged %+v", e)
	}
}

func TestTagging(t *testing.T) {
	s := newSim(t, Options{})
	tok := loginAPI(t, s)
	var prod Tag
	for _, tg := range s.Tags() {
		if tg.Name == "Production" {
			prod = tg
		}
	}
	if len(prod.Objects) < 10 || prod.CategoryName != "Environment" {
		t.Fatalf("Production tag: %+v", prod)
	}
	for _, d := range []struct{ prefix, id, action string }{{"/api/cis/tagging", "/", "action"}, {"/rest/com/vmware/cis/tagging", "/id:", "~action"}} {
		unwrap := func(r response) []byte {
			if r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", d.prefix, r.status, r.body)
			}
			if d.action == "~action" {
				return decode[struct {
					Value json.RawMessage `json:"value"`
				}](t, r.body).Value
			}
			return r.body
		}
		cats := decode[[]string](t, unwrap(get(t, s, d.prefix+"/category", tok)))
		if len(cats) != 4 {
			t.Errorf("%s: %d categories", d.prefix, len(cats))
		}
		tg := decode[map[string]any](t, unwrap(get(t, s, d.prefix+"/tag"+d.id+prod.ID, tok)))
		if tg["name"] != "Production" || tg["category_id"] != prod.Category {
			t.Errorf("%s: tag %v", d.prefix, tg)
		}
		objs := decode[[]struct {
			TagID     string     `json:"tag_id"`
			ObjectIDs []objectID `json:"object_ids"`
		}](t, unwrap(post(t, s, d.prefix+"/tag-association?"+d.action+"=list-attached-objects-on-tags", tok,
			map[string]any{"tag_ids": []string{prod.ID, tagURN + "00000000-0000-4000-8000-000000000000:GLOBAL"}})))
		if len(objs) != 1 || len(objs[0].ObjectIDs) != len(prod.Objects) {
			t.Errorf("%s: objects on tags %+v (the unknown tag must be skipped)", d.prefix, objs)
		}
		attached := decode[[]string](t, unwrap(post(t, s, d.prefix+"/tag-association?"+d.action+"=list-attached-tags", tok,
			map[string]any{"object_id": objectID{"VirtualMachine", "vm-77"}})))
		if len(attached) != 3 || !slices.Contains(attached, prod.ID) {
			t.Errorf("%s: db-02's tags %v", d.prefix, attached)
		}
		if r := get(t, s, d.prefix+"/tag"+d.id+tagURN+"00000000-0000-4000-8000-000000000000:GLOBAL", tok); r.status != http.StatusNotFound || errorTypeOf(t, d.prefix, r.body) != "NOT_FOUND" {
			t.Errorf("%s: unknown tag: %d", d.prefix, r.status)
		}
		if r := post(t, s, d.prefix+"/tag-association?"+d.action+"=list-attached-tags", tok, map[string]any{"object": "vm-77"}); r.status != http.StatusBadRequest {
			t.Errorf("%s: a body with the wrong field: %d", d.prefix, r.status)
		}
	}
	// A deleted VM leaves its tags.
	if err := s.RemoveVM("vm-77"); err != nil {
		t.Fatal(err)
	}
	for _, tg := range s.Tags() {
		if slices.Contains(tg.Objects, "vm-77") {
			t.Errorf("tag %s still lists the deleted vm-77", tg.Name)
		}
	}
}
