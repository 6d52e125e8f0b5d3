package vcentersim

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// EventManager and EventHistoryCollector (contract §3, §3.1).

// Limits of the event API (contract §3, §3.1; govmomi's simulator and the
// vSphere programming guide).
const (
	maxEventPage       = 1000 // QueryEvents and collector pages
	defaultCollectorPg = 10   // a collector's page size when maxCount is 0
	maxCollectors      = 32   // per session: vCenter's event.maxCollectors
)

// event is one logged event. Names are those the objects had when it was
// logged, as vCenter's event arguments keep them.
type event struct {
	key      int
	chain    int
	typeName string // class: "VmPoweredOnEvent", "EventEx", …
	typeID   string // EventEx eventTypeId, "" for typed events
	category string // info, warning, error or user: what EventFilterSpec.category matches
	created  time.Time
	user     string // as vim25 writes it, "CORP.LOCAL\alice"; "" for system actions

	vm, host, cr, dc, ds entityArg
	message              string         // fullFormattedMessage
	extra                map[string]any // the type's own properties, written as they are
}

// Event is one event of the simulator's history, as [Server.Events] returns it.
type Event struct {
	Key     int
	Type    string // class name, or the eventTypeId of an EventEx
	Created time.Time
	User    string // "" for system actions
	VM      string // entity ids the event names; "" when it names none
	Host    string
	Message string
}

func (e *event) export() Event {
	typ := e.typeName
	if e.typeID != "" {
		typ = e.typeID
	}
	return Event{Key: e.key, Type: typ, Created: e.created, User: e.user, VM: e.vm.id, Host: e.host.id, Message: e.message}
}

// wire writes the event as VI/JSON does: its class, the common Event
// fields, the entity arguments that are set, and the type's own fields.
func (e *event) wire() map[string]any {
	m := make(map[string]any, 12+len(e.extra))
	for k, v := range e.extra {
		m[k] = v
	}
	m["_typeName"] = e.typeName
	m["key"] = e.key
	m["chainId"] = e.chain
	m["createdTime"] = vimTime(e.created)
	m["userName"] = e.user
	m["fullFormattedMessage"] = e.message
	arg := func(field, typeName, refField, refType string, a entityArg) {
		if a.id != "" {
			m[field] = map[string]any{"_typeName": typeName, "name": a.name, refField: ref(refType, a.id)}
		}
	}
	arg("datacenter", "DatacenterEventArgument", "datacenter", "Datacenter", e.dc)
	crType := "ClusterComputeResource"
	if strings.HasPrefix(e.cr.id, "domain-s") {
		crType = "ComputeResource"
	}
	arg("computeResource", "ComputeResourceEventArgument", "computeResource", crType, e.cr)
	arg("host", "HostEventArgument", "host", "HostSystem", e.host)
	arg("vm", "VmEventArgument", "vm", "VirtualMachine", e.vm)
	arg("ds", "DatastoreEventArgument", "datastore", "Datastore", e.ds)
	if e.vm.id != "" {
		m["template"] = false
	}
	if e.typeID != "" {
		m["eventTypeId"] = e.typeID
		m["severity"] = e.category
	}
	return m
}

// eventFilter is a decoded EventFilterSpec.
type eventFilter struct {
	entity     string // id; "" for none
	entityType string
	recursion  string // self, children, all
	begin, end time.Time
	users      []string
	systemUser bool
	typeIDs    []string // eventTypeId
	types      []string // type (class names)
	categories []string
	maxCount   int
}

