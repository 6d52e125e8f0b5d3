package vcentersim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// VI/JSON reconfiguration of disks (contract changes §3.2.1): the
// VirtualMachine.config property, and ReconfigVM_Task with deviceChange
// entries that add a new disk (fileOperation create) or edit a disk's
// capacity. Rules:
//   - an edit must send capacityInKB non-zero (a zero one fails with
//     "Invalid operation for device '0'", as vCenter does) and the new
//     size, the larger of capacityInBytes and capacityInKB·1024, must not be
//     smaller than the disk's (InvalidDeviceOperation); an old capacityInKB
//     beside a new capacityInBytes is accepted;
//   - a disk of a VM with snapshots cannot grow ("Disks with parents cannot
//     be expanded");
//   - the backing, when sent, must name the disk's own file;
//   - a thick disk's new capacity must fit on its datastore (NoDiskSpace);
//   - a new disk goes on the SCSI controller (key 1000), on a datastore the
//     VM's host mounts, thin unless thinProvisioned is false; at most 15;
//   - other configuration changes are NotSupported by the simulator.
// The change is applied when the task succeeds.

// diskBackingInfo is VirtualDiskFlatVer2BackingInfo as the simulator writes
// and reads it.
type diskBackingInfo struct {
	TypeName        string `json:"_typeName"`
	FileName        string `json:"fileName"`
	Datastore       *moRef `json:"datastore,omitempty"`
	DiskMode        string `json:"diskMode,omitempty"`
	ThinProvisioned *bool  `json:"thinProvisioned,omitempty"`
	EagerlyScrub    *bool  `json:"eagerlyScrub,omitempty"`
}

type description struct {
	TypeName string `json:"_typeName"`
	Label    string `json:"label"`
	Summary  string `json:"summary"`
}

// virtualDisk is vim25 VirtualDisk.
type virtualDisk struct {
	TypeName        string          `json:"_typeName"`
	Key             int             `json:"key"`
	DeviceInfo      *description    `json:"deviceInfo,omitempty"`
	ControllerKey   int             `json:"controllerKey"`
	UnitNumber      *int            `json:"unitNumber,omitempty"`
	CapacityInKB    int64           `json:"capacityInKB"`
	CapacityInBytes int64           `json:"capacityInBytes,omitempty"`
	Backing         diskBackingInfo `json:"backing"`
}

func (s *Server) virtualDiskOf(i int, d Disk) virtualDisk {
	unit := scsiUnit(i)
	thin, scrub := !d.Thick, false
	return virtualDisk{
		TypeName: "VirtualDisk", Key: d.Key, ControllerKey: 1000, UnitNumber: &unit,
		DeviceInfo:   &description{TypeName: "Description", Label: d.Label, Summary: fmt.Sprintf("%d KB", d.CapacityBytes/1024)},
		CapacityInKB: d.CapacityBytes / 1024, CapacityInBytes: d.CapacityBytes,
		Backing: diskBackingInfo{TypeName: "VirtualDiskFlatVer2BackingInfo", FileName: fmt.Sprintf("[%s] %s", s.inv.nameOf(d.Datastore), d.File),
			Datastore: &moRef{TypeName: "ManagedObjectReference", Type: "Datastore", Value: d.Datastore}, DiskMode: "persistent",
			ThinProvisioned: &thin, EagerlyScrub: &scrub},
	}
}

