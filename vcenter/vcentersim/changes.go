package vcentersim

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"
)

// The change operations of shared/vcenter-api-changes.md ("changes" in
// comments): clone, content library deploy, devices, tag attach and
// detach, relocate and host maintenance mode. This file holds their state
// and the rules they share: placement, datastore space, what DRS may move.
// clone.go, library.go, devices.go, reconfig.go, relocate.go,
// maintenance.go, vapitasks.go and tagwrite.go serve them.

// changeState is the state only the change operations use. The Server's
// mutex guards it.
type changeState struct {
	libraries map[string]*library
	libOrder  []string // creation order: what the library list answers
	items     map[string]*libraryItem
	specs     []custSpec
	// vapiTasks are the Automation API's tasks (/api/cis/tasks), kept apart
	// from the vim25 tasks: TaskManager does not list them, and their ids
	// are not MoRefs.
	vapiTasks map[string]*task
	vapiSeq   int
}

// library is a content library (LibraryModel).
type library struct {
	id, name, description string
	kind                  string // LOCAL or SUBSCRIBED
	datastore             string // its storage backing
	created               time.Time
	items                 []string // creation order
}

// libraryItem is a content library item (ItemModel) and what a deploy or a
// mount needs of it.
type libraryItem struct {
	id, library, name, description string
	kind                           string // "ovf", "vm-template" or "iso" (contract changes §2.2)
	size                           int64  // bytes; 0 while not cached
	cached                         bool
	created                        time.Time
	template                       string      // vm-template: the VM template that holds it
	isoFile                        string      // iso: the file name
	ovf                            *ovfPackage // ovf: what the package deploys
}

// ovfPackage is what an OVF item deploys: one VM.
type ovfPackage struct {
	annotation string
	guest      string
	cpu, memMi int
	disksGiB   []int64
	networks   []string // OVF network section names
	eulas      []string
}

// custSpec is a stored guest customization specification.
type custSpec struct {
	name, description, osType string // osType LINUX or WINDOWS
	modified                  time.Time
}

// isoPath is where a library ISO item's file lives on its library's
// datastore: vCenter keeps library content under contentlib-<library id>.
func (s *Server) isoPath(it *libraryItem) string {
	lib := s.chg.libraries[it.library]
	return fmt.Sprintf("[%s] contentlib-%s/%s/%s", s.inv.nameOf(lib.datastore), lib.id, it.id, it.isoFile)
}

