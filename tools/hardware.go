// Hardware tools change a VM's virtual CPUs and memory. Before calling
// vCenter they check the rules vCenter applies (vcenter-api.md §2.4), so
// the model hears what to do instead of a bare NOT_ALLOWED_IN_CURRENT_STATE.
// Inverse of modify_vm_resources: itself, with the old values.

package tools

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// hardwareAPI reads and changes CPU and memory.
type hardwareAPI interface {
	GetCPU(ctx context.Context, vm string) (vcenter.CPUInfo, error)
	GetMemory(ctx context.Context, vm string) (vcenter.MemoryInfo, error)
	SetCPUCount(ctx context.Context, vm string, count int) error
	SetMemoryMiB(ctx context.Context, vm string, mib int64) error
}

type modifyVMResourcesIn struct {
	vmArgs
	CPUCount  int     `json:"cpu_count,omitempty"`
	MemoryGB  float64 `json:"memory_gb,omitempty"`
	MemoryMiB int64   `json:"memory_mib,omitempty"`
	confirmArgs
}

type resourcesResult struct {
	VM        vmRef `json:"vm"`
	CPUCount  int   `json:"cpu_count"`
	MemoryMiB int64 `json:"memory_mib"`
	Changed   bool  `json:"changed"`
}

// vSphere 8 limits (configuration maximums, hardware version 20).
const (
	maxCPUs      = 768
	maxMemoryMiB = 24 << 20 // 24 TiB
)

func modifyVMResources(d Deps) Tool {
	return spec[modifyVMResourcesIn, confirmOut[resourcesResult]]{
		Name: "modify_vm_resources", Title: "Modify VM CPU and memory",
		Description: "Set vCPUs and/or memory; a running VM needs hot-add. Needs confirmation. Inverse: same tool, old values.",
		Toolset:     ToolsetLifecycle, Level: policy.LevelAdmin, Kind: KindDestructive, Idempotent: true, Confirm: true,
		Privileges: Privileges{Calls: "`GET`/`PATCH /api/vcenter/vm/{vm}/hardware/cpu` and `…/memory`",
			Needs: "`VirtualMachine.Config.CPUCount` (for `cpu_count`), `VirtualMachine.Config.Memory` (for `memory_gb`/`memory_mib`)", On: "the VM"},
		Example: `{"vm_name": "backup-01", "cpu_count": 2}`,
		Schema: func(in, _ *schema) {
			in.between("cpu_count", 1, maxCPUs)
			in.between("memory_gb", 4.0/1024, maxMemoryMiB/1024)
			in.between("memory_mib", 4, maxMemoryMiB)
		},
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in modifyVMResourcesIn) (*mcp.CallToolResult, confirmOut[resourcesResult], error) {
			var zero confirmOut[resourcesResult]
			wantMiB, err := in.memoryMiB()
			if err != nil {
				return nil, zero, err
			}
			if in.CPUCount == 0 && wantMiB == 0 {
				return nil, zero, argErrorf("give cpu_count, memory_gb or memory_mib")
			}
			vc, vm, err := resolveVM(ctx, d, in.vmArgs, needSummary)
			if err != nil {
				return nil, zero, err
			}
			what := label(vm.Name, vm.ID)
			cpu, err := vc.GetCPU(ctx, vm.ID)
			if err != nil {
				return nil, zero, fail("read CPU of "+what, err, "")
			}
			mem, err := vc.GetMemory(ctx, vm.ID)
			if err != nil {
				return nil, zero, fail("read memory of "+what, err, "")
			}
			plan, err := planResources(vm, cpu, mem, in.CPUCount, wantMiB)
			if err != nil {
				return nil, zero, err
			}
			result := resourcesResult{VM: vmRef{vm.ID, vm.Name}, CPUCount: cpu.Count, MemoryMiB: mem.SizeMiB}
			if !plan.cpu && !plan.mem {
				return nil, confirmOut[resourcesResult]{Status: statusDone, Summary: what + " already has these resources; nothing changed", Result: &result}, nil
			}
			pv := preview{Target: previewTarget{ID: vm.ID, Name: vm.Name, State: string(vm.PowerState)}, Change: plan.describe(what, cpu, mem)}
			return confirmOrPreview(ctx, d, req, in.Confirm, pv, func() (resourcesResult, string, error) {
				if plan.cpu {
					if err := vc.SetCPUCount(ctx, vm.ID, plan.cpuCount); err != nil {
						next := "check the VM with get_vm_details; nothing was changed"
						if maybeApplied(err) {
							next = "check the VM's CPU count with get_vm_details before trying again: the change may have been applied"
						}
						return resourcesResult{}, "", fail(fmt.Sprintf("set %s to %d vCPUs", what, plan.cpuCount), err, next)
					}
					result.CPUCount, result.Changed = plan.cpuCount, true
				}
				if plan.mem {
					if err := vc.SetMemoryMiB(ctx, vm.ID, plan.memMiB); err != nil {
						done := "nothing was changed"
						if plan.cpu {
							done = fmt.Sprintf("the CPU count was already changed to %d", plan.cpuCount)
						}
						if maybeApplied(err) {
							done += "; the memory change may have been applied"
						}
						return resourcesResult{}, "", fail(fmt.Sprintf("set %s to %d MiB", what, plan.memMiB), err, "check the VM with get_vm_details; "+done)
					}
					result.MemoryMiB, result.Changed = plan.memMiB, true
				}
				return result, fmt.Sprintf("%s now has %d vCPUs and %d MiB", what, result.CPUCount, result.MemoryMiB), nil
			})
		},
	}.tool()
}

