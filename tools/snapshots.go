// Snapshot tools list, take, revert to and delete VM snapshots (through
// VI/JSON: the Automation API has none). Long tasks report MCP progress and
// stop waiting, cancelling the vCenter task where it can be, when the
// client cancels.
// Inverses: create_vm_snapshot ↔ delete_vm_snapshot; revert_vm_snapshot has
// none (the state since the snapshot is lost).

package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// snapshotAPI lists the VI/JSON calls of this file.
type snapshotAPI interface {
	ListSnapshots(ctx context.Context, vm string) ([]vcenter.Snapshot, error)
	CreateSnapshot(ctx context.Context, vm string, spec vcenter.SnapshotSpec) (string, error)
	RemoveSnapshot(ctx context.Context, snapshot string, removeChildren bool) (string, error)
	RevertSnapshot(ctx context.Context, snapshot string, suppressPowerOn bool) (string, error)
}

type snapshotItem struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Created     string `json:"created"`     // RFC 3339
	PowerState  string `json:"power_state"` // VM power state captured; POWERED_ON means memory was included
	Quiesced    bool   `json:"quiesced"`
	Current     bool   `json:"current"`
	ParentID    string `json:"parent_id,omitempty"`
	Depth       int    `json:"depth"` // 0 for a root
}

func snapshotItemOf(s vcenter.Snapshot) snapshotItem {
	return snapshotItem{ID: s.ID, Name: s.Name, Description: truncate(s.Description, 200), Created: s.Created.UTC().Format(time.RFC3339),
		PowerState: string(s.PowerState), Quiesced: s.Quiesced, Current: s.Current, ParentID: s.ParentID, Depth: s.Depth}
}

// --- list_vm_snapshots ---

type listVMSnapshotsIn struct {
	vmArgs
}

type listVMSnapshotsOut struct {
	VM        vmRef          `json:"vm"`
	Count     int            `json:"count"`
	CurrentID string         `json:"current_id,omitempty"`
	Snapshots []snapshotItem `json:"snapshots"` // the tree in pre-order: each snapshot follows its parent
}

func listVMSnapshots(d Deps) Tool {
	return spec[listVMSnapshotsIn, listVMSnapshotsOut]{
		Name: "list_vm_snapshots", Title: "List VM snapshots",
		Description: "A VM's snapshot tree with ids, names, times and the current one.",
		Toolset:     ToolsetSnapshots, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "VI/JSON `VirtualMachine.snapshot`", On: "the VM"},
		Example:    `{"vm_name": "db-01"}`,
		Handle: func(ctx context.Context, _ *mcp.CallToolRequest, in listVMSnapshotsIn) (*mcp.CallToolResult, listVMSnapshotsOut, error) {
			vc, vm, err := resolveVM(ctx, d, in.vmArgs, needSummary)
			if err != nil {
				return nil, listVMSnapshotsOut{}, err
			}
			snaps, err := vc.ListSnapshots(ctx, vm.ID)
			if err != nil {
				return nil, listVMSnapshotsOut{}, fail(fmt.Sprintf("list snapshots of %s", label(vm.Name, vm.ID)), err, "")
			}
			out := listVMSnapshotsOut{VM: vmRef{vm.ID, vm.Name}, Count: len(snaps), Snapshots: make([]snapshotItem, 0, len(snaps))}
			for _, s := range snaps {
				if s.Current {
					out.CurrentID = s.ID
				}
				out.Snapshots = append(out.Snapshots, snapshotItemOf(s))
			}
			return nil, out, nil
		},
	}.tool()
}

// --- create_vm_snapshot ---

type createVMSnapshotIn struct {
	vmArgs
	SnapshotName string `json:"snapshot_name"`
	Description  string `json:"description,omitempty"`
	Memory       bool   `json:"memory,omitempty" jsonschema:"with memory: a revert resumes it running"`
	Quiesce      bool   `json:"quiesce,omitempty"`
}

type snapshotTaskOut struct {
	Summary  string `json:"summary"`
	VM       vmRef  `json:"vm"`
	Snapshot vmRef  `json:"snapshot"`
	TaskID   string `json:"task_id"`
}

