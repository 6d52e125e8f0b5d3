package vcenter

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// Tests of the observability reads against the simulator, asserted on its
// counters and state.

const (
	routeContent     = "GET /sdk/vim25/{release}/ServiceInstance/{moId}/content"
	routePerfCounter = "GET /sdk/vim25/{release}/PerformanceManager/{moId}/perfCounter"
	routeQueryPerf   = "POST /sdk/vim25/{release}/PerformanceManager/{moId}/QueryPerf"
	routeCreateCol   = "POST /sdk/vim25/{release}/EventManager/{moId}/CreateCollectorForEvents"
	routeLatestPage  = "GET /sdk/vim25/{release}/EventHistoryCollector/{moId}/latestPage"
	routeReadPrev    = "POST /sdk/vim25/{release}/EventHistoryCollector/{moId}/ReadPreviousEvents"
	routeDestroyCol  = "POST /sdk/vim25/{release}/EventHistoryCollector/{moId}/DestroyCollector"
	routeAlarmInfo   = "GET /sdk/vim25/{release}/Alarm/{moId}/info"
	routeAckAlarm    = "POST /sdk/vim25/{release}/AlarmManager/{moId}/AcknowledgeAlarm"
)

var vm89 = EntityRef{Kind: KindVM, ID: "vm-89"}

func TestCounterCatalogueIsReadOncePerClient(t *testing.T) {
	clock := time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)
	sim := newSim(t, vcentersim.Options{Now: func() time.Time { return clock }})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = c.QueryPerf(ctx, PerfQuery{Entity: vm89, Interval: IntervalRealtime, MaxSamples: 180, Counters: []string{"cpu.usage.average", "cpu.ready.summation"}})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	cnt := sim.Counters()
	// ServiceContent twice: VI/JSON discovery reads it for the release,
	// then the observability reads for the managers' ids, once each.
	if cnt.Routes[routePerfCounter] != 1 || cnt.Routes[routeContent] != 2 || cnt.Routes[routeQueryPerf] != 10 {
		t.Errorf("10 concurrent queries: %d catalogue reads, %d ServiceContent reads, %d QueryPerf; want 1, 2, 10",
			cnt.Routes[routePerfCounter], cnt.Routes[routeContent], cnt.Routes[routeQueryPerf])
	}
	res, err := c.QueryPerf(ctx, PerfQuery{Entity: vm89, Interval: IntervalRealtime, MaxSamples: 180, Counters: []string{"cpu.ready.summation", "mem.active.average"}})
	if err != nil {
		t.Fatal(err)
	}
	want := sim.PerfSeries("vm-89", "cpu.ready.summation", 20)
	if len(res.Times) != len(want) || res.Interval != 20 {
		t.Fatalf("%d samples at %d s, want %d at 20 s", len(res.Times), res.Interval, len(want))
	}
	for i, w := range want {
		if res.Series["cpu.ready.summation"][i] != w.Value || !res.Times[i].Equal(w.Time) {
			t.Fatalf("sample %d: %d at %s, want %d at %s", i, res.Series["cpu.ready.summation"][i], res.Times[i], w.Value, w.Time)
		}
	}
	// At the day interval the level-2 counter is not collected.
	day, err := c.QueryPerf(ctx, PerfQuery{Entity: vm89, Interval: IntervalDay, Counters: []string{"cpu.usage.average", "mem.active.average"}})
	if err != nil || len(day.Times) != 288 || !slices.Equal(day.NoData, []string{"mem.active.average"}) || day.Counters["mem.active.average"].Level != 2 {
		t.Errorf("day: %d samples, no data for %v, err %v", len(day.Times), day.NoData, err)
	}
}

