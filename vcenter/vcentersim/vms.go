package vcentersim

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// vmOf finds the VM named by the {vm} path parameter. Caller holds mu.
func (s *Server) vmOf(c *call) (*vm, *vapiError) {
	v := s.inv.vms[c.param("vm")]
	if v == nil {
		return nil, errVMNotFound(c.param("vm"))
	}
	return v, nil
}

// deviceMap writes a map of devices keyed by device key in the dialect's
// shape: a JSON object on /api, a list of {key, value} on /rest (contract §2.1).
func deviceMap[T any](sf surface, m map[string]T) any {
	if sf != surfaceREST {
		return m
	}
	type entry struct {
		Key   string `json:"key"`
		Value T      `json:"value"`
	}
	out := make([]entry, 0, len(m))
	for _, k := range slices.SortedFunc(maps.Keys(m), compareIDs) {
		out = append(out, entry{k, m[k]})
	}
	return out
}

// Wire types of VM.Info (VcenterVMInfo in [S703]); JSON names as vCenter 8 sends them.

type vmInfo struct {
	GuestOS            string       `json:"guest_OS"`
	Name               string       `json:"name"`
	Identity           vmIdentity   `json:"identity"`
	PowerState         PowerState   `json:"power_state"`
	InstantCloneFrozen bool         `json:"instant_clone_frozen"`
	Hardware           hardwareInfo `json:"hardware"`
	Boot               bootInfo     `json:"boot"`
	BootDevices        []struct{}   `json:"boot_devices"`
	CPU                cpuInfo      `json:"cpu"`
	Memory             memoryInfo   `json:"memory"`
	Disks              any          `json:"disks"`
	NICs               any          `json:"nics"`
	Cdroms             any          `json:"cdroms"`
	Floppies           any          `json:"floppies"`
	ParallelPorts      any          `json:"parallel_ports"`
	SerialPorts        any          `json:"serial_ports"`
	SataAdapters       any          `json:"sata_adapters"`
	ScsiAdapters       any          `json:"scsi_adapters"`
	NvmeAdapters       any          `json:"nvme_adapters"`
}

type vmIdentity struct {
	Name         string `json:"name"`
	BIOSUUID     string `json:"bios_uuid"`
	InstanceUUID string `json:"instance_uuid"`
}

type hardwareInfo struct {
	Version       string `json:"version"`
	UpgradePolicy string `json:"upgrade_policy"`
	UpgradeStatus string `json:"upgrade_status"`
}

type bootInfo struct {
	Type           string `json:"type"`
	EFILegacyBoot  *bool  `json:"efi_legacy_boot,omitempty"`
	Delay          int    `json:"delay"`
	Retry          bool   `json:"retry"`
	RetryDelay     int    `json:"retry_delay"`
	EnterSetupMode bool   `json:"enter_setup_mode"`
}

type cpuInfo struct {
	Count            int  `json:"count"`
	CoresPerSocket   int  `json:"cores_per_socket"`
	HotAddEnabled    bool `json:"hot_add_enabled"`
	HotRemoveEnabled bool `json:"hot_remove_enabled"`
}

// memoryInfo is Memory.Info. The hot-add increment and limit are set only
// when hot-add is enabled and the VM is running ([S703]).
type memoryInfo struct {
	SizeMiB                int  `json:"size_MiB"`
	HotAddEnabled          bool `json:"hot_add_enabled"`
	HotAddIncrementSizeMiB *int `json:"hot_add_increment_size_MiB,omitempty"`
	HotAddLimitMiB         *int `json:"hot_add_limit_MiB,omitempty"`
}

type scsiAddress struct {
	Bus  int `json:"bus"`
	Unit int `json:"unit"`
}

type diskInfo struct {
	Label    string      `json:"label"`
	Type     string      `json:"type"`
	SCSI     scsiAddress `json:"scsi"`
	Backing  diskBacking `json:"backing"`
	Capacity int64       `json:"capacity"`
}

type diskBacking struct {
	Type     string `json:"type"`
	VMDKFile string `json:"vmdk_file"`
}

