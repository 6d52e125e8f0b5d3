package vcentersim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// Relocate (contract changes §5): the Automation API relocate, blocking
// (204) or as a task (?vmw-task=true, 202 with the task id), VI/JSON
// RelocateVM_Task, and the feasibility check CheckRelocate_Task on the
// VirtualMachineProvisioningChecker. One set of rules decides all three
// (moveProblems): the VM must not be a template or busy; the destination
// host must be connected and out of maintenance mode; every disk's
// datastore must be mounted by the destination host; every network of the
// VM must exist in the destination's datacenter; disks that move must fit.
// vMotion, Storage vMotion and both at once follow from what the
// placement changes. The error types for an incompatible destination are
// the simulator's choice: the contract says /api maps them in no
// documented way (§5.1) and VI/JSON raises MigrationFault subclasses (§5.2).

// relocateSpec is VcenterVMRelocateSpec.
type relocateSpec struct {
	Placement *placementSpec  `json:"placement"`
	Disks     json.RawMessage `json:"disks"`
}

const relocateMethod = "::Com::Vmware::Vcenter::VmSvc::Relocate"

// problem is one reason a VM cannot move to a destination, in both
// surfaces' terms.
type problem struct {
	vapiType, vimType, message string
}

func (p problem) vapi() *vapiError {
	return newVAPIError(p.vapiType, "com.vmware.api.vcenter.vm.relocate."+p.vimType, p.message)
}

func (p problem) vim() *vimFault { return newFault(p.vimType, p.message) }

// move is a resolved relocation: where the VM goes and where each disk goes.
type move struct {
	t     target
	disks []Disk // the VM's disks at their destination
}

// moveProblems lists why v cannot move as m says. Caller holds mu.
func (s *Server) moveProblems(v *vm, m move) []problem {
	inv := s.inv
	var out []problem
	h := m.t.host
	if v.Template {
		out = append(out, problem{"UNSUPPORTED", "NotSupported", fmt.Sprintf("Virtual machine '%s' is a template and cannot be migrated.", v.ID)})
	}
	switch {
	case h.connection != "CONNECTED":
		out = append(out, problem{"RESOURCE_INACCESSIBLE", "HostNotConnected", fmt.Sprintf("Host %s (%s) is %s.", h.name, h.id, h.connection)})
	case h.maintenance:
		out = append(out, problem{"NOT_ALLOWED_IN_CURRENT_STATE", "InvalidHostState", fmt.Sprintf("Host %s (%s) is in maintenance mode.", h.name, h.id)})
	}
	for _, d := range m.disks {
		if ds := inv.datastores[d.Datastore]; !inv.visible(ds, h) {
			out = append(out, problem{"INVALID_ARGUMENT", "InvalidDatastore", fmt.Sprintf("Datastore %s holding %s is not accessible from host %s.", ds.name, d.Label, h.name)})
		}
	}
	for _, n := range v.NICs {
		if net := inv.networks[n.Network]; net != nil && net.datacenter != h.datacenter {
			out = append(out, problem{"INVALID_ARGUMENT", "NetworkInaccessible", fmt.Sprintf("Network %s of %s is not available on host %s.", net.name, n.Label, h.name)})
		}
	}
	var moved []Disk
	for i, d := range m.disks {
		if d.Datastore != v.Disks[i].Datastore {
			moved = append(moved, d)
		}
	}
	if e := s.storageFits(moved, nil, true); e != nil {
		out = append(out, problem{"UNABLE_TO_ALLOCATE_RESOURCE", "NoDiskSpace", e.Messages[0].DefaultMessage})
	}
	return out
}

// applyMove moves v: host, pool, folder, and each disk with its space.
func (s *Server) applyMove(v *vm, m move) {
	for i, d := range m.disks {
		if old := v.Disks[i].Datastore; old != d.Datastore {
			s.inv.datastores[old].free += diskUsage(v.Disks[i])
			s.inv.datastores[d.Datastore].free -= diskUsage(d)
		}
	}
	v.Disks = slices.Clone(m.disks)
	v.Host, v.ResourcePool, v.Folder = m.t.host.id, m.t.pool, m.t.folder
}

