package vcenter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// vCenter runs every long operation as a vim25 Task (vcenter-api.md §3.2,
// vcenter-api-changes.md §0.2): a method such as CreateSnapshotEx_Task
// answers at once with a Task reference, and the outcome is read from
// GET /sdk/vim25/{release}/Task/{task}/info until the state is success or
// error. This file reads, waits for and cancels such tasks; the operations
// that start them (snapshots today; clone, migrate, maintenance mode) only
// return the task id from taskID.

// TaskState is a vCenter task's state (TaskInfoState).
type TaskState string

// Task states (TaskInfoState).
const (
	TaskQueued  TaskState = "queued"
	TaskRunning TaskState = "running"
	TaskSuccess TaskState = "success"
	TaskError   TaskState = "error"
)

// Task is what Task info says of a task. Strings are sanitised.
type Task struct {
	ID         string
	State      TaskState
	Progress   int  // percent, meaningful while running
	Cancelable bool // whether CancelTask can stop it
	Cancelled  bool // a cancellation was requested (the task ends in error)
	// Description is vCenter's descriptionId, the operation:
	// "VirtualMachine.createSnapshot".
	Description string

	// EntityType and EntityID name the object the task runs on
	// ("VirtualMachine", "vm-42"); EntityName is its name then.
	EntityType, EntityID, EntityName string

	// ResultType and ResultID are the MoRef of the result, e.g.
	// ("VirtualMachineSnapshot", "snapshot-12"); empty when the task has
	// none or its result is not a reference.
	ResultType, ResultID string

	// Queued, Started and Completed are vCenter's times; zero when unset.
	Queued, Started, Completed time.Time

	// Err is the task's fault when State is TaskError.
	Err *APIError
}

// Done reports whether the task has ended.
func (t Task) Done() bool { return t.State == TaskSuccess || t.State == TaskError }

// vimTaskInfo is TaskInfo as VI/JSON writes it. result is kept raw: it is
// a MoRef for most tasks, but a boxed array for CheckRelocate_Task
// (vcenter-api-changes.md §0.2), which must not make the read fail.
type vimTaskInfo struct {
	Key           string          `json:"key"`
	State         TaskState       `json:"state"`
	Progress      int             `json:"progress"`
	Cancelable    bool            `json:"cancelable"`
	Cancelled     bool            `json:"cancelled"`
	DescriptionID string          `json:"descriptionId"`
	Entity        *moRef          `json:"entity"`
	EntityName    string          `json:"entityName"`
	Result        json.RawMessage `json:"result"`
	Error         *vimFault       `json:"error"`
	QueueTime     string          `json:"queueTime"`
	StartTime     string          `json:"startTime"`
	CompleteTime  string          `json:"completeTime"`
}

// GetTask reads a task's info once: a vim25 task, or an Automation API
// task (vapitasks.go).
func (c *Client) GetTask(ctx context.Context, task string) (t Task, err error) {
	defer func() {
		if err == nil && t.Done() {
			// The change the task made (a relocation, a host entering
			// maintenance mode) may have moved VMs (placecache.go).
			c.places.invalidate()
		}
	}()
	if isVAPITask(task) {
		info, err := c.readVAPITask(ctx, task)
		if err != nil {
			return Task{}, err
		}
		return c.vapiTask(task, info), nil
	}
	if err := ValidateID(KindTask, task); err != nil {
		return Task{}, err
	}
	var info vimTaskInfo
	if err := c.vim(ctx, http.MethodGet, "Task", task, "info", nil, &info); err != nil {
		return Task{}, fmt.Errorf("read %s: %w", task, err)
	}
	t = Task{
		ID: task, State: TaskState(sanitize(string(info.State), 32)), Progress: info.Progress,
		Cancelable: info.Cancelable, Cancelled: info.Cancelled,
		Description: sanitize(info.DescriptionID, 128), EntityName: sanitize(info.EntityName, maxNameLen),
		Queued: vimTime(info.QueueTime), Started: vimTime(info.StartTime), Completed: vimTime(info.CompleteTime),
	}
	if info.Entity != nil {
		t.EntityType, t.EntityID = sanitize(info.Entity.Type, 64), sanitize(info.Entity.Value, maxIDLen)
	}
	var result moRef
	if len(info.Result) > 0 && json.Unmarshal(info.Result, &result) == nil {
		t.ResultType, t.ResultID = sanitize(result.Type, 64), sanitize(result.Value, maxIDLen)
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

// TaskInfo reads a task's state once.
//
// Deprecated: use [Client.GetTask], which it calls.
func (c *Client) TaskInfo(ctx context.Context, task string) (Task, error) {
	return c.GetTask(ctx, task)
}

// vimTime reads a vim25 xsd:dateTime ("2024-05-01T10:00:00.123456Z"); a
// missing or unreadable one is the zero time.
func vimTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
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
		t, err = c.GetTask(ctx, task)
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
// cancelable (NotSupported) or already done (InvalidState). A cancelled
// task ends in error, with Cancelled set, once vCenter has stopped it.
func (c *Client) CancelTask(ctx context.Context, task string) error {
	if isVAPITask(task) {
		return c.cancelVAPITask(ctx, task)
	}
	if err := ValidateID(KindTask, task); err != nil {
		return err
	}
	if err := c.vim(ctx, http.MethodPost, "Task", task, "CancelTask", struct{}{}, nil); err != nil {
		return fmt.Errorf("cancel %s: %w", task, err)
	}
	return nil
}

// taskID returns the id of the Task reference a *_Task method answered.
func taskID(m moRef) (string, error) {
	if err := ValidateID(KindTask, m.Value); err != nil {
		return "", fmt.Errorf("vCenter returned an unreadable task reference: %w", err)
	}
	return m.Value, nil
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
