package tools

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// The fault matrix of RELIABILITY.md, through the MCP server: each row
// injects a fault in the simulator, calls a tool, and asserts both what the
// tool said and what reached the simulator (requests per route). The
// client-level tests are in vcenter/client_test.go and vcenter/faults_test.go.

// Route keys of vcentersim.Counters.Routes.
const (
	routeListVMs  = "GET /%s/vcenter/vm"
	routePower    = "POST /api/vcenter/vm/{vm}/power"
	routeGuest    = "POST /api/vcenter/vm/{vm}/guest/power"
	routeCPU      = "PATCH /api/vcenter/vm/{vm}/hardware/cpu"
	routeDeleteVM = "DELETE /api/vcenter/vm/{vm}"
	routeSnapshot = "POST /sdk/vim25/{release}/VirtualMachine/{moId}/CreateSnapshotEx_Task"
	routeSnapList = "GET /sdk/vim25/{release}/VirtualMachine/{moId}/snapshot"
	routeTaskInfo = "GET /sdk/vim25/{release}/Task/{moId}/info"
	routeLogin    = "POST /api/session"
)

// waitFor spins until cond holds, failing after a few seconds. It waits for
// the simulator to reach a state, not for time to pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// logIn makes one read so the session exists, then zeroes the counters:
// what follows counts only the call under test.
func (s *session) logIn() {
	s.t.Helper()
	s.ok("get_vm_details", map[string]any{"vm_id": "vm-70"}, nil)
	s.sim.ResetCounters()
}

func TestSafeReadsAreRetriedThroughFaultBursts(t *testing.T) {
	bothModes(t, func(t *testing.T, mode vcenter.Mode) {
		for _, tt := range []struct {
			name  string
			fault vcentersim.Fault
		}{
			{"three 503", vcentersim.Fault{Count: 3, Status: 503, ErrorType: "SERVICE_UNAVAILABLE"}},
			{"two 429 with Retry-After", vcentersim.Fault{Count: 2, Status: 429, RetryAfter: "0"}},
			{"three connection resets", vcentersim.Fault{Count: 3, Kind: vcentersim.FaultReset}},
			{"a 502 page from a proxy", vcentersim.Fault{Count: 1, Status: 502, Body: []byte("<html>bad gateway</html>")}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s := newSession(t, withMode(mode))
				s.logIn()
				tt.fault.Method, tt.fault.Path = "GET", "/"+string(mode)+"/vcenter/vm"
				s.sim.InjectFault(tt.fault)
				var p page[vmItem]
				s.ok("list_vms", map[string]any{"limit": 5}, &p)
				if p.Total != 36 {
					t.Errorf("list_vms total = %d, want 36", p.Total)
				}
				c := s.sim.Counters()
				if got, want := c.Routes[fmt.Sprintf(routeListVMs, mode)], tt.fault.Count+1; got != want || c.Faults != tt.fault.Count {
					t.Errorf("list requests %d (faulted %d), want %d (faulted %d)", got, c.Faults, want, tt.fault.Count)
				}
				if a := s.lastAudit(); a["ok"] != true {
					t.Errorf("audit line %v, want ok", a)
				}
			})
		}
	})
	t.Run("VI/JSON read", func(t *testing.T) {
		s := newSession(t)
		s.logIn()
		s.sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/sdk/vim25/*/VirtualMachine/*/snapshot", Count: 2, Status: 503, ErrorType: "SystemError"})
		var out listVMSnapshotsOut
		s.ok("list_vm_snapshots", map[string]any{"vm_id": "vm-76"}, &out)
		if out.Count != 4 {
			t.Errorf("snapshots = %d, want 4", out.Count)
		}
		if n := s.sim.Counters().Routes[routeSnapList]; n != 3 {
			t.Errorf("snapshot reads = %d, want 3 (two 503, then the answer)", n)
		}
	})
}

