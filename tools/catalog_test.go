package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

var update = flag.Bool("update", false, "rewrite the golden schema snapshots in testdata/toolsnaps")

// example returns a tool's example arguments (its spec's Example): valid
// arguments against the default simulator inventory, shared by every test
// that calls every tool.
func example(t testing.TB, tool Tool) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(tool.Example, &m); err != nil {
		t.Fatalf("%s: example %q: %v", tool.Def.Name, tool.Example, err)
	}
	return m
}

// catalog builds the catalogue with no live dependencies, for static checks.
func catalog() []Tool { return All(Deps{}) }

func TestCatalogueHygiene(t *testing.T) {
	name := regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)
	seen := map[string]bool{}
	for _, tool := range catalog() {
		d := tool.Def
		t.Run(d.Name, func(t *testing.T) {
			if !name.MatchString(d.Name) || seen[d.Name] {
				t.Errorf("name %q is malformed or repeated", d.Name)
			}
			seen[d.Name] = true
			a := d.Annotations
			if d.Title == "" || a == nil || a.DestructiveHint == nil || a.OpenWorldHint == nil {
				t.Fatalf("title or annotations missing: %+v", a)
			}
			if *a.OpenWorldHint {
				t.Error("openWorldHint is true; the tools reach only the allow-listed vCenters")
			}
			if a.ReadOnlyHint && (*a.DestructiveHint || !a.IdempotentHint) {
				t.Error("a read-only tool must be non-destructive and idempotent")
			}
			if a.ReadOnlyHint != (tool.Level == policy.LevelRead) {
				t.Errorf("readOnlyHint %v but level %v", a.ReadOnlyHint, tool.Level)
			}
			// The annotations follow from the kind alone (tools.go).
			if a.ReadOnlyHint != (tool.Kind == KindRead) || *a.DestructiveHint != (tool.Kind == KindDestructive) {
				t.Errorf("annotations %+v do not follow kind %s", a, tool.Kind)
			}
			// The confirmation rule (confirm.go): never on a read tool; a
			// confirm argument exactly when the flag is set (checked below);
			// independent of destructiveHint otherwise.
			if tool.Confirm && tool.Kind == KindRead {
				t.Error("a read tool needs no confirmation")
			}
			if tool.Toolset == "" || !slices.ContainsFunc(Toolsets(), func(ts ToolsetInfo) bool { return ts.Name == tool.Toolset }) {
				t.Errorf("toolset %q is not one of Toolsets()", tool.Toolset)
			}
			if !strings.Contains(strings.ToLower(d.Description), "inverse") && !a.ReadOnlyHint {
				t.Errorf("description does not name the inverse tool: %q", d.Description)
			}
			if len(d.Description) > 300 || strings.HasPrefix(d.Description, "This tool") {
				t.Errorf("description of %d bytes: keep to three sentences", len(d.Description))
			}
			in := schemaMap(t, d.InputSchema)
			for _, k := range []string{"anyOf", "oneOf", "allOf"} {
				if _, ok := in[k]; ok {
					t.Errorf("input schema has a top-level %s", k)
				}
			}
			props, _ := in["properties"].(map[string]any)
			_, hasConfirm := props["confirm"]
			if hasConfirm != tool.Confirm {
				t.Errorf("confirm argument present = %v, confirm flag = %v", hasConfirm, tool.Confirm)
			}
			// dry_run exactly where the spec says, and only on changes that
			// may run unconfirmed (the power and snapshot tools of the
			// default toolsets have none: the 16 kB budget).
			_, hasDryRun := props["dry_run"]
			if hasDryRun != tool.DryRun || tool.DryRun && (tool.Kind == KindRead || tool.Confirm && !tool.ConfirmIf) {
				t.Errorf("dry_run argument present = %v, DryRun = %v, for kind %s, confirm %v, confirm-if %v", hasDryRun, tool.DryRun, tool.Kind, tool.Confirm, tool.ConfirmIf)
			}
			walkSchema(schemaMap(t, d.OutputSchema), func(s map[string]any) {
				if types, ok := s["type"].([]any); ok {
					t.Errorf("output schema has a type union %v", types)
				}
			})
			walkSchema(in, func(s map[string]any) {
				if _, ok := s["type"].([]any); ok {
					t.Errorf("input schema has a type union %v", s["type"])
				}
			})
			if len(tool.Example) == 0 {
				t.Error("no Example in its spec: add one so the docs show it and the guard tests cover this tool")
			}
			if tool.Privileges.Calls == "" {
				t.Error("no Privileges.Calls in its spec: docs/privileges.md needs them")
			}
		})
	}
}

