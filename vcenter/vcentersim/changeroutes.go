package vcentersim

import "net/http"

// changeRoutes lists the change operations (contract changes): clone,
// relocate, devices, ISO mounts, content library, customization, tag
// attach and detach and Automation API tasks in both dialects, and the
// VI/JSON methods and properties of clone, reconfiguration, relocation
// checks and host maintenance mode.
func changeRoutes() routeTable {
	var t routeTable
	add := func(method, pattern, action string, h vapiHandler) *route {
		rt := newRoute(method, pattern)
		rt.action, rt.vapi = action, h
		t = append(t, rt)
		return rt
	}
	get, post, put := http.MethodGet, http.MethodPost, http.MethodPut
	for _, prefix := range []string{"/api", "/rest"} {
		// ?action= on both dialects; vmw-task=true is read by the handler.
		add(post, prefix+"/vcenter/vm", "clone", handleCloneVM)
		add(post, prefix+"/vcenter/vm/{vm}", "relocate", handleRelocateVM)
		add(put, prefix+"/vcenter/vm/{vm}/guest/customization", "", handleSetGuestCustomization)
		add(get, prefix+"/vcenter/vm/{vm}/guest/customization", "", handleGetGuestCustomization)
	}
	vapiTaskRoutes(add)
	deviceRoutes(add)
	libraryRoutes(add)
	tagWriteRoutes(add)

	vim := func(method, moType, member, privilege string, h vimHandler) {
		rt := newRoute(method, "/sdk/vim25/{release}/"+moType+"/{moId}/"+member)
		rt.moType, rt.privilege, rt.vim = moType, privilege, h
		t = append(t, rt)
	}
	vim(get, "VirtualMachine", "config", "System.View", handleVMConfig)
	vim(post, "VirtualMachine", "CloneVM_Task", "VirtualMachine.Provisioning.Clone", handleCloneVMTask)
	vim(post, "VirtualMachine", "ReconfigVM_Task", "VirtualMachine.Config.EditDevice", handleReconfigVM)
	vim(post, "VirtualMachine", "RelocateVM_Task", "Resource.ColdMigrate", handleRelocateVMTask)
	vim(post, "VirtualMachineProvisioningChecker", "CheckRelocate_Task", "System.View",
		managedBy("VirtualMachineProvisioningChecker", "ProvChecker", handleCheckRelocate))
	vim(get, "HostSystem", "runtime", "System.View", handleHostRuntime)
	vim(post, "HostSystem", "EnterMaintenanceMode_Task", "Host.Config.Maintenance", handleEnterMaintenance)
	vim(post, "HostSystem", "ExitMaintenanceMode_Task", "Host.Config.Maintenance", handleExitMaintenance)
	vim(get, "ClusterComputeResource", "configurationEx", "System.View", handleClusterConfigurationEx)
	vim(get, "Folder", "childEntity", "System.View", handleFolderChildren)
	return t
}

// handleFolderChildren is the Folder.childEntity property: the folders,
// VMs and templates a VM folder holds directly (templates are found this
// way, contract changes §9.3), and the datacenters of the root folder.
func handleFolderChildren(s *Server, c *call) (any, *vimFault) {
	f := s.inv.folders[c.param("moId")]
	if f == nil {
		return nil, faultNotFound("Folder", c.param("moId"))
	}
	out := []moRef{}
	for _, x := range sortedValues(s.inv.folders) {
		if x.parent == f.id {
			out = append(out, ref("Folder", x.id))
		}
	}
	if f.id == s.inv.rootFolder {
		for _, dc := range sortedValues(s.inv.datacenters) {
			out = append(out, ref("Datacenter", dc.id))
		}
	}
	for _, v := range s.inv.vmOrder {
		if v.Folder == f.id {
			out = append(out, ref("VirtualMachine", v.ID))
		}
	}
	return out, nil
}
