package vcenter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// hooked records what a client tells OnRequest and OnLogin.
type hooked struct {
	mu       sync.Mutex
	requests map[string]int // "METHOD status"
	logins   []string       // "ok" or the error
}

func (o *hooked) request(method string, status int, took time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if took < 0 {
		status = -1
	}
	o.requests[fmt.Sprintf("%s %d", method, status)]++
}

func (o *hooked) login(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err != nil {
		o.logins = append(o.logins, "failed")
		return
	}
	o.logins = append(o.logins, "ok")
}

// TestObserverSeesRequestsAndLogins: every logical request reaches
// OnRequest once (a retried GET once, with its last status), a request that
// got no answer with status 0, and every login OnLogin with its outcome.
func TestObserverSeesRequestsAndLogins(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	o := &hooked{requests: map[string]int{}}
	c := newClient(t, sim, ModeAPI, func(cfg *Config) { cfg.OnRequest, cfg.OnLogin = o.request, o.login })
	ctx := context.Background()
	if _, err := c.GetCPU(ctx, "vm-70"); err != nil {
		t.Fatal(err)
	}
	// A GET retried after a 503 is one logical request.
	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm/*/hardware/cpu", Status: 503})
	if _, err := c.GetCPU(ctx, "vm-70"); err != nil {
		t.Fatal(err)
	}
	sim.InjectFault(vcentersim.Fault{Method: "POST", Path: "/api/vcenter/vm/*/power", Kind: vcentersim.FaultReset})
	if err := c.Power(ctx, "vm-73", PowerStart); err == nil {
		t.Fatal("a reset POST succeeded")
	}
	want := map[string]int{"POST 201": 1, "GET 200": 2, "POST 0": 1}
	o.mu.Lock()
	got := o.requests
	o.mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests observed (-want +got):\n%s", diff)
	}

	bad := newClient(t, sim, ModeAPI, func(cfg *Config) { cfg.Password = "wrong-password"; cfg.OnLogin = o.login })
	if _, err := bad.GetCPU(ctx, "vm-70"); !errors.Is(err, ErrInvalidLogin) {
		t.Fatalf("wrong password: %v", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if diff := cmp.Diff([]string{"ok", "failed"}, o.logins); diff != "" {
		t.Errorf("logins observed (-want +got):\n%s", diff)
	}
}
