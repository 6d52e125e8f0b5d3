package main

// The distribution metadata must stay true to the code: mcpb/manifest.json
// (the Claude Desktop one-click bundle, MCPB manifest 0.3) and server.json
// (the official MCP Registry, schema 2025-12-11) are checked here against
// the tool catalogue, the golden schemas in testdata/toolsnaps and the
// configuration struct. The full JSON Schemas are applied by the vendors'
// own validators in .ci/release.sh (mcpb validate); these tests hold what a
// schema cannot say.

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/config"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/tools"
)

// bundleManifest is the part of the MCPB 0.3 manifest this project uses.
type bundleManifest struct {
	ManifestVersion string `json:"manifest_version"`
	Name            string `json:"name"`
	DisplayName     string `json:"display_name"`
	Version         string `json:"version"`
	Description     string `json:"description"`
	Author          struct {
		Name string `json:"name"`
	} `json:"author"`
	Server struct {
		Type       string `json:"type"`
		EntryPoint string `json:"entry_point"`
		MCPConfig  struct {
			Command           string                            `json:"command"`
			Args              []string                          `json:"args"`
			Env               map[string]string                 `json:"env"`
			PlatformOverrides map[string]bundlePlatformOverride `json:"platform_overrides"`
		} `json:"mcp_config"`
	} `json:"server"`
	Tools []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"tools"`
	Compatibility struct {
		Platforms []string `json:"platforms"`
	} `json:"compatibility"`
	UserConfig map[string]bundleUserConfig `json:"user_config"`
}

// bundlePlatformOverride is one entry of mcp_config.platform_overrides.
// Absent members are nil: the client keeps the base value for those.
type bundlePlatformOverride struct {
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env"`
}

// bundleCommand is what a client runs on platform (Node's process.platform:
// darwin, win32, linux), resolved as the MCPB reference implementation does
// (@anthropic-ai/mcpb getMcpConfigForManifest): an override's command, args
// and env each REPLACE the base value when present. So an override that
// set env would silently drop every user_config variable of the base.
func bundleCommand(m bundleManifest, platform string) (command string, args []string, env map[string]string) {
	c := m.Server.MCPConfig
	command, args, env = c.Command, c.Args, c.Env
	if o, ok := c.PlatformOverrides[platform]; ok {
		if o.Command != "" {
			command = o.Command
		}
		if o.Args != nil {
			args = o.Args
		}
		if o.Env != nil {
			env = o.Env
		}
	}
	return command, args, env
}

// bundleFile is the file in the bundle that command names on platform:
// ${__dirname}/ removed, and ".exe" added on Windows, as clients do for a
// binary server (and as Windows itself does for a name without extension).
func bundleFile(command, platform string) (string, bool) {
	rel, ok := strings.CutPrefix(command, "${__dirname}/")
	if !ok {
		return "", false
	}
	if platform == "win32" && path.Ext(rel) == "" {
		rel += ".exe"
	}
	return rel, true
}

// bundleLayout is the file each platform's command runs in the release
// bundle (.ci/mcpb-pack.sh makes it): one universal macOS binary, a
// launcher choosing the CPU on Linux, the amd64 binary on Windows.
var bundleLayout = map[string]string{
	"darwin": "server/darwin/vsphere-mcp-pro",
	"linux":  "server/linux/vsphere-mcp-pro",
	"win32":  "server/win32/vsphere-mcp-pro.exe",
}

// pendingConfigVars are variables the bundle passes before the config reads
// them; once one is read, TestBundleManifest fails until its entry is removed.
var pendingConfigVars = map[string]string{}

type bundleUserConfig struct {
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Required    bool   `json:"required"`
	Sensitive   bool   `json:"sensitive"`
	Multiple    bool   `json:"multiple"`
	Default     any    `json:"default"`
}

// bundleServerJSON is the part of the MCP Registry server.json this project uses.
type bundleServerJSON struct {
	Schema      string `json:"$schema"`
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Version     string `json:"version"`
	WebsiteURL  string `json:"websiteUrl"`
	Repository  struct {
		URL    string `json:"url"`
		Source string `json:"source"`
	} `json:"repository"`
	Packages []struct {
		RegistryType    string `json:"registryType"`
		RegistryBaseURL string `json:"registryBaseUrl"`
		Identifier      string `json:"identifier"`
		Version         string `json:"version"`
		FileSHA256      string `json:"fileSha256"`
		Transport       struct {
			Type string `json:"type"`
		} `json:"transport"`
		EnvironmentVariables []struct {
			Name        string   `json:"name"`
			Description string   `json:"description"`
			IsRequired  bool     `json:"isRequired"`
			IsSecret    bool     `json:"isSecret"`
			Format      string   `json:"format"`
			Default     *string  `json:"default"`
			Choices     []string `json:"choices"`
		} `json:"environmentVariables"`
	} `json:"packages"`
	Meta map[string]json.RawMessage `json:"_meta"`
}

var (
	// semverRe is SemVer 2.0.0 (no leading "v", no ranges).
	semverRe = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	// userConfigRefRe finds ${user_config.KEY} references in mcp_config.
	userConfigRefRe = regexp.MustCompile(`\$\{user_config\.([A-Za-z0-9_]+)\}`)
)

