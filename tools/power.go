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

// powerTool describes one power tool: what it does in each current state.
type powerTool struct {
	name, title, description string
	kind                     kind
	idempotent               bool
	// act runs the operation on vm, or returns done=false when the VM is
	// already where the tool would take it, or an error when the current
	// state forbids it. It returns the expected state afterwards.
	act func(ctx context.Context, vc VCenter, vm vcenter.VMSummary) (after vcenter.PowerState, done bool, err error)
}

func (p powerTool) build(d Deps) Tool {
	return newTool(&mcp.Tool{
		Name:        p.name,
		Title:       p.title,
		Description: p.description,
		Annotations: annotations(p.kind, p.idempotent),
	}, policy.LevelOps, false, nil, func(ctx context.Context, _ *mcp.CallToolRequest, in powerIn) (*mcp.CallToolResult, powerOut, error) {
		vc, vm, err := resolveVM(ctx, d, in.vmArgs)
		if err != nil {
			return nil, powerOut{}, err
		}
		after, done, err := p.act(ctx, vc, vm)
		if err != nil {
			return nil, powerOut{}, err
		}
		out := powerOut{VM: vmRef{vm.ID, vm.Name}, Before: string(vm.PowerState), After: string(after), Changed: done}
		switch {
		case done && out.Before == out.After: // guest operations return before the guest acts
			out.Summary = fmt.Sprintf("%s: requested for %s; the guest acts on its own, the VM is %s now (check with get_vm_details)", p.title, label(vm.Name, vm.ID), out.After)
		case done:
			out.Summary = fmt.Sprintf("%s: %s → %s", label(vm.Name, vm.ID), out.Before, out.After)
		default:
			out.Summary = fmt.Sprintf("%s is already %s; nothing changed", label(vm.Name, vm.ID), out.After)
		}
		return nil, out, nil
	})
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
	return powerTool{
		name: "power_on_vm", title: "Power on VM", kind: kindWrite, idempotent: true,
		description: "Power on or resume a VM. Inverse: shutdown_vm_guest, or power_off_vm (hard).",
		act: func(ctx context.Context, vc VCenter, vm vcenter.VMSummary) (vcenter.PowerState, bool, error) {
			if vm.PowerState == vcenter.PoweredOn {
				return vcenter.PoweredOn, false, nil
			}
			return hardPower(ctx, vc, vm, vcenter.PowerStart, vcenter.PoweredOn, "")
		},
	}.build(d)
}

func powerOffVM(d Deps) Tool {
	return powerTool{
		name: "power_off_vm", title: "Power off VM (hard)", kind: kindDestructive, idempotent: true,
		description: "Hard power off: unsaved guest data is lost; prefer shutdown_vm_guest. Inverse: power_on_vm.",
		act: func(ctx context.Context, vc VCenter, vm vcenter.VMSummary) (vcenter.PowerState, bool, error) {
			if vm.PowerState == vcenter.PoweredOff {
				return vcenter.PoweredOff, false, nil
			}
			return hardPower(ctx, vc, vm, vcenter.PowerStop, vcenter.PoweredOff, "")
		},
	}.build(d)
}

func restartVM(d Deps) Tool {
	return powerTool{
		name: "restart_vm", title: "Restart VM (hard reset)", kind: kindDestructive, idempotent: false,
		description: "Hard reset of a running VM; prefer reboot_vm_guest. Inverse: none.",
		act: func(ctx context.Context, vc VCenter, vm vcenter.VMSummary) (vcenter.PowerState, bool, error) {
			if vm.PowerState != vcenter.PoweredOn {
				return "", false, fmt.Errorf("%s is %s and a reset needs a running VM. Next: use power_on_vm", label(vm.Name, vm.ID), vm.PowerState)
			}
			return hardPower(ctx, vc, vm, vcenter.PowerReset, vcenter.PoweredOn, "check the state with get_vm_details; power_on_vm starts a VM that is off")
		},
	}.build(d)
}

func suspendVM(d Deps) Tool {
	return powerTool{
		name: "suspend_vm", title: "Suspend VM", kind: kindWrite, idempotent: true,
		description: "Suspend a running VM to disk. Inverse: power_on_vm.",
		act: func(ctx context.Context, vc VCenter, vm vcenter.VMSummary) (vcenter.PowerState, bool, error) {
			switch vm.PowerState {
			case vcenter.Suspended:
				return vcenter.Suspended, false, nil
			case vcenter.PoweredOff:
				return "", false, fmt.Errorf("%s is powered off and cannot be suspended. Next: nothing to do, or power_on_vm to start it", label(vm.Name, vm.ID))
			}
			return hardPower(ctx, vc, vm, vcenter.PowerSuspend, vcenter.Suspended, "check the state with get_vm_details")
		},
	}.build(d)
}

func shutdownVMGuest(d Deps) Tool {
	return powerTool{
		name: "shutdown_vm_guest", title: "Shut down guest OS", kind: kindWrite, idempotent: true,
		description: "Clean guest shutdown via VMware Tools (else power_off_vm). Inverse: power_on_vm.",
		act: func(ctx context.Context, vc VCenter, vm vcenter.VMSummary) (vcenter.PowerState, bool, error) {
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
		},
	}.build(d)
}

func rebootVMGuest(d Deps) Tool {
	return powerTool{
		name: "reboot_vm_guest", title: "Reboot guest OS", kind: kindWrite, idempotent: false,
		description: "Clean guest restart via VMware Tools (else restart_vm). Inverse: none.",
		act: func(ctx context.Context, vc VCenter, vm vcenter.VMSummary) (vcenter.PowerState, bool, error) {
			if vm.PowerState != vcenter.PoweredOn {
				return "", false, fmt.Errorf("%s is %s, so its guest cannot reboot. Next: power_on_vm", label(vm.Name, vm.ID), vm.PowerState)
			}
			if err := guestOp(ctx, vc, vm, vcenter.GuestReboot, "restart_vm for a hard reset (the guest does not save its work)"); err != nil {
				return "", false, err
			}
			return vcenter.PoweredOn, true, nil
		},
	}.build(d)
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
