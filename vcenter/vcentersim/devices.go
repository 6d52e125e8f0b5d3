package vcentersim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Devices (contract changes §3): CD-ROMs, disks and Ethernet adapters under
// /api/vcenter/vm/{vm}/hardware, and ISO mounts from a content library.
// The state rules are those of §3.1–§3.4:
//   - any change on a VM with a task running is RESOURCE_BUSY;
//   - creating or deleting a CD-ROM or a disk is refused on a suspended VM,
//     and for an IDE device on a powered-on one (SATA, SCSI, NVMe hot-plug);
//   - a CD-ROM's backing changes only while the VM is off or the drive is
//     disconnected;
//   - connect and disconnect work only on a powered-on VM;
//   - a disk's PATCH swaps its backing only while the VM is off; DELETE only
//     detaches (the file stays on the datastore, its space held);
//   - a NIC's backing may change at any time ([S703]: applied at the next
//     power-on; the simulator's configuration shows it at once, §9.8).
// A new disk (new_vmdk) is thin and goes in the VM's home directory.
// Limits: 15 disks on the SCSI controller, 30 SATA and 4 IDE CD-ROMs, 10
// NICs (UNABLE_TO_ALLOCATE_RESOURCE past them). An ISO image must exist on
// its datastore (NOT_FOUND: the simulator's choice).

func scsiUnit(i int) int {
	if i >= 7 { // unit 7 is the controller's own
		return i + 1
	}
	return i
}

// changeableVM finds the path's VM for a device change: NOT_FOUND, or
// RESOURCE_BUSY while a task runs on it.
func (s *Server) changeableVM(c *call) (*vm, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	if s.busyTask(v.ID) != nil {
		return nil, errVMBusy(v.ID)
	}
	return v, nil
}

func errDeviceState(message string) *vapiError {
	return newVAPIError("NOT_ALLOWED_IN_CURRENT_STATE", "com.vmware.api.vcenter.vm.hardware.not_allowed_in_current_state", message)
}

func errDeviceNotFound(kind, vmID, key string) *vapiError {
	return newVAPIError("NOT_FOUND", "com.vmware.api.vcenter.vm.hardware."+kind+".not_found",
		fmt.Sprintf("Virtual machine '%s' has no %s '%s'.", vmID, kind, key), key)
}

// hotPlugRefusal says why a device of bus type cannot be added or removed
// now, or "".
func hotPlugRefusal(v *vm, bus string) string {
	switch {
	case v.PowerState == Suspended:
		return fmt.Sprintf("Virtual machine '%s' is suspended: devices cannot be added or removed.", v.ID)
	case v.PowerState == PoweredOn && bus == "IDE":
		return fmt.Sprintf("Virtual machine '%s' is powered on: IDE devices cannot be added or removed while it runs.", v.ID)
	}
	return ""
}

// --- CD-ROM ---

func cdromInfoOf(v *vm, cd CDROM) cdromInfo {
	info := cdromInfo{Type: cmp.Or(cd.Type, "SATA"), Label: cd.Label, State: "NOT_CONNECTED",
		StartConnected: cd.StartConnected, AllowGuestControl: cd.AllowGuestControl,
		Backing: cdromBacking{Type: "CLIENT_DEVICE", DeviceAccessType: "PASSTHRU"}}
	if info.Type == "IDE" {
		n := cd.Key - 3000
		info.IDE = &ideAddress{Primary: n < 2, Master: n%2 == 0}
	} else {
		info.SATA = &scsiAddress{Bus: 0, Unit: cd.Key - 16000}
	}
	if cd.ISOFile != "" {
		info.Backing = cdromBacking{Type: "ISO_FILE", ISOFile: cd.ISOFile}
	}
	if v.PowerState == PoweredOn && cd.Connected {
		info.State = "CONNECTED"
	}
	return info
}

// cdromOf finds the path's CD-ROM of v.
func cdromOf(v *vm, c *call) (int, *vapiError) {
	key, _ := strconv.Atoi(c.param("cdrom"))
	i := slices.IndexFunc(v.CDROMs, func(cd CDROM) bool { return cd.Key == key })
	if i < 0 {
		return -1, errDeviceNotFound("cdrom", v.ID, c.param("cdrom"))
	}
	return i, nil
}