// readBundleJSON decodes path strictly into v and also returns its
// top-level keys, so a misspelt key is caught rather than ignored.
func readBundleJSON(t *testing.T, path string, v any) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// configVars returns the environment variables of the config struct, and
// whether each one holds a secret (its field has the redacting type).
func configVars(t *testing.T) map[string]bool {
	t.Helper()
	vars := map[string]bool{}
	ct := reflect.TypeFor[config.Env]()
	for i := range ct.NumField() {
		f := ct.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if name == "" {
			continue
		}
		vars[name] = f.Type == reflect.TypeFor[config.Secret]()
	}
	if len(vars) == 0 {
		t.Fatal("config has no env tags")
	}
	return vars
}

// modulePath reads the module path from go.mod.
func modulePath(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatal("go.mod has no module line")
	return ""
}

// snapshotDescriptions returns name → description from testdata/toolsnaps.
func snapshotDescriptions(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "toolsnaps", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden tool schemas in testdata/toolsnaps (err %v)", err)
	}
	out := map[string]string{}
	for _, f := range files {
		var snap struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &snap); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[snap.Name] = snap.Description
	}
	return out
}

func TestBundleManifest(t *testing.T) {
	var m bundleManifest
	keys := readBundleJSON(t, filepath.Join("mcpb", "manifest.json"), &m)

	// MCPB 0.3 top-level members (the strict schema refuses any other).
	allowed := []string{"$schema", "_meta", "author", "compatibility", "description", "display_name",
		"documentation", "homepage", "icon", "icons", "keywords", "license", "localization",
		"long_description", "manifest_version", "name", "privacy_policies", "prompts",
		"prompts_generated", "repository", "screenshots", "server", "support", "tools",
		"tools_generated", "user_config", "version"}
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			t.Errorf("manifest has key %q, which MCPB 0.3 does not define", k)
		}
	}
	for _, k := range []string{"manifest_version", "name", "version", "description", "author", "server"} {
		if !slices.Contains(keys, k) {
			t.Errorf("manifest lacks the required key %q", k)
		}
	}
	if m.ManifestVersion != "0.3" {
		t.Errorf("manifest_version %q, want 0.3", m.ManifestVersion)
	}
	if m.Name != "vsphere-mcp-pro" || m.Author.Name == "" || m.Description == "" || m.DisplayName == "" {
		t.Errorf("name %q, display_name %q, author %q, description %q: want the project's name and non-empty others",
			m.Name, m.DisplayName, m.Author.Name, m.Description)
	}
	if !semverRe.MatchString(m.Version) {
		t.Errorf("version %q is not semantic", m.Version)
	}

	t.Run("server", func(t *testing.T) {
		s := m.Server
		if s.Type != "binary" || s.EntryPoint != bundleLayout["darwin"] {
			t.Errorf("server type %q, entry_point %q: want binary, %s", s.Type, s.EntryPoint, bundleLayout["darwin"])
		}
		if want := []string{"darwin", "linux", "win32"}; !slices.Equal(slices.Sorted(slices.Values(m.Compatibility.Platforms)), want) {
			t.Errorf("compatibility.platforms %v, want %v: the bundle carries binaries for all three", m.Compatibility.Platforms, want)
		}
		for name, o := range s.MCPConfig.PlatformOverrides {
			if _, ok := bundleLayout[name]; !ok {
				t.Errorf("platform_overrides.%s: not a platform the bundle supports (keys are Node's process.platform)", name)
			}
			// Security: an override's env replaces the base env whole, so
			// the password and token would silently not reach the server,
			// and a later base variable (READ_ONLY) would not apply.
			if o.Env != nil || o.Args != nil {
				t.Errorf("platform_overrides.%s sets env or args: they would replace the base ones; override the command only", name)
			}
		}
		for _, platform := range m.Compatibility.Platforms {
			command, args, env := bundleCommand(m, platform)
			file, ok := bundleFile(command, platform)
			if !ok || file != bundleLayout[platform] {
				t.Errorf("%s runs %q (file %q), want ${__dirname}/ and the bundle's %s", platform, command, file, bundleLayout[platform])
			}
			if len(args) != 0 || !maps.Equal(env, s.MCPConfig.Env) {
				t.Errorf("%s: args %q and env %v, want no args and the base env", platform, args, env)
			}
		}
	})

	t.Run("user_config", func(t *testing.T) {
		vars := configVars(t)
		used := map[string]bool{}
		for name, value := range m.Server.MCPConfig.Env {
			secretVar, ok := vars[name]
			if _, pending := pendingConfigVars[name]; pending && ok {
				t.Errorf("%s is now in main.go's config: remove it from pendingConfigVars", name)
			} else if !ok && !pending {
				t.Errorf("mcp_config.env sets %s, which is not a configuration variable of main.go", name)
				continue
			}
			refs := userConfigRefRe.FindAllStringSubmatch(value, -1)
			if len(refs) != 1 || refs[0][0] != value {
				t.Errorf("env %s = %q: want exactly one ${user_config.KEY}", name, value)
				continue
			}
			key := refs[0][1]
			used[key] = true
			uc, ok := m.UserConfig[key]
			if !ok {
				t.Errorf("env %s refers to user_config.%s, which is not declared", name, key)
				continue
			}
			if secretVar && !uc.Sensitive {
				t.Errorf("user_config.%s feeds the secret %s: mark it sensitive (kept in the OS keychain, masked in the UI)", key, name)
			}
			if uc.Sensitive && !secretVar {
				t.Errorf("user_config.%s is sensitive but %s is not a secret in main.go's config", key, name)
			}
		}
		for _, a := range m.Server.MCPConfig.Args {
			for _, r := range userConfigRefRe.FindAllStringSubmatch(a, -1) {
				used[r[1]] = true
			}
		}
		for key, uc := range m.UserConfig {
			if !used[key] {
				t.Errorf("user_config.%s is declared but mcp_config never uses it", key)
			}
			if !slices.Contains([]string{"string", "number", "boolean", "directory", "file"}, uc.Type) {
				t.Errorf("user_config.%s has type %q", key, uc.Type)
			}
			if uc.Title == "" || uc.Description == "" {
				t.Errorf("user_config.%s needs a title and a description", key)
			}
			if uc.Sensitive && uc.Type != "string" {
				t.Errorf("user_config.%s: sensitive applies to strings only", key)
			}
			if uc.Multiple {
				t.Errorf("user_config.%s: multiple would expand into several values, but it feeds one variable", key)
			}
			// Claude Desktop passes the literal "${user_config.KEY}" for an
			// optional option left blank unless it has a default
			// (modelcontextprotocol/mcpb#250): the server would then try to
			// open a file called "${user_config.ca_bundle}".
			if !uc.Required && uc.Default == nil {
				t.Errorf("user_config.%s is optional without a default: give it one (\"\" or false)", key)
			}
			if uc.Default != nil {
				var ok bool
				switch uc.Type {
				case "boolean":
					_, ok = uc.Default.(bool)
				case "number":
					_, ok = uc.Default.(float64)
				default:
					_, ok = uc.Default.(string)
				}
				if !ok {
					t.Errorf("user_config.%s: default %#v does not fit type %s", key, uc.Default, uc.Type)
				}
			}
		}
		if hostKey := bundleEnvKey(m, "VCENTER_HOST"); hostKey == "" || !m.UserConfig[hostKey].Required {
			t.Errorf("VCENTER_HOST must come from a required user_config option (the server refuses to start without it)")
		}
	})

	t.Run("tools", func(t *testing.T) {
		snaps := snapshotDescriptions(t)
		var listed []string
		for _, tool := range m.Tools {
			if slices.Contains(listed, tool.Name) {
				t.Errorf("tool %s is listed twice", tool.Name)
			}
			listed = append(listed, tool.Name)
			desc, ok := snaps[tool.Name]
			if !ok {
				t.Errorf("manifest lists %s, which has no testdata/toolsnaps/%s.json", tool.Name, tool.Name)
				continue
			}
			if tool.Description != desc {
				t.Errorf("%s: manifest description %q, golden schema says %q", tool.Name, tool.Description, desc)
			}
		}
		for name := range snaps {
			if !slices.Contains(listed, name) {
				t.Errorf("testdata/toolsnaps has %s, which the manifest does not list", name)
			}
		}
		var catalogue []string
		for _, tool := range tools.All(tools.Deps{}) {
			catalogue = append(catalogue, tool.Def.Name)
		}
		sort.Strings(catalogue)
		sort.Strings(listed)
		if diff := cmp.Diff(catalogue, listed); diff != "" {
			t.Errorf("manifest tools differ from the catalogue (-catalogue +manifest):\n%s", diff)
		}
	})
}

