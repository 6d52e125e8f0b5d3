// Device tools mount and unmount ISO images, add and extend disks, add NICs
// and move a NIC to another network (vcenter-api-changes.md §3). They check
// vCenter's state rules first (§3.4: IDE is cold-plug, a connected drive
// of a running VM must be disconnected before its backing changes,
// connect/disconnect only while it runs, disks with snapshots do not grow)
// so that the model hears what to do. Devices are named by label ("Hard
// disk 1", "Network adapter 1", "CD/DVD drive 1") or key ("2000").
// Inverses: mount_iso ↔ unmount_iso; set_vm_network with the old network;
// add_disk, add_nic and extend_disk have none here (disks never shrink).

package tools

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// deviceAPI reads and changes devices.
type deviceAPI interface {
	VMDevices(ctx context.Context, vm string) (vcenter.Devices, error)
	CreateCDROM(ctx context.Context, vm string, iso vcenter.ISOPath, startConnected bool) (string, error)
	SetCDROM(ctx context.Context, vm, key string, iso *vcenter.ISOPath, startConnected *bool) error
	ConnectCDROM(ctx context.Context, vm, key string) error
	DisconnectCDROM(ctx context.Context, vm, key string) error
	MountLibraryISO(ctx context.Context, vm, item string) (string, error)
	UnmountLibraryISO(ctx context.Context, vm, key string) error
	CreateDisk(ctx context.Context, vm string, capacity int64) (string, error)
	AddDisk(ctx context.Context, vm string, d vcenter.NewDisk) (string, error)
	ExtendDisk(ctx context.Context, vm, key string, capacity int64) (string, error)
	CreateNIC(ctx context.Context, vm string, network vcenter.NetworkBacking, startConnected bool) (string, error)
	UpdateNIC(ctx context.Context, vm, key string, network *vcenter.NetworkBacking, startConnected *bool) error
	ConnectNIC(ctx context.Context, vm, key string) error
	DisconnectNIC(ctx context.Context, vm, key string) error
}

// deviceOut is the result of a device change.
type deviceOut struct {
	VM      vmRef  `json:"vm"`
	Device  vmRef  `json:"device"` // key and label
	Changed bool   `json:"changed"`
	State   string `json:"state"` // the device after the change
	TaskID  string `json:"task_id,omitempty"`
}

// devicesOf resolves the VM and reads its devices.
func devicesOf(ctx context.Context, d Deps, a vmArgs) (VCenter, vcenter.VMSummary, vcenter.Devices, error) {
	vc, vm, err := resolveVM(ctx, d, a, needSummary)
	if err != nil {
		return nil, vm, vcenter.Devices{}, err
	}
	devs, err := vc.VMDevices(ctx, vm.ID)
	if err != nil {
		return nil, vm, devs, fail("read the devices of "+label(vm.Name, vm.ID), err, "")
	}
	return vc, vm, devs, nil
}