// buildChanges sets up the change operations' state; on the default
// inventory it adds what they need, after the history, so that no id the
// history or the package documentation names moves: a Templates folder
// with two classic templates, a Dev-Cluster host in maintenance mode, DRS
// automation levels, ISO files, content libraries and customization
// specifications.
func (s *Server) buildChanges(defaultInventory bool) {
	s.chg = &changeState{libraries: map[string]*library{}, items: map[string]*libraryItem{}, vapiTasks: map[string]*task{}}
	inv := s.inv
	for _, c := range inv.clusters {
		if c.drs && c.drsBehavior == "" {
			c.drsBehavior = "fullyAutomated"
		}
	}
	// A datastore that is not shared is the local disk of one host: the
	// host of the first VM on it.
	for _, v := range inv.vmOrder {
		for _, d := range v.Disks {
			if ds := inv.datastores[d.Datastore]; ds != nil && !ds.shared && ds.host == "" {
				ds.host = v.Host
			}
		}
	}
	if !defaultInventory {
		return
	}
	byName := func(name string) *vm {
		for _, v := range inv.vmOrder {
			if v.Name == name {
				return v
			}
		}
		return nil
	}
	dsNamed := func(name string) *datastore {
		for _, ds := range sortedValues(inv.datastores) {
			if ds.name == name {
				return ds
			}
		}
		return nil
	}
	for _, c := range inv.clusters {
		if c.name == "FRA-Cluster" {
			c.drsBehavior = "partiallyAutomated"
		}
	}
	if lb := byName("lb-01"); lb != nil {
		lb.DRSBehavior = "manual" // a load balancer pinned to its host
	}
	if ds := dsNamed("ldn-nfs-iso"); ds != nil {
		ds.files = []string{"iso/ubuntu-22.04.4-live-server-amd64.iso", "iso/rhel-9.3-x86_64-dvd.iso",
			"iso/virtio-win-0.1.240.iso", "patches/vmware-tools-12.4.0.iso"}
	}
	if v := byName("legacy-app-01"); v != nil && len(v.CDROMs) > 0 {
		// The Tools ISO someone left mounted.
		cd := &v.CDROMs[0]
		cd.ISOFile, cd.StartConnected, cd.Connected = "[ldn-nfs-iso] patches/vmware-tools-12.4.0.iso", true, v.PowerState == PoweredOn
	}
	if ds := dsNamed("lab-nfs-01"); ds != nil {
		ds.files = []string{"iso/VMware-VMvisor-Installer-8.0U3.iso"}
	}

	// DC-London: a Templates folder (group-v106) with a classic template
	// (vm-107), a Dev-Cluster host being patched (host-108) and the VM
	// template behind the library's vm-template item (vm-109).
	ldn := inv.datacenters["datacenter-2"]
	web01 := byName("web-01")
	if ldn == nil || web01 == nil {
		return
	}
	templates := inv.addFolder(ldn.vmFolder, "Templates")
	tpl := &vm{VM: VM{
		Name: "tpl-ubuntu-22.04", PowerState: PoweredOff, ToolsInstalled: true, GuestOS: "UBUNTU_64", HostName: "tpl-ubuntu-22.04",
		CPUCount: 2, CoresPerSocket: 1, MemoryMiB: 4096, Host: web01.Host, Folder: templates.id, ResourcePool: inv.rootPoolOf(inv.hosts[web01.Host]),
		Disks:           []Disk{{Key: 2000, Label: "Hard disk 1", CapacityBytes: 40 << 30, Datastore: web01.Disks[0].Datastore, File: "tpl-ubuntu-22.04/tpl-ubuntu-22.04.vmdk"}},
		NICs:            []NIC{{Key: 4000, Label: "Network adapter 1", Network: web01.NICs[0].Network, StartConnected: true}},
		CDROMs:          []CDROM{defaultCDROM()},
		Template:        true,
		HardwareVersion: "VMX_19", Firmware: "EFI",
	}}
	inv.file(tpl, inventoryEpoch)
	var dev *cluster
	for _, c := range inv.clusters {
		if c.name == "Dev-Cluster" {
			dev = c
		}
	}
	if dev != nil {
		inv.addHost(ldn, dev, "esx-ldn-06.corp.local", "CONNECTED").maintenance = true
	}
	golden := &vm{VM: tpl.VM}
	golden.Name, golden.HostName = "ubuntu-22.04-golden", "ubuntu-22.04-golden"
	golden.Disks = []Disk{{Key: 2000, Label: "Hard disk 1", CapacityBytes: 32 << 30, Datastore: web01.Disks[0].Datastore, File: "ubuntu-22.04-golden/ubuntu-22.04-golden.vmdk"}}
	golden.NICs = slices.Clone(tpl.NICs)
	golden.NICs[0].MACAddress = ""
	golden.CDROMs = []CDROM{defaultCDROM()}
	golden.BIOSUUID, golden.InstanceUUID = "", ""
	inv.file(golden, inventoryEpoch)

	at := func(days int) time.Time { return inventoryEpoch.Add(time.Duration(days) * 24 * time.Hour) }
	ch := s.chg
	addLib := func(name, description, kind, datastore string) *library {
		l := &library{id: uuidOf("library:" + name), name: name, description: description, kind: kind, datastore: datastore, created: at(-60)}
		ch.libraries[l.id] = l
		ch.libOrder = append(ch.libOrder, l.id)
		return l
	}
	addItem := func(l *library, it *libraryItem) {
		it.id, it.library, it.created = uuidOf("item:"+l.name+"/"+it.name), l.id, at(-30)
		ch.items[it.id] = it
		l.items = append(l.items, it.id)
	}
	vsan, iso := dsNamed("ldn-vsan"), dsNamed("ldn-nfs-iso")
	if vsan == nil || iso == nil {
		return
	}
	goldenLib := addLib("Golden Images", "Hardened templates and appliances", "LOCAL", vsan.id)
	addItem(goldenLib, &libraryItem{name: "ubuntu-22.04-golden", description: "Ubuntu 22.04 LTS, CIS level 1", kind: "vm-template",
		size: 34 << 30, cached: true, template: golden.ID})
	addItem(goldenLib, &libraryItem{name: "photon-5-appliance", description: "Photon OS 5 appliance", kind: "ovf", size: 1 << 30, cached: true,
		ovf: &ovfPackage{annotation: "Photon OS 5 appliance", guest: "VMWARE_PHOTON_64", cpu: 2, memMi: 2048, disksGiB: []int64{16}, networks: []string{"VM Network"}}})
	isoLib := addLib("ISO Images", "Installer and tools images", "LOCAL", iso.id)
	addItem(isoLib, &libraryItem{name: "ubuntu-22.04-server", description: "Ubuntu 22.04.4 live server", kind: "iso", size: 2 << 30, cached: true,
		isoFile: "ubuntu-22.04.4-live-server-amd64.iso"})
	addItem(isoLib, &libraryItem{name: "rhel-9.3-dvd", kind: "iso", size: 10 << 30, cached: true, isoFile: "rhel-9.3-x86_64-dvd.iso"})
	vendor := addLib("Vendor Appliances", "Subscribed from the vendor's library", "SUBSCRIBED", vsan.id)
	addItem(vendor, &libraryItem{name: "vendor-monitor-3.2", kind: "ovf", cached: false,
		ovf: &ovfPackage{annotation: "Vendor monitoring appliance", guest: "OTHER_3X_LINUX_64", cpu: 4, memMi: 8192, disksGiB: []int64{40}, networks: []string{"Management"},
			eulas: []string{"Vendor end-user licence agreement"}}})

	ch.specs = []custSpec{
		{name: "linux-dhcp", description: "Linux, DHCP on every NIC, host name from the VM name", osType: "LINUX", modified: at(-90)},
		{name: "linux-static-ldn", description: "Linux, static address in 10.20.0.0/16 (London)", osType: "LINUX", modified: at(-40)},
		{name: "windows-domain-join", description: "Windows, join CORP, new SID", osType: "WINDOWS", modified: at(-20)},
	}
}