// destinationDisks places v's disks: each per perDisk, else on ds, else
// where it is.
func (s *Server) destinationDisks(v *vm, ds *datastore, perDisk map[string]string) ([]Disk, *vapiError) {
	out := slices.Clone(v.Disks)
	for key, id := range perDisk {
		i := slices.IndexFunc(out, func(d Disk) bool { return strconv.Itoa(d.Key) == key })
		if i < 0 {
			return nil, errInvalidArgument("Virtual machine '%s' has no disk '%s'.", v.ID, key)
		}
		if s.inv.datastores[id] == nil {
			return nil, errNotFound("datastore", "Datastore", id)
		}
	}
	for i := range out {
		if id, ok := perDisk[strconv.Itoa(out[i].Key)]; ok {
			out[i].Datastore = id
		} else if ds != nil {
			out[i].Datastore = ds.id
		}
	}
	return out, nil
}

// handleRelocateVM is POST /api/vcenter/vm/{vm}?action=relocate: 204 once
// moved, or with ?vmw-task=true 202 and the task id at once.
func handleRelocateVM(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	var spec relocateSpec
	if e := decodeVAPIBody(c, relocateMethod, "spec", &spec); e != nil {
		return nil, e
	}
	if s.busyTask(v.ID) != nil {
		return nil, errVMBusy(v.ID)
	}
	var p placementSpec
	if spec.Placement != nil {
		p = *spec.Placement
	}
	t, e := s.resolvePlacement(p, v)
	if e != nil {
		return nil, e
	}
	perDisk, ok := decodeKeyed[datastoreSpec](c.surface, spec.Disks)
	if !ok {
		return nil, errInvalidInput(relocateMethod)
	}
	ids := map[string]string{}
	for k, d := range perDisk {
		if d.Datastore == "" {
			return nil, errInvalidArgument("The datastore of disk '%s' is required.", k)
		}
		ids[k] = d.Datastore
	}
	disks, e := s.destinationDisks(v, t.datastore, ids)
	if e != nil {
		return nil, e
	}
	m := move{t: t, disks: disks}
	if ps := s.moveProblems(v, m); len(ps) > 0 {
		return nil, ps[0].vapi()
	}
	if c.r.URL.Query().Get("vmw-task") == "true" {
		return accepted{s.startVAPITask(c, "relocate", v, func() (string, *vimFault) {
			if ps := s.moveProblems(v, m); len(ps) > 0 {
				return "", vapiFault(ps[0].vapi())
			}
			s.applyMove(v, m)
			return "", nil
		})}, nil
	}
	s.applyMove(v, m)
	return nil, nil
}

// vimRelocateSpec is VirtualMachineRelocateSpec as the simulator reads it.
type vimRelocateSpec struct {
	TypeName  string `json:"_typeName"`
	Host      *moRef `json:"host"`
	Pool      *moRef `json:"pool"`
	Datastore *moRef `json:"datastore"`
	Folder    *moRef `json:"folder"`
	Disk      []struct {
		TypeName  string `json:"_typeName"`
		DiskID    int    `json:"diskId"`
		Datastore *moRef `json:"datastore"`
	} `json:"disk"`
}

func decodeRelocateSpec(raw json.RawMessage) (vimRelocateSpec, *vimFault) {
	var spec vimRelocateSpec
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if dec.Decode(&spec) != nil || spec.TypeName != "" && spec.TypeName != "VirtualMachineRelocateSpec" {
		return spec, faultInvalidArgument("spec")
	}
	return spec, nil
}

// vimMove resolves a VirtualMachineRelocateSpec for v into a move.
func (s *Server) vimMove(v *vm, spec vimRelocateSpec) (move, *vimFault) {
	p := placementSpec{}
	for dst, r := range map[*string]*moRef{&p.Host: spec.Host, &p.ResourcePool: spec.Pool, &p.Datastore: spec.Datastore, &p.Folder: spec.Folder} {
		if r != nil {
			*dst = r.Value
		}
	}
	t, e := s.resolvePlacement(p, v)
	if e != nil {
		if e.Type == "NOT_FOUND" {
			return move{}, newFault("ManagedObjectNotFound", e.Messages[0].DefaultMessage)
		}
		return move{}, newFault("InvalidArgument", e.Messages[0].DefaultMessage)
	}
	ids := map[string]string{}
	for _, d := range spec.Disk {
		if d.Datastore == nil {
			return move{}, faultInvalidArgument("spec.disk.datastore")
		}
		ids[strconv.Itoa(d.DiskID)] = d.Datastore.Value
	}
	disks, e := s.destinationDisks(v, t.datastore, ids)
	if e != nil {
		return move{}, newFault("InvalidArgument", e.Messages[0].DefaultMessage)
	}
	return move{t: t, disks: disks}, nil
}