// pick finds the device ref names (a label or key) among items; with ref
// empty, the only item that passes def (nil: the only item).
func pick[T any](items []T, keyLabel func(T) (string, string), ref, what string, def func(T) bool) (T, error) {
	var zero T
	var found []T
	for _, it := range items {
		k, l := keyLabel(it)
		if ref != "" && (k == ref || strings.EqualFold(l, ref)) || ref == "" && (def == nil || def(it)) {
			found = append(found, it)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	var labels []string
	for _, it := range items {
		k, l := keyLabel(it)
		labels = append(labels, fmt.Sprintf("%q (%s)", l, k))
	}
	have := strings.Join(labels, ", ")
	if have == "" {
		have = "none"
	}
	if ref != "" {
		return zero, argErrorf("the VM has no %s %q; it has: %s", what, truncate(ref, 40), have)
	}
	if len(found) == 0 {
		return zero, argErrorf("no %s to choose; the VM has: %s", what, have)
	}
	return zero, argErrorf("several %ss could be meant: %s. Next: name one", what, have)
}

func cdromKey(c vcenter.CDROM) (string, string)   { return c.Key, c.Label }
func diskKey(dk vcenter.Disk) (string, string)    { return dk.Key, dk.Label }
func nicKey(n vcenter.NICDevice) (string, string) { return n.Key, n.Label }
func libraryISO(iso string) bool                  { return strings.Contains(iso, "] contentlib-") }
func suspendedRefusal(vm vcenter.VMSummary, what string) error {
	return argErrorf("%s is suspended: vCenter %s no device of a suspended VM. Next: power_on_vm (it resumes), or power_off_vm, then call again", label(vm.Name, vm.ID), what)
}

// --- mount_iso ---

type mountISOIn struct {
	vmArgs
	ISOPath     string `json:"iso_path,omitempty" jsonschema:"[datastore] dir/file.iso"`
	LibraryItem string `json:"library_item,omitempty" jsonschema:"ISO item name or id"`
	CDROM       string `json:"cdrom,omitempty" jsonschema:"drive label or key; default an empty one"`
	dryRunArgs
}

func mountISO(d Deps) Tool {
	return spec[mountISOIn, confirmOut[deviceOut]]{
		Name: "mount_iso", Title: "Mount ISO",
		Description: "Insert a datastore ISO into an empty CD/DVD drive (added if there is none) and connect it, or mount a library ISO on a new drive. dry_run previews. Inverse: unmount_iso.",
		Toolset:     ToolsetDevices, Level: policy.LevelOps, Kind: KindWrite, Idempotent: true, DryRun: true,
		Privileges: Privileges{Calls: "`PATCH`/`POST /api/vcenter/vm/{vm}/hardware/cdrom…` (`?action=connect|disconnect`), or `POST /api/vcenter/iso/image?action=mount`",
			Needs: "`VirtualMachine.Interact.SetCDMedia`, `VirtualMachine.Interact.DeviceConnection` (a new drive: `VirtualMachine.Config.AddRemoveDevice`); `Datastore.Browse` on the ISO's datastore; `ContentLibrary.ReadStorage` for a library item",
			On:    "the VM; the datastore or library"},
		Example: `{"vm_name": "web-04", "iso_path": "[ldn-nfs-iso] iso/rhel-9.3-x86_64-dvd.iso"}`,
		Schema: func(in, _ *schema) {
			in.maxLen("iso_path", 340)
			in.maxLen("library_item", 256)
		},
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in mountISOIn) (*mcp.CallToolResult, confirmOut[deviceOut], error) {
			var zero confirmOut[deviceOut]
			var iso vcenter.ISOPath
			switch {
			case (in.ISOPath == "") == (in.LibraryItem == ""):
				return nil, zero, argErrorf("give iso_path ([datastore] dir/file.iso) or library_item, not both")
			case in.LibraryItem != "" && in.CDROM != "":
				return nil, zero, argErrorf("a library ISO always goes on a new drive: leave cdrom out")
			case in.ISOPath != "":
				var err error
				if iso, err = vcenter.ParseISOPath(in.ISOPath); err != nil {
					return nil, zero, &argError{err.Error()}
				}
			}
			vc, vm, devs, err := devicesOf(ctx, d, in.vmArgs)
			if err != nil {
				return nil, zero, err
			}
			if vm.PowerState == vcenter.Suspended {
				return nil, zero, suspendedRefusal(vm, "changes")
			}
			target := previewTarget{ID: vm.ID, Name: vm.Name, State: string(vm.PowerState)}
			running := vm.PowerState == vcenter.PoweredOn
			if in.LibraryItem != "" {
				it, err := findItem(ctx, vc, in.LibraryItem, "")
				if err != nil {
					return nil, zero, err
				}
				if it.Type != "iso" {
					return nil, zero, argErrorf("library item %s is of type %s, not iso (deploy_from_library deploys it)", label(it.Name, it.ID), it.Type)
				}
				pv := preview{Target: target, Change: fmt.Sprintf("add a SATA CD/DVD drive to %s with library ISO %s, connected", label(vm.Name, vm.ID), label(it.Name, it.ID))}
				return actOrPreview(ctx, req, in.DryRun, pv, func() (deviceOut, string, error) {
					key, err := vc.MountLibraryISO(ctx, vm.ID, it.ID)
					if err != nil {
						return deviceOut{}, "", fail("mount "+label(it.Name, it.ID)+" on "+label(vm.Name, vm.ID), err, "")
					}
					return deviceOut{VM: vmRef{vm.ID, vm.Name}, Device: vmRef{key, "new drive"}, Changed: true, State: "library ISO " + it.Name},
						fmt.Sprintf("library ISO %s mounted on a new drive (%s) of %s", quote(it.Name), key, label(vm.Name, vm.ID)), nil
				})
			}
			dc, err := vmDatacenter(ctx, vc, vm.ID)
			if err != nil {
				return nil, zero, err
			}
			ds, err := findObject(ctx, vc, vcenter.KindDatastore, iso.Datastore, dc)
			if err != nil {
				return nil, zero, err
			}
			if ds.Name != iso.Datastore {
				return nil, zero, argErrorf("an ISO path names its datastore by name: use [%s]", ds.Name)
			}
			empty := func(c vcenter.CDROM) bool { return c.Backing != "ISO_FILE" }
			if len(devs.CDROMs) == 0 && in.CDROM == "" {
				pv := preview{Target: target, Change: fmt.Sprintf("add a SATA CD/DVD drive to %s with %s, connected", label(vm.Name, vm.ID), iso)}
				return actOrPreview(ctx, req, in.DryRun, pv, func() (deviceOut, string, error) {
					key, err := vc.CreateCDROM(ctx, vm.ID, iso, true)
					if err != nil {
						return deviceOut{}, "", fail("add a CD/DVD drive to "+label(vm.Name, vm.ID), err, isoNext(err))
					}
					return deviceOut{VM: vmRef{vm.ID, vm.Name}, Device: vmRef{key, "new drive"}, Changed: true, State: iso.String()},
						fmt.Sprintf("%s inserted in a new drive (%s) of %s", iso, key, label(vm.Name, vm.ID)), nil
				})
			}
			if in.CDROM == "" {
				for _, c := range devs.CDROMs {
					if c.ISOFile == iso.String() {
						in.CDROM = c.Key // mounted already: the result says so
					}
				}
			}
			cd, err := pick(devs.CDROMs, cdromKey, in.CDROM, "empty CD/DVD drive", empty)
			if err != nil {
				return nil, zero, fmt.Errorf("%w. Next: unmount_iso frees a drive", err)
			}
			dev := vmRef{cd.Key, cd.Label}
			if cd.Backing == "ISO_FILE" {
				if cd.ISOFile == iso.String() {
					return nil, confirmOut[deviceOut]{Status: statusDone, Summary: fmt.Sprintf("%s already holds %s; nothing changed", cd.Label, iso),
						Result: &deviceOut{VM: vmRef{vm.ID, vm.Name}, Device: dev, State: iso.String()}}, nil
				}
				return nil, zero, argErrorf("%s of %s holds %s. Next: unmount_iso first, or give another cdrom", cd.Label, label(vm.Name, vm.ID), cd.ISOFile)
			}
			change := fmt.Sprintf("insert %s into %s (%s) of %s", iso, cd.Label, cd.Key, label(vm.Name, vm.ID))
			if running {
				change += " and connect it (the guest sees the disc at once)"
			} else {
				change += "; it connects at the next power-on"
			}
			pv := preview{Target: target, Change: change}
			return actOrPreview(ctx, req, in.DryRun, pv, func() (deviceOut, string, error) {
				what := fmt.Sprintf("insert %s into %s of %s", iso, cd.Label, label(vm.Name, vm.ID))
				if running && cd.Connected {
					// A connected drive of a running VM keeps its backing: disconnect first (§3.1).
					if err := vc.DisconnectCDROM(ctx, vm.ID, cd.Key); err != nil {
						return deviceOut{}, "", fail(what, err, "")
					}
				}
				on := true
				if err := vc.SetCDROM(ctx, vm.ID, cd.Key, &iso, &on); err != nil {
					return deviceOut{}, "", fail(what, err, isoNext(err))
				}
				state := iso.String() + ", connects at power-on"
				if running {
					if err := vc.ConnectCDROM(ctx, vm.ID, cd.Key); err != nil {
						return deviceOut{}, "", fail(what+": the ISO is inserted but connecting the drive failed", err, "try again with the same arguments")
					}
					state = iso.String() + ", connected"
				}
				return deviceOut{VM: vmRef{vm.ID, vm.Name}, Device: dev, Changed: true, State: state}, fmt.Sprintf("%s: %s", cd.Label, state), nil
			})
		},
	}.tool()
}

func isoNext(err error) string {
	if strings.Contains(err.Error(), "NOT_FOUND") {
		return "check the path: the file must exist on the datastore ([datastore] dir/file.iso, names are case-sensitive)"
	}
	return ""
}

// --- unmount_iso ---

type unmountISOIn struct {
	vmArgs
	CDROM string `json:"cdrom,omitempty" jsonschema:"drive label or key; default the one with an ISO"`
	confirmArgs
	dryRunArgs
}

func unmountISO(d Deps) Tool {
	return spec[unmountISOIn, confirmOut[deviceOut]]{
		Name: "unmount_iso", Title: "Unmount ISO",
		Description: "Eject the ISO from a CD/DVD drive (removing a drive a library mount added). On a powered-on VM it needs confirmation; dry_run previews. Inverse: mount_iso.",
		Toolset:     ToolsetDevices, Level: policy.LevelOps, Kind: KindWrite, Idempotent: true, Confirm: true, ConfirmIf: true, DryRun: true,
		Privileges: Privileges{Calls: "`POST …/hardware/cdrom/{cdrom}?action=disconnect`, `PATCH …/hardware/cdrom/{cdrom}`, or `POST /api/vcenter/iso/image?action=unmount`",
			Needs: "`VirtualMachine.Interact.SetCDMedia`, `VirtualMachine.Interact.DeviceConnection` (a library drive: `VirtualMachine.Config.AddRemoveDevice`)", On: "the VM"},
		Example: `{"vm_name": "legacy-app-01"}`,
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in unmountISOIn) (*mcp.CallToolResult, confirmOut[deviceOut], error) {
			var zero confirmOut[deviceOut]
			vc, vm, devs, err := devicesOf(ctx, d, in.vmArgs)
			if err != nil {
				return nil, zero, err
			}
			cd, err := pick(devs.CDROMs, cdromKey, in.CDROM, "CD/DVD drive with an ISO", func(c vcenter.CDROM) bool { return c.Backing == "ISO_FILE" })
			if err != nil {
				return nil, zero, err
			}
			dev := vmRef{cd.Key, cd.Label}
			if cd.Backing != "ISO_FILE" {
				return nil, confirmOut[deviceOut]{Status: statusDone, Summary: cd.Label + " holds no ISO; nothing changed",
					Result: &deviceOut{VM: vmRef{vm.ID, vm.Name}, Device: dev, State: "empty"}}, nil
			}
			if vm.PowerState == vcenter.Suspended {
				return nil, zero, suspendedRefusal(vm, "changes")
			}
			running := vm.PowerState == vcenter.PoweredOn
			change := fmt.Sprintf("eject %s from %s (%s) of %s", cd.ISOFile, cd.Label, cd.Key, label(vm.Name, vm.ID))
			if libraryISO(cd.ISOFile) {
				change += "; the drive, added by a library mount, is removed"
			}
			if running {
				change += "; the running guest loses the disc now"
			}
			pv := preview{Target: previewTarget{ID: vm.ID, Name: vm.Name, State: fmt.Sprintf("%s; %s holds %s", vm.PowerState, cd.Label, cd.ISOFile)}, Change: change}
			return confirmIf(ctx, d, req, running, in.Confirm, in.DryRun, pv, func() (deviceOut, string, error) {
				what := fmt.Sprintf("eject %s from %s of %s", cd.ISOFile, cd.Label, label(vm.Name, vm.ID))
				out := deviceOut{VM: vmRef{vm.ID, vm.Name}, Device: dev, Changed: true, State: "removed"}
				if libraryISO(cd.ISOFile) {
					if err := vc.UnmountLibraryISO(ctx, vm.ID, cd.Key); err != nil {
						return deviceOut{}, "", fail(what, err, "")
					}
					return out, cd.Label + " unmounted and removed", nil
				}
				if running && cd.Connected {
					if err := vc.DisconnectCDROM(ctx, vm.ID, cd.Key); err != nil {
						return deviceOut{}, "", fail(what, err, "")
					}
				}
				if err := vc.SetCDROM(ctx, vm.ID, cd.Key, nil, nil); err != nil {
					return deviceOut{}, "", fail(what+": the drive is disconnected but still holds the ISO", err, "try again with the same arguments")
				}
				out.State = "empty"
				return out, fmt.Sprintf("%s ejected from %s of %s", cd.ISOFile, cd.Label, label(vm.Name, vm.ID)), nil
			})
		},
	}.tool()
}

