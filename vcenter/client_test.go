package vcenter

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// newSim starts a simulator closed at the end of the test.
func newSim(t *testing.T, opts vcentersim.Options) *vcentersim.Server {
	t.Helper()
	sim := vcentersim.NewServer(opts)
	t.Cleanup(sim.Close)
	return sim
}

// newClient returns a client for sim that trusts its certificate, retries
// without waiting and polls tasks without pause.
func newClient(t *testing.T, sim *vcentersim.Server, mode Mode, edit ...func(*Config)) *Client {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(sim.CACertPEM())
	cfg := Config{
		Host: sim.Host(), User: sim.User(), Password: sim.Password(), Mode: mode,
		RootCAs: roots, Backoff: 0, MaxBackoff: time.Millisecond, Timeout: 10 * time.Second,
		Log: zerolog.Nop(),
	}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

var modes = []Mode{ModeAPI, ModeREST}

func TestSessionIsReusedAndRenewedOnce(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, mode)
			ctx := context.Background()

			var wg sync.WaitGroup
			errs := make(chan error, 200)
			for range 200 {
				wg.Go(func() {
					_, err := c.GetPower(ctx, "vm-70")
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("GetPower: %v", err)
				}
			}
			surface := string(mode)
			if got := sim.Counters().Logins[surface]; got != 1 {
				t.Fatalf("logins after 200 concurrent calls = %d, want 1", got)
			}

			sim.ExpireSessions()
			if _, err := c.GetPower(ctx, "vm-70"); err != nil {
				t.Fatalf("call after expiry: %v", err)
			}
			if _, err := c.GetPower(ctx, "vm-71"); err != nil {
				t.Fatalf("second call after expiry: %v", err)
			}
			if got := sim.Counters().Logins[surface]; got != 2 {
				t.Errorf("logins after expiry = %d, want 2 (exactly one more)", got)
			}

			if err := c.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := sim.Counters().Logouts[surface]; got != 1 {
				t.Errorf("logouts = %d, want 1", got)
			}
			if got := sim.ActiveSessions(); got != 0 {
				t.Errorf("sessions left on vCenter = %d, want 0", got)
			}
			if err := c.Close(ctx); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if _, err := c.GetPower(ctx, "vm-70"); !errors.Is(err, errClosed) {
				t.Errorf("call after Close = %v, want errClosed", err)
			}
		})
	}
}

func TestExpiredSessionReplaysAPostOnce(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	if _, err := c.GetPower(ctx, "vm-73"); err != nil { // log in
		t.Fatal(err)
	}
	sim.ExpireSessions()
	sim.ResetCounters()
	if err := c.Power(ctx, "vm-73", PowerStart); err != nil {
		t.Fatalf("power on after expiry: %v", err)
	}
	if vm, _ := sim.VM("vm-73"); vm.PowerState != vcentersim.PoweredOn {
		t.Errorf("vm-73 is %s, want POWERED_ON", vm.PowerState)
	}
	got := sim.Counters()
	if n := got.Routes["POST /api/vcenter/vm/{vm}/power"]; n != 2 {
		t.Errorf("power POSTs = %d, want 2 (refused as unauthenticated, then replayed once)", n)
	}
	if got.Logins["api"] != 1 {
		t.Errorf("logins = %d, want 1", got.Logins["api"])
	}
}

func TestWrongPasswordFailsClearlyWithoutRetry(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, mode, func(c *Config) { c.Password = "not-the-password-7c1" })
			_, err := c.GetPower(context.Background(), "vm-70")
			if !errors.Is(err, ErrInvalidLogin) || !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("err = %v, want ErrInvalidLogin and ErrUnauthenticated", err)
			}
			if !strings.Contains(err.Error(), "VCENTER_PASSWORD") {
				t.Errorf("error %q does not say what to fix", err)
			}
			if strings.Contains(err.Error(), "not-the-password-7c1") {
				t.Errorf("error leaks the password: %q", err)
			}
			if n := sim.Counters().FailedLogins[string(mode)]; n != 1 {
				t.Errorf("failed logins = %d, want 1 (a 401 is not retried)", n)
			}
		})
	}
}