func handleListCdroms(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	out := []map[string]string{}
	for _, cd := range v.CDROMs {
		out = append(out, map[string]string{"cdrom": strconv.Itoa(cd.Key)})
	}
	return out, nil
}

func handleGetCdrom(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	i, err := cdromOf(v, c)
	if err != nil {
		return nil, err
	}
	return cdromInfoOf(v, v.CDROMs[i]), nil
}

// cdromBackingSpec is Cdrom.BackingSpec.
type cdromBackingSpec struct {
	Type             string `json:"type"`
	ISOFile          string `json:"iso_file,omitempty"`
	HostDevice       string `json:"host_device,omitempty"`
	DeviceAccessType string `json:"device_access_type,omitempty"`
}

// isoOf checks an ISO_FILE path ("[datastore] dir/file.iso", contract
// changes §3.1): the datastore, by name, in the VM's datacenter, and the
// file on it (or in a content library kept there).
func (s *Server) isoOf(v *vm, path string) *vapiError {
	name, file, ok := strings.Cut(strings.TrimPrefix(path, "["), "] ")
	if !strings.HasPrefix(path, "[") || !ok || name == "" || file == "" {
		return errInvalidArgument("ISO file path '%s' is not of the form '[datastore] path/file.iso'.", path)
	}
	dc := s.inv.datacenterOf(v)
	for _, ds := range sortedValues(s.inv.datastores) {
		if ds.name != name || ds.datacenter != dc {
			continue
		}
		if slices.Contains(ds.files, file) {
			return nil
		}
		for _, it := range s.chg.items {
			if it.kind == "iso" && s.isoPath(it) == path {
				return nil
			}
		}
	}
	return newVAPIError("NOT_FOUND", "com.vmware.api.vcenter.vm.hardware.cdrom.file_not_found", fmt.Sprintf("File %s was not found.", path), path)
}

func (s *Server) cdromBacking(v *vm, b *cdromBackingSpec) (string, *vapiError) {
	switch b.Type {
	case "ISO_FILE":
		if e := s.isoOf(v, b.ISOFile); e != nil {
			return "", e
		}
		return b.ISOFile, nil
	case "CLIENT_DEVICE", "HOST_DEVICE":
		return "", nil
	}
	return "", errInvalidArgument("Unknown CD-ROM backing type '%s'.", b.Type)
}

func handleCreateCdrom(s *Server, c *call) (any, *vapiError) {
	const method = "::Com::Vmware::Vcenter::Vm::Hardware::CdromSvc::Create"
	v, err := s.changeableVM(c)
	if err != nil {
		return nil, err
	}
	var spec struct {
		Type              string            `json:"type"`
		IDE               *ideAddress       `json:"ide"`
		SATA              *json.RawMessage  `json:"sata"`
		Backing           *cdromBackingSpec `json:"backing"`
		StartConnected    bool              `json:"start_connected"`
		AllowGuestControl bool              `json:"allow_guest_control"`
	}
	if e := decodeVAPIBody(c, method, "spec", &spec); e != nil {
		return nil, e
	}
	bus := cmp.Or(spec.Type, "SATA")
	if bus != "SATA" && bus != "IDE" {
		return nil, errInvalidInput(method)
	}
	if why := hotPlugRefusal(v, bus); why != "" {
		return nil, errDeviceState(why)
	}
	iso := ""
	if spec.Backing != nil {
		var e *vapiError
		if iso, e = s.cdromBacking(v, spec.Backing); e != nil {
			return nil, e
		}
	}
	cd, e := addCdrom(v, bus)
	if e != nil {
		return nil, e
	}
	cd.ISOFile, cd.StartConnected, cd.AllowGuestControl = iso, spec.StartConnected, spec.AllowGuestControl
	cd.Connected = v.PowerState == PoweredOn && spec.StartConnected
	return strconv.Itoa(cd.Key), nil
}

// addCdrom adds a drive on the first free unit of bus and returns it.
func addCdrom(v *vm, bus string) (*CDROM, *vapiError) {
	base, units := 16000, 30
	if bus == "IDE" {
		base, units = 3000, 4
	}
	for u := range units {
		if !slices.ContainsFunc(v.CDROMs, func(cd CDROM) bool { return cd.Key == base+u }) {
			v.CDROMs = append(v.CDROMs, CDROM{Key: base + u, Label: fmt.Sprintf("CD/DVD drive %d", len(v.CDROMs)+1), Type: bus})
			return &v.CDROMs[len(v.CDROMs)-1], nil
		}
	}
	return nil, newVAPIError("UNABLE_TO_ALLOCATE_RESOURCE", "com.vmware.api.vcenter.vm.hardware.no_address",
		fmt.Sprintf("No free %s address on virtual machine '%s'.", bus, v.ID))
}