func TestStateChangesAreSentOnceAndReportedHonestly(t *testing.T) {
	reset := vcentersim.Fault{Kind: vcentersim.FaultReset}
	for _, tt := range []struct {
		name     string
		tool     string
		args     map[string]any
		fault    vcentersim.Fault // Method and Path are set from route
		path     string
		route    string
		want     []string // in the tool's error
		notWant  []string
		unchange func(*session) bool // the simulator did not apply the change
	}{
		{
			name: "power on, connection reset", tool: "power_on_vm", args: map[string]any{"vm_name": "web-04"},
			fault: reset, path: "/api/vcenter/vm/*/power", route: routePower,
			want:     []string{"may have been applied", "get_vm_details"},
			unchange: func(s *session) bool { return s.vm("vm-73").PowerState == vcentersim.PoweredOff },
		},
		{
			name: "power off, no answer within the timeout", tool: "power_off_vm", args: map[string]any{"vm_name": "web-03"},
			fault: vcentersim.Fault{Kind: vcentersim.FaultHang}, path: "/api/vcenter/vm/*/power", route: routePower,
			want:     []string{"no answer from vCenter within", "VCENTER_TIMEOUT_S", "may have been applied", "get_vm_details"},
			unchange: func(s *session) bool { return s.vm("vm-72").PowerState == vcentersim.PoweredOn },
		},
		{
			name: "power on, answer too large", tool: "power_on_vm", args: map[string]any{"vm_name": "web-04"},
			fault: vcentersim.Fault{Kind: vcentersim.FaultOversized, Size: 4 << 20}, path: "/api/vcenter/vm/*/power", route: routePower,
			want: []string{"too large", "may have been applied", "get_vm_details"},
		},
		{
			name: "power on, 503", tool: "power_on_vm", args: map[string]any{"vm_name": "web-04"},
			fault: vcentersim.Fault{Status: 503, ErrorType: "SERVICE_UNAVAILABLE", Message: "vpxd is restarting"}, path: "/api/vcenter/vm/*/power", route: routePower,
			want:     []string{"SERVICE_UNAVAILABLE", "vpxd is restarting", "try again in a minute"},
			notWant:  []string{"may have been applied"},
			unchange: func(s *session) bool { return s.vm("vm-73").PowerState == vcentersim.PoweredOff },
		},
		{
			name: "guest shutdown, connection reset", tool: "shutdown_vm_guest", args: map[string]any{"vm_name": "mon-01"},
			fault: reset, path: "/api/vcenter/vm/*/guest/power", route: routeGuest,
			want:     []string{"may have been applied", "get_vm_details"},
			unchange: func(s *session) bool { return s.vm("vm-81").PowerState == vcentersim.PoweredOn },
		},
		{
			name: "CPU change, connection reset", tool: "modify_vm_resources", args: map[string]any{"vm_name": "ci-runner-03", "cpu_count": 8, "confirm": true},
			fault: reset, path: "/api/vcenter/vm/*/hardware/cpu", route: routeCPU,
			want:     []string{"may have been applied", "get_vm_details"},
			notWant:  []string{"nothing was changed"},
			unchange: func(s *session) bool { return s.vm("vm-88").CPUCount == 4 },
		},
		{
			name: "delete, connection reset", tool: "delete_vm", args: map[string]any{"vm_name": "old-app-01", "confirm": true},
			fault: reset, path: "/api/vcenter/vm/*", route: routeDeleteVM,
			want:     []string{"may have been applied", "get_vm_details"},
			unchange: func(s *session) bool { _, ok := s.sim.VM("vm-104"); return ok },
		},
		{
			name: "snapshot, connection reset", tool: "create_vm_snapshot", args: map[string]any{"vm_name": "web-02", "snapshot_name": "pre-patch"},
			fault: reset, path: "/sdk/vim25/*/VirtualMachine/*/CreateSnapshotEx_Task", route: routeSnapshot,
			want:     []string{"may have been applied", "list_vm_snapshots"},
			unchange: func(s *session) bool { return len(s.sim.Snapshots("vm-71")) == 0 },
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSession(t, withVCenterConfig(func(c *vcenter.Config) { c.Timeout, c.MaxBodyBytes = 500*time.Millisecond, 1<<20 }))
			s.logIn()
			tt.fault.Method, tt.fault.Path = strings.Fields(tt.route)[0], tt.path
			s.sim.InjectFault(tt.fault)
			msg := s.fails(tt.tool, tt.args)
			t.Logf("%s said: %s", tt.tool, msg) // RELIABILITY.md quotes these
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q: %s", w, msg)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(msg, w) {
					t.Errorf("error says %q: %s", w, msg)
				}
			}
			if n := s.sim.Counters().Routes[tt.route]; n != 1 {
				t.Errorf("%s reached vCenter %d times, want exactly 1", tt.route, n)
			}
			if tt.unchange != nil && !tt.unchange(s) {
				t.Error("the simulator applied a change its fault answered for")
			}
			if a := s.lastAudit(); a["ok"] != false || a["decision"] != "allowed" || !strings.Contains(a["error"].(string), tt.want[0]) {
				t.Errorf("audit line %v, want an allowed call that failed with the same error", a)
			}
		})
	}
}

