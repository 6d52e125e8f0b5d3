package tools

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// Protocol eras: 2026-07-28 clients answer an elicitation by calling the
// tool again (the SDK's multi-round-trip); older clients are asked through
// elicitation/create while the call waits.
var eras = []string{"2026-07-28", "2025-11-25"}

func answer(action string, asked *atomic.Int32) func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
	return func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
		asked.Add(1)
		if !strings.Contains(req.Params.Message, "backup-01") || !strings.Contains(req.Params.Message, "vm-82") {
			return nil, nil
		}
		return &mcp.ElicitResult{Action: action}, nil
	}
}

func TestElicitationAccept(t *testing.T) {
	for _, era := range eras {
		t.Run(era, func(t *testing.T) {
			var asked atomic.Int32
			s := newSession(t, withProtocol(era), withElicitation(answer("accept", &asked)), withRate(0.0001, 2))
			var out confirmOut[deleteVMResult]
			s.ok("delete_vm", map[string]any{"vm_name": "backup-01"}, &out)
			if asked.Load() != 1 || out.Status != statusDone {
				t.Fatalf("asked %d times, result %+v", asked.Load(), out)
			}
			if _, ok := s.sim.VM("vm-82"); ok {
				t.Fatal("the approved delete did not happen")
			}
			lines := s.auditLines()
			if len(lines) != 1 || lines[0]["decision"] != "allowed" || lines[0]["ok"] != true || lines[0]["tool"] != "delete_vm" {
				t.Fatalf("audit = %v, want one allowed line", lines)
			}
			// One logical call took one rate-limit token: one more fits in
			// the burst of 2, the next does not.
			s.ok("list_datacenters", nil, nil)
			if msg := s.fails("list_datacenters", nil); !strings.Contains(msg, "rate limit") {
				t.Errorf("third call: %q", msg)
			}
		})
	}
}

func TestElicitationDeclineOrCancel(t *testing.T) {
	for _, era := range eras {
		for _, action := range []string{"decline", "cancel"} {
			t.Run(era+"/"+action, func(t *testing.T) {
				var asked atomic.Int32
				s := newSession(t, withProtocol(era), withElicitation(answer(action, &asked)))
				var out confirmOut[deleteVMResult]
				s.ok("delete_vm", map[string]any{"vm_name": "backup-01"}, &out)
				if _, ok := s.sim.VM("vm-82"); !ok {
					t.Fatal("a declined delete happened")
				}
				if out.Status != statusNeedsConfirmation || !strings.Contains(out.Summary, action[:6]) {
					t.Errorf("result = %+v", out)
				}
				lines := s.auditLines()
				if len(lines) != 1 || lines[0]["decision"] != "needs_confirmation" || lines[0]["ok"] != false {
					t.Errorf("audit = %v, want one needs_confirmation line", lines)
				}
			})
		}
	}
}

