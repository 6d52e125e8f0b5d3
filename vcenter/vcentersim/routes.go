package vcentersim

import (
	"net/http"
	"net/url"
	"strings"
)

// surface is one of vCenter's three HTTP surfaces (contract, introduction).
type surface int

const (
	surfaceOther surface = iota // not under /api, /rest or /sdk
	surfaceAPI                  // Automation API, /api
	surfaceREST                 // legacy Automation REST, /rest
	surfaceVIM                  // VI/JSON, /sdk/vim25/{release}
)

// String returns the name Counters uses for the surface's logins.
func (sf surface) String() string {
	switch sf {
	case surfaceAPI:
		return "api"
	case surfaceREST:
		return "rest"
	case surfaceVIM:
		return "vijson"
	default:
		return "other"
	}
}

// vapi reports whether the surface is the Automation API in either dialect.
func (sf surface) vapi() bool { return sf == surfaceAPI || sf == surfaceREST }

func surfaceOf(escapedPath string) surface {
	switch {
	case escapedPath == "/api" || strings.HasPrefix(escapedPath, "/api/"):
		return surfaceAPI
	case escapedPath == "/rest" || strings.HasPrefix(escapedPath, "/rest/"):
		return surfaceREST
	case escapedPath == "/sdk" || strings.HasPrefix(escapedPath, "/sdk/"):
		return surfaceVIM
	default:
		return surfaceOther
	}
}

// call is one request being served.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	surface surface
	body    []byte
	params  map[string]string // path parameters, unescaped
	session *session          // set once the request is authenticated
}

func (c *call) param(name string) string { return c.params[name] }

// vapiHandler serves an /api or /rest operation. It runs under Server.mu and
// returns the result to encode (nil for a void operation) or an error.
type vapiHandler func(s *Server, c *call) (any, *vapiError)

// vimHandler serves a VI/JSON method or property read. It runs under
// Server.mu and returns the result (nil for a void method, jsonNull for an
// unset property) or a fault.
type vimHandler func(s *Server, c *call) (any, *vimFault)

// route is one operation: a method, a path pattern and, for /api actions, the
// value of the action query parameter.
type route struct {
	method    string
	pattern   string // "/api/vcenter/vm/{vm}/power": also the Counters key with the method
	segs      []string
	actionKey string // "action", or "~action" for /rest/com/vmware/cis/session
	action    string // the value the action parameter must have; "" = absent
	surface   surface
	noAuth    bool   // served without a session (logins, ServiceInstance content)
	created   bool   // /api answers 201, not 200
	moType    string // VI/JSON: the managed object type in the path
	privilege string // VI/JSON: the privilegeId a NotAuthenticated fault names
	vapi      vapiHandler
	vim       vimHandler
}

// key is the route's name in Counters and Requests: method and pattern,
// without the action.
func (rt *route) key() string { return rt.method + " " + rt.pattern }

func newRoute(method, pattern string) *route {
	return &route{method: method, pattern: pattern, segs: strings.Split(strings.TrimPrefix(pattern, "/"), "/"), actionKey: "action", surface: surfaceOf(pattern)}
}

// routeTable holds every operation the simulator serves.
type routeTable []*route

// match finds the route for a request, or nil. A path segment matches a
// parameter only if it is a valid id of the parameter's type, so
// /api/vcenter/vm/web-01 matches nothing (404), as on vCenter.
func (s *Server) match(method, escapedPath string, q url.Values) (*route, map[string]string) {
	segs := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	for _, rt := range s.routes {
		if rt.method != method || len(rt.segs) != len(segs) {
			continue
		}
		if rt.action != "" && q.Get(rt.actionKey) != rt.action || rt.action == "" && rt.surface.vapi() && q.Has(rt.actionKey) {
			continue
		}
		params, ok := s.matchSegments(rt.segs, segs)
		if ok {
			return rt, params
		}
	}
	return nil, nil
}

func (s *Server) matchSegments(pattern, segs []string) (map[string]string, bool) {
	var params map[string]string
	for i, p := range pattern {
		open := strings.IndexByte(p, '{')
		if open < 0 {
			if p != segs[i] {
				return nil, false
			}
			continue
		}
		// A parameter may follow a literal prefix, as /rest's "id:{tag_id}".
		seg, ok := strings.CutPrefix(segs[i], p[:open])
		if !ok {
			return nil, false
		}
		name := p[open+1 : len(p)-1]
		v, err := url.PathUnescape(seg)
		if err != nil || !s.validParam(name, seg, v) {
			return nil, false
		}
		if params == nil {
			params = make(map[string]string, 2)
		}
		params[name] = v
	}
	return params, true
}

// validParam checks a path segment against the grammar of its parameter.
// Automation API ids are checked on the raw segment, so an escaped character
// never matches. A VI/JSON moId is opaque, as in vim25: any segment matches
// and an unknown one is a ManagedObjectNotFound fault.
func (s *Server) validParam(name, raw, value string) bool {
	switch name {
	case "vm":
		return isID(raw, "vm-")
	case "datastore":
		return isID(raw, "datastore-")
	case "datacenter":
		return isID(raw, "datacenter-")
	case "cluster":
		return isID(raw, "domain-c")
	case "resource_pool":
		return isID(raw, "resgroup-")
	case "release":
		return s.release.hasVIJSON() && s.release.acceptsPathRelease(value)
	case "moId":
		return value != ""
	case "tag_id": // a tag URN; /rest's list-tags-for-category names a category here
		return isURN(value, tagURN) || isURN(value, categoryURN)
	case "category_id":
		return isURN(value, categoryURN)
	}
	return false
}

