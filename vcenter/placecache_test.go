package vcenter

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// vmReads counts the requests of sim's last counters that read a VM or its
// placement (the tagging service left out, counted apart).
func vmReads(c vcentersim.Counters) (vm, tagging int) {
	for route, n := range c.Routes {
		if strings.Contains(route, "/cis/tagging/") {
			tagging += n
		} else {
			vm += n
		}
	}
	return vm, tagging
}

// TestGetVMRequestCount: with warm caches, a powered-on VM costs its read
// and its guest identity, a VM that is not powered on its read alone (its
// tags come with its cached placement), and a VM that does not exist
// exactly one request, the tags included.
func TestGetVMRequestCount(t *testing.T) {
	for _, mode := range []Mode{ModeAPI, ModeREST} {
		t.Run(string(mode), func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, mode)
			ctx := context.Background()
			for _, vm := range []string{"vm-76", "vm-73", "vm-78"} { // log in, warm the caches
				if _, err := c.GetVMWithTags(ctx, vm); err != nil {
					t.Fatal(err)
				}
			}
			for _, tc := range []struct {
				vm               string
				wantVM, wantTags int
				guest            bool
			}{
				{"vm-76", 2, 0, true},  // powered on, Tools running
				{"vm-79", 2, 0, false}, // powered on, no Tools: identity asked (vCenter says 503), placement and tags cached after the first call
				{"vm-73", 1, 0, false}, // powered off
				{"vm-78", 1, 0, false}, // suspended
			} {
				if tc.vm == "vm-79" {
					if _, err := c.GetVMWithTags(ctx, tc.vm); err != nil { // placement not cached yet
						t.Fatal(err)
					}
				}
				sim.ResetCounters()
				d, err := c.GetVMWithTags(ctx, tc.vm)
				if err != nil {
					t.Fatal(err)
				}
				if (d.Guest != nil) != tc.guest || d.Placement.HostID == "" || d.Placement.FolderID == "" {
					t.Errorf("%s: guest %+v, placement %+v", tc.vm, d.Guest, d.Placement)
				}
				vm, tags := vmReads(sim.Counters())
				if vm != tc.wantVM || tags != tc.wantTags {
					t.Errorf("%s: %d VM requests and %d tagging requests, want %d and %d: %v", tc.vm, vm, tags, tc.wantVM, tc.wantTags, sim.Counters().Routes)
				}
			}
			sim.ResetCounters()
			if _, err := c.GetVMWithTags(ctx, "vm-99999"); err == nil {
				t.Fatal("GetVM of a missing VM succeeded")
			}
			if n := sim.Counters().Requests; n != 1 {
				t.Errorf("a missing VM cost %d requests, want 1: %v", n, sim.Counters().Routes)
			}
		})
	}
}

// TestPlacementFollowsMoves: a move made behind the client's back shows
// once placementTTL has passed on the client's clock (not before: the
// cache is what saves the requests), and a move the client makes itself
// shows at once, even when the placement was read while its task ran.
func TestPlacementFollowsMoves(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	clock := newFakeClock()
	c := newClient(t, sim, ModeAPI, func(cfg *Config) { cfg.Now = clock.Now })
	ctx := context.Background()
	host := func() string {
		t.Helper()
		d, err := c.GetVM(ctx, "vm-76")
		if err != nil {
			t.Fatal(err)
		}
		return d.Placement.HostID + " " + d.Placement.HostName
	}
	first := host()
	if !strings.HasPrefix(first, "host-15 ") {
		t.Fatalf("vm-76 on %q, want host-15", first)
	}

	// Elsewhere: vMotion by DRS or another client.
	if err := sim.UpdateVM("vm-76", func(v *vcentersim.VM) { v.Host = "host-16" }); err != nil {
		t.Fatal(err)
	}
	sim.ResetCounters()
	if got := host(); got != first {
		t.Errorf("within the TTL: %q, want the cached %q", got, first)
	}
	if n := sim.Counters().Routes["GET /sdk/vim25/{release}/VirtualMachine/{moId}/runtime"]; n != 0 {
		t.Errorf("a cached placement was read again (%d runtime reads)", n)
	}
	clock.Advance(placementTTL - time.Second)
	if got := host(); got != first {
		t.Errorf("just before the TTL: %q, want the cached %q", got, first)
	}
	clock.Advance(time.Second)
	if got := host(); !strings.HasPrefix(got, "host-16 ") {
		t.Errorf("after the TTL: %q, want host-16", got)
	}

	// Ours: the relocation runs as a task; a read while it runs sees the
	// old host, the first read after it ended the new one.
	task, err := c.Relocate(ctx, "vm-76", PlacementSpec{Host: "host-17"})
	if err != nil {
		t.Fatal(err)
	}
	if got := host(); !strings.HasPrefix(got, "host-16 ") {
		t.Errorf("while the relocation runs: %q, want host-16", got)
	}
	if _, err := c.WaitTask(ctx, task, nil); err != nil {
		t.Fatal(err)
	}
	if got := host(); !strings.HasPrefix(got, "host-17 ") {
		t.Errorf("after our relocation: %q, want host-17", got)
	}

	// Ours, with the task's end never read: the POST alone forgets what
	// was read before it.
	if got := host(); !strings.HasPrefix(got, "host-17 ") {
		t.Fatal(got)
	}
	if err := sim.UpdateVM("vm-76", func(v *vcentersim.VM) { v.Host = "host-15" }); err != nil {
		t.Fatal(err)
	}
	if err := c.Power(ctx, "vm-73", PowerStart); err != nil {
		t.Fatal(err)
	}
	if got := host(); !strings.HasPrefix(got, "host-15 ") {
		t.Errorf("after a change of ours: %q, want host-15", got)
	}
}

