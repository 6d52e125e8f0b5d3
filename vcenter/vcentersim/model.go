package vcentersim

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PowerState is a VM power state, spelled as the Automation API spells it.
type PowerState string

// The VM power states.
const (
	PoweredOn  PowerState = "POWERED_ON"
	PoweredOff PowerState = "POWERED_OFF"
	Suspended  PowerState = "SUSPENDED"
)

// vim returns the vim25 spelling (VirtualMachinePowerState).
func (p PowerState) vim() string {
	switch p {
	case PoweredOn:
		return "poweredOn"
	case Suspended:
		return "suspended"
	default:
		return "poweredOff"
	}
}

// VM is a copy of one simulated virtual machine. [Server.VM] and [Server.VMs]
// return copies; [Server.UpdateVM] and [Server.AddVM] take them.
type VM struct {
	ID   string // managed object id, "vm-42"; assigned by the simulator
	Name string

	PowerState PowerState
	// CleanPowerOff reports whether the last power-off was a guest shutdown
	// (Power.Info.clean_power_off); meaningful only when powered off.
	CleanPowerOff bool

	// ToolsInstalled says VMware Tools is installed in the guest; ToolsRunning
	// that it is running now, which needs the VM powered on. Powering on
	// starts Tools when installed; powering off or suspending stops them.
	ToolsInstalled bool
	ToolsRunning   bool

	GuestOS   string // Automation API guest OS id, e.g. "UBUNTU_64" (VcenterVmGuestOS)
	HostName  string // guest host name, as VMware Tools reports it
	IPAddress string // primary guest IP address, as VMware Tools reports it

	CPUCount       int
	CoresPerSocket int
	CPUHotAdd      bool
	CPUHotRemove   bool
	MemoryMiB      int // configured memory in MiB
	MemoryHotAdd   bool

	// Placement. Host, Folder and ResourcePool are ids the simulator checks;
	// Cluster and Datacenter are derived from Host (empty Cluster for a
	// standalone host) and ignored by UpdateVM and AddVM.
	Host         string
	Cluster      string
	Datacenter   string
	Folder       string
	ResourcePool string
	// Datastores lists, in disk order without repeats, the datastores that
	// hold the VM's disks. Derived from Disks; ignored by UpdateVM and AddVM.
	Datastores []string

	Disks  []Disk
	NICs   []NIC
	CDROMs []CDROM

	// Template marks a classic VM template (config.template): the VM list
	// of the Automation API leaves it out (contract changes §9.3) and it
	// cannot be powered on; CloneVM_Task deploys from it.
	Template bool
	// DRSBehavior overrides the cluster's DRS automation level for this VM
	// (ClusterDrsVmConfigInfo.behavior): "manual", "partiallyAutomated" or
	// "fullyAutomated"; "" follows the cluster.
	DRSBehavior string
	// Customization is the guest customization specification set on the
	// VM (PUT .../guest/customization, or a clone or deploy with one): it
	// runs in the guest at the next power-on, then clears.
	Customization string

	HardwareVersion string // VcenterVmHardwareVersion, e.g. "VMX_19"
	Firmware        string // "BIOS" or "EFI"
	BIOSUUID        string
	InstanceUUID    string
}

// Disk is one virtual disk of a [VM].
type Disk struct {
	Key           int    // device key, 2000 and up
	Label         string // "Hard disk 1"
	CapacityBytes int64
	Datastore     string // datastore id
	File          string // "vm/vm.vmdk", the path inside the datastore
	// Thick marks a thick-provisioned disk, which holds its whole capacity
	// on the datastore; a thin one (the default) holds what was written,
	// taken as half its capacity.
	Thick bool
}

// NIC is one virtual Ethernet adapter of a [VM].
type NIC struct {
	Key        int    // device key, 4000 and up
	Label      string // "Network adapter 1"
	Network    string // network or distributed portgroup id
	MACAddress string
	// StartConnected connects the NIC at power-on; Connected is its state
	// now, which only a powered-on VM can have.
	StartConnected bool
	Connected      bool
}

// CDROM is one virtual CD/DVD drive of a [VM].
type CDROM struct {
	Key   int    // device key: 16000 and up on SATA, 3000 and up on IDE
	Label string // "CD/DVD drive 1"
	Type  string // "SATA" or "IDE"
	// ISOFile is the ISO image backing the drive, "[datastore] path/x.iso";
	// "" for the client device (nothing inserted).
	ISOFile string
	// LibraryItem is the content library item the drive was created for
	// by an ISO mount (POST /api/vcenter/iso/image?action=mount); only
	// such a drive can be unmounted that way.
	LibraryItem       string
	StartConnected    bool
	Connected         bool // only while the VM is powered on
	AllowGuestControl bool
}

