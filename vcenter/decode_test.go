package vcenter

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// TestNullAnswersAreBadAnswers answers each read with JSON null, or with
// nothing at all, where vCenter owes an object or a list: every one must
// fail with ErrBadAnswer saying so, never return a zero value (a null VM
// used to come back as a VM with every field empty, and get_vm_details
// showed it with tools_running true).
func TestNullAnswersAreBadAnswers(t *testing.T) {
	ctx := context.Background()
	type call func(c *Client) error
	vmCall := func(c *Client) error { _, err := c.GetVM(ctx, "vm-70"); return err }
	for _, tt := range []struct {
		name   string
		mode   Mode
		method string
		path   string
		call   call
	}{
		{"VM", ModeAPI, "GET", "/api/vcenter/vm/vm-70", vmCall},
		{"VM on /rest", ModeREST, "GET", "/rest/vcenter/vm/vm-70", vmCall},
		{"power", ModeAPI, "GET", "/api/vcenter/vm/vm-70/power", func(c *Client) error { _, err := c.GetPower(ctx, "vm-70"); return err }},
		{"guest power", ModeAPI, "GET", "/api/vcenter/vm/vm-70/guest/power", func(c *Client) error { _, err := c.GetGuestPower(ctx, "vm-70"); return err }},
		{"CPU", ModeAPI, "GET", "/api/vcenter/vm/vm-70/hardware/cpu", func(c *Client) error { _, err := c.GetCPU(ctx, "vm-70"); return err }},
		{"memory", ModeREST, "GET", "/rest/vcenter/vm/vm-70/hardware/memory", func(c *Client) error { _, err := c.GetMemory(ctx, "vm-70"); return err }},
		{"VM list", ModeAPI, "GET", "/api/vcenter/vm", func(c *Client) error { _, _, err := c.ListVMs(ctx, VMFilter{}); return err }},
		{"VM by id", ModeAPI, "GET", "/api/vcenter/vm", func(c *Client) error { _, err := c.FindVM(ctx, VMRef{ID: "vm-70"}); return err }},
		{"host list", ModeREST, "GET", "/rest/vcenter/host", func(c *Client) error { _, _, err := c.ListHosts(ctx, HostFilter{}); return err }},
		{"datastore list", ModeAPI, "GET", "/api/vcenter/datastore", func(c *Client) error { _, _, err := c.ListDatastores(ctx, DatastoreFilter{}); return err }},
		{"snapshot task reference", ModeAPI, "POST", "/sdk/vim25/8.0.3.0/VirtualMachine/vm-70/CreateSnapshotEx_Task",
			func(c *Client) error { _, err := c.CreateSnapshot(ctx, "vm-70", SnapshotSpec{Name: "s"}); return err }},
		{"task info", ModeAPI, "GET", "/sdk/vim25/8.0.3.0/Task/task-1/info", func(c *Client) error { _, err := c.GetTask(ctx, "task-1"); return err }},
		{"VI/JSON discovery", ModeAPI, "GET", "/sdk/vim25/8.0.1.0/ServiceInstance/ServiceInstance/content", func(c *Client) error { _, err := c.VIJSON(ctx); return err }},
	} {
		bodies := map[string][]byte{"null": []byte("null"), "empty": {}}
		if tt.mode == ModeREST {
			bodies = map[string][]byte{"null": []byte(`{"value":null}`), "no value": []byte(`{}`), "empty": {}}
		}
		for what, body := range bodies {
			t.Run(tt.name+"/"+what, func(t *testing.T) {
				sim := newSim(t, vcentersim.Options{})
				c := newClient(t, sim, tt.mode, func(c *Config) { c.Retries = -1 })
				answerOnce(sim, tt.method, tt.path, 200, body)
				err := tt.call(c)
				if !errors.Is(err, ErrBadAnswer) || !strings.Contains(err.Error(), "where a value was expected") {
					t.Fatalf("err = %v, want ErrBadAnswer for an answer of %s", err, what)
				}
				if sim.Counters().Faults != 1 {
					t.Errorf("the injected answer was not read")
				}
			})
		}
	}
}

// TestNullableValuesStayLegal keeps the nulls VI/JSON documents: a VM
// without snapshots (snapshot is null) and a VM in a vApp (parent null).
func TestNullableValuesStayLegal(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	snaps, err := c.ListSnapshots(ctx, "vm-71")
	if err != nil || len(snaps) != 0 {
		t.Errorf("ListSnapshots of a VM without snapshots = %v, %v", snaps, err)
	}
	answerOnce(sim, "GET", "/sdk/vim25/8.0.3.0/VirtualMachine/vm-70/parent", 200, []byte("null"))
	d, err := c.GetVM(ctx, "vm-70")
	if err != nil || d.Name != "web-01" || d.Placement.FolderID != "" || d.Placement.Note != "" || d.Placement.HostID == "" {
		t.Errorf("GetVM of a VM without a folder = %+v, %v", d, err)
	}
}

// TestTrailingBytesAreBadAnswers answers a VM read with its JSON followed
// by more: a second value, or bytes that are no JSON. Either is an answer
// no vCenter sends, cut or spliced on the way, and the read fails as
// malformed (it used to decode the first value and drop the rest unseen).
// Trailing white space is no fault.
func TestTrailingBytesAreBadAnswers(t *testing.T) {
	ctx := context.Background()
	vm := `{"name":"web-01","guest_OS":"RHEL_9_64","power_state":"POWERED_OFF","cpu":{"count":2,"cores_per_socket":1},"memory":{"size_MiB":4096},"disks":{},"nics":{}}`
	for _, tt := range []struct {
		name, body string
		bad        bool
	}{
		{"second value", vm + `{"name":"other"}`, true},
		{"garbage", vm + `garbage`, true},
		{"cut short", vm[:len(vm)-3], true},
		{"white space", vm + " \r\n\t", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, ModeAPI, func(c *Config) { c.Retries = -1 })
			answerOnce(sim, "GET", "/api/vcenter/vm/vm-70", 200, []byte(tt.body))
			d, err := c.GetVM(ctx, "vm-70")
			if sim.Counters().Faults != 1 {
				t.Fatal("the injected answer was not read")
			}
			if !tt.bad {
				if err != nil || d.Name != "web-01" {
					t.Fatalf("GetVM = %+v, %v; want web-01", d, err)
				}
				return
			}
			if !errors.Is(err, ErrBadAnswer) || !strings.Contains(err.Error(), "malformed") {
				t.Fatalf("err = %v, want ErrBadAnswer saying the answer is malformed", err)
			}
		})
	}
}