func TestVCenterDownGivesAClearErrorWithinTheTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	t.Run("connection refused", func(t *testing.T) {
		// Port 1 (tcpmux) is privileged and unused: nothing listens there.
		s := newSession(t, withVCenterConfig(func(c *vcenter.Config) { c.Host, c.Timeout = "127.0.0.1:1", timeout }))
		start := time.Now()
		msg := s.fails("list_vms", nil)
		t.Logf("list_vms said after %v: %s", time.Since(start), msg)
		for _, w := range []string{"connection refused", "check VCENTER_HOST", "vsphere-mcp-pro doctor"} {
			if !strings.Contains(msg, w) {
				t.Errorf("error lacks %q: %s", w, msg)
			}
		}
		if d := time.Since(start); d > timeout {
			t.Errorf("took %v, more than the %v timeout", d, timeout)
		}
	})
	t.Run("no answer", func(t *testing.T) {
		s := newSession(t, withVCenterConfig(func(c *vcenter.Config) { c.Timeout = timeout }))
		s.sim.InjectFault(vcentersim.Fault{Count: -1, Kind: vcentersim.FaultHang})
		start := time.Now()
		msg := s.fails("list_vms", nil)
		took := time.Since(start)
		t.Logf("list_vms said after %v: %s", took, msg)
		if !strings.Contains(msg, "no answer from vCenter within 300ms (VCENTER_TIMEOUT_S)") {
			t.Errorf("error = %s", msg)
		}
		if took < timeout || took > 4*timeout {
			t.Errorf("took %v, want about the %v timeout", took, timeout)
		}
		// The login hung, was given up and never retried: it is a POST
		// whose answer never came, and login is not retried on a timeout.
		waitFor(t, "the simulator to see the client leave", func() bool { return s.sim.Counters().Abandoned >= 1 })
		if c := s.sim.Counters(); c.Routes[routeLogin] != 1 {
			t.Errorf("logins sent = %d, want 1", c.Routes[routeLogin])
		}
	})
	t.Run("503 until retries run out", func(t *testing.T) {
		s := newSession(t, withVCenterConfig(func(c *vcenter.Config) { c.Retries = 2 }))
		s.logIn()
		s.sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm", Count: -1, Status: 503, ErrorType: "SERVICE_UNAVAILABLE"})
		msg := s.fails("list_vms", nil)
		t.Logf("list_vms said: %s", msg)
		if !strings.Contains(msg, "SERVICE_UNAVAILABLE") || !strings.Contains(msg, "try again in a minute") {
			t.Errorf("error = %s", msg)
		}
		if n := s.sim.Counters().Routes["GET /api/vcenter/vm"]; n != 3 {
			t.Errorf("list requests = %d, want 3 (one and two retries)", n)
		}
	})
}

func TestResponseBodiesAreLimitedAndChecked(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault vcentersim.Fault
		want  string
	}{
		{"oversized", vcentersim.Fault{Kind: vcentersim.FaultOversized, Size: 8 << 20}, "vCenter answer too large (more than 1 MiB)"},
		{"malformed", vcentersim.Fault{Kind: vcentersim.FaultMalformedJSON}, "malformed JSON"},
		{"truncated", vcentersim.Fault{Kind: vcentersim.FaultMalformedJSON, Body: []byte(`[{"vm":"vm-70","name":"web-01","power_state":"POWE`)}, "malformed JSON"},
		{"wrong shape", vcentersim.Fault{Kind: vcentersim.FaultMalformedJSON, Body: []byte(`{"vm":"vm-70"}`)}, "malformed JSON"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSession(t, withVCenterConfig(func(c *vcenter.Config) { c.MaxBodyBytes = 1 << 20 }))
			s.logIn()
			tt.fault.Method, tt.fault.Path = "GET", "/api/vcenter/vm"
			s.sim.InjectFault(tt.fault)
			msg := s.fails("list_vms", nil)
			t.Logf("list_vms said: %s", msg)
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "could not be reached") {
				t.Errorf("error = %s, want %q and no claim that vCenter could not be reached", msg, tt.want)
			}
			if n := s.sim.Counters().Routes["GET /api/vcenter/vm"]; n != 1 {
				t.Errorf("list requests = %d, want 1: a bad answer is not retried", n)
			}
		})
	}
}

