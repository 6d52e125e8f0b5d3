package vcentersim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// waitFor spins until cond holds, failing the test after a few seconds. It
// waits for the server to reach a state, not for time to pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

func TestStatusFaultBodies(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	for _, tt := range []struct {
		name   string
		fault  Fault
		path   string
		status int
		body   string
	}{
		{"api default", Fault{}, "/api/vcenter/vm", 503,
			`{"error_type":"SERVICE_UNAVAILABLE","messages":[{"id":"com.vmware.vcentersim.injected_fault","default_message":"Simulated SERVICE_UNAVAILABLE injected by vcentersim.","args":[]}]}`},
		{"api busy", Fault{ErrorType: "RESOURCE_BUSY", Message: "busy"}, "/api/vcenter/vm", 500,
			`{"error_type":"RESOURCE_BUSY","messages":[{"id":"com.vmware.vcentersim.injected_fault","default_message":"busy","args":[]}]}`},
		{"rest busy", Fault{ErrorType: "RESOURCE_BUSY", Message: "busy"}, "/rest/vcenter/vm", 400,
			`{"type":"com.vmware.vapi.std.errors.resource_busy","value":{"error_type":"RESOURCE_BUSY","messages":[{"id":"com.vmware.vcentersim.injected_fault","default_message":"busy","args":[]}]}}`},
		{"api status picks the type", Fault{Status: 504}, "/api/vcenter/vm", 504,
			`{"error_type":"TIMED_OUT","messages":[{"id":"com.vmware.vcentersim.injected_fault","default_message":"Simulated TIMED_OUT injected by vcentersim.","args":[]}]}`},
		{"vijson", Fault{ErrorType: "HostCommunication", Message: "host not responding"}, vim + "/VirtualMachine/vm-70/name", 500,
			`{"_typeName":"HostCommunication","faultstring":"host not responding"}`},
		{"raw body", Fault{Status: 502, Body: []byte(`{"oops":1}`)}, "/api/vcenter/vm", 502, `{"oops":1}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s.InjectFault(tt.fault)
			r := get(t, s, tt.path, token)
			if r.status != tt.status || string(r.body) != tt.body {
				t.Errorf("status %d body %s\nwant %d %s", r.status, r.body, tt.status, tt.body)
			}
			if r := get(t, s, tt.path, token); r.status != http.StatusOK {
				t.Errorf("the fault hit twice: status %d", r.status)
			}
		})
	}
}

func TestFaultMatchingAndCounts(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	s.InjectFault(Fault{Method: http.MethodPost, Path: "/api/vcenter/vm/*/power", Count: 2, Status: 503, RetryAfter: "7"})
	s.ResetCounters()

	if r := get(t, s, "/api/vcenter/vm/vm-70/power", token); r.status != http.StatusOK {
		t.Errorf("GET is not hit by a POST fault: %d", r.status)
	}
	if r := do(t, s, req{method: http.MethodPost, path: "/api/vcenter/vm/vm-70/guest/power?action=reboot", token: token}); r.status != http.StatusNoContent {
		t.Errorf("another path is not hit: %d", r.status)
	}
	for i := range 2 {
		r := do(t, s, req{method: http.MethodPost, path: "/api/vcenter/vm/vm-73/power?action=start", token: token})
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "7" {
			t.Errorf("hit %d: status %d Retry-After %q", i+1, r.status, r.header.Get("Retry-After"))
		}
	}
	if v, _ := s.VM("vm-73"); v.PowerState != PoweredOff {
		t.Errorf("a faulted request ran its operation: %s", v.PowerState)
	}
	if r := do(t, s, req{method: http.MethodPost, path: "/api/vcenter/vm/vm-73/power?action=start", token: token}); r.status != http.StatusNoContent {
		t.Errorf("after the count: %d", r.status)
	}

	c := s.Counters()
	if c.Routes["POST /api/vcenter/vm/{vm}/power"] != 3 || c.Faults != 2 || c.Requests != 5 {
		t.Errorf("counters %+v: want 3 power POSTs, 2 faulted, 5 requests", c)
	}
	var faulted []string
	for _, r := range s.Requests() {
		if r.Faulted {
			faulted = append(faulted, r.RequestURI)
		}
	}
	if !cmp.Equal(faulted, []string{"/api/vcenter/vm/vm-73/power?action=start", "/api/vcenter/vm/vm-73/power?action=start"}) {
		t.Errorf("faulted requests %v", faulted)
	}

	s.InjectFault(Fault{Path: "/api/vcenter/datacenter", Count: -1})
	for range 3 {
		if r := get(t, s, "/api/vcenter/datacenter", token); r.status != http.StatusServiceUnavailable {
			t.Errorf("unlimited fault: status %d", r.status)
		}
	}
	s.ClearFaults()
	if r := get(t, s, "/api/vcenter/datacenter", token); r.status != http.StatusOK {
		t.Errorf("after ClearFaults: status %d", r.status)
	}
}

func TestResetFault(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	s.InjectFault(Fault{Method: http.MethodPost, Path: "/api/vcenter/vm/vm-73/power", Kind: FaultReset})
	s.ResetCounters()

	hr, _ := http.NewRequest(http.MethodPost, s.URL+"/api/vcenter/vm/vm-73/power?action=start", nil)
	hr.Header.Set(sessionHeader, token)
	resp, err := s.Client().Do(hr)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("reset fault: got status %d, want a connection error", resp.StatusCode)
	}
	// The POST reached the server exactly once and was not replayed.
	if c := s.Counters(); c.Routes["POST /api/vcenter/vm/{vm}/power"] != 1 || c.Requests != 1 {
		t.Errorf("counters %+v, want the POST once", c)
	}
	if v, _ := s.VM("vm-73"); v.PowerState != PoweredOff {
		t.Errorf("the reset request ran: %s", v.PowerState)
	}
}

func TestMalformedAndOversizedFaults(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)

	for _, path := range []string{"/api/vcenter/vm", "/rest/vcenter/vm", vim + "/Task/task-1/info"} {
		s.InjectFault(Fault{Kind: FaultMalformedJSON})
		r := get(t, s, path, token)
		var v any
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" || json.Unmarshal(r.body, &v) == nil {
			t.Errorf("%s: status %d body %q, want 200 with broken JSON", path, r.status, r.body)
		}
	}

	for _, tt := range []struct {
		path string
		size int64
	}{{"/api/vcenter/vm", 1 << 20}, {"/rest/vcenter/vm", 3 << 20}} {
		s.InjectFault(Fault{Kind: FaultOversized, Size: tt.size})
		r := get(t, s, tt.path, token)
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil || r.status != http.StatusOK {
			t.Errorf("%s: status %d, JSON error %v", tt.path, r.status, err)
		}
		if n := int64(len(r.body)); n > tt.size || n < tt.size-4096 {
			t.Errorf("%s: %d bytes, want about %d", tt.path, n, tt.size)
		}
	}

	// The default is 64 MiB, streamed without a length.
	s.InjectFault(Fault{Kind: FaultOversized})
	hr, _ := http.NewRequest(http.MethodGet, s.URL+"/api/vcenter/vm", nil)
	hr.Header.Set(sessionHeader, token)
	resp, err := s.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.ContentLength != -1 || n < 63<<20 || n > 64<<20 {
		t.Errorf("default oversized body: %d bytes (length %d), %v", n, resp.ContentLength, err)
	}
}

func TestHangFault(t *testing.T) {
	s := NewServer(Options{})
	token := loginAPI(t, s)
	s.InjectFault(Fault{Path: "/api/vcenter/vm", Kind: FaultHang, Count: 2})

	t.Run("the client gives up", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			hr, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/vcenter/vm", nil)
			hr.Header.Set(sessionHeader, token)
			resp, err := s.Client().Do(hr)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		waitFor(t, "the request to hang", func() bool { return s.Counters().Faults == 1 })
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	})

	t.Run("Close ends the hang", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			hr, _ := http.NewRequest(http.MethodGet, s.URL+"/api/vcenter/vm", nil)
			hr.Header.Set(sessionHeader, token)
			resp, err := s.Client().Do(hr)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		waitFor(t, "the request to hang", func() bool { return s.Counters().Faults == 2 })
		s.Close()
		if err := <-done; err == nil {
			t.Errorf("a hung request got an answer when the server closed")
		}
	})
}

func TestPathMatches(t *testing.T) {
	for _, tt := range []struct {
		pattern, path string
		want          bool
	}{
		{"", "/anything", true},
		{"/api/vcenter/vm/*/power", "/api/vcenter/vm/vm-1/power", true},
		{"/api/vcenter/vm/*/power", "/api/vcenter/vm/vm-1/power/start", false},
		{"/api/vcenter/vm/*", "/api/vcenter/vm", false},
		{"/sdk/vim25/*/Task/*/info", "/sdk/vim25/8.0.3.0/Task/task-1/info", true},
		{"/api/vcenter/vm", "/api/vcenter/vm", true},
	} {
		if got := pathMatches(tt.pattern, tt.path); got != tt.want {
			t.Errorf("pathMatches(%q, %q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestFaultKindString(t *testing.T) {
	var names []string
	for _, k := range []FaultKind{FaultStatus, FaultReset, FaultMalformedJSON, FaultOversized, FaultHang, FaultKind(9)} {
		names = append(names, k.String())
	}
	if want := []string{"status", "reset", "malformed-json", "oversized", "hang", "FaultKind(9)"}; !cmp.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
}

func TestRequestBodyLimit(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	big := bytes.Repeat([]byte("x"), maxRequestBody+1)
	r := do(t, s, req{method: http.MethodPatch, path: "/api/vcenter/vm/vm-73/hardware/cpu", token: token, body: big})
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized request body: status %d, want 413", r.status)
	}
}
