// Provisioning tools clone VMs and classic templates, list content
// libraries, their items and guest customization specifications, and
// deploy a library's VM-template or OVF item (vcenter-api-changes.md §1,
// §2). Clones and deploys are additive: they act at once and take dry_run
// for a preview. Inverse of clone_vm and deploy_from_library: delete_vm.

package tools

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// provisioningAPI clones, reads libraries and deploys.
type provisioningAPI interface {
	CloneVM(ctx context.Context, spec vcenter.CloneSpec) (string, error)
	CloneTemplate(ctx context.Context, spec vcenter.CloneSpec) (string, error)
	FindTemplates(ctx context.Context, name string) ([]vcenter.Template, error)
	SetGuestCustomization(ctx context.Context, vm, spec string) error
	ListLibraries(ctx context.Context) ([]vcenter.Library, error)
	ListLibraryItems(ctx context.Context, library string) ([]vcenter.LibraryItem, error)
	GetLibraryItem(ctx context.Context, id string) (vcenter.LibraryItem, error)
	DeployTemplateItem(ctx context.Context, item string, spec vcenter.DeploySpec) (string, error)
	DeployOVFItem(ctx context.Context, item string, spec vcenter.DeploySpec) (string, error)
	ListCustomizationSpecs(ctx context.Context, names []string, osType string) ([]vcenter.CustomizationSpec, error)
	RootPool(ctx context.Context, cluster, host string) (string, error)
	HostCluster(ctx context.Context, host string) (string, error)
}

// newVMOut is the result of a clone or deploy.
type newVMOut struct {
	VM         vmRef  `json:"vm"`
	Source     vmRef  `json:"source"`
	PowerState string `json:"power_state"`
	TaskID     string `json:"task_id,omitempty"`
}

// createNext is the next step after a failed clone or deploy.
func createNext(err error, taskID string) string {
	var nf *taskNotFollowedError
	var de *vcenter.DeployError
	switch {
	case errors.As(err, &nf) || maybeApplied(err):
		return fmt.Sprintf("check with list_vms (or get_task %s) whether the VM appeared before trying again", cmp.Or(taskID, "on the task"))
	case errors.Is(err, vcenter.ErrAlreadyExists):
		return "a VM of that name exists in the folder: choose another new_name or folder"
	case errors.Is(err, vcenter.ErrUnableToAllocate):
		return "not enough space or capacity: choose a datastore with more free space (list_datastores) or another host"
	case errors.Is(err, vcenter.ErrNotAllowedInCurrentState):
		return "the destination cannot take it now (a host in maintenance mode?): choose another host or cluster"
	case errors.As(err, &de):
		return "fix what vCenter names, then try again"
	}
	return ""
}

// --- clone_vm ---

type cloneVMIn struct {
	vmArgs
	NewName string `json:"new_name"`
	placementArgs
	PowerOn           bool   `json:"power_on,omitempty"`
	CustomizationSpec string `json:"customization_spec,omitempty"`
	dryRunArgs
}

// source is the VM or template a clone copies.
type source struct {
	ID, Name, State string
	Template        *vcenter.Template // set for a classic template
}

// resolveSource finds a clone's source: a VM through the VM list, or, as
// templates are not listed there, a template through VI/JSON.
func resolveSource(ctx context.Context, d Deps, a vmArgs) (VCenter, source, error) {
	ref, err := a.ref()
	if err != nil {
		return nil, source{}, err
	}
	vc, err := connect(ctx, d, a.Hostname)
	if err != nil {
		return nil, source{}, err
	}
	vm, err := vc.FindVM(ctx, ref)
	if err == nil {
		audit.NoteTarget(ctx, vm.ID, vm.Name)
		return vc, source{ID: vm.ID, Name: vm.Name, State: string(vm.PowerState)}, nil
	}
	if !errors.Is(err, vcenter.ErrNotFound) {
		return nil, source{}, explain(err)
	}
	tpls, terr := vc.FindTemplates(ctx, ref.Name)
	if terr != nil {
		return nil, source{}, fail("look for templates", terr, "")
	}
	if ref.ID != "" {
		tpls = slices.DeleteFunc(tpls, func(t vcenter.Template) bool { return t.ID != ref.ID })
		if len(tpls) == 0 {
			return nil, source{}, explain(err)
		}
	}
	switch len(tpls) {
	case 0:
		return nil, source{}, argErrorf("no VM or template is named %q (names are exact; list_vms shows VMs)", truncate(ref.Name, 80))
	case 1:
		t := tpls[0]
		audit.NoteTarget(ctx, t.ID, t.Name)
		return vc, source{ID: t.ID, Name: t.Name, State: "template", Template: &t}, nil
	}
	var ids []string
	for _, t := range tpls {
		ids = append(ids, t.ID)
	}
	return nil, source{}, argErrorf("%d templates are named %q: %s. Next: call again with vm_id", len(tpls), truncate(ref.Name, 80), strings.Join(ids, ", "))
}