func TestCancelledToolCallCancelsItsHTTPRequest(t *testing.T) {
	lines := make(chan struct{}, 16)
	s := newSession(t, withAuditLog(func(b *syncBuffer) *audit.Log { return audit.New(auditSignal{b, lines}) }))
	s.logIn()
	<-lines // the log-in call's line
	s.sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm", Kind: vcentersim.FaultHang})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.cs.CallTool(ctx, &mcp.CallToolParams{Name: "list_vms", Arguments: map[string]any{}})
		errc <- err
	}()
	waitFor(t, "the list request to hang in vCenter", func() bool { return s.sim.Counters().Faults == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("call = %v, want context.Canceled", err)
	}
	waitFor(t, "vCenter to see the request cancelled", func() bool { return s.sim.Counters().Abandoned == 1 })
	<-lines // the server writes the call's line once the handler returns
	a := s.lastAudit()
	if a["tool"] != "list_vms" || a["ok"] != false || !strings.Contains(fmt.Sprint(a["error"]), "cancel") {
		t.Errorf("audit line %v, want a failed list_vms that says it was cancelled", a)
	}
	if n := s.sim.Counters().Routes["GET /api/vcenter/vm"]; n != 1 {
		t.Errorf("list requests = %d, want 1: a cancelled call is not retried", n)
	}
}

func TestSessionExpiryDuringASnapshotTask(t *testing.T) {
	for _, tt := range []struct {
		release, surface string
	}{
		{"8.0.3.0", "api"},    // one session for /api and VI/JSON
		{"8.0.2.0", "vijson"}, // VI/JSON has its own login
	} {
		t.Run(tt.release, func(t *testing.T) {
			s := newSession(t, withSim(vcentersim.Options{Release: tt.release, ManualTasks: true}))
			type result struct {
				res *mcp.CallToolResult
				err error
			}
			done := make(chan result, 1)
			go func() {
				res, err := s.cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "create_vm_snapshot",
					Arguments: map[string]any{"vm_name": "web-02", "snapshot_name": "across-expiry"}})
				done <- result{res, err}
			}()
			waitFor(t, "the task to be polled", func() bool { return s.sim.Counters().Routes[routeTaskInfo] >= 1 })
			s.sim.ExpireSessions()
			waitFor(t, "a new login", func() bool { return s.sim.Counters().Logins[tt.surface] == 2 })
			polls := s.sim.Counters().Routes[routeTaskInfo]
			waitFor(t, "polling to go on", func() bool { return s.sim.Counters().Routes[routeTaskInfo] > polls })
			s.sim.CompleteTasks()
			r := <-done
			if r.err != nil || r.res.IsError {
				t.Fatalf("create_vm_snapshot across a session expiry: %v %s", r.err, textOf(r.res))
			}
			snaps := s.sim.Snapshots("vm-71")
			if len(snaps) != 1 || snaps[0].Name != "across-expiry" {
				t.Errorf("simulator snapshots = %+v", snaps)
			}
			c := s.sim.Counters()
			if c.Routes[routeSnapshot] != 1 || c.Logins[tt.surface] != 2 {
				t.Errorf("snapshot POSTs %d, %s logins %d; want 1 and 2", c.Routes[routeSnapshot], tt.surface, c.Logins[tt.surface])
			}
			a := s.lastAudit()
			if task, _ := a["task"].(map[string]any); task == nil || task["state"] != "success" || a["ok"] != true {
				t.Errorf("audit line %v, want a successful task", a)
			}
		})
	}
}

