package vcentersim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
)

// Content library and guest customization specifications (contract
// changes §2): libraries and items (ids only in the lists, then one GET
// each), the VM-template item's info and deploy, the OVF item's filter and
// deploy, and the customization specification list. Deploys are blocking,
// as the contract says (no task form); the simulator powers the VM on
// before answering where vCenter starts that asynchronously. Their rules:
// placement as for a clone, with the folder and a pool, host or cluster
// required; ALREADY_EXISTS for a name taken in the folder; a host in
// maintenance mode is NOT_ALLOWED_IN_CURRENT_STATE; the disks must fit
// (UNABLE_TO_ALLOCATE_RESOURCE). An OVF deploy answers 200 even when it
// fails, with succeeded false and the errors (§2.6); a package with EULAs
// needs accept_all_EULA.

func errLibraryNotFound(kind, id string) *vapiError {
	return newVAPIError("NOT_FOUND", "com.vmware.vdcs.cls-main.library_"+kind+"_not_found",
		fmt.Sprintf("The library %s %s does not exist.", kind, id), id)
}

func handleListLibraries(s *Server, _ *call) (any, *vapiError) {
	return append([]string{}, s.chg.libOrder...), nil
}

func handleGetLibrary(s *Server, c *call) (any, *vapiError) {
	l := s.chg.libraries[c.param("library_id")]
	if l == nil {
		return nil, errLibraryNotFound("", c.param("library_id"))
	}
	// LibraryModel.id "will not be present in the result of the get or
	// list operations" (contract changes §2.1).
	return map[string]any{
		"name": l.name, "description": l.description, "type": l.kind,
		"creation_time": vapiTime(l.created), "last_modified_time": vapiTime(l.created), "version": "2",
		"storage_backings": []map[string]string{{"type": "DATASTORE", "datastore_id": l.datastore}},
		"server_guid":      "8b1f2a64-3c5d-4e6f-9a0b-1c2d3e4f5a6b",
	}, nil
}

// handleListItems is GET /api/content/library/item?library_id=…: the ids of
// the library's items; library_id is required.
func handleListItems(s *Server, c *call) (any, *vapiError) {
	id := c.r.URL.Query().Get("library_id")
	if id == "" {
		return nil, errInvalidInput("::Com::Vmware::Content::Library::ItemSvc::List")
	}
	l := s.chg.libraries[id]
	if l == nil {
		return nil, errLibraryNotFound("", id)
	}
	return append([]string{}, l.items...), nil
}

func handleGetItem(s *Server, c *call) (any, *vapiError) {
	it := s.chg.items[c.param("library_item_id")]
	if it == nil {
		return nil, errLibraryNotFound("item", c.param("library_item_id"))
	}
	size := it.size
	if !it.cached {
		size = 0
	}
	return map[string]any{
		"id": it.id, "library_id": it.library, "name": it.name, "description": it.description, "type": it.kind,
		"cached": it.cached, "size": size, "content_version": "2", "metadata_version": "1", "version": "1",
		"creation_time": vapiTime(it.created), "last_modified_time": vapiTime(it.created),
	}, nil
}

// templateItem finds a vm-template item and the template behind it.
func (s *Server) templateItem(c *call) (*libraryItem, *vm, *vapiError) {
	it := s.chg.items[c.param("template_library_item")]
	if it == nil {
		return nil, nil, errLibraryNotFound("item", c.param("template_library_item"))
	}
	if it.kind != "vm-template" {
		return nil, nil, errInvalidArgument("Library item '%s' is not a VM template (its type is %s).", it.id, it.kind)
	}
	return it, s.inv.vms[it.template], nil
}