func TestConcurrentCallsShareOneLogin(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	sim.SetLatency(20*time.Millisecond, 0) // keep the first login in flight while the others arrive
	c := newClient(t, sim, ModeAPI)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := c.GetCPU(context.Background(), "vm-70"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := sim.Counters().Logins["api"]; n != 1 {
		t.Errorf("logins = %d, want 1", n)
	}
}

func TestStateChangingRequestsAreNeverResent(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault vcentersim.Fault
		call  func(*Client) error
		route string
		want  func(error) bool
	}{
		{
			name:  "503 on power POST",
			fault: vcentersim.Fault{Method: "POST", Path: "/api/vcenter/vm/*/power", Status: 503, ErrorType: "SERVICE_UNAVAILABLE"},
			call:  func(c *Client) error { return c.Power(context.Background(), "vm-73", PowerStart) },
			route: "POST /api/vcenter/vm/{vm}/power",
			want:  func(err error) bool { return errors.Is(err, ErrServiceUnavailable) },
		},
		{
			name:  "connection reset on PATCH",
			fault: vcentersim.Fault{Method: "PATCH", Path: "/api/vcenter/vm/*/hardware/cpu", Kind: vcentersim.FaultReset},
			call:  func(c *Client) error { return c.SetCPUCount(context.Background(), "vm-73", 4) },
			route: "PATCH /api/vcenter/vm/{vm}/hardware/cpu",
			want: func(err error) bool {
				var te *TransportError
				return errors.As(err, &te) && te.MaybeApplied && strings.Contains(err.Error(), "may have been applied")
			},
		},
		{
			name:  "502 on DELETE",
			fault: vcentersim.Fault{Method: "DELETE", Path: "/api/vcenter/vm/*", Status: 502, Body: []byte("<html>bad gateway</html>")},
			call:  func(c *Client) error { return c.DeleteVM(context.Background(), "vm-73") },
			route: "DELETE /api/vcenter/vm/{vm}",
			want: func(err error) bool {
				var ae *APIError
				return errors.As(err, &ae) && ae.Status == 502
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, ModeAPI)
			if _, err := c.GetPower(context.Background(), "vm-73"); err != nil {
				t.Fatal(err)
			}
			sim.ResetCounters()
			sim.InjectFault(tt.fault)
			err := tt.call(c)
			if err == nil || !tt.want(err) {
				t.Fatalf("err = %v, not the expected failure", err)
			}
			if n := sim.Counters().Routes[tt.route]; n != 1 {
				t.Errorf("%s reached vCenter %d times, want exactly 1", tt.route, n)
			}
		})
	}
}

func TestSafeRequestsAreRetried(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault vcentersim.Fault
	}{
		{"503 burst", vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm", Count: 3, Status: 503, ErrorType: "SERVICE_UNAVAILABLE"}},
		{"429 with Retry-After", vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm", Count: 2, Status: 429, RetryAfter: "0"}},
		{"resets", vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm", Count: 3, Kind: vcentersim.FaultReset}},
		{"504", vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm", Count: 1, Status: 504, Body: []byte("gateway timeout")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, ModeAPI)
			sim.InjectFault(tt.fault)
			vms, _, err := c.ListVMs(context.Background(), VMFilter{})
			if err != nil {
				t.Fatalf("ListVMs: %v", err)
			}
			if len(vms) != 36 {
				t.Errorf("got %d VMs, want 36", len(vms))
			}
			wantTries := max(tt.fault.Count, 1) + 1
			if n := sim.Counters().Routes["GET /api/vcenter/vm"]; n != wantTries {
				t.Errorf("list requests = %d, want %d", n, wantTries)
			}
		})
	}
}

func TestRetriesGiveUpWithVCentersError(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI, func(c *Config) { c.Retries = 2 })
	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm", Count: -1, Status: 503, ErrorType: "SERVICE_UNAVAILABLE", Message: "vpxd is restarting"})
	_, _, err := c.ListVMs(context.Background(), VMFilter{})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Type != "SERVICE_UNAVAILABLE" || ae.Message() != "vpxd is restarting" {
		t.Fatalf("err = %v, want vCenter's SERVICE_UNAVAILABLE with its message", err)
	}
	if n := sim.Counters().Routes["GET /api/vcenter/vm"]; n != 3 {
		t.Errorf("tries = %d, want 3 (1 + 2 retries)", n)
	}
}

