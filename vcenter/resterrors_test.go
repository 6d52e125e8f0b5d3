package vcenter

import (
	"context"
	"errors"
	"testing"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// TestRESTErrorsWithoutErrorType: real /rest error bodies may lack
// value.error_type (vcenter-api.md §1.4, §4); the type is then read from
// "type". The simulator sends the §1.4 shape for every /rest 401, and every
// error so under RESTErrorsWithoutErrorType.
func TestRESTErrorsWithoutErrorType(t *testing.T) {
	ctx := context.Background()
	t.Run("live samples", func(t *testing.T) {
		for _, tt := range []struct {
			sample string
			status int
			is     error
			typ    string
		}{
			{"rest-404-without-error-type.json", 404, ErrNotFound, "NOT_FOUND"},
			{"rest-400-already-in-desired-state-without-error-type.json", 400, ErrAlreadyInDesiredState, "ALREADY_IN_DESIRED_STATE"},
		} {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, ModeREST)
			answerOnce(sim, "GET", "/rest/vcenter/vm/vm-70/power", tt.status, liveSample(t, tt.sample))
			_, err := c.GetPower(ctx, "vm-70")
			var ae *APIError
			if !errors.Is(err, tt.is) || !errors.As(err, &ae) || ae.Type != tt.typ || ae.Message() == "" {
				t.Errorf("%s: err = %v, want %s with vCenter's message", tt.sample, err, tt.typ)
			}
		}
	})
	t.Run("a 401 without error_type renews the session", func(t *testing.T) {
		sim := newSim(t, vcentersim.Options{})
		c := newClient(t, sim, ModeREST)
		if _, err := c.GetPower(ctx, "vm-70"); err != nil {
			t.Fatal(err)
		}
		answerOnce(sim, "GET", "/rest/vcenter/vm/vm-70/power", 401, liveSample(t, "rest-401-without-error-type.json"))
		if _, err := c.GetPower(ctx, "vm-70"); err != nil {
			t.Fatalf("after a 401 in the live shape: %v", err)
		}
		if n := sim.Counters().Logins["rest"]; n != 2 {
			t.Errorf("logins = %d, want 2 (the 401 was read as UNAUTHENTICATED)", n)
		}
	})
	t.Run("simulator option", func(t *testing.T) {
		sim := newSim(t, vcentersim.Options{RESTErrorsWithoutErrorType: true, VMs: 5000})
		c := newClient(t, sim, ModeREST)
		if _, err := c.GetVM(ctx, "vm-999999"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetVM of a missing VM = %v, want ErrNotFound", err)
		}
		// UNABLE_TO_ALLOCATE_RESOURCE must still drive the split past 4000 VMs.
		vms, stats, err := c.ListVMs(ctx, VMFilter{})
		if err != nil || len(vms) != 5000 || !stats.Split {
			t.Errorf("ListVMs = %d VMs, %+v, %v; want 5000 after a split", len(vms), stats, err)
		}
		sim.ExpireSessions()
		if _, err := c.GetPower(ctx, vms[0].ID); err != nil {
			t.Errorf("after expiry: %v", err)
		}
	})
}

func TestRESTErrorType(t *testing.T) {
	for in, want := range map[string]string{
		"com.vmware.vapi.std.errors.not_found":                   "NOT_FOUND",
		"com.vmware.vapi.std.errors.unable_to_allocate_resource": "UNABLE_TO_ALLOCATE_RESOURCE",
		"com.vmware.vapi.rest.httpNotFound":                      "com.vmware.vapi.rest.httpNotFound",
		"com.vmware.vapi.std.errors.":                            "com.vmware.vapi.std.errors.",
		"":                                                       "",
	} {
		if got := restErrorType(in); got != want {
			t.Errorf("restErrorType(%q) = %q, want %q", in, got, want)
		}
	}
	// A /rest answer in the /api shape.
	e := decodeVAPIError(404, "GET", "/rest/x", []byte(`{"error_type":"NOT_FOUND","messages":[{"id":"i","default_message":"gone"}]}`), true, sanitize)
	if !errors.Is(e, ErrNotFound) || e.Message() != "gone" {
		t.Errorf("unwrapped /rest error = %+v", e)
	}
}
