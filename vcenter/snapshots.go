package vcenter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// The Automation API has no VM snapshot resource (vcenter-api.md §3.1), so
// snapshots go through VI/JSON methods that start tasks (§3.2).

// Snapshot is one node of a VM's snapshot tree, flattened in pre-order.
type Snapshot struct {
	ID          string     // MoRef value, e.g. "snapshot-12"
	Name        string     // sanitised
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
				Name:        sanitize(n.Name, maxNameLen),
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
	}{Name: spec.Name, Description: spec.Description, Memory: spec.Memory}
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

func taskID(m moRef) (string, error) {
	if err := ValidateID(KindTask, m.Value); err != nil {
		return "", fmt.Errorf("vCenter returned an unreadable task reference: %w", err)
	}
	return m.Value, nil
}

// TaskState is a vCenter task's state.
type TaskState string

// Task states (TaskInfoState).
const (
	TaskQueued  TaskState = "queued"
	TaskRunning TaskState = "running"
	TaskSuccess TaskState = "success"
	TaskError   TaskState = "error"
)

// Task is what Task info says of a task.
type Task struct {
	ID         string
	State      TaskState
	Progress   int  // percent, while running
	Cancelable bool // whether CancelTask can stop it
	Cancelled  bool
	// ResultID is the MoRef value of the result, e.g. the new snapshot.
	ResultID string
	// Err is the task's fault when State is TaskError.
	Err *APIError
}

// Done reports whether the task has ended.
func (t Task) Done() bool { return t.State == TaskSuccess || t.State == TaskError }

type vimTaskInfo struct {
	Key        string    `json:"key"`
	State      TaskState `json:"state"`
	Progress   int       `json:"progress"`
	Cancelable bool      `json:"cancelable"`
	Cancelled  bool      `json:"cancelled"`
	Result     *moRef    `json:"result"`
	Error      *vimFault `json:"error"`
}

// TaskInfo reads a task's state once.
func (c *Client) TaskInfo(ctx context.Context, task string) (Task, error) {
	if err := ValidateID(KindTask, task); err != nil {
		return Task{}, err
	}
	var info vimTaskInfo
	if err := c.vim(ctx, http.MethodGet, "Task", task, "info", nil, &info); err != nil {
		return Task{}, fmt.Errorf("read %s: %w", task, err)
	}
	t := Task{ID: task, State: TaskState(sanitize(string(info.State), 32)), Progress: info.Progress, Cancelable: info.Cancelable, Cancelled: info.Cancelled}
	if info.Result != nil {
		t.ResultID = sanitize(info.Result.Value, maxIDLen)
	}
	if info.State == TaskError {
		e := &APIError{Status: http.StatusOK, Method: http.MethodGet, Path: "Task/" + task + "/info", Type: "TaskFailed"}
		if info.Error != nil {
			applyFault(e, info.Error, c.clean())
		}
		t.Err = e
	}
	return t, nil
}

// WaitTask polls the task until it ends, calling progress (if non-nil)
// whenever the percentage changes. When ctx ends first it returns the last
// state read and ctx's error: the task goes on in vCenter unless cancelled.
// A task that ends in error returns its fault as the error.
func (c *Client) WaitTask(ctx context.Context, task string, progress func(percent int)) (Task, error) {
	last := -1
	var t Task
	for {
		var err error
		t, err = c.TaskInfo(ctx, task)
		if err != nil {
			if ctx.Err() != nil {
				return t, ctx.Err()
			}
			return t, err
		}
		if t.State == TaskSuccess {
			return t, nil
		}
		if t.State == TaskError {
			if t.Cancelled {
				return t, fmt.Errorf("%s was cancelled: %w", task, t.Err)
			}
			return t, t.Err
		}
		if progress != nil && t.Progress != last {
			last = t.Progress
			progress(t.Progress)
		}
		if err := sleep(ctx, c.cfg.TaskPollInterval); err != nil {
			return t, err
		}
	}
}

// CancelTask asks vCenter to cancel a task. It fails for tasks that are not
// cancelable or already done.
func (c *Client) CancelTask(ctx context.Context, task string) error {
	if err := ValidateID(KindTask, task); err != nil {
		return err
	}
	if err := c.vim(ctx, http.MethodPost, "Task", task, "CancelTask", struct{}{}, nil); err != nil {
		return fmt.Errorf("cancel %s: %w", task, err)
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// IsCancelled reports whether err is a cancellation of the caller's context.
func IsCancelled(err error) bool {
	return errors.Is(err, context.Canceled)
}
