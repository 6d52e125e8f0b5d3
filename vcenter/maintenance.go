package vcenter

import (
	"context"
	"fmt"
	"net/http"
)

// Host maintenance mode (vcenter-api-changes.md §6), VI/JSON only:
// EnterMaintenanceMode_Task and ExitMaintenanceMode_Task, and what a
// preview reads: the host's cluster (HostSystem.parent) and its DRS
// settings (ClusterComputeResource.configurationEx, which the Automation
// API does not show: §6.3).

// HostCluster returns the cluster a host belongs to, or "" for a
// standalone host.
func (c *Client) HostCluster(ctx context.Context, host string) (string, error) {
	if err := ValidateID(KindHost, host); err != nil {
		return "", err
	}
	var parent *moRef
	if err := c.vimRead(ctx, "maintenance mode", http.MethodGet, "HostSystem", host, "parent", nil, &parent, true); err != nil {
		return "", fmt.Errorf("read the cluster of %s: %w", host, err)
	}
	if parent != nil && parent.Type == "ClusterComputeResource" && LooksLikeID(KindCluster, parent.Value) {
		return parent.Value, nil
	}
	return "", nil
}

// DRSConfig is a cluster's DRS configuration.
type DRSConfig struct {
	Enabled bool
	// Behavior is the default automation level: manual, partiallyAutomated
	// or fullyAutomated.
	Behavior string
	// Overrides are the VMs' own levels, by VM id.
	Overrides map[string]string
	HA        bool
}

// ClusterDRS reads a cluster's DRS and HA configuration.
func (c *Client) ClusterDRS(ctx context.Context, cluster string) (DRSConfig, error) {
	if err := ValidateID(KindCluster, cluster); err != nil {
		return DRSConfig{}, err
	}
	var cfg struct {
		DRSConfig struct {
			Enabled           bool   `json:"enabled"`
			DefaultVMBehavior string `json:"defaultVmBehavior"`
		} `json:"drsConfig"`
		DASConfig struct {
			Enabled bool `json:"enabled"`
		} `json:"dasConfig"`
		DRSVMConfig []struct {
			Key      moRef  `json:"key"`
			Enabled  *bool  `json:"enabled"`
			Behavior string `json:"behavior"`
		} `json:"drsVmConfig"`
	}
	if err := c.vimRead(ctx, "maintenance mode", http.MethodGet, "ClusterComputeResource", cluster, "configurationEx", nil, &cfg, true); err != nil {
		return DRSConfig{}, fmt.Errorf("read the DRS settings of %s: %w", cluster, err)
	}
	out := DRSConfig{Enabled: cfg.DRSConfig.Enabled, Behavior: sanitize(cfg.DRSConfig.DefaultVMBehavior, 32), HA: cfg.DASConfig.Enabled,
		Overrides: map[string]string{}}
	if out.Behavior == "" {
		out.Behavior = "fullyAutomated" // the vSphere default
	}
	for _, o := range cfg.DRSVMConfig {
		if !LooksLikeID(KindVM, o.Key.Value) {
			continue
		}
		b := sanitize(o.Behavior, 32)
		if o.Enabled != nil && !*o.Enabled {
			b = "disabled"
		}
		if b != "" {
			out.Overrides[o.Key.Value] = b
		}
	}
	return out, nil
}

// EnterMaintenanceMode starts EnterMaintenanceMode_Task and returns the
// task id. timeoutSeconds <= 0 waits without limit; evacuatePoweredOff
// asks vCenter to move powered-off VMs too.
func (c *Client) EnterMaintenanceMode(ctx context.Context, host string, timeoutSeconds int, evacuatePoweredOff bool) (string, error) {
	if err := ValidateID(KindHost, host); err != nil {
		return "", err
	}
	body := struct {
		Timeout               int  `json:"timeout"`
		EvacuatePoweredOffVMs bool `json:"evacuatePoweredOffVms"`
	}{max(timeoutSeconds, 0), evacuatePoweredOff}
	var task moRef
	if err := c.vimRead(ctx, "maintenance mode", http.MethodPost, "HostSystem", host, "EnterMaintenanceMode_Task", body, &task, false); err != nil {
		return "", fmt.Errorf("start maintenance mode of %s: %w", host, err)
	}
	return taskID(task)
}

// ExitMaintenanceMode starts ExitMaintenanceMode_Task and returns the task
// id.
func (c *Client) ExitMaintenanceMode(ctx context.Context, host string, timeoutSeconds int) (string, error) {
	if err := ValidateID(KindHost, host); err != nil {
		return "", err
	}
	body := struct {
		Timeout int `json:"timeout"`
	}{max(timeoutSeconds, 0)}
	var task moRef
	if err := c.vimRead(ctx, "maintenance mode", http.MethodPost, "HostSystem", host, "ExitMaintenanceMode_Task", body, &task, false); err != nil {
		return "", fmt.Errorf("start the exit from maintenance mode of %s: %w", host, err)
	}
	return taskID(task)
}
