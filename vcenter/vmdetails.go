package vcenter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/stacks"
)

// VMDetails is what [Client.GetVM] gathers about one VM.
type VMDetails struct {
	ID              string
	Name            string
	PowerState      PowerState
	GuestOS         string // guest_OS identifier, e.g. UBUNTU_64
	HardwareVersion string // e.g. VMX_19
	CPU             CPUInfo
	Memory          MemoryInfo
	Disks           []Disk
	NICs            []NIC
	InstanceUUID    string
	// Guest is what VMware Tools reports; nil when Tools is not running.
	Guest *GuestIdentity
	// Placement is where the VM lives; ids are empty where unknown.
	Placement Placement
	// Tags and TagsErr are the VM's tags and why they could not be read;
	// only [Client.GetVMWithTags] reads them.
	Tags    []Tag
	TagsErr error
}

// Disk is one virtual disk.
type Disk struct {
	Key           string
	Label         string
	CapacityBytes int64
	// File is the VMDK path, "[datastore] folder/file.vmdk".
	File string
	// Datastore is the datastore name taken from File.
	Datastore string
}

// NIC is one virtual network adapter.
type NIC struct {
	Key         string
	Label       string
	Type        string // VMXNET3, E1000E, …
	MACAddress  string
	State       string // CONNECTED, NOT_CONNECTED, …
	NetworkID   string
	NetworkName string
}

// GuestIdentity is the guest OS as VMware Tools reports it.
type GuestIdentity struct {
	FullName  string
	HostName  string
	IPAddress string
}

// Placement is where a VM runs and is filed.
type Placement struct {
	HostID, HostName       string
	ClusterID, ClusterName string
	FolderID, FolderName   string
	Datastores             []string // names, from the disks
	// Note says why placement is partial, e.g. no VI/JSON on vCenter 8.0 GA.
	Note string
}

type vmInfo struct {
	Name       string     `json:"name"`
	GuestOS    string     `json:"guest_OS"`
	PowerState PowerState `json:"power_state"`
	Hardware   struct {
		Version string `json:"version"`
	} `json:"hardware"`
	CPU      CPUInfo          `json:"cpu"`
	Memory   MemoryInfo       `json:"memory"`
	Disks    keyedMap[vmDisk] `json:"disks"`
	NICs     keyedMap[vmNIC]  `json:"nics"`
	Identity *struct {
		InstanceUUID string `json:"instance_uuid"`
	} `json:"identity"`
}

type vmDisk struct {
	Label    string `json:"label"`
	Capacity *int64 `json:"capacity"`
	Backing  struct {
		VMDKFile string `json:"vmdk_file"`
	} `json:"backing"`
}

type vmNIC struct {
	Label      string `json:"label"`
	Type       string `json:"type"`
	MACAddress string `json:"mac_address"`
	State      string `json:"state"`
	Backing    struct {
		Network string `json:"network"`
	} `json:"backing"`
}

type guestIdentity struct {
	FullName struct {
		DefaultMessage string `json:"default_message"`
	} `json:"full_name"`
	HostName  string `json:"host_name"`
	IPAddress string `json:"ip_address"`
}

// GetVM reads one VM's configuration, guest identity and placement.
//
// Only the reads that can answer are sent: the guest identity when the VM
// is powered on (vCenter answers 503 for it otherwise,
// vcenter-api-observability.md §7), and the host and folder through VI/JSON
// unless the placement cache holds them (placecache.go). For a VM the cache
// does not know, the VM read comes first, and alone, so that a VM that does
// not exist costs one request; for a VM it knows (read within placementTTL,
// so it existed then), the optional reads go out with the VM read, in one
// round trip. Names come from a short-lived cache (names.go).
func (c *Client) GetVM(ctx context.Context, vm string) (VMDetails, error) {
	return c.getVM(ctx, vm, false)
}

// GetVMWithTags is [Client.GetVM] with the VM's tags ([Client.ObjectTags])
// read alongside the optional reads, once the VM read has succeeded. The
// tags, or why they could not be read, are in Tags and TagsErr.
func (c *Client) GetVMWithTags(ctx context.Context, vm string) (VMDetails, error) {
	return c.getVM(ctx, vm, true)
}

