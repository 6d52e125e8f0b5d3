package vcenter

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// EventManager and EventHistoryCollector (vcenter-api-observability.md §3).
// QueryEvents answers only the newest 1000 events; anything longer is read
// through a collector, one page at a time, so memory stays bounded by a page.

// MaxEventPage is the most events one read returns (QueryEvents, a
// collector page).
const MaxEventPage = 1000

const eventsWhat = "events"

// EventFilter selects events; empty fields match everything.
type EventFilter struct {
	// Entity limits the events to those about it (nil: all events).
	Entity *EntityRef
	// Recursion is "self" (events naming the entity) or "all" (the entity
	// and everything below it); "" means "all".
	Recursion string
	// Begin and End bound createdTime, both inclusive.
	Begin, End time.Time
	// Types are eventTypeId values: class names ("VmPoweredOnEvent") or
	// EventEx ids ("com.vmware.vc.ha.VmRestartedByHAEvent").
	Types []string
	// Users match Event.userName, case-insensitively.
	Users []string
}

// EntityName is an entity an event names: its id and its name at the time.
type EntityName struct {
	ID, Name string
}

// Event is one vCenter event. Text fields are vCenter's, sanitised and capped.
type Event struct {
	Key     int64
	ChainID int64
	Time    time.Time // createdTime
	// Type is the class name, or the eventTypeId of an EventEx.
	Type     string
	Category string // see [EventCategories]; "other" for the rest
	Severity string // EventEx severity: info, warning, error, user
	Message  string // fullFormattedMessage
	User     string // "" for system actions (HA, DRS)

	VM, Host, Cluster, Datacenter, Datastore EntityName
	// Type-specific: the change a VmReconfiguredEvent made; the source of a
	// migration; the alarm, its entity and the status change of an alarm event.
	ConfigChanges string
	SourceHost    EntityName
	Alarm         EntityName
	AlarmEntity   EntityName
	From, To      string
}

// EventCategories are the event categories the tools filter on, each with
// the event types it covers (class names and EventEx ids of vSphere 8).
var EventCategories = map[string][]string{
	"power":     {"VmPoweredOnEvent", "VmPoweredOffEvent", "VmResettingEvent", "VmSuspendedEvent", "VmStartingEvent", "VmStoppingEvent"},
	"guest":     {"VmGuestRebootEvent", "VmGuestShutdownEvent", "VmGuestStandbyEvent"},
	"reconfig":  {"VmReconfiguredEvent"},
	"migration": {"VmMigratedEvent", "DrsVmMigratedEvent", "VmRelocatedEvent"},
	"snapshot":  {"com.vmware.vc.vm.VmStateRevertedToSnapshot", "com.vmware.vc.VmDiskConsolidatedEvent", "com.vmware.vc.VmDiskConsolidationNeeded"},
	"ha":        {"com.vmware.vc.ha.VmRestartedByHAEvent", "DasHostFailedEvent", "DasHostIsolatedEvent", "VmDasBeingResetEvent"},
	"alarm":     {"AlarmStatusChangedEvent", "AlarmAcknowledgedEvent", "AlarmClearedEvent"},
	"login":     {"UserLoginSessionEvent", "UserLogoutSessionEvent", "BadUsernameSessionEvent"},
}

// EventCategoryOf returns the category of an event type, "other" when it
// belongs to none.
func EventCategoryOf(typ string) string {
	for cat, types := range EventCategories {
		if slices.Contains(types, typ) {
			return cat
		}
	}
	return "other"
}

type vimEvent struct {
	TypeName    string   `json:"_typeName"`
	Key         int64    `json:"key"`
	ChainID     int64    `json:"chainId"`
	CreatedTime vimStamp `json:"createdTime"`
	UserName    string   `json:"userName"`
	Message     string   `json:"fullFormattedMessage"`
	EventTypeID string   `json:"eventTypeId"`
	Severity    string   `json:"severity"`
	Datacenter  *struct {
		Name string `json:"name"`
		Ref  moRef  `json:"datacenter"`
	} `json:"datacenter"`
	ComputeResource *struct {
		Name string `json:"name"`
		Ref  moRef  `json:"computeResource"`
	} `json:"computeResource"`
	Host *struct {
		Name string `json:"name"`
		Ref  moRef  `json:"host"`
	} `json:"host"`
	VM *struct {
		Name string `json:"name"`
		Ref  moRef  `json:"vm"`
	} `json:"vm"`
	DS *struct {
		Name string `json:"name"`
		Ref  moRef  `json:"datastore"`
	} `json:"ds"`
	ConfigChanges *struct {
		Modified string `json:"modified"`
	} `json:"configChanges"`
	SourceHost *struct {
		Name string `json:"name"`
		Ref  moRef  `json:"host"`
	} `json:"sourceHost"`
	Alarm *struct {
		Name string `json:"name"`
		Ref  moRef  `json:"alarm"`
	} `json:"alarm"`
	Entity *struct {
		Name string `json:"name"`
		Ref  moRef  `json:"entity"`
	} `json:"entity"`
	From string `json:"from"`
	To   string `json:"to"`
}

