package vcenter

import (
	"context"
	"testing"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// TestListVMsPastTheCap lists 20,000 VMs, which vCenter refuses in one
// query (more than 4000 match): the client must split down to cluster, host
// and folder and return every VM exactly once.
func TestListVMsPastTheCap(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000-VM inventory: skipped with -short")
	}
	sim := newSim(t, vcentersim.Options{VMs: 20000})
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			c := newClient(t, sim, mode)
			ctx := context.Background()
			vms, stats, err := c.ListVMs(ctx, VMFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(vms) != 20000 {
				t.Fatalf("got %d VMs, want 20000", len(vms))
			}
			if !stats.Split || stats.Requests < 5 {
				t.Errorf("stats = %+v, want a split query", stats)
			}
			want := map[string]string{}
			for _, v := range sim.VMs() {
				want[v.ID] = v.Name
			}
			seen := map[string]bool{}
			for i, v := range vms {
				if seen[v.ID] {
					t.Fatalf("%s listed twice", v.ID)
				}
				seen[v.ID] = true
				if want[v.ID] != v.Name {
					t.Fatalf("%s is named %q, simulator says %q", v.ID, v.Name, want[v.ID])
				}
				if i > 0 && (vms[i-1].Name > v.Name || vms[i-1].Name == v.Name && vms[i-1].ID > v.ID) {
					t.Fatalf("not sorted at %d: %s %s after %s %s", i, v.Name, v.ID, vms[i-1].Name, vms[i-1].ID)
				}
			}

			// A filter that still matches more than 4000 VMs is split too.
			on, _, err := c.ListVMs(ctx, VMFilter{PowerStates: []PowerState{PoweredOn}})
			if err != nil {
				t.Fatal(err)
			}
			wantOn := 0
			for _, v := range sim.VMs() {
				if v.PowerState == vcentersim.PoweredOn {
					wantOn++
				}
			}
			if len(on) != wantOn {
				t.Errorf("powered-on VMs = %d, want %d", len(on), wantOn)
			}
		})
	}
}

func BenchmarkListVMs20k(b *testing.B) { benchListVMs(b, 20000) }

// BenchmarkListVMs50k: the client alone (no added latency) over 50,000
// VMs; B/op and allocs/op are the client's and the simulator's together.
func BenchmarkListVMs50k(b *testing.B) { benchListVMs(b, 50000) }

func benchListVMs(b *testing.B, n int) {
	sim := vcentersim.NewServer(vcentersim.Options{VMs: n})
	defer sim.Close()
	c := newBenchClient(b, sim)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		vms, stats, err := c.ListVMs(context.Background(), VMFilter{})
		if err != nil || len(vms) != n {
			b.Fatalf("%d VMs, %v", len(vms), err)
		}
		b.ReportMetric(float64(stats.Requests), "requests/op")
	}
}
