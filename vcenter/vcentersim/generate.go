package vcentersim

import (
	"cmp"
	"fmt"
	"time"
)

// vmSpec is what the inventory builders say about a VM; newVM turns it into
// a complete record.
type vmSpec struct {
	name         string
	host         *host
	folder       string
	pool         string // "" = the root pool of the host's cluster or compute resource
	power        PowerState
	tools        toolsState
	guest        string
	cpu, cps     int
	cpuHotAdd    bool
	cpuHotRemove bool
	memMiB       int
	memHotAdd    bool
	disksGiB     []int64
	datastore    *datastore
	network      *network
	efi          bool
	cleanOff     bool
}

type toolsState int

const (
	toolsRunning      toolsState = iota // installed, and running whenever the VM is on
	toolsNotRunning                     // installed but not running (crashed or stopped in the guest)
	toolsNotInstalled                   // not installed
)

// newVM builds and files the VM record for spec. bootTime is when a
// powered-on VM started.
func (inv *inventory) newVM(spec vmSpec, bootTime time.Time) *vm {
	v := &vm{VM: VM{
		Name:            spec.name,
		PowerState:      spec.power,
		CleanPowerOff:   spec.cleanOff,
		ToolsInstalled:  spec.tools != toolsNotInstalled,
		ToolsRunning:    spec.tools == toolsRunning && spec.power == PoweredOn,
		GuestOS:         spec.guest,
		HostName:        spec.name,
		CPUCount:        spec.cpu,
		CoresPerSocket:  max(spec.cps, 1),
		CPUHotAdd:       spec.cpuHotAdd,
		CPUHotRemove:    spec.cpuHotRemove,
		MemoryMiB:       spec.memMiB,
		MemoryHotAdd:    spec.memHotAdd,
		Host:            spec.host.id,
		Folder:          spec.folder,
		ResourcePool:    cmp.Or(spec.pool, inv.rootPoolOf(spec.host)),
		HardwareVersion: "VMX_19",
		Firmware:        "BIOS",
	}}
	if spec.efi {
		v.Firmware = "EFI"
	}
	for i, gib := range spec.disksGiB {
		file := spec.name + "/" + spec.name + ".vmdk"
		if i > 0 {
			file = fmt.Sprintf("%s/%s_%d.vmdk", spec.name, spec.name, i)
		}
		v.Disks = append(v.Disks, Disk{
			Key: 2000 + i, Label: fmt.Sprintf("Hard disk %d", i+1),
			CapacityBytes: gib << 30, Datastore: spec.datastore.id, File: file,
		})
	}
	v.NICs = []NIC{{Key: 4000, Label: "Network adapter 1", Network: spec.network.id, StartConnected: true}}
	v.CDROMs = []CDROM{defaultCDROM()}
	inv.file(v, bootTime)
	n := idNumber(v.ID)
	v.IPAddress = fmt.Sprintf("10.%d.%d.%d", 10+idNumber(spec.network.id)%200, (n/250)%250, 10+n%240)
	return v
}

// file gives a new VM record its id and what vCenter assigns on creation
// (BIOS and instance UUIDs, MAC addresses), then powers it to its state as
// of bootTime. ToolsRunning and CleanPowerOff are kept as given.
func (inv *inventory) file(v *vm, bootTime time.Time) {
	inv.insertVM(v)
	n := idNumber(v.ID)
	v.BIOSUUID = cmp.Or(v.BIOSUUID, fmt.Sprintf("4223%04x-6b1d-2c9e-81f4-%012x", n&0xffff, n))
	v.InstanceUUID = cmp.Or(v.InstanceUUID, fmt.Sprintf("5003%04x-9e47-4a21-b8c6-%012x", n&0xffff, n))
	for i := range v.NICs {
		// vCenter assigns MACs from 00:50:56:80:00:00-00:50:56:bf:ff:ff.
		m := (4*n + i) & 0x3fffff
		v.NICs[i].MACAddress = cmp.Or(v.NICs[i].MACAddress, fmt.Sprintf("00:50:56:%02x:%02x:%02x", 0x80|m>>16, (m>>8)&0xff, m&0xff))
	}
	if v.PowerState != PoweredOff {
		power, tools := v.PowerState, v.ToolsRunning
		v.PowerState = PoweredOff
		v.setPower(PoweredOn, bootTime, false)
		v.setPower(power, bootTime, false)
		v.ToolsRunning = tools
	}
}

