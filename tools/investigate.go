// investigate_vm answers "what is wrong with this VM, and why did it
// reboot?" in one call: state and placement, the last boot and its cause
// from events, recent changes and who made them, alarms on the VM, its host
// and datastores, snapshots, VMware Tools, datastore space and a performance
// summary, then a ranked list of findings, each with its evidence and the
// next tool to call.

package tools

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// investigateAPI is what investigate_vm reads beyond the other domains'
// interfaces.
type investigateAPI interface {
	VMStatus(ctx context.Context, vm string) (vcenter.VMStatus, error)
	VMDatastores(ctx context.Context, vm string) ([]string, error)
}

// The thresholds of investigate_vm's findings. The performance ones apply
// to averages over the last hour (realtime statistics).
const (
	// readyWarnPct: CPU ready per vCPU above this means the VM waits for
	// physical CPU (VMware's rule of thumb is 5 %).
	readyWarnPct = 5.0
	// cpuBusyPct: average CPU usage above this means the VM is saturated.
	cpuBusyPct = 90.0
	// latencyWarnMs: the highest disk latency, averaged, above this is
	// slow storage (VMware's guidance: 20 ms).
	latencyWarnMs = 20.0
	// Any ballooned or swapped memory is a finding: the host reclaims
	// memory from the guest.
	memReclaimMB = 0.0
	// snapshotMaxAge: a snapshot older than this grows its delta disk
	// and slows the VM; VMware advises against keeping them longer.
	snapshotMaxAge = 3 * 24 * time.Hour
	// datastoreMinFreePct: less free space than this risks a full
	// datastore, which stops every VM with a growing disk on it.
	datastoreMinFreePct = 10.0
	// bootWindow: events this close to runtime.bootTime explain the boot.
	bootWindow = 3 * time.Minute
	// maxFindings bounds the findings, maxListed the other lists.
	maxFindings = 10
	maxListed   = 6
)

// triageMetrics are the metrics the findings read: fewer than
// get_vm_performance reports, so the query is smaller.
var triageMetrics = slices.DeleteFunc(slices.Clone(perfMetrics), func(m metricDef) bool {
	return !slices.Contains([]string{"cpu_usage", "cpu_ready", "mem_ballooned", "mem_swapped", "disk_latency_max"}, m.name)
})

type investigateVMIn struct {
	vmArgs
	Since string `json:"since,omitempty" jsonschema:"how far back to read events: RFC 3339 or a duration (default 24h)"`
}

type vmStateOut struct {
	Power        string `json:"power"`
	Overall      string `json:"overall"` // vCenter's status from the VM's alarms: green, yellow, red
	GuestOS      string `json:"guest_os,omitempty"`
	Tools        string `json:"tools"` // toolsOk, toolsNotRunning, toolsNotInstalled, toolsOld
	ToolsRunning bool   `json:"tools_running"`
	Uptime       string `json:"uptime,omitempty"` // of the guest, from Tools
	CPUs         int    `json:"cpus"`
	MemoryMiB    int64  `json:"memory_mib"`
}

type datastoreBrief struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	FreePct float64 `json:"free_pct"`
	FreeGiB float64 `json:"free_gib"`
}

type hostBrief struct {
	ID         string  `json:"id"`
	Name       string  `json:"name,omitempty"`
	Connection string  `json:"connection,omitempty"`
	CPUPct     float64 `json:"cpu_pct"`
	MemPct     float64 `json:"mem_pct"`
}

type placementBrief struct {
	Host       *hostBrief       `json:"host,omitempty"`
	Datastores []datastoreBrief `json:"datastores"`
}

type bootOut struct {
	Time     string `json:"time"`
	Ago      string `json:"ago"`
	Cause    string `json:"cause"` // ha_restart, reset, user_power_on, system_power_on, guest_reboot, unknown
	By       string `json:"by,omitempty"`
	Evidence string `json:"evidence,omitempty"`
}

type changeOut struct {
	Time string `json:"time"`
	User string `json:"user,omitempty"`
	What string `json:"what"`
}