func (e *vimEvent) event() Event {
	name := func(n string, r moRef) EntityName {
		return EntityName{ID: sanitize(r.Value, maxIDLen), Name: sanitize(n, maxNameLen)}
	}
	ev := Event{Key: e.Key, ChainID: e.ChainID, Time: e.CreatedTime.Time, Type: sanitize(e.TypeName, 96),
		Severity: sanitize(e.Severity, 16), Message: sanitize(e.Message, maxMessageLen), User: sanitize(e.UserName, maxNameLen),
		From: sanitize(e.From, 16), To: sanitize(e.To, 16)}
	if e.EventTypeID != "" {
		ev.Type = sanitize(e.EventTypeID, 128)
	}
	ev.Category = EventCategoryOf(ev.Type)
	if e.Datacenter != nil {
		ev.Datacenter = name(e.Datacenter.Name, e.Datacenter.Ref)
	}
	if e.ComputeResource != nil {
		ev.Cluster = name(e.ComputeResource.Name, e.ComputeResource.Ref)
	}
	if e.Host != nil {
		ev.Host = name(e.Host.Name, e.Host.Ref)
	}
	if e.VM != nil {
		ev.VM = name(e.VM.Name, e.VM.Ref)
	}
	if e.DS != nil {
		ev.Datastore = name(e.DS.Name, e.DS.Ref)
	}
	if e.ConfigChanges != nil {
		ev.ConfigChanges = sanitize(e.ConfigChanges.Modified, maxMessageLen)
	}
	if e.SourceHost != nil {
		ev.SourceHost = name(e.SourceHost.Name, e.SourceHost.Ref)
	}
	if e.Alarm != nil {
		ev.Alarm = name(e.Alarm.Name, e.Alarm.Ref)
	}
	if e.Entity != nil {
		ev.AlarmEntity = name(e.Entity.Name, e.Entity.Ref)
	}
	return ev
}

// spec renders the filter as an EventFilterSpec.
func (f EventFilter) spec(maxCount int) (map[string]any, error) {
	m := map[string]any{"_typeName": "EventFilterSpec"}
	if f.Entity != nil {
		if err := f.Entity.validate(); err != nil {
			return nil, err
		}
		rec := f.Recursion
		if rec == "" {
			rec = "all"
		}
		m["entity"] = map[string]any{"_typeName": "EventFilterSpecByEntity", "entity": f.Entity.moRef(), "recursion": rec}
	}
	if !f.Begin.IsZero() || !f.End.IsZero() {
		t := map[string]any{"_typeName": "EventFilterSpecByTime"}
		if !f.Begin.IsZero() {
			t["beginTime"] = vimTimeOf(f.Begin)
		}
		if !f.End.IsZero() {
			t["endTime"] = vimTimeOf(f.End)
		}
		m["time"] = t
	}
	if len(f.Users) > 0 {
		m["userName"] = map[string]any{"_typeName": "EventFilterSpecByUsername", "systemUser": false, "userList": f.Users}
	}
	if len(f.Types) > 0 {
		m["eventTypeId"] = f.Types
	}
	if maxCount > 0 {
		m["maxCount"] = maxCount
	}
	return m, nil
}

// decodeEvents turns vCenter's events into [Event]s, newest first.
func decodeEvents(raw []vimEvent) []Event {
	out := make([]Event, 0, len(raw))
	for i := range raw {
		out = append(out, raw[i].event())
	}
	slices.SortStableFunc(out, func(a, b Event) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return compareKeys(b.Key, a.Key)
	})
	return out
}

