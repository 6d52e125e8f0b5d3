package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/tools"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// binary builds the command once per test run, -trimpath and stripped as
// releases are, but with cgo as the environment has it: version_test.go's
// builds are -trimpath too (they build copies of the module), so the
// dependencies are compiled once for all of them; CGO_ENABLED=0 would
// compile every package that uses cgo once more. Benchmarks use
// releaseBinary.
var binary = sync.OnceValues(func() (string, error) { return buildBinary(nil, "-trimpath", "-ldflags=-s -w") })

// releaseBinary builds the command as releases are built (static,
// -trimpath, stripped), once per run, for the benchmarks.
var releaseBinary = sync.OnceValues(func() (string, error) {
	return buildBinary([]string{"CGO_ENABLED=0"}, "-trimpath", "-ldflags=-s -w")
})

// built are the directories of the binaries built, for TestMain to remove.
var (
	builtMu sync.Mutex
	built   []string
)

func buildBinary(env []string, flags ...string) (string, error) {
	dir, err := os.MkdirTemp("", "vsphere-mcp-pro-test")
	if err != nil {
		return "", err
	}
	builtMu.Lock()
	built = append(built, dir)
	builtMu.Unlock()
	bin := filepath.Join(dir, "vsphere-mcp-pro")
	build := exec.Command("go", append(append([]string{"build"}, flags...), "-o", bin, ".")...) //nolint:gosec // G204: go build of this module
	build.Env = append(os.Environ(), env...)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

func builtBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary: skipped with -short")
	}
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	builtMu.Lock()
	for _, dir := range built {
		os.RemoveAll(dir)
	}
	builtMu.Unlock()
	os.Exit(code)
}

// baseEnv is a clean environment for child processes: the developer's own
// variables (a real VCENTER_HOST, a token) must not leak into tests.
func baseEnv(t *testing.T, extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GOCACHE=" + os.Getenv("GOCACHE")}
	return append(env, extra...)
}

// recorder keeps a copy of everything that passes through.
type recorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// TestBinaryStdoutCarriesOnlyMCP drives the built binary over stdio with
// both protocol eras and checks that every byte it writes on stdout is a
// JSON-RPC message.
func TestBinaryStdoutCarriesOnlyMCP(t *testing.T) {
	bin := builtBinary(t)
	for _, era := range []string{"2026-07-28", "2025-11-25"} {
		t.Run(era, func(t *testing.T) {
			cmd := exec.Command(bin, "--simulate")
			cmd.Env = baseEnv(t, "LOG_LEVEL=debug")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdoutPipe, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr recorder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			client := mcp.NewClient(&mcp.Implementation{Name: "stdout-test", Version: "1"}, nil)
			cs, err := client.Connect(context.Background(), &mcp.IOTransport{
				Reader: io.NopCloser(io.TeeReader(stdoutPipe, &stdout)), Writer: stdin,
			}, &mcp.ClientSessionOptions{ProtocolVersion: era})
			if err != nil {
				t.Fatalf("initialize: %v\nstderr:\n%s", err, stderr.String())
			}
			if got := cs.InitializeResult().ProtocolVersion; got != era {
				t.Errorf("negotiated %s, want %s", got, era)
			}
			tools, err := cs.ListTools(context.Background(), nil)
			if err != nil || len(tools.Tools) != 49 { // --simulate enables every toolset
				t.Fatalf("tools/list: %d tools, %v", len(tools.Tools), err)
			}
			for _, call := range []struct {
				name string
				args map[string]any
			}{
				{"list_vms", map[string]any{"limit": 3}},
				{"get_vm_details", map[string]any{"vm_name": "db-01"}},
				{"create_vm_snapshot", map[string]any{"vm_name": "web-02", "snapshot_name": "stdout-test"}},
				{"delete_vm", map[string]any{"vm_name": "backup-01"}},
				{"power_off_vm", map[string]any{"vm_id": "../../etc"}},
			} {
				if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: call.name, Arguments: call.args}); err != nil {
					t.Errorf("%s: %v", call.name, err)
				}
			}
			cs.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("exit: %v\nstderr:\n%s", err, stderr.String())
			}
			lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
			if len(lines) < 7 { // initialize, tools/list and five calls
				t.Fatalf("only %d stdout lines", len(lines))
			}
			for i, line := range lines {
				var msg struct {
					JSONRPC string `json:"jsonrpc"`
				}
				if err := json.Unmarshal([]byte(line), &msg); err != nil || msg.JSONRPC != "2.0" {
					t.Fatalf("stdout line %d is not a JSON-RPC message: %.200q", i+1, line)
				}
			}
			for _, want := range []string{"logged in to vCenter", "logged out of vCenter", `"audit_header"`} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q", want)
				}
			}
		})
	}
}

