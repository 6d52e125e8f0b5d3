package main

// The distribution metadata must stay true to the code: mcpb/manifest.json
// (the Claude Desktop one-click bundle, MCPB manifest 0.3) and server.json
// (the official MCP Registry, schema 2025-12-11) are checked here against
// the tool catalogue, the golden schemas in testdata/toolsnaps and the
// configuration struct. The full JSON Schemas are applied by the vendors'
// own validators in .ci/release.sh (mcpb validate); these tests hold what a
// schema cannot say.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
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
			Command string            `json:"command"`
			Args    []string          `json:"args"`
			Env     map[string]string `json:"env"`
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
		if s.Type != "binary" || s.EntryPoint != "server/vsphere-mcp-pro" {
			t.Errorf("server type %q, entry_point %q: want binary, server/vsphere-mcp-pro", s.Type, s.EntryPoint)
		}
		// Clients append .exe on Windows; ${__dirname} is the unpacked bundle.
		if want := "${__dirname}/" + s.EntryPoint; s.MCPConfig.Command != want {
			t.Errorf("mcp_config.command %q, want %q", s.MCPConfig.Command, want)
		}
		for _, a := range s.MCPConfig.Args {
			if a == "--simulate" {
				t.Errorf("mcp_config.args has --simulate: the bundle must reach the user's vCenter")
			}
		}
		for _, p := range m.Compatibility.Platforms {
			if !slices.Contains([]string{"darwin", "win32", "linux"}, p) {
				t.Errorf("compatibility.platforms has %q", p)
			}
		}
	})

	t.Run("user_config", func(t *testing.T) {
		vars := configVars(t)
		used := map[string]bool{}
		for name, value := range m.Server.MCPConfig.Env {
			secretVar, ok := vars[name]
			if !ok {
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
	// The registry's MCPB rules: a GitHub release asset over HTTPS whose URL
	// contains "mcp", no registryBaseUrl, and a SHA-256 of the file, which is
	// known only once the release is built: .ci/release.sh shows how it is
	// stamped. In the repository it is absent, so publishing the unstamped
	// file fails instead of sending a wrong hash to clients.
	if p.RegistryType != "mcpb" || p.Transport.Type != "stdio" || p.RegistryBaseURL != "" {
		t.Errorf("package %s over %s (registryBaseUrl %q): want mcpb over stdio without registryBaseUrl",
			p.RegistryType, p.Transport.Type, p.RegistryBaseURL)
	}
	assetRe := regexp.MustCompile(`^` + regexp.QuoteMeta(repoURL) + `/releases/download/v` +
		regexp.QuoteMeta(s.Version) + `/[A-Za-z0-9._-]+\.mcpb$`)
	if !assetRe.MatchString(p.Identifier) || !strings.Contains(p.Identifier, "mcp") {
		t.Errorf("identifier %q: want a release asset of v%s of %s ending in .mcpb", p.Identifier, s.Version, repoURL)
	}
	if p.Version != "" && p.Version != s.Version {
		t.Errorf("package version %q, server version %q", p.Version, s.Version)
	}
	if p.FileSHA256 != "" && !regexp.MustCompile(`^[a-f0-9]{64}$`).MatchString(p.FileSHA256) {
		t.Errorf("fileSha256 %q is not 64 lower-case hex digits", p.FileSHA256)
	}

	vars := configVars(t)
	var names []string
	for _, e := range p.EnvironmentVariables {
		names = append(names, e.Name)
		secretVar, ok := vars[e.Name]
		if !ok {
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

// TestBundleLaunch starts the built binary the way Claude Desktop starts
// the bundle: the manifest's command and env with ${__dirname} and every
// ${user_config.KEY} substituted (blank optional options by their
// defaults), and nothing else in the environment. It checks the role the
// token resolves to, the read-only switch, that a bundle without a token
// fails at once with a message naming the variable, and that the password
// never reaches stderr. No vCenter is contacted: listing tools needs none.
func TestBundleLaunch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	var m bundleManifest
	readBundleJSON(t, filepath.Join("mcpb", "manifest.json"), &m)

	dir := t.TempDir()
	bin := filepath.Join(dir, filepath.FromSlash(m.Server.EntryPoint))
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	const token, password = "bundle-test-token", "bundle-test-password"
	sum := sha256.Sum256([]byte(token))
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	doc := fmt.Sprintf(`{"tokens_to_roles": {"sha256:%s": "ops"}}`, hex.EncodeToString(sum[:]))
	if err := os.WriteFile(policyFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}

	// launch substitutes the manifest as the client does; values holds what
	// the user typed, keyed by user_config key.
	launch := func(ctx context.Context, values map[string]any) *exec.Cmd {
		t.Helper()
		env := []string{}
		for name, tmpl := range m.Server.MCPConfig.Env {
			v := userConfigRefRe.ReplaceAllStringFunc(tmpl, func(ref string) string {
				key := userConfigRefRe.FindStringSubmatch(ref)[1]
				val, ok := values[key]
				if !ok {
					val = m.UserConfig[key].Default
				}
				if val == nil {
					t.Fatalf("user_config.%s has no value and no default", key)
				}
				return fmt.Sprint(val) // booleans become "true" / "false"
			})
			env = append(env, name+"="+v)
		}
		if root := os.Getenv("SYSTEMROOT"); root != "" { // Windows needs it for networking
			env = append(env, "SYSTEMROOT="+root)
		}
		command := strings.ReplaceAll(m.Server.MCPConfig.Command, "${__dirname}", dir)
		if runtime.GOOS == "windows" {
			command += ".exe"
		}
		cmd := exec.CommandContext(ctx, filepath.FromSlash(command), m.Server.MCPConfig.Args...)
		cmd.Env = env
		return cmd
	}

	catalogue := tools.All(tools.Deps{})
	byDefault := map[tools.Toolset]bool{} // the bundle sets no toolsets
	for _, ts := range tools.Toolsets() {
		byDefault[ts.Name] = ts.Default || ts.Always
	}
	want := func(keep func(tools.Tool) bool) []string {
		var names []string
		for _, tool := range catalogue {
			if keep(tool) && byDefault[tool.Toolset] {
				names = append(names, tool.Def.Name)
			}
		}
		sort.Strings(names)
		return names
	}

	for _, tt := range []struct {
		name   string
		values map[string]any
		want   []string
	}{
		{
			name:   "token with the ops role",
			values: map[string]any{"vcenter_host": "vcenter.invalid", "vcenter_user": "svc-mcp@vsphere.local", "vcenter_password": password, "mcp_token": token, "policy_file": policyFile},
			want:   want(func(tool tools.Tool) bool { return tool.Level <= policy.LevelOps }),
		},
		{
			name: "read-only",
			values: map[string]any{"vcenter_host": "vcenter.invalid", "vcenter_user": "svc-mcp@vsphere.local", "vcenter_password": password, "mcp_token": token,
				"policy_file": policyFile, "read_only": true},
			want: want(func(tool tools.Tool) bool { return tool.Def.Annotations.ReadOnlyHint }),
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := launch(ctx, tt.values)
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
			sort.Strings(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("tools/list (-want +got):\n%s", diff)
			}
			if strings.Contains(stderr.String(), password) {
				t.Errorf("stderr shows the password:\n%s", stderr.String())
			}
		})
	}

	t.Run("no token fails fast", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		cmd := launch(ctx, map[string]any{"vcenter_host": "vcenter.invalid", "vcenter_password": password})
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