// defaultCDROM is the drive every VM of the inventories has: a SATA CD/DVD
// drive on the client device, nothing inserted.
func defaultCDROM() CDROM {
	return CDROM{Key: 16000, Label: "CD/DVD drive 1", Type: "SATA", AllowGuestControl: true}
}

// rootPoolOf returns the "Resources" pool of the host's cluster or compute resource.
func (inv *inventory) rootPoolOf(h *host) string {
	if h.cluster != "" {
		return inv.clusters[h.cluster].rootPool
	}
	return inv.computeResources[h.computeResource].rootPool
}

// addSnapshot files a snapshot of v as a child of parent (nil: a new root)
// and makes it current.
func (inv *inventory) addSnapshot(v *vm, parent *snapshot, name, description, state string, quiesced bool, created time.Time) *snapshot {
	inv.snapSeq++
	v.snapNumber++
	sn := &snapshot{
		id: fmt.Sprintf("snapshot-%d", inv.snapSeq), number: v.snapNumber, vm: v.ID,
		name: name, description: description, createTime: created, state: state, quiesced: quiesced, parent: parent,
	}
	if parent == nil {
		v.snapRoots = append(v.snapRoots, sn)
	} else {
		parent.children = append(parent.children, sn)
	}
	v.current = sn
	inv.snapshots[sn.id] = sn
	return sn
}

// inventoryEpoch is the fixed point the default inventory's boot and snapshot
// times count from, so the inventory is the same on every run.
var inventoryEpoch = time.Date(2025, time.March, 3, 9, 0, 0, 0, time.UTC)

