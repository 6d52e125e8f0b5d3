package vcenter

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Automation API tasks (vcenter-api-changes.md §0.1): a clone or relocate
// started with ?vmw-task=true answers a task id, read at
// /api/cis/tasks/{task} (/rest/cis/tasks/{task}). [Client.GetTask],
// [Client.WaitTask], [Client.CancelTask] and [Client.GetTaskDetails] take
// these ids as well as vim25 ones ("task-12"), telling them apart by their
// grammar, so a tool follows either kind the same way.

// cisTaskInfo is CisTaskInfo as vCenter writes it. result and error are
// dynamic values in the spec: result is kept raw (a clone's is the new VM
// id, a string), and error is read as the standard vAPI error object when
// it is one.
type cisTaskInfo struct {
	Description struct {
		ID             string `json:"id"`
		DefaultMessage string `json:"default_message"`
	} `json:"description"`
	Service    string `json:"service"`
	Operation  string `json:"operation"`
	Status     string `json:"status"`
	Cancelable bool   `json:"cancelable"`
	Progress   *struct {
		Total     int64 `json:"total"`
		Completed int64 `json:"completed"`
	} `json:"progress"`
	Target *struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"target"`
	User      string          `json:"user"`
	StartTime string          `json:"start_time"`
	EndTime   string          `json:"end_time"`
	Result    json.RawMessage `json:"result"`
	Error     json.RawMessage `json:"error"`
}

// isVAPITask reports whether task is an Automation API task id rather
// than a vim25 one.
func isVAPITask(task string) bool {
	return !LooksLikeID(KindTask, task) && LooksLikeID(KindVAPITask, task)
}

func (c *Client) cisTaskPath(task string) string {
	return "/cis/tasks/" + url.PathEscape(task)
}

// readVAPITask reads an Automation API task once.
func (c *Client) readVAPITask(ctx context.Context, task string) (cisTaskInfo, error) {
	var info cisTaskInfo
	if err := c.vapi(ctx, http.MethodGet, c.cisTaskPath(task), nil, nil, &info); err != nil {
		return info, fmt.Errorf("read task %s: %w", task, err)
	}
	return info, nil
}

// vapiTask maps CisTaskInfo onto [Task]: PENDING is queued, RUNNING and
// BLOCKED running (BLOCKED waits on something, it has not ended, contract
// §0.1), SUCCEEDED success, FAILED error; progress is completed·100/total.
func (c *Client) vapiTask(task string, info cisTaskInfo) Task {
	clean := c.clean()
	t := Task{ID: task, Cancelable: info.Cancelable, Description: clean(info.Service+"."+info.Operation, 128),
		Started: vimTime(info.StartTime), Completed: vimTime(info.EndTime)}
	switch info.Status {
	case "PENDING":
		t.State = TaskQueued
	case "RUNNING", "BLOCKED":
		t.State = TaskRunning
	case "SUCCEEDED":
		t.State = TaskSuccess
	case "FAILED":
		t.State = TaskError
	default:
		t.State = TaskState(clean(info.Status, 32))
	}
	if p := info.Progress; p != nil && p.Total > 0 {
		t.Progress = int(min(100, max(0, p.Completed*100/p.Total)))
	}
	if tg := info.Target; tg != nil {
		t.EntityType, t.EntityID = clean(tg.Type, 64), clean(tg.ID, maxIDLen)
	}
	var result string
	if json.Unmarshal(info.Result, &result) == nil && result != "" {
		t.ResultID = clean(result, maxIDLen)
		if LooksLikeID(KindVM, result) {
			t.ResultType = "VirtualMachine"
		}
	}
	if t.State == TaskError {
		e := &APIError{Status: http.StatusOK, Method: http.MethodGet, Path: c.dialect.path(c.cisTaskPath(task)), Type: "TaskFailed"}
		var v vapiError
		if json.Unmarshal(info.Error, &v) == nil && v.ErrorType != "" {
			e.Type = clean(v.ErrorType, 64)
			for _, m := range v.Messages[:min(len(v.Messages), maxMessages)] {
				e.Messages = append(e.Messages, clean(m.DefaultMessage, maxMessageLen))
				e.MessageIDs = append(e.MessageIDs, clean(m.ID, 128))
			}
		}
		if len(e.Messages) == 0 && info.Description.DefaultMessage != "" {
			// "If unset the description … will be included in the result."
			e.Messages = []string{clean(info.Description.DefaultMessage, maxMessageLen)}
		}
		t.Err = e
	}
	return t
}

// cancelVAPITask asks vCenter to cancel an Automation API task; one that
// cannot be cancelled answers UNSUPPORTED.
func (c *Client) cancelVAPITask(ctx context.Context, task string) error {
	if err := c.vapi(ctx, http.MethodPost, c.cisTaskPath(task), url.Values{"action": {"cancel"}}, nil, nil); err != nil {
		return fmt.Errorf("cancel %s: %w", task, err)
	}
	return nil
}

// checkVAPITaskID checks the task id a ?vmw-task=true operation answered.
func checkVAPITaskID(id string) (string, error) {
	if !LooksLikeID(KindVAPITask, id) {
		return "", fmt.Errorf("vCenter returned an unreadable task id %s", quoteShort(id))
	}
	return id, nil
}

// vapiTaskDetails reads an Automation API task as [TaskDetails], for
// get_task. An unknown or expired task is [ErrNotFound].
func (c *Client) vapiTaskDetails(ctx context.Context, task string) (TaskDetails, error) {
	info, err := c.readVAPITask(ctx, task)
	if err != nil {
		return TaskDetails{}, err
	}
	t := c.vapiTask(task, info)
	d := TaskDetails{ID: task, Name: c.clean()(info.Operation, 128), DescriptionID: t.Description, State: t.State,
		Progress: t.Progress, Cancelable: t.Cancelable, User: c.clean()(info.User, maxNameLen),
		Started: t.Started, Completed: t.Completed, ResultID: t.ResultID, Err: t.Err}
	if info.Target != nil {
		if e, ok := entityOf(moRef{Type: info.Target.Type, Value: info.Target.ID}); ok {
			d.Entity = e
		}
	}
	return d, nil
}
