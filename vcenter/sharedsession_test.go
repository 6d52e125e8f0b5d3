package vcenter

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// vimSnapshotReads counts the reads of VM snapshot trees the simulator
// received, refused or not.
func vimSnapshotReads(sim *vcentersim.Server) int {
	return sim.Counters().Routes["GET /sdk/vim25/{release}/VirtualMachine/{moId}/snapshot"]
}

// TestRefusedSharedSessionFallsBackOnce: a vCenter whose release says 8.0
// U3 but whose VI/JSON refuses the Automation API token. Snapshot calls
// used to fail with NotAuthenticated after a useless re-login; now the
// client notices that the token is alive on the Automation API, logs in to
// VI/JSON once, and keeps that session for every later call, concurrent
// ones included. An expired session is still renewed, not mistaken for a
// refusal.
func TestRefusedSharedSessionFallsBackOnce(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{SeparateVIJSONSessions: true})
			c := newClient(t, sim, mode)
			ctx := context.Background()

			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for range 8 {
				wg.Go(func() { _, err := c.ListSnapshots(ctx, "vm-76"); errs <- err })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("ListSnapshots: %v", err)
				}
			}
			cnt := sim.Counters()
			if cnt.Logins["vijson"] != 1 || cnt.Logins[string(mode)] != 1 {
				t.Errorf("logins %v, want one VI/JSON login (the fallback, once) and one on %s", cnt.Logins, mode)
			}
			info, err := c.VIJSON(ctx)
			if err != nil || info.SharedSession || info.APIVersion != "8.0.3.0" {
				t.Errorf("VIJSON = %+v, %v; want 8.0.3.0 without a shared session", info, err)
			}

			before := vimSnapshotReads(sim)
			for range 3 {
				if _, err := c.ListSnapshots(ctx, "vm-76"); err != nil {
					t.Fatal(err)
				}
			}
			if n := vimSnapshotReads(sim) - before; n != 3 {
				t.Errorf("%d snapshot reads for 3 calls: the refused token is tried again", n)
			}

			sim.ExpireSessions()
			if _, err := c.ListSnapshots(ctx, "vm-76"); err != nil {
				t.Fatalf("after expiry: %v", err)
			}
			if n := sim.Counters().Logins["vijson"]; n != 2 {
				t.Errorf("VI/JSON logins after expiry = %d, want 2", n)
			}
			if err := c.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if n := sim.ActiveSessions(); n != 0 {
				t.Errorf("%d sessions left after Close", n)
			}
		})
	}
}

// TestSharedSessionExpiryIsNotARefusal: on a vCenter that shares sessions,
// an expired session renews the Automation API login and never opens a
// VI/JSON login of its own.
func TestSharedSessionExpiryIsNotARefusal(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	for range 3 {
		if _, err := c.ListSnapshots(ctx, "vm-76"); err != nil {
			t.Fatal(err)
		}
		sim.ExpireSessions()
	}
	cnt := sim.Counters()
	if cnt.Logins["vijson"] != 0 || cnt.Logins["api"] != 3 {
		t.Errorf("logins %v, want 3 on api and none on VI/JSON", cnt.Logins)
	}
	if info, _ := c.VIJSON(ctx); !info.SharedSession {
		t.Errorf("VIJSON = %+v, want the shared session", info)
	}
}

// TestCheckVIJSONFindsARefusedSharedSession: doctor's VI/JSON check reads
// currentSession with the shared token and, when VI/JSON does not know it,
// falls back and logs in, so the diagnosis matches what snapshots will do.
func TestCheckVIJSONFindsARefusedSharedSession(t *testing.T) {
	for _, separate := range []bool{false, true} {
		sim := newSim(t, vcentersim.Options{SeparateVIJSONSessions: separate})
		c := newClient(t, sim, ModeAPI)
		info, err := c.CheckVIJSON(context.Background())
		if err != nil || info.SharedSession == separate {
			t.Errorf("separate=%v: CheckVIJSON = %+v, %v", separate, info, err)
		}
		if n := sim.Counters().Logins["vijson"]; (n == 1) != separate {
			t.Errorf("separate=%v: %d VI/JSON logins", separate, n)
		}
		for _, r := range sim.Requests() {
			if strings.Contains(r.Path, "currentSession") && r.Method != http.MethodGet {
				t.Errorf("currentSession read with %s", r.Method)
			}
		}
	}
}