func cloneVM(d Deps) Tool {
	return spec[cloneVMIn, confirmOut[newVMOut]]{
		Name: "clone_vm", Title: "Clone VM or template",
		Description: "Copy a VM or classic template to a new VM, optionally placed, customized and powered on; follows the task with progress. dry_run previews. Inverse: delete_vm.",
		Toolset:     ToolsetProvisioning, Level: policy.LevelOps, Kind: KindWrite, DryRun: true,
		Privileges: Privileges{Calls: "`POST /api/vcenter/vm?action=clone&vmw-task=true` (a VM), VI/JSON `CloneVM_Task` (a template), then the task; `PUT …/guest/customization`",
			Needs: "`VirtualMachine.Provisioning.Clone` (a VM) or `…Provisioning.DeployTemplate` (a template), `VirtualMachine.Inventory.CreateFromExisting`, `Resource.AssignVMToPool`, `Datastore.AllocateSpace`; `…Provisioning.Customize` with a customization spec",
			On:    "the source; the folder, pool and datastores"},
		Example: `{"vm_name": "web-01", "new_name": "web-01-test", "folder": "Dev"}`,
		Schema:  func(in, _ *schema) { in.maxLen("new_name", 80) },
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in cloneVMIn) (*mcp.CallToolResult, confirmOut[newVMOut], error) {
			var zero confirmOut[newVMOut]
			if err := vmNewName(in.NewName); err != nil {
				return nil, zero, err
			}
			vc, src, err := resolveSource(ctx, d, in.vmArgs)
			if err != nil {
				return nil, zero, err
			}
			dc, keep := "", ""
			if src.Template == nil {
				if dc, err = vmDatacenter(ctx, vc, src.ID); err != nil {
					return nil, zero, err
				}
				keep = sourceCluster(ctx, vc, src.ID)
			}
			p, err := resolvePlacement(ctx, vc, in.placementArgs, dc, keep)
			if err != nil {
				return nil, zero, err
			}
			if err := checkSpec(ctx, vc, in.CustomizationSpec); err != nil {
				return nil, zero, err
			}
			if t := src.Template; t != nil {
				// CloneVM_Task needs the folder and, from a template, the pool.
				if p.Folder == nil {
					f, err := findObject(ctx, vc, vcenter.KindFolder, t.FolderID, "")
					if err != nil {
						return nil, zero, err
					}
					p.Folder = &f
				}
				if p.Pool == nil {
					c, err := vc.HostCluster(ctx, t.HostID)
					if err != nil {
						return nil, zero, fail("find the cluster of the template's host", err, "give resource_pool")
					}
					pool, err := vc.RootPool(ctx, c, t.HostID)
					if err != nil {
						return nil, zero, fail("find the template's resource pool", err, "give resource_pool")
					}
					p.Pool = &object{Kind: vcenter.KindResourcePool, ID: pool, Name: "Resources"}
				}
			}
			if p.Folder != nil {
				if vms, _, err := vc.ListVMs(ctx, vcenter.VMFilter{Names: []string{in.NewName}, Folders: []string{p.Folder.ID}}); err == nil && len(vms) > 0 {
					return nil, zero, argErrorf("%s already holds a VM named %q (%s). Next: choose another new_name or folder", p.Folder.label(), in.NewName, vms[0].ID)
				}
			}
			what := "VM"
			if src.Template != nil {
				what = "template"
			}
			after := "powered off"
			if in.PowerOn {
				after = "powered on"
			}
			if in.CustomizationSpec != "" {
				after += fmt.Sprintf(", guest customization %q at its first power-on", in.CustomizationSpec)
			}
			pv := preview{
				Target: previewTarget{ID: src.ID, Name: src.Name, State: src.State},
				Change: fmt.Sprintf("clone %s %s as %q into %s; the clone will be %s", what, label(src.Name, src.ID), in.NewName,
					p.describe("the source's folder, resource pool, host and datastores"), after),
			}
			return actOrPreview(ctx, req, in.DryRun, pv, func() (newVMOut, string, error) {
				return doClone(ctx, d, req, vc, src, in, p)
			})
		},
	}.tool()
}

