package vcentersim

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// The history the simulator starts with, ending at its clock when it was
// created (the anchor). It tells one story on the default inventory, so that
// a triage finds something to explain:
//
//   - about ten hours before the anchor (the incident), host esx-ldn-05
//     (host-22, Dev-Cluster, NOT_RESPONDING since) fails; vSphere HA
//     restarts build-01 (vm-89) and ci-runner-02 (vm-87) on esx-ldn-04
//     (host-21), which is now overloaded: CPU ready about 9 % per vCPU on
//     build-01, a red "Virtual machine CPU usage" alarm on it, a yellow
//     "Host CPU usage" alarm on host-21, a red "Host connection and power
//     state" alarm on host-22;
//   - five hours after the incident bob resets db-02 (vm-77), which has
//     ballooned and swapped memory and disk latency above 20 ms since, and a
//     yellow memory alarm;
//   - carol reboots mon-01's guest OS; earlier, alice and bob reconfigured
//     db-01, app-02 and build-01, vMotioned web-fra-02 and powered VMs off;
//     DRS moved Prod-Cluster VMs; users log in daily;
//   - ldn-vmfs-02 (3 % free) has a red datastore usage alarm, acknowledged
//     by alice; esx-fra-03 (host-48, disconnected) a red connection alarm,
//     acknowledged by bob;
//   - tasks: two reconfigurations, a power-on and a failed migration in the
//     last minutes, and a clone of ci-runner-03 still running;
//   - tags in four categories (Environment, Owner, Backup, Site) on VMs,
//     datastores and clusters.
//
// Objects the story names but the inventory lacks (a scaled inventory) are
// left out of it. [Options.Events] pads the log with routine events.

// Users of the story, as they log in.
const (
	userAlice = "alice@corp.local"
	userBob   = "bob@corp.local"
	userCarol = "carol@corp.local"
	userCI    = "svc-ci@corp.local"
	userBatch = "svc-batch@corp.local"
)

// buildHistory fills the observability state. Caller holds mu or owns s.
func (s *Server) buildHistory() {
	inv := s.inv
	anchor := s.now().UTC()
	o := &obsState{
		anchor:      anchor,
		incident:    anchor.Add(-9*time.Hour - 43*time.Minute).Truncate(time.Minute),
		collectors:  map[string]*collector{},
		alarms:      map[string]*alarmDef{},
		categories:  map[string]*tagCategory{},
		tags:        map[string]*tag{},
		intervals:   defaultIntervals(),
		guestReboot: map[string]time.Time{},
		hostBoot:    map[string]time.Time{},
		anomalies:   map[string][]anomaly{},
	}
	s.obs = o
	for i, a := range defaultAlarms {
		a.id = fmt.Sprintf("alarm-%d", i+1)
		def := a
		o.alarms[def.id] = &def
		o.alarmOrder = append(o.alarmOrder, def.id)
	}
	h := &history{s: s, inv: inv, t: o.incident}
	h.story()
	h.routine()
	h.tags()
	h.pad(s.opts.Events)
	slices.SortStableFunc(h.events, func(a, b *event) int { return a.created.Compare(b.created) })
	for i, e := range h.events {
		e.key = i + 1
		if e.chain == 0 {
			e.chain = e.key
		}
	}
	o.events = h.events
	for _, st := range h.states {
		for _, e := range h.events {
			if e.typeName == "AlarmStatusChangedEvent" && e.created.Equal(st.time) {
				st.eventKey = e.key
			}
		}
	}
	o.states = h.states
	for _, t := range h.tasks {
		s.taskSeq++
		t.ID = fmt.Sprintf("task-%d", s.taskSeq)
		s.tasks[t.ID] = t
	}
}

// history collects the story while it is told.
type history struct {
	s      *Server
	inv    *inventory
	t      time.Time // the incident
	events []*event
	states []*alarmState
	tasks  []*task
}

func (h *history) vm(name string) *vm {
	for _, v := range h.inv.vmOrder {
		if v.Name == name {
			return v
		}
	}
	return nil
}

func (h *history) host(name string) *host {
	for _, x := range h.inv.hosts {
		if x.name == name {
			return x
		}
	}
	return nil
}

func (h *history) datastore(name string) *datastore {
	for _, x := range h.inv.datastores {
		if x.name == name {
			return x
		}
	}
	return nil
}

func (h *history) cluster(name string) *cluster {
	for _, x := range h.inv.clusters {
		if x.name == name {
			return x
		}
	}
	return nil
}