// isID reports whether s is prefix followed by decimal digits.
func isID(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || rest == "" || len(rest) > 18 {
		return false
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// buildRoutes lists every operation. Automation API operations exist in both
// dialects; the /rest pattern differs where vCenter's does (power actions are
// path segments there, contract §2).
func buildRoutes() routeTable {
	var t routeTable
	add := func(method, pattern, action string, h vapiHandler) *route {
		rt := newRoute(method, pattern)
		rt.action, rt.vapi = action, h
		t = append(t, rt)
		return rt
	}
	// same adds an operation that /api and /rest spell alike.
	same := func(method, apiPattern string, h vapiHandler) {
		add(method, apiPattern, "", h)
		add(method, "/rest"+strings.TrimPrefix(apiPattern, "/api"), "", h)
	}

	add(http.MethodGet, caDownloadPath, "", nil).noAuth = true // the CA zip (certs.go)

	// Sessions (contract §1.1, §1.2).
	login := add(http.MethodPost, "/api/session", "", handleSessionCreate)
	login.noAuth, login.created = true, true
	add(http.MethodGet, "/api/session", "", handleSessionGet)
	add(http.MethodDelete, "/api/session", "", handleSessionDelete)
	restLogin := add(http.MethodPost, "/rest/com/vmware/cis/session", "", handleSessionCreate)
	restLogin.actionKey, restLogin.noAuth = "~action", true
	add(http.MethodPost, "/rest/com/vmware/cis/session", "get", handleSessionGet).actionKey = "~action"
	add(http.MethodDelete, "/rest/com/vmware/cis/session", "", handleSessionDelete)

	// Inventory lists (§2.1) and the GETs by id that exist.
	same(http.MethodGet, "/api/vcenter/vm", handleListVMs)
	same(http.MethodGet, "/api/vcenter/host", handleListHosts)
	same(http.MethodGet, "/api/vcenter/datastore", handleListDatastores)
	same(http.MethodGet, "/api/vcenter/network", handleListNetworks)
	same(http.MethodGet, "/api/vcenter/datacenter", handleListDatacenters)
	same(http.MethodGet, "/api/vcenter/cluster", handleListClusters)
	same(http.MethodGet, "/api/vcenter/resource-pool", handleListResourcePools)
	same(http.MethodGet, "/api/vcenter/folder", handleListFolders)
	same(http.MethodGet, "/api/vcenter/datastore/{datastore}", handleGetDatastore)
	same(http.MethodGet, "/api/vcenter/datacenter/{datacenter}", handleGetDatacenter)
	same(http.MethodGet, "/api/vcenter/cluster/{cluster}", handleGetCluster)
	same(http.MethodGet, "/api/vcenter/resource-pool/{resource_pool}", handleGetResourcePool)

	// One VM (§2.1, §2.4).
	same(http.MethodGet, "/api/vcenter/vm/{vm}", handleGetVM)
	same(http.MethodDelete, "/api/vcenter/vm/{vm}", handleDeleteVM)
	same(http.MethodGet, "/api/vcenter/vm/{vm}/power", handleGetPower)
	// /api power actions are ?action= parameters, /rest ones path segments.
	for _, action := range []string{"start", "stop", "reset", "suspend"} {
		add(http.MethodPost, "/api/vcenter/vm/{vm}/power", action, powerHandler(action))
		add(http.MethodPost, "/rest/vcenter/vm/{vm}/power/"+action, "", powerHandler(action))
	}
	same(http.MethodGet, "/api/vcenter/vm/{vm}/guest/power", handleGetGuestPower)
	// Guest power actions are ?action= parameters in both dialects.
	for _, action := range []string{"shutdown", "reboot", "standby"} {
		add(http.MethodPost, "/api/vcenter/vm/{vm}/guest/power", action, guestPowerHandler(action))
		add(http.MethodPost, "/rest/vcenter/vm/{vm}/guest/power", action, guestPowerHandler(action))
	}
	same(http.MethodGet, "/api/vcenter/vm/{vm}/guest/identity", handleGetGuestIdentity)
	same(http.MethodGet, "/api/vcenter/vm/{vm}/tools", handleGetTools)
	same(http.MethodGet, "/api/vcenter/vm/{vm}/hardware/cpu", handleGetCPU)
	same(http.MethodPatch, "/api/vcenter/vm/{vm}/hardware/cpu", handlePatchCPU)
	same(http.MethodGet, "/api/vcenter/vm/{vm}/hardware/memory", handleGetMemory)
	same(http.MethodPatch, "/api/vcenter/vm/{vm}/hardware/memory", handlePatchMemory)

	t = append(t, vimRoutes()...)
	return append(t, obsRoutes()...)
}