// handleRelocateVMTask is VirtualMachine.RelocateVM_Task {spec, priority}.
func handleRelocateVMTask(s *Server, c *call) (any, *vimFault) {
	v, fault := s.vimVM(c)
	if fault != nil {
		return nil, fault
	}
	p, fault := decodeParams(c.body, map[string]bool{"spec": true, "priority": false})
	if fault != nil {
		return nil, fault
	}
	spec, fault := decodeRelocateSpec(p["spec"])
	if fault != nil {
		return nil, fault
	}
	if t := s.busyTask(v.ID); t != nil {
		return nil, faultTaskInProgress(t)
	}
	m, fault := s.vimMove(v, spec)
	if fault != nil {
		return nil, fault
	}
	if ps := s.moveProblems(v, m); len(ps) > 0 && ps[0].vimType == "NotSupported" {
		return nil, ps[0].vim()
	}
	return s.startTask(c, "RelocateVM_Task", "VirtualMachine.relocate", v, false, "", func() (string, *vimFault) {
		if ps := s.moveProblems(v, m); len(ps) > 0 {
			return "", ps[0].vim()
		}
		s.applyMove(v, m)
		return "", nil
	}), nil
}

// checkResult is vim25 CheckResult.
type checkResult struct {
	TypeName string           `json:"_typeName"`
	VM       moRef            `json:"vm"`
	Host     moRef            `json:"host"`
	Warning  []map[string]any `json:"warning"`
	Error    []map[string]any `json:"error"`
}

// handleCheckRelocate is VirtualMachineProvisioningChecker.CheckRelocate_Task
// {vm, spec, testType}: a task whose result is one CheckResult per host
// tested, boxed as ArrayOfCheckResult (contract changes §5.3). With no host
// in the spec, every host DRS could pick in the pool's cluster is tested.
func handleCheckRelocate(s *Server, c *call) (any, *vimFault) {
	p, fault := decodeParams(c.body, map[string]bool{"vm": true, "spec": true, "testType": false})
	if fault != nil {
		return nil, fault
	}
	var vmRef moRef
	if json.Unmarshal(p["vm"], &vmRef) != nil || vmRef.Type != "VirtualMachine" {
		return nil, faultInvalidArgument("vm")
	}
	v := s.inv.vms[vmRef.Value]
	if v == nil {
		return nil, faultNotFound("VirtualMachine", vmRef.Value)
	}
	spec, fault := decodeRelocateSpec(p["spec"])
	if fault != nil {
		return nil, fault
	}
	if v.Template {
		return nil, newFault("NotSupported", "The operation is not supported on a template.")
	}
	// A pool without a host tests every host of the pool's cluster.
	specs := []vimRelocateSpec{spec}
	if spec.Host == nil && spec.Pool != nil {
		if pool := s.inv.pools[spec.Pool.Value]; pool != nil && s.inv.clusters[pool.owner] != nil {
			specs = nil
			for _, h := range sortedValues(s.inv.hosts) {
				if h.cluster == pool.owner {
					sh := spec
					r := ref("HostSystem", h.id)
					sh.Host = &r
					specs = append(specs, sh)
				}
			}
		}
	}
	var results []checkResult
	for _, sp := range specs {
		m, fault := s.vimMove(v, sp)
		if fault != nil {
			return nil, fault
		}
		r := checkResult{TypeName: "CheckResult", VM: ref("VirtualMachine", v.ID), Host: ref("HostSystem", m.t.host.id),
			Warning: []map[string]any{}, Error: []map[string]any{}}
		for _, pr := range s.moveProblems(v, m) {
			r.Error = append(r.Error, pr.vim().localized())
		}
		results = append(results, r)
	}
	t := s.startEntityTask(c, "CheckRelocate_Task", "VirtualMachineProvisioningChecker.checkRelocate",
		"VirtualMachineProvisioningChecker", c.param("moId"), "ProvChecker", false, "", func() (string, *vimFault) { return "", nil })
	t.resultValue = map[string]any{"_typeName": "ArrayOfCheckResult", "_value": results}
	// A check only reads: it has ended by the first read of its info,
	// whatever HangTasks holds (the simulator's choice; a check of one VM
	// takes vCenter well under a second).
	if t.forced == nil {
		t.end(nil, s.now())
	}
	return t.mo(), nil
}