// decodeEventFilter reads an EventFilterSpec. An entity that does not
// exist is an InvalidArgument naming "entity" (contract §3).
func (s *Server) decodeEventFilter(raw json.RawMessage) (*eventFilter, *vimFault) {
	var spec struct {
		Entity *struct {
			Entity    *moRef `json:"entity"`
			Recursion string `json:"recursion"`
		} `json:"entity"`
		Time *struct {
			BeginTime *time.Time `json:"beginTime"`
			EndTime   *time.Time `json:"endTime"`
		} `json:"time"`
		UserName *struct {
			SystemUser bool     `json:"systemUser"`
			UserList   []string `json:"userList"`
		} `json:"userName"`
		EventTypeID []string `json:"eventTypeId"`
		Type        []string `json:"type"`
		Category    []string `json:"category"`
		MaxCount    *int     `json:"maxCount"`
	}
	if len(raw) == 0 || string(raw) == "null" || json.Unmarshal(raw, &spec) != nil {
		return nil, faultInvalidArgument("filter")
	}
	f := &eventFilter{recursion: "all", typeIDs: spec.EventTypeID, types: spec.Type, categories: spec.Category}
	if spec.Entity != nil {
		if spec.Entity.Entity == nil || !s.inv.exists(spec.Entity.Entity.Type, spec.Entity.Entity.Value) {
			return nil, faultInvalidArgument("entity")
		}
		f.entity, f.entityType = spec.Entity.Entity.Value, spec.Entity.Entity.Type
		switch spec.Entity.Recursion {
		case "self", "children", "all":
			f.recursion = spec.Entity.Recursion
		case "":
		default:
			return nil, faultInvalidArgument("entity.recursion")
		}
	}
	if spec.Time != nil {
		if spec.Time.BeginTime != nil {
			f.begin = *spec.Time.BeginTime
		}
		if spec.Time.EndTime != nil {
			f.end = *spec.Time.EndTime
		}
	}
	if spec.UserName != nil {
		f.users, f.systemUser = spec.UserName.UserList, spec.UserName.SystemUser
	}
	if spec.MaxCount != nil {
		if *spec.MaxCount < 0 || *spec.MaxCount > maxEventPage {
			return nil, faultInvalidArgument("maxCount")
		}
		f.maxCount = *spec.MaxCount
	}
	return f, nil
}

// window returns the index range of events inside the time bounds (both
// inclusive): events are in createdTime order.
func (f *eventFilter) window(events []*event) (lo, hi int) {
	lo, hi = 0, len(events)
	if !f.begin.IsZero() {
		lo = sort.Search(len(events), func(i int) bool { return !events[i].created.Before(f.begin) })
	}
	if !f.end.IsZero() {
		hi = sort.Search(len(events), func(i int) bool { return events[i].created.After(f.end) })
	}
	return lo, max(lo, hi)
}

