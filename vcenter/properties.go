package vcenter

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Property reads of vcenter-api-observability.md §1: VM and host
// summaries, a VM's datastores.

// VMStatus is what VirtualMachine.summary says of a VM's state now.
type VMStatus struct {
	ID, Name string
	Power    PowerState
	// HostID is the host the VM runs on (runtime.host).
	HostID string
	// BootTime is the last power-on (a hard reset counts, a guest reboot
	// does not); zero while powered off.
	BootTime      time.Time
	CPUs          int
	MemoryMiB     int64
	OverallStatus string // gray, green, yellow, red (from its alarms)
	// ToolsStatus is toolsOk, toolsOld, toolsNotRunning or toolsNotInstalled;
	// ToolsRunning whether the guest agent runs now.
	ToolsStatus   string
	ToolsRunning  bool
	Heartbeat     string // guestHeartbeatStatus
	UptimeSeconds int64  // guest uptime from Tools; 0 when unknown
	GuestOS       string // guestFullName
	// Quick statistics, a ~20 s snapshot (not averages): CPU in MHz,
	// memory in MB.
	CPUUsageMHz, CPUMaxMHz                      int64
	MemActiveMB, MemConsumedMB                  int64
	MemBalloonedMB, MemSwappedMB, MemCompressKB int64
	VMPath                                      string // "[ds1] web-01/web-01.vmx"
}

type vimVMSummary struct {
	Runtime struct {
		Host        *moRef   `json:"host"`
		PowerState  string   `json:"powerState"`
		BootTime    vimStamp `json:"bootTime"`
		MaxCPUUsage int64    `json:"maxCpuUsage"`
	} `json:"runtime"`
	Guest struct {
		ToolsStatus        string `json:"toolsStatus"`
		ToolsRunningStatus string `json:"toolsRunningStatus"`
		GuestFullName      string `json:"guestFullName"`
	} `json:"guest"`
	Config struct {
		Name         string `json:"name"`
		MemorySizeMB int64  `json:"memorySizeMB"`
		NumCPU       int    `json:"numCpu"`
		VMPathName   string `json:"vmPathName"`
	} `json:"config"`
	QuickStats struct {
		OverallCPUUsage      int64  `json:"overallCpuUsage"`
		GuestMemoryUsage     int64  `json:"guestMemoryUsage"`
		HostMemoryUsage      int64  `json:"hostMemoryUsage"`
		GuestHeartbeatStatus string `json:"guestHeartbeatStatus"`
		BalloonedMemory      int64  `json:"balloonedMemory"`
		SwappedMemory        int64  `json:"swappedMemory"`
		CompressedMemory     int64  `json:"compressedMemory"`
		UptimeSeconds        int64  `json:"uptimeSeconds"`
	} `json:"quickStats"`
	OverallStatus string `json:"overallStatus"`
}

// VMStatus reads VirtualMachine.summary.
func (c *Client) VMStatus(ctx context.Context, vm string) (VMStatus, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return VMStatus{}, err
	}
	var s vimVMSummary
	if err := c.vimRead(ctx, "VM summaries", http.MethodGet, "VirtualMachine", vm, "summary", nil, &s, true); err != nil {
		return VMStatus{}, fmt.Errorf("read summary of %s: %w", vm, err)
	}
	out := VMStatus{
		ID: vm, Name: sanitize(s.Config.Name, maxNameLen), Power: vimPowerState(s.Runtime.PowerState),
		BootTime: s.Runtime.BootTime.Time, CPUs: s.Config.NumCPU, MemoryMiB: s.Config.MemorySizeMB,
		OverallStatus: sanitize(s.OverallStatus, 16), ToolsStatus: sanitize(s.Guest.ToolsStatus, 32),
		ToolsRunning: s.Guest.ToolsRunningStatus == "guestToolsRunning", Heartbeat: sanitize(s.QuickStats.GuestHeartbeatStatus, 16),
		UptimeSeconds: s.QuickStats.UptimeSeconds, GuestOS: sanitize(s.Guest.GuestFullName, 128),
		CPUUsageMHz: s.QuickStats.OverallCPUUsage, CPUMaxMHz: s.Runtime.MaxCPUUsage,
		MemActiveMB: s.QuickStats.GuestMemoryUsage, MemConsumedMB: s.QuickStats.HostMemoryUsage,
		MemBalloonedMB: s.QuickStats.BalloonedMemory, MemSwappedMB: s.QuickStats.SwappedMemory, MemCompressKB: s.QuickStats.CompressedMemory,
		VMPath: sanitize(s.Config.VMPathName, maxMessageLen),
	}
	if s.Runtime.Host != nil && LooksLikeID(KindHost, s.Runtime.Host.Value) {
		out.HostID = s.Runtime.Host.Value
	}
	return out, nil
}