// diskUsage is what a disk holds on its datastore: its capacity when
// thick, half of it when thin (the inventories' thin disks are half
// written, as VirtualMachine.summary.storage reports).
func diskUsage(d Disk) int64 {
	if d.Thick {
		return d.CapacityBytes
	}
	return d.CapacityBytes / 2
}

// visible reports whether host h mounts datastore ds: a shared datastore
// of its datacenter, or its own local one.
func (inv *inventory) visible(ds *datastore, h *host) bool {
	return ds.datacenter == h.datacenter && (ds.shared || ds.host == h.id)
}

// nameTaken reports whether a VM or template in folder is named name:
// vCenter names are unique per folder.
func (inv *inventory) nameTaken(folder, name string) bool {
	for _, v := range inv.vmOrder {
		if v.Folder == folder && v.Name == name {
			return true
		}
	}
	return false
}

// hostUnusable says why no VM may be placed on h, or "".
func hostUnusable(h *host) string {
	switch {
	case h.connection != "CONNECTED":
		return fmt.Sprintf("host %s (%s) is %s", h.name, h.id, h.connection)
	case h.maintenance:
		return fmt.Sprintf("host %s (%s) is in maintenance mode", h.name, h.id)
	}
	return ""
}

// poweredOnOn counts the powered-on VMs on a host.
func (inv *inventory) poweredOnOn(hostID string) int {
	n := 0
	for _, v := range inv.vmOrder {
		if v.Host == hostID && v.PowerState == PoweredOn {
			n++
		}
	}
	return n
}

// drsPick is where DRS places a VM in cluster c: the usable host with the
// fewest powered-on VMs, other than except and able to reach the VM's
// storage and networks (nil for a new VM); nil when there is none.
func (inv *inventory) drsPick(c *cluster, except string, v *vm) *host {
	var best *host
	for _, h := range sortedValues(inv.hosts) {
		if h.cluster != c.id || h.id == except || hostUnusable(h) != "" || v != nil && inv.cannotRun(v, h) != "" {
			continue
		}
		if best == nil || inv.poweredOnOn(h.id) < inv.poweredOnOn(best.id) {
			best = h
		}
	}
	return best
}