func TestBackoffHonoursRetryAfter(t *testing.T) {
	resp := func(h string) *http.Response {
		return &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {h}}}
	}
	if got := backoff(time.Millisecond, time.Minute, 0, resp("7")); got != 7*time.Second {
		t.Errorf("Retry-After: 7 → %s, want 7s", got)
	}
	if got := backoff(time.Millisecond, 5*time.Second, 0, resp("120")); got != 5*time.Second {
		t.Errorf("Retry-After: 120 with max 5s → %s, want 5s", got)
	}
	date := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	if got := backoff(time.Millisecond, time.Minute, 0, resp(date)); got < time.Second || got > 3*time.Second {
		t.Errorf("Retry-After: date in 3s → %s", got)
	}
	for attempt := range 5 {
		lo, hi := time.Second<<attempt/2, time.Second<<attempt
		if got := backoff(time.Second, time.Hour, attempt, nil); got < lo || got > hi {
			t.Errorf("attempt %d: %s, want within [%s, %s]", attempt, got, lo, hi)
		}
	}
	if got := backoff(time.Second, 3*time.Second, 10, nil); got > 3*time.Second {
		t.Errorf("capped backoff = %s, want ≤ 3s", got)
	}
}

func TestBadIDsNeverReachVCenter(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	if _, err := c.GetPower(ctx, "vm-70"); err != nil { // log in first: only the bad calls are watched
		t.Fatal(err)
	}
	sim.ResetCounters()
	long := strings.Repeat("a", 10<<10)
	for _, id := range []string{"../x", "vm-1/power?action=stop", "vm-1%2F..", "vm-1/../../api/session", long, "", "VM-42", "vm-42 ", "vm-", "host-10", "vm-1\x00", "vm-１"} {
		calls := map[string]func() error{
			"Power":          func() error { return c.Power(ctx, id, PowerStop) },
			"GuestPower":     func() error { return c.GuestPower(ctx, id, GuestShutdown) },
			"DeleteVM":       func() error { return c.DeleteVM(ctx, id) },
			"SetCPUCount":    func() error { return c.SetCPUCount(ctx, id, 2) },
			"SetMemoryMiB":   func() error { return c.SetMemoryMiB(ctx, id, 1024) },
			"GetVM":          func() error { _, err := c.GetVM(ctx, id); return err },
			"ListSnapshots":  func() error { _, err := c.ListSnapshots(ctx, id); return err },
			"CreateSnapshot": func() error { _, err := c.CreateSnapshot(ctx, id, SnapshotSpec{Name: "x"}); return err },
			"RemoveSnapshot": func() error { _, err := c.RemoveSnapshot(ctx, id, false); return err },
			"FindVM":         func() error { _, err := c.FindVM(ctx, VMRef{ID: id}); return err },
			"ListVMs":        func() error { _, _, err := c.ListVMs(ctx, VMFilter{IDs: []string{id}}); return err },
		}
		for name, call := range calls {
			err := call()
			if !errors.Is(err, ErrInvalidID) && (id != "" || err == nil) {
				t.Errorf("%s(%.20q) = %v, want ErrInvalidID", name, id, err)
			}
			if err != nil && len(err.Error()) > 200 {
				t.Errorf("%s(%.20q): error of %d bytes echoes the input", name, id, len(err.Error()))
			}
		}
	}
	if reqs := sim.Requests(); len(reqs) != 0 {
		t.Errorf("%d requests reached vCenter, first %s %s; want none", len(reqs), reqs[0].Method, reqs[0].RequestURI)
	}
}

