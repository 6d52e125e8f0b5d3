package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/tools"
)

// The client guides (docs/clients) and the README give the same
// configurations several ways: a JSON snippet, a one-click link, a command.
// These tests decode every link and command, check each against the
// snippet it stands for, check that the README's snippets are the guides'
// ones, and start the binary with every first-run configuration.

// clientServer is one MCP server entry as clients write it.
type clientServer struct {
	Type    string            `json:"type,omitempty"`
	Command string            `json:"command"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
}

// vscodeServer is what `code --add-mcp` and vscode:mcp/install take: the
// entry, its name and the inputs it prompts for.
type vscodeServer struct {
	Name    string            `json:"name"`
	Type    string            `json:"type,omitempty"`
	Command string            `json:"command"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	Inputs  []vscodeInput     `json:"inputs,omitempty"`
}

// entry is the server entry of s, as mcp.json holds it.
func (s vscodeServer) entry() clientServer {
	return clientServer{Type: s.Type, Command: s.Command, Args: s.Args, Env: s.Env}
}

// vscodeInput is a value VS Code prompts for (${input:ID}).
type vscodeInput struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	Description string `json:"description"`
	Password    bool   `json:"password,omitempty"`
}

var (
	snippetRe    = regexp.MustCompile("(?s)<!-- snippet: ([a-z0-9-]+) -->\n```[a-z]*\n(.*?)```")
	vscodeLinkRe = regexp.MustCompile(`\]\((vscode:mcp/install\?[^)\s]+)\)`)
	cursorLinkRe = regexp.MustCompile(`\]\((cursor://anysphere\.cursor-deeplink/mcp/install\?[^)\s]+)\)`)
	addMCPRe     = regexp.MustCompile(`code --add-mcp '([^']+)'`)
)

// snippets returns the marked code blocks of the markdown files, by name.
func snippets(t *testing.T, files ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range snippetRe.FindAllStringSubmatch(string(b), -1) {
			if _, dup := out[m[1]]; dup {
				t.Errorf("%s: snippet %s is defined twice", f, m[1])
			}
			out[m[1]] = m[2]
		}
	}
	return out
}

func guideFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("docs", "clients", "*.md"))
	if err != nil || len(files) < 5 {
		t.Fatalf("docs/clients has %d guides (err %v), want the index and four clients", len(files), err)
	}
	return files
}

func readGuide(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("docs", "clients", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// strictJSON decodes s into v, refusing unknown fields and trailing data.
func strictJSON(t *testing.T, what, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, s)
	}
	if dec.More() {
		t.Fatalf("%s: more than one JSON value\n%s", what, s)
	}
}

// serverEntry decodes a config snippet ({"mcpServers"|"servers": {"vsphere": …}}).
func serverEntry(t *testing.T, name, snippet, key string) clientServer {
	t.Helper()
	var doc map[string]map[string]clientServer
	strictJSON(t, "snippet "+name, snippet, &doc)
	entry, ok := doc[key]["vsphere"]
	if len(doc) != 1 || !ok {
		t.Fatalf("snippet %s: want {%q: {\"vsphere\": …}}, got %s", name, key, snippet)
	}
	return entry
}

// checkEnv fails on a variable the server does not read.
func checkEnv(t *testing.T, what string, env map[string]string) {
	t.Helper()
	vars := configVars(t)
	for name := range env {
		if _, ok := vars[name]; !ok {
			t.Errorf("%s sets %s, which is not a configuration variable", what, name)
		}
	}
}