// waitJoined waits until n goroutines wait in a singleflight.Group.Do for
// another's call (a deterministic rendezvous, read from the goroutine
// dump), or until split says calls went their own way.
func waitJoined(t *testing.T, n int, split func() bool) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for {
		stacks := string(buf[:runtime.Stack(buf, true)])
		joined := 0
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "singleflight.(*Group).Do(") && !strings.Contains(g, "singleflight.(*Group).doCall") {
				joined++
			}
		}
		if joined >= n || split() {
			return
		}
		runtime.Gosched()
	}
}

// TestConcurrentFillsShareOneRequest: calls that miss the caches together
// send each read once: the placement of a VM, a kind's name list, a host's
// cluster.
func TestConcurrentFillsShareOneRequest(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	if _, err := c.GetPower(ctx, "vm-70"); err != nil { // log in
		t.Fatal(err)
	}
	if _, err := c.vimInfo(ctx); err != nil { // discover VI/JSON
		t.Fatal(err)
	}
	// Hold every placement and name read until all callers have joined.
	gate := make(chan struct{})
	var held atomic.Int32
	sim.ResetCounters()
	tr := c.http.HTTPClient.Transport
	c.http.HTTPClient.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if !strings.Contains(r.URL.Path, "/vcenter/vm/") {
			held.Add(1)
			<-gate
		}
		return tr.RoundTrip(r)
	})
	const n = 6
	var wg sync.WaitGroup
	results := make([]VMDetails, n)
	for i := range n {
		wg.Go(func() {
			d, err := c.GetVM(ctx, "vm-70")
			if err != nil {
				t.Error(err)
			}
			results[i] = d
		})
	}
	waitJoined(t, n-1, func() bool { return held.Load() > 2 }) // n-1 wait for the placement reads of the first
	close(gate)
	wg.Wait()
	for i, d := range results {
		if d.Placement.HostName == "" || d.Placement.ClusterName == "" || d.Placement.FolderName == "" || d.NICs[0].NetworkName == "" {
			t.Errorf("call %d: placement %+v, NICs %+v", i, d.Placement, d.NICs)
		}
	}
	routes := sim.Counters().Routes
	for _, route := range []string{
		"GET /sdk/vim25/{release}/VirtualMachine/{moId}/runtime", "GET /sdk/vim25/{release}/VirtualMachine/{moId}/parent",
		"GET /sdk/vim25/{release}/HostSystem/{moId}/parent",
		"GET /api/vcenter/host", "GET /api/vcenter/cluster", "GET /api/vcenter/folder", "GET /api/vcenter/network",
	} {
		if routes[route] != 1 {
			t.Errorf("%s sent %d times, want 1: %v", route, routes[route], routes)
		}
	}
}

// TestNameFillsShareOneRequest: look-ups of one kind that miss together
// share one list.
func TestNameFillsShareOneRequest(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	if _, err := c.GetPower(ctx, "vm-70"); err != nil { // log in
		t.Fatal(err)
	}
	gate := make(chan struct{})
	var held atomic.Int32
	sim.ResetCounters()
	tr := c.http.HTTPClient.Transport
	c.http.HTTPClient.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		held.Add(1)
		<-gate
		return tr.RoundTrip(r)
	})
	const n = 4
	var wg sync.WaitGroup
	names := make([]string, n)
	for i := range n {
		wg.Go(func() { names[i] = c.name(ctx, KindNetwork, "network-31") })
	}
	waitJoined(t, n-1, func() bool { return held.Load() > 1 })
	close(gate)
	wg.Wait()
	if n := sim.Counters().Routes["GET /api/vcenter/network"]; n != 1 {
		t.Errorf("%d network lists, want 1", n)
	}
	for _, name := range names {
		if name != names[0] {
			t.Errorf("names %v differ", names)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestKnownVMIsOneRoundTrip: for a VM read within placementTTL, the guest
// identity goes out with the VM read, not after it (the VM read is held
// until it has reached the transport), and the tags come from the cache.
func TestKnownVMIsOneRoundTrip(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	if _, err := c.GetVMWithTags(ctx, "vm-76"); err != nil { // log in, warm the caches
		t.Fatal(err)
	}
	others := make(chan string, 8)
	tr := c.http.HTTPClient.Transport
	c.http.HTTPClient.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/vcenter/vm/vm-76") {
			for range 1 {
				select {
				case <-others:
				case <-time.After(10 * time.Second): // a failure, not a rendezvous: the reads went out after
					return nil, errors.New("the optional reads did not go out with the VM read")
				}
			}
		} else {
			others <- r.URL.Path
		}
		return tr.RoundTrip(r)
	})
	d, err := c.GetVMWithTags(ctx, "vm-76")
	if err != nil {
		t.Fatal(err)
	}
	if d.Guest == nil || len(d.Tags) == 0 {
		t.Errorf("guest %+v, tags %v", d.Guest, d.Tags)
	}
}

