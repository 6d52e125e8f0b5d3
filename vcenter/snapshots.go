package vcenter

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Automation API has no VM snapshot resource (vcenter-api.md §3.1), so
// snapshots go through VI/JSON methods that start tasks (§3.2).

// Snapshot is one node of a VM's snapshot tree, flattened in pre-order.
type Snapshot struct {
	ID          string     // MoRef value, e.g. "snapshot-12"
	Name        string     // as typed: unescaped (see escapeName), then sanitised
	Description string     // sanitised
	Created     time.Time  // createTime
	PowerState  PowerState // the VM's power state captured (POWERED_ON means with memory)
	Quiesced    bool
	Current     bool   // the VM's current snapshot
	ParentID    string // "" for a root
	Depth       int    // 0 for a root
	Children    int    // number of direct children
}

type vimSnapshotInfo struct {
	CurrentSnapshot *moRef            `json:"currentSnapshot"`
	RootSnapshots   []vimSnapshotTree `json:"rootSnapshotList"`
}

type vimSnapshotTree struct {
	Snapshot    moRef             `json:"snapshot"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	CreateTime  time.Time         `json:"createTime"`
	State       string            `json:"state"`
	Quiesced    bool              `json:"quiesced"`
	Children    []vimSnapshotTree `json:"childSnapshotList"`
}

// ListSnapshots returns the VM's snapshot tree in pre-order; empty when it
// has none (VI/JSON answers null).
func (c *Client) ListSnapshots(ctx context.Context, vm string) ([]Snapshot, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return nil, err
	}
	var info *vimSnapshotInfo
	if err := c.vim(ctx, http.MethodGet, "VirtualMachine", vm, "snapshot", nil, &info); err != nil {
		return nil, fmt.Errorf("read snapshots of %s: %w", vm, err)
	}
	out := make([]Snapshot, 0)
	if info == nil {
		return out, nil
	}
	current := ""
	if info.CurrentSnapshot != nil {
		current = info.CurrentSnapshot.Value
	}
	var walk func(nodes []vimSnapshotTree, parent string, depth int)
	walk = func(nodes []vimSnapshotTree, parent string, depth int) {
		for _, n := range nodes {
			out = append(out, Snapshot{
				ID:          sanitize(n.Snapshot.Value, maxIDLen),
				Name:        sanitize(unescapeName(n.Name), maxNameLen),
				Description: sanitize(n.Description, maxMessageLen),
				Created:     n.CreateTime,
				PowerState:  vimPowerState(n.State),
				Quiesced:    n.Quiesced,
				Current:     n.Snapshot.Value == current,
				ParentID:    sanitize(parent, maxIDLen),
				Depth:       depth,
				Children:    len(n.Children),
			})
			walk(n.Children, n.Snapshot.Value, depth+1)
		}
	}
	walk(info.RootSnapshots, "", 0)
	return out, nil
}

// vimPowerState maps VI/JSON's poweredOn/poweredOff/suspended.
func vimPowerState(s string) PowerState {
	switch s {
	case "poweredOn":
		return PoweredOn
	case "poweredOff":
		return PoweredOff
	case "suspended":
		return Suspended
	}
	return PowerState(sanitize(s, 32))
}

// SnapshotSpec describes a snapshot to take.
type SnapshotSpec struct {
	// Name is the name as shown to people; CreateSnapshot escapes it.
	Name        string
	Description string
	// Memory includes the VM's memory, so a revert resumes it running.
	Memory bool
	// Quiesce asks VMware Tools to quiesce the guest file systems first.
	Quiesce bool
	// QuiesceTimeoutMinutes bounds quiescing (VirtualMachineGuestQuiesceSpec.timeout,
	// in minutes); 0 leaves vCenter's default.
	QuiesceTimeoutMinutes int
}

// CreateSnapshot starts CreateSnapshotEx_Task and returns the task id.
func (c *Client) CreateSnapshot(ctx context.Context, vm string, spec SnapshotSpec) (string, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return "", err
	}
	type quiesceSpec struct {
		TypeName string `json:"_typeName"`
		Timeout  int    `json:"timeout,omitempty"`
	}
	body := struct {
		Name        string       `json:"name"`
		Description string       `json:"description"`
		Memory      bool         `json:"memory"`
		QuiesceSpec *quiesceSpec `json:"quiesceSpec,omitempty"`
	}{Name: escapeName(spec.Name), Description: spec.Description, Memory: spec.Memory}
	if spec.Quiesce {
		body.QuiesceSpec = &quiesceSpec{TypeName: "VirtualMachineGuestQuiesceSpec", Timeout: spec.QuiesceTimeoutMinutes}
	}
	var task moRef
	if err := c.vim(ctx, http.MethodPost, "VirtualMachine", vm, "CreateSnapshotEx_Task", body, &task); err != nil {
		return "", fmt.Errorf("start snapshot of %s: %w", vm, err)
	}
	return taskID(task)
}

// RemoveSnapshot starts RemoveSnapshot_Task (consolidating disks) and
// returns the task id.
func (c *Client) RemoveSnapshot(ctx context.Context, snapshot string, removeChildren bool) (string, error) {
	if err := ValidateID(KindSnapshot, snapshot); err != nil {
		return "", err
	}
	body := struct {
		RemoveChildren bool `json:"removeChildren"`
		Consolidate    bool `json:"consolidate"`
	}{removeChildren, true}
	var task moRef
	if err := c.vim(ctx, http.MethodPost, "VirtualMachineSnapshot", snapshot, "RemoveSnapshot_Task", body, &task); err != nil {
		return "", fmt.Errorf("start removal of %s: %w", snapshot, err)
	}
	return taskID(task)
}

// RevertSnapshot starts RevertToSnapshot_Task and returns the task id. With
// suppressPowerOn a snapshot taken with memory leaves the VM powered off.
func (c *Client) RevertSnapshot(ctx context.Context, snapshot string, suppressPowerOn bool) (string, error) {
	if err := ValidateID(KindSnapshot, snapshot); err != nil {
		return "", err
	}
	body := struct {
		SuppressPowerOn bool `json:"suppressPowerOn,omitempty"`
	}{suppressPowerOn}
	var task moRef
	if err := c.vim(ctx, http.MethodPost, "VirtualMachineSnapshot", snapshot, "RevertToSnapshot_Task", body, &task); err != nil {
		return "", fmt.Errorf("start revert to %s: %w", snapshot, err)
	}
	return taskID(task)
}

// vSphere keeps names escaped (the reference of CreateSnapshot_Task and of
// ManagedEntity.name, via pyvmomi's docs/vim): a % in a name sent "must be
// escaped, unless it is used to start an escape sequence", and a / or \
// read back is escaped as %2f or %5c, a % as %25. A name from a person is
// not an escape sequence, so every %, / and \ of it is escaped on the way
// in, and every %XX sequence of a name read back is decoded for display.

// escapeName escapes a display name for vCenter: % → %25, / → %2f, \ → %5c.
func escapeName(name string) string {
	return strings.NewReplacer("%", "%25", "/", "%2f", `\`, "%5c").Replace(name)
}

// unescapeName decodes the %XX sequences of a name vCenter sent. A % that
// starts none is kept.
func unescapeName(name string) string {
	if !strings.Contains(name, "%") {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if name[i] == '%' && i+2 < len(name) {
			if v, err := strconv.ParseUint(name[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(name[i])
	}
	return b.String()
}
