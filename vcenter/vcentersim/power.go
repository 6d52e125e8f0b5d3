package vcentersim

// Power and guest power follow the state rules of contract §2.4. A VM with a
// running task is RESOURCE_BUSY for every state change (vSphere runs one task
// per VM; the Automation API maps TaskInProgress to RESOURCE_BUSY).

type powerInfo struct {
	State         PowerState `json:"state"`
	CleanPowerOff *bool      `json:"clean_power_off,omitempty"`
}

// handleGetPower is GET .../power; clean_power_off is set only when off.
func handleGetPower(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	info := powerInfo{State: v.PowerState}
	if v.PowerState == PoweredOff {
		clean := v.CleanPowerOff
		info.CleanPowerOff = &clean
	}
	return info, nil
}

// powerHandler serves one power action: POST .../power?action=X on /api,
// POST .../power/X on /rest.
func powerHandler(action string) vapiHandler {
	return func(s *Server, c *call) (any, *vapiError) {
		v, err := s.vmOf(c)
		if err != nil {
			return nil, err
		}
		if s.busyTask(v.ID) != nil {
			return nil, errVMBusy(v.ID)
		}
		now := s.now()
		switch action {
		case "start":
			if v.PowerState == PoweredOn {
				return nil, errVMState("ALREADY_IN_DESIRED_STATE", "power.already_powered_on", "Virtual machine is already powered on.")
			}
			v.setPower(PoweredOn, now, false)
		case "stop": // allowed on a suspended VM
			if v.PowerState == PoweredOff {
				return nil, errVMState("ALREADY_IN_DESIRED_STATE", "power.already_powered_off", "Virtual machine is already powered off.")
			}
			v.setPower(PoweredOff, now, false)
		case "suspend":
			switch v.PowerState {
			case Suspended:
				return nil, errVMState("ALREADY_IN_DESIRED_STATE", "power.already_suspended", "Virtual machine is already suspended.")
			case PoweredOff:
				return nil, errVMState("NOT_ALLOWED_IN_CURRENT_STATE", "power.not_powered_on", "Virtual machine is powered off and cannot be suspended.")
			}
			v.setPower(Suspended, now, false)
		case "reset":
			if v.PowerState != PoweredOn {
				return nil, errVMState("NOT_ALLOWED_IN_CURRENT_STATE", "power.not_powered_on", "Virtual machine is not powered on and cannot be reset.")
			}
			v.setPower(PoweredOff, now, false)
			v.setPower(PoweredOn, now, false)
		}
		delete(s.shutdownDue, v.ID) // a hard power operation overtakes a guest shutdown
		s.logPowerEvent(c, v, action)
		return nil, nil
	}
}

// Guest power states (VcenterVmGuestPowerState).
const (
	guestRunning      = "RUNNING"
	guestShuttingDown = "SHUTTING_DOWN"
	guestStandby      = "STANDBY"
	guestNotRunning   = "NOT_RUNNING"
)

type guestPowerInfo struct {
	State           string `json:"state"`
	OperationsReady bool   `json:"operations_ready"`
}

// guestState is the guest OS power state as VMware Tools reports it. A
// powered-on VM without Tools running reports NOT_RUNNING, as vCenter's
// guest.guestState does ("notRunning"), not UNAVAILABLE.
func (s *Server) guestState(v *vm) guestPowerInfo {
	switch {
	case v.PowerState != PoweredOn:
		return guestPowerInfo{State: guestNotRunning}
	case s.shuttingDown(v):
		return guestPowerInfo{State: guestShuttingDown}
	case v.guestStandby:
		return guestPowerInfo{State: guestStandby}
	case v.ToolsRunning:
		return guestPowerInfo{State: guestRunning, OperationsReady: true}
	default:
		return guestPowerInfo{State: guestNotRunning}
	}
}

func (s *Server) shuttingDown(v *vm) bool {
	_, ok := s.shutdownDue[v.ID]
	return ok
}

// handleGetGuestPower is GET .../guest/power.
func handleGetGuestPower(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	return s.guestState(v), nil
}

// guestPowerHandler serves POST .../guest/power?action=shutdown|reboot|standby
// (both dialects use ?action=). The request returns at once; with
// Options.GuestShutdownDelay a shutdown keeps the VM on for that long.
func guestPowerHandler(action string) vapiHandler {
	return func(s *Server, c *call) (any, *vapiError) {
		v, err := s.vmOf(c)
		if err != nil {
			return nil, err
		}
		if s.busyTask(v.ID) != nil {
			return nil, errVMBusy(v.ID)
		}
		switch {
		case v.PowerState == PoweredOff && action == "shutdown":
			return nil, errVMState("ALREADY_IN_DESIRED_STATE", "guest.power.already_powered_off", "Virtual machine is already powered off.")
		case v.PowerState != PoweredOn:
			return nil, errVMState("NOT_ALLOWED_IN_CURRENT_STATE", "guest.power.not_powered_on", "Virtual machine is not powered on.")
		case s.shuttingDown(v) && action == "shutdown":
			return nil, nil // already on its way down
		case s.shuttingDown(v) || v.guestStandby:
			return nil, errVMState("NOT_ALLOWED_IN_CURRENT_STATE", "guest.power.not_running", "The guest operating system is not running.")
		case !v.ToolsRunning:
			return nil, errToolsNotRunning(v.ID)
		}
		now := s.now()
		switch action {
		case "shutdown":
			if s.opts.GuestShutdownDelay <= 0 {
				v.setPower(PoweredOff, now, true)
			} else {
				s.shutdownDue[v.ID] = now.Add(s.opts.GuestShutdownDelay)
			}
		case "reboot":
			// A guest reboot is no power cycle: runtime.bootTime stays
			// (vcenter-api-observability.md §1); the guest's uptime restarts.
			s.obs.guestReboot[v.ID] = now
		case "standby":
			v.guestStandby = true
			v.ToolsRunning = false
		}
		s.logPowerEvent(c, v, "guest-"+action)
		return nil, nil
	}
}

// settleGuests completes the guest shutdowns whose delay has passed on the
// simulator's clock. Every request and control runs it first. Caller holds mu.
func (s *Server) settleGuests() {
	now := s.now()
	for id, due := range s.shutdownDue {
		if now.Before(due) {
			continue
		}
		if v := s.inv.vms[id]; v != nil && v.PowerState == PoweredOn {
			v.setPower(PoweredOff, due, true)
		}
		delete(s.shutdownDue, id)
	}
}

// handleDeleteVM is DELETE /api/vcenter/vm/{vm}. vCenter refuses a running
// VM (NOT_ALLOWED_IN_CURRENT_STATE). A suspended VM is not running, and
// vSphere's Destroy_Task deletes it with its suspend state, so the simulator
// allows it (contract §8 leaves this to be checked on a live box).
func handleDeleteVM(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	if s.busyTask(v.ID) != nil {
		return nil, errVMBusy(v.ID)
	}
	if v.PowerState == PoweredOn {
		return nil, errVMState("NOT_ALLOWED_IN_CURRENT_STATE", "delete.powered_on", "Virtual machine is powered on: power it off before deleting it.")
	}
	s.inv.deleteVM(v.ID)
	delete(s.shutdownDue, v.ID)
	return nil, nil
}