// match applies every part of the filter but time (see window).
func (s *Server) matchEvent(f *eventFilter, e *event) bool {
	if f.entity != "" && !s.eventOn(f, e) {
		return false
	}
	if f.users != nil || f.systemUser {
		ok := f.systemUser && e.user == ""
		for _, u := range f.users {
			ok = ok || (e.user != "" && strings.EqualFold(u, e.user))
		}
		if !ok {
			return false
		}
	}
	if len(f.typeIDs) > 0 && !contains(f.typeIDs, e.typeName) && (e.typeID == "" || !contains(f.typeIDs, e.typeID)) {
		return false
	}
	if len(f.types) > 0 && !contains(f.types, e.typeName) {
		return false
	}
	if len(f.categories) > 0 && !contains(f.categories, e.category) {
		return false
	}
	return true
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// eventOn reports whether an event concerns the filter's entity. "self":
// one of the event's entity arguments is the entity, so a host's own events
// include the VM events that name it; "all" adds what lies below the entity
// in the inventory; "children" is "all" without the entity's own events
// (contract §3, §8). The root folder matches every event.
func (s *Server) eventOn(f *eventFilter, e *event) bool {
	id := f.entity
	if id == s.inv.rootFolder {
		return f.recursion != "children" || e.vm.id != "" || e.host.id != "" || e.cr.id != "" || e.dc.id != "" || e.ds.id != ""
	}
	self := e.vm.id == id || e.host.id == id || e.cr.id == id || e.dc.id == id || e.ds.id == id
	if f.recursion == "self" {
		return self
	}
	below := false
	switch {
	case s.inv.clusters[id] != nil || s.inv.computeResources[id] != nil:
		if h := s.inv.hosts[e.host.id]; h != nil {
			below = h.owner() == id
		}
	case s.inv.folders[id] != nil:
		fo := s.inv.folders[id]
		switch fo.kind {
		case folderVM:
			if v := s.inv.vms[e.vm.id]; v != nil {
				below = contains(s.inv.folderChain(v.Folder), id)
			}
		case folderHost:
			below = e.dc.id == fo.datacenter && (e.host.id != "" || e.cr.id != "")
		case folderDatastore:
			below = e.dc.id == fo.datacenter && e.ds.id != ""
		}
	case s.inv.pools[id] != nil:
		if v := s.inv.vms[e.vm.id]; v != nil {
			for p := s.inv.pools[v.ResourcePool]; p != nil; p = s.inv.pools[p.parent] {
				below = below || p.id == id
			}
		}
	}
	if f.recursion == "children" {
		return below && !self
	}
	return self || below
}

// logEvent appends a live event, timed now. Caller holds mu.
func (s *Server) logEvent(e *event) {
	o := s.obs
	e.key = 1
	if n := len(o.events); n > 0 {
		e.key = o.events[n-1].key + 1
		if last := o.events[n-1].created; e.created.Before(last) {
			e.created = last // the clock went back: keep the log in time order
		}
	}
	if e.chain == 0 {
		e.chain = e.key
	}
	o.events = append(o.events, e)
}

// powerEvents are the events a power operation logs, with their message
// (contract §3; govmomi's esx event templates).
var powerEvents = map[string]struct{ typeName, format string }{
	"start":          {"VmPoweredOnEvent", "%s on %s in %s is powered on"},
	"stop":           {"VmPoweredOffEvent", "%s on %s in %s is powered off"},
	"reset":          {"VmResettingEvent", "%s on %s in %s is reset"},
	"suspend":        {"VmSuspendedEvent", "%s on %s in %s is suspended"},
	"guest-shutdown": {"VmGuestShutdownEvent", "Guest OS shut down for %s on %s in %s"},
	"guest-reboot":   {"VmGuestRebootEvent", "Guest OS reboot for %s on %s in %s"},
	"guest-standby":  {"VmGuestStandbyEvent", "Guest OS standby for %s on %s in %s"},
}

// logPowerEvent logs the event of a power operation the call's user ran
// on v. Caller holds mu.
func (s *Server) logPowerEvent(c *call, v *vm, action string) {
	pe, ok := powerEvents[action]
	if !ok {
		return
	}
	e := s.inv.vmEventArgs(&event{typeName: pe.typeName, category: "info", created: s.now(), user: vimUserName(c.session.user)}, v)
	e.message = fmt.Sprintf(pe.format, v.Name, e.host.name, e.dc.name)
	s.logEvent(e)
}

// vmEventArgs fills the entity arguments of an event about VM v.
func (inv *inventory) vmEventArgs(e *event, v *vm) *event {
	e.vm = entityArg{v.ID, v.Name}
	if h := inv.hosts[v.Host]; h != nil {
		e.host = entityArg{h.id, h.name}
		e.cr = entityArg{h.owner(), inv.nameOf(h.owner())}
	}
	if dc := inv.datacenterOf(v); dc != "" {
		e.dc = entityArg{dc, inv.datacenters[dc].name}
	}
	return e
}

// handleQueryEvents is EventManager.QueryEvents: the newest matching
// events, newest first, at most maxCount (default and cap 1000).
func handleQueryEvents(s *Server, c *call) (any, *vimFault) {
	p, fault := decodeParams(c.body, map[string]bool{"filter": true})
	if fault != nil {
		return nil, fault
	}
	f, fault := s.decodeEventFilter(p["filter"])
	if fault != nil {
		return nil, fault
	}
	n := f.maxCount
	if n == 0 {
		n = maxEventPage
	}
	lo, hi := f.window(s.obs.events)
	out := []map[string]any{}
	for i := hi - 1; i >= lo && len(out) < n; i-- {
		if e := s.obs.events[i]; s.matchEvent(f, e) {
			out = append(out, e.wire())
		}
	}
	return out, nil
}

// collector is an EventHistoryCollector. Its position lies between two
// events of the log: pos is the index of the event just after it.
type collector struct {
	id       string
	owner    string // the token of the session that created it
	filter   *eventFilter
	pageSize int
	pos      int
}

// handleCreateCollector is EventManager.CreateCollectorForEvents.
// filter.maxCount is the page size (0 means 10); a session holds at most 32
// collectors (InvalidState beyond, contract §3.1).
func handleCreateCollector(s *Server, c *call) (any, *vimFault) {
	p, fault := decodeParams(c.body, map[string]bool{"filter": true})
	if fault != nil {
		return nil, fault
	}
	f, fault := s.decodeEventFilter(p["filter"])
	if fault != nil {
		return nil, fault
	}
	o := s.obs
	n := 0
	for id, col := range o.collectors {
		switch {
		case s.liveSession(col.owner) == nil: // collectors do not outlive their session
			delete(o.collectors, id)
		case col.owner == c.session.token:
			n++
		}
	}
	if n >= maxCollectors {
		return nil, newFault("InvalidState", "Too many event collectors to create.")
	}
	o.collectorSeq++
	col := &collector{
		id:    fmt.Sprintf("session[%s]%s", uuidOf(fmt.Sprint("session", o.collectorSeq)), uuidOf(fmt.Sprint("collector", o.collectorSeq))),
		owner: c.session.token, filter: f, pageSize: f.maxCount,
	}
	if col.pageSize == 0 {
		col.pageSize = defaultCollectorPg
	}
	o.collectors[col.id] = col
	return ref("EventHistoryCollector", col.id), nil
}

// collectorOf finds the path's collector: one of the calling session's.
func (s *Server) collectorOf(c *call) (*collector, *vimFault) {
	col := s.obs.collectors[c.param("moId")]
	if col == nil || col.owner != c.session.token {
		return nil, faultNotFound("EventHistoryCollector", c.param("moId"))
	}
	return col, nil
}

// pageCount reads a maxCount parameter: 1 to 1000 when reading, 0 to 1000
// when setting the page size.
func pageCount(body []byte, min int) (int, *vimFault) {
	p, fault := decodeParams(body, map[string]bool{"maxCount": true})
	if fault != nil {
		return 0, fault
	}
	var n int
	if json.Unmarshal(p["maxCount"], &n) != nil || n < min || n > maxEventPage {
		return 0, faultInvalidArgument("maxCount")
	}
	return n, nil
}

// latest returns the indexes of the collector's newest page, newest first.
func (s *Server) latest(col *collector) []int {
	lo, hi := col.filter.window(s.obs.events)
	var idx []int
	for i := hi - 1; i >= lo && len(idx) < col.pageSize; i-- {
		if s.matchEvent(col.filter, s.obs.events[i]) {
			idx = append(idx, i)
		}
	}
	return idx
}

func (s *Server) wireAll(idx []int) []map[string]any {
	out := make([]map[string]any, 0, len(idx))
	for _, i := range idx {
		out = append(out, s.obs.events[i].wire())
	}
	return out
}

func handleLatestPage(s *Server, c *call) (any, *vimFault) {
	col, fault := s.collectorOf(c)
	if fault != nil {
		return nil, fault
	}
	return s.wireAll(s.latest(col)), nil
}

// handleReadNextEvents returns the matching events after the position,
// oldest first, and moves the position past them.
func handleReadNextEvents(s *Server, c *call) (any, *vimFault) {
	col, fault := s.collectorOf(c)
	if fault != nil {
		return nil, fault
	}
	n, fault := pageCount(c.body, 1)
	if fault != nil {
		return nil, fault
	}
	lo, hi := col.filter.window(s.obs.events)
	var idx []int
	i := max(col.pos, lo)
	for ; i < hi && len(idx) < n; i++ {
		if s.matchEvent(col.filter, s.obs.events[i]) {
			idx = append(idx, i)
		}
	}
	col.pos = i
	return s.wireAll(idx), nil
}

// handleReadPreviousEvents returns the matching events before the
// position, newest first, and moves the position before them.
func handleReadPreviousEvents(s *Server, c *call) (any, *vimFault) {
	col, fault := s.collectorOf(c)
	if fault != nil {
		return nil, fault
	}
	n, fault := pageCount(c.body, 1)
	if fault != nil {
		return nil, fault
	}
	lo, hi := col.filter.window(s.obs.events)
	var idx []int
	i := min(col.pos, hi) - 1
	for ; i >= lo && len(idx) < n; i-- {
		if s.matchEvent(col.filter, s.obs.events[i]) {
			idx = append(idx, i)
		}
	}
	col.pos = i + 1
	return s.wireAll(idx), nil
}

func handleRewindCollector(s *Server, c *call) (any, *vimFault) {
	col, fault := s.collectorOf(c)
	if fault != nil {
		return nil, fault
	}
	col.pos = 0
	return nil, nil
}

// handleResetCollector moves the position just before the latest page.
func handleResetCollector(s *Server, c *call) (any, *vimFault) {
	col, fault := s.collectorOf(c)
	if fault != nil {
		return nil, fault
	}
	if idx := s.latest(col); len(idx) > 0 {
		col.pos = idx[len(idx)-1]
	} else {
		col.pos = len(s.obs.events)
	}
	return nil, nil
}

func handleSetCollectorPageSize(s *Server, c *call) (any, *vimFault) {
	col, fault := s.collectorOf(c)
	if fault != nil {
		return nil, fault
	}
	n, fault := pageCount(c.body, 0)
	if fault != nil {
		return nil, fault
	}
	if n == 0 {
		n = defaultCollectorPg
	}
	col.pageSize = n
	return nil, nil
}

func handleDestroyCollector(s *Server, c *call) (any, *vimFault) {
	col, fault := s.collectorOf(c)
	if fault != nil {
		return nil, fault
	}
	delete(s.obs.collectors, col.id)
	return nil, nil
}
