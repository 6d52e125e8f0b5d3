// Power tools change the power state of one VM.
// Inverses: power_on_vm ↔ shutdown_vm_guest (clean) / power_off_vm (hard);
// suspend_vm ↔ power_on_vm.

package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// powerAPI lists the vCenter calls this file makes (FindVM is in vmAPI).
type powerAPI interface {
	Power(ctx context.Context, vm string, a vcenter.PowerAction) error
	GuestPower(ctx context.Context, vm string, a vcenter.GuestAction) error
	GetPower(ctx context.Context, vm string) (vcenter.PowerInfo, error)
	GetGuestPower(ctx context.Context, vm string) (vcenter.GuestPowerInfo, error)
}

type powerIn struct {
	vmArgs
}

type powerOut struct {
	Summary string `json:"summary"`
	VM      vmRef  `json:"vm"`
	Before  string `json:"before"`  // power state before the call
	After   string `json:"after"`   // power state after the call
	Changed bool   `json:"changed"` // false when the VM was already in the asked state
}

// powerAct runs a power operation on vm, or returns done=false when the
// VM is already where the tool would take it, or an error when the current
// state forbids it. It returns the expected state afterwards.
type powerAct func(ctx context.Context, vc VCenter, vm vcenter.VMSummary) (after vcenter.PowerState, done bool, err error)

// powerHandler is the handler every power tool shares: resolve the VM, act,
// and say what changed.
func powerHandler(d Deps, title string, act powerAct) mcp.ToolHandlerFor[powerIn, powerOut] {
	return func(ctx context.Context, _ *mcp.CallToolRequest, in powerIn) (*mcp.CallToolResult, powerOut, error) {
		vc, vm, err := resolveVM(ctx, d, in.vmArgs, needSummary)
		if err != nil {
			return nil, powerOut{}, err
		}
		after, done, err := act(ctx, vc, vm)
		if err != nil {
			return nil, powerOut{}, err
		}
		out := powerOut{VM: vmRef{vm.ID, vm.Name}, Before: string(vm.PowerState), After: string(after), Changed: done}
		switch {
		case done && out.Before == out.After: // guest operations return before the guest acts
			out.Summary = fmt.Sprintf("%s: requested for %s; the guest acts on its own, the VM is %s now (check with get_vm_details)", title, label(vm.Name, vm.ID), out.After)
		case done:
			out.Summary = fmt.Sprintf("%s: %s → %s", label(vm.Name, vm.ID), out.Before, out.After)
		default:
			out.Summary = fmt.Sprintf("%s is already %s; nothing changed", label(vm.Name, vm.ID), out.After)
		}
		return nil, out, nil
	}
}

// hardPower runs a hard power action; ALREADY_IN_DESIRED_STATE, from a
// change made since the VM was read, counts as nothing to do.
func hardPower(ctx context.Context, vc VCenter, vm vcenter.VMSummary, a vcenter.PowerAction, after vcenter.PowerState, next string) (vcenter.PowerState, bool, error) {
	err := vc.Power(ctx, vm.ID, a)
	switch {
	case err == nil:
		return after, true, nil
	case errors.Is(err, vcenter.ErrAlreadyInDesiredState):
		return after, false, nil
	case errors.Is(err, vcenter.ErrNotAllowedInCurrentState) && next != "":
		return "", false, fail(fmt.Sprintf("%s %s", a, label(vm.Name, vm.ID)), err, next)
	}
	return "", false, fail(fmt.Sprintf("%s %s", a, label(vm.Name, vm.ID)), err, "")
}

func powerOnVM(d Deps) Tool {
	return spec[powerIn, powerOut]{
		Name: "power_on_vm", Title: "Power on VM",
		Description: "Power on or resume a VM. Inverse: shutdown_vm_guest, or power_off_vm (hard).",
		Toolset:     ToolsetPower, Level: policy.LevelOps, Kind: KindWrite, Idempotent: true,
		Privileges: Privileges{Calls: "`POST /api/vcenter/vm/{vm}/power?action=start`", Needs: "`VirtualMachine.Interact.PowerOn`", On: "the VM (vSphere's task table also lists its datacenter)"},
		Example:    `{"vm_name": "web-04"}`,
		Handle: powerHandler(d, "Power on VM", func(ctx context.Context, vc VCenter, vm vcenter.VMSummary) (vcenter.PowerState, bool, error) {
			if vm.PowerState == vcenter.PoweredOn {
				return vcenter.PoweredOn, false, nil
			}
			return hardPower(ctx, vc, vm, vcenter.PowerStart, vcenter.PoweredOn, "")
		}),
	}.tool()
}

