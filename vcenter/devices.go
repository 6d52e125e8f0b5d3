package vcenter

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Devices (vcenter-api-changes.md §3): CD-ROMs, disks and Ethernet
// adapters. They are read from VM.Info in one request, changed through
// /api/vcenter/vm/{vm}/hardware (both dialects), except what the Automation
// API cannot do: a new disk on another datastore or with a chosen
// provisioning, and extending a disk, which go through VI/JSON
// ReconfigVM_Task (§3.2.1). Every change is a POST, PATCH or VI/JSON
// method: none is retried.

// CDROM is one virtual CD/DVD drive.
type CDROM struct {
	Key            string
	Label          string
	Type           string // SATA or IDE
	Backing        string // ISO_FILE, CLIENT_DEVICE or HOST_DEVICE
	ISOFile        string // "[datastore] dir/file.iso" for ISO_FILE
	Connected      bool   // state CONNECTED (only while the VM runs)
	StartConnected bool
}

// NICDevice is one virtual Ethernet adapter as a change needs it.
type NICDevice struct {
	Key            string
	Label          string
	Type           string // VMXNET3, E1000E, …
	MACAddress     string
	NetworkID      string
	BackingType    string // STANDARD_PORTGROUP, DISTRIBUTED_PORTGROUP, OPAQUE_NETWORK, HOST_DEVICE
	Connected      bool
	StartConnected bool
}

// Devices is a VM's power state and its CD-ROMs, disks and NICs, in key
// order.
type Devices struct {
	Name       string
	PowerState PowerState
	CDROMs     []CDROM
	Disks      []Disk
	NICs       []NICDevice
}

// VMDevices reads a VM's devices (GET /api/vcenter/vm/{vm}).
func (c *Client) VMDevices(ctx context.Context, vm string) (Devices, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return Devices{}, err
	}
	var info struct {
		Name       string     `json:"name"`
		PowerState PowerState `json:"power_state"`
		Disks      keyedMap[struct {
			Label    string `json:"label"`
			Type     string `json:"type"`
			Capacity *int64 `json:"capacity"`
			Backing  struct {
				VMDKFile string `json:"vmdk_file"`
			} `json:"backing"`
		}] `json:"disks"`
		NICs keyedMap[struct {
			Label          string `json:"label"`
			Type           string `json:"type"`
			MACAddress     string `json:"mac_address"`
			State          string `json:"state"`
			StartConnected bool   `json:"start_connected"`
			Backing        struct {
				Type    string `json:"type"`
				Network string `json:"network"`
			} `json:"backing"`
		}] `json:"nics"`
		CDROMs keyedMap[struct {
			Label   string `json:"label"`
			Type    string `json:"type"`
			Backing struct {
				Type    string `json:"type"`
				ISOFile string `json:"iso_file"`
			} `json:"backing"`
			State          string `json:"state"`
			StartConnected bool   `json:"start_connected"`
		}] `json:"cdroms"`
	}
	if err := c.vapi(ctx, http.MethodGet, "/vcenter/vm/"+vm, nil, nil, &info); err != nil {
		return Devices{}, fmt.Errorf("read devices of %s: %w", vm, err)
	}
	out := Devices{Name: sanitize(info.Name, maxNameLen), PowerState: PowerState(sanitize(string(info.PowerState), 32)),
		CDROMs: []CDROM{}, Disks: []Disk{}, NICs: []NICDevice{}}
	for _, e := range info.CDROMs {
		if !LooksLikeID(KindDevice, e.Key) {
			continue
		}
		v := e.Value
		out.CDROMs = append(out.CDROMs, CDROM{Key: e.Key, Label: sanitize(v.Label, maxNameLen), Type: sanitize(v.Type, 16),
			Backing: sanitize(v.Backing.Type, 32), ISOFile: sanitize(v.Backing.ISOFile, maxMessageLen),
			Connected: v.State == "CONNECTED", StartConnected: v.StartConnected})
	}
	for _, e := range info.Disks {
		if !LooksLikeID(KindDevice, e.Key) {
			continue
		}
		d := Disk{Key: e.Key, Label: sanitize(e.Value.Label, maxNameLen), File: sanitize(e.Value.Backing.VMDKFile, maxMessageLen)}
		if e.Value.Capacity != nil {
			d.CapacityBytes = *e.Value.Capacity
		}
		d.Datastore = datastoreOfFile(d.File)
		out.Disks = append(out.Disks, d)
	}
	for _, e := range info.NICs {
		if !LooksLikeID(KindDevice, e.Key) {
			continue
		}
		v := e.Value
		out.NICs = append(out.NICs, NICDevice{Key: e.Key, Label: sanitize(v.Label, maxNameLen), Type: sanitize(v.Type, 32),
			MACAddress: sanitize(v.MACAddress, 32), NetworkID: sanitize(v.Backing.Network, maxIDLen), BackingType: sanitize(v.Backing.Type, 32),
			Connected: v.State == "CONNECTED", StartConnected: v.StartConnected})
	}
	return out, nil
}

