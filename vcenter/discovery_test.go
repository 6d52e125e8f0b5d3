package vcenter

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

const discoveryPath = "/sdk/vim25/8.0.1.0/ServiceInstance/ServiceInstance/content"

// sdkRequests counts the requests under /sdk the simulator received.
func sdkRequests(sim *vcentersim.Server) int {
	n := 0
	for _, r := range sim.Requests() {
		if strings.HasPrefix(r.Path, "/sdk/") {
			n++
		}
	}
	return n
}

// TestDiscoveryOfAVCenterWithoutVIJSON: a vCenter 8.0 GA does not always
// answer the VI/JSON discovery with a 404. Whatever stands in front of
// vpxd may send a 400, 405, 500 or 501 with a SOAP fault or an HTML page,
// or a 200 page that is not JSON. Each must read as "snapshots need vCenter
// 8.0 U1 or later" (ErrNoVIJSON) with what was seen, and be remembered: the
// next call asks nothing. These used to be a confusing fault error (or
// "malformed JSON"), asked again on every call.
func TestDiscoveryOfAVCenterWithoutVIJSON(t *testing.T) {
	soap, html := liveSample(t, "sdk-8.0-ga-soap-fault.xml"), liveSample(t, "sdk-8.0-ga-html.html")
	for _, tt := range []struct {
		name   string
		status int
		body   []byte
		seen   string
	}{
		{"404 page", 404, html, "answered HTTP 404 with an HTML page"},
		{"405 SOAP fault", 405, soap, "answered HTTP 405 with a SOAP fault"},
		{"500 SOAP fault", 500, soap, "answered HTTP 500 with a SOAP fault"},
		{"400 HTML page", 400, html, "answered HTTP 400 with an HTML page"},
		{"501 plain text", 501, []byte("Not Implemented"), "answered HTTP 501 with a body of type"},
		{"200 HTML page", 200, html, "answered HTTP 200 with an HTML page"},
		{"400 vAPI error", 400, []byte(`{"error_type":"INVALID_ARGUMENT","messages":[]}`), "answered HTTP 400"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{Release: "8.0.0.0"})
			c := newClient(t, sim, ModeAPI)
			answerOnce(sim, "GET", discoveryPath, tt.status, tt.body)
			_, err := c.ListSnapshots(context.Background(), "vm-76")
			if !errors.Is(err, ErrNoVIJSON) || !strings.Contains(err.Error(), "snapshots need vCenter 8.0 U1 or later") || !strings.Contains(err.Error(), tt.seen) {
				t.Fatalf("err = %v\nwant ErrNoVIJSON saying %q", err, tt.seen)
			}
			for range 3 {
				if _, err := c.ListSnapshots(context.Background(), "vm-76"); !errors.Is(err, ErrNoVIJSON) {
					t.Fatalf("second call: %v", err)
				}
			}
			if n := sdkRequests(sim); n != 1 {
				t.Errorf("%d VI/JSON requests, want 1: the answer is remembered", n)
			}
		})
	}
}

// TestTransientDiscoveryFailuresAreNotRemembered: a 503 (after its
// retries), a timeout, and a VI/JSON fault say nothing about whether
// VI/JSON exists: the call fails with that error, not ErrNoVIJSON, and the
// next call discovers again.
func TestTransientDiscoveryFailuresAreNotRemembered(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault vcentersim.Fault
		want  string
	}{
		{"a proxy's 503 page, every try", vcentersim.Fault{Method: "GET", Path: discoveryPath, Count: 3, Status: 503,
			Body: []byte("<html><body>503 Service Unavailable</body></html>")}, "HTTP 503"},
		{"no answer", vcentersim.Fault{Method: "GET", Path: discoveryPath, Kind: vcentersim.FaultHang}, "no answer from vCenter"},
		{"a VI/JSON fault", vcentersim.Fault{Method: "GET", Path: discoveryPath, Status: 500, ErrorType: "SystemError"}, "SystemError"},
		{"connection reset every try", vcentersim.Fault{Method: "GET", Path: discoveryPath, Count: 3, Kind: vcentersim.FaultReset}, "connection reset"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, ModeAPI, func(c *Config) { c.Retries, c.Timeout = 2, 300*time.Millisecond })
			sim.InjectFault(tt.fault)
			_, err := c.ListSnapshots(context.Background(), "vm-76")
			if err == nil || errors.Is(err, ErrNoVIJSON) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q and not ErrNoVIJSON", err, tt.want)
			}
			snaps, err := c.ListSnapshots(context.Background(), "vm-76")
			if err != nil || len(snaps) != 4 {
				t.Errorf("the call after: %d snapshots, %v; want the 4 of vm-76", len(snaps), err)
			}
		})
	}
}