// simEnv starts a simulator and returns the environment that points the
// server at it, with its CA in a bundle file.
func simEnv(t *testing.T, opts vcentersim.Options, extra ...string) (*vcentersim.Server, []string) {
	t.Helper()
	sim := vcentersim.NewServer(opts)
	t.Cleanup(sim.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, sim.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"VCENTER_HOST=" + sim.Host(), "VCENTER_USER=" + sim.User(), "VCENTER_PASSWORD=" + sim.Password(),
		"VCENTER_CA_BUNDLE=" + ca, "AUTH_ENFORCE=false", "VCENTER_BACKOFF=0",
	}
	return sim, append(env, extra...)
}

// serve runs the server in-process on pipes, connects a client, and returns
// the client, a channel with run's exit code, and its stderr.
func serve(t *testing.T, env []string) (*mcp.ClientSession, <-chan int, *recorder) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	stderr := &recorder{}
	code := make(chan int, 1)
	go func() {
		code <- run(context.Background(), nil, env, inR, outW, stderr)
		outW.Close()
	}()
	client := mcp.NewClient(&mcp.Implementation{Name: "run-test", Version: "1"}, nil)
	cs, err := client.Connect(context.Background(), &mcp.IOTransport{Reader: outR, Writer: inW}, nil)
	if err != nil {
		t.Fatalf("connect: %v\nstderr:\n%s", err, stderr.String())
	}
	return cs, code, stderr
}

func TestServerLogsInOnceAndOutOnStdinClose(t *testing.T) {
	sim, env := simEnv(t, vcentersim.Options{}, "RATE_LIMIT=false")
	cs, code, stderr := serve(t, env)
	for i := range 200 {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_vm_details", Arguments: map[string]any{"vm_id": "vm-70"}})
		if err != nil || res.IsError {
			t.Fatalf("call %d: %v %v", i, err, res)
		}
		if i == 99 {
			sim.ExpireSessions()
		}
	}
	c := sim.Counters()
	if c.Logins["api"] != 2 {
		t.Errorf("logins for 200 calls with one expiry = %d, want 2", c.Logins["api"])
	}
	cs.Close() // closes the server's stdin
	if got := <-code; got != exitOK {
		t.Errorf("exit code %d, want 0\n%s", got, stderr.String())
	}
	if c := sim.Counters(); c.Logouts["api"] != 1 || sim.ActiveSessions() != 0 {
		t.Errorf("logouts %d, sessions left %d; want 1 and 0", c.Logouts["api"], sim.ActiveSessions())
	}
}

func TestExitCodesAndConfigurationErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  []string
		code int
		out  []string // in stdout
		err  []string // in stderr
	}{
		{name: "version", args: []string{"version"}, code: exitOK, out: []string{"vsphere-mcp-pro dev", "go1."}},
		{name: "--version", args: []string{"--version"}, code: exitOK, out: []string{"vsphere-mcp-pro"}},
		{name: "help", args: []string{"--help"}, code: exitOK, out: []string{"usage:"}},
		{name: "unknown command", args: []string{"frobnicate"}, code: exitUsage, err: []string{`unknown command "frobnicate"`}},
		{name: "no host", code: exitUsage, err: []string{"VCENTER_HOST is not set", "--simulate"}},
		{name: "bad values", env: []string{"VCENTER_HOST=vc.example.com", "VCENTER_TIMEOUT_S=soon", "RATE_LIMIT=maybe", "VSPHERE_API_MODE=soap", "RATE_LIMIT_BURST=0", "LOG_LEVEL=loud"},
			code: exitUsage, err: []string{`VCENTER_TIMEOUT_S="soon": not a number`, `RATE_LIMIT="maybe": not true or false`, `VSPHERE_API_MODE="soap"`, "RATE_LIMIT_BURST=0", `LOG_LEVEL="loud"`}},
		{name: "missing token", args: []string{"--simulate", "tools"}, env: []string{"TOKENS_TO_ROLES={}"}, code: exitUsage, err: []string{"VSPHERE_MCP_TOKEN"}},
		{name: "unknown token", args: []string{"--simulate", "tools"}, env: []string{"TOKENS_TO_ROLES={\"a-token-of-the-map-4c1d\":\"read\"}", "VSPHERE_MCP_TOKEN=another-token-9e07a1"}, code: exitUsage, err: []string{"unknown token"}},
		{name: "short launch token", args: []string{"--simulate", "tools"}, env: []string{"TOKENS_TO_ROLES={\"t1-read-token-0b7e5a\":\"read\"}", "VSPHERE_MCP_TOKEN=t1"}, code: exitUsage,
			err: []string{"VSPHERE_MCP_TOKEN is shorter than 16 characters"}},
		{name: "short key of TOKENS_TO_ROLES", args: []string{"--simulate", "tools"}, env: []string{"TOKENS_TO_ROLES={\"t1\":\"read\"}", "VSPHERE_MCP_TOKEN=t1-read-token-0b7e5a"}, code: exitUsage,
			err: []string{"TOKENS_TO_ROLES: entry 1 at offset 6: token shorter than 16 characters"}},
		{name: "broken token map, no follow-on noise", args: []string{"--simulate", "tools"}, env: []string{"TOKENS_TO_ROLES={", "VSPHERE_MCP_TOKEN=t1-read-token-0b7e5a"}, code: exitUsage,
			err: []string{"TOKENS_TO_ROLES: invalid JSON"}},
		{name: "serve --http with no token policy", args: []string{"serve", "--http"}, env: []string{"VCENTER_HOST=vc.example.com", "VCENTER_USER=u", "VCENTER_PASSWORD=p"},
			code: exitUsage, err: []string{"TOKENS_TO_ROLES is empty: serve --http with AUTH_ENFORCE=true would refuse every request", "POLICY_FILE"}},
		{name: "call ok", args: []string{"--simulate", "call", "list_datacenters"}, code: exitOK, out: []string{`"total": 3`}},
		{name: "call error result", args: []string{"--simulate", "call", "power_off_vm", `{"vm_name":"app-01"}`}, code: exitFailed, out: []string{`"isError": true`, "vm-74", "vm-91"}},
		{name: "call bad json", args: []string{"--simulate", "call", "list_vms", "{"}, code: exitUsage, err: []string{"not valid JSON"}},
		{name: "tools for a role", args: []string{"--simulate", "tools"}, env: []string{"TOKENS_TO_ROLES={\"t1-read-token-0b7e5a\":\"read\"}", "VSPHERE_MCP_TOKEN=t1-read-token-0b7e5a"}, code: exitOK,
			out: []string{"role read, toolsets access, cluster, devices, inventory, lifecycle, observability, power, provisioning, snapshots, tags: 24 tools", "list_vms", "whoami"}},
		{name: "--toolsets overrides VSPHERE_TOOLSETS", args: []string{"--simulate", "--toolsets", "inventory", "tools"}, env: []string{"VSPHERE_TOOLSETS=all"}, code: exitOK,
			out: []string{"toolsets access, inventory: 12 tools", "list_vms"}},
		{name: "--read-only after the command", args: []string{"--simulate", "tools", "--read-only"}, code: exitOK,
			out: []string{"24 tools"}},
		{name: "--tools and --exclude-tools", args: []string{"--simulate", "--toolsets=none", "--tools=list_vms,get_vm_details", "--exclude-tools", "get_vm_details", "tools"}, code: exitOK,
			out: []string{"toolsets access, inventory: 2 tools", "list_vms", "whoami"}},
		{name: "unknown toolset", args: []string{"--simulate", "--toolsets", "inventory,observabilty", "tools"}, code: exitUsage,
			err: []string{`unknown toolset "observabilty"`, "toolsets: access, cluster, devices, inventory, lifecycle, observability, power, provisioning, snapshots, tags"}},
		{name: "unknown tool", args: []string{"--simulate", "call", "list_vm"}, code: exitFailed, out: []string{"Did you mean list_vms?"}},
		{name: "unknown flag", args: []string{"--simulat"}, code: exitUsage, err: []string{"-simulat", "usage:"}},
		{name: "explicit stdio", args: []string{"--simulate", "stdio"}, code: exitOK},
		{name: "every problem at once, no follow-on noise", env: []string{"VCENTER_HOST=vc.example.com", "VCENTER_USER=u", "VCENTER_PASSWORD_FILE=/nonexistent/pw",
			"VCENTER_CA_BUNDLE=/nonexistent/ca.pem", "TOKENS_TO_ROLES={", "RATE_LIMIT_RPS=abc", "AUTH_ENFORCE=maybe", "VSPHERE_TOOLSETS=nope"},
			code: exitUsage, err: []string{"VCENTER_PASSWORD_FILE=/nonexistent/pw: no such file", "VCENTER_CA_BUNDLE=/nonexistent/ca.pem: no such file",
				"TOKENS_TO_ROLES", `RATE_LIMIT_RPS="abc": not a number`, `AUTH_ENFORCE="maybe": not true or false`, `unknown toolset "nope"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := run(context.Background(), tt.args, tt.env, strings.NewReader(""), &stdout, &stderr)
			if got != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", got, tt.code, stdout.String(), stderr.String())
			}
			for _, w := range tt.out {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			if strings.Count(stderr.String(), "RATE_LIMIT_RPS") > 1 || strings.Contains(stderr.String(), "invalid API mode") ||
				strings.Contains(stderr.String(), "unknown token") && tt.name != "unknown token" {
				t.Errorf("follow-on noise in:\n%s", stderr.String())
			}
			for _, w := range tt.err {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if tt.name == "tools for a role" && strings.Contains(stdout.String(), "power_on_vm") {
				t.Error("role read is shown power_on_vm")
			}
		})
	}
}

// TestAuditDirectoryIsCreated: AUDIT_LOG_PATH in a directory that does not
// exist yet (the README's ~/Library/Logs/vsphere-mcp-pro/… on a fresh Mac)
// works: the missing directories are created for this user only (0700), and
// an existing one is left as it is.
func TestAuditDirectoryIsCreated(t *testing.T) {
	base := t.TempDir()
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(base, "Logs", "vsphere-mcp-pro", "audit.jsonl")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--simulate", "call", "list_datacenters"}, []string{"AUDIT_LOG_PATH=" + path}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	for _, dir := range []string{filepath.Join(base, "Logs"), filepath.Dir(path)} {
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
			t.Errorf("%s has mode %04o, want 0700", dir, fi.Mode().Perm())
		}
	}
	if fi, err := os.Stat(base); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o755 {
		t.Errorf("the existing parent changed: %v %v", fi.Mode(), err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), `"tool":"list_datacenters"`) {
		t.Errorf("audit file: %v\n%s", err, b)
	}
	// A path whose parent cannot be created is a configuration problem.
	blocker := filepath.Join(base, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"--simulate", "call", "list_datacenters"}, []string{"AUDIT_LOG_PATH=" + filepath.Join(blocker, "sub", "audit.jsonl")}, strings.NewReader(""), &stdout, &stderr); code != exitUsage ||
		!strings.Contains(stderr.String(), "AUDIT_LOG_PATH=") || !strings.Contains(stderr.String(), "create its directory") {
		t.Errorf("exit %d\n%s", code, stderr.String())
	}
}

// TestSecretsNeverLeak runs every tool, and the failure modes that tempt a
// leak (a refused login, an untrusted certificate, 500s whose bodies echo
// the credentials), with a distinctive password and token; neither string
// may appear on stdout, stderr, in the audit file or in any result.
func TestSecretsNeverLeak(t *testing.T) {
	const password = "Pa55-VERY-distinct-7e3b"
	const token = "tok-VERY-distinct-91c4"
	sum := sha256.Sum256([]byte(token))
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	sim, env := simEnv(t, vcentersim.Options{Password: password},
		"AUTH_ENFORCE=true", "VSPHERE_MCP_TOKEN="+token, "RATE_LIMIT=false",
		`TOKENS_TO_ROLES={"sha256:`+hex.EncodeToString(sum[:])+`":"admin"}`, "AUDIT_LOG_PATH="+auditPath, "LOG_LEVEL=debug")
	cs, code, stderr := serve(t, env)
	var results bytes.Buffer
	callAll := func(label string) {
		for name, args := range toolArgs {
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
			if err != nil {
				t.Fatalf("%s %s: %v", label, name, err)
			}
			b, _ := json.Marshal(res)
			results.Write(b)
		}
	}
	callAll("normal")
	args := map[string]any{"vm_name": "web-01", "password": password, "note": "token " + token}
	res, _ := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_vm_details", Arguments: args})
	b, _ := json.Marshal(res)
	results.Write(b)
	sim.InjectFault(vcentersim.Fault{Path: "", Count: -1, Status: 500, ErrorType: "ERROR",
		Message: "request failed for administrator@vsphere.local password=" + password + " session token " + token})
	callAll("faults")
	sim.ClearFaults()
	sim.ExpireSessions()
	cs.Close()
	<-code

	// A refused login and an untrusted certificate, through the CLI.
	var out1, err1 bytes.Buffer
	badLogin := append(append([]string(nil), env...), "VCENTER_PASSWORD="+password+"x")
	run(context.Background(), []string{"call", "list_vms"}, badLogin, strings.NewReader(""), &out1, &err1)
	badTLS := append(append([]string(nil), env...), "VCENTER_CA_BUNDLE="+writeFile(t, "other.pem", otherCA))
	run(context.Background(), []string{"call", "power_on_vm", `{"vm_name":"web-04"}`}, badTLS, strings.NewReader(""), &out1, &err1)

	auditBytes, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	for where, text := range map[string]string{
		"results": results.String(), "stderr": stderr.String(), "audit": string(auditBytes),
		"cli stdout": out1.String(), "cli stderr": err1.String(),
	} {
		for _, secret := range []string{password, token, hex.EncodeToString(sum[:])} {
			if strings.Contains(text, secret) {
				i := strings.Index(text, secret)
				t.Errorf("%s contains a secret: …%s…", where, text[max(0, i-80):min(len(text), i+40)])
			}
		}
	}
	if !strings.Contains(string(auditBytes), `"password":"***"`) {
		t.Error("the password argument is not masked in the audit line")
	}
	if rep, err := audit.Verify(bytes.NewReader(auditBytes)); err != nil || !rep.Intact {
		t.Errorf("audit chain: %+v, %v", rep, err)
	}
}

// toolArgs calls every tool once with its spec's example (the one table of
// sample arguments); tools that confirm are confirmed, so that they act.
var toolArgs = func() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, tool := range tools.All(tools.Deps{}) {
		var args map[string]any
		if err := json.Unmarshal(tool.Example, &args); err != nil {
			panic(fmt.Sprintf("%s: example: %v", tool.Def.Name, err))
		}
		if tool.Confirm {
			args["confirm"] = true
		}
		out[tool.Def.Name] = args
	}
	return out
}()

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// otherCA is a CA the simulator's certificate does not chain to.
var otherCA = string(vcentersim.NewUnstartedServer(vcentersim.Options{}).CACertPEM())

// TestAuditFromManyProcesses runs 8 server processes that each make 300
// tool calls appending to one audit file: every line must parse, the count
// must be exact and the chain intact.
func TestAuditFromManyProcesses(t *testing.T) {
	bin := builtBinary(t)
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	const procs, calls = 8, 300
	var wg sync.WaitGroup
	for p := range procs {
		wg.Go(func() {
			cmd := exec.Command(bin, "--simulate")
			cmd.Env = baseEnv(t, "AUDIT_LOG_PATH="+auditPath, "RATE_LIMIT=false", "LOG_LEVEL=warn")
			client := mcp.NewClient(&mcp.Implementation{Name: fmt.Sprintf("proc-%d", p), Version: "1"}, nil)
			cs, err := client.Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer cs.Close()
			for i := range calls {
				if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "list_datacenters", Arguments: map[string]any{"limit": 1 + i%5}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	f, err := os.Open(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, headers := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line does not parse: %q", sc.Text())
		}
		if _, ok := m["audit_header"]; ok {
			headers++
		} else {
			records++
		}
	}
	if records != procs*calls || headers != 1 {
		t.Errorf("%d records and %d headers, want %d and 1", records, headers, procs*calls)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if rep, err := audit.Verify(f); err != nil || !rep.Intact {
		t.Errorf("chain: %+v %v", rep.First, err)
	}
}
