// Tasks: long vCenter operations (snapshots now; clone, migrate and
// maintenance mode later) return a task, which a tool follows to its end,
// reporting MCP progress and honouring cancellation.

package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// taskAPI follows and cancels vCenter tasks.
type taskAPI interface {
	WaitTask(ctx context.Context, task string, progress func(percent int)) (vcenter.Task, error)
	CancelTask(ctx context.Context, task string) error
}

// waitTask waits for a vCenter task, sending MCP progress notifications
// when the client asked for them (a progress token), and records the task
// in the audit line. When the client cancels, it stops waiting and cancels
// the task where vCenter allows; the audit line says which.
func waitTask(ctx context.Context, d Deps, req *mcp.CallToolRequest, vc taskAPI, task string) (vcenter.Task, error) {
	audit.NoteTask(ctx, task, audit.TaskLeftRunning) // until it is known to have ended
	token := req.Params.GetProgressToken()
	var last time.Time
	progress := func(pct int) {
		if token == nil || req.Session == nil || time.Since(last) < d.ProgressEvery {
			return
		}
		last = time.Now()
		_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
			ProgressToken: token, Progress: float64(pct), Total: 100, Message: fmt.Sprintf("vCenter task %s: %d%%", task, pct),
		})
	}
	t, err := vc.WaitTask(ctx, task, progress)
	switch {
	case err == nil:
		audit.NoteTask(ctx, task, audit.TaskSuccess)
		if token != nil && req.Session != nil {
			_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: token, Progress: 100, Total: 100, Message: "done"})
		}
		return t, nil
	case ctx.Err() != nil:
		// The client gave up: the call's context is gone, so cancelling
		// the task uses a short context of its own.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		state := audit.TaskLeftRunning
		if t.Cancelable || t.ID == "" {
			if cerr := vc.CancelTask(cctx, task); cerr == nil {
				state = audit.TaskCancelled
			}
		}
		audit.NoteTask(ctx, task, state)
		return t, fmt.Errorf("cancelled by the client; vCenter task %s was %s", task, strings.ReplaceAll(string(state), "_", " "))
	case t.State == vcenter.TaskError:
		audit.NoteTask(ctx, task, audit.TaskError)
		return t, err
	default:
		// Reading the task failed, not the task: it may still complete.
		audit.NoteTask(ctx, task, audit.TaskLeftRunning)
		return t, &taskNotFollowedError{task: task, err: err}
	}
}

// taskNotFollowedError is a task that was started but could not be read to
// its end: vCenter may still complete it.
type taskNotFollowedError struct {
	task string
	err  error
}

func (e *taskNotFollowedError) Error() string {
	return fmt.Sprintf("vCenter task %s was started, but reading its state failed (%v); it may still complete", e.task, e.err)
}

func (e *taskNotFollowedError) Unwrap() error { return e.err }
