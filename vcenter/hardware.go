package vcenter

import (
	"context"
	"encoding/json"
	"net/http"
)

// CPUInfo is a VM's virtual CPU configuration.
type CPUInfo struct {
	Count            int  `json:"count"`
	CoresPerSocket   int  `json:"cores_per_socket"`
	HotAddEnabled    bool `json:"hot_add_enabled"`
	HotRemoveEnabled bool `json:"hot_remove_enabled"`
}

// MemoryInfo is a VM's memory configuration, in MiB. The increment and limit
// are reported only when hot-add is on and the VM is running.
//
// vCenter 8 spells the keys size_MiB; 9.x documents size_mib. Both decode,
// by explicit tags (see renamedKeys in release.go).
type MemoryInfo struct {
	SizeMiB                int64  `json:"size_MiB"`
	HotAddEnabled          bool   `json:"hot_add_enabled"`
	HotAddIncrementSizeMiB *int64 `json:"hot_add_increment_size_MiB,omitempty"`
	HotAddLimitMiB         *int64 `json:"hot_add_limit_MiB,omitempty"`
}

// UnmarshalJSON reads either spelling of the renamed keys.
func (m *MemoryInfo) UnmarshalJSON(b []byte) error {
	var w struct {
		SizeMiB        *int64 `json:"size_MiB"`
		SizeMib        *int64 `json:"size_mib"`
		HotAddEnabled  bool   `json:"hot_add_enabled"`
		IncrementMiB   *int64 `json:"hot_add_increment_size_MiB"`
		IncrementMib   *int64 `json:"hot_add_increment_size_mib"`
		HotAddLimitMiB *int64 `json:"hot_add_limit_MiB"`
		HotAddLimitMib *int64 `json:"hot_add_limit_mib"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*m = MemoryInfo{HotAddEnabled: w.HotAddEnabled,
		HotAddIncrementSizeMiB: either(w.IncrementMiB, w.IncrementMib), HotAddLimitMiB: either(w.HotAddLimitMiB, w.HotAddLimitMib)}
	if size := either(w.SizeMiB, w.SizeMib); size != nil {
		m.SizeMiB = *size
	}
	return nil
}

// GetCPU reads a VM's CPU configuration.
func (c *Client) GetCPU(ctx context.Context, vm string) (CPUInfo, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return CPUInfo{}, err
	}
	var cpu CPUInfo
	err := c.vapi(ctx, http.MethodGet, "/vcenter/vm/"+vm+"/hardware/cpu", nil, nil, &cpu)
	return cpu, err
}

// GetMemory reads a VM's memory configuration.
func (c *Client) GetMemory(ctx context.Context, vm string) (MemoryInfo, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return MemoryInfo{}, err
	}
	var mem MemoryInfo
	err := c.vapi(ctx, http.MethodGet, "/vcenter/vm/"+vm+"/hardware/memory", nil, nil, &mem)
	return mem, err
}

// SetCPUCount sets a VM's virtual CPU count, leaving the rest unchanged.
// vCenter requires a multiple of cores_per_socket and, on a running VM,
// CPU hot-add (to raise) or hot-remove (to lower).
func (c *Client) SetCPUCount(ctx context.Context, vm string, count int) error {
	if err := ValidateID(KindVM, vm); err != nil {
		return err
	}
	body := struct {
		Count int `json:"count"`
	}{count}
	return c.vapi(ctx, http.MethodPatch, "/vcenter/vm/"+vm+"/hardware/cpu", nil, body, nil)
}

// SetMemoryMiB sets a VM's memory size. vCenter 8 expects the key size_MiB
// (keySizeMiB).
// On a running VM it needs memory hot-add and refuses any decrease.
func (c *Client) SetMemoryMiB(ctx context.Context, vm string, mib int64) error {
	if err := ValidateID(KindVM, vm); err != nil {
		return err
	}
	body := map[string]int64{keySizeMiB: mib}
	return c.vapi(ctx, http.MethodPatch, "/vcenter/vm/"+vm+"/hardware/memory", nil, body, nil)
}