func TestQueryPerfReadsWhatVCenterSends(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	// A catalogue without disk.maxTotalLatency.latest: it is unknown; with
	// only unknown counters asked, the query is refused before it is sent.
	sim.InjectFault(vcentersim.Fault{Method: http.MethodGet, Path: "/sdk/vim25/*/PerformanceManager/PerfMgr/perfCounter", Status: 200,
		Body: []byte(`[{"_typeName":"PerfCounterInfo","key":202,"nameInfo":{"key":"usage"},"groupInfo":{"key":"cpu"},"unitInfo":{"key":"percent"},"rollupType":"average","statsType":"rate","level":1}]`)})
	// Samples newest first (govmomi's order), another entity first, a
	// missing sample (-1) and a per-device series.
	sim.InjectFault(vcentersim.Fault{Method: http.MethodPost, Path: "/sdk/vim25/*/PerformanceManager/PerfMgr/QueryPerf", Status: 200, Body: []byte(`[
		{"_typeName":"PerfEntityMetric","entity":{"type":"VirtualMachine","value":"vm-1"},"sampleInfo":[{"timestamp":"2026-12-01T18:00:00Z","interval":20}],"value":[{"id":{"counterId":202,"instance":""},"value":[9999]}]},
		{"_typeName":"PerfEntityMetric","entity":{"type":"VirtualMachine","value":"vm-89"},
		 "sampleInfo":[{"timestamp":"2026-12-01T18:00:40Z","interval":20},{"timestamp":"2026-12-01T18:00:20Z","interval":20},{"timestamp":"2026-12-01T18:00:00Z","interval":20}],
		 "value":[{"id":{"counterId":202,"instance":""},"value":[30,-1,10]},{"id":{"counterId":202,"instance":"0"},"value":[1,2,3]}]}]`)})
	res, err := c.QueryPerf(ctx, PerfQuery{Entity: vm89, Interval: 20, Counters: []string{"cpu.usage.average", "disk.maxTotalLatency.latest"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Series["cpu.usage.average"], []int64{10, -1, 30}) || !res.Times[0].Before(res.Times[2]) || !slices.Equal(res.Unknown, []string{"disk.maxTotalLatency.latest"}) {
		t.Errorf("series %v, times %v, unknown %v", res.Series["cpu.usage.average"], res.Times, res.Unknown)
	}
	before := sim.Counters().Routes[routeQueryPerf]
	if _, err := c.QueryPerf(ctx, PerfQuery{Entity: vm89, Counters: []string{"no.such.counter"}}); !errors.Is(err, ErrUnknownCounter) {
		t.Errorf("only unknown counters: %v", err)
	}
	if sim.Counters().Routes[routeQueryPerf] != before {
		t.Error("a query of unknown counters reached vCenter")
	}
}

func TestReadEventsPagesEveryEventOnce(t *testing.T) {
	// Events are VI/JSON: the Automation API dialect plays no part.
	for _, mode := range []Mode{ModeAPI} {
		t.Run(string(mode), func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{Events: pagedEvents})
			c := newClient(t, sim, mode)
			ctx := context.Background()
			var after *EventPosition
			seen := map[int64]bool{}
			var last Event
			pages := 0
			for {
				sim.ResetCounters()
				evs, more, err := c.ReadEvents(ctx, EventFilter{}, after, 1000)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, e := range evs {
					if seen[e.Key] {
						t.Fatalf("event %d returned twice", e.Key)
					}
					if last.Key != 0 && (e.Time.After(last.Time) || e.Key > last.Key) {
						t.Fatalf("event %d after %d: not newest first", e.Key, last.Key)
					}
					seen[e.Key], last = true, e
				}
				if n := sim.OpenEventCollectors(); n != 0 {
					t.Fatalf("page %d left %d collectors open", pages, n)
				}
				// After the first page (login, discovery): a collector's
				// create, latestPage and destroy; for the last page also the
				// reset and ReadPreviousEvents until an empty one.
				if cnt := sim.Counters(); pages > 1 && cnt.Requests > 6 || cnt.Routes[routeCreateCol] != 1 {
					t.Fatalf("page %d took %d requests, %d collectors: %v", pages, cnt.Requests, cnt.Routes[routeCreateCol], cnt.Routes)
				}
				if !more {
					break
				}
				after = &EventPosition{Time: evs[len(evs)-1].Time, Key: evs[len(evs)-1].Key}
			}
			if len(seen) != pagedEvents || pages != pagedEvents/1000 {
				t.Errorf("%d events in %d pages, want %d in %d", len(seen), pages, pagedEvents, pagedEvents/1000)
			}
		})
	}
}