// --- add_disk ---

type addDiskIn struct {
	vmArgs
	SizeGB       float64 `json:"size_gb"`
	Datastore    string  `json:"datastore,omitempty" jsonschema:"name or id; default the VM's"`
	Provisioning string  `json:"provisioning,omitempty"`
	dryRunArgs
}

const maxDiskGB = 62 * 1024 // 62 TB, vSphere's VMDK limit

func addDisk(d Deps) Tool {
	return spec[addDiskIn, confirmOut[deviceOut]]{
		Name: "add_disk", Title: "Add disk",
		Description: "Add a new virtual disk (SCSI, hot-added to a running VM) of size_gb, thin unless provisioning says otherwise. dry_run previews. Inverse: none here.",
		Toolset:     ToolsetDevices, Level: policy.LevelAdmin, Kind: KindWrite, DryRun: true,
		Privileges: Privileges{Calls: "`POST /api/vcenter/vm/{vm}/hardware/disk` (default datastore and provisioning), else VI/JSON `ReconfigVM_Task`",
			Needs: "`VirtualMachine.Config.AddNewDisk`; `Datastore.AllocateSpace`", On: "the VM; the datastore"},
		Example: `{"vm_name": "web-01", "size_gb": 20}`,
		Schema: func(in, _ *schema) {
			in.between("size_gb", 0.001, maxDiskGB)
			in.enum("provisioning", string(vcenter.Thin), string(vcenter.Thick), string(vcenter.EagerZeroedThick))
		},
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in addDiskIn) (*mcp.CallToolResult, confirmOut[deviceOut], error) {
			var zero confirmOut[deviceOut]
			bytes := int64(math.Round(in.SizeGB * (1 << 30)))
			bytes -= bytes % 1024 // vCenter counts disks in KB
			vc, vm, devs, err := devicesOf(ctx, d, in.vmArgs)
			if err != nil {
				return nil, zero, err
			}
			if vm.PowerState == vcenter.Suspended {
				return nil, zero, suspendedRefusal(vm, "adds")
			}
			dc, err := vmDatacenter(ctx, vc, vm.ID)
			if err != nil {
				return nil, zero, err
			}
			home := ""
			if len(devs.Disks) > 0 {
				home = devs.Disks[0].Datastore
			}
			ds, err := findObject(ctx, vc, vcenter.KindDatastore, cmpOr(in.Datastore, home), dc)
			if err != nil {
				return nil, zero, err
			}
			prov := vcenter.Provisioning(cmpOr(in.Provisioning, string(vcenter.Thin)))
			if prov != vcenter.Thin && ds.Free > 0 && ds.Free < bytes {
				return nil, zero, argErrorf("datastore %s has %s free, less than the %s of a %s disk. Next: choose a datastore with more space (list_datastores), or provisioning thin", ds.label(), gibText(ds.Free), gibText(bytes), prov)
			}
			viaAPI := in.Datastore == "" && in.Provisioning == ""
			how := string(prov)
			if viaAPI {
				how = "with the datastore's default provisioning"
			}
			pv := preview{Target: previewTarget{ID: vm.ID, Name: vm.Name, State: fmt.Sprintf("%s, %d disk(s)", vm.PowerState, len(devs.Disks))},
				Change: fmt.Sprintf("add a new %s SCSI disk, %s, to %s on datastore %s (%s free)", gibText(bytes), how, label(vm.Name, vm.ID), ds.label(), gibText(ds.Free))}
			return actOrPreview(ctx, req, in.DryRun, pv, func() (deviceOut, string, error) {
				what := "add a disk to " + label(vm.Name, vm.ID)
				out := deviceOut{VM: vmRef{vm.ID, vm.Name}, Changed: true}
				if viaAPI {
					key, err := vc.CreateDisk(ctx, vm.ID, bytes)
					if err != nil {
						return deviceOut{}, "", fail(what, err, deviceNext(err))
					}
					out.Device.ID = key
				} else {
					task, err := vc.AddDisk(ctx, vm.ID, vcenter.NewDisk{CapacityBytes: bytes, DatastoreID: ds.ID, DatastoreName: ds.Name, Provisioning: prov})
					if err != nil {
						return deviceOut{}, "", fail(what, err, deviceNext(err))
					}
					out.TaskID = task
					if _, err := waitTask(ctx, d, req, vc, task); err != nil {
						return deviceOut{}, "", fail(what, err, deviceNext(err))
					}
				}
				// Find the new disk: the key that was not there before.
				if after, err := vc.VMDevices(ctx, vm.ID); err == nil {
					for _, dk := range after.Disks {
						if !slices.ContainsFunc(devs.Disks, func(o vcenter.Disk) bool { return o.Key == dk.Key }) {
							out.Device = vmRef{dk.Key, dk.Label}
							out.State = fmt.Sprintf("%s on %s", gibText(dk.CapacityBytes), dk.File)
						}
					}
				}
				return out, fmt.Sprintf("%s (%s) added to %s", cmpOr(out.Device.Name, "a new disk"), gibText(bytes), label(vm.Name, vm.ID)), nil
			})
		},
	}.tool()
}

