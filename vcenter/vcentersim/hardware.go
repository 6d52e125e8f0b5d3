package vcentersim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Virtual hardware version 19 limits (vSphere 7.0 U2 and later).
const (
	maxCPUCount  = 768
	maxMemoryMiB = 24 << 20 // 24 TiB
)

// decodeSpec reads the body of a vAPI update into its fields. /api takes the
// spec itself as the body; /rest wraps every request body as {"spec": …}
// (contract §2). vAPI's data binding rejects what the operation does not
// declare, so a missing or non-object body, a field outside allowed — a spec
// wrapper on /api included — and a /rest body without "spec" are all
// errInvalidInput (a wrapper on /api seen live, evoila/meho #2973). Names
// match exactly: vCenter 8 spells the field size_MiB, and size_mib is an
// unknown field there (contract §2.3; 9.x renames it).
func decodeSpec(c *call, method string, allowed ...string) (specFields, *vapiError) {
	body := bytes.TrimSpace(c.body)
	var spec map[string]json.RawMessage
	if len(body) == 0 || json.Unmarshal(body, &spec) != nil || spec == nil {
		return specFields{}, errInvalidInput(method)
	}
	if c.surface == surfaceREST {
		raw, ok := spec["spec"]
		if !ok || len(spec) != 1 {
			return specFields{}, errInvalidInput(method)
		}
		spec = nil
		if json.Unmarshal(raw, &spec) != nil || spec == nil {
			return specFields{}, errInvalidInput(method)
		}
	}
	for k := range spec {
		if !slices.Contains(allowed, k) {
			return specFields{}, errInvalidInput(method)
		}
	}
	return specFields{method: method, fields: spec}, nil
}

// specFields are the decoded fields of an update spec.
type specFields struct {
	method string
	fields map[string]json.RawMessage
}