func handlePatchCdrom(s *Server, c *call) (any, *vapiError) {
	const method = "::Com::Vmware::Vcenter::Vm::Hardware::CdromSvc::Update"
	v, err := s.changeableVM(c)
	if err != nil {
		return nil, err
	}
	i, err := cdromOf(v, c)
	if err != nil {
		return nil, err
	}
	var spec struct {
		Backing           *cdromBackingSpec `json:"backing"`
		StartConnected    *bool             `json:"start_connected"`
		AllowGuestControl *bool             `json:"allow_guest_control"`
	}
	if e := decodeVAPIBody(c, method, "spec", &spec); e != nil {
		return nil, e
	}
	cd := &v.CDROMs[i]
	if spec.Backing != nil {
		if v.PowerState == PoweredOn && cd.Connected {
			return nil, errDeviceState(fmt.Sprintf("CD-ROM '%d' of virtual machine '%s' is connected: disconnect it before changing its backing.", cd.Key, v.ID))
		}
		iso, e := s.cdromBacking(v, spec.Backing)
		if e != nil {
			return nil, e
		}
		cd.ISOFile, cd.LibraryItem = iso, ""
	}
	if spec.StartConnected != nil {
		cd.StartConnected = *spec.StartConnected
	}
	if spec.AllowGuestControl != nil {
		cd.AllowGuestControl = *spec.AllowGuestControl
	}
	return nil, nil
}

func handleDeleteCdrom(s *Server, c *call) (any, *vapiError) {
	v, err := s.changeableVM(c)
	if err != nil {
		return nil, err
	}
	i, err := cdromOf(v, c)
	if err != nil {
		return nil, err
	}
	if why := hotPlugRefusal(v, v.CDROMs[i].Type); why != "" {
		return nil, errDeviceState(why)
	}
	v.CDROMs = slices.Delete(v.CDROMs, i, i+1)
	return nil, nil
}

// connectHandler serves connect and disconnect of a CD-ROM or NIC: only on
// a powered-on VM.
func connectHandler(kind string, connect bool) vapiHandler {
	return func(s *Server, c *call) (any, *vapiError) {
		v, err := s.changeableVM(c)
		if err != nil {
			return nil, err
		}
		var state *bool
		if kind == "cdrom" {
			i, err := cdromOf(v, c)
			if err != nil {
				return nil, err
			}
			state = &v.CDROMs[i].Connected
		} else {
			i, err := nicOf(v, c)
			if err != nil {
				return nil, err
			}
			state = &v.NICs[i].Connected
		}
		switch {
		case v.PowerState != PoweredOn:
			return nil, errDeviceState(fmt.Sprintf("Virtual machine '%s' is not powered on: set start_connected instead.", v.ID))
		case *state == connect:
			return nil, newVAPIError("ALREADY_IN_DESIRED_STATE", "com.vmware.api.vcenter.vm.hardware.already_in_desired_state",
				fmt.Sprintf("The device is already %s.", map[bool]string{true: "connected", false: "disconnected"}[connect]))
		}
		*state = connect
		return nil, nil
	}
}

// --- Disk ---

func diskOf(v *vm, c *call) (int, *vapiError) {
	key, _ := strconv.Atoi(c.param("disk"))
	i := slices.IndexFunc(v.Disks, func(d Disk) bool { return d.Key == key })
	if i < 0 {
		return -1, errDeviceNotFound("disk", v.ID, c.param("disk"))
	}
	return i, nil
}

func handleListDisks(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	out := []map[string]string{}
	for _, d := range v.Disks {
		out = append(out, map[string]string{"disk": strconv.Itoa(d.Key)})
	}
	return out, nil
}

func handleGetDisk(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	i, err := diskOf(v, c)
	if err != nil {
		return nil, err
	}
	return s.diskInfoOf(i, v.Disks[i]), nil
}

// maxDisks is what one SCSI controller holds: units 0-15 but 7.
const maxDisks = 15

