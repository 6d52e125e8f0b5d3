package vcenter

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
)

// Migration (vcenter-api-changes.md §5): the Automation API relocate, as a
// task (?vmw-task=true), moves a VM to another host, pool or folder
// (vMotion), its disks to another datastore (Storage vMotion), or both.
// The Automation API has no compatibility check; VI/JSON
// CheckRelocate_Task on the VirtualMachineProvisioningChecker tests a
// destination first (§5.3).

// Relocate starts the migration of vm to placement and returns the task
// id (an Automation API task). Empty fields of placement keep the VM's.
func (c *Client) Relocate(ctx context.Context, vm string, placement PlacementSpec) (string, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return "", err
	}
	if err := placement.validate(); err != nil {
		return "", err
	}
	// placement sits at the top of the /api body; /rest wraps it in spec
	// (contract §5.1): the dialect does that.
	body := struct {
		Placement PlacementSpec `json:"placement"`
	}{placement}
	var task string
	if err := c.vapi(ctx, http.MethodPost, "/vcenter/vm/"+vm, url.Values{"action": {"relocate"}, "vmw-task": {"true"}}, body, &task); err != nil {
		return "", fmt.Errorf("start migration of %s: %w", vm, err)
	}
	return checkVAPITaskID(task)
}

// CheckResult is what CheckRelocate_Task says of one destination host.
type CheckResult struct {
	HostID   string
	Errors   []string // why the VM cannot move there; empty: it can
	Warnings []string
}

// changeCache is what the change operations keep for the client's
// lifetime: the provisioning checker's id from ServiceContent.
type changeCache struct {
	mu          sync.Mutex
	provChecker string
}

// provChecker reads ServiceContent.vmProvisioningChecker once.
func (c *Client) provChecker(ctx context.Context) (string, error) {
	c.chg.mu.Lock()
	defer c.chg.mu.Unlock()
	if c.chg.provChecker != "" {
		return c.chg.provChecker, nil
	}
	var content struct {
		Checker *moRef `json:"vmProvisioningChecker"`
	}
	if err := c.vimRead(ctx, "migration checks", http.MethodGet, "ServiceInstance", "ServiceInstance", "content", nil, &content, true); err != nil {
		return "", err
	}
	if content.Checker == nil || !validMoID(content.Checker.Value) {
		return "", fmt.Errorf("vCenter names no VM provisioning checker")
	}
	c.chg.provChecker = content.Checker.Value
	return c.chg.provChecker, nil
}