// memoryMiB converts the memory arguments (at most one given) to MiB.
func (in modifyVMResourcesIn) memoryMiB() (int64, error) {
	switch {
	case in.MemoryGB != 0 && in.MemoryMiB != 0:
		return 0, argErrorf("give memory_gb or memory_mib, not both")
	case in.MemoryMiB != 0:
		if in.MemoryMiB%4 != 0 {
			return 0, argErrorf("memory_mib %d is not a multiple of 4 MiB, which vSphere requires: use %d", in.MemoryMiB, in.MemoryMiB/4*4+4)
		}
		return in.MemoryMiB, nil
	case in.MemoryGB != 0:
		mib := int64(math.Round(in.MemoryGB * 1024))
		if mib%4 != 0 {
			return 0, argErrorf("memory_gb %g is %d MiB, not a multiple of 4 MiB: use memory_mib %d", in.MemoryGB, mib, mib/4*4+4)
		}
		return mib, nil
	}
	return 0, nil
}

// resourcePlan is a checked change.
type resourcePlan struct {
	cpu, mem bool
	cpuCount int
	memMiB   int64
	live     bool // the VM is on: the change is applied hot
}

// planResources applies vCenter's rules for a CPU or memory change to the
// VM's current configuration and explains a change that cannot be made.
func planResources(vm vcenter.VMSummary, cpu vcenter.CPUInfo, mem vcenter.MemoryInfo, wantCPU int, wantMiB int64) (resourcePlan, error) {
	what := label(vm.Name, vm.ID)
	p := resourcePlan{live: vm.PowerState == vcenter.PoweredOn}
	powerOff := fmt.Sprintf("shut %q down with shutdown_vm_guest (or power_off_vm), call modify_vm_resources again, then power_on_vm", vm.Name)
	if vm.PowerState == vcenter.Suspended {
		return p, fmt.Errorf("%s is suspended and vCenter cannot change its hardware. Next: power_on_vm to resume it (or power_off_vm), then call again", what)
	}
	if wantCPU != 0 && wantCPU != cpu.Count {
		if cps := cpu.CoresPerSocket; cps > 1 && wantCPU%cps != 0 {
			lo, hi := wantCPU/cps*cps, (wantCPU/cps+1)*cps
			alt := fmt.Sprintf("%d", hi)
			if lo > 0 {
				alt = fmt.Sprintf("%d or %d", lo, hi)
			}
			return p, argErrorf("cpu_count %d is not a multiple of the %d cores per socket of %s. Next: use %s", wantCPU, cps, what, alt)
		}
		if p.live && wantCPU > cpu.Count && !cpu.HotAddEnabled {
			return p, fmt.Errorf("%s is running and CPU hot-add is off, so vCPUs cannot be added live. Next: %s", what, powerOff)
		}
		if p.live && wantCPU < cpu.Count && !cpu.HotRemoveEnabled {
			return p, fmt.Errorf("%s is running and CPU hot-remove is off, so vCPUs cannot be removed live. Next: %s", what, powerOff)
		}
		p.cpu, p.cpuCount = true, wantCPU
	}
	if wantMiB != 0 && wantMiB != mem.SizeMiB {
		if p.live {
			switch {
			case wantMiB < mem.SizeMiB:
				return p, fmt.Errorf("%s is running and memory cannot be reduced live (from %d to %d MiB). Next: %s", what, mem.SizeMiB, wantMiB, powerOff)
			case !mem.HotAddEnabled:
				return p, fmt.Errorf("%s is running and memory hot-add is off, so memory cannot grow live. Next: %s", what, powerOff)
			case mem.HotAddLimitMiB != nil && wantMiB > *mem.HotAddLimitMiB:
				return p, fmt.Errorf("%s can grow live only up to %d MiB (hot-add limit); %d MiB needs the VM off. Next: ask for at most %d MiB, or %s", what, *mem.HotAddLimitMiB, wantMiB, *mem.HotAddLimitMiB, powerOff)
			case mem.HotAddIncrementSizeMiB != nil && *mem.HotAddIncrementSizeMiB > 0 && (wantMiB-mem.SizeMiB)%*mem.HotAddIncrementSizeMiB != 0:
				inc := *mem.HotAddIncrementSizeMiB
				up := mem.SizeMiB + ((wantMiB-mem.SizeMiB)/inc+1)*inc
				return p, argErrorf("%s grows live in steps of %d MiB from %d MiB. Next: use memory_mib %d", what, inc, mem.SizeMiB, up)
			}
		}
		p.mem, p.memMiB = true, wantMiB
	}
	return p, nil
}

func (p resourcePlan) describe(what string, cpu vcenter.CPUInfo, mem vcenter.MemoryInfo) string {
	var parts []string
	if p.cpu {
		parts = append(parts, fmt.Sprintf("vCPUs %d → %d", cpu.Count, p.cpuCount))
	}
	if p.mem {
		parts = append(parts, fmt.Sprintf("memory %d → %d MiB", mem.SizeMiB, p.memMiB))
	}
	how := "while it is powered off"
	if p.live {
		how = "live (hot-add/remove)"
	}
	return fmt.Sprintf("change %s: %s, %s", what, strings.Join(parts, ", "), how)
}
