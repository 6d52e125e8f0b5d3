package vcenter

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// liveSample reads a file of testdata/live (see its README.md).
func liveSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "live", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// answerOnce makes the simulator answer the next request for path with
// status and body, verbatim.
func answerOnce(sim *vcentersim.Server, method, path string, status int, body []byte) {
	sim.InjectFault(vcentersim.Fault{Method: method, Path: path, Status: status, Body: body})
}

// TestTaskErrorShapes reads TaskInfo.error in the two shapes vCenter sends
// (vcenter-api-changes.md §0.2): the bare fault of a live 8.0.3 and the
// documented LocalizedMethodFault; also a fault that only carries
// faultMessage, and a wrapper without its fault.
func TestTaskErrorShapes(t *testing.T) {
	for _, tt := range []struct {
		name     string
		body     []byte
		wantType string
		wantMsg  string
		is       error
	}{
		{"bare fault (8.0.3)", liveSample(t, "taskinfo-error-bare-8.0.3.json"), "InvalidArgument", "A specified parameter was not correct: spec", ErrInvalidArgument},
		{"LocalizedMethodFault", liveSample(t, "taskinfo-error-localized.json"), "InvalidPowerState",
			"The attempted operation cannot be performed in the current state (Powered off).", ErrNotAllowedInCurrentState},
		{"faultMessage only", []byte(`{"state":"error","error":{"_typeName":"FileFault","faultMessage":[{"_typeName":"LocalizableMessage","key":"msg.disk","message":"Cannot open the disk."}]}}`),
			"FileFault", "Cannot open the disk.", nil},
		{"wrapper without its fault", []byte(`{"state":"error","error":{"_typeName":"LocalizedMethodFault","localizedMessage":"It failed."}}`),
			"TaskFailed", "It failed.", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{ManualTasks: true})
			c := newClient(t, sim, ModeAPI)
			ctx := context.Background()
			task, err := c.CreateSnapshot(ctx, "vm-70", SnapshotSpec{Name: "s"})
			if err != nil {
				t.Fatal(err)
			}
			answerOnce(sim, "GET", "/sdk/vim25/8.0.3.0/Task/"+task+"/info", 200, tt.body)
			got, err := c.WaitTask(ctx, task, nil)
			var ae *APIError
			if !errors.As(err, &ae) || ae.Type != tt.wantType || ae.Message() != tt.wantMsg {
				t.Fatalf("WaitTask = %+v, %v; want %s: %s", got, err, tt.wantType, tt.wantMsg)
			}
			if got.State != TaskError || got.Err == nil {
				t.Errorf("task = %+v, want state error with its fault", got)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}

// TestTaskFaultsFromTheSimulator runs a failing task on each release: 8.0.3
// sends the bare fault, earlier releases the LocalizedMethodFault.
func TestTaskFaultsFromTheSimulator(t *testing.T) {
	for _, rel := range []string{"8.0.1.0", "8.0.2.0", "8.0.3.0"} {
		t.Run(rel, func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{Release: rel})
			c := newClient(t, sim, ModeAPI)
			sim.FailNextTask("FileFault", "cannot create the delta disk")
			task, err := c.CreateSnapshot(context.Background(), "vm-71", SnapshotSpec{Name: "doomed"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.WaitTask(context.Background(), task, nil)
			var ae *APIError
			if !errors.As(err, &ae) || ae.Type != "FileFault" || ae.Message() != "cannot create the delta disk" {
				t.Errorf("failed task = %v, want the FileFault with its message", err)
			}
		})
	}
}

func TestGetTask(t *testing.T) {
	sim := newSim(t, vcentersim.Options{ManualTasks: true})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	task, err := c.CreateSnapshot(ctx, "vm-70", SnapshotSpec{Name: "s"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetTask(ctx, task)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != task || got.State != TaskRunning || !got.Cancelable || got.Description != "VirtualMachine.createSnapshot" ||
		got.EntityType != "VirtualMachine" || got.EntityID != "vm-70" || got.EntityName != "web-01" || got.Queued.IsZero() || got.Done() {
		t.Errorf("GetTask = %+v", got)
	}
	sim.CompleteTasks()
	got, err = c.GetTask(ctx, task)
	snaps := sim.Snapshots("vm-70")
	if err != nil || got.State != TaskSuccess || got.ResultType != "VirtualMachineSnapshot" || got.ResultID != snaps[len(snaps)-1].ID ||
		got.Completed.Before(got.Started) || !got.Done() {
		t.Errorf("GetTask after completion = %+v, %v", got, err)
	}

	// A result that is not a reference (CheckRelocate_Task's boxed array)
	// does not make the read fail.
	answerOnce(sim, "GET", "/sdk/vim25/8.0.3.0/Task/"+task+"/info", 200, liveSample(t, "taskinfo-result-boxed.json"))
	got, err = c.GetTask(ctx, task)
	if err != nil || got.State != TaskSuccess || got.ResultID != "" || got.Completed.IsZero() {
		t.Errorf("GetTask with a boxed result = %+v, %v", got, err)
	}
	want := time.Date(2025, 3, 5, 9, 0, 1, 345678000, time.UTC)
	if !got.Completed.Equal(want) {
		t.Errorf("completeTime = %s, want %s", got.Completed, want)
	}
}

// TestSnapshotNamesAreEscaped: a % (and a / or \) in a snapshot name used
// to be sent as typed, which vCenter reads as the start of an escape
// sequence ("100%25" is stored as "100%"), and names were shown as vCenter
// stores them ("a%2fb"). Names are now escaped on the way in and decoded
// on the way out, so what a person typed is what they see.
func TestSnapshotNamesAreEscaped(t *testing.T) {
	for typed, stored := range map[string]string{
		"50% done":       "50%25 done",
		`pre/post\x`:     "pre%2fpost%5cx",
		"100%25 literal": "100%2525 literal",
		"%2f is not a /": "%252f is not a %2f",
		"plain-name":     "plain-name",
		"ünïcode 100%":   "ünïcode 100%25",
	} {
		sim := newSim(t, vcentersim.Options{})
		c := newClient(t, sim, ModeAPI)
		ctx := context.Background()
		task, err := c.CreateSnapshot(ctx, "vm-71", SnapshotSpec{Name: typed})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WaitTask(ctx, task, nil); err != nil {
			t.Fatal(err)
		}
		if got := sim.Snapshots("vm-71")[0].Name; got != stored {
			t.Errorf("typed %q: vCenter stores %q, want %q", typed, got, stored)
		}
		snaps, err := c.ListSnapshots(ctx, "vm-71")
		if err != nil || len(snaps) != 1 || snaps[0].Name != typed {
			t.Errorf("typed %q: ListSnapshots = %+v, %v", typed, snaps, err)
		}
	}
	for sent, shown := range map[string]string{"a%2Fb": "a/b", "%41BC": "ABC", "%zz%": "%zz%", "50%": "50%", "x%5C": `x\`} {
		if got := unescapeName(sent); got != shown {
			t.Errorf("unescapeName(%q) = %q, want %q", sent, got, shown)
		}
	}
}

func TestSnapshotTreeWithEscapedNames(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	answerOnce(sim, "GET", "/sdk/vim25/8.0.3.0/VirtualMachine/vm-70/snapshot", 200, liveSample(t, "snapshot-tree-escaped-names.json"))
	snaps, err := c.ListSnapshots(context.Background(), "vm-70")
	if err != nil || len(snaps) != 2 {
		t.Fatalf("ListSnapshots = %+v, %v", snaps, err)
	}
	if snaps[0].Name != "before 50% rollout" || snaps[1].Name != `app/db split \ v2` || !snaps[1].Current || snaps[1].ParentID != "snapshot-11" {
		t.Errorf("snapshots = %+v", snaps)
	}
}