func compareKeys(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// QueryEvents returns the newest events matching f, at most max (1 to
// 1000), newest first, in one request. It cannot reach older events: see
// [Client.ReadEvents].
func (c *Client) QueryEvents(ctx context.Context, f EventFilter, max int) ([]Event, error) {
	if max < 1 || max > MaxEventPage {
		return nil, fmt.Errorf("read events: at most %d events per read, not %d", MaxEventPage, max)
	}
	spec, err := f.spec(max)
	if err != nil {
		return nil, err
	}
	m, err := c.obsManagers(ctx, eventsWhat)
	if err != nil {
		return nil, err
	}
	var raw []vimEvent
	if err := c.vimRead(ctx, eventsWhat, http.MethodPost, "EventManager", m.event, "QueryEvents", map[string]any{"filter": spec}, &raw, true); err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	return decodeEvents(raw), nil
}

// EventPosition is where a newest-first read stopped: the oldest event it
// returned. The next read continues with the events older than it.
type EventPosition struct {
	Time time.Time
	Key  int64
}

// before reports whether e comes after p in newest-first order.
func (p *EventPosition) before(e Event) bool {
	return p == nil || e.Time.Before(p.Time) || e.Time.Equal(p.Time) && e.Key < p.Key
}

// ReadEvents returns up to n (1 to 1000) events matching f, newest first,
// older than after when it is set, and whether more may follow. It reads
// through one EventHistoryCollector (latestPage, then ResetCollector and
// ReadPreviousEvents), holding at most one page at a time, and destroys the
// collector before it returns, also on errors and cancellation.
//
// vCenter may return short or empty pages while older events remain
// (events on objects the user cannot read are dropped after the page is
// cut, contract §3.1): an empty page before f.Begin is followed by one new
// collector whose window ends at the oldest event read.
func (c *Client) ReadEvents(ctx context.Context, f EventFilter, after *EventPosition, n int) ([]Event, bool, error) {
	if n < 1 || n > MaxEventPage {
		return nil, false, fmt.Errorf("read events: at most %d events per page, not %d", MaxEventPage, n)
	}
	if after != nil && (f.End.IsZero() || after.Time.Before(f.End)) {
		f.End = after.Time // inclusive: the events at that time are filtered below
	}
	page := min(n+1, MaxEventPage)
	var out []Event
	seen := map[int64]bool{}
	keep := func(evs []Event) bool {
		for _, e := range evs {
			if after.before(e) && !seen[e.Key] {
				seen[e.Key] = true
				out = append(out, e)
			}
		}
		return len(out) > n
	}
	for restarted := false; ; restarted = true {
		full, empty, err := c.readCollector(ctx, f, page, keep)
		if err != nil {
			return nil, false, err
		}
		if full || restarted || !empty || len(out) == 0 || f.Begin.IsZero() || !out[len(out)-1].Time.After(f.Begin) {
			break
		}
		f.End = out[len(out)-1].Time
	}
	slices.SortStableFunc(out, func(a, b Event) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return compareKeys(b.Key, a.Key)
	})
	if len(out) > n {
		return out[:n], true, nil
	}
	return out, false, nil
}

// readCollector pages one collector newest first through keep until keep
// has enough (full) or the collector is exhausted; empty reports that the
// last read returned no events.
func (c *Client) readCollector(ctx context.Context, f EventFilter, page int, keep func([]Event) bool) (full, empty bool, err error) {
	spec, err := f.spec(page)
	if err != nil {
		return false, false, err
	}
	m, err := c.obsManagers(ctx, eventsWhat)
	if err != nil {
		return false, false, err
	}
	var col moRef
	if err := c.vimRead(ctx, eventsWhat, http.MethodPost, "EventManager", m.event, "CreateCollectorForEvents", map[string]any{"filter": spec}, &col, false); err != nil {
		return false, false, fmt.Errorf("create an event collector: %w", err)
	}
	if err := ValidateID(KindEventCollector, col.Value); err != nil {
		return false, false, fmt.Errorf("create an event collector: vCenter returned %w", err)
	}
	defer func() {
		// Collectors count against a limit of 32 per session: destroy this
		// one whatever happened, even after the caller gave up.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if derr := c.vimRead(dctx, eventsWhat, http.MethodPost, "EventHistoryCollector", col.Value, "DestroyCollector", nil, nil, false); derr != nil {
			c.log.Debug().Err(derr).Msg("destroy event collector")
		}
	}()
	read := func(member string, body any) ([]Event, error) {
		var raw []vimEvent
		method := http.MethodPost
		if body == nil {
			method = http.MethodGet
		}
		if err := c.vimRead(ctx, eventsWhat, method, "EventHistoryCollector", col.Value, member, body, &raw, false); err != nil {
			return nil, fmt.Errorf("read events (%s): %w", member, err)
		}
		return decodeEvents(raw), nil
	}
	evs, err := read("latestPage", nil)
	if err != nil {
		return false, false, err
	}
	if keep(evs) {
		return true, false, nil
	}
	if err := c.vimRead(ctx, eventsWhat, http.MethodPost, "EventHistoryCollector", col.Value, "ResetCollector", nil, nil, false); err != nil {
		return false, false, fmt.Errorf("read events (ResetCollector): %w", err)
	}
	for {
		evs, err := read("ReadPreviousEvents", map[string]int{"maxCount": page})
		if err != nil {
			return false, false, err
		}
		if len(evs) == 0 {
			return false, true, nil
		}
		if keep(evs) {
			return true, false, nil
		}
	}
}