// TestEveryToolIsGuarded walks the whole catalogue: every tool the role may
// not call is refused and audited, every state-changing tool is hidden and
// refused in read-only mode, every tool with the confirm flag changes
// nothing without confirmation, and every call yields exactly one audit
// line.
func TestEveryToolIsGuarded(t *testing.T) {
	ctx := context.Background()
	t.Run("role", func(t *testing.T) {
		// A role with one tool (a role with none stops the server at start).
		s := newSession(t, withRole("nobody", `{"nobody": ["whoami"]}`), withToolsets("all"))
		for _, tool := range catalog() {
			if tool.Def.Name == "whoami" {
				continue
			}
			before := len(s.auditLines())
			s.sim.ResetCounters()
			res := s.call(tool.Def.Name, example(t, tool))
			lines := s.auditLines()
			if !res.IsError || len(lines) != before+1 || lines[len(lines)-1]["decision"] != "denied_role" {
				t.Errorf("%s: isError=%v, %d new audit lines, decision %v", tool.Def.Name, res.IsError, len(lines)-before, lines[len(lines)-1]["decision"])
			}
			if n := s.sim.Counters().Requests; n != 0 {
				t.Errorf("%s: %d vCenter requests for a refused call", tool.Def.Name, n)
			}
		}
	})
	t.Run("read-only", func(t *testing.T) {
		s := newSession(t, withRole("admin", ""), withReadOnly(), withToolsets("all"))
		listed := map[string]bool{}
		for tool, err := range s.cs.Tools(ctx, nil) {
			if err != nil {
				t.Fatal(err)
			}
			listed[tool.Name] = true
		}
		for _, tool := range catalog() {
			ro := tool.Def.Annotations.ReadOnlyHint
			if listed[tool.Def.Name] != ro {
				t.Errorf("%s: listed=%v in read-only mode, readOnlyHint=%v", tool.Def.Name, listed[tool.Def.Name], ro)
			}
			if ro {
				continue
			}
			before := len(s.auditLines())
			res := s.call(tool.Def.Name, example(t, tool))
			lines := s.auditLines()
			if !res.IsError || len(lines) != before+1 || lines[len(lines)-1]["decision"] != "denied_read_only" {
				t.Errorf("%s: isError=%v, %d new lines, decision %v", tool.Def.Name, res.IsError, len(lines)-before, lines[len(lines)-1]["decision"])
			}
		}
	})
	t.Run("confirmation and one audit line each", func(t *testing.T) {
		for _, tool := range catalog() {
			t.Run(tool.Def.Name, func(t *testing.T) {
				s := newSession(t, withRole("admin", ""), withToolsets("all"))
				before := simState(s)
				if tool.DryRun {
					// A dry run changes nothing and is audited as one.
					res := s.call(tool.Def.Name, with(example(t, tool), "dry_run", true))
					if res.IsError {
						t.Fatalf("dry run failed: %s", textOf(res))
					}
					if a := s.lastAudit(); a["decision"] != "dry_run" {
						t.Errorf("dry run audited as %v", a["decision"])
					}
					if diff := cmp.Diff(before, simState(s)); diff != "" {
						t.Errorf("a dry run changed the simulator:\n%s", diff)
					}
				}
				n := len(s.auditLines())
				res := s.call(tool.Def.Name, example(t, tool))
				if res.IsError {
					t.Fatalf("sample call failed: %s", textOf(res))
				}
				lines := s.auditLines()[n:]
				if len(lines) != 1 || lines[0]["tool"] != tool.Def.Name {
					t.Fatalf("%d audit lines, want 1", len(lines))
				}
				if !tool.Confirm {
					return
				}
				if lines[0]["decision"] != "needs_confirmation" {
					t.Errorf("decision %v, want needs_confirmation", lines[0]["decision"])
				}
				if diff := cmp.Diff(before, simState(s)); diff != "" {
					t.Errorf("the simulator changed without confirmation:\n%s", diff)
				}
				args := with(example(t, tool), "confirm", true)
				if res := s.call(tool.Def.Name, args); res.IsError {
					t.Fatalf("confirmed call failed: %s", textOf(res))
				}
				if reflect.DeepEqual(before, simState(s)) {
					t.Error("the confirmed call changed nothing in the simulator")
				}
			})
		}
	})
}