// bundleEnvKey returns the user_config key that feeds the variable name.
func bundleEnvKey(m bundleManifest, name string) string {
	if r := userConfigRefRe.FindStringSubmatch(m.Server.MCPConfig.Env[name]); r != nil {
		return r[1]
	}
	return ""
}

func TestBundleServerJSON(t *testing.T) {
	var s bundleServerJSON
	keys := readBundleJSON(t, "server.json", &s)
	var m bundleManifest
	readBundleJSON(t, filepath.Join("mcpb", "manifest.json"), &m)

	allowed := []string{"$schema", "_meta", "description", "icons", "name", "packages", "remotes",
		"repository", "title", "version", "websiteUrl"}
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			t.Errorf("server.json has key %q, which schema 2025-12-11 does not define", k)
		}
	}
	if want := "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"; s.Schema != want {
		t.Errorf("$schema %q, want %q", s.Schema, want)
	}

	// github.com/OWNER/REPO publishes as io.github.OWNER/REPO (GitHub
	// namespace authentication in the registry).
	owner, repo, ok := strings.Cut(strings.TrimPrefix(modulePath(t), "github.com/"), "/")
	if !ok {
		t.Fatalf("module path %q is not github.com/OWNER/REPO", modulePath(t))
	}
	if want := "io.github." + owner + "/" + repo; s.Name != want {
		t.Errorf("name %q, want %q (from the module path)", s.Name, want)
	}
	if n := len(s.Description); n == 0 || n > 100 {
		t.Errorf("description is %d characters; the registry takes 1 to 100", n)
	}
	if !semverRe.MatchString(s.Version) || s.Version != m.Version {
		t.Errorf("version %q: want the manifest's %q, semantic", s.Version, m.Version)
	}
	repoURL := "https://github.com/" + owner + "/" + repo
	if s.Repository.URL != repoURL || s.Repository.Source != "github" {
		t.Errorf("repository %+v, want url %s, source github", s.Repository, repoURL)
	}

	if len(s.Packages) != 1 {
		t.Fatalf("%d packages, want the one MCPB bundle", len(s.Packages))
	}
	p := s.Packages[0]
	// The registry's MCPB rules (checkRegistryMCPB): a GitHub release asset
	// over HTTPS whose URL contains "mcp", no registryBaseUrl, and a SHA-256
	// of the file, which is known only once the release is built:
	// .ci/mcpb-pack.sh stamps it into dist/server.json. In the repository it
	// is absent, so publishing the unstamped file fails instead of sending a
	// wrong hash to clients.
	if p.RegistryType != "mcpb" || p.Transport.Type != "stdio" || p.RegistryBaseURL != "" {
		t.Errorf("package %s over %s (registryBaseUrl %q): want mcpb over stdio without registryBaseUrl",
			p.RegistryType, p.Transport.Type, p.RegistryBaseURL)
	}
	// The one bundle .ci/mcpb-pack.sh makes, for every platform.
	if want := repoURL + "/releases/download/v" + s.Version + "/vsphere-mcp-pro_" + s.Version + ".mcpb"; p.Identifier != want {
		t.Errorf("identifier %q, want %q (the bundle .ci/mcpb-pack.sh makes)", p.Identifier, want)
	}
	if p.Version != "" && p.Version != s.Version {
		t.Errorf("package version %q, server version %q", p.Version, s.Version)
	}
	if p.FileSHA256 != "" {
		t.Errorf("fileSha256 %q in the repository's server.json: only the release stamps it (dist/server.json), from the bundle it built", p.FileSHA256)
	}

	vars := configVars(t)
	var names []string
	for _, e := range p.EnvironmentVariables {
		names = append(names, e.Name)
		secretVar, ok := vars[e.Name]
		if _, pending := pendingConfigVars[e.Name]; !ok && !pending {
			t.Errorf("environmentVariables has %s, which is not a configuration variable of main.go", e.Name)
			continue
		}
		if e.IsSecret != secretVar {
			t.Errorf("%s: isSecret %v, but main.go's config says secret=%v", e.Name, e.IsSecret, secretVar)
		}
		if e.Description == "" {
			t.Errorf("%s has no description", e.Name)
		}
		if e.Format != "" && !slices.Contains([]string{"string", "number", "boolean", "filepath"}, e.Format) {
			t.Errorf("%s: format %q", e.Name, e.Format)
		}
		if e.Default != nil && len(e.Choices) > 0 && !slices.Contains(e.Choices, *e.Default) {
			t.Errorf("%s: default %q is not one of %v", e.Name, *e.Default, e.Choices)
		}
		if e.Name == "VCENTER_HOST" && !e.IsRequired {
			t.Errorf("VCENTER_HOST must be isRequired")
		}
	}
	var manifestEnv []string
	for name := range m.Server.MCPConfig.Env {
		manifestEnv = append(manifestEnv, name)
	}
	sort.Strings(names)
	sort.Strings(manifestEnv)
	if diff := cmp.Diff(manifestEnv, names); diff != "" {
		t.Errorf("server.json and the bundle configure different variables (-manifest +server.json):\n%s", diff)
	}

	// The official registry keeps only this _meta key, up to 4 KiB.
	for k, v := range s.Meta {
		if k != "io.modelcontextprotocol.registry/publisher-provided" {
			t.Errorf("_meta.%s would be dropped by the registry", k)
		}
		if len(v) > 4096 {
			t.Errorf("_meta.%s is %d bytes; the registry takes 4096", k, len(v))
		}
	}
}

