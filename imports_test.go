package main

import (
	"go/build"
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
			[]string{"github.com/hashicorp/go-retryablehttp", "github.com/rs/zerolog"},
			"vcenter speaks HTTP to vCenter and knows nothing of MCP, roles or audit",
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
			[]string{"golang.org/x/sys/windows"},
			"audit records and knows nothing of MCP, HTTP, vCenter or policy",
		},
		"doctor": {
			[]string{module + "/vcenter", module + "/policy", module + "/audit"},
			"doctor diagnoses through vcenter, policy and audit and knows nothing of MCP",
		},
		"tools": {
			[]string{"github.com/modelcontextprotocol/go-sdk", "github.com/google/jsonschema-go", "github.com/rs/zerolog",
				module + "/vcenter", module + "/policy", module + "/audit"},
			"tools is the MCP layer over vcenter, policy and audit; it does not reach the simulator",
		},
	}
	for dir, rule := range rules {
		pkg, err := build.ImportDir(filepath.FromSlash(dir), 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, imp := range pkg.Imports {
			if isStdlib(imp) {
				if strings.HasPrefix(dir, "policy") || strings.HasPrefix(dir, "audit") {
					if imp == "net/http" || strings.HasPrefix(imp, "net/http/") {
						t.Errorf("%s imports %s: %s", dir, imp, rule.why)
					}
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