// nextDiskKey is the first free disk key.
func nextDiskKey(v *vm) int {
	k := 2000
	for slices.ContainsFunc(v.Disks, func(d Disk) bool { return d.Key == k }) {
		k++
	}
	return k
}

func handleCreateDisk(s *Server, c *call) (any, *vapiError) {
	const method = "::Com::Vmware::Vcenter::Vm::Hardware::DiskSvc::Create"
	v, err := s.changeableVM(c)
	if err != nil {
		return nil, err
	}
	var spec struct {
		Type    string           `json:"type"`
		IDE     *json.RawMessage `json:"ide"`
		SCSI    *json.RawMessage `json:"scsi"`
		SATA    *json.RawMessage `json:"sata"`
		NVMe    *json.RawMessage `json:"nvme"`
		NewVMDK *struct {
			Name          string           `json:"name"`
			Capacity      *int64           `json:"capacity"`
			StoragePolicy *json.RawMessage `json:"storage_policy"`
		} `json:"new_vmdk"`
		Backing *struct {
			Type     string `json:"type"`
			VMDKFile string `json:"vmdk_file"`
		} `json:"backing"`
	}
	if e := decodeVAPIBody(c, method, "spec", &spec); e != nil {
		return nil, e
	}
	bus := cmp.Or(spec.Type, "SCSI")
	switch {
	case !slices.Contains([]string{"SCSI", "SATA", "NVME", "IDE"}, bus):
		return nil, errInvalidInput(method)
	case (spec.NewVMDK == nil) == (spec.Backing == nil):
		return nil, errInvalidArgument("Give exactly one of new_vmdk and backing.")
	case spec.Backing != nil:
		return nil, errInvalidArgument("The simulator attaches new VMDK files only (new_vmdk).")
	case len(v.Disks) >= maxDisks:
		return nil, newVAPIError("UNABLE_TO_ALLOCATE_RESOURCE", "com.vmware.api.vcenter.vm.hardware.no_address",
			fmt.Sprintf("No free disk address on virtual machine '%s'.", v.ID))
	}
	if why := hotPlugRefusal(v, bus); why != "" {
		return nil, errDeviceState(why)
	}
	capacity := int64(16 << 30) // the guest default
	if spec.NewVMDK.Capacity != nil {
		capacity = *spec.NewVMDK.Capacity
	}
	if capacity <= 0 {
		return nil, errInvalidArgument("The disk capacity must be positive.")
	}
	home := v.Disks
	if len(home) == 0 {
		return nil, errInvalidArgument("Virtual machine '%s' has no disk to find its home datastore by.", v.ID)
	}
	key := nextDiskKey(v)
	name := cmp.Or(spec.NewVMDK.Name, fmt.Sprintf("%s_%d", v.Name, key-2000))
	d := Disk{Key: key, Label: fmt.Sprintf("Hard disk %d", len(v.Disks)+1), CapacityBytes: capacity, Datastore: home[0].Datastore,
		File: v.Name + "/" + name + ".vmdk"}
	v.Disks = append(v.Disks, d)
	return strconv.Itoa(key), nil
}

func handlePatchDisk(s *Server, c *call) (any, *vapiError) {
	const method = "::Com::Vmware::Vcenter::Vm::Hardware::DiskSvc::Update"
	v, err := s.changeableVM(c)
	if err != nil {
		return nil, err
	}
	if _, err := diskOf(v, c); err != nil {
		return nil, err
	}
	var spec struct {
		Backing *json.RawMessage `json:"backing"`
	}
	if e := decodeVAPIBody(c, method, "spec", &spec); e != nil {
		return nil, e
	}
	if spec.Backing == nil {
		return nil, nil
	}
	if v.PowerState == PoweredOn {
		return nil, errDeviceState(fmt.Sprintf("Virtual machine '%s' is powered on: a disk's backing changes only while it is off.", v.ID))
	}
	return nil, errInvalidArgument("The simulator does not swap VMDK backings.")
}

func handleDeleteDisk(s *Server, c *call) (any, *vapiError) {
	v, err := s.changeableVM(c)
	if err != nil {
		return nil, err
	}
	i, err := diskOf(v, c)
	if err != nil {
		return nil, err
	}
	if why := hotPlugRefusal(v, "SCSI"); why != "" {
		return nil, errDeviceState(why)
	}
	v.Disks = slices.Delete(v.Disks, i, i+1) // detached: the file keeps its space
	return nil, nil
}

// --- Ethernet ---