func (c *Client) getVM(ctx context.Context, vm string, withTags bool) (VMDetails, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return VMDetails{}, err
	}
	vmPath := "/vcenter/vm/" + vm
	var (
		wg       stacks.Group // its reads run on grown stacks
		info     vmInfo
		guest    guestIdentity
		guestErr = errNoTools
		d        VMDetails
	)
	readGuest := func() { guestErr = c.vapiOptional(ctx, vmPath+"/guest/identity", &guest) }
	readTags := func() { d.Tags, d.TagsErr = c.ObjectTags(ctx, EntityRef{Kind: KindVM, ID: vm}) }
	// A VM this client placed within placementTTL is known to exist: its
	// optional reads go out with the VM read, in one round trip (the guest
	// identity if it was powered on then; the fresh power state decides
	// below). Any other VM is read first and alone, so that one that does
	// not exist costs one request.
	place, gen, known := c.places.lookup(vm, c.now())
	guestSent, tagsSent := false, false
	if known {
		if place.power == PoweredOn {
			wg.Go(readGuest)
			guestSent = true
		}
		switch {
		case withTags && place.hasTags:
			// Read with the placement, within placementTTL.
			d.Tags, tagsSent = slices.Clone(place.tags), true
		case withTags:
			wg.Go(readTags)
			tagsSent = true
		}
	}
	tagsRead := withTags && (!known || !place.hasTags)
	if err := c.vapi(ctx, http.MethodGet, vmPath, nil, nil, &info); err != nil {
		wg.Wait()
		if errors.Is(err, ErrNotFound) {
			return VMDetails{}, fmt.Errorf("no VM has id %s (list_vms shows ids): %w", vm, err)
		}
		return VMDetails{}, fmt.Errorf("read %s: %w", vm, err)
	}
	c.places.notePower(vm, info.PowerState)
	// The calling goroutine sends the last read itself: one goroutine
	// fewer to start (and grow the stack of) per call.
	var reads []func()
	if info.PowerState == PoweredOn && !guestSent {
		// Optional: vCenter answers 503 whenever Tools is not running.
		reads = append(reads, readGuest)
	}
	if withTags && !tagsSent {
		reads = append(reads, readTags)
	}
	if !known {
		reads = append(reads, func() {
			place = c.placement(ctx, vm)
			c.places.notePower(vm, info.PowerState)
		})
	}
	for i, read := range reads {
		if i == len(reads)-1 {
			read()
		} else {
			wg.Go(read)
		}
	}
	d.ID = vm
	d.Name = sanitize(info.Name, maxNameLen)
	d.PowerState = PowerState(sanitize(string(info.PowerState), 32))
	d.GuestOS = sanitize(info.GuestOS, 64)
	d.HardwareVersion = sanitize(info.Hardware.Version, 16)
	d.CPU, d.Memory = info.CPU, info.Memory
	d.Disks = make([]Disk, 0, len(info.Disks))
	d.NICs = make([]NIC, 0, len(info.NICs))
	if info.Identity != nil {
		d.InstanceUUID = sanitize(info.Identity.InstanceUUID, 64)
	}
	d.Placement.Datastores = make([]string, 0, 1)
	for _, k := range info.Disks {
		disk := Disk{Key: sanitize(k.Key, 16), Label: sanitize(k.Value.Label, 64), File: sanitize(k.Value.Backing.VMDKFile, maxMessageLen)}
		if k.Value.Capacity != nil {
			disk.CapacityBytes = *k.Value.Capacity
		}
		disk.Datastore = datastoreOfFile(disk.File)
		if disk.Datastore != "" && !slices.Contains(d.Placement.Datastores, disk.Datastore) {
			d.Placement.Datastores = append(d.Placement.Datastores, disk.Datastore)
		}
		d.Disks = append(d.Disks, disk)
	}
	for _, k := range info.NICs {
		n := NIC{Key: sanitize(k.Key, 16), Label: sanitize(k.Value.Label, 64), Type: sanitize(k.Value.Type, 32),
			MACAddress: sanitize(k.Value.MACAddress, 32), State: sanitize(k.Value.State, 32)}
		if LooksLikeID(KindNetwork, k.Value.Backing.Network) {
			n.NetworkID = k.Value.Backing.Network
		}
		d.NICs = append(d.NICs, n)
	}
	wg.Wait()
	if guestErr == nil {
		d.Guest = &GuestIdentity{
			FullName:  sanitize(guest.FullName.DefaultMessage, 128),
			HostName:  sanitize(guest.HostName, 255),
			IPAddress: sanitize(guest.IPAddress, 64),
		}
	}
	if tagsRead && d.TagsErr == nil {
		c.places.noteTags(vm, gen, d.Tags)
	}
	c.place(ctx, &d, place)
	return d, nil
}