// hostPlatform is the MCPB platform name of this machine (Node's
// process.platform).
func hostPlatform() string {
	if runtime.GOOS == "windows" {
		return "win32"
	}
	return runtime.GOOS
}

// stageBundle builds the binary into dir where the bundle keeps it for
// this machine, with the Linux launcher in front of it on Linux, and
// returns the manifest.
func stageBundle(t *testing.T, dir string) bundleManifest {
	t.Helper()
	var m bundleManifest
	readBundleJSON(t, filepath.Join("mcpb", "manifest.json"), &m)
	platform := hostPlatform()
	target, ok := bundleLayout[platform]
	if !ok {
		t.Skipf("the bundle has no %s binary", runtime.GOOS)
	}
	if platform == "linux" {
		if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
			t.Skipf("the bundle has no linux/%s binary", runtime.GOARCH)
		}
		launcher, err := os.ReadFile(filepath.Join("mcpb", "linux-launcher.sh"))
		if err != nil {
			t.Fatal(err)
		}
		writeExecutable(t, filepath.Join(dir, filepath.FromSlash(target)), launcher)
		target = "server/linux/" + runtime.GOARCH + "/vsphere-mcp-pro"
	}
	// The binary the other tests built (once per run), as releases build it.
	bin, err := os.ReadFile(builtBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	writeExecutable(t, filepath.Join(dir, filepath.FromSlash(target)), bin)
	return m
}

func writeExecutable(t *testing.T, file string, content []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, content, 0o755); err != nil { //nolint:gosec // an executable, as in the bundle
		t.Fatal(err)
	}
}

