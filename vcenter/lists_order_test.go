package vcenter

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// stableByName is the order lists had before: sort.SliceStable by name,
// then id.
func stableByName[T any](items []T, key func(T) (string, string)) {
	sort.SliceStable(items, func(i, j int) bool {
		ni, ii := key(items[i])
		nj, ij := key(items[j])
		if ni != nj {
			return ni < nj
		}
		return ii < ij
	})
}

// TestSortByNameIsTheStableOrder: sortByName gives exactly what the
// stable sort gave, ties on name broken by id and ties on both kept in
// their order, for many shapes of input.
func TestSortByNameIsTheStableOrder(t *testing.T) {
	type item struct {
		name, id string
		at       int // position before sorting, to see stability
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 7, 100, 1000, 5000} {
		for _, names := range []int{1, 3, 50, 100000} {
			items := make([]item, n)
			for i := range items {
				items[i] = item{fmt.Sprintf("n%d", r.IntN(names)), fmt.Sprintf("vm-%d", r.IntN(max(1, n/2))), i}
			}
			want := slices.Clone(items)
			stableByName(want, func(it item) (string, string) { return it.name, it.id })
			sortByName(items, func(it *item) (string, string) { return it.name, it.id })
			if !slices.Equal(items, want) {
				t.Fatalf("n=%d names=%d: order differs from the stable sort", n, names)
			}
		}
	}
}

// TestListVMsOrderIsUnchanged: the 20,000-VM listing comes in exactly the
// order of the former stable sort over the simulator's VMs (the duplicate
// name app-01 included, its two VMs ordered by id), every VM once; the
// second listing, which knows what hit the cap and sends no refused query,
// is identical.
func TestListVMsOrderIsUnchanged(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000-VM inventory: skipped with -short")
	}
	sim := newSim(t, vcentersim.Options{VMs: 20000})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	want := sim.VMs()
	stableByName(want, func(v vcentersim.VM) (string, string) { return v.Name, v.ID })

	var first []VMSummary
	for round := range 2 {
		sim.ResetCounters()
		vms, stats, err := c.ListVMs(ctx, VMFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(vms) != len(want) {
			t.Fatalf("round %d: %d VMs, want %d", round, len(vms), len(want))
		}
		for i, v := range vms {
			if v.ID != want[i].ID || v.Name != want[i].Name {
				t.Fatalf("round %d, position %d: %s %s, want %s %s", round, i, v.ID, v.Name, want[i].ID, want[i].Name)
			}
			if i > 0 && vms[i-1].Name == v.Name && vms[i-1].ID >= v.ID {
				t.Fatalf("round %d: tie on %q not broken by id", round, v.Name)
			}
		}
		t.Logf("round %d: %d VM-list requests", round, stats.Requests)
		switch round {
		case 0:
			first = vms
		case 1:
			if !slices.Equal(vms, first) {
				t.Fatal("the second listing differs from the first")
			}
			for _, r := range sim.Requests() {
				if r.Route == "GET /api/vcenter/vm" && r.RawQuery == "" {
					t.Error("the second listing sent the unfiltered query that vCenter refused the first time")
				}
			}
		}
	}
}

// TestListVMsOverlapsDiscoveryWithTheProbe: while the unfiltered query is
// still unanswered, the cluster and standalone-host look-ups of the split
// plan are already sent.
func TestListVMsOverlapsDiscoveryWithTheProbe(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, _, err := c.ListDatacenters(ctx, DatacenterFilter{}); err != nil { // log in
		t.Fatal(err)
	}
	sim.ResetCounters()
	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm", Kind: vcentersim.FaultHang})
	done := make(chan error, 1)
	go func() {
		_, _, err := c.ListVMs(ctx, VMFilter{})
		done <- err
	}()
	sent := func(route, query string) bool {
		for _, r := range sim.Requests() {
			if r.Route == route && r.RawQuery == query {
				return true
			}
		}
		return false
	}
	waitFor(t, "the cluster and standalone-host look-ups while the VM query hangs", func() bool {
		return sent("GET /api/vcenter/cluster", "") && sent("GET /api/vcenter/host", "standalone=true")
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want the cancellation", err)
	}

	// A filtered query is not speculated on: one request.
	sim.ResetCounters()
	if _, _, err := c.ListVMs(context.Background(), VMFilter{Names: []string{"web-01"}}); err != nil {
		t.Fatal(err)
	}
	if n := sim.Counters().Requests; n != 1 {
		t.Errorf("a VM list by name sent %d requests, want 1", n)
	}
}

// TestConcurrentNameLookupsShareOneRequest: look-ups that miss the name
// cache together send one network list, not one each.
func TestConcurrentNameLookupsShareOneRequest(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	nets, _, err := c.ListNetworks(ctx, NetworkFilter{})
	if err != nil || len(nets) < 2 {
		t.Fatalf("%d networks, %v", len(nets), err)
	}
	const n = 8
	// Every look-up waits, once it has missed, until all have: without a
	// shared fill each would then send its own request.
	var barrier sync.WaitGroup
	barrier.Add(n)
	c.names.missed = func() { barrier.Done(); barrier.Wait() }
	sim.ResetCounters()
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i] = c.name(ctx, KindNetwork, nets[i%2].ID) })
	}
	wg.Wait()
	for i, name := range got {
		if name != nets[i%2].Name {
			t.Errorf("look-up %d = %q, want %q", i, name, nets[i%2].Name)
		}
	}
	if k := sim.Counters().Routes["GET /api/vcenter/network"]; k != 1 {
		t.Errorf("%d concurrent look-ups sent %d network lists, want 1", n, k)
	}
	// Once filled, the cache answers without a request.
	c.names.missed = nil
	if c.name(ctx, KindNetwork, nets[0].ID) != nets[0].Name || sim.Counters().Routes["GET /api/vcenter/network"] != 1 {
		t.Error("a look-up after the fill went to vCenter")
	}
}

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