// doClone clones and follows the task; from a template, it then sets the
// customization and powers on, reporting what was done if a step fails.
func doClone(ctx context.Context, d Deps, req *mcp.CallToolRequest, vc VCenter, src source, in cloneVMIn, p placement) (newVMOut, string, error) {
	op := fmt.Sprintf("clone %s", label(src.Name, src.ID))
	spec := vcenter.CloneSpec{Source: src.ID, Name: in.NewName, Placement: p.spec(), PowerOn: in.PowerOn, Customization: in.CustomizationSpec}
	start := vc.CloneVM
	if src.Template != nil {
		// CloneVM_Task takes no customization by name: it is set on the
		// clone, which stays off until then.
		spec.Customization, spec.PowerOn = "", in.PowerOn && in.CustomizationSpec == ""
		start = vc.CloneTemplate
	}
	task, err := start(ctx, spec)
	if err != nil {
		return newVMOut{}, "", fail(op, err, createNext(err, ""))
	}
	t, err := waitTask(ctx, d, req, vc, task)
	if err != nil {
		return newVMOut{}, "", fail(op, err, createNext(err, task))
	}
	out := newVMOut{VM: vmRef{t.ResultID, in.NewName}, Source: vmRef{src.ID, src.Name}, PowerState: string(vcenter.PoweredOff), TaskID: task}
	if spec.PowerOn {
		out.PowerState = string(vcenter.PoweredOn)
	}
	if src.Template != nil && in.CustomizationSpec != "" {
		if err := vc.SetGuestCustomization(ctx, t.ResultID, in.CustomizationSpec); err != nil {
			return newVMOut{}, "", fail(fmt.Sprintf("the clone %s was created, powered off, but setting its customization failed", label(in.NewName, t.ResultID)), err,
				"delete_vm removes the clone, or power it on without customization")
		}
		if in.PowerOn {
			if err := vc.Power(ctx, t.ResultID, vcenter.PowerStart); err != nil {
				return newVMOut{}, "", fail(fmt.Sprintf("the clone %s was created and customized, but powering it on failed", label(in.NewName, t.ResultID)), err,
					"power_on_vm retries")
			}
			out.PowerState = string(vcenter.PoweredOn)
		}
	}
	return out, fmt.Sprintf("%s cloned to %s, %s", label(src.Name, src.ID), label(in.NewName, t.ResultID), out.PowerState), nil
}

// sourceCluster is the cluster a VM runs in, "" when unknown (no
// VI/JSON, a standalone host): a destination in it keeps the VM's pool.
func sourceCluster(ctx context.Context, vc VCenter, vm string) string {
	st, err := vc.VMStatus(ctx, vm)
	if err != nil || st.HostID == "" {
		return ""
	}
	c, _ := vc.HostCluster(ctx, st.HostID)
	return c
}

// --- list_content_libraries ---

type libraryOut struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Type        string   `json:"type"` // LOCAL or SUBSCRIBED
	Description string   `json:"description,omitempty"`
	Datastores  []string `json:"datastores"`
}

type listContentLibrariesIn struct {
	listArgs
}

func listContentLibraries(d Deps) Tool {
	return spec[listContentLibrariesIn, page[libraryOut]]{
		Name: "list_content_libraries", Title: "List content libraries",
		Description: "Content libraries: id, name, local or subscribed, storage; list_library_items shows their items; paged.",
		Toolset:     ToolsetProvisioning, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "`GET /api/content/library`, then `…/library/{id}` each", Needs: "`ContentLibrary.ReadStorage` to see storage", On: "the libraries"},
		Example:    `{}`,
		Handle: listing(d, func(ctx context.Context, vc VCenter, _ listContentLibrariesIn) ([]libraryOut, error) {
			libs, err := vc.ListLibraries(ctx)
			if err != nil {
				return nil, fail("list content libraries", err, "")
			}
			out := make([]libraryOut, 0, len(libs))
			for _, l := range libs {
				ds := l.Datastores
				if ds == nil {
					ds = []string{}
				}
				out = append(out, libraryOut{ID: l.ID, Name: l.Name, Type: l.Type, Description: truncate(l.Description, 200), Datastores: ds})
			}
			return out, nil
		}),
	}.tool()
}