// bundleLaunch prepares the command a client runs for the bundle unpacked
// in dir on this machine: the platform's command and env, with
// ${__dirname} and every ${user_config.KEY} substituted (blank options by
// their defaults), and nothing else in the environment. values holds what
// the user typed, keyed by user_config key.
func bundleLaunch(ctx context.Context, t *testing.T, m bundleManifest, dir string, values map[string]any, args ...string) *exec.Cmd {
	t.Helper()
	command, baseArgs, envTmpl := bundleCommand(m, hostPlatform())
	env := []string{}
	for name, tmpl := range envTmpl {
		v := userConfigRefRe.ReplaceAllStringFunc(tmpl, func(ref string) string {
			key := userConfigRefRe.FindStringSubmatch(ref)[1]
			val, ok := values[key]
			if !ok {
				val = m.UserConfig[key].Default
			}
			if val == nil {
				t.Fatalf("user_config.%s has no value and no default", key)
			}
			return fmt.Sprint(val) // booleans become "true" / "false", as the client passes them
		})
		env = append(env, name+"="+v)
	}
	if root := os.Getenv("SYSTEMROOT"); root != "" { // Windows needs it for networking
		env = append(env, "SYSTEMROOT="+root)
	}
	if hostPlatform() == "linux" {
		env = append(env, "PATH=/usr/bin:/bin") // the launcher runs uname and dirname
	}
	file, ok := bundleFile(command, hostPlatform())
	if !ok {
		t.Fatalf("command %q is not under ${__dirname}", command)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(dir, filepath.FromSlash(file)), append(slices.Clone(baseArgs), args...)...)
	cmd.Env = env
	return cmd
}

// bundleTools lists the tools of the bundle launched with values, and
// checks the password never reaches stderr.
func bundleTools(t *testing.T, m bundleManifest, dir string, values map[string]any) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := bundleLaunch(ctx, t, m, dir, values)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "bundle-test", Version: "0"}, nil)
	session, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect: %v\nstderr:\n%s", err, stderr.String())
	}
	var got []string
	for tool, err := range session.Tools(ctx, nil) {
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		got = append(got, tool.Name)
	}
	if err := session.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	if pw, ok := values["vcenter_password"].(string); ok && pw != "" && strings.Contains(stderr.String(), pw) {
		t.Errorf("stderr shows the password:\n%s", stderr.String())
	}
	sort.Strings(got)
	return got
}

// catalogueNames returns the sorted names of the catalogue's tools that keep
// accepts.
func catalogueNames(keep func(tools.Tool) bool) []string {
	var names []string
	for _, tool := range tools.All(tools.Deps{}) {
		if keep(tool) {
			names = append(names, tool.Def.Name)
		}
	}
	sort.Strings(names)
	return names
}

// TestBundleLaunch starts the binary the way Claude Desktop starts the
// bundle on this machine (through the Linux launcher on Linux): the
// platform's command and the manifest's env, filled in as a user would. It
// checks the single-user default (no token, no policy: every tool), team
// mode with a token's role, the read-only switch, that team mode without a
// token fails at once naming the variable, and that the password never
// reaches stderr. No vCenter is contacted: listing tools needs none.
func TestBundleLaunch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	m := stageBundle(t, dir)

	const token, password = "bundle-test-token", "bundle-test-password"
	sum := sha256.Sum256([]byte(token))
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	doc := fmt.Sprintf(`{"tokens_to_roles": {"sha256:%s": "ops"}}`, hex.EncodeToString(sum[:]))
	if err := os.WriteFile(policyFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	first := map[string]any{"vcenter_host": "vcenter.invalid", "vcenter_user": "svc-mcp@vsphere.local", "vcenter_password": password}
	with := func(extra map[string]any) map[string]any {
		v := maps.Clone(first)
		maps.Copy(v, extra)
		return v
	}

	for _, tt := range []struct {
		name   string
		values map[string]any
		want   []string
	}{
		{
			name:   "first run: host, user and password only (single-user mode)",
			values: first,
			want:   catalogueNames(func(tools.Tool) bool { return true }),
		},
		{
			name:   "single-user and read-only",
			values: with(map[string]any{"read_only": true}),
			want:   catalogueNames(func(tool tools.Tool) bool { return tool.Def.Annotations.ReadOnlyHint }),
		},
		{
			name:   "team mode: a token with the ops role",
			values: with(map[string]any{"require_token": true, "mcp_token": token, "policy_file": policyFile}),
			want:   catalogueNames(func(tool tools.Tool) bool { return tool.Level <= policy.LevelOps }),
		},
		{
			name:   "team mode and read-only",
			values: with(map[string]any{"require_token": true, "mcp_token": token, "policy_file": policyFile, "read_only": true}),
			want:   catalogueNames(func(tool tools.Tool) bool { return tool.Def.Annotations.ReadOnlyHint }),
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, bundleTools(t, m, dir, tt.values)); diff != "" {
				t.Errorf("tools/list (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("toolsets", func(t *testing.T) {
		all := catalogueNames(func(tools.Tool) bool { return true })
		if got := bundleTools(t, m, dir, with(map[string]any{"toolsets": "all"})); !slices.Equal(got, all) {
			t.Errorf("toolsets all: %v, want every tool", got)
		}
		got := bundleTools(t, m, dir, with(map[string]any{"toolsets": "snapshots"}))
		if len(got) == 0 || len(got) >= len(all) || !slices.Contains(got, "list_vm_snapshots") || slices.Contains(got, "power_on_vm") {
			t.Errorf("toolsets snapshots: %v, want the snapshot tools and not the power ones", got)
		}
	})

	t.Run("team mode without a token fails fast", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		cmd := bundleLaunch(ctx, t, m, dir, with(map[string]any{"require_token": true}))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != exitUsage {
			t.Fatalf("run: %v, want exit code %d\nstderr:\n%s", err, exitUsage, stderr.String())
		}
		if !strings.Contains(stderr.String(), "VSPHERE_MCP_TOKEN") {
			t.Errorf("stderr does not name VSPHERE_MCP_TOKEN:\n%s", stderr.String())
		}
		if stdout.Len() != 0 || strings.Contains(stderr.String(), password) {
			t.Errorf("stdout %q (want empty); password on stderr: %v", stdout.String(), strings.Contains(stderr.String(), password))
		}
	})
}