func (h *history) add(e *event) *event {
	h.events = append(h.events, e)
	return e
}

// vmEvent logs a typed event about VM v.
// format takes the VM, host and datacenter names; "" leaves the message
// to the caller.
func (h *history) vmEvent(typeName, category string, at time.Time, user string, v *vm, format string) *event {
	e := h.inv.vmEventArgs(&event{typeName: typeName, category: category, created: at, user: userOf(user)}, v)
	if format != "" {
		e.message = fmt.Sprintf(format, v.Name, e.host.name, e.dc.name)
	}
	return h.add(e)
}

// userOf spells a user as vim25 event and task records do.
func userOf(user string) string {
	if user == "" {
		return ""
	}
	return vimUserName(user)
}

// alarm logs an alarm's status change and, when it ends triggered,
// records the state.
func (h *history) alarm(systemName, entity string, from, to string, at time.Time) *alarmState {
	a := h.s.alarmBySystemName(systemName)
	name := h.inv.nameOf(entity)
	e := &event{typeName: "AlarmStatusChangedEvent", category: "info", created: at,
		message: fmt.Sprintf("Alarm '%s' on %s changed from %s to %s", a.name, name, capital(from), capital(to))}
	switch to {
	case "red":
		e.category = "error"
	case "yellow":
		e.category = "warning"
	}
	e.extra = map[string]any{
		"alarm":  map[string]any{"_typeName": "AlarmEventArgument", "name": a.name, "alarm": ref("Alarm", a.id)},
		"source": map[string]any{"_typeName": "ManagedEntityEventArgument", "name": "Datacenters", "entity": ref("Folder", h.inv.rootFolder)},
		"entity": map[string]any{"_typeName": "ManagedEntityEventArgument", "name": name, "entity": ref(h.inv.vimType(entity), entity)},
		"from":   from, "to": to,
	}
	h.s.entityEventArgs(e, entity)
	h.add(e)
	for _, st := range h.states {
		if st.alarm == a.id && st.entity == entity {
			st.status, st.time = to, at
			return st
		}
	}
	st := &alarmState{alarm: a.id, entity: entity, status: to, time: at, entityName: name}
	h.states = append(h.states, st)
	return st
}