// Snapshot is one node of a VM's snapshot tree, as [Server.Snapshots] returns it.
type Snapshot struct {
	ID          string // VirtualMachineSnapshot managed object id, "snapshot-7"
	Number      int    // VirtualMachineSnapshotTree.id: per VM, from 1
	VM          string
	Name        string // as vCenter stores it: / \ and a stray % escaped (snapshots.go)
	Description string
	Parent      string // parent snapshot id; "" for a root
	Current     bool   // the VM's current snapshot
	State       string // VM power state when taken: "poweredOn", "poweredOff" or "suspended"
	Quiesced    bool
	CreateTime  time.Time
}

// inventory is the simulated vCenter object tree. The Server's mutex guards it.
type inventory struct {
	seq     int // the vpxd entity counter: every inventory object takes the next value
	snapSeq int // VirtualMachineSnapshot ids

	rootFolder string

	datacenters      map[string]*datacenter
	folders          map[string]*folder
	clusters         map[string]*cluster
	computeResources map[string]*computeResource
	hosts            map[string]*host
	pools            map[string]*resourcePool
	datastores       map[string]*datastore
	networks         map[string]*network
	vms              map[string]*vm
	vmOrder          []*vm // ascending id: the order lists answer in
	snapshots        map[string]*snapshot
}

// Folder types, as the Automation API spells them (VcenterFolderType).
const (
	folderDatacenter = "DATACENTER"
	folderDatastore  = "DATASTORE"
	folderHost       = "HOST"
	folderNetwork    = "NETWORK"
	folderVM         = "VIRTUAL_MACHINE"
)

type datacenter struct {
	id, name                                             string
	folder                                               string // parent folder
	vmFolder, hostFolder, datastoreFolder, networkFolder string
}

type folder struct {
	id, name   string
	kind       string // folderVM, ...
	parent     string // parent folder id; "" for the root folder and a datacenter's root folders
	datacenter string // "" for the root folder
}

type cluster struct {
	id, name   string
	datacenter string
	folder     string
	drs, ha    bool
	rootPool   string
	// drsBehavior is the default DRS automation level when drs is on:
	// "fullyAutomated", "partiallyAutomated" or "manual" (DrsBehavior).
	drsBehavior string
}

// computeResource is the ComputeResource ("domain-s…") vCenter creates around
// a standalone host. It is not a cluster and never appears in the cluster list.
type computeResource struct {
	id, name   string
	datacenter string
	folder     string
	rootPool   string
	host       string
}

type host struct {
	id, name        string
	datacenter      string
	cluster         string // "" for a standalone host
	computeResource string // the domain-s id of a standalone host
	connection      string // CONNECTED, DISCONNECTED, NOT_RESPONDING
	power           string // POWERED_ON, POWERED_OFF, STANDBY
	maintenance     bool   // runtime.inMaintenanceMode
}

// owner returns the cluster or standalone compute resource the host belongs to.
func (h *host) owner() string {
	if h.cluster != "" {
		return h.cluster
	}
	return h.computeResource
}

type resourcePool struct {
	id, name   string
	datacenter string
	owner      string // cluster or compute resource id
	parent     string // parent pool; "" for the root "Resources" pool
	children   []string
	shares     string // LOW, NORMAL, HIGH
}

type datastore struct {
	id, name   string
	kind       string // VMFS, NFS, NFS41, VSAN, ...
	datacenter string
	folder     string
	capacity   int64 // bytes
	free       int64 // bytes
	shared     bool  // multiple_host_access
	// host is the one host that mounts a datastore that is not shared
	// (its local disk); "" for a shared datastore.
	host string
	// files are the ISO images stored on the datastore, by path inside it.
	files []string
}

type network struct {
	id, name   string
	kind       string // STANDARD_PORTGROUP, DISTRIBUTED_PORTGROUP
	datacenter string
	folder     string
	dvsUUID    string // distributed switch uuid of a distributed portgroup
}

// vm is the simulator's record of one VM: the exported fields plus runtime
// state no test sets directly.
type vm struct {
	VM

	bootTime       time.Time // when last powered on
	hotAddLimitMiB int       // memory hot-add limit fixed at power-on (16 × memory, as ESXi does)
	guestStandby   bool      // the guest was put into standby

	snapRoots  []*snapshot
	current    *snapshot
	snapNumber int // last VirtualMachineSnapshotTree.id handed out for this VM
}

type snapshot struct {
	id          string
	number      int
	vm          string
	name        string
	description string
	createTime  time.Time
	state       string // vim power state when taken
	quiesced    bool
	parent      *snapshot
	children    []*snapshot
}