// CheckRelocate tests whether vm can move to placement (a host, or a pool
// whose hosts are each tested, and/or a datastore) with CheckRelocate_Task,
// waits for the check and returns one result per host tested. The check
// changes nothing, so it is not cancelled with the caller's context: it
// runs to its end within Config.Timeout per read.
func (c *Client) CheckRelocate(ctx context.Context, vm string, placement PlacementSpec) ([]CheckResult, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return nil, err
	}
	if err := placement.validate(); err != nil {
		return nil, err
	}
	checker, err := c.provChecker(ctx)
	if err != nil {
		return nil, fmt.Errorf("check the migration of %s: %w", vm, err)
	}
	spec := map[string]any{"_typeName": "VirtualMachineRelocateSpec"}
	if placement.Host != "" {
		spec["host"] = moRef{Type: "HostSystem", Value: placement.Host}
	}
	if placement.ResourcePool != "" {
		spec["pool"] = moRef{Type: "ResourcePool", Value: placement.ResourcePool}
	}
	if placement.Datastore != "" {
		spec["datastore"] = moRef{Type: "Datastore", Value: placement.Datastore}
	}
	body := map[string]any{"vm": moRef{Type: "VirtualMachine", Value: vm}, "spec": spec}
	var ref moRef
	// Security: CheckRelocate_Task starts a task that only reads, but it is
	// a method call: it is not retried.
	if err := c.vimRead(ctx, "migration checks", http.MethodPost, "VirtualMachineProvisioningChecker", checker, "CheckRelocate_Task", body, &ref, false); err != nil {
		return nil, fmt.Errorf("check the migration of %s: %w", vm, err)
	}
	task, err := taskID(ref)
	if err != nil {
		return nil, err
	}
	if _, err := c.WaitTask(ctx, task, nil); err != nil {
		return nil, fmt.Errorf("check the migration of %s: %w", vm, err)
	}
	var info struct {
		Result json.RawMessage `json:"result"`
	}
	if err := c.vimRead(ctx, "migration checks", http.MethodGet, "Task", task, "info", nil, &info, true); err != nil {
		return nil, fmt.Errorf("read the migration check of %s: %w", vm, err)
	}
	// The array comes boxed (ArrayOfCheckResult) or flat (contract §5.3).
	type fault struct {
		LocalizedMessage string `json:"localizedMessage"`
		Fault            *struct {
			TypeName    string `json:"_typeName"`
			FaultString string `json:"faultstring"`
		} `json:"fault"`
		TypeName    string `json:"_typeName"`
		FaultString string `json:"faultstring"`
	}
	type result struct {
		Host    *moRef  `json:"host"`
		Warning []fault `json:"warning"`
		Error   []fault `json:"error"`
	}
	var results []result
	var boxed struct {
		Value []result `json:"_value"`
	}
	if json.Unmarshal(info.Result, &boxed) == nil && boxed.Value != nil {
		results = boxed.Value
	} else if err := json.Unmarshal(info.Result, &results); err != nil {
		return nil, fmt.Errorf("read the migration check of %s: %w", vm, ErrBadAnswer)
	}
	text := func(f fault) string {
		msg := f.LocalizedMessage
		if msg == "" && f.Fault != nil {
			msg = f.Fault.FaultString
		}
		if msg == "" {
			msg = f.FaultString
		}
		return c.clean()(msg, maxMessageLen)
	}
	out := make([]CheckResult, 0, len(results))
	for _, r := range results {
		cr := CheckResult{Errors: []string{}, Warnings: []string{}}
		if r.Host != nil && LooksLikeID(KindHost, r.Host.Value) {
			cr.HostID = r.Host.Value
		}
		for _, f := range r.Error {
			cr.Errors = append(cr.Errors, text(f))
		}
		for _, f := range r.Warning {
			cr.Warnings = append(cr.Warnings, text(f))
		}
		out = append(out, cr)
	}
	return out, nil
}

// RootPool returns the root resource pool ("Resources") of a cluster, or of
// a standalone host's compute resource when cluster is "": where a VM goes
// when a placement names a host or cluster but no pool.
func (c *Client) RootPool(ctx context.Context, cluster, host string) (string, error) {
	if cluster == "" {
		if err := ValidateID(KindHost, host); err != nil {
			return "", err
		}
		pools, _, err := c.ListResourcePools(ctx, ResourcePoolFilter{Hosts: []string{host}, Names: []string{"Resources"}})
		if err != nil {
			return "", fmt.Errorf("find the resource pool of %s: %w", host, err)
		}
		if len(pools) != 1 {
			return "", fmt.Errorf("find the resource pool of %s: %d pools named Resources", host, len(pools))
		}
		return pools[0].ID, nil
	}
	if err := ValidateID(KindCluster, cluster); err != nil {
		return "", err
	}
	var info struct {
		ResourcePool string `json:"resource_pool"`
	}
	if err := c.vapi(ctx, http.MethodGet, "/vcenter/cluster/"+cluster, nil, nil, &info); err != nil {
		return "", fmt.Errorf("read cluster %s: %w", cluster, err)
	}
	if !LooksLikeID(KindResourcePool, info.ResourcePool) {
		return "", fmt.Errorf("read cluster %s: unreadable resource pool %s", cluster, quoteShort(info.ResourcePool))
	}
	return info.ResourcePool, nil
}