// handleVMConfig is the VirtualMachine.config property
// (VirtualMachineConfigInfo): name, template flag and hardware with its
// devices.
func handleVMConfig(s *Server, c *call) (any, *vimFault) {
	v, fault := s.vimVM(c)
	if fault != nil {
		return nil, fault
	}
	_, guestID, label := guestOSName(v.GuestOS)
	devices := []any{
		map[string]any{"_typeName": "ParaVirtualSCSIController", "key": 1000, "busNumber": 0,
			"deviceInfo": description{"Description", "SCSI controller 0", "VMware paravirtual SCSI"}},
		map[string]any{"_typeName": "VirtualAHCIController", "key": 15000, "busNumber": 0,
			"deviceInfo": description{"Description", "SATA controller 0", "AHCI"}},
	}
	for i, d := range v.Disks {
		devices = append(devices, s.virtualDiskOf(i, d))
	}
	for _, cd := range v.CDROMs {
		backing := map[string]any{"_typeName": "VirtualCdromRemotePassthroughBackingInfo", "deviceName": "", "exclusive": false}
		if cd.ISOFile != "" {
			backing = map[string]any{"_typeName": "VirtualCdromIsoBackingInfo", "fileName": cd.ISOFile}
		}
		devices = append(devices, map[string]any{"_typeName": "VirtualCdrom", "key": cd.Key,
			"deviceInfo": description{"Description", cd.Label, "CD/DVD drive"}, "backing": backing})
	}
	for _, n := range v.NICs {
		devices = append(devices, map[string]any{"_typeName": "VirtualVmxnet3", "key": n.Key, "macAddress": n.MACAddress,
			"deviceInfo": description{"Description", n.Label, s.inv.nameOf(n.Network)}})
	}
	return map[string]any{
		"_typeName": "VirtualMachineConfigInfo", "name": v.Name, "template": v.Template, "guestId": guestID, "guestFullName": label,
		"uuid": v.BIOSUUID, "instanceUuid": v.InstanceUUID, "version": "vmx-19",
		"hardware": map[string]any{"_typeName": "VirtualHardware", "numCPU": v.CPUCount, "numCoresPerSocket": v.CoresPerSocket,
			"memoryMB": v.MemoryMiB, "device": devices},
	}, nil
}

// deviceChange is VirtualDeviceConfigSpec as the simulator reads it.
type deviceChange struct {
	TypeName      string          `json:"_typeName"`
	Operation     string          `json:"operation"`
	FileOperation string          `json:"fileOperation"`
	Device        json.RawMessage `json:"device"`
}

// handleReconfigVM is VirtualMachine.ReconfigVM_Task {spec}.
func handleReconfigVM(s *Server, c *call) (any, *vimFault) {
	v, fault := s.vimVM(c)
	if fault != nil {
		return nil, fault
	}
	p, fault := decodeParams(c.body, map[string]bool{"spec": true})
	if fault != nil {
		return nil, fault
	}
	var spec map[string]json.RawMessage
	if json.Unmarshal(p["spec"], &spec) != nil || spec == nil {
		return nil, faultInvalidArgument("spec")
	}
	for k := range spec {
		if k != "_typeName" && k != "deviceChange" {
			return nil, newFault("NotSupported", "The simulator reconfigures disks only: "+k+" is not supported.")
		}
	}
	var changes []deviceChange
	if json.Unmarshal(spec["deviceChange"], &changes) != nil || len(changes) == 0 {
		return nil, faultInvalidArgument("spec.deviceChange")
	}
	if t := s.busyTask(v.ID); t != nil {
		return nil, faultTaskInProgress(t)
	}
	var apply []func() *vimFault
	for _, ch := range changes {
		var d virtualDisk
		dec := json.NewDecoder(bytes.NewReader(ch.Device))
		if dec.Decode(&d) != nil || d.TypeName != "VirtualDisk" {
			return nil, newFault("NotSupported", "The simulator reconfigures virtual disks only.")
		}
		var f func() *vimFault
		switch ch.Operation {
		case "edit":
			f, fault = s.editDisk(v, ch, d)
		case "add":
			f, fault = s.addDisk(v, ch, d)
		default:
			return nil, newFault("NotSupported", "The simulator does not "+ch.Operation+" disks.")
		}
		if fault != nil {
			return nil, fault
		}
		apply = append(apply, f)
	}
	return s.startTask(c, "ReconfigVM_Task", "VirtualMachine.reconfigure", v, false, "", func() (string, *vimFault) {
		for _, f := range apply {
			if fault := f(); fault != nil {
				return "", fault
			}
		}
		return "", nil
	}), nil
}

func faultDevice(message string) *vimFault {
	return newFault("InvalidDeviceOperation", message).with("property", "device")
}