// buildDefaultInventory builds the inventory documented in the package
// comment. Change the two together.
func buildDefaultInventory() *inventory {
	inv := newInventory()
	const tib = 1024

	// DC-London: two clusters and a standalone edge host.
	ldn := inv.addDatacenter("DC-London")
	ldnProd := inv.addFolder(ldn.vmFolder, "Production")
	ldnDB := inv.addFolder(ldnProd.id, "Databases")
	ldnDev := inv.addFolder(ldn.vmFolder, "Dev")
	ldnInfra := inv.addFolder(ldn.vmFolder, "Infra")
	prod := inv.addCluster(ldn, "Prod-Cluster", true, true)
	gold := inv.addPool(ldn.id, prod.id, prod.rootPool, "Gold", "HIGH")
	silver := inv.addPool(ldn.id, prod.id, prod.rootPool, "Silver", "NORMAL")
	ldn01 := inv.addHost(ldn, prod, "esx-ldn-01.corp.local", "CONNECTED")
	ldn02 := inv.addHost(ldn, prod, "esx-ldn-02.corp.local", "CONNECTED")
	ldn03 := inv.addHost(ldn, prod, "esx-ldn-03.corp.local", "CONNECTED")
	dev := inv.addCluster(ldn, "Dev-Cluster", false, true)
	devTeam := inv.addPool(ldn.id, dev.id, dev.rootPool, "Dev-Team", "LOW")
	ldn04 := inv.addHost(ldn, dev, "esx-ldn-04.corp.local", "CONNECTED")
	inv.addHost(ldn, dev, "esx-ldn-05.corp.local", "NOT_RESPONDING")
	edge := inv.addHost(ldn, nil, "esx-ldn-edge-01.corp.local", "CONNECTED")
	ldnVMFS1 := inv.addDatastore(ldn, "ldn-vmfs-01", "VMFS", 4*tib, 1650, true)
	ldnVMFS2 := inv.addDatastore(ldn, "ldn-vmfs-02", "VMFS", 2*tib, 58, true) // near full: 97 % used
	inv.addDatastore(ldn, "ldn-nfs-iso", "NFS", 1*tib, 412, true)
	ldnVSAN := inv.addDatastore(ldn, "ldn-vsan", "VSAN", 16*tib, 9*tib, true)
	edgeLocal := inv.addDatastore(ldn, "esx-ldn-edge-01-local", "VMFS", 900, 610, false)
	ldnVMNet := inv.addNetwork(ldn, "VM Network", "STANDARD_PORTGROUP", "")
	inv.addNetwork(ldn, "ldn-mgmt", "STANDARD_PORTGROUP", "")
	const ldnDVS = "50 2a 6c 1e 8d 3f 4b 7a-9c 0e 5d 2f 1a 8b 3c 4d"
	ldnProdNet := inv.addNetwork(ldn, "ldn-prod-vlan100", "DISTRIBUTED_PORTGROUP", ldnDVS)
	ldnDevNet := inv.addNetwork(ldn, "ldn-dev-vlan200", "DISTRIBUTED_PORTGROUP", ldnDVS)
	inv.addNetwork(ldn, "ldn-dvs-01-DVUplinks", "DISTRIBUTED_PORTGROUP", ldnDVS)

	// DC-Frankfurt: one cluster with a disconnected host.
	fra := inv.addDatacenter("DC-Frankfurt")
	fraProd := inv.addFolder(fra.vmFolder, "Production")
	fraBatchFolder := inv.addFolder(fra.vmFolder, "Batch")
	fraCluster := inv.addCluster(fra, "FRA-Cluster", true, false)
	fraBatch := inv.addPool(fra.id, fraCluster.id, fraCluster.rootPool, "Batch", "LOW")
	fra01 := inv.addHost(fra, fraCluster, "esx-fra-01.corp.local", "CONNECTED")
	fra02 := inv.addHost(fra, fraCluster, "esx-fra-02.corp.local", "CONNECTED")
	fra03 := inv.addHost(fra, fraCluster, "esx-fra-03.corp.local", "DISCONNECTED")
	fraVMFS := inv.addDatastore(fra, "fra-vmfs-01", "VMFS", 8*tib, 5*tib, true)
	fraNFS := inv.addDatastore(fra, "fra-nfs41-01", "NFS41", 4*tib, 3*tib, true)
	fraVMNet := inv.addNetwork(fra, "VM Network", "STANDARD_PORTGROUP", "")
	fraProdNet := inv.addNetwork(fra, "fra-prod-vlan300", "DISTRIBUTED_PORTGROUP", "50 1b 3e 7a 2c 9d 4f 11-8a 6e 0b 5c 3d 2e 1f 90")

	// Lab: a small cluster and a standalone nested-ESXi host.
	lab := inv.addDatacenter("Lab")
	labK8s := inv.addFolder(lab.vmFolder, "Kubernetes")
	labLegacy := inv.addFolder(lab.vmFolder, "Legacy")
	labCluster := inv.addCluster(lab, "Lab-Cluster", false, false)
	lab01 := inv.addHost(lab, labCluster, "esx-lab-01.lab.local", "CONNECTED")
	lab02 := inv.addHost(lab, nil, "esx-lab-02.lab.local", "CONNECTED")
	labNFS := inv.addDatastore(lab, "lab-nfs-01", "NFS", 2*tib, 1200, true)
	lab02Local := inv.addDatastore(lab, "esx-lab-02-local", "VMFS", 450, 120, false)
	labNet := inv.addNetwork(lab, "VM Network", "STANDARD_PORTGROUP", "")
	labIsolated := inv.addNetwork(lab, "lab-isolated", "STANDARD_PORTGROUP", "")

	on, off, susp := PoweredOn, PoweredOff, Suspended
	specs := []vmSpec{
		// DC-London / Prod-Cluster
		{name: "web-01", host: ldn01, folder: ldnProd.id, pool: silver.id, power: on, guest: "UBUNTU_64", cpu: 2, cps: 1, cpuHotAdd: true, memMiB: 4096, memHotAdd: true, disksGiB: []int64{40}, datastore: ldnVMFS1, network: ldnProdNet, efi: true},
		{name: "web-02", host: ldn02, folder: ldnProd.id, pool: silver.id, power: on, guest: "UBUNTU_64", cpu: 2, cps: 1, cpuHotAdd: true, memMiB: 4096, memHotAdd: true, disksGiB: []int64{40}, datastore: ldnVMFS1, network: ldnProdNet, efi: true},
		{name: "web-03", host: ldn03, folder: ldnProd.id, pool: silver.id, power: on, guest: "UBUNTU_64", cpu: 2, cps: 1, cpuHotAdd: true, memMiB: 4096, memHotAdd: true, disksGiB: []int64{40}, datastore: ldnVMFS1, network: ldnProdNet, efi: true},
		{name: "web-04", host: ldn03, folder: ldnProd.id, pool: silver.id, power: off, guest: "UBUNTU_64", cpu: 2, cps: 1, cpuHotAdd: true, memMiB: 4096, memHotAdd: true, disksGiB: []int64{40}, datastore: ldnVMFS1, network: ldnProdNet, efi: true, cleanOff: true},
		{name: "app-01", host: ldn01, folder: ldnProd.id, pool: gold.id, power: on, guest: "RHEL_8_64", cpu: 4, cps: 2, memMiB: 8192, memHotAdd: true, disksGiB: []int64{60}, datastore: ldnVMFS1, network: ldnProdNet, efi: true},
		{name: "app-02", host: ldn02, folder: ldnProd.id, pool: gold.id, power: on, guest: "RHEL_8_64", cpu: 4, cps: 2, memMiB: 8192, disksGiB: []int64{60}, datastore: ldnVMFS1, network: ldnProdNet, efi: true},
		{name: "db-01", host: ldn01, folder: ldnDB.id, pool: gold.id, power: on, guest: "RHEL_9_64", cpu: 8, cps: 2, cpuHotAdd: true, cpuHotRemove: true, memMiB: 32768, disksGiB: []int64{100, 500}, datastore: ldnVSAN, network: ldnProdNet, efi: true},
		{name: "db-02", host: ldn02, folder: ldnDB.id, pool: gold.id, power: on, guest: "WINDOWS_SERVER_2019", cpu: 8, cps: 2, memMiB: 65536, disksGiB: []int64{120, 1024}, datastore: ldnVSAN, network: ldnProdNet, efi: true},
		{name: "cache-01", host: ldn03, folder: ldnProd.id, pool: silver.id, power: susp, guest: "DEBIAN_11_64", cpu: 2, cps: 1, memMiB: 16384, disksGiB: []int64{30}, datastore: ldnVMFS1, network: ldnProdNet},
		{name: "lb-01", host: ldn01, folder: ldnProd.id, power: on, tools: toolsNotInstalled, guest: "OTHER_3X_LINUX_64", cpu: 2, cps: 2, memMiB: 2048, disksGiB: []int64{16}, datastore: ldnVMFS1, network: ldnProdNet},
		{name: "legacy-app-01", host: ldn03, folder: ldnProd.id, power: on, tools: toolsNotRunning, guest: "CENTOS_7_64", cpu: 2, cps: 1, memMiB: 6144, disksGiB: []int64{80}, datastore: ldnVMFS2, network: ldnVMNet},
		{name: "mon-01", host: ldn02, folder: ldnInfra.id, power: on, guest: "DEBIAN_11_64", cpu: 2, cps: 1, memMiB: 4096, disksGiB: []int64{200}, datastore: ldnVMFS2, network: ldnVMNet},
		{name: "backup-01", host: ldn03, folder: ldnInfra.id, power: off, guest: "WINDOWS_SERVER_2019", cpu: 4, cps: 2, memMiB: 16384, disksGiB: []int64{100, 2048}, datastore: ldnVMFS2, network: ldnVMNet, efi: true},
		// DC-London / Dev-Cluster
		{name: "dev-web-01", host: ldn04, folder: ldnDev.id, pool: devTeam.id, power: on, guest: "UBUNTU_64", cpu: 2, cps: 1, memMiB: 4096, disksGiB: []int64{40}, datastore: ldnVMFS1, network: ldnDevNet},
		{name: "dev-db-01", host: ldn04, folder: ldnDev.id, pool: devTeam.id, power: off, guest: "RHEL_9_64", cpu: 4, cps: 2, memMiB: 8192, disksGiB: []int64{100}, datastore: ldnVMFS1, network: ldnDevNet, cleanOff: true},
		{name: "test-01", host: ldn04, folder: ldnDev.id, pool: devTeam.id, power: susp, guest: "UBUNTU_64", cpu: 1, cps: 1, memMiB: 2048, disksGiB: []int64{20}, datastore: ldnVMFS1, network: ldnDevNet},
		{name: "ci-runner-01", host: ldn04, folder: ldnDev.id, power: on, guest: "UBUNTU_64", cpu: 4, cps: 1, cpuHotAdd: true, memMiB: 8192, memHotAdd: true, disksGiB: []int64{100}, datastore: ldnVMFS1, network: ldnDevNet},
		{name: "ci-runner-02", host: ldn04, folder: ldnDev.id, power: on, guest: "UBUNTU_64", cpu: 4, cps: 1, cpuHotAdd: true, memMiB: 8192, memHotAdd: true, disksGiB: []int64{100}, datastore: ldnVMFS1, network: ldnDevNet},
		{name: "ci-runner-03", host: ldn04, folder: ldnDev.id, power: off, guest: "UBUNTU_64", cpu: 4, cps: 1, cpuHotAdd: true, memMiB: 8192, memHotAdd: true, disksGiB: []int64{100}, datastore: ldnVMFS1, network: ldnDevNet, cleanOff: true},
		{name: "build-01", host: ldn04, folder: ldnDev.id, power: on, guest: "WINDOWS_9_SERVER_64", cpu: 4, cps: 2, memMiB: 12288, disksGiB: []int64{150}, datastore: ldnVMFS1, network: ldnDevNet, efi: true},
		// DC-London / standalone edge host
		{name: "edge-proxy-01", host: edge, folder: ldnInfra.id, power: on, guest: "VMWARE_PHOTON_64", cpu: 2, cps: 1, memMiB: 2048, disksGiB: []int64{16}, datastore: edgeLocal, network: ldnVMNet, efi: true},
		// DC-Frankfurt
		{name: "app-01", host: fra01, folder: fraProd.id, power: on, guest: "RHEL_8_64", cpu: 4, cps: 2, memMiB: 8192, memHotAdd: true, disksGiB: []int64{60}, datastore: fraVMFS, network: fraProdNet, efi: true},
		{name: "web-fra-01", host: fra01, folder: fraProd.id, power: on, guest: "UBUNTU_64", cpu: 2, cps: 1, cpuHotAdd: true, memMiB: 4096, memHotAdd: true, disksGiB: []int64{40}, datastore: fraVMFS, network: fraProdNet, efi: true},
		{name: "web-fra-02", host: fra02, folder: fraProd.id, power: on, guest: "UBUNTU_64", cpu: 2, cps: 1, cpuHotAdd: true, memMiB: 4096, memHotAdd: true, disksGiB: []int64{40}, datastore: fraVMFS, network: fraProdNet, efi: true},
		{name: "db-fra-01", host: fra02, folder: fraProd.id, power: on, guest: "SLES_15_64", cpu: 4, cps: 2, memMiB: 16384, disksGiB: []int64{80, 400}, datastore: fraVMFS, network: fraProdNet},
		{name: "batch-01", host: fra01, folder: fraBatchFolder.id, pool: fraBatch.id, power: on, guest: "CENTOS_8_64", cpu: 8, cps: 1, memMiB: 16384, disksGiB: []int64{50}, datastore: fraNFS, network: fraVMNet},
		{name: "batch-02", host: fra02, folder: fraBatchFolder.id, pool: fraBatch.id, power: off, guest: "CENTOS_8_64", cpu: 8, cps: 1, memMiB: 16384, disksGiB: []int64{50}, datastore: fraNFS, network: fraVMNet, cleanOff: true},
		{name: "batch-03", host: fra02, folder: fraBatchFolder.id, pool: fraBatch.id, power: susp, guest: "CENTOS_8_64", cpu: 8, cps: 1, memMiB: 16384, disksGiB: []int64{50}, datastore: fraNFS, network: fraVMNet},
		{name: "jump-fra-01", host: fra01, folder: fraProd.id, power: on, guest: "WINDOWS_9_SERVER_64", cpu: 2, cps: 2, memMiB: 8192, disksGiB: []int64{90}, datastore: fraVMFS, network: fraVMNet, efi: true},
		{name: "fra-archive-01", host: fra03, folder: fraProd.id, power: off, guest: "SLES_15_64", cpu: 2, cps: 1, memMiB: 4096, disksGiB: []int64{500}, datastore: fraNFS, network: fraVMNet},
		// Lab
		{name: "k8s-cp-01", host: lab01, folder: labK8s.id, power: on, guest: "UBUNTU_64", cpu: 2, cps: 1, memMiB: 4096, disksGiB: []int64{50}, datastore: labNFS, network: labNet},
		{name: "k8s-worker-01", host: lab01, folder: labK8s.id, power: on, guest: "UBUNTU_64", cpu: 4, cps: 2, memMiB: 8192, disksGiB: []int64{80}, datastore: labNFS, network: labNet},
		{name: "k8s-worker-02", host: lab01, folder: labK8s.id, power: on, guest: "UBUNTU_64", cpu: 4, cps: 2, memMiB: 8192, disksGiB: []int64{80}, datastore: labNFS, network: labNet},
		{name: "win-lab-01", host: lab01, folder: labLegacy.id, power: off, tools: toolsNotInstalled, guest: "WINDOWS_9_64", cpu: 2, cps: 2, memMiB: 4096, disksGiB: []int64{64}, datastore: labNFS, network: labIsolated, efi: true},
		{name: "old-app-01", host: lab01, folder: labLegacy.id, power: off, guest: "CENTOS_6_64", cpu: 1, cps: 1, memMiB: 2048, disksGiB: []int64{20}, datastore: labNFS, network: labIsolated, cleanOff: true},
		{name: "nested-esxi-01", host: lab02, folder: labLegacy.id, power: on, guest: "VMKERNEL_7", cpu: 4, cps: 4, memMiB: 16384, disksGiB: []int64{32, 200}, datastore: lab02Local, network: labIsolated, efi: true},
	}
	byName := map[string]*vm{}
	for i, spec := range specs {
		v := inv.newVM(spec, inventoryEpoch.Add(time.Duration(i)*time.Hour))
		byName[spec.name+"@"+inv.datacenterOf(v)] = v
	}

	at := func(days int) time.Time { return inventoryEpoch.Add(time.Duration(days) * 24 * time.Hour) }
	web01 := byName["web-01@"+ldn.id]
	inv.addSnapshot(web01, nil, "baseline", "After OS hardening", "poweredOff", false, at(1))

	db01 := byName["db-01@"+ldn.id]
	root := inv.addSnapshot(db01, nil, "before-patch-2025-03", "Before the March patch run", "poweredOff", false, at(2))
	after := inv.addSnapshot(db01, root, "after-patch", "Patched, with memory", "poweredOn", false, at(3))
	inv.addSnapshot(db01, root, "experiment-indexes", "", "poweredOff", false, at(4))
	inv.addSnapshot(db01, after, "pre-schema-change", "Quiesced before the schema migration", "poweredOff", true, at(5))

	devDB := byName["dev-db-01@"+ldn.id]
	clean := inv.addSnapshot(devDB, nil, "clean-install", "", "poweredOff", false, at(6))
	inv.addSnapshot(devDB, clean, "seed-data", "Test data loaded", "poweredOff", false, at(7))
	devDB.current = clean // reverted to the clean install since

	fraApp := byName["app-01@"+fra.id]
	inv.addSnapshot(fraApp, nil, "pre-deploy", "Before release 4.2", "poweredOff", true, at(8))

	return inv
}