func TestReadEventsSurvivesAnEmptyPageBeforeTheBound(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	all := sim.Events()
	// vCenter drops the events the user may not see after it cuts a page,
	// so a page can come back short, and the next empty, while older events
	// remain (contract §3.1, govmomi #3450): here the latest page holds the
	// newest three events only, and the next read nothing.
	var newest json.RawMessage
	if err := c.vimRead(ctx, "", http.MethodPost, "EventManager", "EventManager", "QueryEvents", map[string]any{"filter": map[string]any{"maxCount": 3}}, &newest, true); err != nil {
		t.Fatal(err)
	}
	sim.InjectFault(vcentersim.Fault{Method: http.MethodGet, Path: "/sdk/vim25/*/EventHistoryCollector/*/latestPage", Status: 200, Body: newest})
	sim.InjectFault(vcentersim.Fault{Method: http.MethodPost, Path: "/sdk/vim25/*/EventHistoryCollector/*/ReadPreviousEvents", Status: 200, Body: []byte(`[]`)})
	evs, more, err := c.ReadEvents(ctx, EventFilter{Begin: all[0].Created}, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got, want []int64
	for i, e := range evs {
		got = append(got, e.Key)
		want = append(want, int64(all[len(all)-1-i].Key))
	}
	if !more || len(got) != 10 || !slices.Equal(got, want) {
		t.Errorf("keys %v (more %v), want the newest ten %v", got, more, want)
	}
	if n := sim.Counters().Routes[routeCreateCol]; n != 2 {
		t.Errorf("%d collectors, want 2 (one restart)", n)
	}
	if n := sim.OpenEventCollectors(); n != 0 {
		t.Errorf("%d collectors left", n)
	}
}

func TestCollectorsAreDestroyedOnFailureAndCancel(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	sim.InjectFault(vcentersim.Fault{Method: http.MethodGet, Path: "/sdk/vim25/*/EventHistoryCollector/*/latestPage", Kind: vcentersim.FaultMalformedJSON})
	if _, _, err := c.ReadEvents(context.Background(), EventFilter{}, nil, 10); !errors.Is(err, ErrBadAnswer) {
		t.Errorf("malformed page: %v", err)
	}
	if n := sim.OpenEventCollectors(); n != 0 {
		t.Errorf("%d collectors left after a failed read", n)
	}
	sim.InjectFault(vcentersim.Fault{Method: http.MethodGet, Path: "/sdk/vim25/*/EventHistoryCollector/*/latestPage", Kind: vcentersim.FaultHang})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, _, err := c.ReadEvents(ctx, EventFilter{}, nil, 10)
		done <- err
	}()
	for sim.Counters().Routes[routeLatestPage] < 2 { // the hung request has arrived
		runtime.Gosched()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled read: %v", err)
	}
	if n := sim.OpenEventCollectors(); n != 0 {
		t.Errorf("%d collectors left after a cancelled read", n)
	}
}

func TestAlarmsAndAcknowledgement(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	root, err := c.RootFolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	states, err := c.TriggeredAlarms(ctx, root)
	if err != nil || len(states) != len(sim.Alarms()) {
		t.Fatalf("root: %d states (%v), want %d", len(states), err, len(sim.Alarms()))
	}
	c.NameAlarms(ctx, states)
	c.NameAlarms(ctx, states)
	distinct := map[string]bool{}
	for _, st := range states {
		distinct[st.AlarmID] = true
		if st.Name == "" {
			t.Errorf("%s has no name", st.Key)
		}
	}
	if n := sim.Counters().Routes[routeAlarmInfo]; n != len(distinct) {
		t.Errorf("%d Alarm.info reads for %d alarms named twice, want one each", n, len(distinct))
	}
	if err := c.AcknowledgeAlarm(ctx, "alarm-3", vm89); err != nil {
		t.Fatal(err)
	}
	for _, a := range sim.Alarms() {
		if a.Alarm == "alarm-3" && a.Entity == "vm-89" && !a.Acknowledged {
			t.Error("the simulator's alarm is not acknowledged")
		}
	}
	sim.InjectFault(vcentersim.Fault{Method: http.MethodPost, Path: "/sdk/vim25/*/AlarmManager/AlarmManager/AcknowledgeAlarm", Status: 503})
	before := sim.Counters().Routes[routeAckAlarm]
	if err := c.AcknowledgeAlarm(ctx, "alarm-4", EntityRef{Kind: KindVM, ID: "vm-77"}); err == nil {
		t.Error("a 503 answered acknowledgement succeeded")
	}
	if n := sim.Counters().Routes[routeAckAlarm] - before; n != 1 {
		t.Errorf("the acknowledgement was sent %d times, want once (never re-sent)", n)
	}
	if err := c.AcknowledgeAlarm(ctx, "alarm-3/../x", vm89); !errors.Is(err, ErrInvalidID) {
		t.Errorf("bad alarm id: %v", err)
	}
}

