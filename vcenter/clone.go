package vcenter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Clone (vcenter-api-changes.md §1): a VM through the Automation API as a
// task (?vmw-task=true, so that a long clone is followed, not waited on in
// one request), and a classic template through VI/JSON CloneVM_Task, which
// the Automation API does not take (§1.2). Templates are not in the
// Automation API's VM list (§9.3): [Client.FindTemplates] walks the VM
// folders for them.

// PlacementSpec is where a clone, deploy or migration puts a VM: ids, each
// optional; what is left empty keeps the source's value (clone, migrate) or
// is chosen by vCenter. vCenter refuses a combination that contradicts
// itself (a host outside the pool's cluster).
type PlacementSpec struct {
	Folder       string `json:"folder,omitempty"`
	ResourcePool string `json:"resource_pool,omitempty"`
	Host         string `json:"host,omitempty"`
	Cluster      string `json:"cluster,omitempty"`
	Datastore    string `json:"datastore,omitempty"`
}

func (p PlacementSpec) validate() error {
	return validAll(idCheck{KindFolder, nonEmpty(p.Folder)}, idCheck{KindResourcePool, nonEmpty(p.ResourcePool)},
		idCheck{KindHost, nonEmpty(p.Host)}, idCheck{KindCluster, nonEmpty(p.Cluster)}, idCheck{KindDatastore, nonEmpty(p.Datastore)})
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// CloneSpec describes a clone.
type CloneSpec struct {
	Source    string // VM or template id
	Name      string // the new VM's name, as people read it
	Placement PlacementSpec
	PowerOn   bool
	// Customization names a guest customization specification
	// (list_customization_specs); "" for none.
	Customization string
}

func (s CloneSpec) validate() error {
	if err := ValidateID(KindVM, s.Source); err != nil {
		return err
	}
	if s.Customization != "" {
		if err := ValidateID(KindCustomizationSpec, s.Customization); err != nil {
			return err
		}
	}
	if s.Name == "" {
		return errors.New("the new VM needs a name")
	}
	return s.Placement.validate()
}

// CloneVM starts an Automation API clone of a VM (not a template) and
// returns the task id, an Automation API task id that [Client.WaitTask]
// follows.
func (c *Client) CloneVM(ctx context.Context, spec CloneSpec) (string, error) {
	if err := spec.validate(); err != nil {
		return "", err
	}
	body := struct {
		Source                 string         `json:"source"`
		Name                   string         `json:"name"`
		Placement              *PlacementSpec `json:"placement,omitempty"`
		PowerOn                bool           `json:"power_on"`
		GuestCustomizationSpec *struct {
			Name string `json:"name"`
		} `json:"guest_customization_spec,omitempty"`
	}{Source: spec.Source, Name: spec.Name, PowerOn: spec.PowerOn}
	if spec.Placement != (PlacementSpec{}) {
		body.Placement = &spec.Placement
	}
	if spec.Customization != "" {
		body.GuestCustomizationSpec = &struct {
			Name string `json:"name"`
		}{spec.Customization}
	}
	// vmw-task=true is a query parameter on both dialects (contract §0).
	var task string
	if err := c.vapi(ctx, http.MethodPost, "/vcenter/vm", url.Values{"action": {"clone"}, "vmw-task": {"true"}}, body, &task); err != nil {
		return "", fmt.Errorf("start clone of %s: %w", spec.Source, err)
	}
	return checkVAPITaskID(task)
}

// CloneTemplate starts VI/JSON CloneVM_Task of a classic template (or a VM)
// and returns the vim25 task id. CloneVM_Task needs the destination folder
// and, from a template, the resource pool (§1.3), so spec.Placement must
// name both; the customization is not sent here (set it with
// [Client.SetGuestCustomization] before the first power-on).
func (c *Client) CloneTemplate(ctx context.Context, spec CloneSpec) (string, error) {
	if err := spec.validate(); err != nil {
		return "", err
	}
	p := spec.Placement
	if p.Folder == "" || p.ResourcePool == "" {
		return "", errors.New("a clone of a template needs its folder and resource pool")
	}
	type location struct {
		TypeName  string `json:"_typeName"`
		Pool      *moRef `json:"pool,omitempty"`
		Host      *moRef `json:"host,omitempty"`
		Datastore *moRef `json:"datastore,omitempty"`
	}
	loc := location{TypeName: "VirtualMachineRelocateSpec", Pool: &moRef{Type: "ResourcePool", Value: p.ResourcePool}}
	if p.Host != "" {
		loc.Host = &moRef{Type: "HostSystem", Value: p.Host}
	}
	if p.Datastore != "" {
		loc.Datastore = &moRef{Type: "Datastore", Value: p.Datastore}
	}
	body := map[string]any{
		"folder": moRef{Type: "Folder", Value: p.Folder},
		"name":   escapeName(spec.Name),
		// template and powerOn are required booleans: always sent.
		"spec": map[string]any{"_typeName": "VirtualMachineCloneSpec", "location": loc, "template": false, "powerOn": spec.PowerOn},
	}
	var task moRef
	if err := c.vim(ctx, http.MethodPost, "VirtualMachine", spec.Source, "CloneVM_Task", body, &task); err != nil {
		return "", fmt.Errorf("start clone of %s: %w", spec.Source, err)
	}
	return taskID(task)
}

// SetGuestCustomization sets the guest customization specification a VM
// runs at its next power-on (PUT /api/vcenter/vm/{vm}/guest/customization);
// the VM must be powered off.
func (c *Client) SetGuestCustomization(ctx context.Context, vm, spec string) error {
	if err := ValidateID(KindVM, vm); err != nil {
		return err
	}
	if err := ValidateID(KindCustomizationSpec, spec); err != nil {
		return err
	}
	body := struct {
		Name string `json:"name"`
	}{spec}
	if err := c.vapi(ctx, http.MethodPut, "/vcenter/vm/"+vm+"/guest/customization", nil, body, nil); err != nil {
		return fmt.Errorf("set guest customization %s on %s: %w", spec, vm, err)
	}
	return nil
}

// Template is a classic VM template.
type Template struct {
	ID, Name string
	FolderID string
	HostID   string
}

// FindTemplates finds the classic templates named name ("" for all): the
// VM folders' children that the VM list does not show, read one by one
// through VI/JSON. It reads every VM folder and lists every VM, so it is
// for a name the VM list did not find.
func (c *Client) FindTemplates(ctx context.Context, name string) ([]Template, error) {
	folders, _, err := c.ListFolders(ctx, FolderFilter{Type: "VIRTUAL_MACHINE"})
	if err != nil {
		return nil, fmt.Errorf("find templates: %w", err)
	}
	vms, _, err := c.ListVMs(ctx, VMFilter{})
	if err != nil {
		return nil, fmt.Errorf("find templates: %w", err)
	}
	listed := make(map[string]bool, len(vms))
	for _, v := range vms {
		listed[v.ID] = true
	}
	var (
		mu    sync.Mutex
		cands = map[string]string{} // VM id → folder id
	)
	err = c.parallel(idsOf(folders, func(f Folder) string { return f.ID }), func(folder string) error {
		var refs []moRef
		if err := c.vimRead(ctx, "templates", http.MethodGet, "Folder", folder, "childEntity", nil, &refs, true); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, r := range refs {
			if r.Type == "VirtualMachine" && LooksLikeID(KindVM, r.Value) && !listed[r.Value] {
				cands[r.Value] = folder
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find templates: %w", err)
	}
	var out []Template
	err = c.parallel(slicesSorted(cands), func(id string) error {
		st, err := c.VMStatus(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return nil // deleted since the folder was read
		}
		if err != nil {
			return err
		}
		if st.Template && (name == "" || st.Name == name || unescapeName(st.Name) == name) {
			mu.Lock()
			out = append(out, Template{ID: id, Name: sanitize(unescapeName(st.Name), maxNameLen), FolderID: cands[id], HostID: st.HostID})
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find templates: %w", err)
	}
	slices.SortFunc(out, func(a, b Template) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func slicesSorted(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// VMConfig is what VirtualMachine.config says of a VM: whether it is a
// template, and its disks as VI/JSON devices.
type VMConfig struct {
	Name     string
	Template bool
	Disks    []ConfigDisk
}

// ConfigDisk is one VirtualDisk of a VM's configuration.
type ConfigDisk struct {
	Key           int
	Label         string
	CapacityBytes int64
	FileName      string // "[datastore] dir/file.vmdk"
	DatastoreID   string
	Thin          bool
	raw           map[string]json.RawMessage // the device as read, for an edit
}

// VMConfig reads VirtualMachine.config.
func (c *Client) VMConfig(ctx context.Context, vm string) (VMConfig, error) {
	if err := ValidateID(KindVM, vm); err != nil {
		return VMConfig{}, err
	}
	var cfg struct {
		Name     string `json:"name"`
		Template bool   `json:"template"`
		Hardware struct {
			Device []json.RawMessage `json:"device"`
		} `json:"hardware"`
	}
	if err := c.vimRead(ctx, "disk changes", http.MethodGet, "VirtualMachine", vm, "config", nil, &cfg, true); err != nil {
		return VMConfig{}, fmt.Errorf("read configuration of %s: %w", vm, err)
	}
	out := VMConfig{Name: sanitize(unescapeName(cfg.Name), maxNameLen), Template: cfg.Template}
	for _, raw := range cfg.Hardware.Device {
		var d struct {
			TypeName   string `json:"_typeName"`
			Key        int    `json:"key"`
			DeviceInfo struct {
				Label string `json:"label"`
			} `json:"deviceInfo"`
			CapacityInKB    int64 `json:"capacityInKB"`
			CapacityInBytes int64 `json:"capacityInBytes"`
			Backing         struct {
				FileName        string `json:"fileName"`
				Datastore       *moRef `json:"datastore"`
				ThinProvisioned bool   `json:"thinProvisioned"`
			} `json:"backing"`
		}
		if json.Unmarshal(raw, &d) != nil || d.TypeName != "VirtualDisk" {
			continue
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) != nil {
			continue
		}
		cd := ConfigDisk{Key: d.Key, Label: sanitize(d.DeviceInfo.Label, maxNameLen), CapacityBytes: max(d.CapacityInBytes, d.CapacityInKB*1024),
			FileName: sanitize(d.Backing.FileName, maxMessageLen), Thin: d.Backing.ThinProvisioned, raw: fields}
		if d.Backing.Datastore != nil && LooksLikeID(KindDatastore, d.Backing.Datastore.Value) {
			cd.DatastoreID = d.Backing.Datastore.Value
		}
		out.Disks = append(out.Disks, cd)
	}
	return out, nil
}