func powerOffVM(d Deps) Tool {
	return spec[powerIn, powerOut]{
		Name: "power_off_vm", Title: "Power off VM (hard)",
		Description: "Hard power off: unsaved guest data is lost; prefer shutdown_vm_guest. Inverse: power_on_vm.",
		Toolset:     ToolsetPower, Level: policy.LevelOps, Kind: KindDestructive, Idempotent: true,
		Privileges: Privileges{Calls: "`POST …/power?action=stop`", Needs: "`VirtualMachine.Interact.PowerOff`", On: "the VM"},
		Example:    `{"vm_name": "web-01"}`,
		Handle: powerHandler(d, "Power off VM (hard)", func(ctx context.Context, vc VCenter, vm vcenter.VMSummary) (vcenter.PowerState, bool, error) {
			if vm.PowerState == vcenter.PoweredOff {
				return vcenter.PoweredOff, false, nil
			}
			return hardPower(ctx, vc, vm, vcenter.PowerStop, vcenter.PoweredOff, "")
		}),
	}.tool()
}

func restartVM(d Deps) Tool {
	return spec[powerIn, powerOut]{
		Name: "restart_vm", Title: "Restart VM (hard reset)",
		Description: "Hard reset of a running VM; prefer reboot_vm_guest. Inverse: none.",
		Toolset:     ToolsetPower, Level: policy.LevelOps, Kind: KindDestructive, Idempotent: false,
		Privileges: Privileges{Calls: "`POST …/power?action=reset`", Needs: "`VirtualMachine.Interact.Reset`", On: "the VM"},
		Example:    `{"vm_name": "web-01"}`,
		Handle: powerHandler(d, "Restart VM (hard reset)", func(ctx context.Context, vc VCenter, vm vcenter.VMSummary) (vcenter.PowerState, bool, error) {
			if vm.PowerState != vcenter.PoweredOn {
				return "", false, fmt.Errorf("%s is %s and a reset needs a running VM. Next: use power_on_vm", label(vm.Name, vm.ID), vm.PowerState)
			}
			return hardPower(ctx, vc, vm, vcenter.PowerReset, vcenter.PoweredOn, "check the state with get_vm_details; power_on_vm starts a VM that is off")
		}),
	}.tool()
}

func suspendVM(d Deps) Tool {
	return spec[powerIn, powerOut]{
		Name: "suspend_vm", Title: "Suspend VM",
		Description: "Suspend a running VM to disk. Inverse: power_on_vm.",
		Toolset:     ToolsetPower, Level: policy.LevelOps, Kind: KindWrite, Idempotent: true,
		Privileges: Privileges{Calls: "`POST …/power?action=suspend`", Needs: "`VirtualMachine.Interact.Suspend`", On: "the VM"},
		Example:    `{"vm_name": "web-01"}`,
		Handle: powerHandler(d, "Suspend VM", func(ctx context.Context, vc VCenter, vm vcenter.VMSummary) (vcenter.PowerState, bool, error) {
			switch vm.PowerState {
			case vcenter.Suspended:
				return vcenter.Suspended, false, nil
			case vcenter.PoweredOff:
				return "", false, fmt.Errorf("%s is powered off and cannot be suspended. Next: nothing to do, or power_on_vm to start it", label(vm.Name, vm.ID))
			}
			return hardPower(ctx, vc, vm, vcenter.PowerSuspend, vcenter.Suspended, "check the state with get_vm_details")
		}),
	}.tool()
}

