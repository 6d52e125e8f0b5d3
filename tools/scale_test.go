package tools

import (
	"encoding/json"
	"testing"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// TestListVMsAt20000 pages through an estate of 20,000 VMs, which vCenter
// refuses to list in one query: the total is exact, every VM comes once,
// and every page stays under 100 kB.
func TestListVMsAt20000(t *testing.T) { pageThroughVMs(t, 20000) }

// TestListVMsAt50000: the same at 50,000 VMs, twelve times vCenter's cap;
// the pages, taken together, are in the one total order (name, then id).
func TestListVMsAt50000(t *testing.T) { pageThroughVMs(t, 50000) }

func pageThroughVMs(t *testing.T, n int) {
	if testing.Short() {
		t.Skipf("%d-VM inventory: skipped with -short", n)
	}
	s := newSession(t, withSim(vcentersim.Options{VMs: n}))
	seen := make(map[string]bool, n)
	var last vmItem
	cursor, pages := "", 0
	for {
		args := map[string]any{"limit": 1000}
		if cursor != "" {
			args["cursor"] = cursor
		}
		res := s.call("list_vms", args)
		if res.IsError {
			t.Fatalf("page %d: %s", pages, textOf(res))
		}
		if n := len(textOf(res)); n > maxResultBytes {
			t.Fatalf("page %d is %d bytes of text", pages, n)
		}
		var p page[vmItem]
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if p.Total != n {
			t.Fatalf("total = %d, want %d", p.Total, n)
		}
		for _, it := range p.Items {
			if seen[it.ID] {
				t.Fatalf("%s on two pages", it.ID)
			}
			seen[it.ID] = true
			if len(seen) > 1 && (it.Name < last.Name || it.Name == last.Name && it.ID <= last.ID) {
				t.Fatalf("page %d: %s %s after %s %s", pages, it.Name, it.ID, last.Name, last.ID)
			}
			last = it
		}
		pages++
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if len(seen) != n {
		t.Errorf("paged through %d VMs, want %d", len(seen), n)
	}
	listings := s.sim.Counters().Routes["GET /api/vcenter/vm"]
	t.Logf("%d pages, %d VM list requests to vCenter in all", pages, listings)
	if listings > n/500 { // one listing is about n/1000 + 20; one per page would be 20 to 50 times that
		t.Errorf("%d VM list requests for one paged listing: pages should reuse the listing", listings)
	}
}
