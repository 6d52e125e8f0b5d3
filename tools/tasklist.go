// Task tools list vCenter's running and recent tasks and read one
// (TaskManager and Task over VI/JSON): is the clone still running, who
// started it, why did it fail. The snapshot tools' task ids work here.

package tools

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// taskInfoAPI lists and reads task records.
type taskInfoAPI interface {
	RecentTaskIDs(ctx context.Context) ([]string, error)
	GetTaskDetails(ctx context.Context, task string) (vcenter.TaskDetails, error)
}

var taskStates = []string{"queued", "running", "success", "error"}

type taskItem struct {
	TaskID    string     `json:"task_id"`
	Task      string     `json:"task"` // descriptionId, e.g. VirtualMachine.createSnapshot
	State     string     `json:"state"`
	Progress  *int       `json:"progress,omitempty"` // percent, while running
	Entity    *entityOut `json:"entity,omitempty"`
	User      string     `json:"user,omitempty"`
	Queued    string     `json:"queued"`
	Started   string     `json:"started,omitempty"`
	Completed string     `json:"completed,omitempty"`
	Error     string     `json:"error,omitempty"`
}

func taskItemOf(t vcenter.TaskDetails) taskItem {
	it := taskItem{TaskID: t.ID, Task: cmp.Or(t.DescriptionID, t.Name), State: string(t.State), User: t.User,
		Queued: stamp(t.Queued), Started: stamp(t.Started), Completed: stamp(t.Completed)}
	if it.User == "" && t.Reason != "" {
		it.User = "(" + strings.TrimPrefix(t.Reason, "TaskReason") + ")" // started by vCenter: schedule, alarm, system
	}
	if t.State == vcenter.TaskRunning || t.State == vcenter.TaskQueued {
		p := t.Progress
		it.Progress = &p
	}
	if t.Entity.ID != "" {
		e := entityOutOf(t.Entity)
		it.Entity = &e
	}
	if t.Err != nil {
		it.Error = truncate(cmp.Or(t.Err.Message(), t.Err.Type), 300)
		if t.Err.Type != "" && t.Err.Message() != "" {
			it.Error = truncate(t.Err.Type+": "+t.Err.Message(), 300)
		}
	}
	return it
}

// --- list_tasks ---

type listTasksIn struct {
	listArgs
	entityArgs
	States []string `json:"states,omitempty"`
}

func listTasks(d Deps) Tool {
	return spec[listTasksIn, page[taskItem]]{
		Name: "list_tasks", Title: "List tasks",
		Description: "vCenter's running and recent tasks (completed in the last minutes), newest first: state, progress, object, who started it, times, error; by object and state; paged.",
		Toolset:     ToolsetObservability, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "VI/JSON `TaskManager.recentTask`, then each task's `info`", On: "the tasks' objects"},
		Example:    `{"states": ["running", "error"]}`,
		Schema: func(in, _ *schema) {
			in.enum("states", taskStates...)
			in.enum("entity_type", entityTypeNames...)
		},
		Handle: listing(d, func(ctx context.Context, vc VCenter, in listTasksIn) ([]taskItem, error) {
			ent, err := resolveEntity(ctx, vc, in.entityArgs)
			if err != nil {
				return nil, err
			}
			ids, err := vc.RecentTaskIDs(ctx)
			if err != nil {
				return nil, fail("read recent tasks", err, perfNext(err))
			}
			tasks := make([]vcenter.TaskDetails, len(ids))
			errs := make([]error, len(ids))
			var wg sync.WaitGroup
			sem := make(chan struct{}, 6) // as many as the VM list splits
			for i, id := range ids {
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					tasks[i], errs[i] = vc.GetTaskDetails(ctx, id)
				})
			}
			wg.Wait()
			out := make([]taskItem, 0, len(ids))
			for i, t := range tasks {
				switch {
				case errors.Is(errs[i], vcenter.ErrNotFound):
					continue // purged since the list was read
				case errs[i] != nil:
					return nil, fail("read "+ids[i], errs[i], "")
				case ent != nil && t.Entity.ID != ent.ID:
					continue
				case len(in.States) > 0 && !slices.Contains(in.States, string(t.State)):
					continue
				}
				out = append(out, taskItemOf(t))
			}
			slices.SortStableFunc(out, func(a, b taskItem) int { return cmp.Compare(b.Queued, a.Queued) })
			return out, nil
		}),
	}.tool()
}

// --- get_task ---

type getTaskIn struct {
	hostArgs
	TaskID string `json:"task_id" jsonschema:"like task-12; the snapshot tools and list_tasks return it"`
}

type getTaskOut struct {
	Summary string `json:"summary"`
	taskItem
	Cancelable bool   `json:"cancelable"`
	Cancelled  bool   `json:"cancelled"`
	Method     string `json:"method"`
	ResultID   string `json:"result_id,omitempty"`
}

func getTask(d Deps) Tool {
	return spec[getTaskIn, getTaskOut]{
		Name: "get_task", Title: "Get task",
		Description: "One vCenter task: state, progress, object, who started it, queue/start/complete times and its error.",
		Toolset:     ToolsetObservability, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "VI/JSON `Task.info`", On: "the task's object"},
		Example:    `{"task_id": "task-5"}`,
		Handle: func(ctx context.Context, _ *mcp.CallToolRequest, in getTaskIn) (*mcp.CallToolResult, getTaskOut, error) {
			if err := vcenter.ValidateID(vcenter.KindTask, in.TaskID); err != nil {
				return nil, getTaskOut{}, &argError{err.Error()}
			}
			vc, err := connect(ctx, d, in.Hostname)
			if err != nil {
				return nil, getTaskOut{}, err
			}
			audit.NoteTarget(ctx, in.TaskID, "")
			t, err := vc.GetTaskDetails(ctx, in.TaskID)
			if errors.Is(err, vcenter.ErrNotFound) {
				return nil, getTaskOut{}, fmt.Errorf("%s is not known to vCenter: it keeps a finished task only for a while. Next: list_tasks shows recent tasks; list_events shows what happened to the object", in.TaskID)
			}
			if err != nil {
				return nil, getTaskOut{}, fail("read "+in.TaskID, err, perfNext(err))
			}
			out := getTaskOut{taskItem: taskItemOf(t), Cancelable: t.Cancelable, Cancelled: t.Cancelled, Method: t.Name, ResultID: t.ResultID}
			on := ""
			if t.Entity.ID != "" {
				on = " on " + label(t.Entity.Name, t.Entity.ID)
			}
			switch t.State {
			case vcenter.TaskRunning, vcenter.TaskQueued:
				out.Summary = fmt.Sprintf("%s (%s)%s is %s, %d%%, started by %s", in.TaskID, out.Task, on, t.State, t.Progress, cmp.Or(out.User, "vCenter"))
			case vcenter.TaskError:
				out.Summary = fmt.Sprintf("%s (%s)%s failed: %s", in.TaskID, out.Task, on, out.Error)
			default:
				out.Summary = fmt.Sprintf("%s (%s)%s ended: %s", in.TaskID, out.Task, on, t.State)
			}
			return nil, out, nil
		},
	}.tool()
}
