package vcentersim

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDefaultInventoryMatchesTheDocs reads the VM table of the package
// documentation and checks every row against the built inventory, so the
// two cannot drift.
func TestDefaultInventoryMatchesTheDocs(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`^//\s+(vm-\d+)\s+(\S+)\s+(on|off|susp)\s+(run|stopped|none|—)\s+(\d+)(?: vCPU)?/(\d+)(?: cps)?\s+(\d+) GiB\s+([CRM ]*?)\s*(host-\d+) (\S+)`)
	s := NewUnstartedServer(Options{})
	folders := map[string]string{}
	for _, f := range s.inv.folders {
		folders[f.id] = f.name
	}
	rows := 0
	for _, line := range strings.Split(string(doc), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		rows++
		v, ok := s.VM(m[1])
		if !ok {
			t.Errorf("%s: no such VM", m[1])
			continue
		}
		power := map[PowerState]string{PoweredOn: "on", PoweredOff: "off", Suspended: "susp"}[v.PowerState]
		tools := "—"
		switch {
		case !v.ToolsInstalled:
			tools = "none"
		case v.ToolsRunning:
			tools = "run"
		case v.PowerState == PoweredOn:
			tools = "stopped"
		}
		var hot []string
		for _, x := range []struct {
			on   bool
			mark string
		}{{v.CPUHotAdd, "C"}, {v.CPUHotRemove, "R"}, {v.MemoryHotAdd, "M"}} {
			if x.on {
				hot = append(hot, x.mark)
			}
		}
		got := fmt.Sprintf("%s %s %s %d/%d %d %s %s %s", v.Name, power, tools, v.CPUCount, v.CoresPerSocket, v.MemoryMiB/1024, strings.Join(hot, " "), v.Host, folders[v.Folder])
		want := fmt.Sprintf("%s %s %s %s/%s %s %s %s %s", m[2], m[3], m[4], m[5], m[6], m[7], strings.TrimSpace(m[8]), m[9], m[10])
		if got != want {
			t.Errorf("%s:\n docs %s\n  sim %s", m[1], want, got)
		}
	}
	if rows != len(s.VMs()) {
		t.Errorf("the docs list %d VMs, the inventory has %d", rows, len(s.VMs()))
	}
}
