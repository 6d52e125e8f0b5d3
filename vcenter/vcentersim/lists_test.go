package vcentersim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// listIDs runs a list on /api and on /rest (the same filter with the
// "filter." prefix) and returns the ids of the items, checking that both
// dialects agree.
func listIDs(t *testing.T, s *Server, token, resource, idField, query string) []string {
	t.Helper()
	ids := func(items []map[string]any) []string {
		out := []string{}
		for _, it := range items {
			out = append(out, it[idField].(string))
		}
		return out
	}
	r := get(t, s, "/api/vcenter/"+resource+withPrefix(query, ""), token)
	if r.status != http.StatusOK {
		t.Fatalf("/api %s?%s: status %d %s", resource, query, r.status, r.body)
	}
	api := ids(decode[[]map[string]any](t, r.body))
	r = get(t, s, "/rest/vcenter/"+resource+withPrefix(query, "filter."), token)
	if r.status != http.StatusOK {
		t.Fatalf("/rest %s?%s: status %d %s", resource, query, r.status, r.body)
	}
	rest := ids(decode[struct{ Value []map[string]any }](t, r.body).Value)
	if diff := cmp.Diff(api, rest); diff != "" {
		t.Errorf("%s?%s: /api and /rest differ (-api +rest):\n%s", resource, query, diff)
	}
	return api
}

// withPrefix prefixes every key of a query string.
func withPrefix(query, prefix string) string {
	if query == "" {
		return ""
	}
	parts := strings.Split(query, "&")
	for i, p := range parts {
		parts[i] = prefix + p
	}
	return "?" + strings.Join(parts, "&")
}

