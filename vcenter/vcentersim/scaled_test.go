package vcentersim

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestScaledInventoryBuildsFast(t *testing.T) {
	limit := time.Second
	if raceEnabled {
		limit = 10 * time.Second
	}
	start := time.Now()
	s := NewUnstartedServer(Options{VMs: 20000})
	if d := time.Since(start); d > limit {
		t.Errorf("building 20,000 VMs took %v, want under %v", d, limit)
	}
	if n := len(s.inv.vms); n != 20000 {
		t.Errorf("%d VMs, want exactly 20000", n)
	}
	for _, n := range []int{1, 2, 7, 4001} {
		if got := len(NewUnstartedServer(Options{VMs: n}).inv.vms); got != n {
			t.Errorf("Options.VMs = %d built %d VMs", n, got)
		}
	}
}

func TestScaledNames(t *testing.T) {
	s := NewUnstartedServer(Options{VMs: 20000})
	seen := map[string][]string{} // name → datacenters
	for _, v := range s.inv.vmOrder {
		seen[v.Name] = append(seen[v.Name], s.inv.datacenterOf(v))
	}
	for name, dcs := range seen {
		if len(dcs) > 1 && (name != "app-01" || len(dcs) != 2 || dcs[0] == dcs[1]) {
			t.Errorf("name %q is in %v", name, dcs)
		}
	}
	if len(seen["app-01"]) != 2 {
		t.Errorf("app-01 is in %v, want one VM in each of two datacenters", seen["app-01"])
	}
}

// scaledLister lists VMs over /api the way a client that works around the
// cap would: cluster, then host, then VM folder.
type scaledLister struct {
	t      *testing.T
	s      *Server
	token  string
	capped map[string]int // what hit the cap: "all", "cluster", "host"
}

func (l *scaledLister) list(resource string, q url.Values) ([]map[string]any, bool) {
	l.t.Helper()
	r := get(l.t, l.s, "/api/vcenter/"+resource+"?"+q.Encode(), l.token)
	switch {
	case r.status == http.StatusOK:
		return decode[[]map[string]any](l.t, r.body), true
	case r.status == http.StatusInternalServerError && errorTypeOf(l.t, "/api", r.body) == "UNABLE_TO_ALLOCATE_RESOURCE":
		return nil, false
	}
	l.t.Fatalf("%s?%s: status %d %s", resource, q.Encode(), r.status, truncate(r.body))
	return nil, false
}

func itemIDs(items []map[string]any, field string) []string {
	var out []string
	for _, it := range items {
		out = append(out, it[field].(string))
	}
	return out
}

// TestScaledPartition pins the scaled layout: the unfiltered list fails with
// the cap, and splitting by cluster, then host, then folder (plus the
// standalone hosts) reaches every VM exactly once.
func TestScaledPartition(t *testing.T) {
	s := newSim(t, Options{VMs: 20000})
	l := &scaledLister{t: t, s: s, token: loginAPI(t, s), capped: map[string]int{}}

	if _, ok := l.list("vm", nil); ok {
		t.Fatal("the unfiltered list of 20,000 VMs did not hit the cap")
	}
	got := map[string]int{}
	add := func(items []map[string]any) {
		for _, id := range itemIDs(items, "vm") {
			got[id]++
		}
	}
	byHost := func(host string) {
		vms, ok := l.list("vm", url.Values{"hosts": {host}})
		if ok {
			add(vms)
			return
		}
		l.capped["host"]++
		folders, _ := l.list("folder", url.Values{"type": {"VIRTUAL_MACHINE"}})
		for _, f := range itemIDs(folders, "folder") {
			vms, ok := l.list("vm", url.Values{"hosts": {host}, "folders": {f}})
			if !ok {
				t.Fatalf("host %s, folder %s still over the cap", host, f)
			}
			add(vms)
		}
	}
	clusters, _ := l.list("cluster", nil)
	for _, c := range itemIDs(clusters, "cluster") {
		vms, ok := l.list("vm", url.Values{"clusters": {c}})
		if ok {
			add(vms)
			continue
		}
		l.capped["cluster"]++
		hosts, _ := l.list("host", url.Values{"clusters": {c}})
		for _, h := range itemIDs(hosts, "host") {
			byHost(h)
		}
	}
	standalone, _ := l.list("host", url.Values{"standalone": {"true"}})
	if len(standalone) == 0 {
		t.Error("no standalone host in the scaled inventory")
	}
	for _, h := range itemIDs(standalone, "host") {
		byHost(h)
	}

	if len(got) != 20000 {
		t.Errorf("the partition reached %d VMs, want 20000", len(got))
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("%s listed %d times", id, n)
		}
	}
	if l.capped["cluster"] == 0 || l.capped["host"] == 0 {
		t.Errorf("capped %v: want at least one cluster and one host over the cap", l.capped)
	}
}

func BenchmarkListVMs4000(b *testing.B) {
	s := newSim(b, Options{VMs: maxVMs})
	token := loginAPI(b, s)
	b.ResetTimer()
	for b.Loop() {
		if r := get(b, s, "/api/vcenter/vm", token); r.status != http.StatusOK {
			b.Fatalf("status %d", r.status)
		}
	}
}

func BenchmarkListVMsOverCap20000(b *testing.B) {
	s := newSim(b, Options{VMs: 20000})
	token := loginAPI(b, s)
	b.ResetTimer()
	for b.Loop() {
		if r := get(b, s, "/api/vcenter/vm", token); r.status != http.StatusInternalServerError {
			b.Fatalf("status %d", r.status)
		}
	}
}

func BenchmarkListVMsByHost20000(b *testing.B) {
	s := newSim(b, Options{VMs: 20000})
	token := loginAPI(b, s)
	b.ResetTimer()
	for b.Loop() {
		if r := get(b, s, "/api/vcenter/vm?hosts=host-19&power_states=POWERED_ON", token); r.status != http.StatusOK {
			b.Fatalf("status %d", r.status)
		}
	}
}

func BenchmarkBuildScaledInventory20000(b *testing.B) {
	for b.Loop() {
		buildScaledInventory(20000)
	}
}
