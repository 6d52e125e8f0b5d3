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
	// A header, the read's record, then a begin and an outcome line for each
	// state-changing call (the delete_vm preview too), then the read.
	if len(lines) != 7 || !strings.Contains(lines[2], `"phase":"begin"`) || !strings.Contains(lines[3], `"phase":"end"`) {
		t.Fatalf("%d lines, want a header, 1 + 2 + 2 + 1 records:\n%s", len(lines), orig)
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
	if code, out := verify(string(orig)); code != exitOK || !strings.Contains(out, "OK, 7 lines (6 records), chain intact") || !strings.Contains(out, "last hash ") {
		t.Errorf("intact log: exit %d\n%s", code, out)
	}
	edited := strings.Replace(string(orig), `"tool":"power_on_vm"`, `"tool":"list_hosts"`, 1)
	deleted := lines[0] + lines[1] + lines[2] + lines[4] + lines[5] + ensureNL(lines[6])
	swapped := lines[0] + lines[1] + lines[2] + lines[4] + lines[3] + lines[5] + ensureNL(lines[6])
	for _, tt := range []struct{ name, content, want string }{
		{"edited", edited, "edited"},
		{"deleted", deleted, "missing"},
		{"reordered", swapped, "reordered"},
	} {
		code, out := verify(tt.content)
		if code != exitFailed || !strings.Contains(out, "BROKEN at "+tt.want) && !strings.Contains(out, tt.want) {
			t.Errorf("%s: exit %d, want 1 and %q:\n%s", tt.name, code, tt.want, out)
		}
	}
	// An unfinished call (the process died while it acted) is a warning.
	if code, out := verify(lines[0] + lines[1] + lines[2]); code != exitOK || !strings.Contains(out, "unfinished") {
		t.Errorf("begin line without an outcome: exit %d\n%s", code, out)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"audit", "check", path}, nil, strings.NewReader(""), &out, &errb); code != exitUsage {
		t.Errorf("usage error: exit %d", code)
	}
	if code := run(context.Background(), []string{"audit", "verify", path + ".missing"}, nil, strings.NewReader(""), &out, &errb); code != exitUsage {
		t.Errorf("missing file: exit %d", code)
	}
}

// TestAuditKeyedChain: with AUDIT_KEY_FILE the server keys the chain, and
// audit verify --key authenticates it; another key or no key does not.
func TestAuditKeyedChain(t *testing.T) {
	dir := t.TempDir()
	path, key, other := filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "audit.key"), filepath.Join(dir, "other.key")
	for p, k := range map[string]string{key: strings.Repeat("k3y-", 10), other: strings.Repeat("0th3r-", 8)} {
		if err := os.WriteFile(p, []byte(k), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"AUDIT_LOG_PATH=" + path, "AUDIT_KEY_FILE=" + key}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--simulate", "call", "power_on_vm", `{"vm_name":"web-04"}`}, env, strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	verify := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"audit", "verify"}, args...), nil, strings.NewReader(""), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := verify("--key", key, path); code != exitOK || !strings.Contains(out, "authenticated") {
		t.Errorf("--key: exit %d\n%s", code, out)
	}
	if code, out := verify("--key", other, path); code != exitFailed {
		t.Errorf("another key: exit %d\n%s", code, out)
	}
	if code, out := verify(path); code != exitOK || strings.Contains(out, "authenticated under") {
		t.Errorf("no key: exit %d\n%s", code, out)
	}
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := verify("--key", key, path); code != exitUsage {
		t.Errorf("a key readable by others: exit %d\n%s", code, out)
	}
	if code := run(context.Background(), []string{"--simulate", "tools"}, env, strings.NewReader(""), &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "AUDIT_KEY_FILE") {
		t.Errorf("the server with a key readable by others: exit %d\n%s", code, errb.String())
	}
}