// TestLinuxLauncher runs mcpb/linux-launcher.sh with a stand-in for the
// binaries and for uname: it must exec the binary of the machine's CPU
// with the arguments unchanged, write nothing of its own to stdout, and
// refuse a CPU the bundle has no binary for with a message and exit 2.
func TestLinuxLauncher(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil || runtime.GOOS == "windows" {
		t.Skip("needs a POSIX sh")
	}
	launcherSrc, err := os.ReadFile(filepath.Join("mcpb", "linux-launcher.sh"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	launcher := filepath.Join(dir, "server", "linux", "vsphere-mcp-pro")
	writeExecutable(t, launcher, launcherSrc)
	for _, arch := range []string{"amd64", "arm64"} {
		writeExecutable(t, filepath.Join(dir, "server", "linux", arch, "vsphere-mcp-pro"),
			[]byte("#!/bin/sh\nprintf '%s' \""+arch+"\"; for a; do printf ' [%s]' \"$a\"; done\n"))
	}
	bin := t.TempDir() // holds the stand-in uname
	for _, tt := range []struct {
		machine string
		stdout  string
		code    int
	}{
		{"x86_64", "amd64 [--simulate] [call] [a b]", 0},
		{"aarch64", "arm64 [--simulate] [call] [a b]", 0},
		{"arm64", "arm64 [--simulate] [call] [a b]", 0},
		{"riscv64", "", 2},
		{"i686", "", 2},
	} {
		t.Run(tt.machine, func(t *testing.T) {
			writeExecutable(t, filepath.Join(bin, "uname"), []byte("#!/bin/sh\necho "+tt.machine+"\n"))
			cmd := exec.Command(sh, launcher, "--simulate", "call", "a b")
			// dirname is found in /usr/bin or /bin; uname is the stand-in.
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || stdout.String() != tt.stdout {
				t.Errorf("exit %d, stdout %q; want %d, %q (stderr %q)", code, stdout.String(), tt.code, tt.stdout, stderr.String())
			}
			if tt.code != 0 && !strings.Contains(stderr.String(), tt.machine) {
				t.Errorf("stderr %q does not name the CPU %s", stderr.String(), tt.machine)
			}
		})
	}
}

// registrySchema is the MCP Registry's server.json schema that server.json
// names in $schema, vendored in testdata/registry (its README says from
// where): the registry validates every published entry against it.
func registrySchema(t *testing.T) *jsonschema.Resolved {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "registry", "server.schema.2025-12-11.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("registry schema: %v", err)
	}
	if want := "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"; s.ID != want {
		t.Fatalf("vendored schema has $id %q, want %q", s.ID, want)
	}
	rs, err := s.Resolve(nil)
	if err != nil {
		t.Fatalf("resolve the registry schema: %v", err)
	}
	return rs
}

// validateServerJSON applies the registry schema to the document b.
func validateServerJSON(rs *jsonschema.Resolved, b []byte) error {
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	return rs.Validate(doc)
}

// checkRegistryMCPB applies the official registry's publication rules for
// an MCPB package, which its schema does not express: a fileSha256, no
// registryBaseUrl, an HTTPS GitHub release-asset URL containing "mcp"
// (github.com/modelcontextprotocol/registry, internal/validators/registries/mcpb.go).
func checkRegistryMCPB(identifier, registryBaseURL, fileSHA256 string) []string {
	var problems []string
	if !regexp.MustCompile(`^[a-f0-9]{64}$`).MatchString(fileSHA256) {
		problems = append(problems, fmt.Sprintf("fileSha256 %q: the registry requires the bundle's SHA-256 (64 lower-case hex digits)", fileSHA256))
	}
	if registryBaseURL != "" {
		problems = append(problems, "registryBaseUrl must be absent for mcpb")
	}
	u, err := url.Parse(identifier)
	if err != nil || u.Scheme != "https" || u.Host != "github.com" ||
		!regexp.MustCompile(`^/[^/]+/[^/]+/releases/download/[^/]+/[^/]+$`).MatchString(u.Path) {
		problems = append(problems, fmt.Sprintf("identifier %q is not an HTTPS GitHub release asset (/owner/repo/releases/download/tag/file)", identifier))
	}
	if !strings.Contains(strings.ToLower(identifier), "mcp") {
		problems = append(problems, fmt.Sprintf("identifier %q does not contain \"mcp\"", identifier))
	}
	return problems
}

// TestServerJSONSchema validates the repository's server.json against the
// registry's schema, and shows the validator refuses what the registry
// refuses (so a pass means something).
func TestServerJSONSchema(t *testing.T) {
	rs := registrySchema(t)
	b, err := os.ReadFile("server.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := validateServerJSON(rs, b); err != nil {
		t.Errorf("server.json does not follow the registry schema: %v", err)
	}
	// The repository's copy is not publishable as it is: the registry
	// wants the bundle's hash, which only the release knows.
	var s bundleServerJSON
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if problems := checkRegistryMCPB(s.Packages[0].Identifier, s.Packages[0].RegistryBaseURL, s.Packages[0].FileSHA256); len(problems) != 1 || !strings.Contains(problems[0], "fileSha256") {
		t.Errorf("registry rules on the repository's server.json: %q, want only the missing fileSha256", problems)
	}

	for _, tt := range []struct {
		name string
		edit func(map[string]any)
	}{
		{"no name", func(d map[string]any) { delete(d, "name") }},
		{"name without a namespace", func(d map[string]any) { d["name"] = "vsphere-mcp-pro" }},
		{"description over 100 characters", func(d map[string]any) { d["description"] = strings.Repeat("x", 101) }},
		{"package version latest", func(d map[string]any) {
			d["packages"].([]any)[0].(map[string]any)["version"] = "latest"
		}},
		{"bad fileSha256", func(d map[string]any) {
			d["packages"].([]any)[0].(map[string]any)["fileSha256"] = "ABC"
		}},
		{"package without transport", func(d map[string]any) {
			delete(d["packages"].([]any)[0].(map[string]any), "transport")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			tt.edit(doc)
			bad, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateServerJSON(rs, bad); err == nil {
				t.Errorf("the schema accepted server.json with %s", tt.name)
			}
		})
	}
}

// TestReleaseBundle inspects a bundle the release pipeline built
// (.ci/release.sh sets MCPB_BUNDLE, RELEASE_SERVER_JSON and
// RELEASE_VERSION after `goreleaser release --snapshot`): the manifest is
// the repository's with the release version; every platform's command is
// in the bundle and executable; the macOS file is universal (arm64 and
// amd64), the Linux launcher has an amd64 and an arm64 ELF beside it, the
// Windows file is an amd64 PE, each built by go1.26.10 for its platform
// with -trimpath and without cgo, carrying the release version; on this
// machine the unpacked bundle starts and lists every tool in single-user
// mode; and the stamped server.json follows the registry schema and rules
// and names this very file by URL and SHA-256.
func TestReleaseBundle(t *testing.T) {
	bundlePath, serverPath, version := os.Getenv("MCPB_BUNDLE"), os.Getenv("RELEASE_SERVER_JSON"), os.Getenv("RELEASE_VERSION")
	if bundlePath == "" {
		t.Skip("inspects a built bundle: set MCPB_BUNDLE, RELEASE_SERVER_JSON and RELEASE_VERSION (.ci/release.sh does)")
	}
	if serverPath == "" || version == "" {
		t.Fatal("MCPB_BUNDLE needs RELEASE_SERVER_JSON and RELEASE_VERSION")
	}
	const releaseGo = "go1.26.10"
	raw, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatalf("%s is not a zip: %v", bundlePath, err)
	}
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		entries[f.Name] = f
	}
	read := func(name string) []byte {
		t.Helper()
		f, ok := entries[name]
		if !ok {
			t.Fatalf("the bundle has no %s", name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	t.Run("manifest", func(t *testing.T) {
		var got, want map[string]any
		if err := json.Unmarshal(read("manifest.json"), &got); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join("mcpb", "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if got["version"] != version {
			t.Errorf("bundled manifest version %v, want %s", got["version"], version)
		}
		want["version"] = version
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("bundled manifest differs from mcpb/manifest.json beyond the version (-repo +bundle):\n%s", diff)
		}
	})

	// checkGo verifies what the go command recorded in one binary.
	checkGo := func(t *testing.T, name string, r io.ReaderAt, bin []byte, goos, goarch string) {
		t.Helper()
		bi, err := buildinfo.Read(r)
		if err != nil {
			t.Errorf("%s: no Go build info: %v", name, err)
			return
		}
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if bi.GoVersion != releaseGo || settings["GOOS"] != goos || settings["GOARCH"] != goarch ||
			settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
			t.Errorf("%s: built by %s for %s/%s (CGO_ENABLED=%s, -trimpath=%s); want %s, %s/%s, 0, true",
				name, bi.GoVersion, settings["GOOS"], settings["GOARCH"], settings["CGO_ENABLED"], settings["-trimpath"], releaseGo, goos, goarch)
		}
		if !bytes.Contains(bin, []byte(version)) {
			t.Errorf("%s does not carry the version %s (-ldflags -X main.version)", name, version)
		}
	}
	executable := func(t *testing.T, name string) {
		t.Helper()
		if f, ok := entries[name]; !ok || f.Mode()&0o111 == 0 {
			t.Errorf("%s is missing or not executable in the bundle", name)
		}
	}

	var m bundleManifest
	if err := json.Unmarshal(read("manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	for _, platform := range m.Compatibility.Platforms {
		command, _, _ := bundleCommand(m, platform)
		if file, _ := bundleFile(command, platform); entries[file] == nil {
			t.Errorf("%s runs %s, which is not in the bundle", platform, file)
		}
	}

	t.Run("darwin: one universal binary", func(t *testing.T) {
		name := bundleLayout["darwin"]
		executable(t, name)
		b := read(name)
		fat, err := macho.NewFatFile(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s is not a universal Mach-O file: %v", name, err)
		}
		var cpus []string
		for _, a := range fat.Arches {
			goarch := map[macho.Cpu]string{macho.CpuArm64: "arm64", macho.CpuAmd64: "amd64"}[a.Cpu]
			cpus = append(cpus, goarch)
			checkGo(t, name+" ("+a.Cpu.String()+")", io.NewSectionReader(bytes.NewReader(b), int64(a.Offset), int64(a.Size)),
				b[a.Offset:a.Offset+a.Size], "darwin", goarch)
		}
		sort.Strings(cpus)
		if !slices.Equal(cpus, []string{"amd64", "arm64"}) {
			t.Errorf("%s holds %v, want amd64 and arm64", name, cpus)
		}
	})

	t.Run("linux: launcher and two binaries", func(t *testing.T) {
		name := bundleLayout["linux"]
		executable(t, name)
		launcher, err := os.ReadFile(filepath.Join("mcpb", "linux-launcher.sh"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(read(name), launcher) {
			t.Errorf("%s is not mcpb/linux-launcher.sh", name)
		}
		for goarch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
			bin := "server/linux/" + goarch + "/vsphere-mcp-pro"
			executable(t, bin)
			b := read(bin)
			f, err := elf.NewFile(bytes.NewReader(b))
			if err != nil {
				t.Errorf("%s is not ELF: %v", bin, err)
				continue
			}
			if f.Machine != machine {
				t.Errorf("%s is for %v, want %v", bin, f.Machine, machine)
			}
			checkGo(t, bin, bytes.NewReader(b), b, "linux", goarch)
		}
	})

	t.Run("win32: amd64", func(t *testing.T) {
		name := bundleLayout["win32"]
		b := read(name)
		f, err := pe.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s is not a PE file: %v", name, err)
		}
		if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
			t.Errorf("%s is for machine %#x, want amd64", name, f.Machine)
		}
		checkGo(t, name, bytes.NewReader(b), b, "windows", "amd64")
	})

	t.Run("starts here", func(t *testing.T) {
		platform := hostPlatform()
		if platform == "win32" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
			t.Skipf("no bundled binary runs on %s/%s here", runtime.GOOS, runtime.GOARCH)
		}
		dir := t.TempDir()
		for _, f := range zr.File {
			if f.FileInfo().IsDir() {
				continue
			}
			dst := filepath.Join(dir, filepath.FromSlash(f.Name))
			if !strings.HasPrefix(dst, dir+string(filepath.Separator)) {
				t.Fatalf("bundle entry %q escapes the directory", f.Name)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, read(f.Name), f.Mode().Perm()); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		out, err := bundleLaunch(ctx, t, m, dir, map[string]any{"vcenter_host": "vcenter.invalid"}, "version").Output()
		if err != nil || !strings.Contains(string(out), "vsphere-mcp-pro "+version+" (commit ") || !strings.Contains(string(out), releaseGo+", "+runtime.GOOS+"/"+runtime.GOARCH) {
			t.Errorf("version through the bundle's %s command: %q (err %v), want %s built by %s for this machine", platform, out, err, version, releaseGo)
		}
		values := map[string]any{"vcenter_host": "vcenter.invalid", "vcenter_user": "svc-mcp@vsphere.local", "vcenter_password": "bundle-test-password"}
		if diff := cmp.Diff(catalogueNames(func(tools.Tool) bool { return true }), bundleTools(t, m, dir, values)); diff != "" {
			t.Errorf("tools/list of the unpacked bundle in single-user mode (-want +got):\n%s", diff)
		}
	})

	t.Run("server.json stamped for this bundle", func(t *testing.T) {
		b, err := os.ReadFile(serverPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := validateServerJSON(registrySchema(t), b); err != nil {
			t.Errorf("%s does not follow the registry schema: %v", serverPath, err)
		}
		var s bundleServerJSON
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Packages) != 1 {
			t.Fatalf("%d packages, want 1", len(s.Packages))
		}
		p := s.Packages[0]
		for _, problem := range checkRegistryMCPB(p.Identifier, p.RegistryBaseURL, p.FileSHA256) {
			t.Error(problem)
		}
		sum := sha256.Sum256(raw)
		if p.FileSHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("fileSha256 %s, but %s hashes to %x", p.FileSHA256, bundlePath, sum)
		}
		want := s.Repository.URL + "/releases/download/v" + version + "/" + filepath.Base(bundlePath)
		if p.Identifier != want || s.Version != version || p.Version != version {
			t.Errorf("identifier %s, version %s, package version %s; want %s and %s", p.Identifier, s.Version, p.Version, want, version)
		}
		for k, v := range s.Meta {
			if strings.Contains(string(v), "@v0.1.0") || !strings.Contains(string(v), "@v"+version) {
				t.Errorf("_meta.%s does not name v%s: %s", k, version, v)
			}
		}
	})
}