// deviceNext is the next step after a failed device change.
func deviceNext(err error) string {
	var nf *taskNotFollowedError
	switch {
	case errors.As(err, &nf) || maybeApplied(err):
		return "check the VM's devices with get_vm_details before trying again"
	case strings.Contains(err.Error(), "NOT_ALLOWED_IN_CURRENT_STATE"):
		return "the VM's power state does not allow this change (IDE devices need it off): power_off_vm first, or use a SCSI/SATA device"
	case strings.Contains(err.Error(), "Disks with parents"):
		return "the VM has snapshots: delete_vm_snapshot them first"
	}
	return ""
}

// --- extend_disk ---

type extendDiskIn struct {
	vmArgs
	Disk   string  `json:"disk" jsonschema:"label or key, e.g. Hard disk 1"`
	SizeGB float64 `json:"size_gb" jsonschema:"the new size, larger"`
	confirmArgs
}

func extendDisk(d Deps) Tool {
	return spec[extendDiskIn, confirmOut[deviceOut]]{
		Name: "extend_disk", Title: "Extend disk",
		Description: "Grow a virtual disk to size_gb (never shrink; not with snapshots); the guest then grows its partition. Needs confirmation. Inverse: none.",
		Toolset:     ToolsetDevices, Level: policy.LevelAdmin, Kind: KindWrite, Idempotent: true, Confirm: true,
		Privileges: Privileges{Calls: "VI/JSON `VirtualMachine.config`, `ReconfigVM_Task`", Needs: "`VirtualMachine.Config.DiskExtend`; `Datastore.AllocateSpace`", On: "the VM; its datastore"},
		Example:    `{"vm_name": "web-02", "disk": "Hard disk 1", "size_gb": 60}`,
		Schema:     func(in, _ *schema) { in.between("size_gb", 0.001, maxDiskGB) },
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in extendDiskIn) (*mcp.CallToolResult, confirmOut[deviceOut], error) {
			var zero confirmOut[deviceOut]
			vc, vm, devs, err := devicesOf(ctx, d, in.vmArgs)
			if err != nil {
				return nil, zero, err
			}
			disk, err := pick(devs.Disks, diskKey, in.Disk, "disk", nil)
			if err != nil {
				return nil, zero, err
			}
			bytes := int64(math.Round(in.SizeGB * (1 << 30)))
			bytes -= bytes % 1024
			dev := vmRef{disk.Key, disk.Label}
			switch {
			case bytes == disk.CapacityBytes:
				return nil, confirmOut[deviceOut]{Status: statusDone, Summary: fmt.Sprintf("%s is %s already; nothing changed", disk.Label, gibText(bytes)),
					Result: &deviceOut{VM: vmRef{vm.ID, vm.Name}, Device: dev, State: gibText(bytes)}}, nil
			case bytes < disk.CapacityBytes:
				return nil, zero, argErrorf("%s of %s is %s: a disk never shrinks. Next: give a size_gb above %.1f", disk.Label, label(vm.Name, vm.ID), gibText(disk.CapacityBytes), float64(disk.CapacityBytes)/(1<<30))
			}
			if snaps, err := vc.ListSnapshots(ctx, vm.ID); err == nil && len(snaps) > 0 {
				return nil, zero, argErrorf("%s has %d snapshot(s), and vCenter does not extend disks with snapshots. Next: delete_vm_snapshot them first (list_vm_snapshots shows them)", label(vm.Name, vm.ID), len(snaps))
			}
			pv := preview{
				Target: previewTarget{ID: vm.ID, Name: vm.Name, State: fmt.Sprintf("%s; %s is %s on %s", vm.PowerState, disk.Label, gibText(disk.CapacityBytes), disk.File)},
				Change: fmt.Sprintf("grow %s (%s) of %s from %s to %s; this cannot be undone (disks never shrink), and the guest must grow its partition itself",
					disk.Label, disk.Key, label(vm.Name, vm.ID), gibText(disk.CapacityBytes), gibText(bytes)),
			}
			return confirmOrPreview(ctx, d, req, in.Confirm, pv, func() (deviceOut, string, error) {
				what := fmt.Sprintf("extend %s of %s", disk.Label, label(vm.Name, vm.ID))
				task, err := vc.ExtendDisk(ctx, vm.ID, disk.Key, bytes)
				if err != nil {
					return deviceOut{}, "", fail(what, err, deviceNext(err))
				}
				if _, err := waitTask(ctx, d, req, vc, task); err != nil {
					return deviceOut{}, "", fail(what, err, deviceNext(err))
				}
				return deviceOut{VM: vmRef{vm.ID, vm.Name}, Device: dev, Changed: true, State: gibText(bytes), TaskID: task},
					fmt.Sprintf("%s of %s extended to %s", disk.Label, label(vm.Name, vm.ID), gibText(bytes)), nil
			})
		},
	}.tool()
}