type nicInfo struct {
	Label                   string     `json:"label"`
	Type                    string     `json:"type"`
	UPTCompatibilityEnabled bool       `json:"upt_compatibility_enabled"`
	MACType                 string     `json:"mac_type"`
	MACAddress              string     `json:"mac_address"`
	PCISlotNumber           int        `json:"pci_slot_number"`
	WakeOnLANEnabled        bool       `json:"wake_on_lan_enabled"`
	Backing                 nicBacking `json:"backing"`
	State                   string     `json:"state"`
	StartConnected          bool       `json:"start_connected"`
	AllowGuestControl       bool       `json:"allow_guest_control"`
}

type nicBacking struct {
	Type                  string `json:"type"`
	Network               string `json:"network"`
	NetworkName           string `json:"network_name,omitempty"`
	DistributedSwitchUUID string `json:"distributed_switch_uuid,omitempty"`
	DistributedPort       string `json:"distributed_port,omitempty"`
	ConnectionCookie      *int64 `json:"connection_cookie,omitempty"`
}

type cdromInfo struct {
	Type              string       `json:"type"`
	Label             string       `json:"label"`
	SATA              *scsiAddress `json:"sata,omitempty"`
	IDE               *ideAddress  `json:"ide,omitempty"`
	Backing           cdromBacking `json:"backing"`
	State             string       `json:"state"`
	StartConnected    bool         `json:"start_connected"`
	AllowGuestControl bool         `json:"allow_guest_control"`
}

type cdromBacking struct {
	Type             string `json:"type"`
	ISOFile          string `json:"iso_file,omitempty"`
	DeviceAccessType string `json:"device_access_type,omitempty"`
}

// ideAddress is Vcenter.Vm.Hardware.IdeAddressInfo.
type ideAddress struct {
	Primary bool `json:"primary"`
	Master  bool `json:"master"`
}

type scsiAdapterInfo struct {
	Label         string      `json:"label"`
	Type          string      `json:"type"`
	SCSI          scsiAddress `json:"scsi"`
	PCISlotNumber int         `json:"pci_slot_number"`
	Sharing       string      `json:"sharing"`
}

type sataAdapterInfo struct {
	Label         string `json:"label"`
	Type          string `json:"type"`
	Bus           int    `json:"bus"`
	PCISlotNumber int    `json:"pci_slot_number"`
}

// noDevices is an empty device map.
type noDevices = map[string]struct{}

// vmInfoOf builds VM.Info for the dialect of the call. Caller holds mu.
func (s *Server) vmInfoOf(v *vm, sf surface) vmInfo {
	disks := make(map[string]diskInfo, len(v.Disks))
	for i, d := range v.Disks {
		disks[strconv.Itoa(d.Key)] = s.diskInfoOf(i, d)
	}
	nics := make(map[string]nicInfo, len(v.NICs))
	for i, n := range v.NICs {
		nics[strconv.Itoa(n.Key)] = s.nicInfoOf(v, i, n)
	}
	cdroms := make(map[string]cdromInfo, len(v.CDROMs))
	for _, cd := range v.CDROMs {
		cdroms[strconv.Itoa(cd.Key)] = cdromInfoOf(v, cd)
	}
	scsi := map[string]scsiAdapterInfo{"1000": {
		Label: "SCSI controller 0", Type: "PVSCSI", SCSI: scsiAddress{Bus: 0, Unit: 7}, PCISlotNumber: 160, Sharing: "NONE",
	}}
	sata := map[string]sataAdapterInfo{"15000": {Label: "SATA controller 0", Type: "AHCI", Bus: 0, PCISlotNumber: 32}}

	boot := bootInfo{Type: v.Firmware, RetryDelay: 10000}
	if v.Firmware == "EFI" {
		legacy := false
		boot.EFILegacyBoot = &legacy
	}
	return vmInfo{
		GuestOS: v.GuestOS, Name: v.Name, PowerState: v.PowerState,
		Identity:    vmIdentity{Name: v.Name, BIOSUUID: v.BIOSUUID, InstanceUUID: v.InstanceUUID},
		Hardware:    hardwareInfo{Version: v.HardwareVersion, UpgradePolicy: "NEVER", UpgradeStatus: "NONE"},
		Boot:        boot,
		BootDevices: []struct{}{},
		CPU:         cpuInfoOf(v),
		Memory:      memoryInfoOf(v),
		Disks:       deviceMap(sf, disks),
		NICs:        deviceMap(sf, nics),
		Cdroms:      deviceMap(sf, cdroms),
		Floppies:    deviceMap(sf, noDevices{}), ParallelPorts: deviceMap(sf, noDevices{}),
		SerialPorts: deviceMap(sf, noDevices{}), NvmeAdapters: deviceMap(sf, noDevices{}),
		SataAdapters: deviceMap(sf, sata),
		ScsiAdapters: deviceMap(sf, scsi),
	}
}