// handleGetTemplateItem is GET /api/vcenter/vm-template/library-items/{item}.
func handleGetTemplateItem(s *Server, c *call) (any, *vapiError) {
	_, tpl, err := s.templateItem(c)
	if err != nil {
		return nil, err
	}
	type diskStorage struct {
		Datastore string `json:"datastore"`
	}
	type diskInfo struct {
		Capacity    int64       `json:"capacity"`
		DiskStorage diskStorage `json:"disk_storage"`
	}
	type nicInfo struct {
		BackingType string `json:"backing_type"`
		MACType     string `json:"mac_type"`
		Network     string `json:"network"`
	}
	disks, nics := map[string]diskInfo{}, map[string]nicInfo{}
	for _, d := range tpl.Disks {
		disks[strconv.Itoa(d.Key)] = diskInfo{d.CapacityBytes, diskStorage{d.Datastore}}
	}
	for _, n := range tpl.NICs {
		nics[strconv.Itoa(n.Key)] = nicInfo{s.inv.networks[n.Network].kind, "GENERATED", n.Network}
	}
	return map[string]any{
		"guest_OS": tpl.GuestOS, "cpu": map[string]int{"count": tpl.CPUCount, "cores_per_socket": tpl.CoresPerSocket},
		"memory": map[string]int{"size_MiB": tpl.MemoryMiB}, "vm_home_storage": diskStorage{tpl.Disks[0].Datastore},
		"disks": deviceMap(c.surface, disks), "nics": deviceMap(c.surface, nics), "vm_template": tpl.ID,
	}, nil
}

// handleDeployTemplateItem is POST
// /api/vcenter/vm-template/library-items/{item}?action=deploy (blocking):
// the new VM's id.
func handleDeployTemplateItem(s *Server, c *call) (any, *vapiError) {
	const method = "::Com::Vmware::Vcenter::VmTemplate::LibraryItemsSvc::Deploy"
	_, tpl, err := s.templateItem(c)
	if err != nil {
		return nil, err
	}
	var spec struct {
		Name                  string          `json:"name"`
		Description           string          `json:"description"`
		Placement             *placementSpec  `json:"placement"`
		VMHomeStorage         *datastoreSpec  `json:"vm_home_storage"`
		DiskStorage           *datastoreSpec  `json:"disk_storage"`
		DiskStorageOverrides  json.RawMessage `json:"disk_storage_overrides"`
		PoweredOn             *bool           `json:"powered_on"`
		GuestCustomization    *namedSpec      `json:"guest_customization"`
		HardwareCustomization json.RawMessage `json:"hardware_customization"`
	}
	if e := decodeVAPIBody(c, method, "spec", &spec); e != nil {
		return nil, e
	}
	switch {
	case spec.Name == "":
		return nil, errInvalidInput(method)
	case spec.Placement == nil || spec.Placement.Folder == "":
		return nil, errInvalidArgument("The placement and its folder are required.")
	case spec.Placement.Datastore != "":
		return nil, errInvalidInput(method) // no datastore in a deploy's placement
	}
	if e := checkVMName(spec.Name); e != nil {
		return nil, e
	}
	t, e := s.resolvePlacement(*spec.Placement, nil)
	if e != nil {
		return nil, e
	}
	disks := slices.Clone(tpl.Disks)
	if spec.DiskStorage != nil && spec.DiskStorage.Datastore != "" {
		ds := s.inv.datastores[spec.DiskStorage.Datastore]
		if ds == nil {
			return nil, errNotFound("datastore", "Datastore", spec.DiskStorage.Datastore)
		}
		for i := range disks {
			disks[i].Datastore = ds.id
		}
	}
	if spec.VMHomeStorage != nil && spec.VMHomeStorage.Datastore != "" && s.inv.datastores[spec.VMHomeStorage.Datastore] == nil {
		return nil, errNotFound("datastore", "Datastore", spec.VMHomeStorage.Datastore)
	}
	if e := s.placeable(t, disks); e != nil {
		return nil, e
	}
	custom := ""
	if spec.GuestCustomization != nil {
		custom = spec.GuestCustomization.Name
	}
	if e := s.customization(custom); e != nil {
		return nil, e
	}
	if s.inv.nameTaken(t.folder, spec.Name) {
		return nil, newVAPIError("ALREADY_EXISTS", "com.vmware.vdcs.vmtx-main.vm_name_exists",
			fmt.Sprintf("A virtual machine named '%s' already exists in the folder.", spec.Name), spec.Name)
	}
	if e := s.storageFits(disks, nil, true); e != nil {
		return nil, e
	}
	n := s.copyVM(tpl, spec.Name, t, disks)
	n.Customization = custom
	if spec.PoweredOn != nil && *spec.PoweredOn {
		n.setPower(PoweredOn, s.now(), false)
	}
	return n.ID, nil
}