// editDisk checks an edit of a disk's capacity and returns what applies it.
func (s *Server) editDisk(v *vm, ch deviceChange, d virtualDisk) (func() *vimFault, *vimFault) {
	i := slices.IndexFunc(v.Disks, func(x Disk) bool { return x.Key == d.Key })
	switch {
	case i < 0:
		return nil, faultInvalidArgument("spec.deviceChange.device.key")
	case ch.FileOperation != "":
		return nil, faultInvalidArgument("spec.deviceChange.fileOperation")
	case d.CapacityInKB <= 0:
		return nil, faultDevice("Invalid operation for device '0'.")
	}
	cur := v.Disks[i]
	if want := fmt.Sprintf("[%s] %s", s.inv.nameOf(cur.Datastore), cur.File); d.Backing.FileName != "" && d.Backing.FileName != want {
		return nil, newFault("InvalidDeviceSpec", fmt.Sprintf("The backing of %s must name its file %s.", cur.Label, want)).with("property", "device.backing")
	}
	size := max(d.CapacityInBytes, d.CapacityInKB*1024)
	switch {
	case size < cur.CapacityBytes:
		return nil, faultDevice(fmt.Sprintf("The capacity of %s cannot be reduced (%d KB now).", cur.Label, cur.CapacityBytes/1024))
	case size > cur.CapacityBytes && len(v.snapRoots) > 0:
		return nil, faultDevice("Disks with parents cannot be expanded.")
	}
	return func() *vimFault {
		grow := size - v.Disks[i].CapacityBytes
		ds := s.inv.datastores[v.Disks[i].Datastore]
		if v.Disks[i].Thick && grow > ds.free {
			return newFault("NoDiskSpace", fmt.Sprintf("There is not enough space on datastore %s to extend %s.", ds.name, cur.Label)).with("datastore", ds.name)
		}
		if v.Disks[i].Thick {
			ds.free -= grow
		}
		v.Disks[i].CapacityBytes = size
		return nil
	}, nil
}

// addDisk checks a new disk and returns what adds it.
func (s *Server) addDisk(v *vm, ch deviceChange, d virtualDisk) (func() *vimFault, *vimFault) {
	size := max(d.CapacityInBytes, d.CapacityInKB*1024)
	switch {
	case ch.FileOperation != "create":
		return nil, newFault("NotSupported", "The simulator adds new disks only (fileOperation create).")
	case d.ControllerKey != 1000:
		return nil, faultInvalidArgument("spec.deviceChange.device.controllerKey")
	case size <= 0:
		return nil, faultInvalidArgument("spec.deviceChange.device.capacityInKB")
	case v.PowerState == Suspended:
		return nil, newFault("InvalidPowerState", "The operation is not allowed in the current power state (suspended).").with("existingState", "suspended")
	case len(v.Disks) >= maxDisks:
		return nil, newFault("TooManyDevices", "The virtual machine has the most disks its controller takes.")
	}
	var ds *datastore
	if d.Backing.Datastore != nil {
		ds = s.inv.datastores[d.Backing.Datastore.Value]
	}
	name, file, _ := strings.Cut(strings.TrimPrefix(d.Backing.FileName, "["), "]")
	if ds == nil && strings.HasPrefix(d.Backing.FileName, "[") {
		for _, x := range sortedValues(s.inv.datastores) {
			if x.name == name && x.datacenter == s.inv.datacenterOf(v) {
				ds = x
			}
		}
	}
	if ds == nil {
		return nil, newFault("InvalidDatastore", "The datastore of the new disk was not found: "+d.Backing.FileName)
	}
	if h := s.inv.hosts[v.Host]; !s.inv.visible(ds, h) {
		return nil, newFault("InvalidDatastore", fmt.Sprintf("The datastore %s is not accessible from host %s.", ds.name, h.name))
	}
	thick := d.Backing.ThinProvisioned != nil && !*d.Backing.ThinProvisioned
	return func() *vimFault {
		key := nextDiskKey(v)
		path := strings.TrimSpace(file)
		if path == "" {
			path = fmt.Sprintf("%s/%s_%d.vmdk", v.Name, v.Name, key-2000)
		}
		n := Disk{Key: key, Label: fmt.Sprintf("Hard disk %d", len(v.Disks)+1), CapacityBytes: size, Datastore: ds.id, File: path, Thick: thick}
		if thick && size > ds.free {
			return newFault("NoDiskSpace", fmt.Sprintf("There is not enough space on datastore %s for a %d GB disk.", ds.name, size>>30)).with("datastore", ds.name)
		}
		if thick {
			ds.free -= size
		}
		v.Disks = append(v.Disks, n)
		return nil
	}, nil
}
