package vcenter

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Task records (vcenter-api-observability.md §5): TaskManager.recentTask
// and the whole of Task.info, for listing tasks and reading one. Following a
// task this server started is [Client.WaitTask]'s business.

const tasksWhat = "tasks"

// TaskDetails is what Task.info says of a task.
type TaskDetails struct {
	ID            string
	Name          string // the method, "CreateSnapshot_Task"
	DescriptionID string // "VirtualMachine.createSnapshot"
	Entity        EntityRef
	State         TaskState
	Progress      int // percent, while running
	Cancelled     bool
	Cancelable    bool
	// User started the task; for tasks vCenter started itself, Reason says
	// why (schedule, alarm, system) and User is "".
	User, Reason               string
	Queued, Started, Completed time.Time // zero until set
	ResultID                   string    // MoRef value of the result, when it has one
	Err                        *APIError // the fault of a task in error
	EventChainID               int64
}

type vimTaskDetails struct {
	Key           string `json:"key"`
	Name          string `json:"name"`
	DescriptionID string `json:"descriptionId"`
	Entity        *moRef `json:"entity"`
	EntityName    string `json:"entityName"`
	State         string `json:"state"`
	Progress      int    `json:"progress"`
	Cancelled     bool   `json:"cancelled"`
	Cancelable    bool   `json:"cancelable"`
	Reason        struct {
		TypeName string `json:"_typeName"`
		UserName string `json:"userName"`
	} `json:"reason"`
	QueueTime    vimStamp  `json:"queueTime"`
	StartTime    vimStamp  `json:"startTime"`
	CompleteTime vimStamp  `json:"completeTime"`
	Result       *moRef    `json:"result"`
	Error        *vimFault `json:"error"`
	EventChainID int64     `json:"eventChainId"`
}

// GetTaskDetails reads one task's info. A task vCenter no longer keeps
// answers ManagedObjectNotFound ([ErrNotFound]).
func (c *Client) GetTaskDetails(ctx context.Context, task string) (TaskDetails, error) {
	if isVAPITask(task) {
		return c.vapiTaskDetails(ctx, task)
	}
	if err := ValidateID(KindTask, task); err != nil {
		return TaskDetails{}, err
	}
	var info vimTaskDetails
	if err := c.vimRead(ctx, tasksWhat, http.MethodGet, "Task", task, "info", nil, &info, true); err != nil {
		return TaskDetails{}, fmt.Errorf("read %s: %w", task, err)
	}
	t := TaskDetails{
		ID: task, Name: sanitize(info.Name, 128), DescriptionID: sanitize(info.DescriptionID, 128),
		State: TaskState(sanitize(info.State, 16)), Progress: info.Progress, Cancelled: info.Cancelled, Cancelable: info.Cancelable,
		User: sanitize(info.Reason.UserName, maxNameLen), Reason: sanitize(info.Reason.TypeName, 64),
		Queued: info.QueueTime.Time, Started: info.StartTime.Time, Completed: info.CompleteTime.Time, EventChainID: info.EventChainID,
	}
	if info.Entity != nil {
		if e, ok := entityOf(*info.Entity); ok {
			t.Entity = e
		}
		t.Entity.Name = sanitize(info.EntityName, maxNameLen)
	}
	if info.Result != nil {
		t.ResultID = sanitize(info.Result.Value, maxIDLen)
	}
	if t.State == TaskError {
		e := &APIError{Status: http.StatusOK, Method: http.MethodGet, Path: "Task/" + task + "/info", Type: "TaskFailed"}
		if info.Error != nil {
			applyFault(e, info.Error, c.clean())
		}
		t.Err = e
	}
	if t.State == TaskSuccess || t.State == TaskError {
		c.places.invalidate() // it may have moved VMs (placecache.go)
	}
	return t, nil
}

// RecentTaskIDs reads TaskManager.recentTask: tasks queued or running and
// those completed in the last minutes (vCenter keeps 10 minutes, at most
// 200), in vCenter's order.
func (c *Client) RecentTaskIDs(ctx context.Context) ([]string, error) {
	m, err := c.obsManagers(ctx, tasksWhat)
	if err != nil {
		return nil, err
	}
	var refs []moRef
	if err := c.vimRead(ctx, tasksWhat, http.MethodGet, "TaskManager", m.task, "recentTask", nil, &refs, true); err != nil {
		return nil, fmt.Errorf("read recent tasks: %w", err)
	}
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		if LooksLikeID(KindTask, r.Value) {
			out = append(out, r.Value)
		}
	}
	return out, nil
}