func createVMSnapshot(d Deps) Tool {
	return spec[createVMSnapshotIn, snapshotTaskOut]{
		Name: "create_vm_snapshot", Title: "Create VM snapshot",
		Description: "Snapshot a VM and wait, with progress; quiesce needs VMware Tools. Inverse: delete_vm_snapshot.",
		Toolset:     ToolsetSnapshots, Level: policy.LevelOps, Kind: KindWrite, Idempotent: false,
		Privileges: Privileges{Calls: "VI/JSON `CreateSnapshotEx_Task`, then the task's `info` (and `CancelTask` if the call is cancelled)",
			Needs: "`VirtualMachine.State.CreateSnapshot`; `Datastore.AllocateSpace` (a snapshot consumes space)", On: "the VM; its datastores"},
		Example: `{"vm_name": "web-01", "snapshot_name": "guard-test"}`,
		Schema: func(in, _ *schema) {
			in.maxLen("snapshot_name", 80)
			in.prop("snapshot_name").MinLength = new(1)
			in.maxLen("description", 1000)
		},
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in createVMSnapshotIn) (*mcp.CallToolResult, snapshotTaskOut, error) {
			if strings.TrimSpace(in.SnapshotName) == "" {
				return nil, snapshotTaskOut{}, argErrorf("snapshot_name must not be blank")
			}
			if !plainText(in.SnapshotName) {
				return nil, snapshotTaskOut{}, argErrorf("snapshot_name must be plain text: no control characters, line breaks or invisible characters")
			}
			vc, vm, err := resolveVM(ctx, d, in.vmArgs, needSummary)
			if err != nil {
				return nil, snapshotTaskOut{}, err
			}
			what := fmt.Sprintf("snapshot %s", label(vm.Name, vm.ID))
			if in.Quiesce && vm.PowerState == vcenter.PoweredOn {
				g, err := vc.GetGuestPower(ctx, vm.ID)
				if err == nil && !g.ToolsRunning() {
					return nil, snapshotTaskOut{}, argErrorf("%s: quiesce needs VMware Tools running in the guest, and it is not. Next: call again with quiesce false, or start VMware Tools first", what)
				}
			}
			task, err := vc.CreateSnapshot(ctx, vm.ID, vcenter.SnapshotSpec{Name: in.SnapshotName, Description: in.Description, Memory: in.Memory, Quiesce: in.Quiesce})
			if err != nil {
				return nil, snapshotTaskOut{}, fail(what, err, snapshotNext(err))
			}
			t, err := waitTask(ctx, d, req, vc, task)
			if err != nil {
				return nil, snapshotTaskOut{}, fail(what, err, snapshotNext(err))
			}
			out := snapshotTaskOut{VM: vmRef{vm.ID, vm.Name}, Snapshot: vmRef{t.ResultID, in.SnapshotName}, TaskID: task}
			out.Summary = fmt.Sprintf("snapshot %q (%s) of %s created", in.SnapshotName, t.ResultID, label(vm.Name, vm.ID))
			return nil, out, nil
		},
	}.tool()
}

// snapshotNext is the next step after a snapshot request whose effect is
// unknown: it may have reached vCenter, or its task may still run. The
// snapshot tree shows the outcome; get_vm_details does not.
func snapshotNext(err error) string {
	var nf *taskNotFollowedError
	if errors.As(err, &nf) || maybeApplied(err) {
		return "check with list_vm_snapshots whether it took effect before trying again"
	}
	return ""
}

// --- revert_vm_snapshot ---

type snapshotRefArgs struct {
	SnapshotID   string `json:"snapshot_id,omitempty"`
	SnapshotName string `json:"snapshot_name,omitempty"`
}

type revertVMSnapshotIn struct {
	vmArgs
	snapshotRefArgs
	SuppressPowerOn bool `json:"suppress_power_on,omitempty" jsonschema:"stay off even if the snapshot has memory"`
	confirmArgs
}

