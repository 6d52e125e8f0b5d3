package tools

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/redact"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// One test per decision path: the result, the simulator (unchanged when
// refused) and the audit line.

func TestDecisionAllowed(t *testing.T) {
	s := newSession(t, withRole("ops", ""))
	s.ok("power_on_vm", map[string]any{"vm_name": "web-04"}, nil)
	if s.vm("vm-73").PowerState != vcentersim.PoweredOn {
		t.Fatal("web-04 not powered on")
	}
	a := s.lastAudit()
	want := map[string]any{"tool": "power_on_vm", "decision": "allowed", "ok": true, "role": "ops", "vcenter": s.sim.Host()}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("audit %s = %v, want %v", k, a[k], v)
		}
	}
	if a["target"].(map[string]any)["id"] != "vm-73" || a["client"].(map[string]any)["name"] != "test-client" ||
		!strings.HasPrefix(a["token_fp"].(string), "sha256:") || a["request_id"] == "" {
		t.Errorf("audit line = %v", a)
	}
}

func TestDecisionDeniedRole(t *testing.T) {
	s := newSession(t, withRole("read", ""))
	msg := s.fails("power_off_vm", map[string]any{"vm_name": "web-01"})
	if !strings.Contains(msg, `not allowed for role "read"`) || !strings.Contains(msg, "list_vms") {
		t.Errorf("refusal: %q", msg)
	}
	if s.vm("vm-70").PowerState != vcentersim.PoweredOn {
		t.Error("web-01 changed state")
	}
	if n := s.sim.Counters().Requests; n != 0 {
		t.Errorf("%d requests reached vCenter for a refused call", n)
	}
	if a := s.lastAudit(); a["decision"] != "denied_role" || a["ok"] != false || a["role"] != "read" {
		t.Errorf("audit = %v", a)
	}
	// Not listed either.
	for _, tool := range listTools(t, s) {
		if tool == "power_off_vm" {
			t.Error("tools/list shows power_off_vm to role read")
		}
	}
	s.fails("no_such_tool", map[string]any{})
	if a := s.lastAudit(); a["decision"] != "unknown_tool" || a["tool"] != "no_such_tool" {
		t.Errorf("unknown tool audit = %v", a)
	}
	if msg := s.fails("list_vm", nil); !strings.Contains(msg, "Did you mean list_vms?") {
		t.Errorf("unknown tool refusal: %q", msg)
	}
}

// TestToolsetsGateListAndCall: a tool outside the enabled toolsets is
// neither listed nor callable, and its refusal is audited as such.
func TestToolsetsGateListAndCall(t *testing.T) {
	s := newSession(t, withRole("admin", ""), withToolsets("inventory"))
	got := listTools(t, s)
	for _, name := range got {
		if tool := toolNamed(t, name); tool.Toolset != ToolsetInventory && tool.Toolset != ToolsetAccess {
			t.Errorf("%s (toolset %s) listed with --toolsets inventory", name, tool.Toolset)
		}
	}
	if !slices.Contains(got, "whoami") || !slices.Contains(got, "list_vms") {
		t.Errorf("listed %v, want list_vms and whoami among them", got)
	}
	msg := s.fails("power_off_vm", map[string]any{"vm_name": "web-01"})
	if !strings.Contains(msg, "toolset power") || !strings.Contains(msg, "VSPHERE_TOOLSETS") {
		t.Errorf("refusal: %q", msg)
	}
	if a := s.lastAudit(); a["decision"] != "denied_toolset" {
		t.Errorf("audit = %v", a)
	}
	if s.vm("vm-70").PowerState != vcentersim.PoweredOn {
		t.Error("web-01 changed state")
	}
	var who struct {
		Toolsets []string `json:"toolsets"`
	}
	s.ok("whoami", nil, &who)
	if want := []string{"access", "inventory"}; !slices.Equal(who.Toolsets, want) {
		t.Errorf("whoami toolsets %v, want %v", who.Toolsets, want)
	}
}

func toolNamed(t *testing.T, name string) Tool {
	t.Helper()
	for _, tool := range catalog() {
		if tool.Def.Name == name {
			return tool
		}
	}
	t.Fatalf("no tool %s", name)
	return Tool{}
}