type alarmBrief struct {
	Alarm        string `json:"alarm"`
	AlarmID      string `json:"alarm_id"`
	Status       string `json:"status"`
	On           string `json:"on"` // the object, "host esx-01 (host-12)"
	EntityID     string `json:"entity_id"`
	Since        string `json:"since"`
	Acknowledged bool   `json:"acknowledged"`
}

type snapshotsBrief struct {
	Count      int     `json:"count"`
	OldestDays float64 `json:"oldest_days,omitempty"`
	Oldest     string  `json:"oldest,omitempty"`
}

type perfBrief struct {
	Window       string  `json:"window"`
	CPUUsagePct  float64 `json:"cpu_usage_pct"`
	CPUReadyPct  float64 `json:"cpu_ready_pct"` // per vCPU
	BalloonedMB  float64 `json:"mem_ballooned_mb"`
	SwappedMB    float64 `json:"mem_swapped_mb"`
	DiskLatency  float64 `json:"disk_latency_ms"` // average of the highest latency
	DiskLatMaxMs float64 `json:"disk_latency_max_ms"`
}

type findingOut struct {
	Severity string `json:"severity"` // critical, warning, info
	Finding  string `json:"finding"`
	Evidence string `json:"evidence"`
	Next     string `json:"next"` // the tool call that shows more
}

type investigateOut struct {
	Summary     string         `json:"summary"`
	VM          vmRef          `json:"vm"`
	Since       string         `json:"since"`
	State       vmStateOut     `json:"state"`
	Placement   placementBrief `json:"placement"`
	LastBoot    *bootOut       `json:"last_boot,omitempty"`
	Changes     []changeOut    `json:"changes"`
	Alarms      []alarmBrief   `json:"alarms"`
	Snapshots   snapshotsBrief `json:"snapshots"`
	Performance *perfBrief     `json:"performance,omitempty"`
	Findings    []findingOut   `json:"findings"`
	Notes       []string       `json:"notes,omitempty"` // parts that could not be read
}

func investigateVM(d Deps) Tool {
	return spec[investigateVMIn, investigateOut]{
		Name: "investigate_vm", Title: "Investigate VM",
		Description: "One call for \"what is wrong with this VM, why did it reboot?\": state, placement, last boot and its cause, recent changes, alarms on VM/host/datastores, snapshots, Tools, space, performance, then ranked findings with the next tool to call.",
		Toolset:     ToolsetObservability, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "VI/JSON `VirtualMachine.summary`, `.snapshot`, `.datastore`, the root folder's `triggeredAlarmState`, `EventManager.QueryEvents`, `PerformanceManager.QueryPerf`, `HostSystem.summary`; `GET /api/vcenter/datastore`",
			On: "the VM, its host and datastores, the root folder (read)"},
		Example: `{"vm_name": "build-01"}`,
		Handle: func(ctx context.Context, _ *mcp.CallToolRequest, in investigateVMIn) (*mcp.CallToolResult, investigateOut, error) {
			now := time.Now()
			since, _, err := window(in.Since, "", now, 24*time.Hour)
			if err != nil {
				return nil, investigateOut{}, err
			}
			vc, vm, err := resolveVM(ctx, d, in.vmArgs, idSuffices)
			if err != nil {
				return nil, investigateOut{}, err
			}
			inv := &investigation{vc: vc, vm: vm.ID, since: since, now: now}
			if err := inv.gather(ctx); err != nil {
				return nil, investigateOut{}, err
			}
			audit.NoteTarget(ctx, vm.ID, inv.status.Name)
			return nil, inv.report(), nil
		},
	}.tool()
}

// investigation holds what investigate_vm read and what it concludes.
type investigation struct {
	vc    VCenter
	vm    string
	since time.Time
	now   time.Time

	status    vcenter.VMStatus
	host      *vcenter.HostStatus
	alarms    []vcenter.AlarmState
	snapshots []vcenter.Snapshot
	dsIDs     []string
	allDS     []vcenter.Datastore
	events    []vcenter.Event // newest first, the window's and the boot's
	truncated bool            // the window held more events than one read returns
	perf      *perfSummary

	mu    sync.Mutex // guards notes, written by the reads
	notes []string
}

func (inv *investigation) note(what string, err error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.notes = append(inv.notes, truncate(fmt.Sprintf("%s: %v", what, err), 240))
}

