package vcentersim

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Alarms: definitions (Alarm.info), triggered states
// (ManagedEntity.triggeredAlarmState, propagated to ancestors) and
// AlarmManager.AcknowledgeAlarm (contract §4).

// alarmDef is an alarm definition; all of the simulator's are defined on
// the root folder, as vCenter's default alarms are.
type alarmDef struct {
	id, name, systemName, description string
}

// alarmState is one triggered alarm on the entity that triggered it.
type alarmState struct {
	alarm      string
	entity     string // id; its type comes from the inventory
	status     string // yellow or red
	time       time.Time
	acked      bool
	ackUser    string
	ackTime    time.Time
	eventKey   int
	entityName string // at trigger time, for events
}

// AlarmState is a copy of one triggered alarm, as [Server.Alarms] returns it.
type AlarmState struct {
	Alarm          string // alarm id, "alarm-3"
	AlarmName      string
	Entity         string // the entity that triggered it
	Status         string // "yellow" or "red"
	Time           time.Time
	Acknowledged   bool
	AcknowledgedBy string // vim25 user name, e.g. "VSPHERE.LOCAL\Administrator"
	AcknowledgedAt time.Time
}

// The default alarm definitions (vCenter's own names and system names).
var defaultAlarms = []alarmDef{
	{name: "Host connection and power state", systemName: "alarm.HostConnectionStateAlarm", description: "Default alarm to monitor host connection and power state"},
	{name: "Host CPU usage", systemName: "alarm.HostCPUUsageAlarm", description: "Default alarm to monitor host CPU usage"},
	{name: "Virtual machine CPU usage", systemName: "alarm.VmCPUUsageAlarm", description: "Default alarm to monitor virtual machine CPU usage"},
	{name: "Virtual machine memory usage", systemName: "alarm.VmMemoryUsageAlarm", description: "Default alarm to monitor virtual machine memory usage"},
	{name: "Datastore usage on disk", systemName: "alarm.DatastoreDiskUsageAlarm", description: "Default alarm to monitor datastore disk usage"},
	{name: "Host memory usage", systemName: "alarm.HostMemoryUsageAlarm", description: "Default alarm to monitor host memory usage"},
	{name: "vSphere HA virtual machine failover failed", systemName: "alarm.VmFaultToleranceStateChangedAlarm", description: "Default alarm to alert when vSphere HA failed to failover a virtual machine"},
}

func (s *Server) alarmBySystemName(name string) *alarmDef {
	for _, id := range s.obs.alarmOrder {
		if a := s.obs.alarms[id]; a.systemName == name {
			return a
		}
	}
	return nil
}

// wire writes an AlarmState as VI/JSON does.
func (s *Server) wireAlarmState(st *alarmState) map[string]any {
	m := map[string]any{
		"_typeName":     "AlarmState",
		"key":           st.alarm + "." + st.entity,
		"entity":        ref(s.inv.vimType(st.entity), st.entity),
		"alarm":         ref("Alarm", st.alarm),
		"overallStatus": st.status,
		"time":          vimTime(st.time),
		"acknowledged":  st.acked,
		"disabled":      false,
	}
	if st.acked {
		m["acknowledgedByUser"] = st.ackUser
		m["acknowledgedTime"] = vimTime(st.ackTime)
	}
	if st.eventKey != 0 {
		m["eventKey"] = st.eventKey
	}
	return m
}

// triggeredFor lists the alarms triggered by an entity or below it.
func (s *Server) triggeredFor(id string) []map[string]any {
	out := []map[string]any{}
	for _, st := range s.obs.states {
		if st.entity == id || slices.Contains(s.inv.ancestors(st.entity), id) {
			out = append(out, s.wireAlarmState(st))
		}
	}
	return out
}

// triggeredAlarmState serves ManagedEntity.triggeredAlarmState for a type.
func triggeredAlarmState(moType string) vimHandler {
	return func(s *Server, c *call) (any, *vimFault) {
		id := c.param("moId")
		if !s.inv.exists(moType, id) {
			return nil, faultNotFound(moType, id)
		}
		return s.triggeredFor(id), nil
	}
}

