package vcentersim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// moRef is a vim25 ManagedObjectReference as VI/JSON writes it.
type moRef struct {
	TypeName string `json:"_typeName"`
	Type     string `json:"type"`
	Value    string `json:"value"`
}

func ref(typ, value string) moRef {
	return moRef{TypeName: "ManagedObjectReference", Type: typ, Value: value}
}

// vimTime writes a vim25 xsd:dateTime: RFC 3339 in UTC with microseconds, as
// vCenter does ("2023-02-14T22:12:48.753169Z").
func vimTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// vimFault is a vim25 method fault. On the wire it is the fault object itself
// with HTTP 500 (contract §3.3); inside a TaskInfo it is the same bare object
// on 8.0.3 and a LocalizedMethodFault wrapping it before (release.bareTaskFaults).
type vimFault struct {
	typeName string
	message  string
	fields   map[string]any // the fault type's own properties
}

func newFault(typeName, message string) *vimFault {
	return &vimFault{typeName: typeName, message: message}
}

// with adds a property of the fault type and returns the fault.
func (f *vimFault) with(name string, value any) *vimFault {
	if f.fields == nil {
		f.fields = make(map[string]any)
	}
	f.fields[name] = value
	return f
}

// object is the fault as a data object: _typeName and its properties.
func (f *vimFault) object() map[string]any {
	m := make(map[string]any, len(f.fields)+1)
	for k, v := range f.fields {
		m[k] = v
	}
	m["_typeName"] = f.typeName
	return m
}

// body is the fault as an HTTP 500 body: the object plus its faultstring.
func (f *vimFault) body() map[string]any {
	m := f.object()
	m["faultstring"] = f.message
	return m
}

// localized is the fault as TaskInfo.error, a LocalizedMethodFault.
func (f *vimFault) localized() map[string]any {
	return map[string]any{"_typeName": "LocalizedMethodFault", "fault": f.object(), "localizedMessage": f.message}
}

// The faults the simulator raises. Messages are vCenter's English texts where
// known.

func faultNotAuthenticated(moType, moID, privilege string) *vimFault {
	if privilege == "" {
		privilege = "System.View"
	}
	return newFault("NotAuthenticated", "The session is not authenticated.").
		with("object", ref(moType, moID)).with("privilegeId", privilege)
}

func faultNotFound(moType, moID string) *vimFault {
	return newFault("ManagedObjectNotFound",
		fmt.Sprintf("The object 'vim.%s:%s' has already been deleted or has not been completely created", moType, moID)).
		with("obj", ref(moType, moID))
}

func faultInvalidArgument(property string) *vimFault {
	return newFault("InvalidArgument", "A specified parameter was not correct: "+property).with("invalidProperty", property)
}

func faultInvalidRequest(message string) *vimFault { return newFault("InvalidRequest", message) }

func faultTaskInProgress(t *task) *vimFault {
	return newFault("TaskInProgress", "Another task is already in progress.").with("task", ref("Task", t.ID))
}

// params are the named parameters of a VI/JSON method call.
type params map[string]json.RawMessage

// decodeParams parses a method's JSON body. allowed maps each parameter name
// to whether it is required. An empty body is an empty object. Clients may
// send the request type's _typeName, as govmomi does; it is ignored.
//
// The simulator's choices where VMware documents none: a body that is not a
// JSON object, or a parameter the method does not have, is an InvalidRequest
// fault; a missing required parameter is an InvalidArgument naming it.
func decodeParams(body []byte, allowed map[string]bool) (params, *vimFault) {
	p := params{}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &p); err != nil || p == nil {
			return nil, faultInvalidRequest("The request body is not a JSON object of method parameters.")
		}
	}
	delete(p, "_typeName")
	for name := range p {
		if _, ok := allowed[name]; !ok {
			return nil, faultInvalidRequest(fmt.Sprintf("Unexpected parameter %q.", name))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(allowed)) {
		if v, ok := p[name]; allowed[name] && (!ok || string(v) == "null") {
			return nil, faultInvalidArgument(name)
		}
	}
	return p, nil
}