// --- list_library_items ---

type libraryItemOut struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	Type    string  `json:"type"` // vm-template, ovf, iso or another
	Library string  `json:"library"`
	SizeGB  float64 `json:"size_gb"`
	Cached  bool    `json:"cached"` // false: not yet synchronised from its subscription
}

type listLibraryItemsIn struct {
	listArgs
	Library string   `json:"library,omitempty" jsonschema:"name or id; default all"`
	Types   []string `json:"types,omitempty"`
}

var itemTypes = []string{"vm-template", "ovf", "iso"}

// libraryItems reads the items of the libraries library names (all when
// ""), with their library's name.
func libraryItems(ctx context.Context, vc VCenter, library string) ([]libraryItemOut, error) {
	libs, err := vc.ListLibraries(ctx)
	if err != nil {
		return nil, fail("list content libraries", err, "")
	}
	if library != "" {
		libs = slices.DeleteFunc(libs, func(l vcenter.Library) bool { return l.ID != library && l.Name != library })
		if len(libs) == 0 {
			return nil, argErrorf("no content library is named or has id %q (list_content_libraries shows them)", truncate(library, 80))
		}
	}
	var out []libraryItemOut
	for _, l := range libs {
		items, err := vc.ListLibraryItems(ctx, l.ID)
		if err != nil {
			return nil, fail("list the items of library "+quote(l.Name), err, "")
		}
		for _, it := range items {
			out = append(out, libraryItemOut{ID: it.ID, Name: it.Name, Type: it.Type, Library: l.Name, SizeGB: gib(it.Size), Cached: it.Cached})
		}
	}
	return out, nil
}

func listLibraryItems(d Deps) Tool {
	return spec[listLibraryItemsIn, page[libraryItemOut]]{
		Name: "list_library_items", Title: "List library items",
		Description: "Items of content libraries: VM templates and OVFs for deploy_from_library, ISOs for mount_iso; by library and type; paged.",
		Toolset:     ToolsetProvisioning, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "`GET /api/content/library`, `GET /api/content/library/item?library_id=…`, then `…/item/{id}` each", On: "the libraries"},
		Example:    `{"library": "Golden Images", "types": ["vm-template"]}`,
		Schema:     func(in, _ *schema) { in.enum("types", itemTypes...) },
		Handle: listing(d, func(ctx context.Context, vc VCenter, in listLibraryItemsIn) ([]libraryItemOut, error) {
			items, err := libraryItems(ctx, vc, in.Library)
			if err != nil {
				return nil, err
			}
			out := make([]libraryItemOut, 0, len(items))
			for _, it := range items {
				if len(in.Types) == 0 || slices.Contains(in.Types, it.Type) {
					out = append(out, it)
				}
			}
			return out, nil
		}),
	}.tool()
}