// cannotRun says why VM v cannot run on host h as it is (its storage or
// networks are not there), or "".
func (inv *inventory) cannotRun(v *vm, h *host) string {
	for _, d := range v.Disks {
		if ds := inv.datastores[d.Datastore]; ds != nil && !inv.visible(ds, h) {
			return fmt.Sprintf("datastore %s holding %s is not accessible from host %s", ds.name, d.Label, h.name)
		}
	}
	for _, n := range v.NICs {
		if net := inv.networks[n.Network]; net != nil && net.datacenter != h.datacenter {
			return fmt.Sprintf("network %s of %s is not available on host %s", net.name, n.Label, h.name)
		}
	}
	return ""
}

// drsLevel is the DRS automation level that applies to v: "" when DRS is
// off in its cluster (or it has none), its own override, or the
// cluster's.
func (inv *inventory) drsLevel(v *vm) string {
	h := inv.hosts[v.Host]
	if h == nil || h.cluster == "" {
		return ""
	}
	c := inv.clusters[h.cluster]
	if !c.drs {
		return ""
	}
	return cmp.Or(v.DRSBehavior, c.drsBehavior)
}

// placementSpec is the placement of /api clone and relocate
// (VcenterVMClonePlacementSpec, VcenterVMRelocatePlacementSpec) and of a
// vm-template deploy (no datastore there).
type placementSpec struct {
	Folder       string `json:"folder,omitempty"`
	ResourcePool string `json:"resource_pool,omitempty"`
	Host         string `json:"host,omitempty"`
	Cluster      string `json:"cluster,omitempty"`
	Datastore    string `json:"datastore,omitempty"`
}

// target is a resolved placement.
type target struct {
	host      *host
	pool      string
	folder    string
	datastore *datastore // nil: each disk stays where it is
}

// resolvePlacement applies the placement rules of contract changes §1.1
// and §5.1 (and §2.5 for a deploy, where from is nil and the folder is
// required). Unset fields take from's values; a field set is used as given,
// and values that contradict each other are INVALID_ARGUMENT. A pool
// without a host takes the pool's standalone host, or the host DRS picks in
// its cluster; a cluster without DRS cannot pick one (INVALID_ARGUMENT).
// Caller holds mu.
func (s *Server) resolvePlacement(p placementSpec, from *vm) (target, *vapiError) {
	inv := s.inv
	var t target
	var h *host
	var c *cluster
	if p.Host != "" {
		if h = inv.hosts[p.Host]; h == nil {
			return t, errNotFound("host", "Host", p.Host)
		}
	}
	if p.Cluster != "" {
		if c = inv.clusters[p.Cluster]; c == nil {
			return t, errNotFound("cluster", "Cluster", p.Cluster)
		}
	}
	if p.ResourcePool != "" && inv.pools[p.ResourcePool] == nil {
		return t, errNotFound("resource_pool", "Resource pool", p.ResourcePool)
	}
	if p.Folder != "" && inv.folders[p.Folder] == nil {
		return t, errNotFound("folder", "Folder", p.Folder)
	}
	if p.Datastore != "" {
		if t.datastore = inv.datastores[p.Datastore]; t.datastore == nil {
			return t, errNotFound("datastore", "Datastore", p.Datastore)
		}
	}
	t.pool = p.ResourcePool
	if t.pool == "" && c != nil && h == nil {
		t.pool = c.rootPool
	}
	switch {
	case h != nil && t.pool == "" && from != nil:
		t.pool = from.ResourcePool
	case h != nil && t.pool == "":
		t.pool = inv.rootPoolOf(h)
	case h == nil && t.pool == "" && from != nil:
		h, t.pool = inv.hosts[from.Host], from.ResourcePool
	case h == nil && t.pool == "":
		return t, errInvalidArgument("The placement needs a resource pool, a host or a cluster.")
	}
	pool := inv.pools[t.pool]
	if h == nil {
		if cr := inv.computeResources[pool.owner]; cr != nil {
			h = inv.hosts[cr.host]
		} else {
			pc := inv.clusters[pool.owner]
			if !pc.drs {
				return t, errInvalidArgument("Resource pool '%s' is in cluster '%s', which has no DRS: specify the host.", pool.id, pc.name)
			}
			if h = inv.drsPick(pc, "", from); h == nil {
				return t, newVAPIError("UNABLE_TO_ALLOCATE_RESOURCE", "com.vmware.api.vcenter.vm.placement.no_host",
					fmt.Sprintf("No host in cluster '%s' can take the virtual machine.", pc.name))
			}
		}
	}
	t.host = h
	switch {
	case pool.owner != h.owner():
		return t, errInvalidArgument("Resource pool '%s' does not belong to the compute resource of host '%s'.", pool.id, h.id)
	case c != nil && h.cluster != c.id:
		return t, errInvalidArgument("Host '%s' is not a member of cluster '%s'.", h.id, c.id)
	}
	switch {
	case p.Folder != "":
		t.folder = p.Folder
	case from != nil:
		t.folder = from.Folder
	default:
		return t, errInvalidArgument("The placement must name a virtual machine folder.")
	}
	if f := inv.folders[t.folder]; f.kind != folderVM || f.datacenter != h.datacenter {
		return t, errInvalidArgument("Folder '%s' is not a virtual machine folder of the datacenter of host '%s'.", t.folder, h.id)
	}
	return t, nil
}