// TestKnownVMPowerChangedElsewhere: the power state remembered only decides
// what is sent early; the answer follows the VM read of this call.
func TestKnownVMPowerChangedElsewhere(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	for _, vm := range []string{"vm-76", "vm-73"} {
		if _, err := c.GetVM(ctx, vm); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.UpdateVM("vm-76", func(v *vcentersim.VM) { v.PowerState, v.ToolsRunning = vcentersim.PoweredOff, false }); err != nil {
		t.Fatal(err)
	}
	if err := sim.UpdateVM("vm-73", func(v *vcentersim.VM) { v.PowerState, v.ToolsRunning = vcentersim.PoweredOn, true }); err != nil {
		t.Fatal(err)
	}
	if d, err := c.GetVM(ctx, "vm-76"); err != nil || d.Guest != nil || d.PowerState != PoweredOff {
		t.Errorf("vm-76 powered off elsewhere: %s, guest %+v, %v", d.PowerState, d.Guest, err)
	}
	if d, err := c.GetVM(ctx, "vm-73"); err != nil || d.Guest == nil || d.PowerState != PoweredOn {
		t.Errorf("vm-73 powered on elsewhere: %s, guest %+v, %v", d.PowerState, d.Guest, err)
	}
}

// TestDeletedVMCostsOneRequest: a VM this client deleted is not known any
// more: reading it costs one request, as for any VM that does not exist.
func TestDeletedVMCostsOneRequest(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	if _, err := c.GetVMWithTags(ctx, "vm-73"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteVM(ctx, "vm-73"); err != nil {
		t.Fatal(err)
	}
	sim.ResetCounters()
	if _, err := c.GetVMWithTags(ctx, "vm-73"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetVM of a deleted VM: %v", err)
	}
	if n := sim.Counters().Requests; n != 1 {
		t.Errorf("a deleted VM cost %d requests, want 1: %v", n, sim.Counters().Routes)
	}
}

// TestTagsFollowChanges: a VM's tags come with its cached placement, so a
// tag attached elsewhere shows within placementTTL, and one this client
// attaches or detaches shows at once.
func TestTagsFollowChanges(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	clock := newFakeClock()
	c := newClient(t, sim, ModeAPI, func(cfg *Config) { cfg.Now = clock.Now })
	other := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	vmRef := EntityRef{Kind: KindVM, ID: "vm-76"}
	tagged := func() map[string]bool {
		t.Helper()
		d, err := c.GetVMWithTags(ctx, "vm-76")
		if err != nil || d.TagsErr != nil {
			t.Fatal(err, d.TagsErr)
		}
		out := map[string]bool{}
		for _, tg := range d.Tags {
			out[tg.ID] = true
		}
		return out
	}
	before := tagged()
	// Elsewhere: the first tag another client may attach to vm-76 (the
	// simulator holds vCenter's cardinality and associable-type rules).
	var tag string
	for _, tg := range sim.Tags() {
		if !before[tg.ID] && other.AttachTag(ctx, tg.ID, vmRef) == nil {
			tag = tg.ID
			break
		}
	}
	if tag == "" {
		t.Fatal("no tag could be attached to vm-76")
	}
	if tagged()[tag] {
		t.Error("a tag attached elsewhere showed within the TTL: the tags were not cached")
	}
	clock.Advance(placementTTL)
	if !tagged()[tag] {
		t.Error("a tag attached elsewhere did not show after the TTL")
	}

	// Ours: at once, both ways.
	if err := c.DetachTag(ctx, tag, vmRef); err != nil {
		t.Fatal(err)
	}
	if tagged()[tag] {
		t.Error("a tag this client detached still shows")
	}
	if err := c.AttachTag(ctx, tag, vmRef); err != nil {
		t.Fatal(err)
	}
	if !tagged()[tag] {
		t.Error("a tag this client attached does not show")
	}
}