func TestListFilters(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	for _, tt := range []struct {
		resource, idField, query string
		want                     []string
	}{
		// VMs
		{"vm", "vm", "names=app-01", []string{"vm-74", "vm-91"}},
		{"vm", "vm", "names=web-01&names=web-02", []string{"vm-70", "vm-71"}},
		{"vm", "vm", "names=web-01,web-02", []string{}}, // one odd name, not a list
		{"vm", "vm", "names=WEB-01", []string{}},        // exact match
		{"vm", "vm", "vms=vm-76&vms=vm-9999", []string{"vm-76"}},
		{"vm", "vm", "power_states=SUSPENDED", []string{"vm-78", "vm-85", "vm-97"}},
		{"vm", "vm", "power_states=SUSPENDED&power_states=POWERED_OFF&datacenters=datacenter-36", []string{"vm-96", "vm-97", "vm-99"}},
		{"vm", "vm", "clusters=domain-c18&power_states=POWERED_OFF", []string{"vm-84", "vm-88"}},
		{"vm", "vm", "hosts=host-24&hosts=host-64", []string{"vm-90", "vm-105"}},
		{"vm", "vm", "folders=group-v8", []string{"vm-76", "vm-77"}},
		{"vm", "vm", "folders=group-v7&names=db-01", []string{}}, // folders match direct containment only
		{"vm", "vm", "resource_pools=resgroup-13", []string{"vm-74", "vm-75", "vm-76", "vm-77"}},
		{"vm", "vm", "resource_pools=resgroup-12&clusters=domain-c11", []string{"vm-79", "vm-80", "vm-81", "vm-82"}},
		{"vm", "vm", "datacenters=datacenter-53", []string{"vm-100", "vm-101", "vm-102", "vm-103", "vm-104", "vm-105"}},
		{"vm", "vm", "clusters=domain-c9999", []string{}},
		// Hosts
		{"host", "host", "standalone=true", []string{"host-24", "host-64"}},
		{"host", "host", "standalone=false&datacenters=datacenter-53", []string{"host-62"}},
		{"host", "host", "connection_states=DISCONNECTED&connection_states=NOT_RESPONDING", []string{"host-22", "host-48"}},
		{"host", "host", "clusters=domain-c43", []string{"host-46", "host-47", "host-48"}},
		{"host", "host", "folders=group-h55", []string{"host-62", "host-64"}},
		{"host", "host", "names=esx-ldn-01.corp.local", []string{"host-15"}},
		// Datastores
		{"datastore", "datastore", "types=VSAN&types=NFS41", []string{"datastore-29", "datastore-50"}},
		{"datastore", "datastore", "datacenters=datacenter-53", []string{"datastore-66", "datastore-67"}},
		{"datastore", "datastore", "folders=group-s39", []string{"datastore-49", "datastore-50"}},
		// Networks
		{"network", "network", "types=DISTRIBUTED_PORTGROUP&datacenters=datacenter-2", []string{"dvportgroup-33", "dvportgroup-34", "dvportgroup-35"}},
		{"network", "network", "names=VM%20Network", []string{"network-31", "network-51", "network-68"}},
		// Datacenters, clusters, resource pools, folders
		{"datacenter", "datacenter", "", []string{"datacenter-2", "datacenter-36", "datacenter-53"}},
		{"datacenter", "datacenter", "folders=group-d1&names=Lab", []string{"datacenter-53"}},
		{"cluster", "cluster", "", []string{"domain-c11", "domain-c18", "domain-c43", "domain-c60"}}, // no domain-s…
		{"cluster", "cluster", "datacenters=datacenter-2&names=Dev-Cluster", []string{"domain-c18"}},
		{"resource-pool", "resource_pool", "clusters=domain-c11", []string{"resgroup-12", "resgroup-13", "resgroup-14"}},
		{"resource-pool", "resource_pool", "parent_resource_pools=resgroup-12", []string{"resgroup-13", "resgroup-14"}},
		{"resource-pool", "resource_pool", "hosts=host-24", []string{"resgroup-25"}},
		{"resource-pool", "resource_pool", "hosts=host-16&names=Resources", []string{"resgroup-12"}},
		{"folder", "folder", "type=VIRTUAL_MACHINE&datacenters=datacenter-2", []string{"group-v3", "group-v7", "group-v8", "group-v9", "group-v10", "group-v106"}},
		{"folder", "folder", "parent_folders=group-v7", []string{"group-v8"}},
		{"folder", "folder", "type=DATACENTER", []string{"group-d1"}},
	} {
		t.Run(tt.resource+"?"+tt.query, func(t *testing.T) {
			got := listIDs(t, s, token, tt.resource, tt.idField, tt.query)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListsAreSortedAndComplete(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	got := listIDs(t, s, token, "vm", "vm", "")
	var want []string
	for _, v := range s.VMs() {
		want = append(want, v.ID)
	}
	if len(got) != 36 || !cmp.Equal(got, want) {
		t.Errorf("unfiltered VM list: %v, want the 36 VMs in id order %v", got, want)
	}
	if !slices.IsSortedFunc(got, compareIDs) {
		t.Errorf("VM list not in id order: %v", got)
	}
}

func TestListItemShapes(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	for _, tt := range []struct{ path, want string }{
		{"/api/vcenter/vm?vms=vm-78", `[{"vm":"vm-78","name":"cache-01","power_state":"SUSPENDED","cpu_count":2,"memory_size_MiB":16384}]`},
		{"/rest/vcenter/vm?filter.vms=vm-78", `{"value":[{"vm":"vm-78","name":"cache-01","power_state":"SUSPENDED","cpu_count":2,"memory_size_MiB":16384}]}`},
		{"/api/vcenter/host?hosts=host-15&hosts=host-48", `[{"host":"host-15","name":"esx-ldn-01.corp.local","connection_state":"CONNECTED","power_state":"POWERED_ON"},{"host":"host-48","name":"esx-fra-03.corp.local","connection_state":"DISCONNECTED"}]`},
		{"/api/vcenter/datastore?datastores=datastore-27", `[{"datastore":"datastore-27","name":"ldn-vmfs-02","type":"VMFS","free_space":62277025792,"capacity":2199023255552}]`},
		{"/api/vcenter/datastore/datastore-27", `{"name":"ldn-vmfs-02","type":"VMFS","accessible":true,"free_space":62277025792,"multiple_host_access":true,"thin_provisioning_supported":true}`},
		{"/api/vcenter/network?networks=dvportgroup-33", `[{"network":"dvportgroup-33","name":"ldn-prod-vlan100","type":"DISTRIBUTED_PORTGROUP"}]`},
		{"/api/vcenter/cluster?clusters=domain-c18", `[{"cluster":"domain-c18","name":"Dev-Cluster","ha_enabled":true,"drs_enabled":false}]`},
		{"/api/vcenter/cluster/domain-c18", `{"name":"Dev-Cluster","resource_pool":"resgroup-19"}`},
		{"/api/vcenter/datacenter/datacenter-36", `{"name":"DC-Frankfurt","datastore_folder":"group-s39","host_folder":"group-h38","network_folder":"group-n40","vm_folder":"group-v37"}`},
		{"/rest/vcenter/folder?filter.folders=group-v8", `{"value":[{"folder":"group-v8","name":"Databases","type":"VIRTUAL_MACHINE"}]}`},
	} {
		t.Run(tt.path, func(t *testing.T) {
			r := get(t, s, tt.path, token)
			if r.status != http.StatusOK || string(r.body) != tt.want {
				t.Errorf("status %d\n got %s\nwant %s", r.status, r.body, tt.want)
			}
		})
	}
}

func TestListInvalidArguments(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	for _, path := range []string{
		"/api/vcenter/vm?power_states=on",
		"/api/vcenter/vm?name=web-01",                        // unknown key
		"/api/vcenter/vm?filter.names=web-01",                // /rest spelling on /api
		"/rest/vcenter/vm?names=web-01",                      // /api spelling on /rest
		"/api/vcenter/host?standalone=yes",                   // not a boolean
		"/api/vcenter/host?standalone=true&standalone=false", // single-valued
		"/api/vcenter/folder?type=HOST&type=NETWORK",
		"/rest/vcenter/datastore?filter.types=ZFS",
		"/api/vcenter/network?types=VLAN",
		"/api/vcenter/vm?names=%zz", // malformed query
	} {
		t.Run(path, func(t *testing.T) {
			r := get(t, s, path, token)
			if got := errorTypeOf(t, path, r.body); r.status != http.StatusBadRequest || got != "INVALID_ARGUMENT" {
				t.Errorf("status %d error %s, want 400 INVALID_ARGUMENT", r.status, got)
			}
		})
	}
}

// TestVMListCap pins contract §2.2: more than 4000 matches is an error, in
// each dialect's status, never a truncated list.
func TestVMListCap(t *testing.T) {
	s := newSim(t, Options{VMs: maxVMs + 1})
	token := loginAPI(t, s)
	wantMsg := `{"id":"com.vmware.api.vcenter.vm.too_many_matches","default_message":"Too many virtual machines. Add more filter criteria to reduce the number.","args":[]}`
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/api/vcenter/vm", 500, `{"error_type":"UNABLE_TO_ALLOCATE_RESOURCE","messages":[` + wantMsg + `]}`},
		{"/rest/vcenter/vm", 400, `{"type":"com.vmware.vapi.std.errors.unable_to_allocate_resource","value":{"error_type":"UNABLE_TO_ALLOCATE_RESOURCE","messages":[` + wantMsg + `]}}`},
	} {
		r := get(t, s, tt.path, token)
		if r.status != tt.status || string(r.body) != tt.body {
			t.Errorf("%s: status %d body %s\nwant %d %s", tt.path, r.status, r.body, tt.status, tt.body)
		}
	}
	// One VM fewer fits exactly.
	if err := s.RemoveVM(s.VMs()[0].ID); err != nil {
		t.Fatal(err)
	}
	r := get(t, s, "/api/vcenter/vm", token)
	if n := len(decode[[]json.RawMessage](t, r.body)); r.status != http.StatusOK || n != maxVMs {
		t.Errorf("4000 matches: status %d, %d items", r.status, n)
	}
}

func TestNoGetByIDForHostNetworkFolder(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	for _, path := range []string{"/api/vcenter/host/host-15", "/api/vcenter/network/network-31", "/api/vcenter/folder/group-v3", "/rest/vcenter/host/host-15"} {
		r := get(t, s, path, token)
		if got := errorTypeOf(t, path, r.body); r.status != http.StatusNotFound || got != "NOT_FOUND" {
			t.Errorf("%s: status %d %s, want 404 NOT_FOUND", path, r.status, got)
		}
	}
	if c := s.Counters(); c.Routes[unmatchedKey] != 4 {
		t.Errorf("UNMATCHED = %d, want 4", c.Routes[unmatchedKey])
	}
}

func TestGetByIDNotFound(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	for _, tt := range []struct{ path, wantID string }{
		{"/api/vcenter/vm/vm-4242", "com.vmware.api.vcenter.vm.not_found"},
		{"/api/vcenter/datastore/datastore-4242", "com.vmware.api.vcenter.datastore.not_found"},
		{"/api/vcenter/datacenter/datacenter-4242", "com.vmware.api.vcenter.datacenter.not_found"},
		{"/api/vcenter/cluster/domain-c4242", "com.vmware.api.vcenter.cluster.not_found"},
		{"/api/vcenter/resource-pool/resgroup-4242", "com.vmware.api.vcenter.resource_pool.not_found"},
	} {
		r := get(t, s, tt.path, token)
		e := decode[apiError](t, r.body)
		if r.status != http.StatusNotFound || e.ErrorType != "NOT_FOUND" || e.Messages[0].ID != tt.wantID || len(e.Messages[0].Args) != 1 {
			t.Errorf("%s: status %d %+v", tt.path, r.status, e)
		}
	}
	// A segment that is not an id of the right type names no operation.
	for _, path := range []string{"/api/vcenter/vm/web-01", "/api/vcenter/vm/host-15", "/api/vcenter/vm/vm-7%30", "/api/vcenter/cluster/domain-s23"} {
		r := get(t, s, path, token)
		if e := decode[apiError](t, r.body); r.status != http.StatusNotFound || e.Messages[0].ID != "com.vmware.vapi.rest.httpNotFound" {
			t.Errorf("%s: status %d %+v, want the unknown-URL 404", path, r.status, e)
		}
	}
}