// findItem finds a library item by id, or by name (in library when given).
func findItem(ctx context.Context, vc VCenter, item, library string) (libraryItemOut, error) {
	if vcenter.LooksLikeID(vcenter.KindLibraryItem, item) && library == "" {
		it, err := vc.GetLibraryItem(ctx, item)
		if errors.Is(err, vcenter.ErrNotFound) {
			return libraryItemOut{}, argErrorf("no library item has id %s (list_library_items shows them)", item)
		}
		if err != nil {
			return libraryItemOut{}, fail("read library item "+item, err, "")
		}
		return libraryItemOut{ID: it.ID, Name: it.Name, Type: it.Type, Cached: it.Cached}, nil
	}
	items, err := libraryItems(ctx, vc, library)
	if err != nil {
		return libraryItemOut{}, err
	}
	var found []libraryItemOut
	for _, it := range items {
		if it.ID == item || it.Name == item {
			found = append(found, it)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return libraryItemOut{}, argErrorf("no library item is named %q (list_library_items shows them)", truncate(item, 80))
	}
	var cands []string
	for _, it := range found {
		cands = append(cands, fmt.Sprintf("%s (library %q)", it.ID, it.Library))
	}
	return libraryItemOut{}, argErrorf("%d library items are named %q: %s. Next: give library, or the item id", len(found), truncate(item, 80), strings.Join(cands, ", "))
}

// --- deploy_from_library ---

type deployFromLibraryIn struct {
	hostArgs
	Item    string `json:"item" jsonschema:"name or id (list_library_items)"`
	Library string `json:"library,omitempty"`
	NewName string `json:"new_name"`
	placementArgs
	Network           string `json:"network,omitempty" jsonschema:"name or id for every NIC"`
	PowerOn           bool   `json:"power_on,omitempty"`
	CustomizationSpec string `json:"customization_spec,omitempty"`
	dryRunArgs
}

func deployFromLibrary(d Deps) Tool {
	return spec[deployFromLibraryIn, confirmOut[newVMOut]]{
		Name: "deploy_from_library", Title: "Deploy from content library",
		Description: "Deploy a VM-template or OVF library item as a new VM in a folder and a cluster, host or pool. dry_run previews. Inverse: delete_vm.",
		Toolset:     ToolsetProvisioning, Level: policy.LevelOps, Kind: KindWrite, DryRun: true,
		Privileges: Privileges{Calls: "`POST /api/vcenter/vm-template/library-items/{item}?action=deploy`, or `POST /api/vcenter/ovf/library-item/{item}?action=filter` and `?action=deploy` (blocking)",
			Needs: "`ContentLibrary.DeployTemplates` (VM template) or `VApp.Import` (OVF), `VirtualMachine.Inventory.CreateFromExisting`/`Create`, `Resource.AssignVMToPool`, `Datastore.AllocateSpace`, `Network.Assign`; `VirtualMachine.Provisioning.Customize` with a customization spec",
			On:    "the library; the folder, pool, datastore and network"},
		Example: `{"item": "ubuntu-22.04-golden", "new_name": "web-05", "folder": "Dev", "cluster": "Prod-Cluster"}`,
		Schema: func(in, _ *schema) {
			in.maxLen("new_name", 80)
			in.maxLen("item", 256)
		},
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in deployFromLibraryIn) (*mcp.CallToolResult, confirmOut[newVMOut], error) {
			var zero confirmOut[newVMOut]
			if err := vmNewName(in.NewName); err != nil {
				return nil, zero, err
			}
			if in.Folder == "" || in.Cluster == "" && in.Host == "" && in.ResourcePool == "" {
				return nil, zero, argErrorf("give folder and one of cluster, host or resource_pool: where the new VM goes")
			}
			vc, err := connect(ctx, d, in.Hostname)
			if err != nil {
				return nil, zero, err
			}
			it, err := findItem(ctx, vc, in.Item, in.Library)
			if err != nil {
				return nil, zero, err
			}
			audit.NoteTarget(ctx, it.ID, it.Name)
			if it.Type != "vm-template" && it.Type != "ovf" {
				return nil, zero, argErrorf("library item %s is of type %s: only vm-template and ovf items deploy (mount_iso takes ISO items)", label(it.Name, it.ID), it.Type)
			}
			folder, err := findObject(ctx, vc, vcenter.KindFolder, in.Folder, "")
			if err != nil {
				return nil, zero, err
			}
			dc, err := datacenterOf(ctx, vc, folder)
			if err != nil {
				return nil, zero, err
			}
			p, err := resolvePlacement(ctx, vc, in.placementArgs, dc, "")
			if err != nil {
				return nil, zero, err
			}
			var network *object
			if in.Network != "" {
				n, err := findObject(ctx, vc, vcenter.KindNetwork, in.Network, dc)
				if err != nil {
					return nil, zero, err
				}
				network = &n
			}
			if err := checkSpec(ctx, vc, in.CustomizationSpec); err != nil {
				return nil, zero, err
			}
			if vms, _, err := vc.ListVMs(ctx, vcenter.VMFilter{Names: []string{in.NewName}, Folders: []string{p.Folder.ID}}); err == nil && len(vms) > 0 {
				return nil, zero, argErrorf("%s already holds a VM named %q (%s). Next: choose another new_name or folder", p.Folder.label(), in.NewName, vms[0].ID)
			}
			after := "powered off"
			if in.PowerOn {
				after = "powered on"
			}
			if network != nil {
				after += ", every NIC on " + network.label()
			}
			if in.CustomizationSpec != "" {
				after += fmt.Sprintf(", guest customization %q at its first power-on", in.CustomizationSpec)
			}
			state := it.Type + " item"
			if !it.Cached {
				state += ", not cached yet (vCenter fetches it first)"
			}
			pv := preview{
				Target: previewTarget{ID: it.ID, Name: it.Name, State: state},
				Change: fmt.Sprintf("deploy %s as %q into %s; the VM will be %s", label(it.Name, it.ID), in.NewName, p.describe(""), after),
			}
			return actOrPreview(ctx, req, in.DryRun, pv, func() (newVMOut, string, error) {
				ds := vcenter.DeploySpec{Name: in.NewName, Placement: p.spec(), PowerOn: in.PowerOn, Customization: in.CustomizationSpec}
				if network != nil {
					ds.Network = network.ID
				}
				deploy := vc.DeployTemplateItem
				if it.Type == "ovf" {
					deploy = vc.DeployOVFItem
				}
				// No task to follow: vCenter answers when the deploy is done.
				notify(ctx, req, 0, "deploying "+it.Name+"; vCenter answers when done")
				vm, err := deploy(ctx, it.ID, ds)
				op := fmt.Sprintf("deploy %s as %q", label(it.Name, it.ID), in.NewName)
				switch {
				case err != nil && vm != "":
					return newVMOut{}, "", fail(fmt.Sprintf("%s: the VM %s was created, but a later step failed", op, vm), err, "power_on_vm or delete_vm")
				case err != nil:
					return newVMOut{}, "", fail(op, err, createNext(err, ""))
				}
				notify(ctx, req, 100, "done")
				out := newVMOut{VM: vmRef{vm, in.NewName}, Source: vmRef{it.ID, it.Name}, PowerState: string(vcenter.PoweredOff)}
				if in.PowerOn {
					out.PowerState = string(vcenter.PoweredOn)
				}
				return out, fmt.Sprintf("%s deployed as %s, %s", label(it.Name, it.ID), label(in.NewName, vm), out.PowerState), nil
			})
		},
	}.tool()
}