func TestClientGuides(t *testing.T) {
	guides := snippets(t, guideFiles(t)...)

	t.Run("README snippets are the guides'", func(t *testing.T) {
		readme := snippets(t, "README.md")
		if len(readme) < 4 {
			t.Fatalf("README has %d marked snippets, want one per client", len(readme))
		}
		for name, body := range readme {
			if g, ok := guides[name]; !ok || g != body {
				t.Errorf("README snippet %s differs from docs/clients (or is not there):\nREADME:\n%s\nguide:\n%s", name, body, g)
			}
		}
		b, err := os.ReadFile("README.md")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range guideFiles(t) {
			if !strings.Contains(string(b), filepath.ToSlash(f)) {
				t.Errorf("README does not link %s", filepath.ToSlash(f))
			}
		}
	})

	t.Run("VS Code links and --add-mcp", func(t *testing.T) {
		guide := readGuide(t, "vscode.md")
		links := vscodeLinkRe.FindAllStringSubmatch(guide, -1)
		adds := addMCPRe.FindAllStringSubmatch(guide, -1)
		if len(links) != 2 || len(adds) != 2 {
			t.Fatalf("vscode.md has %d install links and %d --add-mcp commands, want 2 of each (simulated, vCenter)", len(links), len(adds))
		}
		for i, want := range []string{"vscode-add-simulate", "vscode-add-vcenter"} {
			raw, ok := strings.CutPrefix(links[i][1], "vscode:mcp/install?")
			if !ok {
				t.Fatalf("link %q", links[i][1])
			}
			decoded, err := url.QueryUnescape(raw)
			if err != nil {
				t.Fatalf("link %d does not URL-decode: %v", i, err)
			}
			var fromLink, fromCommand vscodeServer
			strictJSON(t, "vscode:mcp/install link", decoded, &fromLink)
			strictJSON(t, "code --add-mcp", adds[i][1], &fromCommand)
			if diff := cmp.Diff(fromCommand, fromLink); diff != "" {
				t.Errorf("link %d and `code --add-mcp` differ (-command +link):\n%s", i, diff)
			}
			if snippet := strings.TrimSpace(guides[want]); snippet != "code --add-mcp '"+adds[i][1]+"'" {
				t.Errorf("snippet %s is not the command beside link %d: %q", want, i, snippet)
			}
			if fromLink.Name != "vsphere" || fromLink.Type != "stdio" || fromLink.Command != "vsphere-mcp-pro" {
				t.Errorf("link %d: name %q, type %q, command %q; want vsphere, stdio, vsphere-mcp-pro", i, fromLink.Name, fromLink.Type, fromLink.Command)
			}
			checkEnv(t, "VS Code link", fromLink.Env)
			for name, value := range fromLink.Env {
				for _, m := range regexp.MustCompile(`\$\{input:([^}]+)\}`).FindAllStringSubmatch(value, -1) {
					if !slices.ContainsFunc(fromLink.Inputs, func(in vscodeInput) bool {
						return in.ID == m[1] && in.Type == "promptString" && (name != "VCENTER_PASSWORD" || in.Password)
					}) {
						t.Errorf("link %d: %s uses input %s, which is not declared (a password input must be a password)", i, name, m[1])
					}
				}
			}
		}
		// The first link is the README's VS Code configuration.
		var first vscodeServer
		decoded, _ := url.QueryUnescape(strings.TrimPrefix(links[0][1], "vscode:mcp/install?"))
		strictJSON(t, "link", decoded, &first)
		if diff := cmp.Diff(serverEntry(t, "vscode-simulate", guides["vscode-simulate"], "servers"), first.entry()); diff != "" {
			t.Errorf("the simulated-vCenter link differs from the mcp.json snippet (-snippet +link):\n%s", diff)
		}
	})

	t.Run("Cursor deeplinks", func(t *testing.T) {
		guide := readGuide(t, "cursor.md")
		links := cursorLinkRe.FindAllStringSubmatch(guide, -1)
		if len(links) != 2 {
			t.Fatalf("cursor.md has %d install links, want 2", len(links))
		}
		for i, want := range []string{"cursor-simulate", "cursor-vcenter"} {
			u, err := url.Parse(links[i][1])
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			config, err := base64.StdEncoding.DecodeString(q.Get("config"))
			if err != nil {
				t.Fatalf("link %d: config is not base64: %v", i, err)
			}
			if q.Get("name") != "vsphere" || len(q) != 2 {
				t.Errorf("link %d: query %v, want name=vsphere and config", i, q)
			}
			var fromLink clientServer
			strictJSON(t, "Cursor config", string(config), &fromLink)
			if diff := cmp.Diff(serverEntry(t, want, guides[want], "mcpServers"), fromLink); diff != "" {
				t.Errorf("link %d differs from snippet %s (-snippet +link):\n%s", i, want, diff)
			}
			checkEnv(t, "Cursor link", fromLink.Env)
		}
	})

	t.Run("Claude Code commands", func(t *testing.T) {
		for _, name := range []string{"claude-code-simulate", "claude-code-vcenter"} {
			words := strings.Fields(strings.ReplaceAll(guides[name], "\\\n", " "))
			dash := slices.Index(words, "--")
			if len(words) < 5 || !slices.Equal(words[:4], []string{"claude", "mcp", "add", "vsphere"}) || dash < 0 || words[dash+1] != "vsphere-mcp-pro" {
				t.Errorf("snippet %s is not `claude mcp add vsphere … -- vsphere-mcp-pro …`: %q", name, guides[name])
				continue
			}
			env := map[string]string{}
			for i := 4; i < dash; i++ {
				switch words[i] {
				case "-e", "--env":
					k, v, _ := strings.Cut(words[i+1], "=")
					env[k] = v
					i++
				case "--scope", "-s":
					i++
				default:
					t.Errorf("snippet %s: unexpected option %q", name, words[i])
				}
			}
			checkEnv(t, name, env)
		}
	})

	t.Run("every configuration is single-user and names real variables", func(t *testing.T) {
		for name, body := range guides {
			if !strings.HasSuffix(name, "-vcenter") || strings.HasPrefix(name, "claude-code") || strings.HasPrefix(name, "vscode-add") {
				continue
			}
			key := "mcpServers"
			entry := serverEntry(t, name, body, key)
			checkEnv(t, name, entry.Env)
			if entry.Env["AUTH_ENFORCE"] != "false" || entry.Env["VCENTER_HOST"] == "" {
				t.Errorf("snippet %s: want VCENTER_HOST and AUTH_ENFORCE=false (single-user), got %v", name, entry.Env)
			}
		}
	})
}