// gather reads everything in two rounds of concurrent requests, and a
// third for the host (and, when the boot is older than the window, the
// events around it): at most ten requests once the client's caches are
// warm. Only the VM's summary is required; a part that fails becomes a note.
func (inv *investigation) gather(ctx context.Context) error {
	vc := inv.vc
	var (
		wg                                  sync.WaitGroup
		statusErr, alarmErr, snapErr, dsErr error
		allDSErr, eventErr, perfErr         error
		perfRes                             vcenter.PerfResult
		vmEntity                            = vcenter.EntityRef{Kind: vcenter.KindVM, ID: inv.vm}
	)
	wg.Go(func() { inv.status, statusErr = vc.VMStatus(ctx, inv.vm) })
	wg.Go(func() {
		root, err := vc.RootFolder(ctx)
		if err == nil {
			inv.alarms, err = vc.TriggeredAlarms(ctx, root)
		}
		alarmErr = err
	})
	wg.Go(func() { inv.snapshots, snapErr = vc.ListSnapshots(ctx, inv.vm) })
	wg.Go(func() { inv.dsIDs, dsErr = vc.VMDatastores(ctx, inv.vm) })
	wg.Go(func() { inv.allDS, _, allDSErr = vc.ListDatastores(ctx, vcenter.DatastoreFilter{}) })
	wg.Go(func() {
		inv.events, eventErr = vc.QueryEvents(ctx, vcenter.EventFilter{Entity: &vmEntity, Recursion: "self", Begin: inv.since}, vcenter.MaxEventPage)
		inv.truncated = len(inv.events) == vcenter.MaxEventPage
	})
	wg.Go(func() { perfRes, perfErr = queryPerf(ctx, vc, vmEntity, inv.vm, "realtime", triageMetrics) })
	wg.Wait()
	if statusErr != nil {
		next := ""
		switch {
		case errors.Is(statusErr, vcenter.ErrNotFound):
			next = "no VM has this id: list_vms shows the VMs and their ids"
		case errors.Is(statusErr, vcenter.ErrNoVIJSON):
			next = perfNext(statusErr) + "; get_vm_details works without it"
		}
		return fail("investigate "+inv.vm, statusErr, next)
	}
	for _, e := range []struct {
		what string
		err  error
	}{{"alarms", alarmErr}, {"snapshots", snapErr}, {"datastores", cmp.Or(dsErr, allDSErr)}, {"events", eventErr}, {"performance", perfErr}} {
		if e.err != nil {
			inv.note(e.what, e.err)
		}
	}
	if perfErr == nil && len(perfRes.Times) > 0 {
		s := summarisePerf(perfRes, triageMetrics, "realtime", inv.status.CPUs, false)
		inv.perf = &s
	}
	// Round three: the host, the names of the alarms that concern the VM,
	// and the boot when it lies before the window.
	inv.alarms = slices.DeleteFunc(inv.alarms, func(a vcenter.AlarmState) bool { return !inv.relevant(a) })
	if len(inv.alarms) > 0 {
		wg.Go(func() { vc.NameAlarms(ctx, inv.alarms) })
	}
	if inv.status.HostID != "" {
		wg.Go(func() {
			h, err := vc.HostStatus(ctx, inv.status.HostID)
			if err != nil {
				inv.note("host", err)
				return
			}
			inv.host = &h
		})
	}
	var bootEvents []vcenter.Event
	if b := inv.status.BootTime; !b.IsZero() && b.Before(inv.since) && eventErr == nil {
		wg.Go(func() {
			var err error
			bootEvents, err = vc.QueryEvents(ctx, vcenter.EventFilter{Entity: &vmEntity, Recursion: "self", Begin: b.Add(-bootWindow), End: b.Add(time.Minute)}, 100)
			if err != nil {
				inv.note("events around the boot", err)
			}
		})
	}
	wg.Wait()
	inv.events = append(inv.events, bootEvents...)
	return nil
}

// vmLabel names the VM in sentences.
func (inv *investigation) vmLabel() string { return label(inv.status.Name, inv.vm) }