// placeable checks that a new VM may go to t: its host connected and out
// of maintenance mode (NOT_ALLOWED_IN_CURRENT_STATE for a host in
// maintenance, as a deploy documents, contract changes §2.5), and its
// disks on datastores the host mounts. Caller holds mu.
func (s *Server) placeable(t target, disks []Disk) *vapiError {
	h := t.host
	if why := hostUnusable(h); why != "" {
		if h.maintenance {
			return newVAPIError("NOT_ALLOWED_IN_CURRENT_STATE", "com.vmware.api.vcenter.vm.placement.host_in_maintenance", why)
		}
		return newVAPIError("RESOURCE_INACCESSIBLE", "com.vmware.api.vcenter.vm.placement.host_inaccessible", why)
	}
	for _, d := range disks {
		if ds := s.inv.datastores[d.Datastore]; !s.inv.visible(ds, h) {
			return errInvalidArgument("Datastore '%s' is not accessible from host '%s'.", ds.id, h.id)
		}
	}
	return nil
}

// storageFits checks that the disks moved or copied onto their target
// datastores (all onto ds when set, else each onto its own) fit in the
// free space: UNABLE_TO_ALLOCATE_RESOURCE names the datastore short of it.
// copying counts disks that stay on their datastore too. Caller holds mu.
func (s *Server) storageFits(disks []Disk, ds *datastore, copying bool) *vapiError {
	need := map[string]int64{}
	for _, d := range disks {
		to := d.Datastore
		if ds != nil {
			to = ds.id
		}
		if copying || to != d.Datastore {
			need[to] += diskUsage(d)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(need)) {
		if d := s.inv.datastores[id]; d.free < need[id] {
			return newVAPIError("UNABLE_TO_ALLOCATE_RESOURCE", "com.vmware.api.vcenter.datastore.insufficient_space",
				fmt.Sprintf("Insufficient disk space on datastore '%s': %d GiB needed, %d GiB free.", d.name, ceilGiB(need[id]), d.free>>30))
		}
	}
	return nil
}

func ceilGiB(b int64) int64 { return (b + 1<<30 - 1) >> 30 }

// copyVM files a new VM built from src: the same hardware and devices
// (new MAC addresses, UUIDs and file names), placed at t with disks (src's,
// placed), powered off; the disks take their space on their datastores.
// Caller holds mu.
func (s *Server) copyVM(src *vm, name string, t target, disks []Disk) *vm {
	n := &vm{VM: src.VM}
	n.ID, n.Name, n.HostName = "", name, name
	n.Template, n.DRSBehavior, n.Customization = false, "", ""
	n.PowerState, n.ToolsRunning, n.CleanPowerOff = PoweredOff, false, false
	n.Host, n.ResourcePool, n.Folder = t.host.id, t.pool, t.folder
	n.BIOSUUID, n.InstanceUUID = "", ""
	n.Disks = slices.Clone(disks)
	for i := range n.Disks {
		d := &n.Disks[i]
		d.File = fmt.Sprintf("%s/%s.vmdk", name, name)
		if i > 0 {
			d.File = fmt.Sprintf("%s/%s_%d.vmdk", name, name, i)
		}
		s.inv.datastores[d.Datastore].free -= diskUsage(*d)
	}
	n.NICs = slices.Clone(src.NICs)
	for i := range n.NICs {
		n.NICs[i].MACAddress, n.NICs[i].Connected = "", false
	}
	n.CDROMs = slices.Clone(src.CDROMs)
	for i := range n.CDROMs {
		n.CDROMs[i].Connected = false
	}
	s.inv.file(n, s.now())
	return n
}
