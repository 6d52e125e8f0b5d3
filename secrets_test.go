package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/config"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// TestSecretsLeaveTheInitialEnvironment: "removed from the environment"
// used to mean Go's copy of it: /proc/PID/environ, which the kernel keeps
// from the start of the process, still showed VCENTER_PASSWORD and
// TOKENS_TO_ROLES to anyone who can read it. The server now re-executes
// itself once without them, passing them through a pipe it reads and
// closes: the running server has them (it logs in, the token has its
// role), its initial environment and its command line do not, and the
// pipe is gone.
func TestSecretsLeaveTheInitialEnvironment(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/PID/environ (Linux)")
	}
	bin := builtBinary(t)
	const password, token, other = "Pa55-initial-env-3c9d", "tok-initial-env-77b2e1", "tok-another-user-0f5a93"
	sim, env := simEnv(t, vcentersim.Options{Password: password}, "AUTH_ENFORCE=true", "VSPHERE_MCP_TOKEN="+token,
		`TOKENS_TO_ROLES={"`+token+`":"ops","`+other+`":"read"}`, "LOG_LEVEL=debug")
	cmd := exec.Command(bin)
	cmd.Env = baseEnv(t, env...)
	var stderr recorder
	cmd.Stderr = &stderr
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "environ-test", Version: "1"}, nil).Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, stderr.String())
	}
	pid := cmd.Process.Pid

	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "whoami"})
	if err != nil || res.IsError {
		t.Fatalf("whoami: %v %v", err, res)
	}
	var who struct{ Role string }
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &who); err != nil || who.Role != "ops" {
		t.Errorf("whoami = %s: the token did not come through", b)
	}
	if res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_vm_details", Arguments: map[string]any{"vm_id": "vm-70"}}); err != nil || res.IsError {
		t.Fatalf("get_vm_details: %v %v: the password did not come through", err, res)
	}
	if c := sim.Counters(); c.Logins["api"] != 1 {
		t.Errorf("%d logins, want 1", c.Logins["api"])
	}

	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range append([]string{password, token, other}, config.SecretVariables()...) {
		if bytes.Contains(environ, []byte(secret)) || bytes.Contains(cmdline, []byte(secret)) {
			t.Errorf("/proc/%d/environ or cmdline holds %q", pid, secret[:6]+"…")
		}
	}
	if !bytes.Contains(environ, []byte("VCENTER_HOST=")) {
		t.Errorf("/proc/%d/environ lacks the other variables: %q", pid, environ)
	}
	// The pipe the secrets came through is closed.
	for _, kv := range strings.Split(string(environ), "\x00") {
		if fd, ok := strings.CutPrefix(kv, "VSPHERE_MCP_SECRETS_FD="); ok {
			if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd)); err == nil && strings.HasPrefix(target, "pipe:") {
				t.Errorf("fd %s is still a pipe (%s)", fd, target)
			}
		}
	}
	if err := cs.Close(); err != nil { // closes stdin and waits for the process
		t.Errorf("close: %v\n%s", err, stderr.String())
	}
	if st := cmd.ProcessState; st == nil || !st.Success() {
		t.Errorf("exit: %v", st)
	}
	if c := sim.Counters(); c.Logouts["api"] != 1 {
		t.Errorf("%d logouts, want 1", c.Logouts["api"])
	}
	if strings.Contains(stderr.String(), "WARNING: the secret variables stay visible") {
		t.Errorf("stderr warns the hand-over failed:\n%s", stderr.String())
	}
}
