package main

import (
	"archive/zip"
	"debug/buildinfo"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestVersionOfRealBuilds builds the binary the three ways a user gets it
// without a release archive and checks what `version` prints: a `go build`
// in a git clone shows that clone's commit, `go install …@vX.Y.Z` shows the
// module version (served here by a module proxy on disk, so nothing leaves
// the machine), and -ldflags -X is what the release build uses.
func TestVersionOfRealBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary three times")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("needs git")
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	files := moduleFiles(t, root)
	goVersion := strings.TrimSpace(runCmd(t, root, nil, "go", "env", "GOVERSION"))
	modcache := strings.TrimSpace(runCmd(t, root, nil, "go", "env", "GOMODCACHE"))
	exe := func(name string) string {
		if runtime.GOOS == "windows" {
			return name + ".exe"
		}
		return name
	}
	// -trimpath keeps the compiled dependencies in the build cache valid
	// whatever directory their source is in; GOTOOLCHAIN=local builds with
	// this toolchain (go.mod's toolchain line would fetch go1.26.10).
	base := []string{"GOFLAGS=-trimpath", "GOTOOLCHAIN=local"}

	t.Run("go build in a git clone", func(t *testing.T) {
		dir := t.TempDir()
		copyFiles(t, root, dir, files)
		git := func(args ...string) string {
			return strings.TrimSpace(runCmd(t, dir, []string{"GIT_CONFIG_GLOBAL=" + os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
				"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
				"GIT_AUTHOR_DATE=2026-11-24T16:40:25Z", "GIT_COMMITTER_DATE=2026-11-24T16:40:25Z"}, "git", args...))
		}
		git("init", "-q")
		git("add", "-A")
		git("commit", "-q", "-m", "version test")
		rev := git("rev-parse", "HEAD")
		bin := filepath.Join(t.TempDir(), exe("vsphere-mcp-pro"))
		// -buildvcs=true: this machine's go env may say false; a user's
		// default (auto) stamps a build in a clone the same way.
		runCmd(t, dir, base, "go", "build", "-buildvcs=true", "-o", bin, ".")
		got := strings.TrimSpace(runCmd(t, dir, nil, bin, "version"))
		want := "commit " + rev + ", " + goVersion
		if !strings.Contains(got, want) || strings.Contains(got, "unknown") {
			t.Errorf("version = %q, want it to contain %q", got, want)
		}
		if bi, err := buildinfo.ReadFile(bin); err != nil || !strings.HasPrefix(bi.Main.Version, "v0.0.0-20261124164025-"+rev[:12]) {
			t.Errorf("build info main version %v (err %v), want the clone's pseudo-version", bi, err)
		}
	})

	t.Run("go install …@version from a module proxy", func(t *testing.T) {
		const mod, ver = "github.com/vsphere-mcp-pro/vsphere-mcp-pro", "v0.1.0-versiontest"
		proxy := t.TempDir()
		writeModuleProxy(t, proxy, root, files, mod, ver)
		gobin := t.TempDir()
		// Dependencies come from this machine's module cache, which has the
		// layout of a proxy; the test's own module cache keeps the made-up
		// version out of the developer's.
		env := append(base,
			"GOPROXY=file://"+filepath.ToSlash(proxy)+",file://"+filepath.ToSlash(filepath.Join(modcache, "cache", "download")),
			"GOMODCACHE="+t.TempDir(), "GOFLAGS=-trimpath -modcacherw", "GOSUMDB=off", "GOBIN="+gobin)
		runCmd(t, t.TempDir(), env, "go", "install", mod+"@"+ver)
		got := strings.TrimSpace(runCmd(t, root, nil, filepath.Join(gobin, exe("vsphere-mcp-pro")), "version"))
		want := fmt.Sprintf("vsphere-mcp-pro %s (%s, %s/%s)", ver, goVersion, runtime.GOOS, runtime.GOARCH)
		if got != want {
			t.Errorf("version = %q, want %q", got, want)
		}
	})

	t.Run("-ldflags -X", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), exe("vsphere-mcp-pro"))
		const commitID = "0123456789abcdef0123456789abcdef01234567"
		runCmd(t, root, base, "go", "build", "-buildvcs=false", "-ldflags",
			"-X main.version=9.8.7 -X main.commit="+commitID+" -X main.date=2026-12-01T10:00:00Z", "-o", bin, ".")
		got := strings.TrimSpace(runCmd(t, root, nil, bin, "version"))
		want := fmt.Sprintf("vsphere-mcp-pro 9.8.7 (commit %s, %s, %s/%s) built 2026-12-01T10:00:00Z", commitID, goVersion, runtime.GOOS, runtime.GOARCH)
		if got != want {
			t.Errorf("version = %q, want %q", got, want)
		}
	})
}

// runCmd runs name args in dir with the environment plus env and returns
// stdout; it fails the test with stderr on a non-zero exit.
func runCmd(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// moduleFiles lists the module's files, as slash paths relative to root,
// leaving out build output and version-control data.
func moduleFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch rel {
			case ".git", "bin", "dist", ".tmp", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && rel != ".git" {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func copyFiles(t *testing.T, from, to string, files []string) {
	t.Helper()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(from, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(to, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// writeModuleProxy lays out mod@ver in dir as a GOPROXY=file:// serves it:
// @v/list, .info, .mod and the module zip of files.
func writeModuleProxy(t *testing.T, dir, root string, files []string, mod, ver string) {
	t.Helper()
	at := filepath.Join(dir, filepath.FromSlash(mod), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"list":        []byte(ver + "\n"),
		ver + ".info": fmt.Appendf(nil, `{"Version":%q,"Time":"2026-12-01T10:00:00Z"}`, ver),
		ver + ".mod":  gomod,
	} {
		if err := os.WriteFile(filepath.Join(at, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(at, ver+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(mod + "@" + ver + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