func revertVMSnapshot(d Deps) Tool {
	return spec[revertVMSnapshotIn, confirmOut[snapshotTaskOut]]{
		Name: "revert_vm_snapshot", Title: "Revert VM to snapshot",
		Description: "Revert a VM to a snapshot (default: current), losing later changes. Needs confirmation. Inverse: none.",
		Toolset:     ToolsetSnapshots, Level: policy.LevelOps, Kind: KindDestructive, Idempotent: true, Confirm: true,
		Privileges: Privileges{Calls: "VI/JSON `RevertToSnapshot_Task` on the snapshot", Needs: "`VirtualMachine.State.RevertToSnapshot`", On: "the VM"},
		Example:    `{"vm_name": "db-01", "snapshot_name": "after-patch"}`,
		Schema:     func(in, _ *schema) { in.maxLen("snapshot_name", 80) },
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in revertVMSnapshotIn) (*mcp.CallToolResult, confirmOut[snapshotTaskOut], error) {
			if err := in.snapshotRefArgs.check(true); err != nil {
				return nil, confirmOut[snapshotTaskOut]{}, err
			}
			vc, vm, err := resolveVM(ctx, d, in.vmArgs, needSummary)
			if err != nil {
				return nil, confirmOut[snapshotTaskOut]{}, err
			}
			snap, _, err := findSnapshot(ctx, vc, vm, in.snapshotRefArgs, true)
			if err != nil {
				return nil, confirmOut[snapshotTaskOut]{}, err
			}
			after := snap.PowerState
			if after == vcenter.PoweredOn && in.SuppressPowerOn {
				after = vcenter.PoweredOff
			}
			pv := preview{
				Target: previewTarget{ID: vm.ID, Name: vm.Name, State: string(vm.PowerState)},
				Change: fmt.Sprintf("revert %s to snapshot %q (%s, taken %s); everything since is lost and the VM will be %s",
					label(vm.Name, vm.ID), snap.Name, snap.ID, snap.Created.UTC().Format(time.RFC3339), after),
			}
			return confirmOrPreview(ctx, d, req, in.Confirm, pv, func() (snapshotTaskOut, string, error) {
				what := fmt.Sprintf("revert %s to %s", label(vm.Name, vm.ID), snap.ID)
				task, err := vc.RevertSnapshot(ctx, snap.ID, in.SuppressPowerOn)
				if err != nil {
					return snapshotTaskOut{}, "", fail(what, err, snapshotNext(err))
				}
				if _, err := waitTask(ctx, d, req, vc, task); err != nil {
					return snapshotTaskOut{}, "", fail(what, err, snapshotNext(err))
				}
				summary := fmt.Sprintf("%s reverted to snapshot %q (%s)", label(vm.Name, vm.ID), snap.Name, snap.ID)
				return snapshotTaskOut{Summary: summary, VM: vmRef{vm.ID, vm.Name}, Snapshot: vmRef{snap.ID, snap.Name}, TaskID: task}, summary, nil
			})
		},
	}.tool()
}

// --- delete_vm_snapshot ---

type deleteVMSnapshotIn struct {
	vmArgs
	snapshotRefArgs
	RemoveChildren bool `json:"remove_children,omitempty"`
	confirmArgs
}

func deleteVMSnapshot(d Deps) Tool {
	return spec[deleteVMSnapshotIn, confirmOut[snapshotTaskOut]]{
		Name: "delete_vm_snapshot", Title: "Delete VM snapshot",
		Description: "Delete a VM snapshot (optionally its children); the VM keeps its present state. Needs confirmation. Inverse: none.",
		Toolset:     ToolsetSnapshots, Level: policy.LevelAdmin, Kind: KindDestructive, Idempotent: true, Confirm: true,
		Privileges: Privileges{Calls: "VI/JSON `RemoveSnapshot_Task` on the snapshot", Needs: "`VirtualMachine.State.RemoveSnapshot`", On: "the VM"},
		Example:    `{"vm_name": "db-01", "snapshot_id": "snapshot-4"}`,
		Schema:     func(in, _ *schema) { in.maxLen("snapshot_name", 80) },
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in deleteVMSnapshotIn) (*mcp.CallToolResult, confirmOut[snapshotTaskOut], error) {
			if err := in.snapshotRefArgs.check(false); err != nil {
				return nil, confirmOut[snapshotTaskOut]{}, err
			}
			vc, vm, err := resolveVM(ctx, d, in.vmArgs, needSummary)
			if err != nil {
				return nil, confirmOut[snapshotTaskOut]{}, err
			}
			snap, all, err := findSnapshot(ctx, vc, vm, in.snapshotRefArgs, false)
			if err != nil {
				return nil, confirmOut[snapshotTaskOut]{}, err
			}
			change := fmt.Sprintf("delete snapshot %q (%s) of %s", snap.Name, snap.ID, label(vm.Name, vm.ID))
			if n := descendants(all, snap.ID); n > 0 {
				if in.RemoveChildren {
					change += fmt.Sprintf(" and the %d snapshot(s) below it", n)
				} else {
					change += fmt.Sprintf("; its %d child snapshot(s) are kept", n)
				}
			}
			pv := preview{Target: previewTarget{ID: vm.ID, Name: vm.Name, State: string(vm.PowerState)}, Change: change}
			return confirmOrPreview(ctx, d, req, in.Confirm, pv, func() (snapshotTaskOut, string, error) {
				what := fmt.Sprintf("delete %s of %s", snap.ID, label(vm.Name, vm.ID))
				task, err := vc.RemoveSnapshot(ctx, snap.ID, in.RemoveChildren)
				if err != nil {
					return snapshotTaskOut{}, "", fail(what, err, snapshotNext(err))
				}
				if _, err := waitTask(ctx, d, req, vc, task); err != nil {
					return snapshotTaskOut{}, "", fail(what, err, snapshotNext(err))
				}
				summary := fmt.Sprintf("snapshot %q (%s) of %s deleted", snap.Name, snap.ID, label(vm.Name, vm.ID))
				return snapshotTaskOut{Summary: summary, VM: vmRef{vm.ID, vm.Name}, Snapshot: vmRef{snap.ID, snap.Name}, TaskID: task}, summary, nil
			})
		},
	}.tool()
}