func TestSafeReadsAreRetriedButCollectorReadsAreNot(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	if _, err := c.QueryEvents(ctx, EventFilter{}, 10); err != nil { // warm ServiceContent
		t.Fatal(err)
	}
	sim.InjectFault(vcentersim.Fault{Method: http.MethodPost, Path: "/sdk/vim25/*/EventManager/EventManager/QueryEvents", Status: 503, ErrorType: "SystemError"})
	if _, err := c.QueryEvents(ctx, EventFilter{}, 10); err != nil {
		t.Errorf("QueryEvents after one 503: %v (a read is retried)", err)
	}
	sim.InjectFault(vcentersim.Fault{Method: http.MethodPost, Path: "/sdk/vim25/*/EventHistoryCollector/*/ReadPreviousEvents", Status: 503, ErrorType: "SystemError"})
	sim.ResetCounters()
	if _, _, err := c.ReadEvents(ctx, EventFilter{}, nil, 200); err == nil {
		t.Error("ReadPreviousEvents after a 503 succeeded: it moves the collector and must not be retried")
	}
	if n := sim.Counters().Routes[routeReadPrev]; n != 1 {
		t.Errorf("ReadPreviousEvents sent %d times, want 1", n)
	}
	if n := sim.OpenEventCollectors(); n != 0 {
		t.Errorf("%d collectors left", n)
	}
}

func TestTaggingInBothDialects(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, mode)
			ctx := context.Background()
			cat, err := c.TagCatalog(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(cat.Categories) != 4 || len(cat.Tags) != len(sim.Tags()) {
				t.Fatalf("%d categories, %d tags", len(cat.Categories), len(cat.Tags))
			}
			n := sim.Counters().Requests
			if _, err := c.TagCatalog(ctx); err != nil || sim.Counters().Requests != n {
				t.Errorf("a second catalogue read sent %d requests (%v), want 0", sim.Counters().Requests-n, err)
			}
			var prod vcentersim.Tag
			for _, tg := range sim.Tags() {
				if tg.Name == "Production" {
					prod = tg
				}
			}
			objs, err := c.TagObjects(ctx, []string{prod.ID})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, o := range objs[prod.ID] {
				ids = append(ids, o.ID)
			}
			slices.Sort(ids)
			want := slices.Clone(prod.Objects)
			slices.Sort(want)
			if !slices.Equal(ids, want) {
				t.Errorf("Production's objects %v, want %v", ids, want)
			}
			tags, err := c.ObjectTags(ctx, EntityRef{Kind: KindVM, ID: "vm-77"})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tg := range tags {
				names = append(names, tg.Category+":"+tg.Name)
			}
			if strings.Join(names, ",") != "Backup:backup-daily,Environment:Production,Owner:team-data" {
				t.Errorf("db-02's tags: %v", names)
			}
		})
	}
}

func TestObservabilityWithoutVIJSON(t *testing.T) {
	sim := newSim(t, vcentersim.Options{Release: "8.0.0.0"})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"performance": func() error {
			_, err := c.QueryPerf(ctx, PerfQuery{Entity: vm89, Counters: []string{"cpu.usage.average"}})
			return err
		},
		"events":  func() error { _, _, err := c.ReadEvents(ctx, EventFilter{}, nil, 10); return err },
		"alarms":  func() error { _, err := c.TriggeredAlarms(ctx, vm89); return err },
		"tasks":   func() error { _, err := c.RecentTaskIDs(ctx); return err },
		"summary": func() error { _, err := c.VMStatus(ctx, "vm-89"); return err },
	} {
		err := call()
		if !errors.Is(err, ErrNoVIJSON) || !strings.Contains(err.Error(), "8.0 U1") || strings.Contains(err.Error(), "snapshots") {
			t.Errorf("%s on 8.0 GA: %v", name, err)
		}
	}
	if _, err := c.TagCatalog(ctx); err != nil {
		t.Errorf("tagging needs no VI/JSON: %v", err)
	}
}