func TestDialects(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, mode)
			ctx := context.Background()

			vms, _, err := c.ListVMs(ctx, VMFilter{Names: []string{"web-01", "web-04"}, PowerStates: []PowerState{PoweredOff}})
			if err != nil || len(vms) != 1 || vms[0].ID != "vm-73" || vms[0].MemoryMiB != 4096 {
				t.Fatalf("ListVMs(names, power_states) = %+v, %v; want vm-73 with 4096 MiB", vms, err)
			}
			d, err := c.GetVM(ctx, "vm-76")
			if err != nil {
				t.Fatal(err)
			}
			if d.Name != "db-01" || d.CPU.Count != 8 || d.CPU.CoresPerSocket != 2 || len(d.Disks) == 0 || len(d.NICs) == 0 {
				t.Errorf("GetVM(vm-76) = %+v", d)
			}
			if d.Placement.HostID != "host-15" || d.Placement.ClusterName != "Prod-Cluster" || d.Placement.FolderName != "Databases" {
				t.Errorf("placement = %+v, want host-15 in Prod-Cluster, folder Databases", d.Placement)
			}
			if d.Guest == nil || d.NICs[0].NetworkName == "" || d.Disks[0].Datastore == "" {
				t.Errorf("guest/NIC network/disk datastore missing: %+v", d)
			}

			if err := c.Power(ctx, "vm-73", PowerStart); err != nil {
				t.Fatalf("power on: %v", err)
			}
			if vm, _ := sim.VM("vm-73"); vm.PowerState != vcentersim.PoweredOn {
				t.Errorf("vm-73 %s after power on", vm.PowerState)
			}
			if err := c.Power(ctx, "vm-73", PowerStart); !errors.Is(err, ErrAlreadyInDesiredState) {
				t.Errorf("second power on = %v, want ErrAlreadyInDesiredState", err)
			}
			if err := c.GuestPower(ctx, "vm-79", GuestShutdown); !errors.Is(err, ErrServiceUnavailable) {
				t.Errorf("guest shutdown without Tools = %v, want ErrServiceUnavailable", err)
			}
			if err := c.GuestPower(ctx, "vm-71", GuestShutdown); err != nil {
				t.Fatalf("guest shutdown: %v", err)
			}
			if vm, _ := sim.VM("vm-71"); vm.PowerState != vcentersim.PoweredOff {
				t.Errorf("vm-71 %s after guest shutdown", vm.PowerState)
			}
			if err := c.SetCPUCount(ctx, "vm-71", 4); err != nil {
				t.Fatalf("set CPU: %v", err)
			}
			if err := c.SetMemoryMiB(ctx, "vm-71", 8192); err != nil {
				t.Fatalf("set memory: %v", err)
			}
			if vm, _ := sim.VM("vm-71"); vm.CPUCount != 4 || vm.MemoryMiB != 8192 {
				t.Errorf("vm-71 has %d CPUs / %d MiB, want 4 / 8192", vm.CPUCount, vm.MemoryMiB)
			}
			if err := c.SetCPUCount(ctx, "vm-76", 9); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("9 vCPUs with 2 cores per socket = %v, want ErrInvalidArgument", err)
			}
			if err := c.DeleteVM(ctx, "vm-70"); !errors.Is(err, ErrNotAllowedInCurrentState) {
				t.Errorf("delete powered-on VM = %v, want ErrNotAllowedInCurrentState", err)
			}
			if err := c.DeleteVM(ctx, "vm-82"); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if _, ok := sim.VM("vm-82"); ok {
				t.Error("vm-82 still exists after delete")
			}
			if _, err := c.GetVM(ctx, "vm-82"); !errors.Is(err, ErrNotFound) {
				t.Errorf("GetVM(deleted) = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestInventoryLists(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, mode)
			ctx := context.Background()
			hosts, _, err := c.ListHosts(ctx, HostFilter{Clusters: []string{"domain-c11"}})
			if err != nil || len(hosts) != 3 {
				t.Errorf("hosts of Prod-Cluster = %v, %v; want 3", hosts, err)
			}
			yes := true
			standalone, _, err := c.ListHosts(ctx, HostFilter{Standalone: &yes})
			if err != nil || len(standalone) != 2 {
				t.Errorf("standalone hosts = %v, %v; want 2", standalone, err)
			}
			ds, _, err := c.ListDatastores(ctx, DatastoreFilter{Types: []string{"NFS", "NFS41"}})
			if err != nil || len(ds) != 3 || ds[0].Capacity == nil {
				t.Errorf("NFS datastores = %+v, %v", ds, err)
			}
			nets, _, err := c.ListNetworks(ctx, NetworkFilter{Types: []string{"DISTRIBUTED_PORTGROUP"}})
			if err != nil || len(nets) == 0 || !strings.HasPrefix(nets[0].ID, "dvportgroup-") {
				t.Errorf("distributed portgroups = %+v, %v", nets, err)
			}
			dcs, _, err := c.ListDatacenters(ctx, DatacenterFilter{})
			if err != nil || len(dcs) != 3 {
				t.Errorf("datacenters = %+v, %v", dcs, err)
			}
			cls, _, err := c.ListClusters(ctx, ClusterFilter{Names: []string{"Prod-Cluster"}})
			if err != nil || len(cls) != 1 || !cls[0].DRSEnabled || !cls[0].HAEnabled {
				t.Errorf("Prod-Cluster = %+v, %v", cls, err)
			}
			rps, _, err := c.ListResourcePools(ctx, ResourcePoolFilter{Clusters: []string{"domain-c11"}})
			if err != nil || len(rps) != 3 {
				t.Errorf("pools of Prod-Cluster = %+v, %v", rps, err)
			}
			fos, _, err := c.ListFolders(ctx, FolderFilter{Type: "VIRTUAL_MACHINE", Datacenters: []string{"datacenter-2"}})
			if err != nil || len(fos) < 4 {
				t.Errorf("VM folders of DC-London = %+v, %v", fos, err)
			}
		})
	}
}