// ovfItem finds an OVF item.
func (s *Server) ovfItem(c *call) (*libraryItem, *vapiError) {
	it := s.chg.items[c.param("ovf_library_item_id")]
	if it == nil {
		return nil, errLibraryNotFound("item", c.param("ovf_library_item_id"))
	}
	if it.kind != "ovf" {
		return nil, errInvalidArgument("Library item '%s' is not an OVF package (its type is %s).", it.id, it.kind)
	}
	return it, nil
}

type ovfTarget struct {
	ResourcePoolID string `json:"resource_pool_id"`
	HostID         string `json:"host_id,omitempty"`
	FolderID       string `json:"folder_id,omitempty"`
}

// ovfPlacement resolves an OVF deployment target: the pool is required; a
// host must be in it; the folder defaults to the datacenter's root VM
// folder.
func (s *Server) ovfPlacement(tg ovfTarget) (target, *vapiError) {
	if tg.ResourcePoolID == "" {
		return target{}, errInvalidArgument("The target resource pool is required.")
	}
	p := placementSpec{ResourcePool: tg.ResourcePoolID, Host: tg.HostID, Folder: tg.FolderID}
	if p.Folder == "" {
		if pool := s.inv.pools[tg.ResourcePoolID]; pool != nil {
			p.Folder = s.inv.datacenters[pool.datacenter].vmFolder
		}
	}
	return s.resolvePlacement(p, nil)
}

// handleOVFFilter is POST /api/vcenter/ovf/library-item/{id}?action=filter
// {target}: what the package needs for that target (OvfSummary).
func handleOVFFilter(s *Server, c *call) (any, *vapiError) {
	const method = "::Com::Vmware::Vcenter::Ovf::LibraryItemSvc::Filter"
	it, err := s.ovfItem(c)
	if err != nil {
		return nil, err
	}
	var body struct {
		Target *ovfTarget `json:"target"`
	}
	if e := decodeVAPIBody(c, method, "", &body); e != nil {
		return nil, e
	}
	if body.Target == nil {
		return nil, errInvalidInput(method)
	}
	if _, e := s.ovfPlacement(*body.Target); e != nil {
		return nil, e
	}
	return map[string]any{"name": it.name, "annotation": it.ovf.annotation, "EULAs": append([]string{}, it.ovf.eulas...),
		"networks": append([]string{}, it.ovf.networks...), "storage_groups": []string{}, "additional_params": []any{}}, nil
}

