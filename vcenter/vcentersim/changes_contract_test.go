package vcentersim

import (
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestChangesContract validates the change operations that VMware's specs
// describe (the 7.0.3 vcenter and 8.0.2 cis Swagger documents), in both
// dialects, as TestContract does for the reads. The content library list
// and get have no spec here ([C802] is not in shared/specs) and are checked
// by TestLibraryReads instead.
func TestChangesContract(t *testing.T) {
	cs := loadContractSpecs(t)
	relaxTaskInfo(cs)
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	golden, photon, isoItem := itemNamed(t, s, "ubuntu-22.04-golden"), itemNamed(t, s, "photon-5-appliance"), itemNamed(t, s, "ubuntu-22.04-server")
	var tag string
	for _, tg := range s.Tags() {
		if tg.Name == "Production" {
			tag = tg.ID
		}
	}
	// A clone task to read: started before the cases, read once each.
	r := do(t, s, req{method: http.MethodPost, path: "/api/vcenter/vm?action=clone&vmw-task=true", token: token,
		body: `{"source":"vm-75","name":"app-02-task"}`})
	if r.status != http.StatusAccepted {
		t.Fatalf("clone task: status %d %s", r.status, r.body)
	}
	task := decode[string](t, r.body)
	post := func(name, path, body string, want int) contractCase {
		return contractCase{name: name, method: http.MethodPost, path: path, body: body, wantStatus: want}
	}
	for _, tc := range []contractCase{
		// Clone and relocate (blocking forms; the task forms share their bodies).
		post("clone", "/api/vcenter/vm?action=clone", `{"source":"vm-70","name":"web-01-clone","placement":{"folder":"group-v9"},"power_on":false}`, 200),
		post("clone name taken", "/api/vcenter/vm?action=clone", `{"source":"vm-70","name":"web-02"}`, 400),
		post("clone unknown source", "/api/vcenter/vm?action=clone", `{"source":"vm-999","name":"x"}`, 404),
		post("clone no space", "/api/vcenter/vm?action=clone", `{"source":"vm-81","name":"mon-02","placement":{"datastore":"datastore-27"}}`, 500),
		post("rest clone", "/rest/vcenter/vm?action=clone", `{"spec":{"source":"vm-70","name":"web-01-rest","guest_customization_spec":{"name":"linux-dhcp"}}}`, 200),
		post("relocate vmotion", "/api/vcenter/vm/vm-71?action=relocate", `{"placement":{"host":"host-17"}}`, 204),
		{name: "relocate envelope on /api", method: http.MethodPost, path: "/api/vcenter/vm/vm-71?action=relocate",
			body: `{"spec":{"placement":{"host":"host-16"}}}`, wantStatus: 400, badRequest: true},
		post("relocate maintenance host", "/api/vcenter/vm/vm-83?action=relocate", `{"placement":{"host":"host-108"}}`, 400),
		post("rest relocate", "/rest/vcenter/vm/vm-71?action=relocate", `{"spec":{"placement":{"host":"host-16"}}}`, 200),
		{name: "task", method: http.MethodGet, path: "/api/cis/tasks/" + task, wantStatus: 200},
		{name: "rest task", method: http.MethodGet, path: "/rest/cis/tasks/" + task, wantStatus: 200},
		post("cancel a task that cannot be", "/api/cis/tasks/"+task+"?action=cancel", "", 400),

		// Devices.
		{name: "cdroms", method: http.MethodGet, path: "/api/vcenter/vm/vm-70/hardware/cdrom", wantStatus: 200},
		{name: "cdrom", method: http.MethodGet, path: "/api/vcenter/vm/vm-70/hardware/cdrom/16000", wantStatus: 200},
		{name: "rest cdrom", method: http.MethodGet, path: "/rest/vcenter/vm/vm-70/hardware/cdrom/16000", wantStatus: 200},
		post("cdrom create", "/api/vcenter/vm/vm-73/hardware/cdrom", `{"type":"SATA","backing":{"type":"ISO_FILE","iso_file":"[ldn-nfs-iso] iso/rhel-9.3-x86_64-dvd.iso"},"start_connected":true}`, 201),
		post("cdrom create IDE on a running VM", "/api/vcenter/vm/vm-70/hardware/cdrom", `{"type":"IDE"}`, 400),
		{name: "cdrom insert ISO", method: http.MethodPatch, path: "/api/vcenter/vm/vm-70/hardware/cdrom/16000",
			body: `{"backing":{"type":"ISO_FILE","iso_file":"[ldn-nfs-iso] iso/ubuntu-22.04.4-live-server-amd64.iso"}}`, wantStatus: 204},
		{name: "cdrom missing ISO", method: http.MethodPatch, path: "/api/vcenter/vm/vm-70/hardware/cdrom/16000",
			body: `{"backing":{"type":"ISO_FILE","iso_file":"[ldn-nfs-iso] iso/none.iso"}}`, wantStatus: 404},
		post("cdrom connect", "/api/vcenter/vm/vm-70/hardware/cdrom/16000?action=connect", "", 204),
		post("rest cdrom disconnect", "/rest/vcenter/vm/vm-70/hardware/cdrom/16000/disconnect", "", 200),
		post("cdrom connect powered off", "/api/vcenter/vm/vm-73/hardware/cdrom/16000?action=connect", "", 400),
		{name: "disks", method: http.MethodGet, path: "/api/vcenter/vm/vm-76/hardware/disk", wantStatus: 200},
		{name: "disk", method: http.MethodGet, path: "/api/vcenter/vm/vm-76/hardware/disk/2001", wantStatus: 200},
		post("disk create", "/api/vcenter/vm/vm-70/hardware/disk", `{"type":"SCSI","new_vmdk":{"name":"web01_data","capacity":21474836480}}`, 201),
		post("rest disk create", "/rest/vcenter/vm/vm-70/hardware/disk", `{"spec":{"new_vmdk":{"capacity":1073741824}}}`, 200),
		{name: "disk delete", method: http.MethodDelete, path: "/api/vcenter/vm/vm-70/hardware/disk/2001", wantStatus: 204},
		{name: "nics", method: http.MethodGet, path: "/api/vcenter/vm/vm-70/hardware/ethernet", wantStatus: 200},
		{name: "nic", method: http.MethodGet, path: "/rest/vcenter/vm/vm-70/hardware/ethernet/4000", wantStatus: 200},
		post("nic create", "/api/vcenter/vm/vm-70/hardware/ethernet", `{"type":"VMXNET3","backing":{"type":"DISTRIBUTED_PORTGROUP","network":"dvportgroup-34"},"start_connected":true}`, 201),
		post("nic create wrong type", "/api/vcenter/vm/vm-70/hardware/ethernet", `{"backing":{"type":"STANDARD_PORTGROUP","network":"dvportgroup-34"}}`, 400),
		{name: "nic backing", method: http.MethodPatch, path: "/api/vcenter/vm/vm-70/hardware/ethernet/4000",
			body: `{"backing":{"type":"STANDARD_PORTGROUP","network":"network-31"}}`, wantStatus: 204},
		post("nic disconnect", "/api/vcenter/vm/vm-70/hardware/ethernet/4000?action=disconnect", "", 204),
		post("rest nic connect", "/rest/vcenter/vm/vm-70/hardware/ethernet/4000/connect", "", 200),

		// ISO images from a library.
		post("iso mount", "/api/vcenter/iso/image?action=mount", `{"library_item":"`+isoItem+`","vm":"vm-71"}`, 200),
		post("iso mount not an ISO", "/api/vcenter/iso/image?action=mount", `{"library_item":"`+photon+`","vm":"vm-71"}`, 400),
		post("rest iso mount", "/rest/com/vmware/vcenter/iso/image/id:"+isoItem+"?~action=mount", `{"vm":"vm-72"}`, 200),
		post("iso unmount", "/api/vcenter/iso/image?action=unmount", `{"vm":"vm-71","cdrom":"16001"}`, 204),
		post("rest iso unmount", "/rest/com/vmware/vcenter/iso/image/id:vm-72?~action=unmount", `{"cdrom":"16001"}`, 200),

		// VM-template and OVF items, customization.
		{name: "template item", method: http.MethodGet, path: "/api/vcenter/vm-template/library-items/" + golden, wantStatus: 200},
		{name: "rest template item", method: http.MethodGet, path: "/rest/vcenter/vm-template/library-items/" + golden, wantStatus: 200},
		post("deploy template", "/api/vcenter/vm-template/library-items/"+golden+"?action=deploy",
			`{"name":"web-05","placement":{"folder":"group-v7","resource_pool":"resgroup-14"},"powered_on":true,"guest_customization":{"name":"linux-dhcp"}}`, 200),
		post("deploy template name taken", "/api/vcenter/vm-template/library-items/"+golden+"?action=deploy",
			`{"name":"web-05","placement":{"folder":"group-v7","resource_pool":"resgroup-14"}}`, 400),
		post("rest deploy template", "/rest/vcenter/vm-template/library-items/"+golden+"?action=deploy",
			`{"spec":{"name":"web-06","placement":{"folder":"group-v7","cluster":"domain-c11"},"disk_storage":{"datastore":"datastore-26"}}}`, 200),
		post("ovf filter", "/api/vcenter/ovf/library-item/"+photon+"?action=filter", `{"target":{"resource_pool_id":"resgroup-25"}}`, 200),
		post("ovf deploy", "/api/vcenter/ovf/library-item/"+photon+"?action=deploy",
			`{"target":{"resource_pool_id":"resgroup-25","folder_id":"group-v10"},"deployment_spec":{"name":"photon-01","accept_all_EULA":false,"network_mappings":{"VM Network":"network-31"}}}`, 200),
		post("rest ovf deploy", "/rest/com/vmware/vcenter/ovf/library-item/id:"+photon+"?~action=deploy",
			`{"target":{"resource_pool_id":"resgroup-25"},"deployment_spec":{"name":"photon-02","accept_all_EULA":false,"network_mappings":[{"key":"VM Network","value":"network-31"}]}}`, 200),
		{name: "customization specs", method: http.MethodGet, path: "/api/vcenter/guest/customization-specs?OS_type=LINUX", wantStatus: 200},
		{name: "rest customization specs", method: http.MethodGet, path: "/rest/vcenter/guest/customization-specs?filter.names=linux-dhcp", wantStatus: 200},
		{name: "set customization", method: http.MethodPut, path: "/api/vcenter/vm/vm-73/guest/customization", body: `{"name":"linux-dhcp"}`, wantStatus: 204},
		{name: "set customization running", method: http.MethodPut, path: "/api/vcenter/vm/vm-70/guest/customization", body: `{"name":"linux-dhcp"}`, wantStatus: 400},

		// Tags.
		post("attach", "/api/cis/tagging/tag-association/"+tag+"?action=attach", `{"object_id":{"type":"VirtualMachine","id":"vm-82"}}`, 204),
		post("rest detach", "/rest/com/vmware/cis/tagging/tag-association/id:"+tag+"?~action=detach", `{"object_id":{"type":"VirtualMachine","id":"vm-82"}}`, 200),
	} {
		t.Run(tc.name, func(t *testing.T) { cs.check(t, s, tc, token) })
	}
}

// relaxTaskInfo lets CisTaskInfo's result and error hold any value: the
// spec declares them as object and string, placeholders for dynamic values
// (contract changes §0.1), and a clone's result is a string.
func relaxTaskInfo(cs *contractSpecs) {
	for _, doc := range cs.docs {
		for _, name := range []string{"CisTaskInfo", "cis.task.info"} {
			if ref := doc.Components.Schemas[name]; ref != nil {
				for _, p := range []string{"result", "error"} {
					ref.Value.Properties[p] = &openapi3.SchemaRef{Value: &openapi3.Schema{}}
				}
			}
		}
	}
}

// itemNamed returns the id of the library item with the given name.
func itemNamed(t testing.TB, s *Server, name string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range s.chg.items {
		if it.name == name {
			return it.id
		}
	}
	t.Fatalf("no library item %q", name)
	return ""
}