func TestDecisionDeniedReadOnly(t *testing.T) {
	s := newSession(t, withRole("admin", ""), withReadOnly())
	msg := s.fails("delete_vm", map[string]any{"vm_name": "backup-01", "confirm": true})
	if !strings.Contains(msg, "READ_ONLY") {
		t.Errorf("refusal: %q", msg)
	}
	if _, ok := s.sim.VM("vm-82"); !ok {
		t.Fatal("backup-01 deleted in read-only mode")
	}
	if a := s.lastAudit(); a["decision"] != "denied_read_only" {
		t.Errorf("audit decision = %v", a["decision"])
	}
	for _, tool := range listTools(t, s) {
		if tool == "delete_vm" || tool == "power_on_vm" {
			t.Errorf("read-only mode lists %s", tool)
		}
	}
}

func TestDecisionDeniedRate(t *testing.T) {
	s := newSession(t, withRate(0.001, 2))
	s.ok("list_datacenters", nil, nil)
	s.ok("list_datacenters", nil, nil)
	msg := s.fails("power_on_vm", map[string]any{"vm_name": "web-04"})
	if !strings.Contains(msg, "retry in") {
		t.Errorf("refusal: %q", msg)
	}
	if s.vm("vm-73").PowerState != vcentersim.PoweredOff {
		t.Error("web-04 powered on past the rate limit")
	}
	if a := s.lastAudit(); a["decision"] != "denied_rate" {
		t.Errorf("audit = %v", a)
	}
}

func TestDecisionNeedsConfirmation(t *testing.T) {
	s := newSession(t)
	for _, bad := range []any{nil, false, "true", 1, "yes"} {
		args := map[string]any{"vm_name": "backup-01"}
		if bad != nil {
			args["confirm"] = bad
		}
		res := s.call("delete_vm", args)
		if _, ok := s.sim.VM("vm-82"); !ok {
			t.Fatalf("confirm=%v deleted the VM", bad)
		}
		a := s.lastAudit()
		switch bad.(type) {
		case nil, bool:
			var out confirmOut[deleteVMResult]
			b, _ := json.Marshal(res.StructuredContent)
			_ = json.Unmarshal(b, &out)
			if res.IsError || out.Status != statusNeedsConfirmation || out.Preview == nil {
				t.Errorf("confirm=%v: %s", bad, textOf(res))
			}
			if a["decision"] != "needs_confirmation" || a["ok"] != false {
				t.Errorf("confirm=%v: audit %v", bad, a)
			}
		default: // not a boolean: refused by the schema
			if !res.IsError || a["decision"] != "invalid_args" {
				t.Errorf("confirm=%#v: isError=%v decision=%v", bad, res.IsError, a["decision"])
			}
		}
	}
}

func TestDecisionInvalidArgs(t *testing.T) {
	s := newSession(t)
	for _, args := range []map[string]any{
		{"vm_id": "../x"},
		{"vm_id": "vm-1/power?action=stop"},
		{"vm_id": "vm-1%2F.."},
		{"vm_id": strings.Repeat("v", 10<<10)},
		{"vm_id": 42},
		{"vm_name": "web-01", "surprise": true},
	} {
		s.sim.ResetCounters()
		msg := s.fails("power_off_vm", args)
		if len(msg) > 400 {
			t.Errorf("%.30v: error of %d bytes", args, len(msg))
		}
		if a := s.lastAudit(); a["decision"] != "invalid_args" {
			t.Errorf("%.30v: audit decision %v", args, a["decision"])
		}
		for _, r := range s.sim.Requests() {
			if !strings.HasPrefix(r.Path, "/api/session") && r.Path != "/api/vcenter/vm" {
				t.Errorf("%.30v: request outside the tool's paths: %s %s", args, r.Method, r.RequestURI)
			}
		}
	}
	for _, vm := range s.sim.VMs() {
		if vm.ID == "vm-70" && vm.PowerState != vcentersim.PoweredOn {
			t.Error("web-01 changed")
		}
	}
}

