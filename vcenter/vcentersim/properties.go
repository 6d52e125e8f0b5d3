package vcentersim

import (
	"slices"
	"time"
)

// Property reads of contract §1 that a triage makes: VM and host
// summaries, recent tasks.

// hardware is a host's HostHardwareSummary, by cluster.
type hardware struct {
	vendor, model, cpuModel string
	mhz, cores, pkgs        int
	memBytes                int64
}

func hostHardware(h *host) hardware {
	const gib = 1 << 30
	hw := hardware{vendor: "Dell Inc.", model: "PowerEdge R650", cpuModel: "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
		mhz: 2000, cores: 64, pkgs: 2, memBytes: 512 * gib}
	switch {
	case h.cluster == "":
		hw.model, hw.cores, hw.pkgs, hw.memBytes = "PowerEdge R350", 8, 1, 64*gib
	case noise(h.cluster, 9) < 0.5:
		hw.vendor, hw.model, hw.cpuModel, hw.mhz, hw.cores, hw.memBytes = "HPE", "ProLiant DL380 Gen10 Plus", "Intel(R) Xeon(R) Gold 6330 CPU @ 2.00GHz", 2000, 56, 384*gib
	}
	return hw
}

// vimGuestToolsStatus writes a VM's Tools state as VirtualMachineToolsStatus
// and VirtualMachineToolsRunningStatus.
func vimGuestTools(v *vm) (status, running string) {
	switch {
	case !v.ToolsInstalled:
		return "toolsNotInstalled", "guestToolsNotRunning"
	case !v.ToolsRunning:
		return "toolsNotRunning", "guestToolsNotRunning"
	}
	return "toolsOk", "guestToolsRunning"
}

// nowSample is the time stamp of the newest realtime sample: what
// quickStats, a roughly 20 s snapshot, report.
func (s *Server) nowSample() int64 {
	return s.now().Unix() / realtimeInterval * realtimeInterval
}

// quick returns one counter's newest realtime value for an entity.
func (s *Server) quick(e perfEntity, counter string) int64 {
	for _, c := range perfCounters {
		if c.fullName() == counter {
			return s.perfValue(e, c, realtimeInterval, s.nowSample())
		}
	}
	return 0
}

// vmSummary is VirtualMachine.summary (VirtualMachineSummary).
func (s *Server) vmSummary(v *vm) map[string]any {
	_, guestID, label := guestOSName(v.GuestOS)
	status, running := vimGuestTools(v)
	guest := map[string]any{"_typeName": "VirtualMachineGuestSummary", "guestId": guestID, "guestFullName": label,
		"toolsStatus": status, "toolsRunningStatus": running, "toolsVersionStatus2": "guestToolsCurrent", "hwVersion": "vmx-19"}
	if !v.ToolsInstalled {
		guest["toolsVersionStatus2"] = "guestToolsNotInstalled"
	}
	if v.ToolsRunning {
		guest["hostName"], guest["ipAddress"] = v.HostName, v.IPAddress
	}
	dsName := ""
	var committed int64
	for i, d := range v.Disks {
		if i == 0 {
			dsName = s.inv.nameOf(d.Datastore)
		}
		committed += d.CapacityBytes / 2 // thin disks, half written
	}
	quick := map[string]any{"_typeName": "VirtualMachineQuickStats", "guestHeartbeatStatus": "gray"}
	if v.PowerState == PoweredOn {
		e, _, _ := s.perfEntityOf("VirtualMachine", v.ID)
		mb := func(counter string) int64 { return s.quick(e, counter) / 1024 }
		usage := s.quick(e, "cpu.usagemhz.average")
		quick["overallCpuUsage"], quick["overallCpuDemand"] = usage, usage+usage/20
		quick["guestMemoryUsage"], quick["activeMemory"] = mb("mem.active.average"), mb("mem.active.average")
		quick["hostMemoryUsage"] = mb("mem.consumed.average")
		quick["consumedOverheadMemory"] = 35 + v.MemoryMiB/1024
		if b := mb("mem.vmmemctl.average"); b > 0 {
			quick["balloonedMemory"] = b
		}
		if sw := mb("mem.swapped.average"); sw > 0 {
			quick["swappedMemory"] = sw
		}
		if v.ToolsRunning {
			quick["guestHeartbeatStatus"] = "green"
			since := v.bootTime
			if r := s.obs.guestReboot[v.ID]; r.After(since) {
				since = r
			}
			quick["uptimeSeconds"] = int64(s.now().Sub(since).Seconds())
		} else if v.ToolsInstalled {
			quick["guestHeartbeatStatus"] = "red"
		}
	}
	return map[string]any{
		"_typeName": "VirtualMachineSummary",
		"vm":        ref("VirtualMachine", v.ID),
		"runtime":   s.runtimeInfo(v),
		"guest":     guest,
		"config": map[string]any{"_typeName": "VirtualMachineConfigSummary", "name": v.Name, "template": false,
			"vmPathName": "[" + dsName + "] " + v.Name + "/" + v.Name + ".vmx", "memorySizeMB": v.MemoryMiB, "numCpu": v.CPUCount,
			"numEthernetCards": len(v.NICs), "numVirtualDisks": len(v.Disks), "uuid": v.BIOSUUID, "instanceUuid": v.InstanceUUID,
			"guestId": guestID, "guestFullName": label},
		"storage": map[string]any{"_typeName": "VirtualMachineStorageSummary", "committed": committed, "uncommitted": committed,
			"unshared": committed, "timestamp": vimTime(s.now())},
		"quickStats":    quick,
		"overallStatus": s.overallStatus(v.ID),
	}
}

