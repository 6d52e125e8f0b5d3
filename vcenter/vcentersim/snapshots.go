package vcentersim

import (
	"slices"
	"strings"
)

// Snapshots live only in VI/JSON: the Automation API has no snapshot
// resource in 8.0 (contract §3.1). Semantics follow vSphere:
//   - a new snapshot is a child of the current one and becomes current;
//   - its state is the VM's power state, except that a powered-on VM
//     snapshotted without memory gives "poweredOff";
//   - quiesce applies only to a powered-on VM and needs VMware Tools running
//     (the task fails with ToolsUnavailable otherwise); on a powered-off or
//     suspended VM it is ignored, as the CreateSnapshot_Task reference says,
//     and with memory it is ignored too (a memory snapshot is not quiesced);
//   - reverting makes the snapshot current and gives the VM the snapshot's
//     power state; a memory snapshot reverted with suppressPowerOn leaves
//     the VM suspended;
//   - removing a snapshot without its children re-parents them; removing
//     the current snapshot (or a subtree holding it) makes its parent current.
// One task runs per VM at a time: a method called while another task on the
// VM runs fails at once with TaskInProgress. Only create tasks are cancelable.
//
// Names are kept escaped, as vSphere keeps entity names: CreateSnapshot's
// reference says a % in the name "must be escaped, unless it is used to
// start an escape sequence", and ManagedEntity.name that a / and a \ are
// escaped as %2f and %5c, a stray % as %25 (pyvmomi docs/vim
// VirtualMachine.rst, ManagedEntity.rst; the contract records the rule for
// clone names only, changes §1). escapeName applies that to the name as
// sent, and the tree returns the stored form.

// snapshotTree is vim25 VirtualMachineSnapshotTree.
type snapshotTree struct {
	TypeName          string         `json:"_typeName"`
	Snapshot          moRef          `json:"snapshot"`
	VM                moRef          `json:"vm"`
	Name              string         `json:"name"`
	Description       string         `json:"description"`
	ID                int            `json:"id"`
	CreateTime        string         `json:"createTime"`
	State             string         `json:"state"`
	Quiesced          bool           `json:"quiesced"`
	ChildSnapshotList []snapshotTree `json:"childSnapshotList,omitempty"`
}

// snapshotInfoJSON is vim25 VirtualMachineSnapshotInfo.
type snapshotInfoJSON struct {
	TypeName         string         `json:"_typeName"`
	CurrentSnapshot  *moRef         `json:"currentSnapshot,omitempty"`
	RootSnapshotList []snapshotTree `json:"rootSnapshotList"`
}

// snapshotInfo is the VM's snapshot property: null without snapshots.
func snapshotInfo(v *vm) any {
	if len(v.snapRoots) == 0 {
		return jsonNull
	}
	var tree func([]*snapshot) []snapshotTree
	tree = func(list []*snapshot) []snapshotTree {
		var out []snapshotTree
		for _, sn := range list {
			out = append(out, snapshotTree{
				TypeName: "VirtualMachineSnapshotTree", Snapshot: ref("VirtualMachineSnapshot", sn.id), VM: ref("VirtualMachine", sn.vm),
				Name: sn.name, Description: sn.description, ID: sn.number, CreateTime: vimTime(sn.createTime),
				State: sn.state, Quiesced: sn.quiesced, ChildSnapshotList: tree(sn.children),
			})
		}
		return out
	}
	info := snapshotInfoJSON{TypeName: "VirtualMachineSnapshotInfo", RootSnapshotList: tree(v.snapRoots)}
	if v.current != nil {
		r := ref("VirtualMachineSnapshot", v.current.id)
		info.CurrentSnapshot = &r
	}
	return info
}

func snapshotProperty(name string) vimHandler {
	return func(s *Server, c *call) (any, *vimFault) {
		sn := s.inv.snapshots[c.param("moId")]
		if sn == nil {
			return nil, faultNotFound("VirtualMachineSnapshot", c.param("moId"))
		}
		if name == "vm" {
			return ref("VirtualMachine", sn.vm), nil
		}
		if len(sn.children) == 0 {
			return jsonNull, nil
		}
		refs := []moRef{}
		for _, ch := range sn.children {
			refs = append(refs, ref("VirtualMachineSnapshot", ch.id))
		}
		return refs, nil
	}
}

// handleCreateSnapshotEx is VirtualMachine.CreateSnapshotEx_Task
// {name, description, memory, quiesceSpec}.
func handleCreateSnapshotEx(s *Server, c *call) (any, *vimFault) {
	v, fault := s.vimVM(c)
	if fault != nil {
		return nil, fault
	}
	p, fault := decodeParams(c.body, map[string]bool{"name": true, "description": false, "memory": true, "quiesceSpec": false})
	if fault != nil {
		return nil, fault
	}
	spec, fault := p.object("quiesceSpec", "VirtualMachineGuestQuiesceSpec", "VirtualMachineWindowsQuiesceSpec")
	if fault != nil {
		return nil, fault
	}
	return s.createSnapshot(c, v, p, "CreateSnapshotEx_Task", spec != nil)
}

