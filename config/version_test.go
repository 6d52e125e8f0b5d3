package config

import (
	"runtime/debug"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	const rev = "a019ee7db306e0a6196a729022f0eee412d26d7c"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-11-24T16:40:25Z"},
			{Key: "vcs.modified", Value: modified},
		}
	}
	info := func(mainVersion string, settings []debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: "github.com/vsphere-mcp-pro/vsphere-mcp-pro", Version: mainVersion}, Settings: settings}
	}
	for _, tt := range []struct {
		name                  string
		version, commit, date string // as -ldflags -X sets them; "dev" and "" when unset
		bi                    *debug.BuildInfo
		want                  string
	}{
		{
			name:    "release build (goreleaser -ldflags)",
			version: "0.1.0", commit: rev, date: "2026-12-01T10:00:00Z",
			bi:   info("(devel)", nil),
			want: "vsphere-mcp-pro 0.1.0 (commit " + rev + ", go1.26.10, linux/amd64) built 2026-12-01T10:00:00Z",
		},
		{
			name:    "go install …@v0.1.0 (module proxy: a version, no VCS)",
			version: "dev",
			bi:      info("v0.1.0", nil),
			want:    "vsphere-mcp-pro v0.1.0 (go1.26.10, linux/amd64)",
		},
		{
			name:    "go install …@<commit> (pseudo-version)",
			version: "dev",
			bi:      info("v0.0.0-20261124164025-a019ee7db306", nil),
			want:    "vsphere-mcp-pro v0.0.0-20261124164025-a019ee7db306 (commit a019ee7db306, go1.26.10, linux/amd64)",
		},
		{
			name:    "go install …@<commit> after a tag (pseudo-version on a pre-release)",
			version: "dev",
			bi:      info("v0.1.1-0.20261124164025-a019ee7db306", nil),
			want:    "vsphere-mcp-pro v0.1.1-0.20261124164025-a019ee7db306 (commit a019ee7db306, go1.26.10, linux/amd64)",
		},
		{
			name:    "go build in a clean clone",
			version: "dev",
			bi:      info("v0.0.0-20261124164025-a019ee7db306", vcs("false")),
			want:    "vsphere-mcp-pro v0.0.0-20261124164025-a019ee7db306 (commit " + rev + ", go1.26.10, linux/amd64) built 2026-11-24T16:40:25Z",
		},
		{
			name:    "go build in a clone with local changes",
			version: "dev",
			bi:      info("v0.0.0-20261124164025-a019ee7db306+dirty", vcs("true")),
			want:    "vsphere-mcp-pro v0.0.0-20261124164025-a019ee7db306+dirty (commit " + rev + " with uncommitted changes, go1.26.10, linux/amd64) built 2026-11-24T16:40:25Z",
		},
		{
			name:    "go run, or -buildvcs=false: nothing recorded",
			version: "dev",
			bi:      info("(devel)", nil),
			want:    "vsphere-mcp-pro dev (commit unknown, go1.26.10, linux/amd64)",
		},
		{
			name:    "no build information at all",
			version: "dev",
			want:    "vsphere-mcp-pro dev (commit unknown, go1.26.10, linux/amd64)",
		},
		{
			name:    "-ldflags win over the build information",
			version: "0.2.0", commit: "0123456789abcdef0123456789abcdef01234567",
			bi:   info("v0.0.0-20261124164025-a019ee7db306+dirty", vcs("true")),
			want: "vsphere-mcp-pro 0.2.0 (commit 0123456789abcdef0123456789abcdef01234567, go1.26.10, linux/amd64) built 2026-11-24T16:40:25Z",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := DescribeBuild(tt.version, tt.commit, tt.date, tt.bi, "go1.26.10", "linux/amd64"); got != tt.want {
				t.Errorf("DescribeBuild(%q, %q, %q, …)\n got %q\nwant %q", tt.version, tt.commit, tt.date, got, tt.want)
			}
		})
	}
}