// boot explains the last boot of the guest: a guest reboot after the last
// power-on, or the power-on itself from the events around runtime.bootTime.
func (inv *investigation) boot() *bootOut {
	st := inv.status
	if st.Power != vcenter.PoweredOn || st.BootTime.IsZero() {
		return nil
	}
	for _, e := range inv.events { // newest first
		if e.Type == "VmGuestRebootEvent" && e.Time.After(st.BootTime) {
			return &bootOut{Time: stamp(e.Time), Ago: ago(inv.now, e.Time), Cause: "guest_reboot", By: e.User,
				Evidence: truncate(e.Message, 160) + " (a guest OS restart through VMware Tools: no power cycle)"}
		}
	}
	out := &bootOut{Time: stamp(st.BootTime), Ago: ago(inv.now, st.BootTime), Cause: "unknown",
		Evidence: "no power event near the boot time (vCenter keeps events 30 days by default)"}
	near := func(e vcenter.Event) bool {
		return !e.Time.Before(st.BootTime.Add(-bootWindow)) && !e.Time.After(st.BootTime.Add(time.Minute))
	}
	// The strongest explanation wins: HA, then a reset, then a power-on.
	rank := map[string]int{"com.vmware.vc.ha.VmRestartedByHAEvent": 1, "VmResettingEvent": 2, "VmPoweredOnEvent": 3}
	var best *vcenter.Event
	for i, e := range inv.events {
		if r, ok := rank[e.Type]; ok && near(e) && (best == nil || r < rank[best.Type]) {
			best = &inv.events[i]
		}
	}
	if best == nil {
		return out
	}
	out.Evidence, out.By = truncate(best.Message, 160), best.User
	switch {
	case best.Type == "com.vmware.vc.ha.VmRestartedByHAEvent":
		out.Cause = "ha_restart"
	case best.Type == "VmResettingEvent":
		out.Cause = "reset"
	case best.User != "":
		out.Cause = "user_power_on"
	default:
		out.Cause = "system_power_on"
	}
	return out
}

// relevant reports whether an alarm concerns the VM: on it, its host or
// one of its datastores.
func (inv *investigation) relevant(st vcenter.AlarmState) bool {
	return st.Entity.ID == inv.vm || st.Entity.ID == inv.status.HostID || slices.Contains(inv.dsIDs, st.Entity.ID)
}

func (inv *investigation) entityLabel(e vcenter.EntityRef) string {
	switch {
	case e.ID == inv.vm:
		return "the VM"
	case inv.host != nil && e.ID == inv.host.ID:
		return "host " + label(inv.host.Name, e.ID)
	}
	for _, ds := range inv.allDS {
		if ds.ID == e.ID {
			return "datastore " + label(ds.Name, e.ID)
		}
	}
	return typeOfKind[e.Kind] + " " + e.ID
}

