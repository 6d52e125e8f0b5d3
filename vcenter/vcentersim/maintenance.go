package vcentersim

import (
	"encoding/json"
	"fmt"
	"time"
)

// Host maintenance mode over VI/JSON (contract changes §6): the
// HostSystem.runtime property, EnterMaintenanceMode_Task and
// ExitMaintenanceMode_Task, and what a preview reads, the cluster's
// configurationEx (DRS settings and per-VM overrides). What happens follows
// §6.2:
//   - entering fails at once with InvalidState when the host is in
//     maintenance mode already, exiting when it is not (or the host is not
//     connected);
//   - the task ends once no powered-on VM is left on the host. It moves
//     none itself: in a DRS cluster at fullyAutomated, DRS vMotions each
//     powered-on VM whose own level is not lower to the connected host with
//     the fewest powered-on VMs that reaches its storage and networks; with
//     evacuatePoweredOffVms, vCenter re-registers powered-off and suspended
//     VMs on other hosts of a DRS cluster (at any level), and a host outside
//     one waits for them to be moved.
//     Elsewhere (partiallyAutomated, manual, no DRS, a VM DRS cannot place)
//     the task keeps running until the VMs are moved or powered off by
//     someone else;
//   - with timeout > 0, a task still waiting that many seconds (on the
//     simulator's clock) after it started ends in Timedout, the host not in
//     maintenance mode; the VMs DRS moved stay moved;
//   - both tasks are cancelable (RequestCanceled);
//   - a host in maintenance mode takes no VM: power-on, clone, deploy and
//     migration onto it are refused.

// handleHostRuntime is the HostSystem.runtime property (HostRuntimeInfo).
func handleHostRuntime(s *Server, c *call) (any, *vimFault) {
	h := s.inv.hosts[c.param("moId")]
	if h == nil {
		return nil, faultNotFound("HostSystem", c.param("moId"))
	}
	rt := map[string]any{"_typeName": "HostRuntimeInfo", "connectionState": "connected", "powerState": "poweredOn",
		"inMaintenanceMode": h.maintenance, "inQuarantineMode": false, "standbyMode": "none"}
	switch h.connection {
	case "DISCONNECTED":
		rt["connectionState"], rt["powerState"] = "disconnected", "unknown"
	case "NOT_RESPONDING":
		rt["connectionState"], rt["powerState"] = "notResponding", "unknown"
	}
	return rt, nil
}

// handleClusterConfigurationEx is ClusterComputeResource.configurationEx
// (ClusterConfigInfoEx): DRS and HA settings and the per-VM DRS overrides.
func handleClusterConfigurationEx(s *Server, c *call) (any, *vimFault) {
	cl := s.inv.clusters[c.param("moId")]
	if cl == nil {
		return nil, faultNotFound("ClusterComputeResource", c.param("moId"))
	}
	behavior := cl.drsBehavior
	if behavior == "" {
		behavior = "fullyAutomated"
	}
	overrides := []map[string]any{}
	for _, v := range s.inv.vmOrder {
		if v.DRSBehavior != "" && s.inv.clusterOf(v) == cl.id {
			overrides = append(overrides, map[string]any{"_typeName": "ClusterDrsVmConfigInfo", "key": ref("VirtualMachine", v.ID),
				"enabled": true, "behavior": v.DRSBehavior})
		}
	}
	return map[string]any{
		"_typeName": "ClusterConfigInfoEx",
		"drsConfig": map[string]any{"_typeName": "ClusterDrsConfigInfo", "enabled": cl.drs, "defaultVmBehavior": behavior,
			"enableVmBehaviorOverrides": true, "vmotionRate": 3},
		"dasConfig":   map[string]any{"_typeName": "ClusterDasConfigInfo", "enabled": cl.ha},
		"drsVmConfig": overrides,
	}, nil
}

// hostOf finds the path's host.
func (s *Server) hostOf(c *call) (*host, *vimFault) {
	h := s.inv.hosts[c.param("moId")]
	if h == nil {
		return nil, faultNotFound("HostSystem", c.param("moId"))
	}
	return h, nil
}

func faultInvalidHostState(message string) *vimFault {
	return newFault("InvalidState", message)
}