func nicOf(v *vm, c *call) (int, *vapiError) {
	key, _ := strconv.Atoi(c.param("nic"))
	i := slices.IndexFunc(v.NICs, func(n NIC) bool { return n.Key == key })
	if i < 0 {
		return -1, errDeviceNotFound("ethernet", v.ID, c.param("nic"))
	}
	return i, nil
}

func handleListNICs(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	out := []map[string]string{}
	for _, n := range v.NICs {
		out = append(out, map[string]string{"nic": strconv.Itoa(n.Key)})
	}
	return out, nil
}

func handleGetNIC(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	i, err := nicOf(v, c)
	if err != nil {
		return nil, err
	}
	return s.nicInfoOf(v, i, v.NICs[i]), nil
}

// nicBackingSpec is Ethernet.BackingSpec.
type nicBackingSpec struct {
	Type            string `json:"type"`
	Network         string `json:"network,omitempty"`
	DistributedPort string `json:"distributed_port,omitempty"`
}

// nicNetwork checks a backing: a network of the VM's datacenter whose type
// is the backing's; HOST_DEVICE cannot be set (contract changes §3.3).
func (s *Server) nicNetwork(v *vm, b nicBackingSpec) (string, *vapiError) {
	if b.Type == "HOST_DEVICE" {
		return "", errInvalidArgument("A HOST_DEVICE backing cannot be set through this API.")
	}
	n := s.inv.networks[b.Network]
	switch {
	case b.Network == "":
		return "", errInvalidArgument("The backing needs a network.")
	case n == nil:
		return "", errNotFound("network", "Network", b.Network)
	case n.kind != b.Type:
		return "", errInvalidArgument("Network '%s' is a %s, not a %s.", n.id, n.kind, b.Type)
	case n.datacenter != s.inv.datacenterOf(v):
		return "", errInvalidArgument("Network '%s' is not in the datacenter of virtual machine '%s'.", n.id, v.ID)
	}
	return n.id, nil
}

// maxNICs is the most Ethernet adapters a VM has.
const maxNICs = 10

func handleCreateNIC(s *Server, c *call) (any, *vapiError) {
	const method = "::Com::Vmware::Vcenter::Vm::Hardware::EthernetSvc::Create"
	v, err := s.changeableVM(c)
	if err != nil {
		return nil, err
	}
	var spec struct {
		Type                    string          `json:"type"`
		UPTCompatibilityEnabled *bool           `json:"upt_compatibility_enabled"`
		MACType                 string          `json:"mac_type"`
		MACAddress              string          `json:"mac_address"`
		PCISlotNumber           *int            `json:"pci_slot_number"`
		WakeOnLANEnabled        *bool           `json:"wake_on_lan_enabled"`
		Backing                 *nicBackingSpec `json:"backing"`
		StartConnected          bool            `json:"start_connected"`
		AllowGuestControl       *bool           `json:"allow_guest_control"`
	}
	if e := decodeVAPIBody(c, method, "spec", &spec); e != nil {
		return nil, e
	}
	if spec.Type != "" && !slices.Contains([]string{"E1000", "E1000E", "PCNET32", "VMXNET", "VMXNET2", "VMXNET3"}, spec.Type) {
		return nil, errInvalidInput(method)
	}
	if v.PowerState == Suspended {
		return nil, errDeviceState(fmt.Sprintf("Virtual machine '%s' is suspended: devices cannot be added.", v.ID))
	}
	if len(v.NICs) >= maxNICs {
		return nil, newVAPIError("UNABLE_TO_ALLOCATE_RESOURCE", "com.vmware.api.vcenter.vm.hardware.ethernet.too_many",
			fmt.Sprintf("Virtual machine '%s' has the most Ethernet adapters it can have.", v.ID))
	}
	b := nicBackingSpec{Type: "STANDARD_PORTGROUP"}
	if spec.Backing != nil {
		b = *spec.Backing
	} else { // "the server tries to find one": the datacenter's VM Network
		for _, n := range sortedValues(s.inv.networks) {
			if n.name == "VM Network" && n.datacenter == s.inv.datacenterOf(v) {
				b.Network = n.id
			}
		}
	}
	network, e := s.nicNetwork(v, b)
	if e != nil {
		return nil, e
	}
	key := 4000
	for slices.ContainsFunc(v.NICs, func(n NIC) bool { return n.Key == key }) {
		key++
	}
	v.NICs = append(v.NICs, NIC{Key: key, Label: fmt.Sprintf("Network adapter %d", len(v.NICs)+1), Network: network,
		StartConnected: spec.StartConnected, Connected: v.PowerState == PoweredOn && spec.StartConnected})
	n := idNumber(v.ID)
	m := (4*n + len(v.NICs) + 64) & 0x3fffff
	v.NICs[len(v.NICs)-1].MACAddress = fmt.Sprintf("00:50:56:%02x:%02x:%02x", 0x80|m>>16, (m>>8)&0xff, m&0xff)
	return strconv.Itoa(key), nil
}

