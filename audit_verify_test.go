package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditVerifyCommand writes a real audit log through the server, then
// checks `audit verify` on it intact and after an edit, a deletion and a
// swap of two lines.
func TestAuditVerifyCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	env := []string{"AUDIT_LOG_PATH=" + path, "RATE_LIMIT=false"}
	for _, args := range [][]string{
		{"--simulate", "call", "list_datacenters"},
		{"--simulate", "call", "power_on_vm", `{"vm_name":"web-04"}`},
		{"--simulate", "call", "delete_vm", `{"vm_name":"backup-01"}`},
		{"--simulate", "call", "list_vms", `{"limit":2}`},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, env, strings.NewReader(""), &out, &errb); code != exitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, errb.String())
		}
	}
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(orig), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want a header and 4 records", len(lines))
	}
	verify := func(content string) (int, string) {
		p := filepath.Join(t.TempDir(), "copy.jsonl")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"audit", "verify", p}, nil, strings.NewReader(""), &out, &errb)
		return code, out.String() + errb.String()
	}
	ensureNL := func(s string) string {
		if !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		return s
	}
	if code, out := verify(string(orig)); code != exitOK || !strings.Contains(out, "OK, 5 lines, chain intact") || !strings.Contains(out, "last hash ") {
		t.Errorf("intact log: exit %d\n%s", code, out)
	}
	edited := strings.Replace(string(orig), `"tool":"power_on_vm"`, `"tool":"list_hosts"`, 1)
	deleted := lines[0] + lines[1] + lines[3] + ensureNL(lines[4])
	swapped := lines[0] + lines[1] + lines[3] + lines[2] + ensureNL(lines[4])
	for _, tt := range []struct{ name, content, want string }{
		{"edited", edited, "line 3: edited"},
		{"deleted", deleted, "line 3: missing"},
		{"reordered", swapped, "reordered"},
	} {
		code, out := verify(tt.content)
		if code != exitFailed || !strings.Contains(out, "BROKEN at "+tt.want) && !strings.Contains(out, tt.want) {
			t.Errorf("%s: exit %d, want 1 and %q:\n%s", tt.name, code, tt.want, out)
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"audit", "check", path}, nil, strings.NewReader(""), &out, &errb); code != exitUsage {
		t.Errorf("usage error: exit %d", code)
	}
	if code := run(context.Background(), []string{"audit", "verify", path + ".missing"}, nil, strings.NewReader(""), &out, &errb); code != exitUsage {
		t.Errorf("missing file: exit %d", code)
	}
}