// state is what a change can alter in the simulator: VMs and templates,
// snapshots, hosts and tags.
type state struct {
	VMs, Templates []vcentersim.VM
	Snapshots      map[string][]vcentersim.Snapshot
	Hosts          []vcentersim.Host
	Tags           []vcentersim.Tag
}

func simState(s *session) state {
	st := state{VMs: s.sim.VMs(), Templates: s.sim.Templates(), Snapshots: map[string][]vcentersim.Snapshot{}, Hosts: s.sim.Hosts(), Tags: s.sim.Tags()}
	for _, v := range st.VMs {
		if sn := s.sim.Snapshots(v.ID); sn != nil {
			st.Snapshots[v.ID] = sn
		}
	}
	return st
}

// TestToolSnapshots compares every tool's definition, as tools/list shows
// it, with testdata/toolsnaps/<tool>.json (go test ./tools -update rewrites
// them). A missing snapshot fails, and so does a snapshot with no tool.
func TestToolSnapshots(t *testing.T) {
	s := newSession(t, withToolsets(policy.ToolsetsAll))
	dir := filepath.Join("..", "testdata", "toolsnaps")
	var total bytes.Buffer
	listed := map[string]bool{}
	res, err := s.cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewEncoder(&total).Encode(res); err != nil {
		t.Fatal(err)
	}
	if total.Len() > 40<<10 { // the default toolsets' 16 kB: TestToolsetBudgets
		t.Errorf("tools/list of every toolset is %d bytes, want at most 40 kB", total.Len())
	}
	t.Logf("tools/list: %d tools, %d bytes", len(res.Tools), total.Len())
	for _, tool := range res.Tools {
		listed[tool.Name] = true
		got, err := json.MarshalIndent(tool, "", "  ") // maps marshal with sorted keys
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		path := filepath.Join(dir, tool.Name+".json")
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: no snapshot (%v); run go test ./tools -update and review the diff", tool.Name, err)
			continue
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s changed (go test ./tools -update accepts it):\n%s", tool.Name, diff)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".json"); !listed[name] {
			t.Errorf("snapshot %s has no tool: delete it", f)
		}
	}
	if !slices.Equal(sortedKeys(listed), sortedKeys(toSet(catalog()))) {
		t.Error("tools/list differs from the catalogue")
	}
}

func schemaMap(t *testing.T, s any) map[string]any {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func walkSchema(s map[string]any, f func(map[string]any)) {
	f(s)
	if props, ok := s["properties"].(map[string]any); ok {
		for _, p := range props {
			if m, ok := p.(map[string]any); ok {
				walkSchema(m, f)
			}
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		walkSchema(items, f)
	}
}

func with(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{k: v}
	for kk, vv := range m {
		out[kk] = vv
	}
	return out
}

func toSet(c []Tool) map[string]bool {
	out := map[string]bool{}
	for _, t := range c {
		out[t.Def.Name] = true
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestHostnameArgument(t *testing.T) {
	for _, tool := range catalog() {
		if _, ok := tool.InputSchema().Properties["hostname"]; ok {
			t.Errorf("%s offers hostname with one vCenter", tool.Def.Name)
		}
	}
	hosts := []string{"vc1.example.com:443", "vc2.example.com:443"}
	for _, tool := range All(Deps{Hosts: hosts}) {
		p := tool.InputSchema().Properties["hostname"]
		if tool.Def.Name == "whoami" {
			continue
		}
		if p == nil || !reflect.DeepEqual(p.Enum, []any{hosts[0], hosts[1]}) {
			t.Errorf("%s: hostname = %+v, want an enum of the allowed hosts", tool.Def.Name, p)
		}
	}
}

func TestUnknownArgumentsAreRefused(t *testing.T) {
	s := newSession(t)
	msg := s.fails("delete_vm", map[string]any{"vm_name": "backup-01", "confrim": true})
	if !strings.Contains(msg, `unknown argument "confrim"`) || !strings.Contains(msg, "confirm, vm_id, vm_name") {
		t.Errorf("refusal: %q", msg)
	}
	if _, ok := s.sim.VM("vm-82"); !ok {
		t.Fatal("deleted")
	}
	if a := s.lastAudit(); a["decision"] != "invalid_args" {
		t.Errorf("audit decision %v", a["decision"])
	}
	if msg := s.fails("whoami", map[string]any{"x": 1}); !strings.Contains(msg, "takes none") {
		t.Errorf("whoami with an argument: %q", msg)
	}
}