func (c *Client) hardwarePath(vm, kind, key string) (string, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return "", err
	}
	p := "/vcenter/vm/" + vm + "/hardware/" + kind
	if key != "" {
		if err := ValidateID(KindDevice, key); err != nil {
			return "", err
		}
		p += "/" + key
	}
	return p, nil
}

// deviceAction connects or disconnects a CD-ROM or NIC: ?action= on /api,
// a path segment on /rest (contract §3.1).
func (c *Client) deviceAction(ctx context.Context, vm, kind, key, action string) error {
	p, err := c.hardwarePath(vm, kind, key)
	if err != nil {
		return err
	}
	var q url.Values
	if c.dialect.wrapped {
		p += "/" + action
	} else {
		q = url.Values{"action": {action}}
	}
	if err := c.vapi(ctx, http.MethodPost, p, q, nil, nil); err != nil {
		return fmt.Errorf("%s %s %s of %s: %w", action, kind, key, vm, err)
	}
	return nil
}

// ConnectCDROM connects a CD-ROM of a powered-on VM.
func (c *Client) ConnectCDROM(ctx context.Context, vm, key string) error {
	return c.deviceAction(ctx, vm, "cdrom", key, "connect")
}

// DisconnectCDROM disconnects a CD-ROM of a powered-on VM.
func (c *Client) DisconnectCDROM(ctx context.Context, vm, key string) error {
	return c.deviceAction(ctx, vm, "cdrom", key, "disconnect")
}

// ConnectNIC connects a NIC of a powered-on VM.
func (c *Client) ConnectNIC(ctx context.Context, vm, key string) error {
	return c.deviceAction(ctx, vm, "ethernet", key, "connect")
}

// DisconnectNIC disconnects a NIC of a powered-on VM.
func (c *Client) DisconnectNIC(ctx context.Context, vm, key string) error {
	return c.deviceAction(ctx, vm, "ethernet", key, "disconnect")
}

type cdromBacking struct {
	Type    string `json:"type"`
	ISOFile string `json:"iso_file,omitempty"`
}

func isoBacking(iso *ISOPath) cdromBacking {
	if iso == nil {
		return cdromBacking{Type: "CLIENT_DEVICE"}
	}
	return cdromBacking{Type: "ISO_FILE", ISOFile: iso.String()}
}

// CreateCDROM adds a SATA CD-ROM backed by an ISO image (SATA can be added
// to a running VM, IDE cannot) and returns its key.
func (c *Client) CreateCDROM(ctx context.Context, vm string, iso ISOPath, startConnected bool) (string, error) {
	p, err := c.hardwarePath(vm, "cdrom", "")
	if err != nil {
		return "", err
	}
	body := struct {
		Type              string       `json:"type"`
		Backing           cdromBacking `json:"backing"`
		StartConnected    bool         `json:"start_connected"`
		AllowGuestControl bool         `json:"allow_guest_control"`
	}{"SATA", isoBacking(&iso), startConnected, true}
	var key string
	if err := c.vapi(ctx, http.MethodPost, p, nil, body, &key); err != nil {
		return "", fmt.Errorf("add a CD-ROM to %s: %w", vm, err)
	}
	return checkKey(key)
}

// SetCDROM changes a CD-ROM's backing (an ISO image, or the client device
// for nil) and, when startConnected is set, whether it connects at
// power-on. The backing of a connected drive of a running VM cannot change:
// disconnect it first.
func (c *Client) SetCDROM(ctx context.Context, vm, key string, iso *ISOPath, startConnected *bool) error {
	p, err := c.hardwarePath(vm, "cdrom", key)
	if err != nil {
		return err
	}
	backing := isoBacking(iso)
	body := struct {
		Backing        *cdromBacking `json:"backing"`
		StartConnected *bool         `json:"start_connected,omitempty"`
	}{&backing, startConnected}
	if err := c.vapi(ctx, http.MethodPatch, p, nil, body, nil); err != nil {
		return fmt.Errorf("change CD-ROM %s of %s: %w", key, vm, err)
	}
	return nil
}