// TestClientGuideFirstRuns starts the binary with the first-run
// configuration of every guide (the command replaced by the binary built
// here, exactly its args and env) and lists the tools, as the client would.
func TestClientGuideFirstRuns(t *testing.T) {
	guides := snippets(t, guideFiles(t)...)
	bin := builtBinary(t)
	var all []string
	for _, tool := range tools.All(tools.Deps{}) {
		all = append(all, tool.Def.Name)
	}
	sort.Strings(all)

	firstRuns := map[string]clientServer{
		"claude-desktop-simulate":         serverEntry(t, "claude-desktop-simulate", guides["claude-desktop-simulate"], "mcpServers"),
		"claude-desktop-simulate-windows": serverEntry(t, "claude-desktop-simulate-windows", guides["claude-desktop-simulate-windows"], "mcpServers"),
		"vscode-simulate":                 serverEntry(t, "vscode-simulate", guides["vscode-simulate"], "servers"),
		"cursor-simulate":                 serverEntry(t, "cursor-simulate", guides["cursor-simulate"], "mcpServers"),
	}
	words := strings.Fields(guides["claude-code-simulate"])
	dash := slices.Index(words, "--")
	firstRuns["claude-code-simulate"] = clientServer{Command: words[dash+1], Args: words[dash+2:]}

	for name, entry := range firstRuns {
		t.Run(name, func(t *testing.T) {
			if base := filepath.Base(strings.ReplaceAll(entry.Command, `\`, "/")); base != "vsphere-mcp-pro" && base != "vsphere-mcp-pro.exe" {
				t.Fatalf("command %q does not run vsphere-mcp-pro", entry.Command)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, entry.Args...)
			cmd.Env = []string{"HOME=" + t.TempDir()}
			for k, v := range entry.Env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			session, err := mcp.NewClient(&mcp.Implementation{Name: "guide-test", Version: "0"}, nil).
				Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
			if err != nil {
				t.Fatalf("connect: %v\nstderr:\n%s", err, stderr.String())
			}
			defer session.Close()
			var got []string
			for tool, err := range session.Tools(ctx, nil) {
				if err != nil {
					t.Fatalf("tools/list: %v", err)
				}
				got = append(got, tool.Name)
			}
			sort.Strings(got)
			if diff := cmp.Diff(all, got); diff != "" {
				t.Errorf("tools/list (-want +got):\n%s", diff)
			}
			// The guides' first question.
			res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "list_vms",
				Arguments: map[string]any{"clusters": []string{"Prod-Cluster"}, "power_states": []string{"POWERED_OFF"}}})
			if err != nil || res.IsError {
				t.Fatalf("list_vms: %v %v", err, res)
			}
			text := fmt.Sprint(res.StructuredContent)
			for _, vm := range []string{"backup-01", "web-04"} {
				if !strings.Contains(text, vm) {
					t.Errorf("the first question's answer lacks %s: %s", vm, text)
				}
			}
		})
	}
}

// TestChangelog keeps CHANGELOG.md releasable: an Unreleased section, and
// the newest release heading is the version the bundle and server.json
// carry, with a link for each heading.
func TestChangelog(t *testing.T) {
	b, err := os.ReadFile("CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	headings := regexp.MustCompile(`(?m)^## \[([^\]]+)\]`).FindAllStringSubmatch(string(b), -1)
	if len(headings) < 2 || headings[0][1] != "Unreleased" {
		t.Fatalf("CHANGELOG.md headings %v: want [Unreleased] first, then the releases", headings)
	}
	var m bundleManifest
	readBundleJSON(t, filepath.Join("mcpb", "manifest.json"), &m)
	if headings[1][1] != m.Version {
		t.Errorf("newest release in CHANGELOG.md is %s, the bundle says %s", headings[1][1], m.Version)
	}
	for _, h := range headings {
		if !regexp.MustCompile(`(?m)^\[` + regexp.QuoteMeta(h[1]) + `\]: https://`).Match(b) {
			t.Errorf("CHANGELOG.md has no link for [%s]", h[1])
		}
	}
}