func TestTaskDetailsAndRecentTasks(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	ids, err := c.RecentTaskIDs(ctx)
	if err != nil || len(ids) != 3 {
		t.Fatalf("recent tasks %v (%v)", ids, err)
	}
	failed, err := c.GetTaskDetails(ctx, "task-3")
	if err != nil {
		t.Fatal(err)
	}
	if failed.State != TaskError || failed.Err == nil || failed.Err.Type != "HostNotConnected" || failed.User != `CORP.LOCAL\alice` ||
		failed.Entity.ID != "vm-93" || failed.Entity.Name != "web-fra-02" || failed.Completed.IsZero() {
		t.Errorf("task-3: %+v", failed)
	}
	if _, err := c.GetTaskDetails(ctx, "task-999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown task: %v", err)
	}
}

// Ids vCenter returns are checked before they enter a path, as those the
// model gives are: a collector named to walk the URL, an alarm on an entity
// with a hostile id.
func TestIDsFromVCenterAreCheckedBeforeUse(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	sim.InjectFault(vcentersim.Fault{Method: http.MethodPost, Path: "/sdk/vim25/*/EventManager/EventManager/CreateCollectorForEvents", Status: 200,
		Body: []byte(`{"_typeName":"ManagedObjectReference","type":"EventHistoryCollector","value":"x/../../Task/task-5/CancelTask"}`)})
	if _, _, err := c.ReadEvents(ctx, EventFilter{}, nil, 10); !errors.Is(err, ErrInvalidID) {
		t.Errorf("a collector id with a path: %v", err)
	}
	for _, r := range sim.Requests() {
		if strings.Contains(r.Path, "CancelTask") || strings.Contains(r.Path, "..") {
			t.Errorf("sent %s %s", r.Method, r.RequestURI)
		}
	}
	sim.InjectFault(vcentersim.Fault{Method: http.MethodGet, Path: "/sdk/vim25/*/VirtualMachine/vm-89/triggeredAlarmState", Status: 200,
		Body: []byte(`[{"_typeName":"AlarmState","key":"k","entity":{"type":"VirtualMachine","value":"vm-89/../x"},"alarm":{"type":"Alarm","value":"alarm-3"},"overallStatus":"red","time":"2026-12-01T00:00:00Z"},
		{"_typeName":"AlarmState","key":"k2","entity":{"type":"VirtualMachine","value":"vm-89"},"alarm":{"type":"Alarm","value":"alarm-3?x"},"overallStatus":"red","time":"2026-12-01T00:00:00Z"}]`)})
	states, err := c.TriggeredAlarms(ctx, vm89)
	if err != nil || len(states) != 0 {
		t.Errorf("hostile alarm states: %d kept (%v), want none", len(states), err)
	}
}

// A time stamp that does not parse makes encoding/json quote it in the
// error, control characters included; the error text is sanitised (the
// snapshot tree, where FuzzObservabilityResponse's find also applied).
func TestDecodeErrorsAreSanitised(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	sim.InjectFault(vcentersim.Fault{Method: http.MethodGet, Path: "/sdk/vim25/*/VirtualMachine/vm-76/snapshot", Status: 200,
		Body: []byte("{\"rootSnapshotList\":[{\"createTime\":\"\x7f\\u202e\\u001b[2J\"}]}")})
	_, err := c.ListSnapshots(context.Background(), "vm-76")
	if !errors.Is(err, ErrBadAnswer) {
		t.Fatalf("error %v, want a bad answer", err)
	}
	if msg := err.Error(); !printable(msg) {
		t.Errorf("error text is not printable: %q", msg)
	}
	var te *time.ParseError
	if !errors.As(err, &te) {
		t.Errorf("the decoding error is no longer reachable: %v", err)
	}
}