// MountLibraryISO mounts a content library ISO item on a VM: vCenter adds a
// new CD-ROM for it (contract §3.1.4) and answers its key.
func (c *Client) MountLibraryISO(ctx context.Context, vm, item string) (string, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return "", err
	}
	if err := ValidateID(KindLibraryItem, item); err != nil {
		return "", err
	}
	var key string
	var err error
	if c.dialect.wrapped {
		r := request{method: http.MethodPost, path: "/rest/com/vmware/vcenter/iso/image/id:" + url.PathEscape(item),
			query: url.Values{"~action": {"mount"}}, body: marshal(map[string]string{"vm": vm})}
		err = c.vapiDo(ctx, r, &key)
	} else {
		r := request{method: http.MethodPost, path: "/api/vcenter/iso/image", query: url.Values{"action": {"mount"}},
			body: marshal(map[string]string{"library_item": item, "vm": vm})}
		err = c.vapiDo(ctx, r, &key)
	}
	if err != nil {
		return "", fmt.Errorf("mount library item %s on %s: %w", item, vm, err)
	}
	return checkKey(key)
}

// UnmountLibraryISO removes a CD-ROM that [Client.MountLibraryISO] added.
func (c *Client) UnmountLibraryISO(ctx context.Context, vm, key string) error {
	if _, err := c.hardwarePath(vm, "cdrom", key); err != nil {
		return err
	}
	r := request{method: http.MethodPost, path: "/api/vcenter/iso/image", query: url.Values{"action": {"unmount"}},
		body: marshal(map[string]string{"vm": vm, "cdrom": key})}
	if c.dialect.wrapped {
		r = request{method: http.MethodPost, path: "/rest/com/vmware/vcenter/iso/image/id:" + vm,
			query: url.Values{"~action": {"unmount"}}, body: marshal(map[string]string{"cdrom": key})}
	}
	if err := c.vapiDo(ctx, r, nil); err != nil {
		return fmt.Errorf("unmount CD-ROM %s of %s: %w", key, vm, err)
	}
	return nil
}

// checkKey checks a device key vCenter answered.
func checkKey(key string) (string, error) {
	if !LooksLikeID(KindDevice, key) {
		return "", fmt.Errorf("vCenter answered an unreadable device key %s", quoteShort(key))
	}
	return key, nil
}

// CreateDisk adds a new thin-or-default VMDK of capacity bytes on the
// VM's SCSI controller, in the VM's home directory (the Automation API
// chooses neither datastore nor provisioning, contract §3.2), and returns
// its key.
func (c *Client) CreateDisk(ctx context.Context, vm string, capacity int64) (string, error) {
	p, err := c.hardwarePath(vm, "disk", "")
	if err != nil {
		return "", err
	}
	body := map[string]any{"type": "SCSI", "new_vmdk": map[string]int64{"capacity": capacity}}
	var key string
	if err := c.vapi(ctx, http.MethodPost, p, nil, body, &key); err != nil {
		return "", fmt.Errorf("add a disk to %s: %w", vm, err)
	}
	return checkKey(key)
}

// Provisioning is how a new disk's space is allocated.
type Provisioning string

// Disk provisioning types.
const (
	Thin             Provisioning = "thin"
	Thick            Provisioning = "thick"              // lazily zeroed
	EagerZeroedThick Provisioning = "eager_zeroed_thick" // zeroed at creation
)

// NewDisk is a disk for [Client.AddDisk].
type NewDisk struct {
	CapacityBytes int64
	DatastoreID   string
	DatastoreName string // the name the file path starts with, "[name]"
	Provisioning  Provisioning
}

// AddDisk starts VI/JSON ReconfigVM_Task adding a new VMDK on a chosen
// datastore with a chosen provisioning, and returns the task id.
func (c *Client) AddDisk(ctx context.Context, vm string, d NewDisk) (string, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return "", err
	}
	if err := ValidateID(KindDatastore, d.DatastoreID); err != nil {
		return "", err
	}
	thin := d.Provisioning == Thin || d.Provisioning == ""
	device := map[string]any{
		"_typeName": "VirtualDisk", "key": -1, "controllerKey": 1000,
		"capacityInKB": d.CapacityBytes / 1024, "capacityInBytes": d.CapacityBytes,
		"backing": map[string]any{"_typeName": "VirtualDiskFlatVer2BackingInfo", "fileName": "[" + d.DatastoreName + "]",
			"datastore": moRef{Type: "Datastore", Value: d.DatastoreID}, "diskMode": "persistent",
			"thinProvisioned": thin, "eagerlyScrub": d.Provisioning == EagerZeroedThick},
	}
	return c.reconfigure(ctx, vm, map[string]any{"_typeName": "VirtualDeviceConfigSpec", "operation": "add", "fileOperation": "create", "device": device})
}