func (h *history) ack(st *alarmState, user string, at time.Time) {
	st.acked, st.ackUser, st.ackTime = true, userOf(user), at
	a := h.s.obs.alarms[st.alarm]
	e := &event{typeName: "AlarmAcknowledgedEvent", category: "info", created: at, user: userOf(user),
		message: fmt.Sprintf("Acknowledged alarm '%s' on %s", a.name, st.entityName)}
	e.extra = map[string]any{
		"alarm":  map[string]any{"_typeName": "AlarmEventArgument", "name": a.name, "alarm": ref("Alarm", a.id)},
		"source": map[string]any{"_typeName": "ManagedEntityEventArgument", "name": "Datacenters", "entity": ref("Folder", h.inv.rootFolder)},
		"entity": map[string]any{"_typeName": "ManagedEntityEventArgument", "name": st.entityName, "entity": ref(h.inv.vimType(st.entity), st.entity)},
	}
	h.s.entityEventArgs(e, st.entity)
	h.add(e)
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func (h *history) anomaly(id, counter string, from time.Time, base, spread float64) {
	h.s.obs.anomalies[id] = append(h.s.obs.anomalies[id], anomaly{counter: counter, from: from, base: base, spread: spread})
}

// haRestart logs vSphere HA restarting v on its (new) host.
func (h *history) haRestart(v *vm, at time.Time) {
	e := h.inv.vmEventArgs(&event{typeName: "EventEx", typeID: "com.vmware.vc.ha.VmRestartedByHAEvent", category: "warning", created: at}, v)
	e.message = fmt.Sprintf("vSphere HA restarted virtual machine %s on host %s in cluster %s", v.Name, e.host.name, e.cr.name)
	e.extra = map[string]any{"objectId": v.ID, "objectType": "vim.VirtualMachine", "objectName": v.Name}
	h.add(e)
	h.vmEvent("VmPoweredOnEvent", "info", at.Add(2*time.Second), "", v, "%s on %s in %s is powered on")
	v.bootTime = at.Add(2 * time.Second)
}

func (h *history) task(method, descriptionID string, v *vm, user string, queued time.Time, took time.Duration, fault *vimFault) *task {
	t := &task{Task: Task{Method: method, DescriptionID: descriptionID, VM: v.ID, EntityName: v.Name,
		QueueTime: queued, StartTime: queued, Cancelable: method == "CloneVM_Task"}, user: user,
		run: func() (string, *vimFault) { return "", nil }}
	switch {
	case took < 0:
		t.State, t.Progress, t.polls = TaskRunning, 42, 1
	case fault != nil:
		t.end(fault, queued.Add(took))
	default:
		t.State, t.CompleteTime = TaskSuccess, queued.Add(took)
	}
	h.tasks = append(h.tasks, t)
	return t
}

// story tells the incident and what led to it.
func (h *history) story() {
	t := h.t
	day := 24 * time.Hour
	if ldn05, ldn04, dev := h.host("esx-ldn-05.corp.local"), h.host("esx-ldn-04.corp.local"), h.cluster("Dev-Cluster"); ldn05 != nil && ldn04 != nil && dev != nil {
		dc := h.inv.datacenters[ldn05.datacenter]
		e := h.add(&event{typeName: "DasHostFailedEvent", category: "error", created: t,
			message: fmt.Sprintf("vSphere HA detected a possible host failure of host %s in cluster %s in %s", ldn05.name, dev.name, dc.name)})
		h.s.entityEventArgs(e, ldn05.id)
		e.extra = map[string]any{"failedHost": map[string]any{"_typeName": "HostEventArgument", "name": ldn05.name, "host": ref("HostSystem", ldn05.id)}}
		h.alarm("alarm.HostConnectionStateAlarm", ldn05.id, "green", "red", t.Add(10*time.Second))
		if b := h.vm("build-01"); b != nil {
			h.haRestart(b, t.Add(50*time.Second))
			h.anomaly(b.ID, "cpu.usage.average", t.Add(52*time.Second), 85, 8)
			h.anomaly(b.ID, "cpu.ready.summation", t.Add(52*time.Second), 8, 3)
			h.alarm("alarm.VmCPUUsageAlarm", b.ID, "green", "yellow", t.Add(20*time.Minute))
			h.alarm("alarm.VmCPUUsageAlarm", b.ID, "yellow", "red", t.Add(time.Hour))
			before := t.Add(-day + 16*time.Hour)
			h.reconfigure(b, userBob, before, "config.hardware.numCPU: 2 -> 4; ", map[string]any{"numCPUs": 4})
			h.task("ReconfigVM_Task", "VirtualMachine.reconfigure", b, userBob, before.Add(-3*time.Second), 3*time.Second, nil)
		}
		if c := h.vm("ci-runner-02"); c != nil {
			h.haRestart(c, t.Add(55*time.Second))
			h.anomaly(c.ID, "cpu.usage.average", t.Add(57*time.Second), 65, 12)
			h.anomaly(c.ID, "cpu.ready.summation", t.Add(57*time.Second), 5.5, 2)
		}
		h.anomaly(ldn04.id, "cpu.usage.average", t.Add(52*time.Second), 86, 7)
		h.anomaly(ldn04.id, "cpu.ready.summation", t.Add(52*time.Second), 6, 2)
		h.alarm("alarm.HostCPUUsageAlarm", ldn04.id, "green", "yellow", t.Add(time.Hour+5*time.Minute))
	}
	if db := h.vm("db-02"); db != nil {
		at := t.Add(5 * time.Hour)
		h.vmEvent("VmResettingEvent", "info", at, userBob, db, "%s on %s in %s is reset")
		db.bootTime = at
		h.anomaly(db.ID, "mem.vmmemctl.average", at, 1<<20, 0) // 1 GiB, in KB
		h.anomaly(db.ID, "mem.swapped.average", at, 128<<10, 0)
		h.anomaly(db.ID, "disk.maxTotalLatency.latest", at, 18, 12)
		if host := h.inv.hosts[db.Host]; host != nil {
			h.anomaly(host.id, "mem.consumed.average", at, 0.94, 0.03)
		}
		h.alarm("alarm.VmMemoryUsageAlarm", db.ID, "green", "yellow", at.Add(10*time.Minute))
	}
	if mon := h.vm("mon-01"); mon != nil {
		at := t.Add(6 * time.Hour)
		h.vmEvent("VmGuestRebootEvent", "info", at, userCarol, mon, "Guest OS reboot for %s on %s in %s")
		h.s.obs.guestReboot[mon.ID] = at
	}
	if legacy := h.vm("legacy-app-01"); legacy != nil {
		h.anomaly(legacy.ID, "disk.maxTotalLatency.latest", time.Time{}, 25, 20)
	}
	if db1 := h.vm("db-01"); db1 != nil {
		at := t.Add(-3 * day)
		h.reconfigure(db1, userAlice, at, "config.hardware.memoryMB: 16384 -> 32768; ", map[string]any{"memoryMB": 32768})
		h.task("ReconfigVM_Task", "VirtualMachine.reconfigure", db1, userAlice, at.Add(-4*time.Second), 4*time.Second, nil)
	}
	if app2 := h.vm("app-02"); app2 != nil {
		h.reconfigure(app2, userAlice, t.Add(-6*day), "config.hardware.numCPU: 2 -> 4; config.hardware.numCoresPerSocket: 1 -> 2; ", map[string]any{"numCPUs": 4, "numCoresPerSocket": 2})
	}
	if web := h.vm("web-fra-02"); web != nil {
		if from := h.host("esx-fra-01.corp.local"); from != nil {
			e := h.vmEvent("VmMigratedEvent", "info", t.Add(-2*day), userAlice, web, "")
			e.message = fmt.Sprintf("Migration of virtual machine %s from %s, %s to %s, %s completed", web.Name, from.name, h.inv.nameOf(web.Disks[0].Datastore), e.host.name, h.inv.nameOf(web.Disks[0].Datastore))
			e.extra = map[string]any{"sourceHost": map[string]any{"_typeName": "HostEventArgument", "name": from.name, "host": ref("HostSystem", from.id)},
				"sourceDatacenter": map[string]any{"_typeName": "DatacenterEventArgument", "name": e.dc.name, "datacenter": ref("Datacenter", e.dc.id)}}
		}
		if to := h.host("esx-fra-03.corp.local"); to != nil {
			h.task("MigrateVM_Task", "VirtualMachine.migrate", web, userAlice, h.s.obs.anchor.Add(-3*time.Minute), 2*time.Second,
				newFault("HostNotConnected", fmt.Sprintf("The host %s is not connected.", to.name)))
		}
	}
	for _, off := range []struct {
		vm, user string
		ago      time.Duration
	}{{"web-04", userAlice, 4 * day}, {"dev-db-01", userBob, 5 * day}, {"batch-02", userBatch, 2 * day}, {"ci-runner-03", userCI, day}} {
		if v := h.vm(off.vm); v != nil {
			at := t.Add(-off.ago)
			if v.CleanPowerOff {
				h.vmEvent("VmGuestShutdownEvent", "info", at, off.user, v, "Guest OS shut down for %s on %s in %s")
				at = at.Add(25 * time.Second)
			}
			h.vmEvent("VmPoweredOffEvent", "info", at, off.user, v, "%s on %s in %s is powered off")
		}
	}
	if ds := h.datastore("ldn-vmfs-02"); ds != nil {
		h.alarm("alarm.DatastoreDiskUsageAlarm", ds.id, "green", "yellow", t.Add(-9*day))
		st := h.alarm("alarm.DatastoreDiskUsageAlarm", ds.id, "yellow", "red", t.Add(-2*day))
		h.ack(st, userAlice, t.Add(-day))
	}
	if fra03 := h.host("esx-fra-03.corp.local"); fra03 != nil {
		st := h.alarm("alarm.HostConnectionStateAlarm", fra03.id, "green", "red", t.Add(-6*day))
		h.ack(st, userBob, t.Add(-6*day+time.Hour))
	}
	anchor := h.s.obs.anchor
	if v := h.vm("dev-web-01"); v != nil {
		h.task("PowerOnVM_Task", "VirtualMachine.powerOn", v, userAlice, anchor.Add(-6*time.Minute), 3*time.Second, nil)
	}
	if v := h.vm("ci-runner-03"); v != nil {
		h.task("CloneVM_Task", "VirtualMachine.clone", v, userCI, anchor.Add(-4*time.Minute), -1, nil)
	}
}

// reconfigure logs a VmReconfiguredEvent with the change.
func (h *history) reconfigure(v *vm, user string, at time.Time, modified string, spec map[string]any) {
	e := h.vmEvent("VmReconfiguredEvent", "info", at, user, v, "Reconfigured %s on %s in %s")
	spec["_typeName"] = "VirtualMachineConfigSpec"
	e.extra = map[string]any{"configSpec": spec,
		"configChanges": map[string]any{"_typeName": "ChangesInfoEventArgument", "modified": modified}}
	e.message += ". Modified: " + modified
}

// routine logs two weeks of everyday events: logins, DRS moves.
func (h *history) routine() {
	day := 24 * time.Hour
	base := h.t.Truncate(day)
	users := []string{userAlice, userBob, userCarol}
	for d := 14; d >= 0; d-- {
		for i, u := range users {
			if u == userCarol && d%2 == 1 {
				continue
			}
			at := base.Add(-time.Duration(d)*day + 8*time.Hour + time.Duration(7*i+d%5)*time.Minute)
			if at.After(h.s.obs.anchor) {
				continue
			}
			h.login(u, at, fmt.Sprintf("10.20.%d.%d", 30+i, 11+d), "VMware vSphere Client/8.0.3")
		}
	}
	if prod := h.cluster("Prod-Cluster"); prod != nil {
		var hosts []*host
		for _, x := range h.inv.hosts {
			if x.cluster == prod.id {
				hosts = append(hosts, x)
			}
		}
		slices.SortFunc(hosts, func(a, b *host) int { return compareIDs(a.id, b.id) })
		n := 0
		for _, v := range h.inv.vmOrder {
			if h.inv.clusterOf(v) != prod.id || v.PowerState != PoweredOn || len(hosts) < 2 {
				continue
			}
			from := hosts[(slices.IndexFunc(hosts, func(x *host) bool { return x.id == v.Host })+1)%len(hosts)]
			n++
			h.drsMove(v, from, h.t.Add(-time.Duration(n)*31*time.Hour))
		}
	}
}

func (h *history) login(user string, at time.Time, ip, agent string) {
	h.add(&event{typeName: "UserLoginSessionEvent", category: "info", created: at, user: userOf(user),
		message: fmt.Sprintf("User %s@%s logged in as %s", userOf(user), ip, agent),
		extra:   map[string]any{"ipAddress": ip, "userAgent": agent, "locale": "en", "sessionId": uuidOf(user + at.String())}})
}

// drsMove logs DRS moving v to its current host from another.
func (h *history) drsMove(v *vm, from *host, at time.Time) {
	e := h.vmEvent("DrsVmMigratedEvent", "info", at, "", v, "")
	e.message = fmt.Sprintf("Migrating %s from %s, %s to %s, %s in %s", v.Name, from.name, h.inv.nameOf(v.Disks[0].Datastore), e.host.name, h.inv.nameOf(v.Disks[0].Datastore), e.dc.name)
	e.extra = map[string]any{"sourceHost": map[string]any{"_typeName": "HostEventArgument", "name": from.name, "host": ref("HostSystem", from.id)}}
}

// pad adds routine events until the log holds total, spread over the 30
// days before the anchor: logins, logouts and DRS moves.
func (h *history) pad(total int) {
	k := total - len(h.events)
	if k <= 0 {
		return
	}
	anchor := h.s.obs.anchor
	span := 30 * 24 * time.Hour
	users := []string{userAlice, userBob, userCarol, userCI, userBatch}
	var movable []*vm
	for _, v := range h.inv.vmOrder {
		if hst := h.inv.hosts[v.Host]; hst != nil && hst.cluster != "" && len(v.Disks) > 0 {
			movable = append(movable, v)
		}
	}
	// One sourceHost argument per host, shared: the log may hold 100,000
	// events, and wire copies extra before writing it.
	source := map[string]map[string]any{}
	for i := range k {
		at := anchor.Add(-span + time.Duration(i)*span/time.Duration(k)).Truncate(time.Millisecond)
		u := users[i%len(users)]
		switch {
		case i%3 == 2 && len(movable) > 0:
			v := movable[i%len(movable)]
			e := h.inv.vmEventArgs(&event{typeName: "DrsVmMigratedEvent", category: "info", created: at}, v)
			if source[e.host.id] == nil {
				source[e.host.id] = map[string]any{"sourceHost": map[string]any{"_typeName": "HostEventArgument", "name": e.host.name, "host": ref("HostSystem", e.host.id)}}
			}
			e.extra = source[e.host.id]
			e.message = fmt.Sprintf("Migrating %s to %s in %s", v.Name, e.host.name, e.dc.name)
			h.add(e)
		case i%3 == 1:
			h.add(&event{typeName: "UserLogoutSessionEvent", category: "info", created: at, user: userOf(u),
				message: fmt.Sprintf("User %s@10.20.30.%d logged out", userOf(u), 10+i%200)})
		default:
			h.add(&event{typeName: "UserLoginSessionEvent", category: "info", created: at, user: userOf(u),
				message: fmt.Sprintf("User %s@10.20.30.%d logged in as VMware vSphere Client/8.0.3", userOf(u), 10+i%200)})
		}
	}
}

// tags files the tag categories, tags and associations.
func (h *history) tags() {
	o := h.s.obs
	addCat := func(name, desc, card string, types ...string) *tagCategory {
		c := &tagCategory{id: categoryURN + uuidOf("category/"+name) + ":GLOBAL", name: name, description: desc, cardinality: card, associable: types}
		o.categories[c.id] = c
		o.catOrder = append(o.catOrder, c.id)
		return c
	}
	addTag := func(c *tagCategory, name, desc string, objects ...string) {
		t := &tag{id: tagURN + uuidOf("tag/"+c.name+"/"+name) + ":GLOBAL", category: c.id, name: name, description: desc}
		for _, obj := range objects {
			for _, id := range h.idsNamed(obj) {
				t.objects = append(t.objects, objectID{h.inv.vimType(id), id})
			}
		}
		o.tags[t.id] = t
		o.tagOrder = append(o.tagOrder, t.id)
	}
	env := addCat("Environment", "Lifecycle stage of the workload", "SINGLE", "VirtualMachine")
	owner := addCat("Owner", "Team that owns and answers for the workload", "MULTIPLE", "VirtualMachine")
	backup := addCat("Backup", "Backup policy applied by the backup system", "SINGLE", "VirtualMachine")
	site := addCat("Site", "Physical site", "SINGLE", "Datastore", "HostSystem", "ClusterComputeResource")

	addTag(env, "Production", "Customer-facing workloads",
		"web-01", "web-02", "web-03", "web-04", "app-01", "app-02", "db-01", "db-02", "cache-01", "lb-01", "legacy-app-01",
		"web-fra-01", "web-fra-02", "db-fra-01", "jump-fra-01", "fra-archive-01")
	addTag(env, "Development", "Development and CI",
		"dev-web-01", "dev-db-01", "test-01", "ci-runner-01", "ci-runner-02", "ci-runner-03", "build-01", "batch-01", "batch-02", "batch-03")
	addTag(env, "Lab", "Experiments; may be deleted at any time",
		"k8s-cp-01", "k8s-worker-01", "k8s-worker-02", "win-lab-01", "old-app-01", "nested-esxi-01")
	addTag(owner, "team-payments", "Payments team", "web-01", "web-02", "web-03", "web-04", "app-01", "app-02")
	addTag(owner, "team-data", "Data platform team", "db-01", "db-02", "db-fra-01", "cache-01")
	addTag(owner, "team-platform", "Platform team", "lb-01", "mon-01", "backup-01", "edge-proxy-01", "ci-runner-01", "ci-runner-02", "ci-runner-03", "build-01")
	addTag(backup, "backup-daily", "Nightly backup, 30 days kept", "db-01", "db-02", "db-fra-01", "app-01", "app-02")
	addTag(backup, "backup-weekly", "Weekly backup, 8 weeks kept", "web-01", "web-02", "web-03", "web-04", "mon-01", "legacy-app-01")
	addTag(backup, "no-backup", "Rebuilt from code; never backed up", "test-01", "ci-runner-01", "ci-runner-02", "ci-runner-03", "k8s-worker-01", "k8s-worker-02")
	addTag(site, "london", "London data centre", "Prod-Cluster", "Dev-Cluster", "ldn-vmfs-01", "ldn-vmfs-02", "ldn-vsan")
	addTag(site, "frankfurt", "Frankfurt data centre", "FRA-Cluster", "fra-vmfs-01", "fra-nfs41-01")
}

// idsNamed finds the VMs, clusters and datastores with a name, in id order.
func (h *history) idsNamed(name string) []string {
	var out []string
	for _, v := range h.inv.vmOrder {
		if v.Name == name {
			out = append(out, v.ID)
		}
	}
	for _, c := range h.inv.clusters {
		if c.name == name {
			out = append(out, c.id)
		}
	}
	for _, d := range h.inv.datastores {
		if d.name == name {
			out = append(out, d.id)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(compareIDs(a, b)) })
	return out
}