// has reports whether the parameter is present and not null.
func (p params) has(name string) bool {
	v, ok := p[name]
	return ok && string(v) != "null"
}

// str decodes a string parameter into dst when present.
func (p params) str(name string, dst *string) *vimFault {
	if !p.has(name) {
		return nil
	}
	if json.Unmarshal(p[name], dst) != nil {
		return faultInvalidArgument(name)
	}
	return nil
}

// boolean decodes a boolean parameter into dst when present.
func (p params) boolean(name string, dst *bool) *vimFault {
	if !p.has(name) {
		return nil
	}
	if json.Unmarshal(p[name], dst) != nil {
		return faultInvalidArgument(name)
	}
	return nil
}

// object decodes a data object parameter when present, checking its
// _typeName against the accepted types (an absent _typeName means the
// declared type).
func (p params) object(name string, accepted ...string) (map[string]json.RawMessage, *vimFault) {
	if !p.has(name) {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(p[name], &obj) != nil || obj == nil {
		return nil, faultInvalidArgument(name)
	}
	if tn, ok := obj["_typeName"]; ok {
		var typeName string
		if json.Unmarshal(tn, &typeName) != nil {
			return nil, faultInvalidArgument(name)
		}
		valid := false
		for _, a := range accepted {
			valid = valid || typeName == a
		}
		if !valid {
			return nil, faultInvalidArgument(name)
		}
	}
	return obj, nil
}

// vimRoutes lists the VI/JSON operations: the session, the snapshot methods
// and the properties a snapshot client needs (contract §1.3, §3.2).
func vimRoutes() routeTable {
	var t routeTable
	add := func(method, moType, member, privilege string, noAuth bool, h vimHandler) {
		rt := newRoute(method, "/sdk/vim25/{release}/"+moType+"/{moId}/"+member)
		rt.moType, rt.privilege, rt.noAuth, rt.vim = moType, privilege, noAuth, h
		t = append(t, rt)
	}
	get, post := http.MethodGet, http.MethodPost

	add(get, "ServiceInstance", "content", "System.Anonymous", true, handleServiceContent)
	add(post, "ServiceInstance", "RetrieveServiceContent", "System.Anonymous", true, handleServiceContent)
	add(post, "SessionManager", "Login", "System.Anonymous", true, singleton("SessionManager", handleVIMLogin))
	add(post, "SessionManager", "Logout", "System.Anonymous", false, singleton("SessionManager", handleVIMLogout))
	add(get, "SessionManager", "currentSession", "System.Anonymous", true, singleton("SessionManager", handleVIMCurrentSession))

	for _, prop := range []string{"name", "runtime", "parent", "resourcePool", "datastore", "snapshot", "rootSnapshot"} {
		add(get, "VirtualMachine", prop, "System.View", false, vmProperty(prop))
	}
	add(post, "VirtualMachine", "CreateSnapshotEx_Task", "VirtualMachine.State.CreateSnapshot", false, handleCreateSnapshotEx)
	add(post, "VirtualMachine", "CreateSnapshot_Task", "VirtualMachine.State.CreateSnapshot", false, handleCreateSnapshot)
	add(post, "VirtualMachine", "RevertToCurrentSnapshot_Task", "VirtualMachine.State.RevertToSnapshot", false, handleRevertToCurrent)
	add(post, "VirtualMachine", "RemoveAllSnapshots_Task", "VirtualMachine.State.RemoveSnapshot", false, handleRemoveAll)

	for _, prop := range []string{"vm", "childSnapshot"} {
		add(get, "VirtualMachineSnapshot", prop, "System.View", false, snapshotProperty(prop))
	}
	add(post, "VirtualMachineSnapshot", "RevertToSnapshot_Task", "VirtualMachine.State.RevertToSnapshot", false, handleRevertToSnapshot)
	add(post, "VirtualMachineSnapshot", "RemoveSnapshot_Task", "VirtualMachine.State.RemoveSnapshot", false, handleRemoveSnapshot)

	for _, prop := range []string{"name", "parent"} {
		add(get, "HostSystem", prop, "System.View", false, hostProperty(prop))
	}
	add(get, "Task", "info", "System.View", false, handleTaskInfo)
	add(post, "Task", "CancelTask", "System.View", false, handleCancelTask)
	return t
}

// singleton wraps a handler of a singleton managed object (moId equals its
// type), answering ManagedObjectNotFound for any other moId.
func singleton(moType string, h vimHandler) vimHandler {
	return func(s *Server, c *call) (any, *vimFault) {
		if c.param("moId") != moType {
			return nil, faultNotFound(moType, c.param("moId"))
		}
		return h(s, c)
	}
}

type aboutInfo struct {
	TypeName              string `json:"_typeName"`
	Name                  string `json:"name"`
	FullName              string `json:"fullName"`
	Vendor                string `json:"vendor"`
	Version               string `json:"version"`
	Build                 string `json:"build"`
	LocaleVersion         string `json:"localeVersion"`
	LocaleBuild           string `json:"localeBuild"`
	OSType                string `json:"osType"`
	ProductLineID         string `json:"productLineId"`
	APIType               string `json:"apiType"`
	APIVersion            string `json:"apiVersion"`
	InstanceUUID          string `json:"instanceUuid"`
	LicenseProductName    string `json:"licenseProductName"`
	LicenseProductVersion string `json:"licenseProductVersion"`
}

// handleServiceContent is ServiceInstance.content, readable without a
// session so a client can find the SessionManager and the apiVersion.
func handleServiceContent(s *Server, c *call) (any, *vimFault) {
	if c.param("moId") != "ServiceInstance" {
		return nil, faultNotFound("ServiceInstance", c.param("moId"))
	}
	rel := s.release
	content := map[string]any{
		"_typeName":         "ServiceContent",
		"rootFolder":        ref("Folder", s.inv.rootFolder),
		"propertyCollector": ref("PropertyCollector", "propertyCollector"),
		"about": aboutInfo{
			TypeName: "AboutInfo", Name: "VMware vCenter Server",
			FullName: "VMware vCenter Server " + rel.version + " build-" + rel.build,
			Vendor:   "VMware, Inc.", Version: rel.version, Build: rel.build,
			LocaleVersion: "INTL", LocaleBuild: "000", OSType: "linux-x64", ProductLineID: "vpx",
			APIType: "VirtualCenter", APIVersion: rel.api,
			InstanceUUID:       "8b1f2a64-3c5d-4e6f-9a0b-1c2d3e4f5a6b",
			LicenseProductName: "VMware VirtualCenter Server", LicenseProductVersion: "8.0",
		},
	}
	for name, r := range map[string]moRef{
		"viewManager":          ref("ViewManager", "ViewManager"),
		"setting":              ref("OptionManager", "VpxSettings"),
		"userDirectory":        ref("UserDirectory", "UserDirectory"),
		"sessionManager":       ref("SessionManager", "SessionManager"),
		"authorizationManager": ref("AuthorizationManager", "AuthorizationManager"),
		"perfManager":          ref("PerformanceManager", "PerfMgr"),
		"eventManager":         ref("EventManager", "EventManager"),
		"alarmManager":         ref("AlarmManager", "AlarmManager"),
		"taskManager":          ref("TaskManager", "TaskManager"),
		"searchIndex":          ref("SearchIndex", "SearchIndex"),
		"fileManager":          ref("FileManager", "FileManager"),
		"virtualDiskManager":   ref("VirtualDiskManager", "virtualDiskManager"),
		"licenseManager":       ref("LicenseManager", "LicenseManager"),
	} {
		content[name] = r
	}
	return content, nil
}

// vimVM finds the VirtualMachine of the path. Caller holds mu.
func (s *Server) vimVM(c *call) (*vm, *vimFault) {
	v := s.inv.vms[c.param("moId")]
	if v == nil {
		return nil, faultNotFound("VirtualMachine", c.param("moId"))
	}
	return v, nil
}

// runtimeInfo is vim25 VirtualMachineRuntimeInfo with the properties vCenter
// always sets and those the simulator knows.
type runtimeInfo struct {
	TypeName              string `json:"_typeName"`
	Host                  moRef  `json:"host"`
	ConnectionState       string `json:"connectionState"`
	PowerState            string `json:"powerState"`
	FaultToleranceState   string `json:"faultToleranceState"`
	ToolsInstallerMounted bool   `json:"toolsInstallerMounted"`
	BootTime              string `json:"bootTime,omitempty"`
	SuspendTime           string `json:"suspendTime,omitempty"`
	MaxCPUUsage           int    `json:"maxCpuUsage,omitempty"`
	MaxMemoryUsage        int    `json:"maxMemoryUsage,omitempty"`
	NumMksConnections     int    `json:"numMksConnections"`
	RecordReplayState     string `json:"recordReplayState"`
	CleanPowerOff         *bool  `json:"cleanPowerOff,omitempty"`
	OnlineStandby         bool   `json:"onlineStandby"`
	ConsolidationNeeded   bool   `json:"consolidationNeeded"`
	Paused                bool   `json:"paused"`
	SnapshotInBackground  bool   `json:"snapshotInBackground"`
	InstantCloneFrozen    bool   `json:"instantCloneFrozen"`
}

func vmProperty(name string) vimHandler {
	return func(s *Server, c *call) (any, *vimFault) {
		v, fault := s.vimVM(c)
		if fault != nil {
			return nil, fault
		}
		switch name {
		case "name":
			return v.Name, nil
		case "parent":
			return ref("Folder", v.Folder), nil
		case "resourcePool":
			return ref("ResourcePool", v.ResourcePool), nil
		case "datastore":
			refs := []moRef{}
			for _, ds := range v.datastores() {
				refs = append(refs, ref("Datastore", ds))
			}
			return refs, nil
		case "runtime":
			return s.runtimeInfo(v), nil
		case "snapshot":
			return snapshotInfo(v), nil
		default: // rootSnapshot
			if len(v.snapRoots) == 0 {
				return jsonNull, nil
			}
			refs := []moRef{}
			for _, sn := range v.snapRoots {
				refs = append(refs, ref("VirtualMachineSnapshot", sn.id))
			}
			return refs, nil
		}
	}
}

func (s *Server) runtimeInfo(v *vm) runtimeInfo {
	ri := runtimeInfo{
		TypeName: "VirtualMachineRuntimeInfo", Host: ref("HostSystem", v.Host),
		ConnectionState: "connected", PowerState: v.PowerState.vim(), FaultToleranceState: "notConfigured",
		RecordReplayState: "inactive",
	}
	if h := s.inv.hosts[v.Host]; h != nil && h.connection != "CONNECTED" {
		ri.ConnectionState = "disconnected"
	}
	switch v.PowerState {
	case PoweredOn:
		ri.BootTime = vimTime(v.bootTime)
		ri.MaxCPUUsage = 2400 * v.CPUCount
		ri.MaxMemoryUsage = v.MemoryMiB
	case PoweredOff:
		clean := v.CleanPowerOff
		ri.CleanPowerOff = &clean
	}
	return ri
}

func hostProperty(name string) vimHandler {
	return func(s *Server, c *call) (any, *vimFault) {
		h := s.inv.hosts[c.param("moId")]
		if h == nil {
			return nil, faultNotFound("HostSystem", c.param("moId"))
		}
		if name == "name" {
			return h.name, nil
		}
		if h.cluster != "" {
			return ref("ClusterComputeResource", h.cluster), nil
		}
		return ref("ComputeResource", h.computeResource), nil
	}
}

// eventChainID gives a task a stable event chain id derived from its number.
func eventChainID(taskID string) int {
	n, _ := strconv.Atoi(taskID[len("task-"):])
	return 7000 + n
}