// ExtendDisk starts ReconfigVM_Task growing disk key to capacity bytes and
// returns the task id. It reads the device from VirtualMachine.config and
// sends it back unchanged but for both capacity fields, set consistently
// (a zero capacityInKB fails, §3.2.1); the backing goes back as read.
func (c *Client) ExtendDisk(ctx context.Context, vm, key string, capacity int64) (string, error) {
	if err := ValidateID(KindDevice, key); err != nil {
		return "", err
	}
	cfg, err := c.VMConfig(ctx, vm)
	if err != nil {
		return "", err
	}
	k, _ := strconv.Atoi(key)
	for _, d := range cfg.Disks {
		if d.Key != k {
			continue
		}
		device := make(map[string]json.RawMessage, len(d.raw))
		for f, v := range d.raw {
			device[f] = v
		}
		device["capacityInBytes"] = marshal(capacity)
		device["capacityInKB"] = marshal(capacity / 1024)
		return c.reconfigure(ctx, vm, map[string]any{"_typeName": "VirtualDeviceConfigSpec", "operation": "edit", "device": device})
	}
	return "", fmt.Errorf("%s has no disk %s: %w", vm, key, ErrNotFound)
}

func (c *Client) reconfigure(ctx context.Context, vm string, change map[string]any) (string, error) {
	body := map[string]any{"spec": map[string]any{"_typeName": "VirtualMachineConfigSpec", "deviceChange": []any{change}}}
	var task moRef
	if err := c.vimRead(ctx, "disk changes", http.MethodPost, "VirtualMachine", vm, "ReconfigVM_Task", body, &task, false); err != nil {
		return "", fmt.Errorf("start reconfiguration of %s: %w", vm, err)
	}
	return taskID(task)
}

// NetworkBacking names the network a NIC connects to: its id and its type
// as the network list shows it (the backing's type must match, §3.3).
type NetworkBacking struct {
	ID   string
	Type string // STANDARD_PORTGROUP, DISTRIBUTED_PORTGROUP or OPAQUE_NETWORK
}

type nicBacking struct {
	Type    string `json:"type"`
	Network string `json:"network"`
}

// CreateNIC adds a VMXNET3 adapter on network and returns its key.
func (c *Client) CreateNIC(ctx context.Context, vm string, network NetworkBacking, startConnected bool) (string, error) {
	p, err := c.hardwarePath(vm, "ethernet", "")
	if err != nil {
		return "", err
	}
	if err := ValidateID(KindNetwork, network.ID); err != nil {
		return "", err
	}
	body := struct {
		Type           string     `json:"type"`
		Backing        nicBacking `json:"backing"`
		StartConnected bool       `json:"start_connected"`
	}{"VMXNET3", nicBacking{network.Type, network.ID}, startConnected}
	var key string
	if err := c.vapi(ctx, http.MethodPost, p, nil, body, &key); err != nil {
		return "", fmt.Errorf("add a NIC to %s: %w", vm, err)
	}
	return checkKey(key)
}

// UpdateNIC changes a NIC's network (when network is set) and whether it
// connects at power-on (when startConnected is set).
func (c *Client) UpdateNIC(ctx context.Context, vm, key string, network *NetworkBacking, startConnected *bool) error {
	p, err := c.hardwarePath(vm, "ethernet", key)
	if err != nil {
		return err
	}
	body := struct {
		Backing        *nicBacking `json:"backing,omitempty"`
		StartConnected *bool       `json:"start_connected,omitempty"`
	}{StartConnected: startConnected}
	if network != nil {
		if err := ValidateID(KindNetwork, network.ID); err != nil {
			return err
		}
		body.Backing = &nicBacking{network.Type, network.ID}
	}
	if err := c.vapi(ctx, http.MethodPatch, p, nil, body, nil); err != nil {
		return fmt.Errorf("change NIC %s of %s: %w", key, vm, err)
	}
	return nil
}