func TestPanicBecomesAnAuditedError(t *testing.T) {
	s := newSession(t)
	res, err := s.mw.auditCalls(s.mw.recoverPanics(func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		panic("kaboom")
	}))(context.Background(), "tools/call", &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: "list_vms"}})
	if err != nil {
		t.Fatal(err)
	}
	w, ok := res.(*wireResult) // what the middleware returns for the SDK to write
	if !ok {
		t.Fatalf("result of type %T", res)
	}
	r := w.CallToolResult
	if !r.IsError || !strings.Contains(textOf(r), "internal error") {
		t.Errorf("result = %s", textOf(r))
	}
	if a := s.lastAudit(); a["tool"] != "list_vms" || a["ok"] != false || !strings.Contains(a["error"].(string), "internal error") {
		t.Errorf("audit = %v", a)
	}
}

func TestAuditFailureRefusesStateChanges(t *testing.T) {
	broken := &failingWriter{}
	s := newSession(t, withAuditLog(func(*syncBuffer) *audit.Log { return audit.New(broken) }))
	broken.fail = true
	s.ok("list_datacenters", nil, nil) // its audit line fails: the sink is known broken
	msg := s.fails("power_on_vm", map[string]any{"vm_name": "web-04"})
	if !strings.Contains(msg, "audit log cannot record it") {
		t.Errorf("refusal: %q", msg)
	}
	if s.vm("vm-73").PowerState != vcentersim.PoweredOff {
		t.Error("a state change ran while the audit log was broken")
	}
	s.ok("list_vms", map[string]any{"limit": 1}, nil) // reads still work
	broken.fail = false
	s.ok("list_datacenters", nil, nil) // a successful append heals the sink
	s.ok("power_on_vm", map[string]any{"vm_name": "web-04"}, nil)
}

type failingWriter struct{ fail bool }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.fail {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

var _ io.Writer = (*failingWriter)(nil)

func listTools(t *testing.T, s *session) []string {
	t.Helper()
	var names []string
	for tool, err := range s.cs.Tools(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tool.Name)
	}
	return names
}

// TestFirstStateChangeNeedsADurableBeginLine: the red team's finding — with
// the audit sink already broken, the first power_on_vm of a process acted,
// since only the previous append was looked at. Now the call writes its begin
// line before it acts, and a failure to write it refuses the call.
func TestFirstStateChangeNeedsADurableBeginLine(t *testing.T) {
	broken := &failingWriter{fail: true}
	s := newSession(t, withAuditLog(func(*syncBuffer) *audit.Log { return audit.New(broken) }))
	msg := s.fails("power_on_vm", map[string]any{"vm_name": "web-04"})
	if !strings.Contains(msg, "audit log cannot record it") {
		t.Errorf("refusal: %q", msg)
	}
	if s.vm("vm-73").PowerState != vcentersim.PoweredOff {
		t.Error("the first state change of the process ran without a durable audit record")
	}
	if n := s.sim.Counters().Requests; n != 0 {
		t.Errorf("%d vCenter requests for a call refused for the audit log", n)
	}
}