// handleOVFDeploy is POST /api/vcenter/ovf/library-item/{id}?action=deploy
// {target, deployment_spec} (the same two parameters on /rest, maps there
// as [{key, value}]). It answers 200 with a DeploymentResult whatever
// happens to the deployment: read succeeded.
func handleOVFDeploy(s *Server, c *call) (any, *vapiError) {
	const method = "::Com::Vmware::Vcenter::Ovf::LibraryItemSvc::Deploy"
	it, err := s.ovfItem(c)
	if err != nil {
		return nil, err
	}
	var body struct {
		ClientToken    string     `json:"client_token"`
		Target         *ovfTarget `json:"target"`
		DeploymentSpec *struct {
			Name                 string          `json:"name"`
			Annotation           string          `json:"annotation"`
			AcceptAllEULA        *bool           `json:"accept_all_EULA"`
			NetworkMappings      json.RawMessage `json:"network_mappings"`
			StorageMappings      json.RawMessage `json:"storage_mappings"`
			StorageProvisioning  string          `json:"storage_provisioning"`
			StorageProfileID     string          `json:"storage_profile_id"`
			Locale               string          `json:"locale"`
			Flags                []string        `json:"flags"`
			AdditionalParameters []any           `json:"additional_parameters"`
			DefaultDatastoreID   string          `json:"default_datastore_id"`
		} `json:"deployment_spec"`
	}
	if e := decodeVAPIBody(c, method, "", &body); e != nil {
		return nil, e
	}
	ds := body.DeploymentSpec
	if body.Target == nil || ds == nil || ds.AcceptAllEULA == nil || c.surface == surfaceAPI && body.ClientToken != "" {
		return nil, errInvalidInput(method)
	}
	t, e := s.ovfPlacement(*body.Target)
	if e != nil {
		return nil, e
	}
	mappings, ok := decodeKeyed[string](c.surface, ds.NetworkMappings)
	if !ok {
		return nil, errInvalidInput(method)
	}
	failed := func(message string) any {
		return map[string]any{"succeeded": false, "error": map[string]any{
			"errors": []map[string]any{{"@class": "com.vmware.vcenter.ovf.ovf_error", "category": "SERVER",
				"message": localizableMessage{ID: "com.vmware.ovfs.ovfs-main.ovfs.deploy_failed", DefaultMessage: message, Args: []string{}}}},
			"warnings": []any{}, "information": []any{}}}
	}
	name := ds.Name
	if name == "" {
		name = it.name
	}
	if e := checkVMName(name); e != nil {
		return failed(e.Messages[0].DefaultMessage), nil
	}
	if len(it.ovf.eulas) > 0 && !*ds.AcceptAllEULA {
		return failed("The package has end-user licence agreements: accept_all_EULA must be true."), nil
	}
	src := s.ovfSource(it, t)
	if ds.DefaultDatastoreID != "" {
		d := s.inv.datastores[ds.DefaultDatastoreID]
		if d == nil {
			return nil, errNotFound("datastore", "Datastore", ds.DefaultDatastoreID)
		}
		for i := range src.Disks {
			src.Disks[i].Datastore = d.id
		}
	}
	for i, n := range it.ovf.networks {
		if id, ok := mappings[n]; ok {
			net := s.inv.networks[id]
			if net == nil || net.datacenter != t.host.datacenter {
				return failed(fmt.Sprintf("Network '%s' mapped for '%s' is not available on the target.", id, n)), nil
			}
			src.NICs[i].Network = id
		}
	}
	thick := ds.StorageProvisioning == "thick" || ds.StorageProvisioning == "eagerZeroedThick"
	for i := range src.Disks {
		src.Disks[i].Thick = thick
	}
	switch {
	case s.placeable(t, src.Disks) != nil:
		return failed(s.placeable(t, src.Disks).Messages[0].DefaultMessage), nil
	case s.inv.nameTaken(t.folder, name):
		return failed(fmt.Sprintf("A virtual machine named '%s' already exists in the folder.", name)), nil
	case s.storageFits(src.Disks, nil, true) != nil:
		return failed(s.storageFits(src.Disks, nil, true).Messages[0].DefaultMessage), nil
	}
	n := s.copyVM(src, name, t, src.Disks)
	return map[string]any{"succeeded": true, "resource_id": map[string]string{"type": "VirtualMachine", "id": n.ID},
		"error": map[string]any{"errors": []any{}, "warnings": []any{}, "information": []any{}}}, nil
}