// HostStatus is what HostSystem.summary says of a host now.
type HostStatus struct {
	ID, Name        string
	ConnectionState string // connected, disconnected, notResponding
	PowerState      string // poweredOn, poweredOff, standBy, unknown
	Maintenance     bool
	BootTime        time.Time
	OverallStatus   string
	Vendor, Model   string
	CPUModel        string
	// Capacity: CPU MHz is cpuMhz × cores; memory in bytes.
	CPUCores       int
	CPUCapacityMHz int64
	MemoryBytes    int64
	// Quick statistics (absent while not connected): CPU MHz, memory MB.
	CPUUsageMHz   int64
	MemoryUsageMB int64
	UptimeSeconds int64
}

type vimHostSummary struct {
	Hardware struct {
		Vendor      string `json:"vendor"`
		Model       string `json:"model"`
		MemorySize  int64  `json:"memorySize"`
		CPUModel    string `json:"cpuModel"`
		CPUMhz      int64  `json:"cpuMhz"`
		NumCPUCores int    `json:"numCpuCores"`
	} `json:"hardware"`
	Runtime struct {
		ConnectionState   string   `json:"connectionState"`
		PowerState        string   `json:"powerState"`
		InMaintenanceMode bool     `json:"inMaintenanceMode"`
		BootTime          vimStamp `json:"bootTime"`
	} `json:"runtime"`
	Config struct {
		Name string `json:"name"`
	} `json:"config"`
	QuickStats struct {
		OverallCPUUsage    int64 `json:"overallCpuUsage"`
		OverallMemoryUsage int64 `json:"overallMemoryUsage"`
		Uptime             int64 `json:"uptime"`
	} `json:"quickStats"`
	OverallStatus string `json:"overallStatus"`
}

// HostStatus reads HostSystem.summary.
func (c *Client) HostStatus(ctx context.Context, host string) (HostStatus, error) {
	if err := ValidateID(KindHost, host); err != nil {
		return HostStatus{}, err
	}
	var s vimHostSummary
	if err := c.vimRead(ctx, "host summaries", http.MethodGet, "HostSystem", host, "summary", nil, &s, true); err != nil {
		return HostStatus{}, fmt.Errorf("read summary of %s: %w", host, err)
	}
	return HostStatus{
		ID: host, Name: sanitize(s.Config.Name, maxNameLen),
		ConnectionState: sanitize(s.Runtime.ConnectionState, 32), PowerState: sanitize(s.Runtime.PowerState, 32),
		Maintenance: s.Runtime.InMaintenanceMode, BootTime: s.Runtime.BootTime.Time, OverallStatus: sanitize(s.OverallStatus, 16),
		Vendor: sanitize(s.Hardware.Vendor, 64), Model: sanitize(s.Hardware.Model, 64), CPUModel: sanitize(s.Hardware.CPUModel, 128),
		CPUCores: s.Hardware.NumCPUCores, CPUCapacityMHz: s.Hardware.CPUMhz * int64(s.Hardware.NumCPUCores), MemoryBytes: s.Hardware.MemorySize,
		CPUUsageMHz: s.QuickStats.OverallCPUUsage, MemoryUsageMB: s.QuickStats.OverallMemoryUsage, UptimeSeconds: s.QuickStats.Uptime,
	}, nil
}

// VMDatastores reads VirtualMachine.datastore: the ids of the datastores
// holding the VM's files.
func (c *Client) VMDatastores(ctx context.Context, vm string) ([]string, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return nil, err
	}
	var refs []moRef
	if err := c.vimRead(ctx, "VM datastores", http.MethodGet, "VirtualMachine", vm, "datastore", nil, &refs, true); err != nil {
		return nil, fmt.Errorf("read datastores of %s: %w", vm, err)
	}
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		if LooksLikeID(KindDatastore, r.Value) {
			out = append(out, r.Value)
		}
	}
	return out, nil
}