// TestElicitationStateIsBound drives the 2026-07-28 round trip by hand: a
// retry with an altered state, the state of another call, or a replayed
// state is refused and changes nothing.
func TestElicitationStateIsBound(t *testing.T) {
	s := newSession(t, withElicitation(func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
		return &mcp.ElicitResult{Action: "accept"}, nil
	}), withClientOptions(func(o *mcp.ClientOptions) { o.MultiRoundTrip = &mcp.MultiRoundTripOptions{Disabled: true} }))
	ctx := context.Background()
	ask := func(tool string, args map[string]any) *mcp.CallToolResult {
		res, err := s.cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
		if err != nil || res.InputRequests == nil || res.RequestState == "" {
			t.Fatalf("no input request: %v %+v", err, res)
		}
		return res
	}
	retry := func(tool string, args map[string]any, state string) *mcp.CallToolResult {
		res, err := s.cs.CallTool(ctx, &mcp.CallToolParams{
			Name: tool, Arguments: args,
			InputResponses: mcp.InputResponseMap{elicitID: &mcp.ElicitResult{Action: "accept"}}, RequestState: state,
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	del := func(vm string) map[string]any { return map[string]any{"vm_name": vm} }

	first := ask("delete_vm", del("backup-01"))
	altered := []byte(first.RequestState)
	altered[len(altered)/2] ^= 1
	if res := retry("delete_vm", del("backup-01"), string(altered)); !res.IsError || !strings.Contains(textOf(res), "could not be verified") {
		t.Errorf("altered state: %s", textOf(res))
	}
	other := ask("delete_vm", del("old-app-01"))
	if res := retry("delete_vm", del("backup-01"), other.RequestState); !res.IsError || !strings.Contains(textOf(res), "another call") {
		t.Errorf("state of another call: %s", textOf(res))
	}
	grow := map[string]any{"vm_name": "backup-01", "cpu_count": 8}
	if res := retry("modify_vm_resources", grow, first.RequestState); !res.IsError || !strings.Contains(textOf(res), "another call") {
		t.Errorf("state moved to another tool: %s", textOf(res))
	}
	if _, ok := s.sim.VM("vm-82"); !ok || s.vm("vm-82").CPUCount != 4 {
		t.Fatal("backup-01 changed with a bad approval")
	}

	approved := ask("modify_vm_resources", grow)
	if res := retry("modify_vm_resources", grow, approved.RequestState); res.IsError {
		t.Fatalf("genuine approval refused: %s", textOf(res))
	}
	if got := s.vm("vm-82").CPUCount; got != 8 {
		t.Fatalf("backup-01 has %d vCPUs after the approved change, want 8", got)
	}
	if err := s.sim.UpdateVM("vm-82", func(vm *vcentersim.VM) { vm.CPUCount = 4 }); err != nil {
		t.Fatal(err)
	}
	if res := retry("modify_vm_resources", grow, approved.RequestState); !res.IsError || !strings.Contains(textOf(res), "already used") {
		t.Errorf("replayed approval: %s", textOf(res))
	}
	if got := s.vm("vm-82").CPUCount; got != 4 {
		t.Errorf("the replay changed backup-01 to %d vCPUs", got)
	}
	if _, ok := s.sim.VM("vm-104"); !ok {
		t.Error("old-app-01 deleted")
	}
}

// TestNoElicitationGetsThePreview: a client without elicitation (Claude
// Desktop, the inspector) gets the preview and the confirm path.
func TestNoElicitationGetsThePreview(t *testing.T) {
	for _, era := range eras {
		t.Run(era, func(t *testing.T) {
			s := newSession(t, withProtocol(era))
			var out confirmOut[deleteVMResult]
			s.ok("delete_vm", map[string]any{"vm_name": "backup-01"}, &out)
			if out.Status != statusNeedsConfirmation || out.Preview == nil {
				t.Fatalf("result = %+v", out)
			}
			if _, ok := s.sim.VM("vm-82"); !ok {
				t.Fatal("deleted without confirmation")
			}
		})
	}
}

// TestUnansweredElicitationIsAudited: a question nobody answers still gets
// its audit line when the server stops.
func TestUnansweredElicitationIsAudited(t *testing.T) {
	s := newSession(t, withElicitation(func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
		return &mcp.ElicitResult{Action: "accept"}, nil
	}), withClientOptions(func(o *mcp.ClientOptions) { o.MultiRoundTrip = &mcp.MultiRoundTripOptions{Disabled: true} }))
	res, err := s.cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "delete_vm", Arguments: map[string]any{"vm_name": "backup-01"}})
	if err != nil || res.InputRequests == nil {
		t.Fatal(err, res)
	}
	if n := len(s.auditLines()); n != 0 {
		t.Fatalf("%d lines while the question is open, want 0", n)
	}
	s.mw.Close()
	lines := s.auditLines()
	if len(lines) != 1 || lines[0]["decision"] != "needs_confirmation" || !strings.Contains(lines[0]["error"].(string), "did not answer") {
		t.Errorf("audit = %v", lines)
	}
}

// TestRequestStateOfAnotherCallResumesNothing reproduces the replay of the
// red-team pass (protocol 2026-07-28): the RequestState of a revert waiting
// for the user's answer, attached with an "accept" to a power_on_vm while
// the token's bucket was empty, ran the power-on (the resumed call skipped
// the rate limit) and took the revert's audit line, which was never
// written. A state is a resume only for the same tool, arguments and token;
// anything else is a new call: charged, refused here by the rate limit,
// audited on its own line, and the revert keeps its record.
func TestRequestStateOfAnotherCallResumesNothing(t *testing.T) {
	for _, tt := range []struct {
		name, tool string
		args       map[string]any
		want       string // in the refusal
		decision   string
	}{
		{"another tool, the bucket empty", "power_on_vm", map[string]any{"vm_name": "web-04"}, "rate limit", "denied_rate"},
		{"the same tool, another target, the bucket empty", "revert_vm_snapshot", map[string]any{"vm_name": "db-01", "snapshot_name": "experiment-indexes"}, "rate limit", "denied_rate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSession(t, withToolsets("all"), withRate(0.0001, 1), withElicitation(func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
				return &mcp.ElicitResult{Action: "accept"}, nil
			}), withClientOptions(func(o *mcp.ClientOptions) { o.MultiRoundTrip = &mcp.MultiRoundTripOptions{Disabled: true} }))
			ctx := context.Background()
			revert := map[string]any{"vm_name": "db-01", "snapshot_name": "after-patch"}
			asked, err := s.cs.CallTool(ctx, &mcp.CallToolParams{Name: "revert_vm_snapshot", Arguments: revert})
			if err != nil || asked.InputRequests == nil || asked.RequestState == "" {
				t.Fatalf("the revert did not ask: %v %+v", err, asked)
			}
			// The revert's question took the only token of the bucket.
			before := s.sim.Counters()
			res, err := s.cs.CallTool(ctx, &mcp.CallToolParams{
				Name: tt.tool, Arguments: tt.args, RequestState: asked.RequestState,
				InputResponses: mcp.InputResponseMap{elicitID: &mcp.ElicitResult{Action: "accept"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !res.IsError || !strings.Contains(textOf(res), tt.want) {
				t.Errorf("%s with the revert's state: %s, want a refusal with %q", tt.tool, textOf(res), tt.want)
			}
			after := s.sim.Counters()
			for route, n := range after.Routes {
				if n != before.Routes[route] && strings.HasPrefix(route, "POST") && route != routeLogin {
					t.Errorf("vCenter saw %s", route)
				}
			}
			if s.vm("vm-73").PowerState == vcentersim.PoweredOn {
				t.Error("web-04 was powered on")
			}
			lines := s.auditLines()
			if len(lines) != 1 || lines[0]["tool"] != tt.tool || lines[0]["decision"] != tt.decision {
				t.Fatalf("audit = %v, want one %s line for %s", lines, tt.decision, tt.tool)
			}
			// The revert still has its record: written, unanswered, when the
			// server stops, with its own request id.
			s.mw.Close()
			lines = s.auditLines()
			if len(lines) != 2 || lines[1]["tool"] != "revert_vm_snapshot" || lines[1]["decision"] != "needs_confirmation" ||
				lines[1]["request_id"] == lines[0]["request_id"] {
				t.Errorf("audit = %v, want the revert's own needs_confirmation line", lines)
			}
		})
	}
}