func handlePatchNIC(s *Server, c *call) (any, *vapiError) {
	const method = "::Com::Vmware::Vcenter::Vm::Hardware::EthernetSvc::Update"
	v, err := s.changeableVM(c)
	if err != nil {
		return nil, err
	}
	i, err := nicOf(v, c)
	if err != nil {
		return nil, err
	}
	var spec struct {
		UPTCompatibilityEnabled *bool           `json:"upt_compatibility_enabled"`
		MACType                 string          `json:"mac_type"`
		MACAddress              string          `json:"mac_address"`
		WakeOnLANEnabled        *bool           `json:"wake_on_lan_enabled"`
		Backing                 *nicBackingSpec `json:"backing"`
		StartConnected          *bool           `json:"start_connected"`
		AllowGuestControl       *bool           `json:"allow_guest_control"`
	}
	if e := decodeVAPIBody(c, method, "spec", &spec); e != nil {
		return nil, e
	}
	n := &v.NICs[i]
	if spec.Backing != nil {
		network, e := s.nicNetwork(v, *spec.Backing)
		if e != nil {
			return nil, e
		}
		n.Network = network
	}
	if spec.StartConnected != nil {
		n.StartConnected = *spec.StartConnected
	}
	return nil, nil
}

func handleDeleteNIC(s *Server, c *call) (any, *vapiError) {
	v, err := s.changeableVM(c)
	if err != nil {
		return nil, err
	}
	i, err := nicOf(v, c)
	if err != nil {
		return nil, err
	}
	v.NICs = slices.Delete(v.NICs, i, i+1)
	return nil, nil
}

// --- ISO images from a content library (§3.1.4) ---

// handleISOMount is POST /api/vcenter/iso/image?action=mount
// {library_item, vm} (/rest: the item in the path, {vm} in the body): it
// creates a SATA CD-ROM backed by the item's ISO, connected if the VM runs,
// and answers its id.
func handleISOMount(s *Server, c *call) (any, *vapiError) {
	const method = "::Com::Vmware::Vcenter::Iso::ImageSvc::Mount"
	var body struct {
		LibraryItem string `json:"library_item"`
		VM          string `json:"vm"`
	}
	if e := decodeVAPIBody(c, method, "", &body); e != nil {
		return nil, e
	}
	if c.surface == surfaceREST {
		if body.LibraryItem != "" {
			return nil, errInvalidInput(method)
		}
		body.LibraryItem = c.param("library_item")
	}
	if body.LibraryItem == "" || body.VM == "" {
		return nil, errInvalidInput(method)
	}
	it := s.chg.items[body.LibraryItem]
	v := s.inv.vms[body.VM]
	switch {
	case it == nil:
		return nil, newVAPIError("NOT_FOUND", "com.vmware.vcenter.iso.item_not_found", fmt.Sprintf("Library item '%s' does not exist.", body.LibraryItem), body.LibraryItem)
	case v == nil:
		return nil, errVMNotFound(body.VM)
	case it.kind != "iso":
		return nil, errInvalidArgument("No .iso file is present on the library item '%s'.", it.id)
	case s.busyTask(v.ID) != nil:
		return nil, errVMBusy(v.ID)
	}
	if why := hotPlugRefusal(v, "SATA"); why != "" {
		return nil, errDeviceState(why)
	}
	cd, e := addCdrom(v, "SATA")
	if e != nil {
		return nil, e
	}
	cd.ISOFile, cd.LibraryItem, cd.StartConnected = s.isoPath(it), it.id, true
	cd.Connected = v.PowerState == PoweredOn
	return strconv.Itoa(cd.Key), nil
}