// ovfSource is the VM an OVF package describes, placed at t: disks on the
// first datastore the host mounts, NICs on the datacenter's VM Network.
func (s *Server) ovfSource(it *libraryItem, t target) *vm {
	o := it.ovf
	v := &vm{VM: VM{Name: it.name, GuestOS: o.guest, ToolsInstalled: true, CPUCount: o.cpu, CoresPerSocket: 1, MemoryMiB: o.memMi,
		HardwareVersion: "VMX_19", Firmware: "EFI", CDROMs: []CDROM{defaultCDROM()}}}
	var home *datastore
	for _, ds := range sortedValues(s.inv.datastores) {
		if home == nil && ds.shared && s.inv.visible(ds, t.host) {
			home = ds
		}
	}
	if home == nil {
		home = &datastore{}
	}
	for i, gib := range o.disksGiB {
		v.Disks = append(v.Disks, Disk{Key: 2000 + i, Label: fmt.Sprintf("Hard disk %d", i+1), CapacityBytes: gib << 30, Datastore: home.id})
	}
	var vmNet string
	for _, n := range sortedValues(s.inv.networks) {
		if n.name == "VM Network" && n.datacenter == t.host.datacenter {
			vmNet = n.id
		}
	}
	for i := range o.networks {
		v.NICs = append(v.NICs, NIC{Key: 4000 + i, Label: fmt.Sprintf("Network adapter %d", i+1), Network: vmNet, StartConnected: true})
	}
	return v
}

// handleListCustomizationSpecs is GET /api/vcenter/guest/customization-specs
// (?names=…&OS_type=…; /rest with filter.): the summaries.
func handleListCustomizationSpecs(s *Server, c *call) (any, *vapiError) {
	f, err := parseFilter(c, "::Com::Vmware::Vcenter::Guest::CustomizationSpecsSvc::List", ids("names"),
		filterKey{name: "OS_type", enum: []string{"WINDOWS", "LINUX"}, single: true})
	if err != nil {
		return nil, err
	}
	type summary struct {
		Name         string `json:"name"`
		Description  string `json:"description"`
		OSType       string `json:"OS_type"`
		LastModified string `json:"last_modified"`
	}
	out := []summary{}
	for _, sp := range s.chg.specs {
		if f.match("names", sp.name) && f.match("OS_type", sp.osType) {
			out = append(out, summary{sp.name, sp.description, sp.osType, vapiTime(sp.modified)})
		}
	}
	return out, nil
}

// libraryRoutes lists the library and customization operations in both
// dialects; /rest names content ids as "id:{…}" ([C802], contract changes
// §2.1).
func libraryRoutes(add func(method, pattern, action string, h vapiHandler) *route) {
	get, post := http.MethodGet, http.MethodPost
	add(get, "/api/content/library", "", handleListLibraries)
	add(get, "/rest/com/vmware/content/library", "", handleListLibraries)
	add(get, "/api/content/library/{library_id}", "", handleGetLibrary)
	add(get, "/rest/com/vmware/content/library/id:{library_id}", "", handleGetLibrary)
	add(get, "/api/content/library/item", "", handleListItems)
	add(get, "/rest/com/vmware/content/library/item", "", handleListItems)
	add(get, "/api/content/library/item/{library_item_id}", "", handleGetItem)
	add(get, "/rest/com/vmware/content/library/item/id:{library_item_id}", "", handleGetItem)
	for _, prefix := range []string{"/api", "/rest"} {
		add(get, prefix+"/vcenter/vm-template/library-items/{template_library_item}", "", handleGetTemplateItem)
		// ?action=deploy on /rest too (contract changes §2.5).
		add(post, prefix+"/vcenter/vm-template/library-items/{template_library_item}", "deploy", handleDeployTemplateItem)
		add(get, prefix+"/vcenter/guest/customization-specs", "", handleListCustomizationSpecs)
	}
	for _, action := range []string{"filter", "deploy"} {
		h := handleOVFFilter
		if action == "deploy" {
			h = handleOVFDeploy
		}
		add(post, "/api/vcenter/ovf/library-item/{ovf_library_item_id}", action, h)
		add(post, "/rest/com/vmware/vcenter/ovf/library-item/id:{ovf_library_item_id}", action, h).actionKey = "~action"
	}
}
