package vcentersim

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// TaskState is the state of a vim25 Task (TaskInfoState).
type TaskState string

// The task states.
const (
	TaskQueued  TaskState = "queued"
	TaskRunning TaskState = "running"
	TaskSuccess TaskState = "success"
	TaskError   TaskState = "error"
)

// Task is a copy of one VI/JSON task, as [Server.Task] returns it.
type Task struct {
	ID            string // "task-12"
	Method        string // "CreateSnapshotEx_Task"
	DescriptionID string // "VirtualMachine.createSnapshot"
	VM            string // the entity: a VM id (a host id for maintenance mode)
	EntityName    string
	State         TaskState
	Progress      int // percent; meaningful while running
	Cancelable    bool
	Cancelled     bool
	Result        string // MoRef value of the result (the new snapshot) on success
	Fault         string // fault _typeName when State is TaskError
	FaultMessage  string
	QueueTime     time.Time
	StartTime     time.Time
	CompleteTime  time.Time // zero until the task ends
}

// task is the simulator's record of a Task. The effect of the operation is
// run, applied only when the task succeeds (never when it fails or is
// cancelled), as vSphere applies a task's change when it completes.
type task struct {
	Task
	user       string
	polls      int
	resultType string                     // MoRef type of the result, e.g. "VirtualMachineSnapshot"
	forced     *vimFault                  // FailNextTask: end in this fault instead of running
	run        func() (string, *vimFault) // the effect; returns the result's MoRef value
	fault      *vimFault                  // the fault the task ended with
	// entityType is the vim25 type of the entity (VM holds its id);
	// "" means VirtualMachine.
	entityType string
	// hold, when set, is asked at the poll that would end the task: the
	// task keeps running while it answers wait, and ends in its fault
	// when it gives one (maintenance mode waits for the host to empty).
	hold func() (wait bool, fault *vimFault)
	// vapi marks an Automation API task (/api/cis/tasks), with its
	// service and operation (CisTaskInfo); result is then the result
	// value itself, not a MoRef.
	vapi               bool
	service, operation string
	// resultValue, when set, is TaskInfo.result as it is written (a
	// boxed ArrayOfCheckResult), instead of a MoRef of Result.
	resultValue any
}

// startTask files a running task on VM v. Caller holds mu.
func (s *Server) startTask(c *call, method, descriptionID string, v *vm, cancelable bool, resultType string, run func() (string, *vimFault)) moRef {
	return s.startEntityTask(c, method, descriptionID, "", v.ID, v.Name, cancelable, resultType, run).mo()
}

// startEntityTask files a running task on the entity of type entityType
// ("" for VirtualMachine) and returns it. Caller holds mu.
func (s *Server) startEntityTask(c *call, method, descriptionID, entityType, id, name string, cancelable bool, resultType string, run func() (string, *vimFault)) *task {
	s.taskSeq++
	now := s.now()
	t := &task{
		Task: Task{
			ID: fmt.Sprintf("task-%d", s.taskSeq), Method: method, DescriptionID: descriptionID,
			VM: id, EntityName: name, State: TaskRunning, Cancelable: cancelable,
			QueueTime: now, StartTime: now,
		},
		user: c.session.user, run: run, resultType: resultType, entityType: entityType,
	}
	if s.failNext != nil {
		t.forced, s.failNext = s.failNext, nil
	}
	s.tasks[t.ID] = t
	return t
}

// mo is the task's MoRef.
func (t Task) mo() moRef { return ref("Task", t.ID) }

// busyTask returns a running task on VM id, if any: vSphere runs one task at
// a time per VM. Automation API tasks count too. Caller holds mu.
func (s *Server) busyTask(vmID string) *task {
	for _, t := range s.runningTasks() {
		if t.VM == vmID {
			return t
		}
	}
	return nil
}

// finish ends a running task: in the forced fault, or by running its effect.
// Caller holds mu.
func (s *Server) finish(t *task) {
	fault := t.forced
	if fault == nil {
		var result string
		result, fault = t.run()
		if fault == nil {
			t.Result = result
		}
	}
	t.end(fault, s.now())
}

// end moves the task to its final state.
func (t *task) end(fault *vimFault, now time.Time) {
	t.CompleteTime = now
	t.Progress = 0
	if fault != nil {
		t.State, t.fault, t.Fault, t.FaultMessage = TaskError, fault, fault.typeName, fault.message
		return
	}
	t.State = TaskSuccess
}

// poll is one GET of the task's info: a running task advances, and ends once
// it has been seen running TaskPolls times, unless tasks are held. Caller
// holds mu.
func (s *Server) poll(t *task) {
	if t.State != TaskRunning {
		return
	}
	t.polls++
	if t.polls > s.opts.TaskPolls && !s.hangTasks {
		if s.complete(t); t.State != TaskRunning {
			return
		}
	}
	t.Progress = min(99, 100*t.polls/(s.opts.TaskPolls+1))
}

