package tools

import (
	"encoding/json"
	"testing"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// TestListVMsAt20000 pages through an estate of 20,000 VMs, which vCenter
// refuses to list in one query: the total is exact, every VM comes once,
// and every page stays under 100 kB.
func TestListVMsAt20000(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000-VM inventory: skipped with -short")
	}
	s := newSession(t, withSim(vcentersim.Options{VMs: 20000}))
	seen := make(map[string]bool, 20000)
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
		if p.Total != 20000 {
			t.Fatalf("total = %d, want 20000", p.Total)
		}
		for _, it := range p.Items {
			if seen[it.ID] {
				t.Fatalf("%s on two pages", it.ID)
			}
			seen[it.ID] = true
		}
		pages++
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if len(seen) != 20000 {
		t.Errorf("paged through %d VMs, want 20000", len(seen))
	}
	listings := s.sim.Counters().Routes["GET /api/vcenter/vm"]
	t.Logf("%d pages, %d VM list requests to vCenter in all", pages, listings)
	if listings > 40 {
		t.Errorf("%d VM list requests for one paged listing: pages should reuse the listing", listings)
	}
}