// report builds the result and its findings.
func (inv *investigation) report() investigateOut {
	st := inv.status
	out := investigateOut{
		VM: vmRef{inv.vm, st.Name}, Since: stamp(inv.since),
		State: vmStateOut{Power: string(st.Power), Overall: st.OverallStatus, GuestOS: st.GuestOS, Tools: st.ToolsStatus,
			ToolsRunning: st.ToolsRunning, CPUs: st.CPUs, MemoryMiB: st.MemoryMiB},
		Placement: placementBrief{Datastores: []datastoreBrief{}},
		Changes:   []changeOut{}, Alarms: []alarmBrief{}, Findings: []findingOut{}, Notes: inv.notes,
		Snapshots: snapshotsBrief{Count: len(inv.snapshots)},
	}
	if st.UptimeSeconds > 0 {
		out.State.Uptime = strings.TrimSuffix(ago(inv.now, inv.now.Add(-time.Duration(st.UptimeSeconds)*time.Second)), " ago")
	}
	var f findings
	if h := inv.host; h != nil {
		hb := &hostBrief{ID: h.ID, Name: h.Name, Connection: h.ConnectionState}
		if h.CPUCapacityMHz > 0 {
			hb.CPUPct = round2(float64(h.CPUUsageMHz) / float64(h.CPUCapacityMHz) * 100)
		}
		if h.MemoryBytes > 0 {
			hb.MemPct = round2(float64(h.MemoryUsageMB) / float64(h.MemoryBytes>>20) * 100)
		}
		out.Placement.Host = hb
		if h.ConnectionState != "" && h.ConnectionState != "connected" {
			f.add("critical", fmt.Sprintf("The VM's host %s is %s", label(h.Name, h.ID), h.ConnectionState), "HostSystem.summary runtime.connectionState",
				fmt.Sprintf("get_host_performance {\"host_id\":%q}; list_events {\"entity\":%q}", h.ID, h.ID))
		}
	} else if st.HostID != "" {
		out.Placement.Host = &hostBrief{ID: st.HostID}
	}
	for _, id := range inv.dsIDs {
		for _, ds := range inv.allDS {
			if ds.ID != id || ds.Capacity == nil || ds.FreeSpace == nil || *ds.Capacity <= 0 {
				continue
			}
			b := datastoreBrief{ID: ds.ID, Name: ds.Name, FreePct: round2(float64(*ds.FreeSpace) / float64(*ds.Capacity) * 100), FreeGiB: gib(*ds.FreeSpace)}
			out.Placement.Datastores = append(out.Placement.Datastores, b)
			if b.FreePct < datastoreMinFreePct {
				f.add("warning", fmt.Sprintf("Datastore %s is nearly full: %.1f %% free", label(ds.Name, ds.ID), b.FreePct),
					fmt.Sprintf("%.1f GiB free of %.1f GiB (threshold %.0f %%)", b.FreeGiB, gib(*ds.Capacity), datastoreMinFreePct),
					fmt.Sprintf("get_datastore_usage {\"datastores\":[%q]}", ds.ID))
			}
		}
	}

	// Alarms: red first, then the rest, at most maxListed.
	mine := inv.alarms // those that concern the VM, see gather
	slices.SortStableFunc(mine, func(a, b vcenter.AlarmState) int {
		return cmp.Or(cmp.Compare(statusRank(a.Status), statusRank(b.Status)), b.Time.Compare(a.Time))
	})
	for _, a := range mine {
		name := cmp.Or(a.Name, a.AlarmID)
		on := inv.entityLabel(a.Entity)
		if len(out.Alarms) < maxListed {
			out.Alarms = append(out.Alarms, alarmBrief{Alarm: name, AlarmID: a.AlarmID, Status: a.Status, On: on, EntityID: a.Entity.ID,
				Since: stamp(a.Time), Acknowledged: a.Acknowledged})
		}
		sev := map[string]string{"red": "critical", "yellow": "warning"}[a.Status]
		if sev == "" {
			continue
		}
		ack := ""
		if a.Acknowledged {
			ack = fmt.Sprintf(", acknowledged by %s", a.AcknowledgedBy)
			if sev == "critical" {
				sev = "warning"
			}
		}
		next := fmt.Sprintf("list_alarms {\"entity\":%q}", a.Entity.ID)
		if !a.Acknowledged {
			next += fmt.Sprintf("; acknowledge_alarm {\"alarm_id\":%q,\"entity_id\":%q} once handled", a.AlarmID, a.Entity.ID)
		}
		f.add(sev, fmt.Sprintf("Alarm %q is %s on %s", name, a.Status, on),
			fmt.Sprintf("triggered %s (%s)%s", stamp(a.Time), ago(inv.now, a.Time), ack), next)
	}

	// The boot and the events of the window.
	out.LastBoot = inv.boot()
	events := fmt.Sprintf("list_events {\"entity\":%q,\"since\":%q}", inv.vm, stamp(inv.since))
	if b := out.LastBoot; b != nil && b.Time >= stamp(inv.since) {
		switch b.Cause {
		case "ha_restart":
			f.add("critical", "vSphere HA restarted the VM "+b.Ago+": its host failed", b.Evidence,
				events+"; list_events {\"types\":[\"ha\"],\"since\":\"24h\"} for the host failure")
		case "reset":
			f.add("warning", fmt.Sprintf("The VM was reset (hard) by %s %s", cmpOr(b.By, "vCenter"), b.Ago), b.Evidence+" (a reset loses the guest's unsaved state)", events)
		case "user_power_on":
			f.add("info", fmt.Sprintf("The VM was powered on by %s %s", b.By, b.Ago), b.Evidence, events)
		case "guest_reboot":
			f.add("info", fmt.Sprintf("The guest OS was rebooted by %s %s", cmpOr(b.By, "someone in the guest"), b.Ago), b.Evidence, events)
		case "system_power_on":
			f.add("info", "The VM was powered on by vCenter "+b.Ago, b.Evidence, events)
		}
	}
	bootTime := ""
	if out.LastBoot != nil {
		bootTime = out.LastBoot.Time
	}
	for _, e := range inv.events {
		if e.Time.Before(inv.since) {
			continue
		}
		switch e.Type {
		case "VmReconfiguredEvent", "VmMigratedEvent", "DrsVmMigratedEvent", "VmRelocatedEvent",
			"VmPoweredOffEvent", "VmPoweredOnEvent", "VmResettingEvent", "VmGuestShutdownEvent", "VmGuestRebootEvent",
			"VmSuspendedEvent", "com.vmware.vc.ha.VmRestartedByHAEvent":
		default:
			continue
		}
		what := truncate(e.Message, 160)
		if e.ConfigChanges != "" {
			what = "reconfigured: " + truncate(strings.TrimSpace(e.ConfigChanges), 140)
		}
		if len(out.Changes) < maxListed {
			out.Changes = append(out.Changes, changeOut{Time: stamp(e.Time), User: e.User, What: what})
		}
		switch {
		case e.Type == "VmReconfiguredEvent":
			f.add("info", fmt.Sprintf("Reconfigured by %s %s", cmpOr(e.User, "vCenter"), ago(inv.now, e.Time)), what, events)
		case e.Type == "VmResettingEvent" && stamp(e.Time) != bootTime:
			f.add("warning", fmt.Sprintf("Reset (hard) by %s %s", cmpOr(e.User, "vCenter"), ago(inv.now, e.Time)), what, events)
		case e.Type == "com.vmware.vc.ha.VmRestartedByHAEvent" && (out.LastBoot == nil || out.LastBoot.Cause != "ha_restart"):
			f.add("critical", "vSphere HA restarted the VM "+ago(inv.now, e.Time), what, events)
		}
	}
	if inv.truncated {
		inv.notes = append(inv.notes, fmt.Sprintf("more than %d events in the window: only the newest were read; list_events pages through all", vcenter.MaxEventPage))
		out.Notes = inv.notes
	}

	// Snapshots.
	var oldest *vcenter.Snapshot
	for i, s := range inv.snapshots {
		if oldest == nil || s.Created.Before(oldest.Created) {
			oldest = &inv.snapshots[i]
		}
	}
	if oldest != nil {
		age := inv.now.Sub(oldest.Created)
		out.Snapshots.OldestDays, out.Snapshots.Oldest = round2(age.Hours()/24), oldest.Name
		if age > snapshotMaxAge {
			f.add("warning", fmt.Sprintf("%d snapshot(s); the oldest, %q, is %.0f days old", len(inv.snapshots), oldest.Name, age.Hours()/24),
				fmt.Sprintf("taken %s (threshold %.0f days): delta disks grow and slow the VM", stamp(oldest.Created), snapshotMaxAge.Hours()/24),
				fmt.Sprintf("list_vm_snapshots {\"vm_id\":%q}; delete_vm_snapshot when no longer needed", inv.vm))
		}
	}

	// VMware Tools.
	if st.Power == vcenter.PoweredOn && !st.ToolsRunning {
		sev, what := "warning", "VMware Tools is not running"
		if st.ToolsStatus == "toolsNotInstalled" {
			sev, what = "info", "VMware Tools is not installed"
		}
		f.add(sev, what+": no guest heartbeat, IP or clean shutdown", "summary.guest.toolsStatus "+st.ToolsStatus+", heartbeat "+st.Heartbeat,
			fmt.Sprintf("get_vm_details {\"vm_id\":%q}", inv.vm))
	}
	if st.Power != vcenter.PoweredOn {
		f.add("info", "The VM is "+strings.ToLower(strings.ReplaceAll(string(st.Power), "_", " ")), "runtime.powerState",
			events+"; power_on_vm to start it")
	}

	// Performance over the last hour.
	if p := inv.perf; p != nil {
		m := p.by
		out.Performance = &perfBrief{Window: "last hour", CPUUsagePct: m["cpu_usage"].Avg, CPUReadyPct: m["cpu_ready"].Avg,
			BalloonedMB: m["mem_ballooned"].Avg, SwappedMB: m["mem_swapped"].Avg, DiskLatency: m["disk_latency_max"].Avg, DiskLatMaxMs: m["disk_latency_max"].Max}
		perf := fmt.Sprintf("get_vm_performance {\"vm_id\":%q,\"period\":\"day\"}", inv.vm)
		hostPerf := perf
		if st.HostID != "" {
			hostPerf = fmt.Sprintf("get_host_performance {\"host_id\":%q}", st.HostID)
		}
		if r := m["cpu_ready"].Avg; r > readyWarnPct {
			f.add("warning", fmt.Sprintf("CPU ready %.1f %% per vCPU: the VM waits for physical CPU", r),
				fmt.Sprintf("average over the last hour, max %.1f %% (threshold %.0f %%)", m["cpu_ready"].Max, readyWarnPct), hostPerf)
		}
		if u := m["cpu_usage"].Avg; u > cpuBusyPct {
			f.add("warning", fmt.Sprintf("CPU usage %.1f %%: the VM is saturated", u), fmt.Sprintf("average over the last hour (threshold %.0f %%)", cpuBusyPct), perf)
		}
		if b, s := m["mem_ballooned"].Avg, m["mem_swapped"].Avg; b > memReclaimMB || s > memReclaimMB {
			f.add("warning", fmt.Sprintf("The host reclaims the VM's memory: %.0f MB ballooned, %.0f MB swapped", b, s),
				"averages over the last hour (threshold: any); the host is short of memory", hostPerf)
		}
		if l := m["disk_latency_max"].Avg; l > latencyWarnMs {
			f.add("warning", fmt.Sprintf("Disk latency %.1f ms: storage is slow", l),
				fmt.Sprintf("highest latency across the VM's disks, averaged over the last hour, peak %.0f ms (threshold %.0f ms)", m["disk_latency_max"].Max, latencyWarnMs), perf)
		}
	}

	out.Findings = f.ranked()
	out.Summary = inv.summary(out)
	return out
}