// --- set_vm_network ---

type setVMNetworkIn struct {
	vmArgs
	NIC       string `json:"nic,omitempty" jsonschema:"label or key; default the only NIC"`
	Network   string `json:"network,omitempty" jsonschema:"name or id"`
	Connected *bool  `json:"connected,omitempty"`
	confirmArgs
	dryRunArgs
}

// networkOf resolves a network in the VM's datacenter.
func networkOf(ctx context.Context, vc VCenter, vm, value string) (object, error) {
	dc, err := vmDatacenter(ctx, vc, vm)
	if err != nil {
		return object{}, err
	}
	n, err := findObject(ctx, vc, vcenter.KindNetwork, value, dc)
	if err != nil {
		return object{}, err
	}
	if n.Type == "OPAQUE_NETWORK" || n.Type == "" {
		return object{}, argErrorf("network %s is of type %q, which these tools do not attach", n.label(), n.Type)
	}
	return n, nil
}

func setVMNetwork(d Deps) Tool {
	return spec[setVMNetworkIn, confirmOut[deviceOut]]{
		Name: "set_vm_network", Title: "Set VM network",
		Description: "Move a NIC to another network and/or connect or disconnect it. On a powered-on VM it needs confirmation; dry_run previews. Inverse: this tool with the old values.",
		Toolset:     ToolsetDevices, Level: policy.LevelAdmin, Kind: KindWrite, Idempotent: true, Confirm: true, ConfirmIf: true, DryRun: true,
		Privileges: Privileges{Calls: "`PATCH /api/vcenter/vm/{vm}/hardware/ethernet/{nic}`, `POST …/ethernet/{nic}?action=connect|disconnect`",
			Needs: "`VirtualMachine.Config.EditDevice`, `VirtualMachine.Interact.DeviceConnection`; `Network.Assign` on the network", On: "the VM; the network"},
		Example: `{"vm_name": "web-02", "nic": "Network adapter 1", "network": "ldn-dev-vlan200"}`,
		Schema:  func(in, _ *schema) { in.maxLen("network", 256) },
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in setVMNetworkIn) (*mcp.CallToolResult, confirmOut[deviceOut], error) {
			var zero confirmOut[deviceOut]
			if in.Network == "" && in.Connected == nil {
				return nil, zero, argErrorf("give network, connected, or both")
			}
			vc, vm, devs, err := devicesOf(ctx, d, in.vmArgs)
			if err != nil {
				return nil, zero, err
			}
			nic, err := pick(devs.NICs, nicKey, in.NIC, "NIC", nil)
			if err != nil {
				return nil, zero, err
			}
			running := vm.PowerState == vcenter.PoweredOn
			var to *object
			var changes []string
			if in.Network != "" {
				n, err := networkOf(ctx, vc, vm.ID, in.Network)
				if err != nil {
					return nil, zero, err
				}
				if n.ID != nic.NetworkID {
					to = &n
					changes = append(changes, fmt.Sprintf("move %s (%s) from network %s to %s", nic.Label, nic.Key, nic.NetworkID, n.label()))
				}
			}
			now := nic.StartConnected
			if running {
				now = nic.Connected
			}
			if in.Connected != nil && *in.Connected != now {
				verb := map[bool]string{true: "connect", false: "disconnect"}[*in.Connected]
				if running {
					changes = append(changes, fmt.Sprintf("%s %s now", verb, nic.Label))
				} else {
					changes = append(changes, fmt.Sprintf("%s %s at the next power-on", verb, nic.Label))
				}
			}
			dev := vmRef{nic.Key, nic.Label}
			if len(changes) == 0 {
				return nil, confirmOut[deviceOut]{Status: statusDone, Summary: nic.Label + " is as asked already; nothing changed",
					Result: &deviceOut{VM: vmRef{vm.ID, vm.Name}, Device: dev, State: nic.NetworkID}}, nil
			}
			change := strings.Join(changes, " and ") + " of " + label(vm.Name, vm.ID)
			if running && to != nil {
				change += "; the running guest's traffic on this NIC moves (vCenter's API documents a network change as applying at the next power-on: check the guest)"
			}
			state := fmt.Sprintf("%s; %s on %s, connected %v", vm.PowerState, nic.Label, nic.NetworkID, now)
			pv := preview{Target: previewTarget{ID: vm.ID, Name: vm.Name, State: state}, Change: change}
			return confirmIf(ctx, d, req, running, in.Confirm, in.DryRun, pv, func() (deviceOut, string, error) {
				what := fmt.Sprintf("change %s of %s", nic.Label, label(vm.Name, vm.ID))
				var backing *vcenter.NetworkBacking
				if to != nil {
					backing = &vcenter.NetworkBacking{ID: to.ID, Type: to.Type}
				}
				var start *bool
				if in.Connected != nil && !running {
					start = in.Connected
				}
				if backing != nil || start != nil {
					if err := vc.UpdateNIC(ctx, vm.ID, nic.Key, backing, start); err != nil {
						return deviceOut{}, "", fail(what, err, deviceNext(err))
					}
				}
				if in.Connected != nil && running && *in.Connected != nic.Connected {
					connect := vc.DisconnectNIC
					if *in.Connected {
						connect = vc.ConnectNIC
					}
					if err := connect(ctx, vm.ID, nic.Key); err != nil {
						done := ""
						if backing != nil {
							done = ": the network was changed, but "
						}
						return deviceOut{}, "", fail(what+done+"changing the connection failed", err, "try again with the same arguments")
					}
				}
				out := deviceOut{VM: vmRef{vm.ID, vm.Name}, Device: dev, Changed: true, State: nic.NetworkID}
				if to != nil {
					out.State = to.ID
				}
				return out, strings.Join(changes, " and ") + ": done", nil
			})
		},
	}.tool()
}