// errNoTools stands for the guest identity of a VM that is not powered on,
// which is not read: VMware Tools runs only in a powered-on VM.
var errNoTools = errors.New("VMware Tools runs only in a powered-on VM")

// place fills in host, cluster, folder and network names from the cache;
// only the names it lacks are looked up, in parallel.
func (c *Client) place(ctx context.Context, d *VMDetails, p placeRead) {
	var wg sync.WaitGroup
	var mu sync.Mutex // guards d against the look-ups
	if host := p.host; p.hostErr == nil && host != nil && LooksLikeID(KindHost, host.Value) {
		d.Placement.HostID = host.Value
		name, nameOK := c.cachedName(KindHost, host.Value)
		cluster, clusterOK := c.cachedCluster(host.Value)
		clusterName, clusterNameOK := "", cluster == ""
		if clusterOK && cluster != "" {
			clusterName, clusterNameOK = c.cachedName(KindCluster, cluster)
		}
		if nameOK && clusterOK && clusterNameOK {
			d.Placement.HostName, d.Placement.ClusterID, d.Placement.ClusterName = name, cluster, clusterName
		} else {
			wg.Go(func() {
				name := c.name(ctx, KindHost, host.Value)
				cluster, err := c.clusterOf(ctx, host.Value)
				var clusterName string
				if err == nil && cluster != "" {
					clusterName = c.name(ctx, KindCluster, cluster)
				}
				mu.Lock()
				defer mu.Unlock()
				d.Placement.HostName = name
				if err == nil {
					d.Placement.ClusterID, d.Placement.ClusterName = cluster, clusterName
				}
			})
		}
	}
	if parent := p.parent; p.parentErr == nil && parent != nil && LooksLikeID(KindFolder, parent.Value) {
		d.Placement.FolderID = parent.Value
		if name, ok := c.cachedName(KindFolder, parent.Value); ok {
			d.Placement.FolderName = name
		} else {
			wg.Go(func() {
				name := c.name(ctx, KindFolder, parent.Value)
				mu.Lock()
				d.Placement.FolderName = name
				mu.Unlock()
			})
		}
	}
	for i := range d.NICs {
		if d.NICs[i].NetworkID == "" {
			continue
		}
		if name, ok := c.cachedName(KindNetwork, d.NICs[i].NetworkID); ok {
			d.NICs[i].NetworkName = name
			continue
		}
		wg.Go(func() {
			name := c.name(ctx, KindNetwork, d.NICs[i].NetworkID)
			mu.Lock()
			d.NICs[i].NetworkName = name
			mu.Unlock()
		})
	}
	wg.Wait()
	switch {
	case errors.Is(p.hostErr, ErrNoVIJSON):
		d.Placement.Note = "host, cluster and folder need VI/JSON (vCenter 8.0 U1 or later); datastores come from the disks"
	case p.hostErr != nil || p.parentErr != nil:
		d.Placement.Note = "host, cluster or folder could not be read: " + sanitize(errors.Join(p.hostErr, p.parentErr).Error(), maxMessageLen)
	}
}

// datastoreOfFile extracts "ds1" from "[ds1] web01/web01.vmdk".
func datastoreOfFile(f string) string {
	if !strings.HasPrefix(f, "[") {
		return ""
	}
	end := strings.IndexByte(f, ']')
	if end < 0 {
		return ""
	}
	return f[1:end]
}
