package vcentersim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Clone (contract changes §1): the Automation API clone of a VM, blocking or
// as a task (?vmw-task=true), and VI/JSON CloneVM_Task, the one that takes a
// classic template. Rules:
//   - the source must exist and have no task running (RESOURCE_BUSY,
//     TaskInProgress); a template is refused by the Automation API
//     (INVALID_ARGUMENT: the contract records that it fails, not the body,
//     §9.3) and taken by CloneVM_Task, which then needs location.pool;
//   - placement follows resolvePlacement (changes.go);
//   - names are unique per folder: ALREADY_EXISTS on /api, DuplicateName
//     in the task on VI/JSON (both are the simulator's choice where the
//     contract lists none, §9.4–5);
//   - the copies must fit on their datastores (thin disks count half):
//     UNABLE_TO_ALLOCATE_RESOURCE, or NoDiskSpace in the task;
//   - a guest customization specification named must exist (NOT_FOUND); it
//     is set on the clone and runs at its first power-on.
// The clone is filed when the task succeeds; a blocking clone at once.

// decodeVAPIBody decodes an operation's body strictly into dst, as vAPI's
// binding does (errInvalidInput for a field the operation lacks or a value
// of the wrong type). On /rest the body is wrapped as {restKey: …}; an
// empty restKey means both dialects send the parameters at the top level
// (OVF deploy, tag attach, ISO mount; contract changes §8.1).
func decodeVAPIBody(c *call, method, restKey string, dst any) *vapiError {
	body := bytes.TrimSpace(c.body)
	if c.surface == surfaceREST && restKey != "" {
		var wrapper map[string]json.RawMessage
		if json.Unmarshal(body, &wrapper) != nil || len(wrapper) != 1 || wrapper[restKey] == nil {
			return errInvalidInput(method)
		}
		body = wrapper[restKey]
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if dec.Decode(dst) != nil || dec.More() {
		return errInvalidInput(method)
	}
	return nil
}

// decodeKeyed reads a vAPI map in the dialect's shape: an object on /api, a
// list of {key, value} on /rest.
func decodeKeyed[T any](sf surface, raw json.RawMessage) (map[string]T, bool) {
	out := map[string]T{}
	if len(raw) == 0 || string(raw) == "null" {
		return out, true
	}
	if sf == surfaceREST {
		var list []struct {
			Key   string `json:"key"`
			Value T      `json:"value"`
		}
		if json.Unmarshal(raw, &list) != nil {
			return nil, false
		}
		for _, e := range list {
			out[e.Key] = e.Value
		}
		return out, true
	}
	return out, json.Unmarshal(raw, &out) == nil
}

type namedSpec struct {
	Name string `json:"name"`
}

type datastoreSpec struct {
	Datastore string `json:"datastore"`
}

// cloneSpec is VcenterVMCloneSpec.
type cloneSpec struct {
	Source                 string          `json:"source"`
	Name                   string          `json:"name"`
	Placement              *placementSpec  `json:"placement"`
	DisksToRemove          []string        `json:"disks_to_remove"`
	DisksToUpdate          json.RawMessage `json:"disks_to_update"`
	PowerOn                *bool           `json:"power_on"`
	GuestCustomizationSpec *namedSpec      `json:"guest_customization_spec"`
}

const cloneMethod = "::Com::Vmware::Vcenter::VmSvc::Clone"

// checkVMName refuses a name vCenter would not take: empty or longer than
// 80 characters.
func checkVMName(name string) *vapiError {
	if name == "" || utf8.RuneCountInString(name) > 80 {
		return errInvalidArgument("The virtual machine name must have 1 to 80 characters.")
	}
	return nil
}

// customization checks a customization specification name ("" for none).
func (s *Server) customization(name string) *vapiError {
	if name == "" || slices.ContainsFunc(s.chg.specs, func(c custSpec) bool { return c.name == name }) {
		return nil
	}
	return newVAPIError("NOT_FOUND", "com.vmware.api.vcenter.guest.customization_spec.not_found",
		fmt.Sprintf("Customization specification '%s' does not exist.", name), name)
}

// handleCloneVM is POST /api/vcenter/vm?action=clone (and /rest, wrapped in
// {"spec": …}); with ?vmw-task=true it answers the task id at once.
func handleCloneVM(s *Server, c *call) (any, *vapiError) {
	var spec cloneSpec
	if e := decodeVAPIBody(c, cloneMethod, "spec", &spec); e != nil {
		return nil, e
	}
	if spec.Source == "" || spec.Name == "" {
		return nil, errInvalidInput(cloneMethod)
	}
	src := s.inv.vms[spec.Source]
	switch {
	case src == nil:
		return nil, errVMNotFound(spec.Source)
	case src.Template:
		return nil, errInvalidArgument("Virtual machine '%s' is a template: this operation does not clone templates.", src.ID)
	case s.busyTask(src.ID) != nil:
		return nil, errVMBusy(src.ID)
	}
	if e := checkVMName(spec.Name); e != nil {
		return nil, e
	}
	var p placementSpec
	if spec.Placement != nil {
		p = *spec.Placement
	}
	t, e := s.resolvePlacement(p, src)
	if e != nil {
		return nil, e
	}
	disks, e := s.cloneDisks(c, src, t, spec)
	if e != nil {
		return nil, e
	}
	if e := s.placeable(t, disks); e != nil {
		return nil, e
	}
	custom := ""
	if spec.GuestCustomizationSpec != nil {
		custom = spec.GuestCustomizationSpec.Name
	}
	if e := s.customization(custom); e != nil {
		return nil, e
	}
	powerOn := spec.PowerOn != nil && *spec.PowerOn
	apply := func() (string, *vapiError) {
		if s.inv.nameTaken(t.folder, spec.Name) {
			return "", newVAPIError("ALREADY_EXISTS", "com.vmware.api.vcenter.vm.name_exists",
				fmt.Sprintf("A virtual machine named '%s' already exists in folder '%s'.", spec.Name, t.folder), spec.Name)
		}
		if e := s.storageFits(disks, nil, true); e != nil {
			return "", e
		}
		n := s.copyVM(src, spec.Name, t, disks)
		n.Customization = custom
		if powerOn {
			n.setPower(PoweredOn, s.now(), false)
		}
		return n.ID, nil
	}
	if c.r.URL.Query().Get("vmw-task") == "true" {
		return accepted{s.startVAPITask(c, "clone", src, func() (string, *vimFault) {
			id, e := apply()
			if e != nil {
				return "", vapiFault(e)
			}
			return id, nil
		})}, nil
	}
	id, e := apply()
	if e != nil {
		return nil, e
	}
	return id, nil
}

// cloneDisks applies disks_to_remove and disks_to_update to the source's
// disks, placed on the target datastore when one is given.
func (s *Server) cloneDisks(c *call, src *vm, t target, spec cloneSpec) ([]Disk, *vapiError) {
	update, ok := decodeKeyed[datastoreSpec](c.surface, spec.DisksToUpdate)
	if !ok {
		return nil, errInvalidInput(cloneMethod)
	}
	var out []Disk
	for _, d := range src.Disks {
		key := strconv.Itoa(d.Key)
		if t.datastore != nil {
			d.Datastore = t.datastore.id
		}
		u, updated := update[key]
		removed := slices.Contains(spec.DisksToRemove, key)
		switch {
		case removed && updated:
			return nil, errInvalidArgument("Disk '%s' is both removed and updated.", key)
		case removed:
			continue
		case updated:
			if s.inv.datastores[u.Datastore] == nil {
				return nil, errNotFound("datastore", "Datastore", u.Datastore)
			}
			d.Datastore = u.Datastore
		}
		out = append(out, d)
	}
	for _, key := range spec.DisksToRemove {
		if !slices.ContainsFunc(src.Disks, func(d Disk) bool { return strconv.Itoa(d.Key) == key }) {
			return nil, errInvalidArgument("Virtual machine '%s' has no disk '%s'.", src.ID, key)
		}
	}
	for key := range update {
		if !slices.ContainsFunc(src.Disks, func(d Disk) bool { return strconv.Itoa(d.Key) == key }) {
			return nil, errInvalidArgument("Virtual machine '%s' has no disk '%s'.", src.ID, key)
		}
	}
	return out, nil
}

// handleCloneVMTask is VirtualMachine.CloneVM_Task {folder, name, spec}
// (contract changes §1.3): spec.location, spec.template and spec.powerOn
// are required; location.pool is required for a template source.
func handleCloneVMTask(s *Server, c *call) (any, *vimFault) {
	src, fault := s.vimVM(c)
	if fault != nil {
		return nil, fault
	}
	p, fault := decodeParams(c.body, map[string]bool{"folder": true, "name": true, "spec": true})
	if fault != nil {
		return nil, fault
	}
	var folder moRef
	var name string
	if json.Unmarshal(p["folder"], &folder) != nil || folder.Type != "Folder" {
		return nil, faultInvalidArgument("folder")
	}
	if f := p.str("name", &name); f != nil {
		return nil, f
	}
	var spec struct {
		TypeName string `json:"_typeName"`
		Location *struct {
			TypeName  string `json:"_typeName"`
			Pool      *moRef `json:"pool"`
			Host      *moRef `json:"host"`
			Datastore *moRef `json:"datastore"`
			Folder    *moRef `json:"folder"`
		} `json:"location"`
		Template      *bool           `json:"template"`
		PowerOn       *bool           `json:"powerOn"`
		Customization json.RawMessage `json:"customization"`
		Config        json.RawMessage `json:"config"`
		Snapshot      *moRef          `json:"snapshot"`
		Memory        *bool           `json:"memory"`
	}
	dec := json.NewDecoder(bytes.NewReader(p["spec"]))
	dec.DisallowUnknownFields()
	switch {
	case dec.Decode(&spec) != nil || spec.TypeName != "" && spec.TypeName != "VirtualMachineCloneSpec":
		return nil, faultInvalidArgument("spec")
	case spec.Location == nil:
		return nil, faultInvalidArgument("spec.location")
	case spec.Template == nil:
		return nil, faultInvalidArgument("spec.template")
	case spec.PowerOn == nil:
		return nil, faultInvalidArgument("spec.powerOn")
	case *spec.Template && *spec.PowerOn:
		return nil, faultInvalidArgument("spec.powerOn")
	case name == "" || utf8.RuneCountInString(name) > 80:
		return nil, faultInvalidArgument("name")
	}
	if t := s.busyTask(src.ID); t != nil {
		return nil, faultTaskInProgress(t)
	}
	loc := spec.Location
	var pool *resourcePool
	switch {
	case loc.Pool != nil:
		if pool = s.inv.pools[loc.Pool.Value]; pool == nil {
			return nil, faultNotFound("ResourcePool", loc.Pool.Value)
		}
	case src.Template:
		return nil, faultInvalidArgument("spec.location.pool")
	default:
		pool = s.inv.pools[src.ResourcePool]
	}
	var h *host
	switch {
	case loc.Host != nil:
		if h = s.inv.hosts[loc.Host.Value]; h == nil {
			return nil, faultNotFound("HostSystem", loc.Host.Value)
		}
	case loc.Pool == nil:
		h = s.inv.hosts[src.Host]
	case s.inv.computeResources[pool.owner] != nil:
		h = s.inv.hosts[s.inv.computeResources[pool.owner].host]
	default: // "a random compatible host is chosen" for a clone
		if h = s.inv.drsPick(s.inv.clusters[pool.owner], "", src); h == nil {
			return nil, newFault("InsufficientResourcesFault", "No host in the cluster can take the virtual machine.")
		}
	}
	if pool.owner != h.owner() {
		return nil, faultInvalidArgument("spec.location.host")
	}
	f := s.inv.folders[folder.Value]
	if f == nil {
		return nil, faultNotFound("Folder", folder.Value)
	}
	if f.kind != folderVM || f.datacenter != h.datacenter {
		return nil, faultInvalidArgument("folder")
	}
	if why := hostUnusable(h); why != "" {
		return nil, newFault("InvalidState", "The operation is not allowed in the current state: "+why+".")
	}
	t := target{host: h, pool: pool.id, folder: f.id}
	if loc.Datastore != nil {
		if t.datastore = s.inv.datastores[loc.Datastore.Value]; t.datastore == nil {
			return nil, faultNotFound("Datastore", loc.Datastore.Value)
		}
	}
	disks := slices.Clone(src.Disks)
	for i := range disks {
		if t.datastore != nil {
			disks[i].Datastore = t.datastore.id
		}
		if ds := s.inv.datastores[disks[i].Datastore]; !s.inv.visible(ds, h) {
			return nil, newFault("InvalidDatastore", fmt.Sprintf("The datastore %s is not accessible from host %s.", ds.name, h.name)).
				with("datastore", ref("Datastore", ds.id))
		}
	}
	template, powerOn := *spec.Template, *spec.PowerOn
	custom := ""
	if len(spec.Customization) > 0 && string(spec.Customization) != "null" {
		custom = "(inline)"
	}
	mo := s.startTask(c, "CloneVM_Task", "VirtualMachine.clone", src, false, "VirtualMachine", func() (string, *vimFault) {
		if s.inv.nameTaken(t.folder, name) {
			return "", newFault("DuplicateName", fmt.Sprintf("The name '%s' already exists.", name)).with("name", name)
		}
		if e := s.storageFits(disks, nil, true); e != nil {
			return "", newFault("NoDiskSpace", e.Messages[0].DefaultMessage)
		}
		n := s.copyVM(src, name, t, disks)
		n.Template, n.Customization = template, custom
		if powerOn {
			n.setPower(PoweredOn, s.now(), false)
		}
		return n.ID, nil
	})
	return mo, nil
}

// handleSetGuestCustomization is PUT /api/vcenter/vm/{vm}/guest/customization
// {"name": …} (/rest: {"spec": {…}}): the specification runs at the next
// power-on; an empty name clears it. The VM must be powered off
// (NOT_ALLOWED_IN_CURRENT_STATE, contract changes §1.3).
func handleSetGuestCustomization(s *Server, c *call) (any, *vapiError) {
	const method = "::Com::Vmware::Vcenter::Vm::Guest::CustomizationSvc::Set"
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	var body struct {
		Name string          `json:"name"`
		Spec json.RawMessage `json:"spec"`
	}
	if e := decodeVAPIBody(c, method, "spec", &body); e != nil {
		return nil, e
	}
	if len(body.Spec) > 0 {
		return nil, errInvalidArgument("The simulator takes a customization specification by name only.")
	}
	switch {
	case s.busyTask(v.ID) != nil:
		return nil, errVMBusy(v.ID)
	case v.PowerState != PoweredOff:
		return nil, errVMState("NOT_ALLOWED_IN_CURRENT_STATE", "guest.customization.not_powered_off",
			fmt.Sprintf("Virtual machine '%s' must be powered off to set a guest customization.", v.ID))
	}
	if e := s.customization(body.Name); e != nil {
		return nil, e
	}
	v.Customization = body.Name
	return nil, nil
}

// handleGetGuestCustomization is GET .../guest/customization: PENDING while
// a specification waits for the next power-on, IDLE otherwise.
func handleGetGuestCustomization(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	status := "IDLE"
	if v.Customization != "" {
		status = "PENDING"
	}
	return map[string]string{"status": status}, nil
}
