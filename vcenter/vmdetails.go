package vcenter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
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

// GetVM reads one VM's configuration, guest identity and placement. The
// four reads it needs (VM.Info, guest identity, and through VI/JSON the
// host and folder) run in parallel; names come from a short-lived cache.
func (c *Client) GetVM(ctx context.Context, vm string) (VMDetails, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return VMDetails{}, err
	}
	var (
		wg       sync.WaitGroup
		info     vmInfo
		infoErr  error
		guest    guestIdentity
		guestErr error
		runtime  struct {
			Host *moRef `json:"host"`
		}
		hostErr   error
		parent    *moRef // null for a VM in a vApp (it has parentVApp instead)
		parentErr error
		vmPath    = "/vcenter/vm/" + vm
	)
	wg.Go(func() { infoErr = c.vapi(ctx, http.MethodGet, vmPath, nil, nil, &info) })
	// Optional: vCenter answers 503 whenever Tools is not running.
	wg.Go(func() { guestErr = c.vapiOptional(ctx, vmPath+"/guest/identity", &guest) })
	wg.Go(func() { hostErr = c.vim(ctx, http.MethodGet, "VirtualMachine", vm, "runtime", nil, &runtime) })
	wg.Go(func() { parentErr = c.vim(ctx, http.MethodGet, "VirtualMachine", vm, "parent", nil, &parent) })
	wg.Wait()
	if infoErr != nil {
		if errors.Is(infoErr, ErrNotFound) {
			return VMDetails{}, fmt.Errorf("no VM has id %s (list_vms shows ids): %w", vm, infoErr)
		}
		return VMDetails{}, fmt.Errorf("read %s: %w", vm, infoErr)
	}
	d := VMDetails{
		ID:              vm,
		Name:            sanitize(info.Name, maxNameLen),
		PowerState:      PowerState(sanitize(string(info.PowerState), 32)),
		GuestOS:         sanitize(info.GuestOS, 64),
		HardwareVersion: sanitize(info.Hardware.Version, 16),
		CPU:             info.CPU,
		Memory:          info.Memory,
		Disks:           make([]Disk, 0, len(info.Disks)),
		NICs:            make([]NIC, 0, len(info.NICs)),
	}
	if info.Identity != nil {
		d.InstanceUUID = sanitize(info.Identity.InstanceUUID, 64)
	}
	seenDS := map[string]bool{}
	d.Placement.Datastores = make([]string, 0)
	for _, k := range info.Disks {
		disk := Disk{Key: sanitize(k.Key, 16), Label: sanitize(k.Value.Label, 64), File: sanitize(k.Value.Backing.VMDKFile, maxMessageLen)}
		if k.Value.Capacity != nil {
			disk.CapacityBytes = *k.Value.Capacity
		}
		disk.Datastore = datastoreOfFile(disk.File)
		if disk.Datastore != "" && !seenDS[disk.Datastore] {
			seenDS[disk.Datastore] = true
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
	if guestErr == nil {
		d.Guest = &GuestIdentity{
			FullName:  sanitize(guest.FullName.DefaultMessage, 128),
			HostName:  sanitize(guest.HostName, 255),
			IPAddress: sanitize(guest.IPAddress, 64),
		}
	}
	c.place(ctx, &d, runtime.Host, hostErr, parent, parentErr)
	return d, nil
}

// place fills in host, cluster, folder and network names from the cache.
func (c *Client) place(ctx context.Context, d *VMDetails, host *moRef, hostErr error, parent *moRef, parentErr error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	if hostErr == nil && host != nil && LooksLikeID(KindHost, host.Value) {
		d.Placement.HostID = host.Value
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
	if parentErr == nil && parent != nil && LooksLikeID(KindFolder, parent.Value) {
		d.Placement.FolderID = parent.Value
		wg.Go(func() {
			name := c.name(ctx, KindFolder, parent.Value)
			mu.Lock()
			d.Placement.FolderName = name
			mu.Unlock()
		})
	}
	for i := range d.NICs {
		if d.NICs[i].NetworkID == "" {
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
	case errors.Is(hostErr, ErrNoVIJSON):
		d.Placement.Note = "host, cluster and folder need VI/JSON (vCenter 8.0 U1 or later); datastores come from the disks"
	case hostErr != nil || parentErr != nil:
		d.Placement.Note = "host, cluster or folder could not be read: " + sanitize(errors.Join(hostErr, parentErr).Error(), maxMessageLen)
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