func TestFindVM(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	vm, err := c.FindVM(ctx, VMRef{Name: "db-01"})
	if err != nil || vm.ID != "vm-76" {
		t.Fatalf("FindVM(db-01) = %+v, %v", vm, err)
	}
	_, err = c.FindVM(ctx, VMRef{Name: "app-01"})
	var amb *AmbiguousError
	if !errors.As(err, &amb) || len(amb.Candidates) != 2 {
		t.Fatalf("FindVM(app-01) = %v, want an AmbiguousError with 2 candidates", err)
	}
	got := map[string]Candidate{}
	for _, cand := range amb.Candidates {
		got[cand.ID] = cand
	}
	if got["vm-74"].Datacenter != "DC-London" || got["vm-91"].Datacenter != "DC-Frankfurt" ||
		got["vm-74"].Folder != "Production" || got["vm-91"].Folder != "Production" {
		t.Errorf("candidates = %+v, want vm-74 in DC-London/Production and vm-91 in DC-Frankfurt/Production", amb.Candidates)
	}
	if _, err := c.FindVM(ctx, VMRef{Name: "no-such-vm"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindVM(missing) = %v, want ErrNotFound", err)
	}
	if _, err := c.FindVM(ctx, VMRef{ID: "vm-9999"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindVM(vm-9999) = %v, want ErrNotFound", err)
	}
}

func TestErrorsAreClassifiedByType(t *testing.T) {
	// RESOURCE_BUSY is HTTP 500 on /api and 400 on /rest; the client must
	// see the same error either way.
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, mode)
			path := map[Mode]string{ModeAPI: "/api/vcenter/vm/*/power", ModeREST: "/rest/vcenter/vm/*/power/start"}[mode]
			sim.InjectFault(vcentersim.Fault{Method: "POST", Path: path, ErrorType: "RESOURCE_BUSY", Message: "another task is running"})
			err := c.Power(context.Background(), "vm-73", PowerStart)
			var ae *APIError
			if !errors.Is(err, ErrResourceBusy) || !errors.As(err, &ae) || ae.Message() != "another task is running" {
				t.Fatalf("err = %v, want RESOURCE_BUSY with vCenter's message", err)
			}
			wantStatus := map[Mode]int{ModeAPI: 500, ModeREST: 400}[mode]
			if ae.Status != wantStatus {
				t.Errorf("status %d, want %d (the contract's status for RESOURCE_BUSY on %s)", ae.Status, wantStatus, mode)
			}
		})
	}
}