func TestTaskThatCannotBeFollowedIsNotCalledFailed(t *testing.T) {
	s := newSession(t, withSim(vcentersim.Options{ManualTasks: true}), withVCenterConfig(func(c *vcenter.Config) { c.Retries = 1 }))
	done := make(chan *mcp.CallToolResult, 1)
	go func() {
		res, _ := s.cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "create_vm_snapshot",
			Arguments: map[string]any{"vm_name": "web-02", "snapshot_name": "unfollowed"}})
		done <- res
	}()
	waitFor(t, "the task to be polled", func() bool { return s.sim.Counters().Routes[routeTaskInfo] >= 1 })
	s.sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/sdk/vim25/*/Task/*/info", Count: -1, Kind: vcentersim.FaultReset})
	res := <-done
	msg := textOf(res)
	t.Logf("create_vm_snapshot said: %s", msg)
	if !res.IsError || !strings.Contains(msg, "was started") || !strings.Contains(msg, "may still complete") || !strings.Contains(msg, "list_vm_snapshots") {
		t.Fatalf("result %s, want an error saying the task may still complete and to check list_vm_snapshots", msg)
	}
	if task, _ := s.lastAudit()["task"].(map[string]any); task == nil || task["state"] != string(audit.TaskLeftRunning) {
		t.Errorf("audit task = %v, want left_running", task)
	}
	s.sim.ClearFaults()
	s.sim.CompleteTasks()
	if snaps := s.sim.Snapshots("vm-71"); len(snaps) != 1 {
		t.Errorf("the task did complete in vCenter: snapshots %+v", snaps)
	}
	if n := s.sim.Counters().Routes[routeSnapshot]; n != 1 {
		t.Errorf("snapshot POSTs = %d, want 1", n)
	}
}

func TestFailedTaskIsReportedWithItsFault(t *testing.T) {
	s := newSession(t)
	s.logIn()
	s.sim.FailNextTask("FileFault", "cannot create the delta disk")
	msg := s.fails("create_vm_snapshot", map[string]any{"vm_name": "web-02", "snapshot_name": "doomed"})
	t.Logf("create_vm_snapshot said: %s", msg)
	if !strings.Contains(msg, "FileFault") || !strings.Contains(msg, "cannot create the delta disk") {
		t.Errorf("error = %s, want vCenter's fault and message", msg)
	}
	if strings.Contains(msg, "may have been applied") {
		t.Errorf("a task that failed is not maybe applied: %s", msg)
	}
	if snaps := s.sim.Snapshots("vm-71"); len(snaps) != 0 {
		t.Errorf("a failed task left snapshots %+v", snaps)
	}
	if n := s.sim.Counters().Routes[routeSnapshot]; n != 1 {
		t.Errorf("snapshot POSTs = %d, want 1", n)
	}
	if task, _ := s.lastAudit()["task"].(map[string]any); task == nil || task["state"] != string(audit.TaskError) {
		t.Errorf("audit task = %v, want error", task)
	}
}

func TestLatencyWithinAndBeyondTheTimeout(t *testing.T) {
	const timeout = 400 * time.Millisecond
	s := newSession(t, withVCenterConfig(func(c *vcenter.Config) { c.Timeout = timeout }))
	s.logIn()
	s.sim.SetLatency(100*time.Millisecond, 100*time.Millisecond) // every request: 100-200ms
	start := time.Now()
	var p page[vmItem]
	s.ok("list_vms", nil, &p)
	if took := time.Since(start); p.Total != 36 || took < 100*time.Millisecond {
		t.Errorf("list_vms under latency: total %d after %v", p.Total, took)
	}
	s.sim.SetLatency(2*timeout, 0)
	s.sim.ResetCounters()
	msg := s.fails("list_vms", nil)
	if !strings.Contains(msg, "no answer from vCenter within 400ms (VCENTER_TIMEOUT_S)") {
		t.Errorf("error = %s", msg)
	}
	waitFor(t, "vCenter to see the request given up", func() bool { return s.sim.Counters().Abandoned == 1 })
	if n := s.sim.Counters().Routes["GET /api/vcenter/vm"]; n != 1 {
		t.Errorf("list requests = %d, want 1: the timeout covers the retries", n)
	}
	s.sim.SetLatency(0, 0)
}