// optInt decodes an optional integer field; absent or null means unchanged.
func (sf specFields) optInt(name string) (*int, *vapiError) {
	raw, ok := sf.fields[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var n int
	if json.Unmarshal(raw, &n) != nil {
		return nil, errInvalidInput(sf.method)
	}
	return &n, nil
}

// optBool decodes an optional boolean field; absent or null means unchanged.
func (sf specFields) optBool(name string) (*bool, *vapiError) {
	raw, ok := sf.fields[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		return nil, errInvalidInput(sf.method)
	}
	return &b, nil
}

// changes reports whether an optional new value differs from the current one.
func changes[T comparable](newValue *T, current T) bool {
	return newValue != nil && *newValue != current
}

// handleGetCPU is GET .../hardware/cpu.
func handleGetCPU(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	return cpuInfoOf(v), nil
}

// handleGetMemory is GET .../hardware/memory.
func handleGetMemory(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	return memoryInfoOf(v), nil
}

func notAllowed(message string) *vapiError {
	return errVMState("NOT_ALLOWED_IN_CURRENT_STATE", "hardware.not_allowed_in_current_state", message)
}

// handlePatchCPU is PATCH .../hardware/cpu {count, cores_per_socket,
// hot_add_enabled, hot_remove_enabled}, all optional (contract §2.4): the
// count must be a multiple of cores per socket; the hot-plug flags and the
// topology change only while powered off; a running VM grows only with
// hot-add and shrinks only with hot-remove; a suspended VM cannot change.
func handlePatchCPU(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	spec, err := decodeSpec(c, "::Com::Vmware::Vcenter::Vm::Hardware::CpuSvc::Update", "count", "cores_per_socket", "hot_add_enabled", "hot_remove_enabled")
	if err != nil {
		return nil, err
	}
	count, err := spec.optInt("count")
	if err != nil {
		return nil, err
	}
	cps, err := spec.optInt("cores_per_socket")
	if err != nil {
		return nil, err
	}
	hotAdd, err := spec.optBool("hot_add_enabled")
	if err != nil {
		return nil, err
	}
	hotRemove, err := spec.optBool("hot_remove_enabled")
	if err != nil {
		return nil, err
	}

	newCount, newCPS := v.CPUCount, v.CoresPerSocket
	if count != nil {
		newCount = *count
	}
	if cps != nil {
		newCPS = *cps
	}
	switch {
	case newCount < 1 || newCount > maxCPUCount:
		return nil, errInvalidArgument("CPU count %d is out of range 1-%d.", newCount, maxCPUCount)
	case newCPS < 1:
		return nil, errInvalidArgument("Cores per socket %d must be at least 1.", newCPS)
	case newCount%newCPS != 0:
		return nil, errInvalidArgument("CPU count %d is not a multiple of cores per socket %d.", newCount, newCPS)
	}
	if s.busyTask(v.ID) != nil {
		return nil, errVMBusy(v.ID)
	}
	if v.PowerState != PoweredOff {
		switch {
		case changes(hotAdd, v.CPUHotAdd) || changes(hotRemove, v.CPUHotRemove):
			return nil, notAllowed("CPU hot-plug settings can change only while the virtual machine is powered off.")
		case changes(cps, v.CoresPerSocket):
			return nil, notAllowed("Cores per socket can change only while the virtual machine is powered off.")
		case changes(count, v.CPUCount) && v.PowerState == Suspended:
			return nil, notAllowed("The CPU count of a suspended virtual machine cannot change.")
		case changes(count, v.CPUCount) && newCount > v.CPUCount && !v.CPUHotAdd:
			return nil, notAllowed("CPU hot-add is disabled: power off the virtual machine to add CPUs.")
		case changes(count, v.CPUCount) && newCount < v.CPUCount && !v.CPUHotRemove:
			return nil, notAllowed("CPU hot-remove is disabled: power off the virtual machine to remove CPUs.")
		}
	}
	v.CPUCount, v.CoresPerSocket = newCount, newCPS
	if hotAdd != nil {
		v.CPUHotAdd = *hotAdd
	}
	if hotRemove != nil {
		v.CPUHotRemove = *hotRemove
	}
	return nil, nil
}

// handlePatchMemory is PATCH .../hardware/memory {size_MiB, hot_add_enabled}
// (contract §2.4): hot-add changes only while powered off; a running VM
// grows only with hot-add on, by a multiple of the increment, up to the
// limit, and never shrinks; a suspended VM cannot change. The error type of
// every state rule, increment and limit included, is the one the contract
// gives: NOT_ALLOWED_IN_CURRENT_STATE.
func handlePatchMemory(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	spec, err := decodeSpec(c, "::Com::Vmware::Vcenter::Vm::Hardware::MemorySvc::Update", "size_MiB", "hot_add_enabled")
	if err != nil {
		return nil, err
	}
	size, err := spec.optInt("size_MiB")
	if err != nil {
		return nil, err
	}
	hotAdd, err := spec.optBool("hot_add_enabled")
	if err != nil {
		return nil, err
	}
	if size != nil && (*size < 4 || *size > maxMemoryMiB || *size%4 != 0) {
		return nil, errInvalidArgument("Memory size %d MiB must be a multiple of 4 between 4 and %d.", *size, maxMemoryMiB)
	}
	if s.busyTask(v.ID) != nil {
		return nil, errVMBusy(v.ID)
	}
	if v.PowerState != PoweredOff {
		grow := size != nil && *size > v.MemoryMiB
		switch {
		case changes(hotAdd, v.MemoryHotAdd):
			return nil, notAllowed("Memory hot-add can change only while the virtual machine is powered off.")
		case !changes(size, v.MemoryMiB):
		case v.PowerState == Suspended:
			return nil, notAllowed("The memory of a suspended virtual machine cannot change.")
		case !v.MemoryHotAdd:
			return nil, notAllowed("Memory hot-add is disabled: power off the virtual machine to change its memory.")
		case !grow:
			return nil, notAllowed("Memory cannot be removed from a running virtual machine.")
		case *size%memoryHotAddIncrementMiB != 0:
			return nil, notAllowed(fmt.Sprintf("A running virtual machine's memory must be a multiple of the hot-add increment, %d MiB.", memoryHotAddIncrementMiB))
		case *size > v.hotAddLimitMiB:
			return nil, notAllowed(fmt.Sprintf("Memory hot-add is limited to %d MiB until the next power cycle.", v.hotAddLimitMiB))
		}
	}
	if size != nil {
		v.MemoryMiB = *size
	}
	if hotAdd != nil {
		v.MemoryHotAdd = *hotAdd
	}
	return nil, nil
}
