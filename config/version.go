package config

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
)

// pseudoRevRe finds the revision at the end of a Go pseudo-version
// (v0.0.0-20261124164025-a019ee7db306, v0.1.1-0.20261124164025-a019ee7db306,
// optionally +dirty), which is what `go install …@<commit>` and a build in a
// git clone without a tag record as the module version.
var pseudoRevRe = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+-(?:[0-9A-Za-z.-]*\.)?[0-9]{14}-([0-9a-f]{12})(?:\+[0-9A-Za-z.]+)?$`)

// DescribeBuild is the line `version` prints. The release build sets
// version, commit and date with -ldflags -X; anything it leaves unset comes
// from the build information the go command stamps into every binary:
// the module version for `go install …@vX.Y.Z` (the module proxy records
// no commit, the tag names it), a pseudo-version whose suffix is the
// commit for `go install …@<commit>`, and the VCS revision, time and
// modified flag for a `go build` in a git clone. `go run`, and builds with
// -buildvcs=false, record none of these: only then is the commit unknown.
// goVersion and platform are runtime.Version() and "GOOS/GOARCH".
func DescribeBuild(version, commit, date string, bi *debug.BuildInfo, goVersion, platform string) string {
	v, c, d := version, commit, date
	modified := false
	if bi != nil {
		if (v == "" || v == "dev") && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				if c == "" {
					c = kv.Value
				}
			case "vcs.time":
				if d == "" {
					d = kv.Value
				}
			case "vcs.modified":
				modified = kv.Value == "true"
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if m := pseudoRevRe.FindStringSubmatch(v); m != nil && c == "" {
		c = m[1]
	}
	var parts []string
	switch {
	case c != "" && modified && commit == "":
		parts = append(parts, "commit "+c+" with uncommitted changes")
	case c != "":
		parts = append(parts, "commit "+c)
	case strings.HasPrefix(v, "v"):
		// A tagged module version: the tag is the reference.
	default:
		parts = append(parts, "commit unknown")
	}
	parts = append(parts, goVersion, platform)
	s := fmt.Sprintf("vsphere-mcp-pro %s (%s)", v, strings.Join(parts, ", "))
	if d != "" {
		s += " built " + d
	}
	return s
}

// VersionLine is what `version` and `--version` print: [DescribeBuild] with
// this binary's build information and platform.
func VersionLine(version, commit, date string) string {
	bi, _ := debug.ReadBuildInfo()
	return DescribeBuild(version, commit, date, bi, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
}