func TestVIJSONSessions(t *testing.T) {
	for _, tt := range []struct {
		release      string
		vijsonLogins int
		wantErr      error
	}{
		{"8.0.3.0", 0, nil},
		{"8.0.2.0", 1, nil},
		{"8.0.1.0", 1, nil},
		{"8.0.0.0", 0, ErrNoVIJSON},
	} {
		t.Run(tt.release, func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{Release: tt.release})
			c := newClient(t, sim, ModeAPI)
			ctx := context.Background()
			snaps, err := c.ListSnapshots(ctx, "vm-76")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), "8.0 U1") {
					t.Fatalf("ListSnapshots = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(snaps) != 4 {
				t.Fatalf("ListSnapshots(vm-76) = %d snapshots, %v; want 4", len(snaps), err)
			}
			for range 5 {
				if _, err := c.ListSnapshots(ctx, "vm-70"); err != nil {
					t.Fatal(err)
				}
			}
			sim.ExpireSessions()
			if _, err := c.ListSnapshots(ctx, "vm-70"); err != nil {
				t.Fatalf("after expiry: %v", err)
			}
			cnt := sim.Counters()
			if cnt.Logins["vijson"] != 2*tt.vijsonLogins {
				t.Errorf("VI/JSON logins = %d, want %d", cnt.Logins["vijson"], 2*tt.vijsonLogins)
			}
			if tt.vijsonLogins == 0 && cnt.Logins["api"] != 2 {
				t.Errorf("/api logins = %d, want 2 (the shared session, renewed once)", cnt.Logins["api"])
			}
			if err := c.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if got := sim.ActiveSessions(); got != 0 {
				t.Errorf("sessions left = %d after Close", got)
			}
		})
	}
}

