package main

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportDirections enforces the package map of STYLE.md: only main and
// tools know MCP; vcenter knows nothing of MCP, policy or audit; policy and
// audit are pure; the simulator imports nothing of this project, so a
// client bug cannot be mirrored into the stand-in. Test files are exempt.
func TestImportDirections(t *testing.T) {
	const module = "github.com/vsphere-mcp-pro/vsphere-mcp-pro"
	rules := map[string]struct {
		allowed []string // import path prefixes allowed besides the standard library
		why     string
	}{
		"vcenter": {
			[]string{"github.com/hashicorp/go-retryablehttp", "github.com/rs/zerolog", "golang.org/x/sync/singleflight", module + "/redact", module + "/stacks"},
			"vcenter speaks HTTP to vCenter and knows nothing of MCP, roles or audit (it shares the process's one scrubber; concurrent cache fills share one request through singleflight)",
		},
		"vcenter/vcentersim": {
			nil,
			"the simulator follows the contract, not the client: it imports only the standard library",
		},
		"policy": {
			[]string{"golang.org/x/time/rate"},
			"policy makes pure decisions: no HTTP, no vCenter, no MCP, no audit",
		},
		"audit": {
			[]string{"golang.org/x/sys/windows", module + "/redact"},
			"audit records and knows nothing of MCP, HTTP, vCenter or policy",
		},
		"stacks": {
			nil,
			"stacks only runs functions on goroutines with grown stacks; tools and vcenter use it, so it imports only the standard library",
		},
		"redact": {
			nil,
			"redact owns the process's secrets and removing them from text; every package may use it, so it imports only the standard library",
		},
		"doctor": {
			[]string{module + "/vcenter", module + "/policy", module + "/audit"},
			"doctor diagnoses through vcenter, policy and audit and knows nothing of MCP",
		},
		"config": {
			[]string{"github.com/caarlos0/env/v11", "github.com/rs/zerolog", module + "/vcenter", module + "/policy", module + "/audit", module + "/redact", module + "/state"},
			"config reads the command line and the environment with the parsers of the packages that own each format; it knows nothing of MCP",
		},
		"tools": {
			[]string{"github.com/modelcontextprotocol/go-sdk", "github.com/google/jsonschema-go", "github.com/rs/zerolog",
				module + "/vcenter", module + "/policy", module + "/audit", module + "/redact", module + "/stacks"},
			"tools is the catalogue and the MCP adapter over vcenter, policy and audit; it does not reach the simulator, the transports or main's configuration",
		},
		"state": {
			[]string{"github.com/redis/go-redis/v9", "github.com/go-redis/redis_rate/v10", "github.com/rs/zerolog", module + "/policy"},
			"state keeps what replicas share (policy's buckets and nonces) in Redis; it knows nothing of MCP, HTTP or vCenter, and decides nothing",
		},
		"metrics": {
			[]string{"github.com/VictoriaMetrics/metrics", "github.com/rs/zerolog"},
			"metrics owns the Prometheus exposition and its closed label sets; the packages that observe reach it through their own hooks, so it imports none of them",
		},
		"tools/transport": {
			[]string{"github.com/modelcontextprotocol/go-sdk", "github.com/rs/zerolog",
				module + "/tools", module + "/policy", module + "/audit", module + "/vcenter", module + "/config"},
			"the transports carry MCP to the tools' server and reach the middleware only through its exported API; they decide nothing (policy does)",
		},
	}
	// Every package of the module has a rule, so a new one cannot slip in
	// unchecked; main (the root) may import anything.
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || path == "." {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "docs" || d.Name() == "bin" || d.Name() == "dist" {
			return filepath.SkipDir
		}
		if _, err := build.ImportDir(path, 0); err == nil {
			if _, ok := rules[filepath.ToSlash(path)]; !ok {
				t.Errorf("package %s has no import rule: add one to this test and to STYLE.md's package map", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir, rule := range rules {
		pkg, err := build.ImportDir(filepath.FromSlash(dir), 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, imp := range pkg.Imports {
			if isStdlib(imp) {
				if strings.HasPrefix(dir, "policy") || strings.HasPrefix(dir, "audit") || dir == "redact" || dir == "state" {
					if imp == "net/http" || strings.HasPrefix(imp, "net/http/") {
						t.Errorf("%s imports %s: %s", dir, imp, rule.why)
					}
				}
				if dir == "policy" && (imp == "net" || strings.HasPrefix(imp, "net/")) {
					// The shared store is reached through policy's Buckets and
					// Nonces, implemented by package state.
					t.Errorf("%s imports %s: %s", dir, imp, rule.why)
				}
				continue
			}
			ok := false
			for _, a := range rule.allowed {
				if imp == a || strings.HasPrefix(imp, a+"/") {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s imports %s: %s (allowed: standard library, %s). If the rule is wrong, change STYLE.md and this test together",
					dir, imp, rule.why, strings.Join(rule.allowed, ", "))
			}
		}
	}
}

func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// TestDecisionsComeFromPolicy: every decision value of the audit log is
// produced by policy.Decide. No code outside package policy (tests aside)
// names a decision constant, so none can make a decision of its own; the MCP
// layer only reads Verdict.Decision and Verdict.Allowed().
func TestDecisionsComeFromPolicy(t *testing.T) {
	decisions := map[string]bool{}
	pkg, err := build.ImportDir("policy", 0)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(pkg.Dir, "decision.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "Decision" {
				for _, name := range vs.Names {
					decisions[name.Name] = true
				}
			}
		}
		return true
	})
	if len(decisions) < 8 {
		t.Fatalf("found %d decision constants in policy/decision.go, want the whole vocabulary", len(decisions))
	}
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata" || path == "policy") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "policy" && decisions[sel.Sel.Name] {
				t.Errorf("%s: names policy.%s: decisions come from policy.Decide only", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStartupDependencies: the binary links no package whose initialisation
// was measured to cost every start, stdio included (BENCHMARKS.md, "Cold
// start"): Prometheus's client (its default registry builds the Go and
// process collectors at init), procfs and protobuf under it. The metrics
// endpoint is served without them (package metrics).
func TestStartupDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/prometheus/", "google.golang.org/protobuf/"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("the binary links %s: its package initialisation runs at every start", dep)
			}
		}
	}
}