// memoryHotAddIncrementMiB is the hot-add granularity ESXi reports for
// current guests (hotPlugMemoryIncrementSize).
const memoryHotAddIncrementMiB = 128

func newInventory() *inventory {
	inv := &inventory{
		datacenters:      make(map[string]*datacenter),
		folders:          make(map[string]*folder),
		clusters:         make(map[string]*cluster),
		computeResources: make(map[string]*computeResource),
		hosts:            make(map[string]*host),
		pools:            make(map[string]*resourcePool),
		datastores:       make(map[string]*datastore),
		networks:         make(map[string]*network),
		vms:              make(map[string]*vm),
		snapshots:        make(map[string]*snapshot),
	}
	root := &folder{id: inv.nextID("group-d"), name: "Datacenters", kind: folderDatacenter}
	inv.folders[root.id] = root
	inv.rootFolder = root.id
	return inv
}

// nextID hands out the next vpxd entity id with the type's prefix
// ("vm-", "host-", "group-v", "domain-c", ...). vCenter numbers all inventory
// objects from one sequence, so ids of different types interleave.
func (inv *inventory) nextID(prefix string) string {
	inv.seq++
	return prefix + strconv.Itoa(inv.seq)
}

// idNumber returns the numeric tail of a managed object id ("domain-c8" → 8).
func idNumber(id string) int {
	i := strings.LastIndexFunc(id, func(r rune) bool { return r < '0' || r > '9' })
	n, _ := strconv.Atoi(id[i+1:])
	return n
}

// compareIDs orders managed object ids the way the simulator answers lists:
// by their number, which is creation order.
func compareIDs(a, b string) int {
	return cmp.Or(cmp.Compare(idNumber(a), idNumber(b)), strings.Compare(a, b))
}

func (inv *inventory) addDatacenter(name string) *datacenter {
	dc := &datacenter{id: inv.nextID("datacenter-"), name: name, folder: inv.rootFolder}
	inv.datacenters[dc.id] = dc
	mk := func(prefix, name, kind string) string {
		f := &folder{id: inv.nextID(prefix), name: name, kind: kind, datacenter: dc.id}
		inv.folders[f.id] = f
		return f.id
	}
	dc.vmFolder = mk("group-v", "vm", folderVM)
	dc.hostFolder = mk("group-h", "host", folderHost)
	dc.datastoreFolder = mk("group-s", "datastore", folderDatastore)
	dc.networkFolder = mk("group-n", "network", folderNetwork)
	return dc
}

func (inv *inventory) addFolder(parent, name string) *folder {
	p := inv.folders[parent]
	prefix := map[string]string{folderVM: "group-v", folderHost: "group-h", folderDatastore: "group-s", folderNetwork: "group-n", folderDatacenter: "group-d"}[p.kind]
	f := &folder{id: inv.nextID(prefix), name: name, kind: p.kind, parent: p.id, datacenter: p.datacenter}
	inv.folders[f.id] = f
	return f
}

func (inv *inventory) addCluster(dc *datacenter, name string, drs, ha bool) *cluster {
	c := &cluster{id: inv.nextID("domain-c"), name: name, datacenter: dc.id, folder: dc.hostFolder, drs: drs, ha: ha}
	inv.clusters[c.id] = c
	c.rootPool = inv.addPool(dc.id, c.id, "", "Resources", "NORMAL").id
	return c
}

func (inv *inventory) addPool(dcID, owner, parent, name, shares string) *resourcePool {
	p := &resourcePool{id: inv.nextID("resgroup-"), name: name, datacenter: dcID, owner: owner, parent: parent, shares: shares}
	inv.pools[p.id] = p
	if parent != "" {
		inv.pools[parent].children = append(inv.pools[parent].children, p.id)
	}
	return p
}

// addHost adds a host to cluster c, or standalone in dc's host folder when c is nil.
func (inv *inventory) addHost(dc *datacenter, c *cluster, name, connection string) *host {
	h := &host{datacenter: dc.id, connection: connection, name: name}
	if c != nil {
		h.id = inv.nextID("host-")
		h.cluster = c.id
	} else {
		cr := &computeResource{id: inv.nextID("domain-s"), name: name, datacenter: dc.id, folder: dc.hostFolder}
		inv.computeResources[cr.id] = cr
		h.id = inv.nextID("host-")
		h.computeResource = cr.id
		cr.host = h.id
		cr.rootPool = inv.addPool(dc.id, cr.id, "", "Resources", "NORMAL").id
	}
	if connection == "CONNECTED" {
		h.power = "POWERED_ON"
	}
	inv.hosts[h.id] = h
	return h
}