func handleVMSummary(s *Server, c *call) (any, *vimFault) {
	v, fault := s.vimVM(c)
	if fault != nil {
		return nil, fault
	}
	return s.vmSummary(v), nil
}

// handleHostSummary is HostSystem.summary (HostListSummary); quickStats
// only while the host is connected.
func handleHostSummary(s *Server, c *call) (any, *vimFault) {
	h := s.inv.hosts[c.param("moId")]
	if h == nil {
		return nil, faultNotFound("HostSystem", c.param("moId"))
	}
	hw := hostHardware(h)
	rt := map[string]any{"_typeName": "HostRuntimeInfo", "connectionState": "connected", "powerState": "poweredOn", "inMaintenanceMode": false}
	switch h.connection {
	case "DISCONNECTED":
		rt["connectionState"], rt["powerState"] = "disconnected", "unknown"
	case "NOT_RESPONDING":
		rt["connectionState"], rt["powerState"] = "notResponding", "unknown"
	}
	boot := s.obs.hostBoot[h.id]
	if boot.IsZero() {
		boot = inventoryEpoch.Add(-30 * 24 * time.Hour)
	}
	rt["bootTime"] = vimTime(boot)
	summary := map[string]any{
		"_typeName": "HostListSummary", "host": ref("HostSystem", h.id),
		"hardware": map[string]any{"_typeName": "HostHardwareSummary", "vendor": hw.vendor, "model": hw.model,
			"uuid": uuidOf(h.id), "memorySize": hw.memBytes, "cpuModel": hw.cpuModel, "cpuMhz": hw.mhz,
			"numCpuPkgs": hw.pkgs, "numCpuCores": hw.cores, "numCpuThreads": 2 * hw.cores, "numNics": 4, "numHBAs": 2},
		"runtime":       rt,
		"config":        map[string]any{"_typeName": "HostConfigSummary", "name": h.name, "port": 443, "vmotionEnabled": true, "faultToleranceEnabled": false},
		"overallStatus": s.overallStatus(h.id), "rebootRequired": false,
	}
	quick := map[string]any{"_typeName": "HostListSummaryQuickStats"}
	if h.connection == "CONNECTED" {
		e, _, _ := s.perfEntityOf("HostSystem", h.id)
		quick["overallCpuUsage"] = s.quick(e, "cpu.usagemhz.average")
		quick["overallMemoryUsage"] = s.quick(e, "mem.consumed.average") / 1024
		quick["distributedCpuFairness"], quick["distributedMemoryFairness"] = 1000, 1000
		quick["uptime"] = int64(s.now().Sub(boot).Seconds())
	}
	summary["quickStats"] = quick
	return summary, nil
}

// recentTaskMax and recentTaskAge bound TaskManager.recentTask: tasks queued
// or running, and those completed in the past ten minutes, the last 200
// (contract §5).
const (
	recentTaskMax = 200
	recentTaskAge = 10 * time.Minute
)

// recentTasks lists the recent tasks of one VM, or of all when vmID is "",
// oldest first.
func (s *Server) recentTasks(vmID string) []moRef {
	var ts []*task
	for _, t := range s.tasks {
		recent := t.State == TaskQueued || t.State == TaskRunning || s.now().Sub(t.CompleteTime) <= recentTaskAge
		if recent && (vmID == "" || t.VM == vmID) {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, func(a, b *task) int { return compareIDs(a.ID, b.ID) })
	if len(ts) > recentTaskMax {
		ts = ts[len(ts)-recentTaskMax:]
	}
	out := []moRef{}
	for _, t := range ts {
		out = append(out, ref("Task", t.ID))
	}
	return out
}

func handleTaskManagerRecent(s *Server, c *call) (any, *vimFault) {
	return s.recentTasks(""), nil
}

func handleVMRecentTask(s *Server, c *call) (any, *vimFault) {
	v, fault := s.vimVM(c)
	if fault != nil {
		return nil, fault
	}
	return s.recentTasks(v.ID), nil
}