// complete ends a running task, unless its hold keeps it waiting. Caller
// holds mu.
func (s *Server) complete(t *task) {
	if t.forced == nil && t.hold != nil {
		wait, fault := t.hold()
		switch {
		case fault != nil:
			t.end(fault, s.now())
			return
		case wait:
			return
		}
	}
	s.finish(t)
}

// taskInfo is vim25 TaskInfo.
type taskInfo struct {
	TypeName      string         `json:"_typeName"`
	Key           string         `json:"key"`
	Task          moRef          `json:"task"`
	Name          string         `json:"name"`
	DescriptionID string         `json:"descriptionId"`
	Entity        moRef          `json:"entity"`
	EntityName    string         `json:"entityName"`
	State         TaskState      `json:"state"`
	Cancelled     bool           `json:"cancelled"`
	Cancelable    bool           `json:"cancelable"`
	Error         map[string]any `json:"error,omitempty"`
	Result        any            `json:"result,omitempty"`
	Progress      *int           `json:"progress,omitempty"`
	Reason        taskReason     `json:"reason"`
	QueueTime     string         `json:"queueTime"`
	StartTime     string         `json:"startTime,omitempty"`
	CompleteTime  string         `json:"completeTime,omitempty"`
	EventChainID  int            `json:"eventChainId"`
}

type taskReason struct {
	TypeName string `json:"_typeName"`
	UserName string `json:"userName"`
}

// info is the task's TaskInfo as a server of release rel writes it.
func (t *task) info(rel release) taskInfo {
	ti := taskInfo{
		TypeName: "TaskInfo", Key: t.ID, Task: ref("Task", t.ID), Name: t.Method, DescriptionID: t.DescriptionID,
		Entity: ref(cmp.Or(t.entityType, "VirtualMachine"), t.VM), EntityName: t.EntityName, State: t.State,
		Cancelled: t.Cancelled, Cancelable: t.Cancelable,
		Reason:    taskReason{TypeName: "TaskReasonUser", UserName: vimUserName(t.user)},
		QueueTime: vimTime(t.QueueTime), StartTime: vimTime(t.StartTime), EventChainID: eventChainID(t.ID),
	}
	switch t.State {
	case TaskRunning:
		p := t.Progress
		ti.Progress = &p
	case TaskSuccess:
		switch {
		case t.resultValue != nil:
			ti.Result = t.resultValue
		case t.Result != "":
			ti.Result = ref(t.resultType, t.Result)
		}
		ti.CompleteTime = vimTime(t.CompleteTime)
	case TaskError:
		ti.Error = t.fault.localized()
		if rel.bareTaskFaults() {
			ti.Error = t.fault.body()
		}
		ti.CompleteTime = vimTime(t.CompleteTime)
	}
	return ti
}

// handleTaskInfo reads Task.info. Each read is one poll.
func handleTaskInfo(s *Server, c *call) (any, *vimFault) {
	t := s.tasks[c.param("moId")]
	if t == nil {
		return nil, faultNotFound("Task", c.param("moId"))
	}
	s.poll(t)
	return t.info(s.release), nil
}

// handleCancelTask is Task.CancelTask: a running cancelable task ends at once
// in RequestCanceled, its effect not applied; a task that cannot be
// cancelled is NotSupported; an ended one InvalidState (VI/JSON CancelTask).
func handleCancelTask(s *Server, c *call) (any, *vimFault) {
	t := s.tasks[c.param("moId")]
	if t == nil {
		return nil, faultNotFound("Task", c.param("moId"))
	}
	switch {
	case t.State != TaskRunning && t.State != TaskQueued:
		return nil, newFault("InvalidState", "The operation is not allowed in the current state.")
	case !t.Cancelable:
		return nil, newFault("NotSupported", "The operation is not supported on the object.")
	}
	t.Cancelled = true
	t.end(newFault("RequestCanceled", "The task was canceled by a user."), s.now())
	return nil, nil
}

// runningTasks lists the running tasks, VI/JSON and Automation API, in
// creation order. Caller holds mu.
func (s *Server) runningTasks() []*task {
	var out []*task
	for _, t := range s.tasks {
		if t.State == TaskRunning {
			out = append(out, t)
		}
	}
	if s.chg != nil {
		for _, t := range s.chg.vapiTasks {
			if t.State == TaskRunning {
				out = append(out, t)
			}
		}
	}
	slices.SortFunc(out, func(a, b *task) int { return compareIDs(a.ID, b.ID) })
	return out
}
