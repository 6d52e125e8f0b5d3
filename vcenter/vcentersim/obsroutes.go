package vcentersim

import (
	"net/http"
	"strings"
)

// obsRoutes lists the observability operations: VI/JSON properties and
// methods of vcenter-api-observability.md §1-§5, and tagging (§6) in both
// Automation API dialects.
func obsRoutes() routeTable {
	var t routeTable
	vim := func(method, moType, member, privilege string, h vimHandler) {
		rt := newRoute(method, "/sdk/vim25/{release}/"+moType+"/{moId}/"+member)
		rt.moType, rt.privilege, rt.vim = moType, privilege, h
		t = append(t, rt)
	}
	get, post := http.MethodGet, http.MethodPost
	const view = "System.View"

	vim(get, "VirtualMachine", "summary", view, handleVMSummary)
	vim(get, "VirtualMachine", "recentTask", view, handleVMRecentTask)
	vim(get, "HostSystem", "summary", view, handleHostSummary)
	for _, moType := range []string{"VirtualMachine", "HostSystem", "ClusterComputeResource", "ComputeResource", "Datacenter", "Datastore", "Folder"} {
		vim(get, moType, "triggeredAlarmState", view, triggeredAlarmState(moType))
	}
	vim(get, "Alarm", "info", view, handleAlarmInfo)
	vim(post, "AlarmManager", "AcknowledgeAlarm", "Alarm.Acknowledge", managedBy("AlarmManager", "AlarmManager", handleAcknowledgeAlarm))

	vim(get, "TaskManager", "recentTask", view, managedBy("TaskManager", "TaskManager", handleTaskManagerRecent))

	perf := func(method, member string, h vimHandler) {
		vim(method, "PerformanceManager", member, view, managedBy("PerformanceManager", "PerfMgr", h))
	}
	perf(get, "perfCounter", handlePerfCounter)
	perf(get, "historicalInterval", handleHistoricalInterval)
	perf(post, "QueryPerf", handleQueryPerf)
	perf(post, "QueryAvailablePerfMetric", handleQueryAvailablePerfMetric)
	perf(post, "QueryPerfCounter", handleQueryPerfCounter)
	perf(post, "QueryPerfCounterByLevel", handleQueryPerfCounterByLevel)

	vim(post, "EventManager", "QueryEvents", view, managedBy("EventManager", "EventManager", handleQueryEvents))
	vim(post, "EventManager", "CreateCollectorForEvents", view, managedBy("EventManager", "EventManager", handleCreateCollector))
	for member, h := range map[string]vimHandler{
		"ReadNextEvents": handleReadNextEvents, "ReadPreviousEvents": handleReadPreviousEvents,
		"RewindCollector": handleRewindCollector, "ResetCollector": handleResetCollector,
		"SetCollectorPageSize": handleSetCollectorPageSize, "DestroyCollector": handleDestroyCollector,
	} {
		vim(post, "EventHistoryCollector", member, view, h)
	}
	vim(get, "EventHistoryCollector", "latestPage", view, handleLatestPage)

	// Tagging: /api actions are ?action=, /rest ones ?~action= with ids in
	// the path as "id:{id}" ([S802]).
	vapi := func(method, pattern, action string, h vapiHandler) {
		rt := newRoute(method, pattern)
		rt.action, rt.vapi = action, h
		if strings.HasPrefix(pattern, "/rest/") {
			rt.actionKey = "~action"
		}
		t = append(t, rt)
	}
	const api, rest = "/api/cis/tagging", "/rest/com/vmware/cis/tagging"
	vapi(get, api+"/category", "", handleListCategories)
	vapi(get, rest+"/category", "", handleListCategories)
	vapi(get, api+"/category/{category_id}", "", handleGetCategory)
	vapi(get, rest+"/category/id:{category_id}", "", handleGetCategory)
	vapi(get, api+"/tag", "", handleListTags)
	vapi(get, rest+"/tag", "", handleListTags)
	vapi(get, api+"/tag/{tag_id}", "", handleGetTag)
	vapi(get, rest+"/tag/id:{tag_id}", "", handleGetTag)
	vapi(post, api+"/tag", "list-tags-for-category", handleTagsForCategory)
	vapi(post, rest+"/tag/id:{category_id}", "list-tags-for-category", handleTagsForCategory)
	for action, h := range map[string]vapiHandler{
		"list-attached-objects-on-tags": handleObjectsOnTags,
		"list-attached-tags":            handleAttachedTags,
		"list-attached-tags-on-objects": handleAttachedTagsOnObjects,
	} {
		vapi(post, api+"/tag-association", action, h)
		vapi(post, rest+"/tag-association", action, h)
	}
	vapi(post, api+"/tag-association/{tag_id}", "list-attached-objects", handleObjectsOfTag)
	vapi(post, rest+"/tag-association/id:{tag_id}", "list-attached-objects", handleObjectsOfTag)
	return t
}

// managedBy wraps a handler of a singleton manager whose moId is fixed
// (ServiceContent names it: "PerfMgr" for the PerformanceManager),
// answering ManagedObjectNotFound for any other moId.
func managedBy(moType, moID string, h vimHandler) vimHandler {
	return func(s *Server, c *call) (any, *vimFault) {
		if c.param("moId") != moID {
			return nil, faultNotFound(moType, c.param("moId"))
		}
		return h(s, c)
	}
}
