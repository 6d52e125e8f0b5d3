package vcenter

import (
	"context"
	"fmt"
	"net/http"
)

// PowerAction is a hard power operation (vcenter-api.md §2.1): /api sends
// POST …/power?action=start, /rest POST …/power/start.
type PowerAction string

// Hard power actions.
const (
	PowerStart   PowerAction = "start"
	PowerStop    PowerAction = "stop"
	PowerReset   PowerAction = "reset"
	PowerSuspend PowerAction = "suspend"
)

// GuestAction is a guest OS power operation through VMware Tools; vCenter
// returns at once without waiting for the guest.
type GuestAction string

// Guest power actions.
const (
	GuestShutdown GuestAction = "shutdown"
	GuestReboot   GuestAction = "reboot"
	GuestStandby  GuestAction = "standby"
)

// Power runs a hard power action on a VM.
func (c *Client) Power(ctx context.Context, vm string, a PowerAction) error {
	if err := ValidateID(KindVM, vm); err != nil {
		return err
	}
	switch a {
	case PowerStart, PowerStop, PowerReset, PowerSuspend:
	default:
		return fmt.Errorf("unknown power action %q", a)
	}
	path, q := c.dialect.powerAction("/vcenter/vm/"+vm, string(a))
	return c.vapiDo(ctx, request{method: http.MethodPost, path: path, query: q}, nil)
}

// GuestPower asks VMware Tools in the guest to shut down, reboot or go to
// standby. vCenter answers SERVICE_UNAVAILABLE when Tools is not running.
func (c *Client) GuestPower(ctx context.Context, vm string, a GuestAction) error {
	if err := ValidateID(KindVM, vm); err != nil {
		return err
	}
	switch a {
	case GuestShutdown, GuestReboot, GuestStandby:
	default:
		return fmt.Errorf("unknown guest power action %q", a)
	}
	path, q := c.dialect.guestAction("/vcenter/vm/"+vm, string(a))
	return c.vapiDo(ctx, request{method: http.MethodPost, path: path, query: q}, nil)
}

// PowerInfo is a VM's power state.
type PowerInfo struct {
	State PowerState `json:"state"`
	// CleanPowerOff is set only when the VM is off.
	CleanPowerOff *bool `json:"clean_power_off,omitempty"`
}

// GetPower reads a VM's power state.
func (c *Client) GetPower(ctx context.Context, vm string) (PowerInfo, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return PowerInfo{}, err
	}
	var p PowerInfo
	err := c.vapi(ctx, http.MethodGet, "/vcenter/vm/"+vm+"/power", nil, nil, &p)
	p.State = PowerState(sanitize(string(p.State), 32))
	return p, err
}

// GuestPowerInfo is the guest OS power state as VMware Tools reports it.
type GuestPowerInfo struct {
	// State is RUNNING, SHUTTING_DOWN, RESETTING, STANDBY, NOT_RUNNING or
	// UNAVAILABLE.
	State string `json:"state"`
	// OperationsReady tells whether guest power operations can run now.
	OperationsReady bool `json:"operations_ready"`
}

// ToolsRunning reports whether guest operations can be asked of the guest.
func (g GuestPowerInfo) ToolsRunning() bool { return g.State == "RUNNING" && g.OperationsReady }

// GetGuestPower reads the guest power state.
func (c *Client) GetGuestPower(ctx context.Context, vm string) (GuestPowerInfo, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return GuestPowerInfo{}, err
	}
	var g GuestPowerInfo
	err := c.vapi(ctx, http.MethodGet, "/vcenter/vm/"+vm+"/guest/power", nil, nil, &g)
	g.State = sanitize(g.State, 32)
	return g, err
}

// DeleteVM deletes a VM and its disks. vCenter refuses a powered-on VM with
// NOT_ALLOWED_IN_CURRENT_STATE.
func (c *Client) DeleteVM(ctx context.Context, vm string) error {
	if err := ValidateID(KindVM, vm); err != nil {
		return err
	}
	return c.vapi(ctx, http.MethodDelete, "/vcenter/vm/"+vm, nil, nil, nil)
}