// handleCreateSnapshot is the deprecated VirtualMachine.CreateSnapshot_Task
// {name, description, memory, quiesce}.
func handleCreateSnapshot(s *Server, c *call) (any, *vimFault) {
	v, fault := s.vimVM(c)
	if fault != nil {
		return nil, fault
	}
	p, fault := decodeParams(c.body, map[string]bool{"name": true, "description": false, "memory": true, "quiesce": true})
	if fault != nil {
		return nil, fault
	}
	var quiesce bool
	if f := p.boolean("quiesce", &quiesce); f != nil {
		return nil, f
	}
	return s.createSnapshot(c, v, p, "CreateSnapshot_Task", quiesce)
}

func (s *Server) createSnapshot(c *call, v *vm, p params, method string, quiesce bool) (any, *vimFault) {
	var name, description string
	var memory bool
	for _, f := range []*vimFault{p.str("name", &name), p.str("description", &description), p.boolean("memory", &memory)} {
		if f != nil {
			return nil, f
		}
	}
	name = escapeName(name)
	if busy := s.busyTask(v.ID); busy != nil {
		return nil, faultTaskInProgress(busy)
	}
	vmID := v.ID
	return s.startTask(c, method, "VirtualMachine.createSnapshot", v, true, "VirtualMachineSnapshot", func() (string, *vimFault) {
		v := s.inv.vms[vmID]
		if v == nil {
			return "", faultNotFound("VirtualMachine", vmID)
		}
		state, quiesced := v.PowerState.vim(), false
		if v.PowerState == PoweredOn {
			switch {
			case memory:
				// A memory snapshot captures the running state; quiesce does not apply.
			case quiesce && !v.ToolsRunning:
				return "", newFault("ToolsUnavailable", "Cannot complete operation because VMware Tools is not running in this virtual machine.")
			default:
				state, quiesced = "poweredOff", quiesce
			}
		}
		sn := s.inv.addSnapshot(v, v.current, name, description, state, quiesced, s.now())
		return sn.id, nil
	}), nil
}

// handleRevertToSnapshot is VirtualMachineSnapshot.RevertToSnapshot_Task
// {host?, suppressPowerOn?}.
func handleRevertToSnapshot(s *Server, c *call) (any, *vimFault) {
	sn := s.inv.snapshots[c.param("moId")]
	if sn == nil {
		return nil, faultNotFound("VirtualMachineSnapshot", c.param("moId"))
	}
	p, fault := decodeParams(c.body, map[string]bool{"host": false, "suppressPowerOn": false})
	if fault != nil {
		return nil, fault
	}
	if _, f := p.object("host", "ManagedObjectReference"); f != nil {
		return nil, f
	}
	var suppress bool
	if f := p.boolean("suppressPowerOn", &suppress); f != nil {
		return nil, f
	}
	return s.revert(c, s.inv.vms[sn.vm], sn.id, "RevertToSnapshot_Task", "VirtualMachineSnapshot.revert", suppress)
}

// handleRevertToCurrent is VirtualMachine.RevertToCurrentSnapshot_Task
// {host?, suppressPowerOn?}. A VM without a current snapshot is NotFound.
func handleRevertToCurrent(s *Server, c *call) (any, *vimFault) {
	v, fault := s.vimVM(c)
	if fault != nil {
		return nil, fault
	}
	p, fault := decodeParams(c.body, map[string]bool{"host": false, "suppressPowerOn": false})
	if fault != nil {
		return nil, fault
	}
	if _, f := p.object("host", "ManagedObjectReference"); f != nil {
		return nil, f
	}
	var suppress bool
	if f := p.boolean("suppressPowerOn", &suppress); f != nil {
		return nil, f
	}
	if v.current == nil {
		return nil, newFault("NotFound", "The virtual machine has no current snapshot.")
	}
	return s.revert(c, v, v.current.id, "RevertToCurrentSnapshot_Task", "VirtualMachine.revertToCurrentSnapshot", suppress)
}

func (s *Server) revert(c *call, v *vm, snapID, method, descriptionID string, suppressPowerOn bool) (any, *vimFault) {
	if busy := s.busyTask(v.ID); busy != nil {
		return nil, faultTaskInProgress(busy)
	}
	return s.startTask(c, method, descriptionID, v, false, "", func() (string, *vimFault) {
		sn := s.inv.snapshots[snapID]
		if sn == nil {
			return "", faultNotFound("VirtualMachineSnapshot", snapID)
		}
		v := s.inv.vms[sn.vm]
		if v == nil {
			return "", faultNotFound("VirtualMachine", sn.vm)
		}
		v.current = sn
		delete(s.shutdownDue, v.ID)
		now := s.now()
		switch {
		case sn.state == "poweredOn" && !suppressPowerOn:
			v.setPower(PoweredOn, now, false)
		case sn.state == "poweredOn", sn.state == "suspended":
			v.setPower(PoweredOn, now, false)
			v.setPower(Suspended, now, false)
		default:
			v.setPower(PoweredOff, now, v.CleanPowerOff)
		}
		return "", nil
	}), nil
}