// handleISOUnmount is POST /api/vcenter/iso/image?action=unmount {vm, cdrom}
// (/rest: the VM in the path, {cdrom} in the body): it removes a CD-ROM an
// ISO mount created; any other drive is INVALID_ARGUMENT (the simulator's
// choice).
func handleISOUnmount(s *Server, c *call) (any, *vapiError) {
	const method = "::Com::Vmware::Vcenter::Iso::ImageSvc::Unmount"
	var body struct {
		VM    string `json:"vm"`
		CDROM string `json:"cdrom"`
	}
	if e := decodeVAPIBody(c, method, "", &body); e != nil {
		return nil, e
	}
	if c.surface == surfaceREST {
		if body.VM != "" {
			return nil, errInvalidInput(method)
		}
		body.VM = c.param("vm")
	}
	v := s.inv.vms[body.VM]
	if v == nil {
		return nil, errVMNotFound(body.VM)
	}
	if s.busyTask(v.ID) != nil {
		return nil, errVMBusy(v.ID)
	}
	key, _ := strconv.Atoi(body.CDROM)
	i := slices.IndexFunc(v.CDROMs, func(cd CDROM) bool { return cd.Key == key && body.CDROM == strconv.Itoa(key) })
	switch {
	case i < 0:
		return nil, errDeviceNotFound("cdrom", v.ID, body.CDROM)
	case v.CDROMs[i].LibraryItem == "":
		return nil, errInvalidArgument("CD-ROM '%s' of virtual machine '%s' was not mounted from a library item.", body.CDROM, v.ID)
	}
	if why := hotPlugRefusal(v, v.CDROMs[i].Type); why != "" {
		return nil, errDeviceState(why)
	}
	v.CDROMs = slices.Delete(v.CDROMs, i, i+1)
	return nil, nil
}

// deviceRoutes lists the device operations in both dialects: connect and
// disconnect are ?action= on /api and path segments on /rest (contract
// changes §3.1).
func deviceRoutes(add func(method, pattern, action string, h vapiHandler) *route) {
	get, post, patch, del := http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	for _, prefix := range []string{"/api", "/rest"} {
		hw := prefix + "/vcenter/vm/{vm}/hardware"
		add(get, hw+"/cdrom", "", handleListCdroms)
		add(post, hw+"/cdrom", "", handleCreateCdrom).created = true
		add(get, hw+"/cdrom/{cdrom}", "", handleGetCdrom)
		add(patch, hw+"/cdrom/{cdrom}", "", handlePatchCdrom)
		add(del, hw+"/cdrom/{cdrom}", "", handleDeleteCdrom)
		add(get, hw+"/disk", "", handleListDisks)
		add(post, hw+"/disk", "", handleCreateDisk).created = true
		add(get, hw+"/disk/{disk}", "", handleGetDisk)
		add(patch, hw+"/disk/{disk}", "", handlePatchDisk)
		add(del, hw+"/disk/{disk}", "", handleDeleteDisk)
		add(get, hw+"/ethernet", "", handleListNICs)
		add(post, hw+"/ethernet", "", handleCreateNIC).created = true
		add(get, hw+"/ethernet/{nic}", "", handleGetNIC)
		add(patch, hw+"/ethernet/{nic}", "", handlePatchNIC)
		add(del, hw+"/ethernet/{nic}", "", handleDeleteNIC)
	}
	for _, a := range []string{"connect", "disconnect"} {
		add(post, "/api/vcenter/vm/{vm}/hardware/cdrom/{cdrom}", a, connectHandler("cdrom", a == "connect"))
		add(post, "/rest/vcenter/vm/{vm}/hardware/cdrom/{cdrom}/"+a, "", connectHandler("cdrom", a == "connect"))
		add(post, "/api/vcenter/vm/{vm}/hardware/ethernet/{nic}", a, connectHandler("nic", a == "connect"))
		add(post, "/rest/vcenter/vm/{vm}/hardware/ethernet/{nic}/"+a, "", connectHandler("nic", a == "connect"))
	}
	add(post, "/api/vcenter/iso/image", "mount", handleISOMount)
	add(post, "/api/vcenter/iso/image", "unmount", handleISOUnmount)
	add(post, "/rest/com/vmware/vcenter/iso/image/id:{library_item}", "mount", handleISOMount).actionKey = "~action"
	add(post, "/rest/com/vmware/vcenter/iso/image/id:{vm}", "unmount", handleISOUnmount).actionKey = "~action"
}