// diskInfoOf is the Disk.Info of the VM's i-th disk: on SCSI bus 0, one
// unit per disk.
func (s *Server) diskInfoOf(i int, d Disk) diskInfo {
	return diskInfo{
		Label: d.Label, Type: "SCSI", SCSI: scsiAddress{Bus: 0, Unit: scsiUnit(i)},
		Backing:  diskBacking{Type: "VMDK_FILE", VMDKFile: fmt.Sprintf("[%s] %s", s.inv.nameOf(d.Datastore), d.File)},
		Capacity: d.CapacityBytes,
	}
}

func (s *Server) nicInfoOf(v *vm, i int, n NIC) nicInfo {
	info := nicInfo{
		Label: n.Label, Type: "VMXNET3", MACType: "ASSIGNED", MACAddress: n.MACAddress, PCISlotNumber: 192 + 32*i,
		State: "NOT_CONNECTED", StartConnected: n.StartConnected, AllowGuestControl: true,
		Backing: nicBacking{Type: "STANDARD_PORTGROUP", Network: n.Network},
	}
	if v.PowerState == PoweredOn && n.Connected {
		info.State = "CONNECTED"
	}
	if net := s.inv.networks[n.Network]; net != nil {
		info.Backing.Type = net.kind
		if net.kind == "DISTRIBUTED_PORTGROUP" {
			cookie := int64(idNumber(v.ID))*7919 + int64(i)
			info.Backing.DistributedSwitchUUID = net.dvsUUID
			info.Backing.DistributedPort = strconv.Itoa(idNumber(v.ID) % 512)
			info.Backing.ConnectionCookie = &cookie
		} else {
			info.Backing.NetworkName = net.name
		}
	}
	return info
}

func cpuInfoOf(v *vm) cpuInfo {
	return cpuInfo{Count: v.CPUCount, CoresPerSocket: v.CoresPerSocket, HotAddEnabled: v.CPUHotAdd, HotRemoveEnabled: v.CPUHotRemove}
}

func memoryInfoOf(v *vm) memoryInfo {
	m := memoryInfo{SizeMiB: v.MemoryMiB, HotAddEnabled: v.MemoryHotAdd}
	if v.MemoryHotAdd && v.PowerState == PoweredOn {
		inc, limit := memoryHotAddIncrementMiB, v.hotAddLimitMiB
		m.HotAddIncrementSizeMiB, m.HotAddLimitMiB = &inc, &limit
	}
	return m
}

// handleGetVM is GET /api/vcenter/vm/{vm}: VM.Info, with device maps in the
// dialect's shape. There is no vm id in Info: it is the path parameter.
func handleGetVM(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	return s.vmInfoOf(v, c.surface), nil
}