// notify sends a progress notification when the client asked for them.
func notify(ctx context.Context, req *mcp.CallToolRequest, pct int, message string) {
	if token := req.Params.GetProgressToken(); token != nil && req.Session != nil {
		_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: token, Progress: float64(pct), Total: 100, Message: message})
	}
}

// --- list_customization_specs ---

type customizationSpecOut struct {
	Name         string `json:"name"`
	OSType       string `json:"os_type"`
	Description  string `json:"description,omitempty"`
	LastModified string `json:"last_modified"`
}

type listCustomizationSpecsIn struct {
	listArgs
	OSType string `json:"os_type,omitempty"`
}

func listCustomizationSpecs(d Deps) Tool {
	return spec[listCustomizationSpecsIn, page[customizationSpecOut]]{
		Name: "list_customization_specs", Title: "List customization specs",
		Description: "Stored guest customization specifications (name, OS type) for clone_vm and deploy_from_library; paged.",
		Toolset:     ToolsetProvisioning, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "`GET /api/vcenter/guest/customization-specs`", Needs: "`VirtualMachine.Provisioning.ReadCustSpecs`", On: "the vCenter"},
		Example:    `{"os_type": "LINUX"}`,
		Schema:     func(in, _ *schema) { in.enum("os_type", "LINUX", "WINDOWS") },
		Handle: listing(d, func(ctx context.Context, vc VCenter, in listCustomizationSpecsIn) ([]customizationSpecOut, error) {
			specs, err := vc.ListCustomizationSpecs(ctx, nil, in.OSType)
			if err != nil {
				return nil, fail("list customization specifications", err, "")
			}
			out := make([]customizationSpecOut, 0, len(specs))
			for _, s := range specs {
				out = append(out, customizationSpecOut{Name: s.Name, OSType: s.OSType, Description: truncate(s.Description, 200), LastModified: s.LastModified})
			}
			return out, nil
		}),
	}.tool()
}
