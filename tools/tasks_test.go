package tools

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

func TestSnapshotProgressNotifications(t *testing.T) {
	var mu sync.Mutex
	var got []float64
	done := make(chan struct{})
	s := newSession(t, withSim(vcentersim.Options{TaskPolls: 4}), withClientOptions(func(o *mcp.ClientOptions) {
		o.ProgressNotificationHandler = func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			mu.Lock()
			defer mu.Unlock()
			if req.Params.ProgressToken == "snap-1" {
				got = append(got, req.Params.Progress)
				if req.Params.Progress == 100 {
					close(done)
				}
			}
		}
	}))
	params := &mcp.CallToolParams{Name: "create_vm_snapshot", Arguments: map[string]any{"vm_name": "web-02", "snapshot_name": "with-progress"}}
	params.SetProgressToken("snap-1")
	res, err := s.cs.CallTool(context.Background(), params)
	if err != nil || res.IsError {
		t.Fatalf("%v %s", err, textOf(res))
	}
	<-done // notifications are delivered asynchronously: wait for the last one
	mu.Lock()
	defer mu.Unlock()
	if len(got) < 3 {
		t.Fatalf("progress %v, want several notifications ending at 100", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Errorf("progress went backwards: %v", got)
		}
	}
}

// auditSignal is an audit writer that tells the test when a line lands.
type auditSignal struct {
	buf   *syncBuffer
	lines chan struct{}
}

func (w auditSignal) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	if bytes.Contains(p, []byte(`"tool":`)) && !bytes.Contains(p, []byte(`"phase":"begin"`)) { // an outcome, not the header or a begin line
		select {
		case w.lines <- struct{}{}:
		default:
		}
	}
	return n, err
}

func TestCancelledSnapshotCall(t *testing.T) {
	for _, tt := range []struct {
		name, tool string
		args       map[string]any
		wantState  audit.TaskState
	}{
		{"create is cancelled in vCenter", "create_vm_snapshot", map[string]any{"vm_name": "web-02", "snapshot_name": "never"}, audit.TaskCancelled},
		{"revert is left running", "revert_vm_snapshot", map[string]any{"vm_name": "db-01", "snapshot_name": "after-patch", "confirm": true}, audit.TaskLeftRunning},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			lines := make(chan struct{}, 16)
			s := newSession(t, withSim(vcentersim.Options{ManualTasks: true}), withPollInterval(time.Millisecond),
				withAuditLog(func(b *syncBuffer) *audit.Log { return audit.New(auditSignal{b, lines}) }),
				withClientOptions(func(o *mcp.ClientOptions) {
					o.ProgressNotificationHandler = func(context.Context, *mcp.ProgressNotificationClientRequest) { cancel() }
				}))
			params := &mcp.CallToolParams{Name: tt.tool, Arguments: tt.args}
			params.SetProgressToken("p")
			if _, err := s.cs.CallTool(ctx, params); !errors.Is(err, context.Canceled) {
				t.Fatalf("call = %v, want context.Canceled", err)
			}
			<-lines // the server finishes the call after the client gave up
			a := s.lastAudit()
			task, _ := a["task"].(map[string]any)
			if task == nil || task["state"] != string(tt.wantState) || !strings.Contains(a["error"].(string), "cancelled by the client") {
				t.Fatalf("audit = %v, want task state %s", a, tt.wantState)
			}
			st, ok := s.sim.Task(task["id"].(string))
			if !ok {
				t.Fatalf("simulator has no %v", task["id"])
			}
			switch tt.wantState {
			case audit.TaskCancelled:
				if !st.Cancelled || len(s.sim.Snapshots("vm-71")) != 0 {
					t.Errorf("task %+v, snapshots %v: want cancelled and none created", st, s.sim.Snapshots("vm-71"))
				}
			case audit.TaskLeftRunning:
				if st.State != vcentersim.TaskRunning {
					t.Errorf("task %+v, want still running", st)
				}
				s.sim.CompleteTasks()
				if cur := currentSnapshot(s.sim.Snapshots("vm-76")); cur != "snapshot-3" {
					t.Errorf("after the task completed, current = %s", cur)
				}
			}
		})
	}
}