// guestOSNames gives the family and display name of the guest OS ids the
// simulator's inventories use (vim25 guest ids and their UI labels).
var guestOSNames = map[string]struct{ family, vimID, label string }{
	"UBUNTU_64":           {"LINUX", "ubuntu64Guest", "Ubuntu Linux (64-bit)"},
	"RHEL_8_64":           {"LINUX", "rhel8_64Guest", "Red Hat Enterprise Linux 8 (64-bit)"},
	"RHEL_9_64":           {"LINUX", "rhel9_64Guest", "Red Hat Enterprise Linux 9 (64-bit)"},
	"CENTOS_6_64":         {"LINUX", "centos6_64Guest", "CentOS 6 (64-bit)"},
	"CENTOS_7_64":         {"LINUX", "centos7_64Guest", "CentOS 7 (64-bit)"},
	"CENTOS_8_64":         {"LINUX", "centos8_64Guest", "CentOS 8 (64-bit)"},
	"DEBIAN_11_64":        {"LINUX", "debian11_64Guest", "Debian GNU/Linux 11 (64-bit)"},
	"SLES_15_64":          {"LINUX", "sles15_64Guest", "SUSE Linux Enterprise 15 (64-bit)"},
	"VMWARE_PHOTON_64":    {"LINUX", "vmwarePhoton64Guest", "VMware Photon OS (64-bit)"},
	"OTHER_3X_LINUX_64":   {"LINUX", "other3xLinux64Guest", "Other 3.x Linux (64-bit)"},
	"WINDOWS_SERVER_2019": {"WINDOWS", "windows2019srv_64Guest", "Microsoft Windows Server 2019 (64-bit)"},
	"WINDOWS_9_SERVER_64": {"WINDOWS", "windows9Server64Guest", "Microsoft Windows Server 2016 or later (64-bit)"},
	"WINDOWS_9_64":        {"WINDOWS", "windows9_64Guest", "Microsoft Windows 10 (64-bit)"},
	"VMKERNEL_7":          {"OTHER", "vmkernel7Guest", "VMware ESXi 7.0 or later"},
}

func guestOSName(id string) (family, vimID, label string) {
	if g, ok := guestOSNames[id]; ok {
		return g.family, g.vimID, g.label
	}
	return "OTHER", "otherGuest", "Other (32-bit)"
}

type guestIdentity struct {
	Name      string             `json:"name"`
	Family    string             `json:"family"`
	FullName  localizableMessage `json:"full_name"`
	HostName  string             `json:"host_name"`
	IPAddress string             `json:"ip_address,omitempty"`
}

// handleGetGuestIdentity is GET .../guest/identity: what VMware Tools
// reports, so SERVICE_UNAVAILABLE when Tools is not running.
func handleGetGuestIdentity(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	if !v.ToolsRunning {
		return nil, errToolsNotRunning(v.ID)
	}
	family, vimID, label := guestOSName(v.GuestOS)
	return guestIdentity{
		Name: v.GuestOS, Family: family, HostName: v.HostName, IPAddress: v.IPAddress,
		FullName: localizableMessage{ID: "vmsg.guestos." + vimID + ".label", DefaultMessage: label, Args: []string{}},
	}, nil
}

type toolsInfo struct {
	AutoUpdateSupported bool   `json:"auto_update_supported"`
	InstallAttemptCount *int   `json:"install_attempt_count,omitempty"`
	VersionNumber       *int   `json:"version_number,omitempty"`
	Version             string `json:"version,omitempty"`
	UpgradePolicy       string `json:"upgrade_policy"`
	VersionStatus       string `json:"version_status"`
	InstallType         string `json:"install_type,omitempty"`
	RunState            string `json:"run_state"`
}

// handleGetTools is GET .../tools.
func handleGetTools(s *Server, c *call) (any, *vapiError) {
	v, err := s.vmOf(c)
	if err != nil {
		return nil, err
	}
	info := toolsInfo{UpgradePolicy: "MANUAL", VersionStatus: "NOT_INSTALLED", RunState: "NOT_RUNNING"}
	if v.ToolsInstalled {
		family, _, _ := guestOSName(v.GuestOS)
		n, attempts := 12384, 0 // VMware Tools 12.4.0
		info.VersionNumber, info.Version, info.InstallAttemptCount = &n, strconv.Itoa(n), &attempts
		info.VersionStatus, info.InstallType = "UNMANAGED", "OPEN_VM_TOOLS"
		if family == "WINDOWS" {
			info.VersionStatus, info.InstallType, info.AutoUpdateSupported = "CURRENT", "MSI", true
		}
	}
	if v.ToolsRunning {
		info.RunState = "RUNNING"
	}
	return info, nil
}