// flakyNonces is a shared record of approval nonces that can be taken
// down.
type flakyNonces struct {
	mu     sync.Mutex
	down   bool
	issued map[string]bool
	used   map[string]bool
}

var errStoreDown = errors.New("dial tcp 10.1.2.3:6379: connect: connection refused")

func (f *flakyNonces) Issued(nonce []byte, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errStoreDown
	}
	f.issued[string(nonce)] = true
	return nil
}

func (f *flakyNonces) Redeem(nonce []byte, _ time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return false, errStoreDown
	}
	if !f.issued[string(nonce)] {
		return false, policy.ErrStateUnknown
	}
	if f.used[string(nonce)] {
		return false, nil
	}
	f.used[string(nonce)] = true
	return true, nil
}

// TestApprovalRefusedWhileTheStoreIsDown: an approval that the shared store
// cannot redeem refuses the change (denied_state, audited, nothing sent to
// vCenter), without using the approval up: once the store answers, the
// same answer goes through (a replay then is TestElicitationStateIsBound's).
func TestApprovalRefusedWhileTheStoreIsDown(t *testing.T) {
	store := &flakyNonces{issued: map[string]bool{}, used: map[string]bool{}}
	s := newSession(t, withNonces(store), withElicitation(func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
		return &mcp.ElicitResult{Action: "accept"}, nil
	}), withClientOptions(func(o *mcp.ClientOptions) { o.MultiRoundTrip = &mcp.MultiRoundTripOptions{Disabled: true} }))
	ctx := context.Background()
	args := map[string]any{"vm_name": "backup-01"}
	asked, err := s.cs.CallTool(ctx, &mcp.CallToolParams{Name: "delete_vm", Arguments: args})
	if err != nil || asked.RequestState == "" {
		t.Fatalf("no confirmation asked: %v %+v", err, asked)
	}
	retry := func() *mcp.CallToolResult {
		res, err := s.cs.CallTool(ctx, &mcp.CallToolParams{Name: "delete_vm", Arguments: args, RequestState: asked.RequestState,
			InputResponses: mcp.InputResponseMap{elicitID: &mcp.ElicitResult{Action: "accept"}}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	store.down = true
	before := s.sim.Counters().Requests
	res := retry()
	if !res.IsError || !strings.Contains(textOf(res), "SERVER_STATE_URL") || !strings.Contains(textOf(res), "not used") || strings.Contains(textOf(res), "10.1.2.3") {
		t.Errorf("retry with the store down: %s", textOf(res))
	}
	if _, ok := s.sim.VM("vm-82"); !ok {
		t.Fatal("backup-01 deleted with an approval the store could not redeem")
	}
	for _, r := range s.sim.Requests()[before:] {
		if r.Method != http.MethodGet {
			t.Errorf("%s %s sent to vCenter while the approval could not be redeemed", r.Method, r.Path)
		}
	}
	if a := s.lastAudit(); a["decision"] != "denied_state" || a["ok"] != false || a["tool"] != "delete_vm" {
		t.Errorf("audit of the refused approval: %v", a)
	}
	store.down = false
	if res := retry(); res.IsError {
		t.Fatalf("the same approval once the store is back: %s", textOf(res))
	}
	if _, ok := s.sim.VM("vm-82"); ok {
		t.Fatal("the approved delete did not happen")
	}
	if len(store.used) != 1 {
		t.Errorf("%d nonces recorded, want the one redeemed", len(store.used))
	}

	// With the store down no confirmation is asked: an approval that could
	// not be recorded could not be redeemed once.
	store.down = true
	res = s.call("delete_vm", map[string]any{"vm_name": "old-app-01"})
	if !res.IsError || res.InputRequests != nil || !strings.Contains(textOf(res), "SERVER_STATE_URL") {
		t.Errorf("asking with the store down: %s %+v", textOf(res), res.InputRequests)
	}
	if a := s.lastAudit(); a["decision"] != "denied_state" || a["tool"] != "delete_vm" {
		t.Errorf("audit of the confirmation not asked: %v", a)
	}
}
