package vcentersim

import (
	"fmt"
	"hash/fnv"
	"time"
)

// The observability side of the simulator (vcenter-api-observability.md):
// a deterministic history of events, triggered alarms, tags and past tasks,
// and performance series computed from the clock, so that a triage reads
// like one on a real vCenter. This file holds the state; history.go builds
// it, and events.go, alarms.go, perf.go, tagging.go and properties.go serve
// it.

// obsState is the observability state. The Server's mutex guards it.
type obsState struct {
	// anchor is the simulator's clock when the server was created: the
	// history ends there. incident is the night's host failure, about ten
	// hours before the anchor; the story's times count from it.
	anchor   time.Time
	incident time.Time

	events       []*event // ascending key, which is ascending createdTime
	collectors   map[string]*collector
	collectorSeq int

	alarms     map[string]*alarmDef
	alarmOrder []string
	states     []*alarmState // triggered alarms

	categories map[string]*tagCategory
	catOrder   []string
	tags       map[string]*tag
	tagOrder   []string

	intervals []perfInterval // historical intervals, by sampling period

	// Per-entity facts the story sets.
	guestReboot map[string]time.Time // VM id → last guest OS reboot
	hostBoot    map[string]time.Time // host id → boot time
	anomalies   map[string][]anomaly // entity id → performance anomalies
}

// entityArg is an event argument: an entity's id and its name at the time.
type entityArg struct{ id, name string }

// noise returns a deterministic value in [0, 1) for its inputs: the
// simulator's stand-in for measurement jitter, the same on every run.
func noise(id string, parts ...int64) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	x := h.Sum64()
	for _, p := range parts {
		x ^= uint64(p) + 0x9e3779b97f4a7c15 + (x << 6) + (x >> 2) //nolint:gosec // G115: a hash; wrapping is the point
		// splitmix64 finaliser
		x ^= x >> 30
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 27
		x *= 0x94d049bb133111eb
		x ^= x >> 31
	}
	return float64(x>>11) / (1 << 53)
}

// uuidOf derives a stable UUID-shaped string from a name, for tag and
// category URNs and collector ids.
func uuidOf(name string) string {
	a := uint64(noise(name, 1) * (1 << 53))
	b := uint64(noise(name, 2) * (1 << 53))
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a&0xffffffff, (a>>32)&0xffff, b&0xfff, 0x8000|(b>>16)&0x3fff, (a^b)&0xffffffffffff)
}

// vimType is the vim25 type of an inventory id, "" when unknown.
func (inv *inventory) vimType(id string) string {
	switch {
	case inv.vms[id] != nil:
		return "VirtualMachine"
	case inv.hosts[id] != nil:
		return "HostSystem"
	case inv.clusters[id] != nil:
		return "ClusterComputeResource"
	case inv.computeResources[id] != nil:
		return "ComputeResource"
	case inv.datacenters[id] != nil:
		return "Datacenter"
	case inv.datastores[id] != nil:
		return "Datastore"
	case inv.folders[id] != nil:
		return "Folder"
	case inv.pools[id] != nil:
		return "ResourcePool"
	case inv.networks[id] != nil:
		if inv.networks[id].kind == "DISTRIBUTED_PORTGROUP" {
			return "DistributedVirtualPortgroup"
		}
		return "Network"
	}
	return ""
}

// nameOf is an inventory object's name, "" when unknown.
func (inv *inventory) nameOf(id string) string {
	switch {
	case inv.vms[id] != nil:
		return inv.vms[id].Name
	case inv.hosts[id] != nil:
		return inv.hosts[id].name
	case inv.clusters[id] != nil:
		return inv.clusters[id].name
	case inv.computeResources[id] != nil:
		return inv.computeResources[id].name
	case inv.datacenters[id] != nil:
		return inv.datacenters[id].name
	case inv.datastores[id] != nil:
		return inv.datastores[id].name
	case inv.folders[id] != nil:
		return inv.folders[id].name
	case inv.pools[id] != nil:
		return inv.pools[id].name
	case inv.networks[id] != nil:
		return inv.networks[id].name
	}
	return ""
}

// exists reports whether the MoRef names an inventory object of that type.
// A standalone host's ComputeResource and a cluster differ in type.
func (inv *inventory) exists(typ, id string) bool {
	t := inv.vimType(id)
	return t != "" && t == typ
}

// folderChain lists a folder and its ancestors up to the datacenter's root
// folder of its kind (whose parent, in vSphere, is the datacenter).
func (inv *inventory) folderChain(id string) []string {
	var out []string
	for f := inv.folders[id]; f != nil; f = inv.folders[f.parent] {
		out = append(out, f.id)
		if f.parent == "" {
			break
		}
	}
	return out
}

// ancestors lists an entity's parents up to the root folder, nearest
// first: the path along which vSphere propagates a triggered alarm
// (contract §4).
func (inv *inventory) ancestors(id string) []string {
	var out []string
	dc := ""
	switch {
	case inv.vms[id] != nil:
		v := inv.vms[id]
		out = inv.folderChain(v.Folder)
		dc = inv.datacenterOf(v)
	case inv.hosts[id] != nil:
		h := inv.hosts[id]
		out = append(out, h.owner())
		dc = h.datacenter
		out = append(out, inv.datacenters[dc].hostFolder)
	case inv.clusters[id] != nil:
		dc = inv.clusters[id].datacenter
		out = append(out, inv.datacenters[dc].hostFolder)
	case inv.computeResources[id] != nil:
		dc = inv.computeResources[id].datacenter
		out = append(out, inv.datacenters[dc].hostFolder)
	case inv.datastores[id] != nil:
		dc = inv.datastores[id].datacenter
		out = append(out, inv.datastores[id].folder)
	case inv.folders[id] != nil && id != inv.rootFolder:
		out = inv.folderChain(id)[1:]
		dc = inv.folders[id].datacenter
	case inv.datacenters[id] != nil:
		return []string{inv.rootFolder}
	}
	if dc != "" {
		out = append(out, dc)
	}
	if id != inv.rootFolder {
		out = append(out, inv.rootFolder)
	}
	return out
}