// TestBeginLinePrecedesTheChange: a state-changing call's begin line is in
// the audit log before the vCenter request that changes state is sent, and its
// outcome line names it.
func TestBeginLinePrecedesTheChange(t *testing.T) {
	var s *session
	var postsBeforeBegin = -1
	s = newSession(t, withAuditLog(func(buf *syncBuffer) *audit.Log {
		return audit.New(writerFunc(func(p []byte) (int, error) {
			if strings.Contains(string(p), `"phase":"begin"`) {
				postsBeforeBegin = 0
				for _, r := range s.sim.Requests() {
					if r.Method == http.MethodPost && strings.Contains(r.Path, "/power") {
						postsBeforeBegin++
					}
				}
			}
			return buf.Write(p)
		}))
	}))
	s.ok("power_on_vm", map[string]any{"vm_name": "web-04"}, nil)
	if postsBeforeBegin != 0 {
		t.Fatalf("%d power POSTs reached vCenter before the begin line was written (-1: no begin line)", postsBeforeBegin)
	}
	var begin, end map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.audit.String()), "\n") {
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		switch m["phase"] {
		case "begin":
			begin = m
		case "end":
			end = m
		}
	}
	if begin == nil || end == nil || end["begin_seq"] != begin["seq"] || begin["tool"] != "power_on_vm" || end["ok"] != true {
		t.Errorf("begin %v\nend %v", begin, end)
	}
	// Reads write one line and no begin line.
	before := strings.Count(s.audit.String(), "\n")
	s.ok("list_datacenters", nil, nil)
	if got := strings.Count(s.audit.String(), "\n") - before; got != 1 || strings.Count(s.audit.String(), `"phase":"begin"`) != 1 {
		t.Errorf("a read wrote %d lines", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestScrubberIsNoOracle: the red team guessed the vCenter password through
// the scrubber — a tool named "hunter2|<guess>|letmein" came back as
// "hunter2|***|letmein" when the guess was right. What the caller sent now
// comes back as sent, right guess or wrong; what vCenter echoes is still
// scrubbed.
func TestScrubberIsNoOracle(t *testing.T) {
	const password = "Real-vCenter-Pa55word"
	scrub := redact.New()
	s := newSession(t, withSim(vcentersim.Options{Password: password}), withScrubber(scrub))
	answer := func(guess string) string {
		return s.fails("hunter2|"+guess+"|letmein", nil)
	}
	right, wrong := answer(password), answer("Wrong-vCenter-Pa55word")
	if strings.Replace(right, password, "Wrong-vCenter-Pa55word", 1) != wrong {
		t.Errorf("the answers differ beyond the guess itself: an oracle\nright: %s\nwrong: %s", right, wrong)
	}
	if strings.Contains(right, redact.Mask) {
		t.Errorf("the caller's own input was masked: %s", right)
	}
	// The audit log, which the caller cannot read, is still scrubbed.
	if strings.Contains(s.audit.String(), password) {
		t.Error("the password reached the audit log")
	}
	// vCenter echoing the password is still scrubbed from the result.
	s.sim.InjectFault(vcentersim.Fault{Path: "/api/vcenter/vm", Count: 1, Status: 500, ErrorType: "ERROR", Message: "login failed for password " + password})
	if msg := s.fails("list_vms", nil); strings.Contains(msg, password) || !strings.Contains(msg, redact.Mask) {
		t.Errorf("vCenter's echo of the password: %s", msg)
	}
}

// countingObserver records what the middleware tells an observer.
type countingObserver struct {
	mu           sync.Mutex
	calls        map[string]int // "tool decision"
	auditFailed  int
	negativeTook bool
}

func (o *countingObserver) Call(tool, decision string, took time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls[tool+" "+decision]++
	o.negativeTook = o.negativeTook || took < 0
}

func (o *countingObserver) AuditFailed() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.auditFailed++
}

// TestObserverSeesEveryAuditedCall: the observer is told of every call the
// audit log records, with its decision, and of every audit line (begin or
// outcome) that could not be written.
func TestObserverSeesEveryAuditedCall(t *testing.T) {
	obs := &countingObserver{calls: map[string]int{}}
	broken := &failingWriter{}
	s := newSession(t, withObserver(obs), withRole("read", ""), withRate(0.001, 4),
		withAuditLog(func(*syncBuffer) *audit.Log { return audit.New(broken) }))
	s.ok("list_vms", map[string]any{"limit": 1}, nil)
	s.fails("power_on_vm", map[string]any{"vm_name": "web-04"})
	s.fails("no_such_tool", nil)
	broken.fail = true
	s.ok("list_datacenters", nil, nil) // its line fails
	s.fails("list_vms", map[string]any{"limit": 1})
	want := map[string]int{
		"list_vms allowed": 1, "power_on_vm denied_role": 1, "no_such_tool unknown_tool": 1,
		"list_datacenters allowed": 1, "list_vms denied_rate": 1,
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if diff := cmp.Diff(want, obs.calls); diff != "" {
		t.Errorf("calls observed (-want +got):\n%s", diff)
	}
	if obs.auditFailed != 2 || obs.negativeTook {
		t.Errorf("audit failures observed: %d, want 2 (negative durations: %v)", obs.auditFailed, obs.negativeTook)
	}
}