// handleEnterMaintenance is HostSystem.EnterMaintenanceMode_Task {timeout,
// evacuatePoweredOffVms, maintenanceSpec}.
func handleEnterMaintenance(s *Server, c *call) (any, *vimFault) {
	h, fault := s.hostOf(c)
	if fault != nil {
		return nil, fault
	}
	p, fault := decodeParams(c.body, map[string]bool{"timeout": true, "evacuatePoweredOffVms": false, "maintenanceSpec": false})
	if fault != nil {
		return nil, fault
	}
	var timeout int
	var evacuateOff bool
	if json.Unmarshal(p["timeout"], &timeout) != nil {
		return nil, faultInvalidArgument("timeout")
	}
	if f := p.boolean("evacuatePoweredOffVms", &evacuateOff); f != nil {
		return nil, f
	}
	if _, f := p.object("maintenanceSpec", "HostMaintenanceSpec"); f != nil {
		return nil, f
	}
	switch {
	case h.connection != "CONNECTED":
		return nil, faultInvalidHostState(fmt.Sprintf("Host %s is %s.", h.name, h.connection))
	case h.maintenance:
		return nil, faultInvalidHostState(fmt.Sprintf("Host %s is already in maintenance mode.", h.name))
	}
	for _, t := range s.runningTasks() {
		if t.VM == h.id {
			return nil, faultTaskInProgress(t)
		}
	}
	t := s.startEntityTask(c, "EnterMaintenanceMode_Task", "HostSystem.enterMaintenanceMode", "HostSystem", h.id, h.name, true, "",
		func() (string, *vimFault) {
			h.maintenance = true
			return "", nil
		})
	t.hold = func() (bool, *vimFault) {
		s.evacuate(h, evacuateOff)
		if !s.hostEmpty(h, evacuateOff) {
			if timeout > 0 && s.now().Sub(t.StartTime) >= time.Duration(timeout)*time.Second {
				return false, newFault("Timedout", fmt.Sprintf("Host %s did not enter maintenance mode within %d seconds: virtual machines are still powered on there.", h.name, timeout))
			}
			return true, nil
		}
		return false, nil
	}
	return t.mo(), nil
}

// hostEmpty reports whether h may enter maintenance mode: no powered-on VM
// on it (and, when they are to be evacuated, no other VM either).
func (s *Server) hostEmpty(h *host, evacuateOff bool) bool {
	for _, v := range s.inv.vmOrder {
		if v.Host == h.id && (v.PowerState == PoweredOn || evacuateOff && !v.Template) {
			return false
		}
	}
	return true
}

// evacuate is DRS answering a host entering maintenance mode: in a
// fullyAutomated cluster, every VM it may move goes to the usable host with
// the fewest powered-on VMs. Caller holds mu.
func (s *Server) evacuate(h *host, evacuateOff bool) {
	if h.cluster == "" {
		return
	}
	c := s.inv.clusters[h.cluster]
	for _, v := range s.inv.vmOrder {
		if v.Host != h.id || v.Template || v.PowerState != PoweredOn && !evacuateOff {
			continue
		}
		// DRS vMotions a powered-on VM only at fullyAutomated; vCenter
		// re-registers a powered-off one in any DRS cluster.
		if !c.drs || v.PowerState == PoweredOn && s.inv.drsLevel(v) != "fullyAutomated" || s.busyTask(v.ID) != nil {
			continue
		}
		to := s.inv.drsPick(c, h.id, v)
		if to == nil {
			continue
		}
		v.Host = to.id // same cluster: pool, folder and storage stay
	}
}

// handleExitMaintenance is HostSystem.ExitMaintenanceMode_Task {timeout}.
func handleExitMaintenance(s *Server, c *call) (any, *vimFault) {
	h, fault := s.hostOf(c)
	if fault != nil {
		return nil, fault
	}
	p, fault := decodeParams(c.body, map[string]bool{"timeout": true})
	if fault != nil {
		return nil, fault
	}
	var timeout int
	if json.Unmarshal(p["timeout"], &timeout) != nil {
		return nil, faultInvalidArgument("timeout")
	}
	switch {
	case h.connection != "CONNECTED":
		return nil, faultInvalidHostState(fmt.Sprintf("Host %s is %s.", h.name, h.connection))
	case !h.maintenance:
		return nil, faultInvalidHostState(fmt.Sprintf("Host %s is not in maintenance mode.", h.name))
	}
	for _, t := range s.runningTasks() {
		if t.VM == h.id {
			return nil, faultTaskInProgress(t)
		}
	}
	return s.startEntityTask(c, "ExitMaintenanceMode_Task", "HostSystem.exitMaintenanceMode", "HostSystem", h.id, h.name, true, "",
		func() (string, *vimFault) {
			h.maintenance = false
			return "", nil
		}).mo(), nil
}

// Host is a copy of a host's state, as [Server.Hosts] returns it.
type Host struct {
	ID, Name, Cluster string
	Connection        string // CONNECTED, DISCONNECTED, NOT_RESPONDING
	Maintenance       bool
}

// Hosts returns every host, in id order.
func (s *Server) Hosts() []Host {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Host
	for _, h := range sortedValues(s.inv.hosts) {
		out = append(out, Host{ID: h.id, Name: h.name, Cluster: h.cluster, Connection: h.connection, Maintenance: h.maintenance})
	}
	return out
}

// SetMaintenance puts a host into maintenance mode or out of it at once,
// for test setup.
func (s *Server) SetMaintenance(hostID string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.inv.hosts[hostID]
	if h == nil {
		return fmt.Errorf("vcentersim: no host %s", hostID)
	}
	h.maintenance = on
	return nil
}