func shutdownVMGuest(d Deps) Tool {
	return spec[powerIn, powerOut]{
		Name: "shutdown_vm_guest", Title: "Shut down guest OS",
		Description: "Clean guest shutdown via VMware Tools (else power_off_vm). Inverse: power_on_vm.",
		Toolset:     ToolsetPower, Level: policy.LevelOps, Kind: KindWrite, Idempotent: true,
		Privileges: Privileges{Calls: "`GET …/guest/power`, `POST …/guest/power?action=shutdown`", Needs: "`VirtualMachine.Interact.PowerOff` (the privilege of the guest shutdown, `ShutdownGuest`)", On: "the VM"},
		Example:    `{"vm_name": "web-01"}`,
		Handle: powerHandler(d, "Shut down guest OS", func(ctx context.Context, vc VCenter, vm vcenter.VMSummary) (vcenter.PowerState, bool, error) {
			switch vm.PowerState {
			case vcenter.PoweredOff:
				return vcenter.PoweredOff, false, nil
			case vcenter.Suspended:
				return "", false, fmt.Errorf("%s is suspended, so its guest cannot shut down. Next: power_on_vm to resume it first, or power_off_vm for a hard power off", label(vm.Name, vm.ID))
			}
			if err := guestOp(ctx, vc, vm, vcenter.GuestShutdown, "power_off_vm for a hard power off (the guest does not save its work)"); err != nil {
				return "", false, err
			}
			return currentPower(ctx, vc, vm.ID, vcenter.PoweredOff), true, nil
		}),
	}.tool()
}

func rebootVMGuest(d Deps) Tool {
	return spec[powerIn, powerOut]{
		Name: "reboot_vm_guest", Title: "Reboot guest OS",
		Description: "Clean guest restart via VMware Tools (else restart_vm). Inverse: none.",
		Toolset:     ToolsetPower, Level: policy.LevelOps, Kind: KindWrite, Idempotent: false,
		Privileges: Privileges{Calls: "`GET …/guest/power`, `POST …/guest/power?action=reboot`", Needs: "`VirtualMachine.Interact.Reset` (the privilege of `RebootGuest`)", On: "the VM"},
		Example:    `{"vm_name": "web-01"}`,
		Handle: powerHandler(d, "Reboot guest OS", func(ctx context.Context, vc VCenter, vm vcenter.VMSummary) (vcenter.PowerState, bool, error) {
			if vm.PowerState != vcenter.PoweredOn {
				return "", false, fmt.Errorf("%s is %s, so its guest cannot reboot. Next: power_on_vm", label(vm.Name, vm.ID), vm.PowerState)
			}
			if err := guestOp(ctx, vc, vm, vcenter.GuestReboot, "restart_vm for a hard reset (the guest does not save its work)"); err != nil {
				return "", false, err
			}
			return vcenter.PoweredOn, true, nil
		}),
	}.tool()
}

// guestOp checks that VMware Tools can take a guest operation, then asks
// for it. vCenter answers SERVICE_UNAVAILABLE when Tools is not running;
// both the check and that answer produce the same advice.
func guestOp(ctx context.Context, vc VCenter, vm vcenter.VMSummary, a vcenter.GuestAction, hard string) error {
	what := fmt.Sprintf("%s %s", a, label(vm.Name, vm.ID))
	noTools := fmt.Errorf("%s: VMware Tools is not running in the guest, so a clean %s cannot be asked. Next: use %s, or start VMware Tools in the guest and try again", what, a, hard)
	g, err := vc.GetGuestPower(ctx, vm.ID)
	if err != nil {
		return fail(what, err, "")
	}
	if !g.ToolsRunning() {
		return noTools
	}
	if err := vc.GuestPower(ctx, vm.ID, a); err != nil {
		if errors.Is(err, vcenter.ErrServiceUnavailable) {
			return noTools
		}
		return fail(what, err, "check the state with get_vm_details")
	}
	return nil
}

// currentPower reads the power state after an operation that vCenter
// returns from before it finishes (a guest shutdown); on failure it says
// what was expected.
func currentPower(ctx context.Context, vc VCenter, vm string, expected vcenter.PowerState) vcenter.PowerState {
	p, err := vc.GetPower(ctx, vm)
	if err != nil || p.State == "" {
		return expected
	}
	return p.State
}
