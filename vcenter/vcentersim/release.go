package vcentersim

import (
	"strconv"
	"strings"
)

// DefaultRelease is the vim25 API version ([Options.Release]) of a simulator
// that is not told otherwise: vCenter 8.0 Update 3.
const DefaultRelease = "8.0.3.0"

// release describes one vCenter 8.0 build the simulator can pose as.
type release struct {
	api     string // about.apiVersion and the newest {release} path segment, e.g. "8.0.3.0"
	version string // about.version
	build   string // about.build
}

// serverReleaseTable lists the builds Options.Release may name: the GA build of
// each 8.0 update (VMware KB 326316 "Build numbers and versions of vCenter Server").
var serverReleaseTable = []release{
	{api: "8.0.0.0", version: "8.0.0", build: "20519528"},
	{api: "8.0.1.0", version: "8.0.1", build: "21560480"},
	{api: "8.0.2.0", version: "8.0.2", build: "22385739"},
	{api: "8.0.3.0", version: "8.0.3", build: "24022515"},
}

// vimPathReleases are the {release} values the VI/JSON OpenAPI document
// enumerates (vcf-api-specs vi-json.yaml, 9.1.1.0). A request path may name
// any of them that is not newer than the server's own apiVersion.
var vimPathReleases = []string{
	"9.1.1.0", "9.1.0.0", "9.0.0.0",
	"8.0.3.1", "8.0.3.0", "8.0.2.0", "8.0.1.0", "8.0.0.2", "8.0.0.1", "8.0.0.0",
	"7.0.3.2", "7.0.3.1", "7.0.3.0", "7.0.2.1", "7.0.2.0", "7.0.1.1", "7.0.1.0",
	"7.0.0.2", "7.0.0.1", "7.0.0.0",
}

func lookupRelease(api string) (release, bool) {
	for _, r := range serverReleaseTable {
		if r.api == api {
			return r, true
		}
	}
	return release{}, false
}

func serverReleases() []string {
	out := make([]string, len(serverReleaseTable))
	for i, r := range serverReleaseTable {
		out[i] = r.api
	}
	return out
}

// hasVIJSON reports whether the build serves /sdk/vim25/{release}/...: the JSON
// protocol is new in 8.0 U1.
func (r release) hasVIJSON() bool { return compareVersions(r.api, "8.0.1.0") >= 0 }

// sharedSessions reports whether one session is valid on vAPI (/api, /rest)
// and VI/JSON alike: from 8.0 U3, when session management moved into vpxd
// (VMware "Unified Management and Automation Session", KB 375546).
func (r release) sharedSessions() bool { return compareVersions(r.api, "8.0.3.0") >= 0 }

// bareTaskFaults reports whether TaskInfo.error is the bare fault
// ({"_typeName":"InvalidArgument","faultstring":…}), as a live 8.0.3 sends
// it, rather than the LocalizedMethodFault wrapper, the older documented
// form (contract changes §0.2: "a live 8.0.3 sends the bare fault"; base
// §3.2). The contract has no sample of 8.0.1 or 8.0.2: they keep the
// documented form here.
func (r release) bareTaskFaults() bool { return compareVersions(r.api, "8.0.3.0") >= 0 }

// acceptsPathRelease reports whether a VI/JSON URL may name v as its {release}.
func (r release) acceptsPathRelease(v string) bool {
	for _, known := range vimPathReleases {
		if known == v {
			return compareVersions(v, r.api) <= 0
		}
	}
	return false
}

// compareVersions compares dotted numeric versions ("8.0.3.0").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