// handleAlarmInfo is Alarm.info.
func handleAlarmInfo(s *Server, c *call) (any, *vimFault) {
	a := s.obs.alarms[c.param("moId")]
	if a == nil {
		return nil, faultNotFound("Alarm", c.param("moId"))
	}
	return map[string]any{
		"_typeName": "AlarmInfo", "name": a.name, "systemName": a.systemName, "description": a.description,
		"enabled": true, "actionFrequency": 0,
		"expression": map[string]any{"_typeName": "OrAlarmExpression", "expression": []any{}},
		"key":        a.id, "alarm": ref("Alarm", a.id), "entity": ref("Folder", s.inv.rootFolder),
		"lastModifiedTime": vimTime(inventoryEpoch), "lastModifiedUser": "", "creationEventId": 0,
	}, nil
}

// handleAcknowledgeAlarm is AlarmManager.AcknowledgeAlarm: the state of
// that alarm on that entity is acknowledged by the session's user and an
// AlarmAcknowledgedEvent logged. An alarm already acknowledged, not
// triggered there, or triggered only below the entity is left as it is, and
// the answer is still 204 (contract §4, §8).
func handleAcknowledgeAlarm(s *Server, c *call) (any, *vimFault) {
	p, fault := decodeParams(c.body, map[string]bool{"alarm": true, "entity": true})
	if fault != nil {
		return nil, fault
	}
	var alarm, entity moRef
	if json.Unmarshal(p["alarm"], &alarm) != nil {
		return nil, faultInvalidArgument("alarm")
	}
	if json.Unmarshal(p["entity"], &entity) != nil {
		return nil, faultInvalidArgument("entity")
	}
	a := s.obs.alarms[alarm.Value]
	if alarm.Type != "Alarm" || a == nil {
		return nil, faultNotFound("Alarm", alarm.Value)
	}
	if !s.inv.exists(entity.Type, entity.Value) {
		return nil, faultNotFound(entity.Type, entity.Value)
	}
	for _, st := range s.obs.states {
		if st.alarm != a.id || st.entity != entity.Value || st.acked {
			continue
		}
		now := s.now()
		st.acked, st.ackUser, st.ackTime = true, vimUserName(c.session.user), now
		e := &event{typeName: "AlarmAcknowledgedEvent", category: "info", created: now, user: st.ackUser,
			message: fmt.Sprintf("Acknowledged alarm '%s' on %s", a.name, s.inv.nameOf(st.entity))}
		e.extra = map[string]any{
			"alarm":  map[string]any{"_typeName": "AlarmEventArgument", "name": a.name, "alarm": ref("Alarm", a.id)},
			"source": map[string]any{"_typeName": "ManagedEntityEventArgument", "name": "Datacenters", "entity": ref("Folder", s.inv.rootFolder)},
			"entity": map[string]any{"_typeName": "ManagedEntityEventArgument", "name": s.inv.nameOf(st.entity), "entity": ref(entity.Type, st.entity)},
		}
		s.entityEventArgs(e, st.entity)
		s.logEvent(e)
	}
	return nil, nil
}

// entityEventArgs fills an event's entity arguments for any entity.
func (s *Server) entityEventArgs(e *event, id string) {
	switch {
	case s.inv.vms[id] != nil:
		s.inv.vmEventArgs(e, s.inv.vms[id])
	case s.inv.hosts[id] != nil:
		h := s.inv.hosts[id]
		e.host = entityArg{h.id, h.name}
		e.cr = entityArg{h.owner(), s.inv.nameOf(h.owner())}
		e.dc = entityArg{h.datacenter, s.inv.nameOf(h.datacenter)}
	case s.inv.datastores[id] != nil:
		ds := s.inv.datastores[id]
		e.ds = entityArg{ds.id, ds.name}
		e.dc = entityArg{ds.datacenter, s.inv.nameOf(ds.datacenter)}
	case s.inv.clusters[id] != nil:
		cl := s.inv.clusters[id]
		e.cr = entityArg{cl.id, cl.name}
		e.dc = entityArg{cl.datacenter, s.inv.nameOf(cl.datacenter)}
	}
}

// overallStatus is an entity's ManagedEntityStatus from its own triggered
// alarms: red, yellow or green.
func (s *Server) overallStatus(id string) string {
	status := "green"
	for _, st := range s.obs.states {
		if st.entity == id {
			if st.status == "red" {
				return "red"
			}
			status = "yellow"
		}
	}
	return status
}
