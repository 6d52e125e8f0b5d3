package vcenter

import (
	"strconv"
	"strings"
)

// This file is the one place that knows which vCenter release supports
// what (vcenter-api.md §1.3, §2.3, §3.2). Other files ask it and never
// compare release strings themselves; TestReleaseLiteralsLiveInReleaseGo
// enforces that.

const (
	// releaseVIJSON is the first release with the VI/JSON API
	// (/sdk/vim25/{release}): vCenter 8.0 U1. It is also the release the
	// discovery reads ServiceInstance content with, since every server
	// that has the API answers it.
	releaseVIJSON = "8.0.1.0"
	// releaseSharedSession is the first release on which one session is
	// valid on the Automation API and VI/JSON alike: vCenter 8.0 U3, when
	// session management moved into vpxd (VMware "Unified Management and
	// Automation Session", KB 375546).
	releaseSharedSession = "8.0.3.0"
	// releaseNewestKnown is the newest vim25 release this client was
	// written against. A newer server is spoken to in this release, which
	// it keeps serving (vi-json.yaml enumerates every older release as a
	// valid {release}), so that a new release's changes to types and
	// defaults cannot reach a client that does not know them.
	releaseNewestKnown = "8.0.3.0"
)

// hasVIJSON reports whether a server of this apiVersion serves VI/JSON.
func hasVIJSON(apiVersion string) bool { return compareRelease(apiVersion, releaseVIJSON) >= 0 }

// sharesSession reports whether the Automation API session of a server of
// this apiVersion is valid on VI/JSON. A server may still refuse it (see
// Client.vim): the release only says what to try first.
func sharesSession(apiVersion string) bool {
	return compareRelease(apiVersion, releaseSharedSession) >= 0
}

// pathRelease is the {release} segment of VI/JSON paths for a server of
// this apiVersion: its own, or releaseNewestKnown on a newer server. It
// must not exceed what the server supports (vcenter-api.md §3.2).
func pathRelease(apiVersion string) string {
	if compareRelease(apiVersion, releaseNewestKnown) > 0 {
		return releaseNewestKnown
	}
	return apiVersion
}

// validRelease reports whether s is a dotted release such as "8.0.3.0":
// two to four numbers of one to three digits.
func validRelease(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		if len(p) < 1 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// compareRelease compares dotted releases numerically ("8.0.10.0" > "8.0.3.0").
func compareRelease(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
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

// Automation API keys spelled differently across releases
// (vcenter-api.md §2.3): vCenter 7.0 and 8.0 (live output, the 8.0 U1
// reference) write the "MiB" forms; the 9.1 OpenAPI document writes them in
// lower case. The client sends the 8.0 spelling, which 8.0 expects, and
// reads both through explicit tags (MemoryInfo, vmWire), never through
// encoding/json's case-insensitive matching, which would also accept any
// other casing. TestRenamedKeysAreDecodedExplicitly checks each pair.
var renamedKeys = map[string]string{ // 8.0 spelling → 9.x spelling
	keySizeMiB:                "size_mib",
	keyMemorySizeMiB:          "memory_size_mib",
	keyHotAddIncrementSizeMiB: "hot_add_increment_size_mib",
	keyHotAddLimitMiB:         "hot_add_limit_mib",
}

// The 8.0 spellings, as sent.
const (
	keySizeMiB                = "size_MiB"
	keyMemorySizeMiB          = "memory_size_MiB"
	keyHotAddIncrementSizeMiB = "hot_add_increment_size_MiB"
	keyHotAddLimitMiB         = "hot_add_limit_MiB"
)

// either returns the value of the 8.0 spelling of a renamed key, or else
// that of the 9.x spelling (nil when neither was sent).
func either[T any](v80, v9 *T) *T {
	if v80 != nil {
		return v80
	}
	return v9
}
