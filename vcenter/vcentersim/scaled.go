package vcentersim

import "fmt"

// Scaled inventory (Options.VMs > 0), laid out for the 4000-VM cap of
// GET /api/vcenter/vm (contract §2.2): see the package documentation. The
// sizes below keep every cluster but the big one, every host but the hot one
// and every VM folder under the cap, so a client that splits by cluster,
// then host, then folder always gets there.
const (
	scaledFolderSize  = 2000
	scaledHostSize    = 3500
	scaledClusterSize = 3500
)

var scaledRoles = []string{"web", "app", "db", "cache", "api", "batch", "etl", "k8s"}

func buildScaledInventory(n int) *inventory {
	inv := newInventory()
	standalone := max(1, n/50)
	if standalone > n {
		standalone = n
	}
	big := n * 3 / 5
	hot := big * 5 / 12
	rest := n - standalone - big

	east := inv.addDatacenter("DC-East")
	eastNet := inv.addNetwork(east, "VM Network", "STANDARD_PORTGROUP", "")
	inv.addNetwork(east, "east-vlan10", "DISTRIBUTED_PORTGROUP", "50 3c 1d 2e 4f 5a 6b 7c-8d 9e 0f 1a 2b 3c 4d 5e")
	west := inv.addDatacenter("DC-West")
	westNet := inv.addNetwork(west, "VM Network", "STANDARD_PORTGROUP", "")

	// placement is a run of VMs to create on one host.
	type placement struct {
		host  *host
		ds    *datastore
		net   *network
		count int
	}
	var runs []placement

	bigCluster := inv.addCluster(east, "Cluster-Big", true, true)
	bigDS := inv.addDatastore(east, "big-vsan", "VSAN", 512*1024, 200*1024, true)
	runs = append(runs, placement{inv.addHost(east, bigCluster, "esx-big-hot.scale.local", "CONNECTED"), bigDS, eastNet, hot})
	others := big - hot
	k := max(3, ceilDiv(others, scaledHostSize))
	for i := range k {
		h := inv.addHost(east, bigCluster, fmt.Sprintf("esx-big-%02d.scale.local", i+1), "CONNECTED")
		runs = append(runs, placement{h, bigDS, eastNet, share(others, k, i)})
	}

	clusters := max(1, ceilDiv(rest, scaledClusterSize))
	for c := range clusters {
		cl := inv.addCluster(west, fmt.Sprintf("Cluster-West-%02d", c+1), true, true)
		ds := inv.addDatastore(west, fmt.Sprintf("west-vmfs-%02d", c+1), "VMFS", 64*1024, 30*1024, true)
		inCluster := share(rest, clusters, c)
		for i := range 4 {
			h := inv.addHost(west, cl, fmt.Sprintf("esx-west-%02d-%02d.scale.local", c+1, i+1), "CONNECTED")
			runs = append(runs, placement{h, ds, westNet, share(inCluster, 4, i)})
		}
	}
	standaloneHost := inv.addHost(west, nil, "esx-west-standalone.scale.local", "CONNECTED")
	localDS := inv.addDatastore(west, "esx-west-standalone-local", "VMFS", 16*1024, 4*1024, false)
	runs = append(runs, placement{standaloneHost, localDS, westNet, standalone})

	// VM folders fill up in creation order, per datacenter.
	type folderFill struct {
		dc    *datacenter
		id    string
		count int
		next  int
	}
	fills := map[string]*folderFill{east.id: {dc: east}, west.id: {dc: west}}
	folderFor := func(dcID string) string {
		f := fills[dcID]
		if f.id == "" || f.count == scaledFolderSize {
			f.next++
			f.id = inv.addFolder(f.dc.vmFolder, fmt.Sprintf("Folder-%03d", f.next)).id
			f.count = 0
		}
		f.count++
		return f.id
	}

	i := 0
	firstInDC := map[string]bool{}
	for _, run := range runs {
		for range run.count {
			name := fmt.Sprintf("%s-%05d", scaledRoles[i%len(scaledRoles)], i+1)
			if !firstInDC[run.host.datacenter] {
				firstInDC[run.host.datacenter] = true
				name = "app-01" // the deliberate duplicate: one per datacenter
			}
			spec := vmSpec{
				name: name, host: run.host, folder: folderFor(run.host.datacenter),
				power: scaledPower(i), tools: scaledTools(i), guest: "UBUNTU_64",
				cpu: []int{1, 2, 4, 8}[i%4], cps: 1, memMiB: []int{2048, 4096, 8192, 16384}[(i/4)%4],
				cpuHotAdd: i%5 == 0, memHotAdd: i%5 == 0,
				disksGiB: []int64{40}, datastore: run.ds, network: run.net,
			}
			if spec.cpu >= 4 && i%3 == 0 {
				spec.cps = 2
			}
			inv.newVM(spec, inventoryEpoch)
			i++
		}
	}
	return inv
}

func scaledPower(i int) PowerState {
	switch i % 10 {
	case 7, 8:
		return PoweredOff
	case 9:
		return Suspended
	default:
		return PoweredOn
	}
}

func scaledTools(i int) toolsState {
	if i%17 == 0 {
		return toolsNotInstalled
	}
	return toolsRunning
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// share returns part i of total split into n nearly equal parts.
func share(total, n, i int) int {
	s := total / n
	if i < total%n {
		s++
	}
	return s
}