// check refuses a snapshot reference that cannot name one snapshot; it asks
// nothing of vCenter, so handlers call it before resolving the VM.
func (ref snapshotRefArgs) check(allowCurrent bool) error {
	switch {
	case ref.SnapshotID != "" && ref.SnapshotName != "":
		return argErrorf("give snapshot_id or snapshot_name, not both")
	case ref.SnapshotID == "" && ref.SnapshotName == "" && !allowCurrent:
		return argErrorf("snapshot_id or snapshot_name is required; list_vm_snapshots shows them")
	case ref.SnapshotID != "":
		if err := vcenter.ValidateID(vcenter.KindSnapshot, ref.SnapshotID); err != nil {
			return &argError{err.Error()}
		}
	case utf8.RuneCountInString(ref.SnapshotName) > 80:
		return argErrorf("snapshot_name is longer than 80 characters; list_vm_snapshots shows the names")
	}
	return nil
}

// findSnapshot picks one snapshot of vm by id or exact name; with neither,
// the current one if allowCurrent. A name held by several snapshots is an
// error listing them; the snapshot must belong to vm.
func findSnapshot(ctx context.Context, vc VCenter, vm vcenter.VMSummary, ref snapshotRefArgs, allowCurrent bool) (vcenter.Snapshot, []vcenter.Snapshot, error) {
	if err := ref.check(allowCurrent); err != nil {
		return vcenter.Snapshot{}, nil, err
	}
	all, err := vc.ListSnapshots(ctx, vm.ID)
	if err != nil {
		return vcenter.Snapshot{}, nil, fail(fmt.Sprintf("read snapshots of %s", label(vm.Name, vm.ID)), err, "")
	}
	var matches []vcenter.Snapshot
	for _, s := range all {
		switch {
		case ref.SnapshotID != "" && s.ID == ref.SnapshotID,
			ref.SnapshotName != "" && s.Name == ref.SnapshotName,
			ref.SnapshotID == "" && ref.SnapshotName == "" && s.Current:
			matches = append(matches, s)
		}
	}
	switch {
	case len(matches) == 1:
		return matches[0], all, nil
	case len(all) == 0:
		return vcenter.Snapshot{}, nil, argErrorf("%s has no snapshots. Next: create_vm_snapshot takes one", label(vm.Name, vm.ID))
	case len(matches) == 0 && ref.SnapshotID != "":
		return vcenter.Snapshot{}, nil, argErrorf("%s has no snapshot %s. Next: list_vm_snapshots shows its snapshots", label(vm.Name, vm.ID), ref.SnapshotID)
	case len(matches) == 0 && ref.SnapshotName != "":
		return vcenter.Snapshot{}, nil, argErrorf("%s has no snapshot named %q (names are exact). Next: list_vm_snapshots shows its snapshots", label(vm.Name, vm.ID), ref.SnapshotName)
	case len(matches) == 0:
		return vcenter.Snapshot{}, nil, argErrorf("%s has no current snapshot. Next: give snapshot_id; list_vm_snapshots shows them", label(vm.Name, vm.ID))
	}
	var cands []string
	for _, m := range matches {
		cands = append(cands, fmt.Sprintf("%s (taken %s)", m.ID, m.Created.UTC().Format(time.RFC3339)))
	}
	return vcenter.Snapshot{}, nil, argErrorf("%d snapshots of %s are named %q: %s. Next: call again with snapshot_id", len(matches), label(vm.Name, vm.ID), ref.SnapshotName, strings.Join(cands, "; "))
}

// descendants counts the snapshots below id in a pre-order list.
func descendants(all []vcenter.Snapshot, id string) int {
	below := map[string]bool{id: true}
	n := 0
	for _, s := range all {
		if below[s.ParentID] {
			below[s.ID] = true
			n++
		}
	}
	return n
}

// plainText reports whether s has no control characters, line or
// paragraph separators, or invisible format characters (bidirectional
// overrides, zero-width): a name stored in vCenter that would read
// differently, or not at all, in the vSphere Client and in these results.
func plainText(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r)
	}) < 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