// handleRemoveSnapshot is VirtualMachineSnapshot.RemoveSnapshot_Task
// {removeChildren, consolidate?}; removeChildren is required.
func handleRemoveSnapshot(s *Server, c *call) (any, *vimFault) {
	sn := s.inv.snapshots[c.param("moId")]
	if sn == nil {
		return nil, faultNotFound("VirtualMachineSnapshot", c.param("moId"))
	}
	p, fault := decodeParams(c.body, map[string]bool{"removeChildren": true, "consolidate": false})
	if fault != nil {
		return nil, fault
	}
	var removeChildren, consolidate bool
	if f := p.boolean("removeChildren", &removeChildren); f != nil {
		return nil, f
	}
	if f := p.boolean("consolidate", &consolidate); f != nil {
		return nil, f
	}
	v := s.inv.vms[sn.vm]
	if busy := s.busyTask(v.ID); busy != nil {
		return nil, faultTaskInProgress(busy)
	}
	snapID := sn.id
	return s.startTask(c, "RemoveSnapshot_Task", "VirtualMachineSnapshot.remove", v, false, "", func() (string, *vimFault) {
		sn := s.inv.snapshots[snapID]
		if sn == nil {
			return "", faultNotFound("VirtualMachineSnapshot", snapID)
		}
		s.inv.removeSnapshot(s.inv.vms[sn.vm], sn, removeChildren)
		return "", nil
	}), nil
}

// handleRemoveAll is VirtualMachine.RemoveAllSnapshots_Task {consolidate?,
// spec?}. It succeeds on a VM without snapshots.
func handleRemoveAll(s *Server, c *call) (any, *vimFault) {
	v, fault := s.vimVM(c)
	if fault != nil {
		return nil, fault
	}
	p, fault := decodeParams(c.body, map[string]bool{"consolidate": false, "spec": false})
	if fault != nil {
		return nil, fault
	}
	var consolidate bool
	if f := p.boolean("consolidate", &consolidate); f != nil {
		return nil, f
	}
	if _, f := p.object("spec", "SnapshotSelectionSpec"); f != nil {
		return nil, f
	}
	if busy := s.busyTask(v.ID); busy != nil {
		return nil, faultTaskInProgress(busy)
	}
	vmID := v.ID
	return s.startTask(c, "RemoveAllSnapshots_Task", "VirtualMachine.removeAllSnapshots", v, false, "", func() (string, *vimFault) {
		v := s.inv.vms[vmID]
		if v == nil {
			return "", faultNotFound("VirtualMachine", vmID)
		}
		for _, sn := range v.allSnapshots() {
			delete(s.inv.snapshots, sn.id)
		}
		v.snapRoots, v.current = nil, nil
		return "", nil
	}), nil
}

// removeSnapshot takes sn out of v's tree, with its subtree or re-parenting
// its children to its parent in its place.
func (inv *inventory) removeSnapshot(v *vm, sn *snapshot, removeChildren bool) {
	siblings := &v.snapRoots
	if sn.parent != nil {
		siblings = &sn.parent.children
	}
	i := slices.Index(*siblings, sn)
	var gone []*snapshot
	if removeChildren {
		*siblings = slices.Delete(*siblings, i, i+1)
		var walk func(*snapshot)
		walk = func(x *snapshot) {
			gone = append(gone, x)
			for _, ch := range x.children {
				walk(ch)
			}
		}
		walk(sn)
	} else {
		for _, ch := range sn.children {
			ch.parent = sn.parent
		}
		*siblings = slices.Concat((*siblings)[:i], sn.children, (*siblings)[i+1:])
		gone = []*snapshot{sn}
	}
	for _, x := range gone {
		delete(inv.snapshots, x.id)
		if v.current == x {
			v.current = sn.parent
		}
	}
}

// escapeName stores a name as vSphere does (see the top of this file): a
// % that starts an escape sequence (%XX, two hex digits) is kept as sent,
// any other % becomes %25, a / %2f and a \ %5c.
func escapeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		switch ch := name[i]; {
		case ch == '%' && i+2 < len(name) && isHex(name[i+1]) && isHex(name[i+2]):
			b.WriteByte('%')
		case ch == '%':
			b.WriteString("%25")
		case ch == '/':
			b.WriteString("%2f")
		case ch == '\\':
			b.WriteString("%5c")
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