func (inv *inventory) addDatastore(dc *datacenter, name, kind string, capacityGiB, freeGiB int64, shared bool) *datastore {
	const gib = 1 << 30
	ds := &datastore{id: inv.nextID("datastore-"), name: name, kind: kind, datacenter: dc.id, folder: dc.datastoreFolder,
		capacity: capacityGiB * gib, free: freeGiB * gib, shared: shared}
	inv.datastores[ds.id] = ds
	return ds
}

func (inv *inventory) addNetwork(dc *datacenter, name, kind, dvsUUID string) *network {
	prefix := "network-"
	if kind == "DISTRIBUTED_PORTGROUP" {
		prefix = "dvportgroup-"
	}
	n := &network{id: inv.nextID(prefix), name: name, kind: kind, datacenter: dc.id, folder: dc.networkFolder, dvsUUID: dvsUUID}
	inv.networks[n.id] = n
	return n
}

// insertVM files a new VM under a fresh id. The caller has filled in a
// consistent placement.
func (inv *inventory) insertVM(v *vm) {
	v.ID = inv.nextID("vm-")
	inv.vms[v.ID] = v
	inv.vmOrder = append(inv.vmOrder, v) // ids only grow, so the order holds
}

func (inv *inventory) deleteVM(id string) {
	v := inv.vms[id]
	if v == nil {
		return
	}
	for _, sn := range v.allSnapshots() {
		delete(inv.snapshots, sn.id)
	}
	delete(inv.vms, id)
	inv.vmOrder = slices.DeleteFunc(inv.vmOrder, func(x *vm) bool { return x.ID == id })
}

// clusterOf returns the cluster of the VM's host ("" for a standalone host).
func (inv *inventory) clusterOf(v *vm) string {
	if h := inv.hosts[v.Host]; h != nil {
		return h.cluster
	}
	return ""
}

// datacenterOf returns the VM's datacenter, found through its folder.
func (inv *inventory) datacenterOf(v *vm) string {
	if f := inv.folders[v.Folder]; f != nil {
		return f.datacenter
	}
	return ""
}

// export returns a deep copy of the VM with its derived fields filled in.
func (inv *inventory) export(v *vm) VM {
	out := v.VM
	out.Disks = slices.Clone(v.Disks)
	out.NICs = slices.Clone(v.NICs)
	out.CDROMs = slices.Clone(v.CDROMs)
	out.Cluster = inv.clusterOf(v)
	out.Datacenter = inv.datacenterOf(v)
	out.Datastores = v.datastores()
	return out
}

// datastores lists the datastores of the VM's disks, in disk order, without repeats.
func (v *vm) datastores() []string {
	out := make([]string, 0, 1)
	for _, d := range v.Disks {
		if !slices.Contains(out, d.Datastore) {
			out = append(out, d.Datastore)
		}
	}
	return out
}

// setPower moves the VM to state p with the side effects vSphere has on
// VMware Tools, the memory hot-add limit and the guest.
func (v *vm) setPower(p PowerState, now time.Time, clean bool) {
	if p == PoweredOn && v.PowerState != PoweredOn {
		v.bootTime = now
		v.hotAddLimitMiB = min(16*v.MemoryMiB, maxMemoryMiB)
	}
	if p == PoweredOn && v.PowerState != PoweredOn {
		// Devices connect as configured, and a pending guest
		// customization runs.
		for i := range v.NICs {
			v.NICs[i].Connected = v.NICs[i].StartConnected
		}
		for i := range v.CDROMs {
			v.CDROMs[i].Connected = v.CDROMs[i].StartConnected
		}
		v.Customization = ""
	}
	if p != PoweredOn {
		for i := range v.NICs {
			v.NICs[i].Connected = false
		}
		for i := range v.CDROMs {
			v.CDROMs[i].Connected = false
		}
	}
	v.PowerState = p
	v.ToolsRunning = p == PoweredOn && v.ToolsInstalled
	v.guestStandby = false
	if p == PoweredOff {
		v.CleanPowerOff = clean
	}
}

// allSnapshots walks the snapshot tree depth first, parents before children.
func (v *vm) allSnapshots() []*snapshot {
	var out []*snapshot
	var walk func([]*snapshot)
	walk = func(list []*snapshot) {
		for _, sn := range list {
			out = append(out, sn)
			walk(sn.children)
		}
	}
	walk(v.snapRoots)
	return out
}

func (sn *snapshot) export(current *snapshot) Snapshot {
	out := Snapshot{
		ID: sn.id, Number: sn.number, VM: sn.vm, Name: sn.name, Description: sn.description,
		Current: sn == current, State: sn.state, Quiesced: sn.quiesced, CreateTime: sn.createTime,
	}
	if sn.parent != nil {
		out.Parent = sn.parent.id
	}
	return out
}