func TestSnapshotTasks(t *testing.T) {
	sim := newSim(t, vcentersim.Options{TaskPolls: 3})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()

	task, err := c.CreateSnapshot(ctx, "vm-71", SnapshotSpec{Name: "pre-patch", Description: "before patching", Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	var progress []int
	done, err := c.WaitTask(ctx, task, func(p int) { progress = append(progress, p) })
	if err != nil || done.State != TaskSuccess || done.ResultID == "" {
		t.Fatalf("WaitTask = %+v, %v", done, err)
	}
	if len(progress) == 0 {
		t.Error("no progress reported while the task ran")
	}
	snaps := sim.Snapshots("vm-71")
	if len(snaps) != 1 || snaps[0].ID != done.ResultID || snaps[0].Name != "pre-patch" || snaps[0].State != "poweredOn" || !snaps[0].Current {
		t.Fatalf("simulator snapshots = %+v", snaps)
	}

	// The session expires while the task runs: polling logs in again and
	// still finds the task.
	task, err = c.RemoveSnapshot(ctx, done.ResultID, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.TaskInfo(ctx, task); err != nil {
		t.Fatal(err)
	}
	sim.ExpireSessions()
	if _, err := c.WaitTask(ctx, task, nil); err != nil {
		t.Fatalf("WaitTask across session expiry: %v", err)
	}
	if snaps := sim.Snapshots("vm-71"); len(snaps) != 0 {
		t.Errorf("snapshots after remove = %+v, want none", snaps)
	}

	sim.FailNextTask("FileFault", "cannot create the delta disk")
	task, err = c.CreateSnapshot(ctx, "vm-71", SnapshotSpec{Name: "doomed"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.WaitTask(ctx, task, nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Type != "FileFault" || ae.Message() != "cannot create the delta disk" {
		t.Errorf("failed task = %v, want the FileFault with its message", err)
	}
}

func TestWaitTaskStopsOnCancelAndTaskCanBeCancelled(t *testing.T) {
	sim := newSim(t, vcentersim.Options{ManualTasks: true})
	c := newClient(t, sim, ModeAPI, func(c *Config) { c.TaskPollInterval = time.Millisecond })
	task, err := c.CreateSnapshot(context.Background(), "vm-71", SnapshotSpec{Name: "never"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	polls := 0
	last, err := c.WaitTask(ctx, task, func(int) {
		if polls++; polls == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || !last.Cancelable {
		t.Fatalf("WaitTask = %+v, %v; want a cancelable task and context.Canceled", last, err)
	}
	if err := c.CancelTask(context.Background(), task); err != nil {
		t.Fatalf("CancelTask: %v", err)
	}
	if st, _ := sim.Task(task); st.State != vcentersim.TaskError || !st.Cancelled {
		t.Errorf("simulator task = %+v, want cancelled", st)
	}
	if snaps := sim.Snapshots("vm-71"); len(snaps) != 0 {
		t.Errorf("a cancelled snapshot task left %+v", snaps)
	}
}

func TestTLS(t *testing.T) {
	t.Run("untrusted certificate", func(t *testing.T) {
		sim := newSim(t, vcentersim.Options{})
		c := newClient(t, sim, ModeAPI, func(c *Config) { c.RootCAs = x509.NewCertPool() })
		_, err := c.GetPower(context.Background(), "vm-70")
		if err == nil || !strings.Contains(err.Error(), "VCENTER_CA_BUNDLE") || !strings.Contains(err.Error(), "vcentersim") {
			t.Fatalf("err = %v, want a hint naming VCENTER_CA_BUNDLE and the issuer", err)
		}
		if n := sim.Counters().Requests; n != 0 {
			t.Errorf("%d requests reached the server through an untrusted TLS session", n)
		}
	})
	t.Run("wrong host name", func(t *testing.T) {
		sim := newSim(t, vcentersim.Options{CertHosts: []string{"vcenter.example.test"}})
		c := newClient(t, sim, ModeAPI)
		_, err := c.GetPower(context.Background(), "vm-70")
		if err == nil || !strings.Contains(err.Error(), "vcenter.example.test") || !strings.Contains(err.Error(), "VCENTER_HOST") {
			t.Fatalf("err = %v, want a hint naming the certificate's name and VCENTER_HOST", err)
		}
	})
	t.Run("insecure", func(t *testing.T) {
		sim := newSim(t, vcentersim.Options{CertHosts: []string{"vcenter.example.test"}})
		c := newClient(t, sim, ModeAPI, func(c *Config) { c.RootCAs, c.Insecure = x509.NewCertPool(), true })
		if _, err := c.GetPower(context.Background(), "vm-70"); err != nil {
			t.Fatalf("INSECURE=true: %v", err)
		}
	})
}

func TestResponseLimitsAndMalformedAnswers(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI, func(c *Config) { c.MaxBodyBytes = 1 << 20; c.Retries = -1 })
	ctx := context.Background()
	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm/*/power", Kind: vcentersim.FaultOversized, Size: 8 << 20})
	if _, err := c.GetPower(ctx, "vm-70"); !errors.Is(err, errBodyTooLarge) {
		t.Errorf("oversized answer: %v, want errBodyTooLarge", err)
	}
	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm/*/power", Kind: vcentersim.FaultMalformedJSON})
	_, err := c.GetPower(ctx, "vm-70")
	var te *TransportError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "malformed JSON") {
		t.Errorf("malformed answer: %v", err)
	}
}

func TestCancelledCallCancelsItsRequest(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	if _, err := c.GetPower(context.Background(), "vm-70"); err != nil {
		t.Fatal(err)
	}
	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm/*/power", Kind: vcentersim.FaultHang})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.GetPower(ctx, "vm-71"); errc <- err }()
	for sim.Counters().Faults == 0 { // wait until the request hangs in the server
		runtime.Gosched()
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestTimeoutGivesAClearError(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI, func(c *Config) { c.Timeout = 200 * time.Millisecond; c.Retries = -1 })
	if _, err := c.GetPower(context.Background(), "vm-70"); err != nil {
		t.Fatal(err)
	}
	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm/*/power", Kind: vcentersim.FaultHang})
	_, err := c.GetPower(context.Background(), "vm-70")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "VCENTER_TIMEOUT_S") {
		t.Errorf("err = %v, want a timeout naming VCENTER_TIMEOUT_S", err)
	}
}

func TestUnreachableVCenter(t *testing.T) {
	// Port 1 (tcpmux) is privileged and unused: nothing listens there. The
	// port of a closed simulator may be taken again by a parallel test.
	c, err := New(Config{Host: "127.0.0.1:1", User: "u", Password: "p", Retries: -1, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Power(context.Background(), "vm-70", PowerStop)
	var te *TransportError
	if !errors.As(err, &te) || te.MaybeApplied || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v, want a refused connection that was not applied", err)
	}
}

func TestPasswordEchoIsScrubbed(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm/*/power", Status: 500, ErrorType: "ERROR",
		Message: fmt.Sprintf("internal error while handling user=%s password=%s", sim.User(), sim.Password())})
	_, err := c.GetPower(context.Background(), "vm-70")
	if err == nil || strings.Contains(err.Error(), sim.Password()) || !strings.Contains(err.Error(), "password=***") {
		t.Errorf("err = %v, want the password replaced by ***", err)
	}
}

func TestNormalizeHost(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{in: "VC.Example.COM.", want: "vc.example.com:443"},
		{in: "vc.example.com:8443", want: "vc.example.com:8443"},
		{in: "https://vc.example.com/", want: "vc.example.com:443"},
		{in: "10.0.0.5", want: "10.0.0.5:443"},
		{in: "[::1]:443", want: "[::1]:443"},
		{in: "fe80::1", want: "[fe80::1]:443"},
		{in: "", err: "empty"},
		{in: "http://vc", err: "invalid"},
		{in: "vc.example.com/api", err: "invalid"},
		{in: "vc:0", err: "port"},
		{in: "vc:http", err: "port"},
		{in: "user@vc", err: "invalid"},
	} {
		got, err := NormalizeHost(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("NormalizeHost(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestPoolAllowsOnlyListedHosts(t *testing.T) {
	p, err := NewPool(Config{Host: "vc1.example.com", Log: zerolog.Nop()}, []string{"VC1.example.com.", "vc2.example.com:443"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"", "vc1.example.com", "VC2.EXAMPLE.COM", "vc2.example.com."} {
		if _, err := p.Get(h); err != nil {
			t.Errorf("Get(%q): %v", h, err)
		}
	}
	for _, h := range []string{"vc3.example.com", "vc1.example.com:8443", "evil.example.com"} {
		if _, err := p.Get(h); !errors.Is(err, ErrHostNotAllowed) {
			t.Errorf("Get(%q) = %v, want ErrHostNotAllowed", h, err)
		}
	}
	if _, err := NewPool(Config{Host: "vc9.example.com"}, []string{"vc1.example.com"}); err == nil {
		t.Error("VCENTER_HOST outside ALLOWED_VCENTER_HOSTS was accepted")
	}
}

func newBenchClient(b *testing.B, sim *vcentersim.Server) *Client {
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(sim.CACertPEM())
	c, err := New(Config{Host: sim.Host(), User: sim.User(), Password: sim.Password(), RootCAs: roots, Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// TestGuestIdentityIsReadOnce: vCenter answers 503 for the guest identity of
// a VM without VMware Tools; that optional read must not be retried (with
// backoff) before the details come back.
func TestGuestIdentityIsReadOnce(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI, func(c *Config) { c.Backoff, c.MaxBackoff = time.Millisecond, time.Millisecond })
	d, err := c.GetVM(context.Background(), "vm-79") // powered on, Tools not running
	if err != nil {
		t.Fatal(err)
	}
	if d.Guest != nil {
		t.Errorf("guest identity of a VM without Tools: %+v", d.Guest)
	}
	if n := sim.Counters().Routes["GET /api/vcenter/vm/{vm}/guest/identity"]; n != 1 {
		t.Errorf("guest identity read %d times, want 1", n)
	}
}

func TestNoVIJSONIsRemembered(t *testing.T) {
	sim := newSim(t, vcentersim.Options{Release: "8.0.0.0"})
	c := newClient(t, sim, ModeAPI)
	for range 3 {
		if _, err := c.GetVM(context.Background(), "vm-76"); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, r := range sim.Requests() {
		if strings.HasPrefix(r.Path, "/sdk/") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d VI/JSON requests to a vCenter without it, want 1 (the discovery)", n)
	}
}