// summary is one line for the user.
func (inv *investigation) summary(out investigateOut) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s is %s", inv.vmLabel(), strings.ToLower(strings.ReplaceAll(out.State.Power, "_", " ")))
	if h := out.Placement.Host; h != nil && h.Name != "" {
		fmt.Fprintf(&b, " (host %s)", h.Name)
	}
	if lb := out.LastBoot; lb != nil {
		fmt.Fprintf(&b, "; last boot %s (%s", lb.Ago, strings.ReplaceAll(lb.Cause, "_", " "))
		if lb.By != "" {
			fmt.Fprintf(&b, " by %s", lb.By)
		}
		b.WriteString(")")
	}
	crit, warn := 0, 0
	for _, x := range out.Findings {
		switch x.Severity {
		case "critical":
			crit++
		case "warning":
			warn++
		}
	}
	fmt.Fprintf(&b, "; %d critical and %d warning finding(s)", crit, warn)
	if len(out.Findings) > 0 {
		fmt.Fprintf(&b, ", first: %s", out.Findings[0].Finding)
	}
	return b.String()
}

// findings collects findings in the order they were found, which is their
// order within a severity.
type findings struct{ list []findingOut }

func (f *findings) add(severity, finding, evidence, next string) {
	f.list = append(f.list, findingOut{Severity: severity, Finding: finding, Evidence: truncate(evidence, 240), Next: next})
}

// ranked sorts by severity (critical, warning, info) and keeps maxFindings.
func (f *findings) ranked() []findingOut {
	rank := map[string]int{"critical": 0, "warning": 1, "info": 2}
	out := slices.Clone(f.list)
	slices.SortStableFunc(out, func(a, b findingOut) int { return cmp.Compare(rank[a.Severity], rank[b.Severity]) })
	if len(out) > maxFindings {
		out = out[:maxFindings]
	}
	if out == nil {
		out = []findingOut{}
	}
	return out
}
