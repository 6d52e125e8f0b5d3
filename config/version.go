package config

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// VersionLine is what version and --version print: the version (set by the
// release build, else the module version of a go install, else "dev"), the
// commit and build time (injected, else the VCS stamp of go build), the Go
// version and the platform.
func VersionLine(version, commit, date string) string {
	v, c, d := version, commit, date
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version // go install …@vX.Y.Z, or a VCS pseudo-version
		}
		for _, kv := range bi.Settings { // stamped by go build in a git checkout
			switch {
			case kv.Key == "vcs.revision" && c == "":
				c = kv.Value
			case kv.Key == "vcs.time" && d == "":
				d = kv.Value
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	s := fmt.Sprintf("vsphere-mcp-pro %s (commit %s, %s, %s/%s)", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if d != "" {
		s += " built " + d
	}
	return s
}
