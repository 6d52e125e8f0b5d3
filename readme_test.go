package main

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/config"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/tools"
)

// TestReadmeIsTrue keeps the README's tables in step with the code: every
// tool of the catalogue has a row in the tool table, every configuration
// variable a row in the configuration table, and the two set-up commands
// are there.
func TestReadmeIsTrue(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, cmd := range []string{"go run . --simulate call list_vms", "go test ./..."} {
		if !strings.Contains(readme, cmd) {
			t.Errorf("README lacks the set-up command %q", cmd)
		}
	}
	for _, tool := range tools.All(tools.Deps{}) {
		if !strings.Contains(readme, "| `"+tool.Def.Name+"` |") {
			t.Errorf("README's tool table has no row for %s", tool.Def.Name)
		}
	}
	ct := reflect.TypeFor[config.Env]()
	for i := range ct.NumField() {
		name, _, _ := strings.Cut(ct.Field(i).Tag.Get("env"), ",")
		if !strings.Contains(readme, "| `"+name+"` |") {
			t.Errorf("README's configuration table has no row for %s", name)
		}
	}
}