// --- add_nic ---

type addNICIn struct {
	vmArgs
	Network   string `json:"network" jsonschema:"name or id"`
	Connected *bool  `json:"connected,omitempty" jsonschema:"default true"`
	dryRunArgs
}

func addNIC(d Deps) Tool {
	return spec[addNICIn, confirmOut[deviceOut]]{
		Name: "add_nic", Title: "Add NIC",
		Description: "Add a VMXNET3 network adapter on a network, connected unless connected is false (hot-added to a running VM). dry_run previews. Inverse: none here.",
		Toolset:     ToolsetDevices, Level: policy.LevelAdmin, Kind: KindWrite, DryRun: true,
		Privileges: Privileges{Calls: "`POST /api/vcenter/vm/{vm}/hardware/ethernet` (then `?action=connect` on a running VM)",
			Needs: "`VirtualMachine.Config.AddRemoveDevice`; `Network.Assign` on the network", On: "the VM; the network"},
		Example: `{"vm_name": "web-04", "network": "VM Network"}`,
		Schema:  func(in, _ *schema) { in.maxLen("network", 256) },
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in addNICIn) (*mcp.CallToolResult, confirmOut[deviceOut], error) {
			var zero confirmOut[deviceOut]
			vc, vm, devs, err := devicesOf(ctx, d, in.vmArgs)
			if err != nil {
				return nil, zero, err
			}
			if vm.PowerState == vcenter.Suspended {
				return nil, zero, suspendedRefusal(vm, "adds")
			}
			n, err := networkOf(ctx, vc, vm.ID, in.Network)
			if err != nil {
				return nil, zero, err
			}
			connected := in.Connected == nil || *in.Connected
			running := vm.PowerState == vcenter.PoweredOn
			when := map[bool]string{true: "now", false: "at the next power-on"}[running]
			change := fmt.Sprintf("add a VMXNET3 adapter on %s to %s, ", n.label(), label(vm.Name, vm.ID))
			if connected {
				change += "connected " + when
			} else {
				change += "not connected"
			}
			pv := preview{Target: previewTarget{ID: vm.ID, Name: vm.Name, State: fmt.Sprintf("%s, %d NIC(s)", vm.PowerState, len(devs.NICs))}, Change: change}
			return actOrPreview(ctx, req, in.DryRun, pv, func() (deviceOut, string, error) {
				what := "add a NIC to " + label(vm.Name, vm.ID)
				key, err := vc.CreateNIC(ctx, vm.ID, vcenter.NetworkBacking{ID: n.ID, Type: n.Type}, connected)
				if err != nil {
					return deviceOut{}, "", fail(what, err, deviceNext(err))
				}
				out := deviceOut{VM: vmRef{vm.ID, vm.Name}, Device: vmRef{key, "new NIC"}, Changed: true, State: n.ID}
				after, err := vc.VMDevices(ctx, vm.ID)
				if err == nil {
					for _, x := range after.NICs {
						if x.Key == key {
							out.Device.Name = x.Label
							if running && connected && !x.Connected {
								if err := vc.ConnectNIC(ctx, vm.ID, key); err != nil {
									return deviceOut{}, "", fail(what+": the NIC "+key+" was added, but connecting it failed", err, "set_vm_network with connected true")
								}
							}
						}
					}
				}
				return out, fmt.Sprintf("%s (%s) on %s added to %s", out.Device.Name, key, n.label(), label(vm.Name, vm.ID)), nil
			})
		},
	}.tool()
}
