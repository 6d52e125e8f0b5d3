package vcentersim

import (
	"fmt"
	"net/http"
	"strings"
)

// Automation API tasks (contract changes §0.1): an operation called with
// ?vmw-task=true answers at once with a task id, and GET /api/cis/tasks/{task}
// tells how it goes (CisTaskInfo). Each read of the task is one poll, as for
// vim25 tasks; the effect is applied when the task succeeds.
//
// The simulator's choices where the contract is silent (§9.2): a task id is
// "<uuid>:<service>", as vCenter's look; a task is kept after it ends for the
// simulator's lifetime; clone and relocate tasks are not cancelable (the
// contract's sample says "cancelable": false); a failed task's error is the
// standard vAPI error object.

// vapiTaskService is the service of the VM operations' tasks.
const vapiTaskService = "com.vmware.vcenter.VM"

// startVAPITask files a running Automation API task of operation on VM v
// (the entity it runs on: the source of a clone, the VM relocated) and
// returns its id. Caller holds mu.
func (s *Server) startVAPITask(c *call, operation string, v *vm, run func() (string, *vimFault)) string {
	s.chg.vapiSeq++
	n := s.chg.vapiSeq
	now := s.now()
	t := &task{
		Task: Task{
			ID: fmt.Sprintf("52%06x-7c4b-4d2e-9f10-%012x:%s", n, n, strings.ToLower(vapiTaskService)), Method: operation,
			DescriptionID: vapiTaskService + "." + operation, VM: v.ID, EntityName: v.Name, State: TaskRunning,
			QueueTime: now, StartTime: now,
		},
		user: c.session.user, run: run, vapi: true, service: vapiTaskService, operation: operation,
	}
	if s.failNext != nil {
		t.forced, s.failNext = s.failNext, nil
	}
	s.chg.vapiTasks[t.ID] = t
	return t.ID
}

// VAPITask returns a copy of the Automation API task with the given id.
func (s *Server) VAPITask(id string) (Task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.chg.vapiTasks[id]
	if t == nil {
		return Task{}, false
	}
	return t.Task, true
}

// vapiFault is how a change operation's failure travels in a task: its
// type is the vAPI error_type, and the message id rides along.
func vapiFault(e *vapiError) *vimFault {
	f := newFault(e.Type, e.Messages[0].DefaultMessage)
	return f.with("messageId", e.Messages[0].ID)
}

// cisTaskInfo is CisTaskInfo.
type cisTaskInfo struct {
	Description localizableMessage `json:"description"`
	Service     string             `json:"service"`
	Operation   string             `json:"operation"`
	Status      string             `json:"status"`
	Cancelable  bool               `json:"cancelable"`
	Progress    *cisProgress       `json:"progress,omitempty"`
	Target      *objectID          `json:"target,omitempty"`
	StartTime   string             `json:"start_time,omitempty"`
	EndTime     string             `json:"end_time,omitempty"`
	User        string             `json:"user,omitempty"`
	Result      any                `json:"result,omitempty"`
	Error       any                `json:"error,omitempty"`
}

type cisProgress struct {
	Total     int64              `json:"total"`
	Completed int64              `json:"completed"`
	Message   localizableMessage `json:"message"`
}

// cisInfo is the task as GET /api/cis/tasks/{task} answers.
func (t *task) cisInfo() cisTaskInfo {
	msg := func(id, text string) localizableMessage {
		return localizableMessage{ID: id, DefaultMessage: text, Args: []string{}}
	}
	info := cisTaskInfo{
		Description: msg("com.vmware.vcenter.vm."+t.operation, strings.ToUpper(t.operation[:1])+t.operation[1:]+" virtual machine "+t.EntityName),
		Service:     t.service, Operation: t.operation, Cancelable: t.Cancelable,
		Target:    &objectID{Type: "VirtualMachine", ID: t.VM},
		StartTime: vapiTime(t.StartTime), User: strings.ToUpper(vimUserName(t.user)),
	}
	progress := func(done int) *cisProgress {
		return &cisProgress{Total: 100, Completed: int64(done), Message: msg("com.vmware.vcenter.vm.progress", fmt.Sprintf("%d%% done", done))}
	}
	switch t.State {
	case TaskQueued:
		info.Status = "PENDING"
	case TaskRunning:
		info.Status, info.Progress = "RUNNING", progress(t.Progress)
	case TaskSuccess:
		info.Status, info.Progress, info.EndTime = "SUCCEEDED", progress(100), vapiTime(t.CompleteTime)
		if t.Result != "" {
			info.Result = t.Result
		}
	case TaskError:
		info.Status, info.Progress, info.EndTime = "FAILED", progress(t.Progress), vapiTime(t.CompleteTime)
		id, _ := t.fault.fields["messageId"].(string)
		if id == "" {
			id = "com.vmware.vcenter.vm.task_failed"
		}
		info.Error = struct {
			ErrorType string               `json:"error_type"`
			Messages  []localizableMessage `json:"messages"`
		}{t.fault.typeName, []localizableMessage{msg(id, t.fault.message)}}
	}
	return info
}

// handleCisTaskGet is GET /api/cis/tasks/{task}: one poll of the task.
func handleCisTaskGet(s *Server, c *call) (any, *vapiError) {
	t := s.chg.vapiTasks[c.param("task")]
	if t == nil {
		return nil, newVAPIError("NOT_FOUND", "com.vmware.cis.tasks.not_found", fmt.Sprintf("Task %s does not exist.", c.param("task")), c.param("task"))
	}
	s.poll(t)
	return t.cisInfo(), nil
}

// handleCisTaskCancel is POST /api/cis/tasks/{task}?action=cancel: a
// cancelable running task ends FAILED with CANCELED (no CANCELED status
// exists, contract changes §0.1); another is UNSUPPORTED.
func handleCisTaskCancel(s *Server, c *call) (any, *vapiError) {
	t := s.chg.vapiTasks[c.param("task")]
	switch {
	case t == nil:
		return nil, newVAPIError("NOT_FOUND", "com.vmware.cis.tasks.not_found", fmt.Sprintf("Task %s does not exist.", c.param("task")), c.param("task"))
	case !t.Cancelable || t.State != TaskRunning:
		return nil, newVAPIError("UNSUPPORTED", "com.vmware.cis.tasks.not_cancelable", fmt.Sprintf("Task %s cannot be cancelled.", t.ID), t.ID)
	}
	t.Cancelled = true
	t.end(newFault("CANCELED", "The task was canceled by a user."), s.now())
	return nil, nil
}

// vapiTaskRoutes are the task operations in both dialects.
func vapiTaskRoutes(add func(method, pattern, action string, h vapiHandler) *route) {
	add(http.MethodGet, "/api/cis/tasks/{task}", "", handleCisTaskGet)
	add(http.MethodGet, "/rest/cis/tasks/{task}", "", handleCisTaskGet)
	add(http.MethodPost, "/api/cis/tasks/{task}", "cancel", handleCisTaskCancel)
	add(http.MethodPost, "/rest/cis/tasks/{task}", "cancel", handleCisTaskCancel)
}

// isVAPITaskID reports whether s has the shape of the simulator's task ids.
func isVAPITaskID(s string) bool {
	head, service, ok := strings.Cut(s, ":")
	return ok && len(head) == 36 && service == strings.ToLower(vapiTaskService)
}
